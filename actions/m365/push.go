package m365

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/cippbot/cippbot/actions"
)

var _ actions.MFAPush = (*Directory)(nil)

const (
	// mfaAppID is the first-party "Azure Multi-Factor Auth Connector"
	// application every tenant with MFA holds.
	mfaAppID = "981f26a1-7f43-403b-a875-f8b09b8cd720"
	// mfaResource is the resource the MFA service's v1 token is for.
	mfaResource = "https://adnotifications.windowsazure.com/StrongAuthenticationService.svc/Connector"
	// mfaTokenAttempts bounds the tries of a new secret Entra ID does not
	// accept yet (AADSTS7000215).
	mfaTokenAttempts = 5
	// pushWait is how long the user has to answer; the service itself
	// gives up after about a minute with PhoneAppNoResponse.
	pushWait = 90 * time.Second
)

// SendMFAPush implements actions.MFAPush the way CIPP does (Invoke-ExecSendPush): it
// adds a ten-minute secret to the tenant's MFA service principal (app
// 981f26a1-…), gets a v1 client-credentials token with it for the MFA
// notification service, and calls BeginTwoWayAuthentication, which
// answers when the user has. The secret is removed afterwards whatever
// happened, and never logged or put in an error.
func (d *Directory) SendMFAPush(ctx context.Context, upn string) (actions.PushResult, error) {
	const what = "the MFA service app"
	var sps struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	err := d.send(ctx, abs.GET, d.v1("/servicePrincipals", "$filter", "appId eq '"+mfaAppID+"'", "$select", "id"), nil, &sps)
	if err != nil {
		return "", mapError(err, what)
	}
	var spID string
	if len(sps.Value) > 0 {
		spID = sps.Value[0].ID
	}
	if spID == "" {
		// A tenant that never used per-user MFA lacks the service
		// principal; adding it is what CIPP's Invoke-ExecSendPush does
		// (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-serviceprincipals).
		var created struct {
			ID string `json:"id"`
		}
		if err := d.send(ctx, abs.POST, d.v1("/servicePrincipals"), map[string]string{"appId": mfaAppID}, &created); err != nil {
			return "", retell(mapError(err, what), actions.EFORBIDDEN,
				"the MFA service app is not in this tenant and cippbot may not add it: grant Application.ReadWrite.All")
		}
		spID = created.ID
		d.log.InfoContext(ctx, "added the MFA service app's service principal", "service_principal", spID)
	}

	now := d.now().UTC()
	var cred struct {
		SecretText string `json:"secretText"`
		KeyID      string `json:"keyId"`
	}
	body := map[string]any{"passwordCredential": map[string]string{
		"displayName":   "cippbot MFA push",
		"startDateTime": now.Add(-5 * time.Minute).Format(time.RFC3339),
		"endDateTime":   now.Add(10 * time.Minute).Format(time.RFC3339),
	}}
	if err := d.send(ctx, abs.POST, d.v1("/servicePrincipals/"+url.PathEscape(spID)+"/addPassword"), body, &cred); err != nil {
		err = mapError(err, "a temporary secret for "+what)
		if c := actions.ErrorCode(err); (c == actions.EINVALID || c == actions.EFORBIDDEN) && d.passwordsRestricted(ctx) {
			return "", actions.Errorf(actions.ECONFLICT, "the tenant's app management policy forbids adding secrets to apps (passwordAddition), "+
				"which send-mfa-push needs for a minute: exempt the Azure Multi-Factor Auth Client or lift the restriction in Entra ID")
		}
		return "", err
	}
	secret := cred.SecretText
	defer d.removeSecret(ctx, spID, cred.KeyID)
	if secret == "" {
		return "", actions.Errorf(actions.EINTERNAL, "Graph added a secret to %s but did not return it", what)
	}

	token, err := d.mfaToken(ctx, secret)
	if err != nil {
		return "", redact(err, secret)
	}
	res, err := d.beginTwoWay(ctx, token, upn)
	return res, redact(err, secret)
}

// passwordsRestricted reports whether the tenant's default app management
// policy forbids adding password credentials to service principals
// (https://learn.microsoft.com/en-us/graph/api/tenantappmanagementpolicy-get);
// false when it cannot be read.
func (d *Directory) passwordsRestricted(ctx context.Context) bool {
	var p struct {
		IsEnabled bool `json:"isEnabled"`
		SP        struct {
			Passwords []struct {
				Type  string `json:"restrictionType"`
				State string `json:"state"`
			} `json:"passwordCredentials"`
		} `json:"servicePrincipalRestrictions"`
	}
	if err := d.send(ctx, abs.GET, d.v1("/policies/defaultAppManagementPolicy"), nil, &p); err != nil {
		d.log.DebugContext(ctx, "app management policy unreadable", "err", err)
		return false
	}
	for _, r := range p.SP.Passwords {
		if p.IsEnabled && r.Type == "passwordAddition" && r.State == "enabled" {
			return true
		}
	}
	return false
}

// removeSecret removes the temporary secret from the MFA service
// principal, even when ctx has been cancelled; a failure is logged, since
// the secret still expires within minutes.
func (d *Directory) removeSecret(ctx context.Context, spID, keyID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if keyID == "" {
		d.log.WarnContext(ctx, "temporary secret of the MFA service app has no key ID and cannot be removed; it expires within 10 minutes",
			"service_principal", spID)
		return
	}
	u := d.v1("/servicePrincipals/" + url.PathEscape(spID) + "/removePassword")
	if err := d.send(ctx, abs.POST, u, map[string]string{"keyId": keyID}, nil); err != nil {
		d.log.WarnContext(ctx, "temporary secret of the MFA service app not removed; it expires within 10 minutes",
			"service_principal", spID, "key_id", keyID, "err", mapError(err, "the MFA service app's secret"))
	}
}

// mfaToken gets a v1 client-credentials token for the MFA service with the
// MFA app's secret: POST {authority}{tenant}/oauth2/token. azidentity
// speaks only v2, which this resource does not take. A new secret is
// often refused for a few seconds (AADSTS7000215), so that is retried.
func (d *Directory) mfaToken(ctx context.Context, secret string) (string, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {mfaAppID},
		"client_secret": {secret},
		"resource":      {mfaResource},
	}.Encode()
	endpoint := d.authority + url.PathEscape(d.tenantID) + "/oauth2/token"
	wait := d.mfaRetry
	for attempt := 1; ; attempt++ {
		token, code, err := d.postToken(ctx, endpoint, form)
		if err == nil || code != "7000215" || attempt >= mfaTokenAttempts {
			return token, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", mapError(ctx.Err(), "the MFA service token")
		case <-t.C:
		}
		wait *= 2
	}
}

// postToken sends one token request; code is the AADSTS code of a
// refusal.
func (d *Directory) postToken(ctx context.Context, endpoint, form string) (token, code string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := d.baseClient.Do(req)
	if err != nil {
		return "", "", mapError(err, "the MFA service token")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", mapError(err, "the MFA service token")
	}
	var r struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	jerr := json.Unmarshal(raw, &r)
	if resp.StatusCode == http.StatusOK && jerr == nil && r.AccessToken != "" {
		return r.AccessToken, "", nil
	}
	if len(r.Codes) > 0 {
		code = strconv.Itoa(r.Codes[0])
	} else if m := aadsts.FindStringSubmatch(r.Description); m != nil {
		code = m[1]
	}
	detail := fmt.Sprintf("mfa token %d %s: %s", resp.StatusCode, r.Error, firstLine(r.Description, 300))
	e := &actions.Error{Code: actions.EFORBIDDEN, Detail: detail}
	switch code {
	case "7000215", "7000222":
		e.Message = "Entra ID did not accept the MFA service app's new secret in time (AADSTS" + code + "); try again in a minute"
	case "700016":
		e.Code = actions.EINVALID
		e.Message = "the MFA service app is not in this tenant (AADSTS700016)"
	case "7000112":
		e.Message = "the MFA service app is disabled in this tenant (AADSTS7000112)"
	case "500014":
		e.Message = "the MFA notification service is disabled in this tenant (AADSTS500014): enable the Azure Multi-Factor Auth Connector enterprise app, or renew the lapsed subscription"
	case "90002", "90023":
		e.Message = "Microsoft does not know this tenant (AADSTS" + code + "): check the tenant directory"
	case "":
		if resp.StatusCode >= 500 || jerr != nil {
			e.Code = actions.EUNAVAILABLE
			e.Message = fmt.Sprintf("Entra ID failed to issue the MFA service token (HTTP %d); try again later", resp.StatusCode)
		} else {
			e.Message = "Entra ID refused a token for the MFA service"
		}
	default:
		e.Message = "Entra ID refused a token for the MFA service (AADSTS" + code + ")"
	}
	return "", code, e
}

// pushRequest is the body of BeginTwoWayAuthentication, as CIPP's Invoke-ExecSendPush
// and the NPS extension send it; %s are the UPN and a new context ID.
const pushRequest = `<BeginTwoWayAuthenticationRequest><Version>1.0</Version><UserPrincipalName>%s</UserPrincipalName>` +
	`<Lcid>en-us</Lcid><AuthenticationMethodId>PhoneAppNotification</AuthenticationMethodId>` +
	`<AuthenticationMethodProperties xmlns:a="http://schemas.microsoft.com/2003/10/Serialization/Arrays">` +
	`<a:KeyValueOfstringstring><a:Key>OverrideVoiceOtp</a:Key><a:Value>false</a:Value></a:KeyValueOfstringstring>` +
	`</AuthenticationMethodProperties><ContextId>%s</ContextId><SyncCall>true</SyncCall>` +
	`<RequireUserMatch>true</RequireUserMatch><CallerName>radius</CallerName><CallerIP>UNKNOWN:</CallerIP>` +
	`</BeginTwoWayAuthenticationRequest>`

// beginTwoWay sends the push and waits for the user's answer.
func (d *Directory) beginTwoWay(ctx context.Context, token, upn string) (actions.PushResult, error) {
	const what = "the MFA service"
	wait, cancel := context.WithTimeout(ctx, pushWait)
	defer cancel()
	body := fmt.Sprintf(pushRequest, xmlEscape(upn), newGUID())
	// The double slash is what CIPP's Invoke-ExecSendPush sends.
	req, err := http.NewRequestWithContext(wait, http.MethodPost,
		d.mfaURL+"/StrongAuthenticationService.svc/Connector//BeginTwoWayAuthentication", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := d.baseClient.Do(req)
	if err != nil {
		if ctx.Err() == nil && wait.Err() != nil {
			return actions.PushTimeout, nil
		}
		return "", mapError(err, what)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() == nil && wait.Err() != nil {
			return actions.PushTimeout, nil
		}
		return "", mapError(err, what)
	}
	detail := fmt.Sprintf("mfa service %d: %s", resp.StatusCode, firstLine(string(raw), 300))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", &actions.Error{Code: actions.EFORBIDDEN, Message: "the MFA service refused cippbot's token for this tenant", Detail: detail}
	case resp.StatusCode >= 300:
		return "", &actions.Error{Code: actions.EUNAVAILABLE, Message: fmt.Sprintf("the MFA service failed (HTTP %d); try again later", resp.StatusCode), Detail: detail}
	}
	var r struct {
		Result struct {
			Value   string `xml:"Value"`
			Message string `xml:"Message"`
		} `xml:"Result"`
		AuthenticationResult string `xml:"AuthenticationResult"`
	}
	if err := xml.Unmarshal(raw, &r); err != nil {
		return "", &actions.Error{Code: actions.EINTERNAL, Message: "the MFA service sent an answer cippbot cannot read", Detail: detail}
	}
	if strings.EqualFold(strings.TrimSpace(r.AuthenticationResult), "true") {
		return actions.PushApproved, nil
	}
	switch v := strings.TrimSpace(r.Result.Value); v {
	case "PhoneAppDenied":
		return actions.PushDenied, nil
	case "PhoneAppFraud":
		return actions.PushFraud, nil
	case "PhoneAppNoResponse":
		return actions.PushTimeout, nil
	default:
		return "", &actions.Error{Code: actions.EINVALID, Detail: detail,
			Message: fmt.Sprintf("no push could be sent to %s (%s): does the user have the Microsoft Authenticator app?", upn, orDefault(v, "no result"))}
	}
}

// newGUID returns a random (version 4) GUID.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
