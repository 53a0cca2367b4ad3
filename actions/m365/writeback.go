package m365

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/cippbot/cippbot/actions"
)

// A password reset through the password authentication method
// (authenticationMethod: resetPassword), the one way Graph writes a
// synced user's new password back to on-premises AD. Microsoft allows it
// only to a signed-in admin ("Application: Not supported"), so only a
// delegated (GDAP) connection offers it:
// https://learn.microsoft.com/graph/api/authenticationmethod-resetpassword.
// It is a long-running operation: 202 Accepted with a Location to poll
// (GET /users/{id}/authentication/operations/{id},
// https://learn.microsoft.com/graph/api/longrunningoperation-get) and an
// optional Retry-After, until the status is succeeded or failed.

// passwordMethodID is the id of every user's password method.
const passwordMethodID = "28c10230-6103-485e-b985-444c60001490"

// Polling bounds of a reset's operation.
const (
	// resetPollDefault is the wait between polls when the service names
	// none.
	resetPollDefault = time.Second
	// resetPollMax caps a Retry-After.
	resetPollMax = 30 * time.Second
	// resetWaitMax is how long a reset may run before cippbot gives up
	// waiting (its result then unknown): inside the bot's two minutes per
	// event, with time left to say so.
	resetWaitMax = 90 * time.Second
)

var _ actions.PasswordWriteback = (*Directory)(nil)

// ResetPasswordWriteback implements actions.PasswordWriteback.
func (d *Directory) ResetPasswordWriteback(ctx context.Context, userID string, pw actions.Secret) error {
	what := "password reset of " + userID
	body := users.NewItemAuthenticationMethodsItemResetPasswordPostRequestBody()
	p := pw.Reveal()
	body.SetNewPassword(&p)
	hdr := khttp.NewHeadersInspectionOptions()
	hdr.InspectResponseHeaders = true
	_, err := d.client.Users().ByUserId(userID).Authentication().Methods().ByAuthenticationMethodId(passwordMethodID).ResetPassword().Post(ctx, body,
		&users.ItemAuthenticationMethodsItemResetPasswordRequestBuilderPostRequestConfiguration{Options: []abs.RequestOption{hdr}})
	if err != nil {
		return mapError(err, "user "+userID)
	}
	loc, err := d.operationURL(headerValue(hdr, "Location"))
	if err != nil {
		return &actions.Error{Code: actions.EINTERNAL, Message: "Microsoft 365 accepted the " + what + " but gave no operation to follow; its result is unknown", Detail: err.Error()}
	}
	// The connection's clock (RetryPolicy.Clock) times the polls, so a
	// test need not wait them out.
	clk := d.clock()
	deadline := clk.Now().Add(resetWaitMax)
	wait := pollWait(hdr, clk.Now())
	for {
		if err := clk.Sleep(ctx, wait); err != nil {
			return &actions.Error{Code: actions.EUNAVAILABLE, Message: "stopped waiting for the " + what + "; its result is unknown: check the user, or run reset-password again", Detail: err.Error()}
		}
		hdr = khttp.NewHeadersInspectionOptions()
		hdr.InspectResponseHeaders = true
		op, err := d.client.Users().ByUserId(userID).Authentication().Operations().ByLongRunningOperationId("-").WithUrl(loc).Get(ctx,
			&users.ItemAuthenticationOperationsLongRunningOperationItemRequestBuilderGetRequestConfiguration{Options: []abs.RequestOption{hdr}})
		if err != nil {
			e := mapError(err, "the "+what)
			if ae, ok := e.(*actions.Error); ok {
				ae.Message = "the " + what + " was accepted, but its progress cannot be read (" + ae.Message + "); its result is unknown"
			}
			return e
		}
		status, detail := models.UNKNOWNFUTUREVALUE_LONGRUNNINGOPERATIONSTATUS, deref(op.GetStatusDetail())
		if s := op.GetStatus(); s != nil {
			status = *s
		}
		switch status {
		case models.SUCCEEDED_LONGRUNNINGOPERATIONSTATUS:
			return nil
		case models.FAILED_LONGRUNNINGOPERATIONSTATUS:
			msg := "Microsoft 365 did not reset the password"
			if detail != "" {
				msg += ": " + trimDot(detail)
			}
			return &actions.Error{Code: actions.ECONFLICT, Message: msg, Detail: "resetPassword operation failed: " + detail}
		}
		if !clk.Now().Before(deadline) {
			return &actions.Error{Code: actions.EUNAVAILABLE,
				Message: fmt.Sprintf("the %s was still %s after %s; its result is unknown: check the user, or run reset-password again", what, status.String(), resetWaitMax),
				Detail:  "resetPassword operation " + status.String()}
		}
		wait = pollWait(hdr, clk.Now())
	}
}

// operationURL checks that a reset's Location is an operation on this
// connection's Graph, so that the token never goes elsewhere.
func (d *Directory) operationURL(loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil || loc == "" {
		return "", fmt.Errorf("resetPassword answered without a usable Location (%q)", loc)
	}
	g, err := url.Parse(d.graphURL)
	if err != nil || !strings.EqualFold(u.Scheme, g.Scheme) || !strings.EqualFold(u.Host, g.Host) ||
		!strings.Contains(strings.ToLower(u.Path), "/authentication/operations/") {
		return "", fmt.Errorf("resetPassword's Location %q is not an operation of %s", loc, d.graphURL)
	}
	return loc, nil
}

// headerValue returns the first value of a response header the options
// inspected.
func headerValue(o *khttp.HeadersInspectionOptions, name string) string {
	if v := o.GetResponseHeaders().Get(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// pollWait is the wait before the next poll: the answer's Retry-After,
// capped, or resetPollDefault.
func pollWait(o *khttp.HeadersInspectionOptions, now time.Time) time.Duration {
	h := http.Header{}
	if v := headerValue(o, "Retry-After"); v != "" {
		h.Set("Retry-After", v)
	}
	d, ok := retryAfter(h, now)
	if !ok {
		return resetPollDefault
	}
	return min(d, resetPollMax)
}
