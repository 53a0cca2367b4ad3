package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Temporary access pass lifetime bounds, in minutes.
const (
	tapMinLifetime     = 10
	tapMaxLifetime     = 43200
	tapDefaultLifetime = 60
)

// phoneMethodID returns the fixed id Graph uses for each phone type.
func phoneMethodID(phoneType string) string {
	switch strings.ToLower(phoneType) {
	case "alternatemobile":
		return "b6332ec1-7057-4abe-9331-3d72feddfe41"
	case "office":
		return "e37fc753-ff3b-4958-9484-eaa9425c82bc"
	}
	return "3179e48a-750b-4051-897c-87b9720928f7"
}

// methodCollections maps the lowercase collection segment to the method
// type it lists ("" for every type).
func methodCollections() map[string]string {
	return map[string]string{
		"methods":                       "",
		"passwordmethods":               "password",
		"microsoftauthenticatormethods": AuthMethodAuthenticator,
		"phonemethods":                  AuthMethodPhone,
		"temporaryaccesspassmethods":    "temporaryAccessPass",
	}
}

// methodObjs renders a user's authentication methods of one kind ("" for
// all), with their ids.
func (c *call) methodObjs(u *User, kind string) []obj {
	var out []obj
	if kind == "" || kind == "password" {
		out = append(out, obj{
			{"@odata.type", "#microsoft.graph.passwordAuthenticationMethod"},
			{"id", passwordMethodID},
			{"password", nil},
			{"createdDateTime", formatTime(u.LastPasswordChangeDateTime)},
		})
	}
	for _, m := range u.AuthMethods {
		if kind != "" && kind != m.Type {
			continue
		}
		switch m.Type {
		case AuthMethodAuthenticator:
			out = append(out, obj{
				{"@odata.type", "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"},
				{"id", m.ID},
				{"displayName", m.DisplayName},
				{"deviceTag", m.DeviceTag},
				{"phoneAppVersion", m.PhoneAppVersion},
				{"createdDateTime", formatTime(m.CreatedDateTime)},
			})
		case AuthMethodPhone:
			out = append(out, obj{
				{"@odata.type", "#microsoft.graph.phoneAuthenticationMethod"},
				{"id", m.ID},
				{"phoneNumber", m.PhoneNumber},
				{"phoneType", m.PhoneType},
				{"smsSignInState", "notAllowedByPolicy"},
			})
		}
	}
	if u.TAP != "" && (kind == "" || kind == "temporaryAccessPass") {
		out = append(out, c.tapObj(u, false))
	}
	return out
}

// tapObj renders the user's temporary access pass; the pass itself is
// only shown right after creation.
func (c *call) tapObj(u *User, reveal bool) obj {
	usable, reason := true, "EnabledByPolicy"
	end := u.TAPStartDateTime.Add(time.Duration(u.TAPLifetimeMinutes) * time.Minute)
	switch {
	case c.now.Before(u.TAPStartDateTime):
		usable, reason = false, "NotYetValid"
	case !c.now.Before(end):
		usable, reason = false, "Expired"
	}
	var pass any
	if reveal {
		pass = u.TAP
	}
	return obj{
		{"@odata.type", "#microsoft.graph.temporaryAccessPassAuthenticationMethod"},
		{"id", u.TAPID},
		{"temporaryAccessPass", pass},
		{"createdDateTime", formatTime(u.TAPCreatedDateTime)},
		{"startDateTime", formatTime(u.TAPStartDateTime)},
		{"lifetimeInMinutes", u.TAPLifetimeMinutes},
		{"isUsableOnce", u.TAPUsableOnce},
		{"isUsable", usable},
		{"methodUsabilityReason", reason},
	}
}

// routeAuthentication serves /users/{id}/authentication/...
func (s *Server) routeAuthentication(c *call) *reply {
	n := len(c.segs)
	if n == 3 {
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		u, rep := c.lookupUser()
		if rep != nil {
			return rep
		}
		return okReply(obj{{"@odata.context", c.context("users('" + u.ID + "')/authentication/$entity")}, {"id", u.ID}})
	}
	if c.seg(3) == "requirements" && c.version == "beta" {
		if n != 4 {
			return segmentNotFound(c.segs[4])
		}
		switch c.method {
		case http.MethodGet:
			return s.getRequirements(c)
		case http.MethodPatch:
			return s.patchRequirements(c)
		}
		return methodNotAllowed()
	}
	// The password method's reset and its operation (writeback.go).
	if c.seg(3) == "operations" {
		return s.getResetOperation(c)
	}
	if n == 6 && (c.seg(3) == "methods" || c.seg(3) == "passwordmethods") &&
		(c.seg(5) == "resetpassword" || c.seg(5) == "microsoft.graph.resetpassword") {
		return s.resetPassword(c)
	}
	kind, ok := methodCollections()[c.seg(3)]
	if !ok {
		return segmentNotFound(c.segs[3])
	}
	if n > 5 {
		return segmentNotFound(c.segs[5])
	}
	if n == 4 {
		switch {
		case c.method == http.MethodGet:
			u, rep := c.lookupUser()
			if rep != nil {
				return rep
			}
			items := c.methodObjs(u, kind)
			return c.listReply("users('"+u.ID+"')/authentication/"+c.segs[3], items, "", len(items))
		case c.method == http.MethodPost && kind == "temporaryAccessPass":
			return s.createTAP(c)
		}
		return methodNotAllowed()
	}
	switch c.method {
	case http.MethodGet:
		u, rep := c.lookupUser()
		if rep != nil {
			return rep
		}
		for _, m := range c.methodObjs(u, kind) {
			if id, _ := m.get("id"); strings.EqualFold(id.(string), c.segs[4]) {
				return okReply(m.prepend("@odata.context", c.context("users('"+u.ID+"')/authentication/"+c.segs[3]+"/$entity")))
			}
		}
		return notFound(c.segs[4])
	case http.MethodDelete:
		if kind == "" || kind == "password" {
			return methodNotAllowed()
		}
		return s.deleteMethod(c, kind)
	}
	return methodNotAllowed()
}

// deleteMethod serves DELETE on a single authentication method.
func (s *Server) deleteMethod(c *call, kind string) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	id := c.segs[4]
	if kind == "temporaryAccessPass" {
		if u.TAP == "" || !strings.EqualFold(u.TAPID, id) {
			return notFound(id)
		}
		u.TAP, u.TAPID, u.TAPLifetimeMinutes, u.TAPUsableOnce = "", "", 0, false
		u.TAPStartDateTime, u.TAPCreatedDateTime = time.Time{}, time.Time{}
		return noContent()
	}
	i := slices.IndexFunc(u.AuthMethods, func(m AuthMethod) bool { return m.Type == kind && strings.EqualFold(m.ID, id) })
	if i < 0 {
		return notFound(id)
	}
	u.AuthMethods = slices.Delete(u.AuthMethods, i, i+1)
	return noContent()
}

// createTAP serves POST /users/{id}/authentication/temporaryAccessPassMethods.
func (s *Server) createTAP(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	body := map[string]json.RawMessage{}
	if len(strings.TrimSpace(string(c.body))) > 0 {
		if body, rep = decodeObject(c.body); rep != nil {
			return rep
		}
	}
	// A pass that does not say is as the tenant's Temporary Access Pass
	// policy says: "isUsableOnce: If true, all the passes in the tenant
	// will be restricted to one-time use. If false, passes in the tenant
	// can be created to be either one-time use or reusable."
	// (https://learn.microsoft.com/en-us/graph/api/resources/temporaryaccesspassauthenticationmethodconfiguration)
	lifetime, once, start := tapDefaultLifetime, c.t.tapUsableOnce, c.now
	for k, v := range body {
		switch k {
		case "@odata.type":
		case "lifetimeInMinutes":
			if err := json.Unmarshal(v, &lifetime); err != nil {
				return invalidValue(k, "TemporaryAccessPassAuthenticationMethod")
			}
		case "isUsableOnce":
			b, rep := rawBool(v, k, "TemporaryAccessPassAuthenticationMethod")
			if rep != nil {
				return rep
			}
			once = b
		case "startDateTime":
			str, null, rep := rawString(v, k, "TemporaryAccessPassAuthenticationMethod")
			if rep != nil {
				return rep
			}
			if !null {
				t, err := time.Parse(time.RFC3339, str)
				if err != nil {
					return invalidValue(k, "TemporaryAccessPassAuthenticationMethod")
				}
				start = t.UTC()
			}
		default:
			return badRequest("Invalid property '%s'.", k)
		}
	}
	if c.t.tapUsableOnce && !once {
		// The policy restricts every pass to one use; a request for a
		// reusable one is refused. (The docs give no error text; this is
		// ours.)
		return graphErr(http.StatusBadRequest, "BadRequest",
			"The Temporary Access Pass policy of this tenant allows one-time use passes only; isUsableOnce cannot be false.")
	}
	if lifetime < tapMinLifetime || lifetime > tapMaxLifetime {
		return graphErr(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Invalid lifetimeInMinutes %d: lifetimeInMinutes must be between %d and %d.", lifetime, tapMinLifetime, tapMaxLifetime))
	}
	u.TAP = newTAP()
	u.TAPID = newGUID()
	u.TAPLifetimeMinutes = lifetime
	u.TAPUsableOnce = once
	u.TAPStartDateTime = start
	u.TAPCreatedDateTime = c.now
	entity := "users('" + u.ID + "')/authentication/temporaryAccessPassMethods"
	return &reply{
		status: http.StatusCreated,
		header: http.Header{"Location": {graphHost + c.version + "/" + entity + "/" + u.TAPID}},
		body:   c.tapObj(u, true).prepend("@odata.context", c.context(entity+"/$entity")),
	}
}

// getRequirements serves GET /beta/users/{id}/authentication/requirements.
func (s *Server) getRequirements(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	return okReply(obj{
		{"@odata.context", c.context("users('" + u.ID + "')/authentication/requirements")},
		{"perUserMfaState", u.PerUserMFAState},
	})
}

// patchRequirements serves PATCH /beta/users/{id}/authentication/requirements.
func (s *Server) patchRequirements(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	body, rep := decodeObject(c.body)
	if rep != nil {
		return rep
	}
	state := ""
	for k, v := range body {
		switch k {
		case "@odata.type":
		case "perUserMfaState":
			str, null, rep := rawString(v, k, "StrongAuthenticationRequirements")
			if rep != nil {
				return rep
			}
			switch strings.ToLower(str) {
			case "disabled", "enabled", "enforced":
				if !null {
					state = strings.ToLower(str)
					continue
				}
			}
			return graphErr(http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("The value '%s' is not valid for perUserMfaState; use 'disabled', 'enabled' or 'enforced'.", str))
		default:
			return badRequest("Invalid property '%s'.", k)
		}
	}
	if state == "" {
		return graphErr(http.StatusBadRequest, "BadRequest", "perUserMfaState is required.")
	}
	u.PerUserMFAState = state
	return noContent()
}

// SetTAPUsableOnce sets the Temporary Access Pass policy's isUsableOnce in
// a tenant (ID or domain): true restricts every pass to one-time use.
func (s *Server) SetTAPUsableOnce(tenantIDOrDomain string, once bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenant(tenantIDOrDomain)
	if t == nil {
		panic(fmt.Sprintf("fakegraph: SetTAPUsableOnce: no tenant %q", tenantIDOrDomain))
	}
	t.tapUsableOnce = once
}
