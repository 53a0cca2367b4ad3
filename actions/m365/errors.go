package m365

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/cippbot/cippbot/actions"
)

var aadsts = regexp.MustCompile(`AADSTS(\d+)`)

// mapError turns an error from Graph, the token endpoint or the network into
// an *actions.Error with a code and a short message a technician can act on.
// what names the object concerned ("user AdeleV@contoso.com"). The service's
// own words go to Detail, for logs and the audit record.
func mapError(err error, what string) error {
	if err == nil {
		return nil
	}
	var ae *actions.Error
	if errors.As(err, &ae) {
		return err
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		code, msg, reqID := "", "", ""
		if m := oe.GetErrorEscaped(); m != nil {
			code, msg = deref(m.GetCode()), deref(m.GetMessage())
			if in := m.GetInnerError(); in != nil {
				reqID = deref(in.GetRequestId())
			}
		}
		e := graphError(oe.ResponseStatusCode, code, msg, what)
		e.RequestID = reqID
		e.Detail = fmt.Sprintf("graph %d %s: %s", oe.ResponseStatusCode, code, msg)
		if reqID != "" {
			e.Detail += " request-id " + reqID
		}
		return e
	}
	var api *abs.ApiError
	if errors.As(err, &api) {
		e := graphError(api.ResponseStatusCode, "", api.Message, what)
		e.Detail = fmt.Sprintf("graph %d: %s", api.ResponseStatusCode, api.Message)
		return e
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) {
		return tokenError(afe)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &actions.Error{Code: actions.EUNAVAILABLE, Message: "Microsoft 365 did not answer in time; try again", Detail: err.Error()}
	}
	if errors.Is(err, context.Canceled) {
		return &actions.Error{Code: actions.EUNAVAILABLE, Message: "the request was cancelled", Detail: err.Error()}
	}
	return &actions.Error{Code: actions.EINTERNAL, Message: "internal error", Detail: err.Error()}
}

func graphError(status int, code, msg, what string) *actions.Error {
	lower := strings.ToLower(msg)
	switch {
	case status == 404:
		return actions.Errorf(actions.ENOTFOUND, "%s was not found in the tenant", what)
	case status == 401:
		return actions.Errorf(actions.EFORBIDDEN, "Microsoft 365 rejected cippbot's token for this tenant; check the app's consent")
	case status == 403 || code == "Authorization_RequestDenied":
		return actions.Errorf(actions.EFORBIDDEN, "cippbot's app lacks the permission for this in the tenant (Graph: %s)", trimDot(msg))
	case status == 429 || status == 503 || status == 504:
		return actions.Errorf(actions.EUNAVAILABLE, "Microsoft 365 is throttling this tenant; try again in a minute")
	case strings.Contains(lower, "on-premises mastered"):
		return actions.Errorf(actions.ECONFLICT, "%s is synced from on-premises AD: change it there", what)
	case strings.Contains(lower, "already exist"):
		return actions.Errorf(actions.ECONFLICT, "%s: already done", what)
	case strings.Contains(lower, "password complexity"):
		return actions.Errorf(actions.EINVALID, "the tenant's password policy rejected the new password")
	case status == 409 || status == 412:
		return actions.Errorf(actions.ECONFLICT, "%s changed meanwhile; try again", what)
	case status >= 400 && status < 500:
		return actions.Errorf(actions.EINVALID, "Microsoft 365 refused: %s", trimDot(msg))
	}
	return actions.Errorf(actions.EUNAVAILABLE, "Microsoft 365 failed (HTTP %d); try again later", status)
}

// tokenError explains a failure to get a token for a customer tenant.
func tokenError(afe *azidentity.AuthenticationFailedError) *actions.Error {
	detail := afe.Error()
	code := ""
	if m := aadsts.FindStringSubmatch(detail); m != nil {
		code = m[1]
	}
	msg := "cannot sign in to the tenant"
	switch code {
	case "700016", "65001", "7000229", "500011":
		msg = "cippbot's app is not consented in this tenant (AADSTS" + code + "): an admin of the tenant must grant consent"
	case "7000215", "7000222":
		msg = "cippbot's client secret is wrong or expired (AADSTS" + code + "): renew it in the partner tenant"
	case "90002", "90023":
		msg = "Microsoft does not know this tenant (AADSTS" + code + "): check the tenant directory"
	case "":
	default:
		msg += " (AADSTS" + code + ")"
	}
	// The raw error repeats the whole token response; keep its first line.
	if i := strings.IndexByte(detail, '\n'); i > 0 {
		detail = detail[:i]
	}
	return &actions.Error{Code: actions.EFORBIDDEN, Message: msg, Detail: detail}
}

func trimDot(s string) string { return strings.TrimSuffix(strings.TrimSpace(s), ".") }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
