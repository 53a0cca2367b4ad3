package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// defaultUserProps are the properties v1.0 returns without $select.
func defaultUserProps() []string {
	return []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}
}

// usersCollection describes how /users may be queried.
func usersCollection() collection {
	return collection{
		entity:  "user",
		context: "users",
		filterable: []string{"id", "userPrincipalName", "mail", "mailNickname", "displayName", "givenName", "surname",
			"jobTitle", "department", "accountEnabled", "userType", "onPremisesSyncEnabled", "usageLocation", "onPremisesImmutableId",
			"companyName", "city", "country"},
		sortable: []string{"displayName", "userPrincipalName"},
		pageSize: 100,
		maxTop:   999,
	}
}

// syncMasteredProps are the properties a directory-synchronized user
// only accepts from on-premises.
func syncMasteredProps() []string {
	return []string{"accountEnabled", "passwordProfile", "onPremisesImmutableId", "displayName", "givenName", "surname",
		"jobTitle", "department", "mobilePhone", "officeLocation", "businessPhones", "userPrincipalName", "city", "country",
		"companyName", "streetAddress", "postalCode", "state", "mail"}
}

// syncMasteredError is the directory's answer for writing a synced
// attribute.
func syncMasteredError() *reply {
	return badRequest("Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.")
}

// userObj renders every property of u in Graph's order.
func (t *tenant) userObj(u *User) obj {
	effective := t.effectiveLicenses(u)
	licenses := make([]any, 0, len(effective))
	for _, l := range effective {
		licenses = append(licenses, obj{{"disabledPlans", []string{}}, {"skuId", l}})
	}
	var synced any
	if u.OnPremisesSyncEnabled {
		synced = true
	}
	return obj{
		{"businessPhones", nonNil(u.BusinessPhones)},
		{"displayName", nullString(u.DisplayName)},
		{"givenName", nullString(u.GivenName)},
		{"jobTitle", nullString(u.JobTitle)},
		{"mail", nullString(u.Mail)},
		{"mobilePhone", nullString(u.MobilePhone)},
		{"officeLocation", nullString(u.OfficeLocation)},
		{"preferredLanguage", nullString(u.PreferredLanguage)},
		{"surname", nullString(u.Surname)},
		{"userPrincipalName", u.UserPrincipalName},
		{"id", u.ID},
		{"accountEnabled", u.AccountEnabled},
		{"assignedLicenses", licenses},
		{"city", nullString(u.City)},
		{"companyName", nullString(u.CompanyName)},
		{"country", nullString(u.Country)},
		{"createdDateTime", formatTime(u.CreatedDateTime)},
		{"deletedDateTime", formatTime(u.DeletedDateTime)},
		{"department", nullString(u.Department)},
		{"lastPasswordChangeDateTime", formatTime(u.LastPasswordChangeDateTime)},
		{"licenseAssignmentStates", t.licenseStates(u)},
		{"mailNickname", u.MailNickname},
		{"onPremisesImmutableId", nullString(u.OnPremisesImmutableID)},
		{"onPremisesLastSyncDateTime", formatTime(u.OnPremisesLastSyncDateTime)},
		{"onPremisesSyncEnabled", synced},
		{"passwordPolicies", nullString(u.PasswordPolicies)},
		{"passwordProfile", nil},
		{"postalCode", nullString(u.PostalCode)},
		{"proxyAddresses", nonNil(u.ProxyAddresses)},
		{"signInSessionsValidFromDateTime", formatTime(u.SignInSessionsValidFrom)},
		{"state", nullString(u.State)},
		{"streetAddress", nullString(u.StreetAddress)},
		{"usageLocation", nullString(u.UsageLocation)},
		{"userType", u.UserType},
	}
}

// nonNil turns a nil slice into an empty one so it renders as [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// userProps lists every selectable user property.
func userProps() []string {
	return (&tenant{}).userObj(&User{}).keys()
}

// shapeUser applies a selection to a rendered user: nil means the
// version's default set.
func (c *call) shapeUser(full obj, sel []string) obj {
	switch {
	case sel != nil:
		return full.pick(sel)
	case c.version == "v1.0":
		return full.pick(defaultUserProps())
	}
	return full
}

// expandSpec is a parsed $expand=manager option.
type expandSpec struct {
	manager bool
	sel     []string
}

// parseUserExpand understands $expand=manager and
// $expand=manager($select=a,b).
func parseUserExpand(c *call) (expandSpec, *reply) {
	v, ok := c.option("$expand")
	if !ok {
		return expandSpec{}, nil
	}
	name, inner, hasInner := strings.Cut(strings.TrimSpace(v), "(")
	if !strings.EqualFold(strings.TrimSpace(name), "manager") {
		return expandSpec{}, graphErr(http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Could not find a navigation property named '%s' on type 'microsoft.graph.user'.", strings.TrimSpace(name)))
	}
	spec := expandSpec{manager: true}
	if hasInner {
		inner = strings.TrimSuffix(strings.TrimSpace(inner), ")")
		key, val, _ := strings.Cut(inner, "=")
		if !strings.EqualFold(strings.TrimPrefix(strings.TrimSpace(key), "$"), "select") {
			return expandSpec{}, graphErr(http.StatusBadRequest, "BadRequest", "Only $select is supported inside $expand=manager(...).")
		}
		known := userProps()
		for _, p := range strings.Split(val, ",") {
			p = strings.TrimSpace(p)
			i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, p) })
			if i < 0 {
				return expandSpec{}, graphErr(http.StatusBadRequest, "BadRequest",
					fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.user'.", p))
			}
			spec.sel = append(spec.sel, known[i])
		}
	}
	return spec, nil
}

// directoryObject renders a user as a member of a directoryObject
// collection, with its @odata.type.
func (c *call) directoryUser(u *User, sel []string) obj {
	return c.shapeUser(c.t.userObj(u), sel).prepend("@odata.type", "#microsoft.graph.user")
}

// renderUser renders u with the call's $select and $expand.
func (c *call) renderUser(u *User, sel []string, exp expandSpec) obj {
	o := c.shapeUser(c.t.userObj(u), sel)
	if exp.manager && u.ManagerID != "" {
		if m := c.t.findUser(u.ManagerID, false); m != nil {
			o = append(o, field{"manager", c.directoryUser(m, exp.sel)})
		}
	}
	return o
}

// lookupUser resolves segment 1 of a /users path.
func (c *call) lookupUser() (*User, *reply) {
	u := c.t.findUser(c.segs[1], false)
	if u == nil {
		return nil, notFound(c.segs[1])
	}
	return u, nil
}

// routeUsers serves /users and everything below it.
func (s *Server) routeUsers(c *call) *reply {
	n := len(c.segs)
	if n == 1 {
		switch c.method {
		case http.MethodGet:
			return s.listUsers(c)
		case http.MethodPost:
			return s.createUser(c)
		}
		return methodNotAllowed()
	}
	if n == 2 {
		switch c.method {
		case http.MethodGet:
			return s.getUser(c)
		case http.MethodPatch:
			return s.patchUser(c)
		case http.MethodDelete:
			return s.deleteUser(c)
		}
		return methodNotAllowed()
	}
	only := func(method string, h func(*call) *reply) *reply {
		if n != 3 {
			return segmentNotFound(c.segs[3])
		}
		if c.method != method {
			return methodNotAllowed()
		}
		return h(c)
	}
	switch c.seg(2) {
	case "revokesigninsessions", "microsoft.graph.revokesigninsessions":
		return only(http.MethodPost, s.revokeSessions)
	case "memberof":
		return only(http.MethodGet, s.memberOf)
	case "transitivememberof":
		if n > 4 {
			return segmentNotFound(c.segs[4])
		}
		if c.method != http.MethodGet {
			return methodNotAllowed()
		}
		return s.transitiveMemberOf(c)
	case "directreports":
		return only(http.MethodGet, s.directReports)
	case "assignlicense", "microsoft.graph.assignlicense":
		return only(http.MethodPost, s.assignLicense)
	case "licensedetails":
		return only(http.MethodGet, s.licenseDetails)
	case "manager":
		if n == 3 {
			if c.method != http.MethodGet {
				return methodNotAllowed()
			}
			return s.getManager(c)
		}
		if n == 4 && c.seg(3) == "$ref" {
			switch c.method {
			case http.MethodPut:
				return s.setManager(c)
			case http.MethodDelete:
				return s.removeManager(c)
			}
			return methodNotAllowed()
		}
		return segmentNotFound(c.segs[3])
	case "authentication":
		return s.routeAuthentication(c)
	case "mailfolders":
		return s.routeMailFolders(c)
	case "drive":
		return s.routeUserDrive(c)
	}
	return segmentNotFound(c.segs[2])
}

// listUsers serves GET /users.
func (s *Server) listUsers(c *call) *reply {
	sel, rep := parseSelect(c, "user", userProps())
	if rep != nil {
		return rep
	}
	exp, rep := parseUserExpand(c)
	if rep != nil {
		return rep
	}
	var items []obj
	byID := map[string]*User{}
	may := c.userPrefilter()
	for _, u := range c.t.users {
		if !u.Deleted && may(u) {
			items = append(items, c.t.userObj(u))
			byID[u.ID] = u
		}
	}
	page, next, total, rep := c.queryCollection(items, usersCollection())
	if rep != nil {
		return rep
	}
	out := make([]obj, 0, len(page))
	for _, it := range page {
		id, _ := it.get("id")
		out = append(out, c.renderUser(byID[id.(string)], sel, exp))
	}
	return c.listReply(selectContext("users", sel), out, next, total)
}

// userPrefilter returns a cheap test of whether a user can pass the
// call's $filter, for a filter on id or userPrincipalName alone (eq or
// in), so a lookup of 15 users in a big tenant renders 15 users, not all
// of them; the filter itself is still applied in full afterwards.
func (c *call) userPrefilter() func(*User) bool {
	all := func(*User) bool { return true }
	f, ok := c.option("$filter")
	if !ok {
		return all
	}
	col := usersCollection()
	expr, err := parseFilterOps(f, col.filterable, col.operators)
	if err != nil {
		return all
	}
	eq, ok := expr.(eqFilter)
	if !ok {
		return all
	}
	want := map[string]bool{}
	for _, v := range eq.values {
		want[strings.ToLower(v)] = true
	}
	switch {
	case strings.EqualFold(eq.prop, "id"):
		return func(u *User) bool { return want[strings.ToLower(u.ID)] }
	case strings.EqualFold(eq.prop, "userPrincipalName"):
		return func(u *User) bool { return want[strings.ToLower(u.UserPrincipalName)] }
	}
	return all
}

// getUser serves GET /users/{id}.
func (s *Server) getUser(c *call) *reply {
	sel, rep := parseSelect(c, "user", userProps())
	if rep != nil {
		return rep
	}
	exp, rep := parseUserExpand(c)
	if rep != nil {
		return rep
	}
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	o := c.renderUser(u, sel, exp)
	return okReply(o.prepend("@odata.context", c.context(selectContext("users", sel)+"/$entity")))
}

// patchUser serves PATCH /users/{id}. Every property is validated before
// any is applied.
func (s *Server) patchUser(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	body, rep := decodeObject(c.body)
	if rep != nil {
		return rep
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	strProps := []string{"displayName", "givenName", "surname", "jobTitle", "department", "mobilePhone", "officeLocation",
		"usageLocation", "userPrincipalName", "onPremisesImmutableId", "passwordPolicies", "city", "country", "preferredLanguage",
		"companyName", "streetAddress", "postalCode", "state", "mail"}
	next := cloneUser(*u)
	var newPassword *string
	for _, k := range keys {
		v := body[k]
		if k == "@odata.type" {
			var typ string
			if json.Unmarshal(v, &typ) != nil || !strings.EqualFold(strings.TrimPrefix(typ, "#"), "microsoft.graph.user") {
				return badRequest("A type named '%s' could not be resolved by the model.", strings.Trim(string(v), `"`))
			}
			continue
		}
		known := slices.Contains(strProps, k) || k == "accountEnabled" || k == "passwordProfile" || k == "businessPhones"
		if !known {
			return badRequest("Invalid property '%s'.", k)
		}
		if u.OnPremisesSyncEnabled && slices.Contains(syncMasteredProps(), k) {
			return syncMasteredError()
		}
		switch k {
		case "accountEnabled":
			b, rep := rawBool(v, k, "User")
			if rep != nil {
				return rep
			}
			next.AccountEnabled = b
		case "businessPhones":
			var phones []string
			if json.Unmarshal(v, &phones) != nil || len(phones) > 1 {
				return invalidValue(k, "User")
			}
			next.BusinessPhones = nonNil(phones)
		case "passwordProfile":
			p, rep := parsePasswordProfile(v)
			if rep != nil {
				return rep
			}
			if p.password != nil {
				newPassword = p.password
			}
			next.ForceChangePasswordNextSignIn = p.force
			next.ForceChangePasswordNextSignInWithMFA = p.forceMFA
		default:
			str, null, rep := rawString(v, k, "User")
			if rep != nil {
				return rep
			}
			if rep := applyUserString(c.t, &next, k, str, null); rep != nil {
				return rep
			}
		}
	}
	if newPassword != nil {
		if !strings.Contains(next.PasswordPolicies, "DisableStrongPassword") && !passwordComplexityOK(*newPassword) {
			return badRequest("The specified password does not comply with password complexity requirements. Please provide a different password.")
		}
		if len(*newPassword) < 1 || len(*newPassword) > 256 {
			return badRequest("The specified password does not comply with password complexity requirements. Please provide a different password.")
		}
		next.Password = *newPassword
		next.LastPasswordChangeDateTime = c.now
	}
	*u = next
	return noContent()
}

// passwordProfile is a decoded passwordProfile value.
type passwordProfile struct {
	password *string
	force    bool
	forceMFA bool
}

// parsePasswordProfile decodes and type-checks a passwordProfile object.
func parsePasswordProfile(v json.RawMessage) (passwordProfile, *reply) {
	var out passwordProfile
	var m map[string]json.RawMessage
	if isNull(v) || json.Unmarshal(v, &m) != nil {
		return out, invalidValue("passwordProfile", "User")
	}
	for k, raw := range m {
		switch k {
		case "password":
			s, null, rep := rawString(raw, "password", "PasswordProfile")
			if rep != nil {
				return out, rep
			}
			if !null {
				out.password = &s
			}
		case "forceChangePasswordNextSignIn":
			b, rep := rawBool(raw, k, "PasswordProfile")
			if rep != nil {
				return out, rep
			}
			out.force = b
		case "forceChangePasswordNextSignInWithMfa":
			b, rep := rawBool(raw, k, "PasswordProfile")
			if rep != nil {
				return out, rep
			}
			out.forceMFA = b
		case "@odata.type":
		default:
			return out, badRequest("Invalid property '%s'.", k)
		}
	}
	return out, nil
}

// applyUserString validates and applies one string property to u.
func applyUserString(t *tenant, u *User, prop, v string, null bool) *reply {
	switch prop {
	case "displayName":
		if null || strings.TrimSpace(v) == "" || len(v) > 256 {
			return invalidValue(prop, "User")
		}
		u.DisplayName = v
	case "givenName":
		u.GivenName = v
	case "surname":
		u.Surname = v
	case "jobTitle":
		u.JobTitle = v
	case "department":
		u.Department = v
	case "mobilePhone":
		u.MobilePhone = v
	case "officeLocation":
		u.OfficeLocation = v
	case "city":
		u.City = v
	case "country":
		u.Country = v
	case "companyName":
		u.CompanyName = v
	case "streetAddress":
		u.StreetAddress = v
	case "postalCode":
		u.PostalCode = v
	case "state":
		u.State = v
	case "mail":
		return applyMail(t, u, v, null)
	case "preferredLanguage":
		u.PreferredLanguage = v
	case "usageLocation":
		if !null && (len(v) != 2 || strings.Trim(strings.ToUpper(v), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
			return invalidValue(prop, "User")
		}
		u.UsageLocation = strings.ToUpper(v)
	case "onPremisesImmutableId":
		u.OnPremisesImmutableID = v
	case "passwordPolicies":
		if null {
			u.PasswordPolicies = ""
			return nil
		}
		var out []string
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			switch strings.ToLower(p) {
			case "disablepasswordexpiration":
				out = append(out, "DisablePasswordExpiration")
			case "disablestrongpassword":
				out = append(out, "DisableStrongPassword")
			case "none":
				out = append(out, "None")
			default:
				return invalidValue(prop, "User")
			}
		}
		u.PasswordPolicies = strings.Join(out, ", ")
	case "userPrincipalName":
		at := strings.LastIndex(v, "@")
		if null || at <= 0 || at == len(v)-1 {
			return invalidValue(prop, "User")
		}
		if !t.hasDomain(v[at+1:]) {
			return badRequest("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
		}
		if other := t.findUser(v, true); other != nil && other.ID != u.ID {
			return badRequest("Another object with the same value for property userPrincipalName already exists.")
		}
		u.UserPrincipalName = v
	}
	return nil
}

// deleteUser serves DELETE /users/{id}: a soft delete.
func (s *Server) deleteUser(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	if u.OnPremisesSyncEnabled {
		return syncMasteredError()
	}
	u.Deleted = true
	u.DeletedDateTime = c.now
	return noContent()
}

// revokeSessions serves POST /users/{id}/revokeSignInSessions.
func (s *Server) revokeSessions(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	u.SignInSessionsValidFrom = c.now
	return okReply(obj{{"@odata.context", c.context("Edm.Boolean")}, {"value", true}})
}

// memberOf serves GET /users/{id}/memberOf.
func (s *Server) memberOf(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	known := append(groupProps(), "roleTemplateId")
	sel, rep := parseSelect(c, "directoryObject", known)
	if rep != nil {
		return rep
	}
	var items []obj
	for _, g := range c.t.groups {
		if slices.Contains(g.Members, u.ID) {
			items = append(items, groupObj(g).prepend("@odata.type", "#microsoft.graph.group"))
		}
	}
	for _, r := range c.t.roles {
		if slices.Contains(r.members, u.ID) {
			items = append(items, roleObj(r).prepend("@odata.type", "#microsoft.graph.directoryRole"))
		}
	}
	page, next, total, rep := c.queryCollection(items, collection{
		entity: "directoryObject", filterable: []string{"id", "displayName", "mailEnabled", "securityEnabled"},
		sortable: []string{"displayName"}, pageSize: 100, maxTop: 999,
	})
	if rep != nil {
		return rep
	}
	if sel != nil {
		for i := range page {
			page[i] = page[i].pick(sel)
		}
	}
	return c.listReply("directoryObjects", page, next, total)
}

// directReports serves GET /users/{id}/directReports.
func (s *Server) directReports(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	sel, rep := parseSelect(c, "user", userProps())
	if rep != nil {
		return rep
	}
	var items []obj
	for _, r := range c.t.users {
		if !r.Deleted && r.ManagerID == u.ID {
			items = append(items, c.directoryUser(r, sel))
		}
	}
	page, next, total, rep := c.queryCollection(items, usersCollection())
	if rep != nil {
		return rep
	}
	return c.listReply("directoryObjects", page, next, total)
}

// getManager serves GET /users/{id}/manager.
func (s *Server) getManager(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	sel, rep := parseSelect(c, "user", userProps())
	if rep != nil {
		return rep
	}
	m := c.t.findUser(u.ManagerID, false)
	if u.ManagerID == "" || m == nil {
		return notFound("manager")
	}
	return okReply(c.directoryUser(m, sel).prepend("@odata.context", c.context("directoryObjects/$entity")))
}

// setManager serves PUT /users/{id}/manager/$ref.
func (s *Server) setManager(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	id, rep := refTarget(c.body)
	if rep != nil {
		return rep
	}
	m := c.t.findUser(id, false)
	if m == nil || !strings.EqualFold(m.ID, id) {
		return notFound(id)
	}
	if m.ID == u.ID {
		return badRequest("A user cannot be their own manager.")
	}
	if u.OnPremisesSyncEnabled {
		return syncMasteredError()
	}
	u.ManagerID = m.ID
	return noContent()
}

// removeManager serves DELETE /users/{id}/manager/$ref.
func (s *Server) removeManager(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	if u.ManagerID == "" {
		return notFound("manager")
	}
	if u.OnPremisesSyncEnabled {
		return syncMasteredError()
	}
	u.ManagerID = ""
	return noContent()
}

// refTarget extracts the object id from an {"@odata.id": ".../{id}"}
// reference body.
func refTarget(body []byte) (string, *reply) {
	m, rep := decodeObject(body)
	if rep != nil {
		return "", rep
	}
	raw, ok := m["@odata.id"]
	if !ok {
		return "", badRequest("Invalid request body: the '@odata.id' property is required.")
	}
	var ref string
	if json.Unmarshal(raw, &ref) != nil || ref == "" {
		return "", badRequest("Invalid object identifier '%s'.", strings.Trim(string(raw), `"`))
	}
	segs := splitEscaped(strings.SplitN(ref, "?", 2)[0])
	id := ""
	if len(segs) >= 2 {
		switch strings.ToLower(segs[len(segs)-2]) {
		case "directoryobjects", "users", "groups":
			id = segs[len(segs)-1]
		}
	}
	if !isGUID(id) {
		return "", badRequest("Invalid object identifier '%s'.", ref)
	}
	return strings.ToLower(id), nil
}

// assignLicense serves POST /users/{id}/assignLicense.
func (s *Server) assignLicense(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	var body struct {
		AddLicenses *[]struct {
			SkuID         string   `json:"skuId"`
			DisabledPlans []string `json:"disabledPlans"`
		} `json:"addLicenses"`
		RemoveLicenses *[]string `json:"removeLicenses"`
	}
	if _, rep := decodeObject(c.body); rep != nil {
		return rep
	}
	if err := json.Unmarshal(c.body, &body); err != nil {
		return invalidPayload()
	}
	if body.AddLicenses == nil || body.RemoveLicenses == nil {
		return badRequest("Invalid request body: both 'addLicenses' and 'removeLicenses' are required.")
	}
	next := slices.Clone(u.Licenses)
	for _, id := range *body.RemoveLicenses {
		if c.t.sku(id) == nil {
			return badRequest("License %s does not correspond to a valid company License.", id)
		}
		i := slices.IndexFunc(next, func(s string) bool { return strings.EqualFold(s, id) })
		if i < 0 && len(c.t.licenseGroups(u, id)) > 0 {
			return badRequest(errInheritedLicense)
		}
		if i < 0 {
			return badRequest("User does not have a corresponding license.")
		}
		next = slices.Delete(next, i, i+1)
	}
	for _, a := range *body.AddLicenses {
		sku := c.t.sku(a.SkuID)
		if sku == nil {
			return badRequest("License %s does not correspond to a valid company License.", a.SkuID)
		}
		if u.UsageLocation == "" {
			return badRequest("License assignment cannot be done for user with invalid usage location.")
		}
		if containsFold(next, sku.SkuID) {
			continue
		}
		if len(c.t.licenseGroups(u, sku.SkuID)) > 0 {
			// Held through a group already: a direct assignment beside it
			// consumes no further licence.
			next = append(next, sku.SkuID)
			continue
		}
		if c.t.consumed(sku.SkuID) >= sku.Enabled {
			return badRequest("Subscription %s does not have any available licenses.", sku.SkuID)
		}
		next = append(next, sku.SkuID)
	}
	u.Licenses = next
	if u.MailboxType == "" && c.t.exchangeQuotaGB(u) > 0 {
		// Exchange Online provisions a mailbox for a newly licensed user,
		// with the user principal name as its address.
		c.t.provisionMailbox(u)
		mailEnable(u)
	}
	return okReply(c.shapeUser(c.t.userObj(u), nil).prepend("@odata.context", c.context("users/$entity")))
}

// licenseDetails serves GET /users/{id}/licenseDetails.
func (s *Server) licenseDetails(c *call) *reply {
	u, rep := c.lookupUser()
	if rep != nil {
		return rep
	}
	var items []obj
	for _, id := range c.t.effectiveLicenses(u) {
		part := ""
		if sku := c.t.sku(id); sku != nil {
			part = sku.SkuPartNumber
		}
		items = append(items, obj{{"id", stableGUID(c.t.id, u.ID, id)}, {"skuId", id}, {"skuPartNumber", part}, {"servicePlans", []any{}}})
	}
	return c.listReply("users('"+u.ID+"')/licenseDetails", items, "", len(items))
}
