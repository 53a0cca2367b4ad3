package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cippbot/cippbot/actions"
)

var _ actions.Exchange = (*Directory)(nil)

// exoAnchor is the mailbox Exchange's app-only REST calls about the
// organization are routed by.
const exoAnchor = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"

// invoke runs one organization-level Exchange Online cmdlet, routed by
// the system mailbox (see invokeAt).
func (d *Directory) invoke(ctx context.Context, cmdlet string, params map[string]any, what string) ([]json.RawMessage, error) {
	return d.invokeAt(ctx, exoAnchor+d.tenantID, cmdlet, params, what)
}

// invokeOn runs a cmdlet about the contents or settings of one mailbox,
// routed by that mailbox: X-AnchorMailbox "UPN:<user>", the routing hint
// the admin API documents for a request about one mailbox
// (https://learn.microsoft.com/exchange/reference/admin-api-get-started,
// "X-AnchorMailbox routing hint"), as CIPP anchors its mailbox cmdlets.
// userID is best the user principal name; an object ID is looked up.
func (d *Directory) invokeOn(ctx context.Context, userID, cmdlet string, params map[string]any, what string) ([]json.RawMessage, error) {
	upn := userID
	if !strings.Contains(upn, "@") {
		u, err := d.User(ctx, userID)
		if err != nil {
			return nil, err
		}
		upn = u.UPN
	}
	return d.invokeAt(ctx, "UPN:"+upn, cmdlet, params, what)
}

// invokeAt runs one Exchange Online cmdlet over REST:
// POST {exchange}/adminapi/beta/{tenantId}/InvokeCommand with a token for
// the Exchange resource, routed by anchor. The tenant must be its GUID.
// It returns the "value" array.
func (d *Directory) invokeAt(ctx context.Context, anchor, cmdlet string, params map[string]any, what string) ([]json.RawMessage, error) {
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.exoScope}})
	if err != nil {
		return nil, mapError(err, what)
	}
	body, err := json.Marshal(map[string]any{"CmdletInput": map[string]any{"CmdletName": cmdlet, "Parameters": params}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.exoURL+"/adminapi/beta/"+d.tenantID+"/InvokeCommand", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-AnchorMailbox", anchor)
	resp, err := d.exoClient.Do(req)
	if err != nil {
		return nil, mapError(err, what)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, mapError(err, what)
	}
	if resp.StatusCode >= 300 {
		return nil, exoError(resp.StatusCode, raw, cmdlet, what)
	}
	var out struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, &actions.Error{Code: actions.EINTERNAL, Message: "Exchange Online sent an answer cippbot cannot read", Detail: err.Error()}
	}
	return out.Value, nil
}

// exoPipe matches the exception text Exchange puts between pipes:
// "|Microsoft.Exchange…ManagementObjectNotFoundException|The operation…".
var exoPipe = regexp.MustCompile(`\|[A-Za-z0-9_.]+Exception\|(.*)$`)

// exoError explains an Exchange Online error as Graph errors are.
func exoError(status int, body []byte, cmdlet, what string) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Details []struct {
				Message string `json:"message"`
			} `json:"details"`
		} `json:"error"`
	}
	json.Unmarshal(body, &e)
	// error.message is a fixed "Error executing cmdlet"; the cmdlet's own
	// words are in details, as "ExID|Exception|text".
	msg := e.Error.Message
	if len(e.Error.Details) > 0 && e.Error.Details[0].Message != "" {
		msg = e.Error.Details[0].Message
	}
	full := msg
	if m := exoPipe.FindStringSubmatch(msg); m != nil {
		msg = m[1]
	}
	detail := fmt.Sprintf("exchange %d %s %s: %s", status, cmdlet, e.Error.Code, full)
	var ae *actions.Error
	switch {
	case status == 404 || strings.Contains(full, "NotFoundException") || strings.EqualFold(e.Error.Code, "NotFound"):
		ae = actions.Errorf(actions.ENOTFOUND, "%s has no Exchange mailbox (not licensed for Exchange?)", what)
	case status == 401 || status == 403:
		ae = actions.Errorf(actions.EFORBIDDEN, "cippbot's app may not manage Exchange in this tenant: it needs Exchange.ManageAsApp and the Exchange Administrator role")
	case status == 429 || status == 503 || status == 504:
		ae = actions.Errorf(actions.EUNAVAILABLE, "Exchange Online is throttling this tenant; try again in a minute")
	case status >= 400 && status < 500:
		ae = actions.Errorf(actions.EINVALID, "Exchange Online refused: %s", trimDot(msg))
	default:
		ae = actions.Errorf(actions.EUNAVAILABLE, "Exchange Online failed (HTTP %d); try again later", status)
	}
	ae.Detail = detail
	return ae
}

// Mailbox implements actions.Exchange.
func (d *Directory) Mailbox(ctx context.Context, userID string) (actions.Mailbox, error) {
	what := "user " + userID
	v, err := d.invokeOn(ctx, userID, "Get-Mailbox", map[string]any{"Identity": userID}, what)
	if err != nil {
		return actions.Mailbox{}, err
	}
	if len(v) == 0 {
		return actions.Mailbox{}, actions.Errorf(actions.ENOTFOUND, "%s has no Exchange mailbox (not licensed for Exchange?)", what)
	}
	var mb struct {
		RecipientTypeDetails  string
		ArchiveStatus         string
		ForwardingSmtpAddress *string
		ForwardingAddress     *string
	}
	if err := json.Unmarshal(v[0], &mb); err != nil {
		return actions.Mailbox{}, &actions.Error{Code: actions.EINTERNAL, Message: "Exchange Online sent a mailbox cippbot cannot read", Detail: err.Error()}
	}
	out := actions.Mailbox{Shared: mb.RecipientTypeDetails == "SharedMailbox", Archive: mb.ArchiveStatus == "Active"}
	switch {
	case mb.ForwardingSmtpAddress != nil && *mb.ForwardingSmtpAddress != "":
		out.Forwarding = strings.TrimPrefix(strings.TrimPrefix(*mb.ForwardingSmtpAddress, "smtp:"), "SMTP:")
	case mb.ForwardingAddress != nil && *mb.ForwardingAddress != "":
		out.Forwarding = *mb.ForwardingAddress
	}
	if stats, err := d.invokeOn(ctx, userID, "Get-MailboxStatistics", map[string]any{"Identity": userID}, what); err == nil && len(stats) > 0 {
		var st struct{ TotalItemSize string }
		if json.Unmarshal(stats[0], &st) == nil {
			out.SizeGB = parseSizeGB(st.TotalItemSize)
		}
	}
	return out, nil
}

var sizeBytes = regexp.MustCompile(`\(([\d,]+) bytes\)`)

// parseSizeGB reads Exchange's "48.7 GB (52,290,000,000 bytes)".
func parseSizeGB(s string) float64 {
	m := sizeBytes.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, err := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
	if err != nil {
		return 0
	}
	return n / (1 << 30)
}

// SetMailboxShared implements actions.Exchange.
func (d *Directory) SetMailboxShared(ctx context.Context, userID string, shared bool) error {
	t := "Regular"
	if shared {
		t = "Shared"
	}
	_, err := d.invokeOn(ctx, userID, "Set-Mailbox", map[string]any{"Identity": userID, "Type": t}, "user "+userID)
	return err
}

// EnableArchive implements actions.Exchange.
func (d *Directory) EnableArchive(ctx context.Context, userID string, autoExpanding bool) error {
	what := "user " + userID
	mb, err := d.Mailbox(ctx, userID)
	if err != nil {
		return err
	}
	if !mb.Archive {
		if _, err := d.invokeOn(ctx, userID, "Enable-Mailbox", map[string]any{"Identity": userID, "Archive": true}, what); err != nil {
			return err
		}
	}
	if autoExpanding {
		_, err := d.invokeOn(ctx, userID, "Enable-Mailbox", map[string]any{"Identity": userID, "AutoExpandingArchive": true}, what)
		return err
	}
	return nil
}

// MailboxTimeZone implements actions.Exchange:
// Get-MailboxRegionalConfiguration's TimeZone, a Windows time zone name,
// null until the mailbox's owner chose one
// (https://learn.microsoft.com/powershell/module/exchangepowershell/get-mailboxregionalconfiguration).
func (d *Directory) MailboxTimeZone(ctx context.Context, userID string) (string, error) {
	what := "user " + userID
	v, err := d.invokeOn(ctx, userID, "Get-MailboxRegionalConfiguration", map[string]any{"Identity": userID}, what)
	if err != nil {
		return "", err
	}
	if len(v) == 0 {
		return "", actions.Errorf(actions.ENOTFOUND, "%s has no Exchange mailbox (not licensed for Exchange?)", what)
	}
	var rc struct{ TimeZone *string }
	if err := json.Unmarshal(v[0], &rc); err != nil {
		return "", &actions.Error{Code: actions.EINTERNAL, Message: "Exchange Online sent regional settings cippbot cannot read", Detail: err.Error()}
	}
	if rc.TimeZone == nil {
		return "", nil
	}
	return strings.TrimSpace(*rc.TimeZone), nil
}

// SetAutoReply implements actions.Exchange. Start and End go as UTC
// instants, which Exchange stores as given.
func (d *Directory) SetAutoReply(ctx context.Context, userID string, r actions.AutoReply) error {
	p := map[string]any{"Identity": userID, "AutoReplyState": "Disabled"}
	if r.Enabled {
		p["AutoReplyState"] = "Enabled"
		p["InternalMessage"] = r.Message
		p["ExternalMessage"] = r.Message
		p["ExternalAudience"] = "All"
		if !r.Start.IsZero() {
			p["AutoReplyState"] = "Scheduled"
			p["StartTime"] = r.Start.UTC().Format(time.RFC3339)
			p["EndTime"] = r.End.UTC().Format(time.RFC3339)
		}
	}
	_, err := d.invokeOn(ctx, userID, "Set-MailboxAutoReplyConfiguration", p, "user "+userID)
	return err
}

// ClearForwarding implements actions.Exchange.
func (d *Directory) ClearForwarding(ctx context.Context, userID string) error {
	_, err := d.invokeOn(ctx, userID, "Set-Mailbox", map[string]any{"Identity": userID,
		"ForwardingSMTPAddress": nil, "ForwardingAddress": nil, "DeliverToMailboxAndForward": false}, "user "+userID)
	return err
}

// SetForwarding implements actions.Exchange. An address of the tenant's
// own goes in ForwardingAddress (a recipient), any other in
// ForwardingSmtpAddress, as the Exchange admin center does.
func (d *Directory) SetForwarding(ctx context.Context, userID, address string, keepCopy bool) error {
	p := map[string]any{"Identity": userID, "DeliverToMailboxAndForward": keepCopy,
		"ForwardingSmtpAddress": "smtp:" + address, "ForwardingAddress": nil}
	if u, err := d.User(ctx, address); err == nil {
		p["ForwardingSmtpAddress"], p["ForwardingAddress"] = nil, u.UPN
	}
	_, err := d.invokeOn(ctx, userID, "Set-Mailbox", p, "user "+userID)
	return err
}

// HideFromAddressList implements actions.Exchange.
func (d *Directory) HideFromAddressList(ctx context.Context, userID string, hide bool) error {
	_, err := d.invokeOn(ctx, userID, "Set-Mailbox", map[string]any{"Identity": userID, "HiddenFromAddressListsEnabled": hide}, "user "+userID)
	return err
}

// AddDistributionMember implements actions.Exchange.
func (d *Directory) AddDistributionMember(ctx context.Context, groupID, userID string) error {
	_, err := d.invoke(ctx, "Add-DistributionGroupMember", map[string]any{"Identity": groupID, "Member": userID,
		"BypassSecurityGroupManagerCheck": true}, "group "+groupID)
	return memberError(err, actions.ECONFLICT, "MemberAlreadyExists", "is already a member of the group")
}

// RemoveDistributionMember implements actions.Exchange.
func (d *Directory) RemoveDistributionMember(ctx context.Context, groupID, userID string) error {
	_, err := d.invoke(ctx, "Remove-DistributionGroupMember", map[string]any{"Identity": groupID, "Member": userID,
		"BypassSecurityGroupManagerCheck": true}, "group "+groupID)
	return memberError(err, actions.ENOTFOUND, "MemberNotFound", "is not a member of the group")
}

// memberError turns Exchange's "already a member" or "not a member"
// refusal (its exception named by marker) into code with message, so
// that actions can treat it as done.
func memberError(err error, code, marker, message string) error {
	var ae *actions.Error
	if err == nil || !errors.As(err, &ae) || !strings.Contains(ae.Detail, marker) {
		return err
	}
	return &actions.Error{Code: code, Message: "the user " + message, Detail: ae.Detail, RequestID: ae.RequestID}
}
