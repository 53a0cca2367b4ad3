package fakegraph

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Service principal routes:
//
//	GET  /servicePrincipals                      $filter (appId eq, displayName eq, ...),
//	                                             $select, $top, $orderby=displayName
//	GET  /servicePrincipals/{id}
//	POST /servicePrincipals/{id}/addPassword     200 passwordCredential with secretText
//	POST /servicePrincipals/{id}/removePassword  204
//
// Reads need Application.Read.All (or Directory.Read.All), the password
// calls Application.ReadWrite.All.

// secretLifetime is how long a secret added without endDateTime lasts.
const secretLifetime = 2 * 365 * 24 * time.Hour

// secretChars is the alphabet of generated client secrets.
const secretChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~"

// newClientSecret returns a client secret shaped like Entra's: 40
// characters with "8Q~" after the three-character hint.
func newClientSecret() string {
	return randomString(3, secretChars[:62]) + "8Q~" + randomString(34, secretChars)
}

// servicePrincipalsCollection describes how /servicePrincipals may be
// queried.
func servicePrincipalsCollection() collection {
	return collection{
		entity:  "servicePrincipal",
		context: "servicePrincipals",
		filterable: []string{"id", "appId", "displayName", "servicePrincipalType", "accountEnabled", "appOwnerOrganizationId",
			"signInAudience"},
		sortable: []string{"displayName"},
		pageSize: 100,
		maxTop:   999,
	}
}

// passwordCredentialObj renders a secret; the secret text only right
// after it was added.
func passwordCredentialObj(p passwordCredential, reveal bool) obj {
	var secret any
	if reveal {
		secret = p.secret
	}
	return obj{
		{"customKeyIdentifier", nil},
		{"displayName", nullString(p.displayName)},
		{"endDateTime", formatTime(p.end)},
		{"hint", p.secret[:3]},
		{"keyId", p.keyID},
		{"secretText", secret},
		{"startDateTime", formatTime(p.start)},
	}
}

// servicePrincipalObj renders every property of a service principal in
// Graph's order: v1.0's, which has neither createdDateTime nor
// publisherName (https://learn.microsoft.com/en-us/graph/api/resources/serviceprincipal);
// when an app was added is in the directory audit log (directoryAudits).
func servicePrincipalObj(sp *ServicePrincipal) obj {
	var verified obj
	if sp.VerifiedPublisher != "" {
		verified = obj{
			{"displayName", sp.VerifiedPublisher},
			{"verifiedPublisherId", stableGUID("publisher", sp.VerifiedPublisher)[:7]},
			{"addedDateTime", formatTime(sp.CreatedDateTime)},
		}
	} else {
		verified = obj{{"displayName", nil}, {"verifiedPublisherId", nil}, {"addedDateTime", nil}}
	}
	creds := make([]obj, 0, len(sp.passwords))
	for _, p := range sp.passwords {
		creds = append(creds, passwordCredentialObj(p, false))
	}
	return obj{
		{"id", sp.ID},
		{"deletedDateTime", nil},
		{"accountEnabled", !sp.Disabled},
		{"alternativeNames", []string{}},
		{"appDisplayName", sp.DisplayName},
		{"appDescription", nil},
		{"appId", sp.AppID},
		{"applicationTemplateId", nil},
		{"appOwnerOrganizationId", nullString(sp.AppOwnerOrganizationID)},
		{"appRoleAssignmentRequired", false},
		{"description", nil},
		{"disabledByMicrosoftStatus", nil},
		{"displayName", sp.DisplayName},
		{"homepage", nil},
		{"loginUrl", nil},
		{"logoutUrl", nil},
		{"notes", nil},
		{"notificationEmailAddresses", []string{}},
		{"preferredSingleSignOnMode", nil},
		{"preferredTokenSigningKeyThumbprint", nil},
		{"replyUrls", []string{}},
		{"servicePrincipalNames", []string{sp.AppID}},
		{"servicePrincipalType", sp.ServicePrincipalType},
		{"signInAudience", sp.SignInAudience},
		{"tags", []string{}},
		{"tokenEncryptionKeyId", nil},
		{"verifiedPublisher", verified},
		{"keyCredentials", []any{}},
		{"passwordCredentials", creds},
	}
}

// servicePrincipalProps lists every selectable service principal
// property.
func servicePrincipalProps() []string {
	return servicePrincipalObj(&ServicePrincipal{}).keys()
}

// routeServicePrincipals serves /servicePrincipals/...; s.mu is held.
func (s *Server) routeServicePrincipals(c *call) *reply {
	n := len(c.segs)
	switch {
	case n > 3:
		return segmentNotFound(c.segs[3])
	case n == 1 && c.method == http.MethodGet:
		return s.listServicePrincipals(c)
	case n == 1 && c.method == http.MethodPost:
		return s.createServicePrincipal(c)
	case n == 2 && c.method == http.MethodGet:
		return s.getServicePrincipal(c)
	case n <= 2:
		return methodNotAllowed()
	}
	switch c.seg(2) {
	case "addpassword", "microsoft.graph.addpassword":
		if c.method != http.MethodPost {
			return methodNotAllowed()
		}
		return s.addPassword(c)
	case "removepassword", "microsoft.graph.removepassword":
		if c.method != http.MethodPost {
			return methodNotAllowed()
		}
		return s.removePassword(c)
	}
	return segmentNotFound(c.segs[2])
}

// listServicePrincipals serves GET /servicePrincipals.
func (s *Server) listServicePrincipals(c *call) *reply {
	sel, rep := parseSelect(c, "servicePrincipal", servicePrincipalProps())
	if rep != nil {
		return rep
	}
	items := make([]obj, 0, len(c.t.servicePrincipals))
	for _, sp := range c.t.servicePrincipals {
		items = append(items, servicePrincipalObj(sp))
	}
	page, next, total, rep := c.queryCollection(items, servicePrincipalsCollection())
	if rep != nil {
		return rep
	}
	if sel != nil {
		for i := range page {
			page[i] = page[i].pick(sel)
		}
	}
	return c.listReply(selectContext("servicePrincipals", sel), page, next, total)
}

// lookupServicePrincipal resolves segment 1 of a /servicePrincipals path.
func (c *call) lookupServicePrincipal() (*ServicePrincipal, *reply) {
	sp := c.t.servicePrincipal(c.segs[1])
	if sp == nil {
		return nil, notFound(c.segs[1])
	}
	return sp, nil
}

// getServicePrincipal serves GET /servicePrincipals/{id}.
func (s *Server) getServicePrincipal(c *call) *reply {
	sel, rep := parseSelect(c, "servicePrincipal", servicePrincipalProps())
	if rep != nil {
		return rep
	}
	sp, rep := c.lookupServicePrincipal()
	if rep != nil {
		return rep
	}
	o := servicePrincipalObj(sp)
	if sel != nil {
		o = o.pick(sel)
	}
	return okReply(o.prepend("@odata.context", c.context(selectContext("servicePrincipals", sel)+"/$entity")))
}

// rawTime decodes a DateTimeOffset property ("" or null as zero).
func rawTime(v json.RawMessage, prop, entity string) (time.Time, *reply) {
	str, null, rep := rawString(v, prop, entity)
	if rep != nil || null || str == "" {
		return time.Time{}, rep
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return time.Time{}, invalidValue(prop, entity)
	}
	return t.UTC(), nil
}

// addPassword serves POST /servicePrincipals/{id}/addPassword.
func (s *Server) addPassword(c *call) *reply {
	sp, rep := c.lookupServicePrincipal()
	if rep != nil {
		return rep
	}
	body, rep := decodeObject(c.body)
	if rep != nil {
		return rep
	}
	if rep := passwordAdditionRefused(c, sp); rep != nil {
		return rep
	}
	p := passwordCredential{keyID: newGUID(), secret: newClientSecret(), start: c.now.Truncate(time.Second)}
	for k, v := range body {
		if k != "passwordCredential" {
			return badRequest("Invalid property '%s'.", k)
		}
		if isNull(v) {
			continue
		}
		var pc map[string]json.RawMessage
		if json.Unmarshal(v, &pc) != nil {
			return invalidValue(k, "ServicePrincipal")
		}
		for pk, pv := range pc {
			switch pk {
			case "@odata.type":
			case "displayName":
				str, _, rep := rawString(pv, pk, "PasswordCredential")
				if rep != nil {
					return rep
				}
				p.displayName = str
			case "startDateTime":
				t, rep := rawTime(pv, pk, "PasswordCredential")
				if rep != nil {
					return rep
				}
				if !t.IsZero() {
					p.start = t
				}
			case "endDateTime":
				t, rep := rawTime(pv, pk, "PasswordCredential")
				if rep != nil {
					return rep
				}
				p.end = t
			default:
				return badRequest("Invalid property '%s'.", pk)
			}
		}
	}
	if p.end.IsZero() {
		p.end = p.start.Add(secretLifetime)
	}
	if !p.end.After(p.start) {
		return invalidValue("endDateTime", "PasswordCredential")
	}
	sp.passwords = append(sp.passwords, p)
	return okReply(passwordCredentialObj(p, true).prepend("@odata.context", c.context("microsoft.graph.passwordCredential")))
}

// removePassword serves POST /servicePrincipals/{id}/removePassword.
func (s *Server) removePassword(c *call) *reply {
	sp, rep := c.lookupServicePrincipal()
	if rep != nil {
		return rep
	}
	body, rep := decodeObject(c.body)
	if rep != nil {
		return rep
	}
	keyID := ""
	for k, v := range body {
		if k != "keyId" {
			return badRequest("Invalid property '%s'.", k)
		}
		str, _, rep := rawString(v, k, "ServicePrincipal")
		if rep != nil {
			return rep
		}
		keyID = str
	}
	if keyID == "" {
		return badRequest("Property keyId value is required but is empty or missing.")
	}
	if !isGUID(keyID) {
		return invalidValue("keyId", "ServicePrincipal")
	}
	i := slices.IndexFunc(sp.passwords, func(p passwordCredential) bool { return strings.EqualFold(p.keyID, keyID) })
	if i < 0 {
		return badRequest("No password credential found with keyId '%s'.", keyID)
	}
	sp.passwords = slices.Delete(sp.passwords, i, i+1)
	return noContent()
}
