package fakegraph

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// createUserStrings are the string properties POST /users accepts.
func createUserStrings() []string {
	return []string{"displayName", "givenName", "surname", "jobTitle", "department", "companyName", "mobilePhone", "officeLocation",
		"streetAddress", "city", "state", "postalCode", "country", "usageLocation", "userPrincipalName", "mailNickname", "mail",
		"onPremisesImmutableId", "passwordPolicies", "preferredLanguage"}
}

// requiredProperty is the directory's answer for a required property
// that is missing or empty.
func requiredProperty(prop string) *reply {
	return badRequest("Property %s value is required but is empty or missing.", prop)
}

// mailNicknameOK reports whether s is a valid mail alias: 1 to 64
// characters, none of them a space or one of @()\[]";:<>,.
func mailNicknameOK(s string) bool {
	return s != "" && len(s) <= 64 && !strings.ContainsAny(s, " \t@()\\[]\";:<>,") && !strings.HasPrefix(s, ".") && !strings.HasSuffix(s, ".")
}

// createUser serves POST /users. Every property is validated before the
// user is added; the new user has no licence and so no mailbox (and no
// mail address unless the body gives one) until assignLicense grants
// Exchange Online.
func (s *Server) createUser(c *call) *reply {
	body, rep := decodeObject(c.body)
	if rep != nil {
		return rep
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	u := User{
		ID:              newGUID(),
		UserType:        "Member",
		PerUserMFAState: "disabled",
		BusinessPhones:  []string{},
		ProxyAddresses:  []string{},
		CreatedDateTime: c.now,
		exoKnownAt:      c.now.Add(s.exchangeSyncDelay()),
	}
	var password *string
	has := map[string]bool{}
	for _, k := range keys {
		v := body[k]
		switch {
		case k == "@odata.type":
			var typ string
			if json.Unmarshal(v, &typ) != nil || !strings.EqualFold(strings.TrimPrefix(typ, "#"), "microsoft.graph.user") {
				return badRequest("A type named '%s' could not be resolved by the model.", strings.Trim(string(v), `"`))
			}
			continue
		case k == "accountEnabled":
			b, rep := rawBool(v, k, "User")
			if rep != nil {
				return rep
			}
			u.AccountEnabled = b
		case k == "businessPhones":
			var phones []string
			if json.Unmarshal(v, &phones) != nil || len(phones) > 1 {
				return invalidValue(k, "User")
			}
			u.BusinessPhones = nonNil(phones)
		case k == "passwordProfile":
			p, rep := parsePasswordProfile(v)
			if rep != nil {
				return rep
			}
			password = p.password
			u.ForceChangePasswordNextSignIn = p.force
			u.ForceChangePasswordNextSignInWithMFA = p.forceMFA
		case k == "userType":
			str, null, rep := rawString(v, k, "User")
			if rep != nil {
				return rep
			}
			if typ, ok := enumValue(str, "Member", "Guest"); ok && !null {
				u.UserType = typ
				break
			}
			return invalidValue(k, "User")
		case slices.Contains(createUserStrings(), k):
			str, null, rep := rawString(v, k, "User")
			if rep != nil {
				return rep
			}
			if null || str == "" {
				continue
			}
			if rep := c.createUserString(&u, k, str); rep != nil {
				return rep
			}
		default:
			return badRequest("Invalid property '%s'.", k)
		}
		has[k] = true
	}
	switch {
	case !has["accountEnabled"]:
		return requiredProperty("accountEnabled")
	case !has["displayName"]:
		return requiredProperty("displayName")
	case !has["mailNickname"]:
		return requiredProperty("mailNickname")
	case !has["userPrincipalName"]:
		return requiredProperty("userPrincipalName")
	case !has["passwordProfile"]:
		return requiredProperty("passwordProfile")
	case password == nil || *password == "":
		return requiredProperty("passwordProfile.password")
	}
	if !strings.Contains(u.PasswordPolicies, "DisableStrongPassword") && !passwordComplexityOK(*password) || len(*password) > 256 {
		return badRequest("The specified password does not comply with password complexity requirements. Please provide a different password.")
	}
	u.Password = *password
	u.LastPasswordChangeDateTime = c.now
	u.SignInSessionsValidFrom = c.now
	c.t.users = append(c.t.users, &u)
	return &reply{
		status: http.StatusCreated,
		header: http.Header{"Location": {graphHost + "v2/" + c.t.id + "/directoryObjects/" + u.ID + "/Microsoft.DirectoryServices.User"}},
		body:   c.shapeUser(c.t.userObj(&u), nil).prepend("@odata.context", c.context("users/$entity")),
	}
}

// createUserString validates and applies one string property of a new
// user.
func (c *call) createUserString(u *User, prop, v string) *reply {
	switch prop {
	case "mailNickname":
		if !mailNicknameOK(v) {
			return invalidValue(prop, "User")
		}
		for _, other := range c.t.users {
			if !other.Deleted && strings.EqualFold(other.MailNickname, v) {
				return badRequest("Another object with the same value for property mailNickname already exists.")
			}
		}
		u.MailNickname = v
		return nil
	case "userPrincipalName":
		// A soft-deleted user does not hold its name: restoring it
		// later fails instead.
		local, domain, _ := strings.Cut(v, "@")
		if local == "" || domain == "" || strings.ContainsAny(local, " \t()\\[]\";:<>,") || strings.Count(v, "@") != 1 {
			return invalidValue(prop, "User")
		}
		if !c.t.hasDomain(domain) {
			return badRequest("The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
		}
		if other := c.t.findUser(v, false); other != nil {
			return badRequest("Another object with the same value for property userPrincipalName already exists.")
		}
		if c.t.addressOwner(v) != nil {
			return badRequest("Another object with the same value for property proxyAddresses already exists.")
		}
		u.UserPrincipalName = v
		return nil
	}
	return applyUserString(c.t, u, prop, v, false)
}

// addressOwner returns the user that is not deleted and holds addr as
// its mail, user principal name or one of its proxy addresses.
func (t *tenant) addressOwner(addr string) *User {
	for _, u := range t.users {
		if u.Deleted {
			continue
		}
		if strings.EqualFold(u.Mail, addr) || strings.EqualFold(u.UserPrincipalName, addr) {
			return u
		}
		for _, p := range u.ProxyAddresses {
			if _, a, ok := strings.Cut(p, ":"); ok && strings.EqualFold(a, addr) {
				return u
			}
		}
	}
	return nil
}

// setPrimaryAddress makes addr the user's mail and primary SMTP proxy
// address the way Exchange does for a cloud mailbox: the old primary
// stays as a secondary ("smtp:") address, and addr, if it was a
// secondary one, is promoted.
func setPrimaryAddress(u *User, addr string) {
	out := []string{"SMTP:" + addr}
	for _, p := range u.ProxyAddresses {
		kind, a, ok := strings.Cut(p, ":")
		switch {
		case !ok:
			out = append(out, p)
		case strings.EqualFold(kind, "smtp") && strings.EqualFold(a, addr):
			// Promoted above.
		case kind == "SMTP":
			out = append(out, "smtp:"+a)
		default:
			out = append(out, p)
		}
	}
	u.Mail = addr
	u.ProxyAddresses = out
}

// applyMail validates and applies a new mail address (PATCH
// {"mail": ...}); null clears it for a user without a mailbox.
func applyMail(t *tenant, u *User, v string, null bool) *reply {
	if null || v == "" {
		if u.MailboxType != "" {
			return invalidValue("mail", "User")
		}
		u.Mail = ""
		for i, p := range u.ProxyAddresses {
			if kind, a, ok := strings.Cut(p, ":"); ok && kind == "SMTP" {
				u.ProxyAddresses[i] = "smtp:" + a
			}
		}
		return nil
	}
	addr, ok := normalizeSMTP(v)
	if !ok {
		return invalidValue("mail", "User")
	}
	addr = strings.TrimPrefix(addr, "smtp:")
	at := strings.LastIndex(addr, "@")
	if !t.hasDomain(addr[at+1:]) {
		return badRequest("The domain portion of the mail property is invalid. You must use one of the verified domain names in your organization.")
	}
	if other := t.addressOwner(addr); other != nil && other.ID != u.ID {
		return badRequest("Another object with the same value for property proxyAddresses already exists.")
	}
	setPrimaryAddress(u, addr)
	return nil
}

// mailEnable gives a user that has just got a mailbox the mail address
// and primary proxy address Exchange assigns: its user principal name.
func mailEnable(u *User) {
	if u.Mail == "" {
		setPrimaryAddress(u, u.UserPrincipalName)
		return
	}
	if !slices.ContainsFunc(u.ProxyAddresses, func(p string) bool { return strings.HasPrefix(p, "SMTP:") }) {
		setPrimaryAddress(u, u.Mail)
	}
}
