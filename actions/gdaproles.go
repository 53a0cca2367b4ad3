package actions

import (
	"slices"
	"strings"
)

// In delegated (GDAP) mode cippbot acts as the partner service account,
// which holds in each customer tenant only the Microsoft Entra roles the
// GDAP relationship's access assignments give its security groups. What
// an action needs is then the role Microsoft lists for a signed-in admin,
// which is not always the one app-only access needs: the least privileged
// role for each task comes from "Least privileged roles by task in
// Microsoft Entra ID"
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/delegate-by-task),
// its sections Users, Groups, Licensing and Authentication methods; the
// Exchange ones from "Microsoft Entra roles in Exchange Online"
// (https://learn.microsoft.com/en-us/exchange/permissions-exo/permissions-exo#microsoft-entra-roles-in-exchange-online);
// the roles that carry a permission from the permissions reference
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference).

// Microsoft Entra built-in roles the delegated table names besides those
// of approles.go.
const (
	RoleDirectoryReaders = "Directory Readers"
	RoleHelpdeskAdmin    = "Helpdesk Administrator"
	RolePasswordAdmin    = "Password Administrator"
	RoleAuthAdmin        = "Authentication Administrator"
	RoleLicenseAdmin     = "License Administrator"
	RoleGroupsAdmin      = "Groups Administrator"
	RoleSharePointAdmin  = "SharePoint Administrator"
	RoleGlobalReader     = "Global Reader"
	RoleSecurityAdmin    = "Security Administrator"
	RoleSecurityReader   = "Security Reader"
	RoleCloudAppAdmin    = "Cloud Application Administrator"
	RoleAppAdmin         = "Application Administrator"
	RolePrivRoleAdmin    = "Privileged Role Administrator"
)

// roleTemplateIDs maps the built-in roles cippbot knows to their
// template ids, the roleDefinitionId GDAP's access assignments carry.
// They are fixed across tenants (permissions-reference).
var roleTemplateIDs = map[string]string{
	RoleGlobalAdmin:                       "62e90394-69f5-4237-9190-012177145e10",
	RoleUserAdmin:                         "fe930be7-5e62-47db-91af-98c3a49a38b1",
	RoleHelpdeskAdmin:                     "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	RolePasswordAdmin:                     "966707d0-3269-4727-9be2-8c3a10f19b9d",
	RoleAuthAdmin:                         "c4e39bd9-1100-46d3-8c65-fb160da0071f",
	RolePrivAuthAdmin:                     "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	RoleExchangeAdmin:                     "29232cdf-9323-42fd-ade2-1d097af3e4de",
	roleExchangeRecipient:                 "31392ffb-586c-42d1-9346-e59415a2cc4e",
	RoleLicenseAdmin:                      "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
	RoleGroupsAdmin:                       "fdd7a751-b60b-444a-984c-02652fe8fa1c",
	RoleSharePointAdmin:                   "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
	RoleGlobalReader:                      "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
	RoleSecurityAdmin:                     "194ae4cb-b126-40b2-bd5b-6091b380977d",
	RoleSecurityReader:                    "5d6b6bb7-de71-4623-b4af-96380a352509",
	RoleCloudAppAdmin:                     "158c047a-c907-4556-b7ef-446551a6b5f7",
	RoleAppAdmin:                          "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
	RolePrivRoleAdmin:                     "e8611ab8-c189-46e8-94e1-60213ab1f814",
	RoleDirectoryReaders:                  "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
	"Intune Administrator":                "3a2c62db-5318-420d-8d74-23affee5d9d5",
	"Teams Administrator":                 "69091246-20e8-4a56-aa4d-066075b2a7a8",
	"Compliance Administrator":            "17315797-102d-40b4-93e0-432062caca18",
	"Conditional Access Administrator":    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
	"Authentication Policy Administrator": "0526716b-113d-4c15-b2c8-68e3c22b9f80",
	"Hybrid Identity Administrator":       "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
	"Billing Administrator":               "b0f54661-2d74-4c50-afa3-1ec803f12efe",
}

// RoleName returns the display name of the built-in role with the given
// template id, or the id itself for a role cippbot does not know.
func RoleName(templateID string) string {
	for name, id := range roleTemplateIDs {
		if strings.EqualFold(id, templateID) {
			return name
		}
	}
	return templateID
}

// gdapRoles lists, per action, the roles the service account needs in
// delegated mode, each the least privileged one for the task (every one
// needed); gdapAlternatives the roles that do as well.
var gdapRoles = map[string][]string{
	// Reading users: every admin role reads the directory
	// (microsoft.directory/users/standard/read).
	"user": {RoleDirectoryReaders},
	// Sign-in logs and mailbox rules: Global Reader reads both
	// (Entra: "Read all configuration"; Exchange: View-Only Organization
	// Management).
	"research-compromise": {RoleGlobalReader},
	// Users: "Create, delete, restore users", "Update user properties",
	// "Block sign-in": User Administrator.
	"edit-user":              {RoleUserAdmin},
	"delete-user":            {RoleUserAdmin},
	"restore-user":           {RoleUserAdmin},
	"block-signin":           {RoleUserAdmin},
	"unblock-signin":         {RoleUserAdmin},
	"add-user":               {RoleUserAdmin},
	"bulk-add":               {RoleUserAdmin},
	"clear-immutable-id":     {RoleUserAdmin},
	"password-never-expires": {RoleUserAdmin},
	// "Reset password for non-administrators": Password Administrator.
	"reset-password": {RolePasswordAdmin},
	// microsoft.directory/users/invalidateAllRefreshTokens: Helpdesk
	// Administrator is the least privileged role holding it.
	"revoke-sessions": {RoleHelpdeskAdmin},
	// Authentication methods of non-administrators: Authentication
	// Administrator.
	"create-tap": {RoleAuthAdmin},
	"reset-mfa":  {RoleAuthAdmin},
	"set-mfa":    {RoleAuthAdmin},
	// The MFA push creates the notification app's service principal and
	// a short-lived secret on it: Cloud Application Administrator
	// ("Applications": "Create and manage enterprise applications").
	"send-mfa-push": {RoleCloudAppAdmin},
	// Groups: "Manage group membership": Groups Administrator.
	"add-to-group":      {RoleGroupsAdmin},
	"remove-from-group": {RoleGroupsAdmin},
	// Licensing: "Assign and remove licenses": License Administrator.
	"add-license":    {RoleLicenseAdmin},
	"remove-license": {RoleLicenseAdmin},
	// Mailbox settings: Exchange Administrator (Organization
	// Management), as app-only.
	"convert-mailbox":    {RoleExchangeAdmin},
	"enable-archive":     {RoleExchangeAdmin},
	"set-ooo":            {RoleExchangeAdmin},
	"disable-ooo":        {RoleExchangeAdmin},
	"disable-forwarding": {RoleExchangeAdmin},
	"remove-inbox-rules": {RoleExchangeAdmin},
	// Offboarding resets the password, changes the user, its mailbox and
	// removes its authentication methods.
	"offboard": {RoleUserAdmin, RoleExchangeAdmin, RoleAuthAdmin},
	// OneDrive: a SharePoint administrator (Request-SPOPersonalSite;
	// writing in another user's drive).
	"provision-onedrive": {RoleSharePointAdmin},
	"onedrive-shortcut":  {RoleSharePointAdmin},
}

// gdapTargetRoles lists, per action, what a target may need in delegated
// mode beyond the action's GDAPRoles. A synced user's password is reset
// through authenticationMethod: resetPassword (with writeback), which a
// signed-in admin may call on another user only as a Global, Privileged
// Authentication or Authentication Administrator (the method's page,
// https://learn.microsoft.com/en-us/graph/api/authenticationmethod-resetpassword,
// "Permissions"); Password Administrator, enough for a cloud user's
// password, is not.
var gdapTargetRoles = map[string]func(User) []string{
	"reset-password": func(u User) []string {
		if u.Synced {
			return []string{RoleAuthAdmin}
		}
		return nil
	},
}

// MissingGDAPTargetRoles returns the roles that changing u with a needs in
// delegated mode, beyond MissingGDAPRoles's, that held does not satisfy.
func MissingGDAPTargetRoles(held []string, a *Action, u User) []string {
	if f := gdapTargetRoles[a.Name]; f != nil {
		return missingGDAP(held, f(u))
	}
	return nil
}

// GDAPTargetRefusal is the answer, before anyone is asked to approve, to a
// request whose target u needs roles the service account lacks in tenant
// (MissingGDAPTargetRoles).
func GDAPTargetRefusal(a *Action, u User, tenant string, missing []string) error {
	why := ""
	if u.Synced {
		why = " (it is synced from on-premises AD, so its new password is written back)"
	}
	return Errorf(EFORBIDDEN, "%s of %s%s needs %s in %s, which cippbot's GDAP relationship with it does not give the service account's security groups: add it to an access assignment in Partner Center (cippbot reads them at each tenant sync)",
		a.Name, u.UPN, why, RoleList(missing), tenant)
}

// gdapAlternatives lists, for a role the delegated table names, the
// roles that do as well for what cippbot does with it (each role's
// "Other roles" in delegate-by-task, and roles that include its
// permissions). Global Administrator does everything.
var gdapAlternatives = map[string][]string{
	RolePasswordAdmin:   {RoleHelpdeskAdmin, RoleUserAdmin, RoleAuthAdmin, RolePrivAuthAdmin},
	RoleHelpdeskAdmin:   {RoleAuthAdmin, RolePrivAuthAdmin, RoleUserAdmin},
	RoleAuthAdmin:       {RolePrivAuthAdmin},
	RoleUserAdmin:       nil,
	RoleGroupsAdmin:     {RoleUserAdmin},
	RoleLicenseAdmin:    {RoleUserAdmin},
	RoleExchangeAdmin:   {roleExchangeRecipient},
	RoleGlobalReader:    {RoleSecurityReader, RoleSecurityAdmin},
	RoleCloudAppAdmin:   {RoleAppAdmin},
	RolePrivAuthAdmin:   nil,
	RoleSharePointAdmin: nil,
}

// delegatedPermissions maps the application permissions actions declare
// to the delegated permission a delegated token's scp carries instead,
// where the name differs: Exchange Online's Exchange.ManageAsApp is, for
// a signed-in admin, Exchange.Manage ("Manage Exchange As Signed-In
// User", the Exchange Online scope CIPP's SAM app asks for).
var delegatedPermissions = map[string]string{
	"Exchange.ManageAsApp": "Exchange.Manage",
}

// GDAPPermissions returns a's Permissions as delegated permissions.
func GDAPPermissions(a *Action) []string {
	out := make([]string, 0, len(a.Permissions))
	for _, p := range a.Permissions {
		if d, ok := delegatedPermissions[p]; ok {
			p = d
		}
		out = append(out, p)
	}
	return out
}

// GDAPRoles returns the roles the service account needs for a in
// delegated mode; nil when the table does not name the action, which
// then falls back to its app-only Roles.
func GDAPRoles(a *Action) []string {
	if r, ok := gdapRoles[a.Name]; ok {
		return r
	}
	return a.Roles
}

// gdapRoleHeld reports whether held (role names) satisfies role in
// delegated mode. Directory Readers stands for reading the directory,
// which every role held does.
func gdapRoleHeld(held []string, role string) bool {
	has := func(r string) bool {
		return slices.ContainsFunc(held, func(h string) bool { return strings.EqualFold(h, r) })
	}
	if has(RoleGlobalAdmin) || has(role) {
		return true
	}
	if role == RoleDirectoryReaders {
		return len(held) > 0
	}
	return slices.ContainsFunc(gdapAlternatives[role], has)
}

// MissingGDAPRoles returns the roles a needs in delegated mode that held
// (the service account's roles in the tenant) does not satisfy.
func MissingGDAPRoles(held []string, a *Action) []string {
	return missingGDAP(held, GDAPRoles(a))
}

// missingGDAP returns the roles of need that held does not satisfy in
// delegated mode.
func missingGDAP(held, need []string) []string {
	var out []string
	for _, r := range need {
		if !gdapRoleHeld(held, r) {
			out = append(out, r)
		}
	}
	return out
}

// GDAPRefusal is the answer, before anyone is asked to approve, to a
// request whose tenant's GDAP relationship does not give the service
// account the roles missing.
func GDAPRefusal(a *Action, tenant string, missing []string) error {
	return Errorf(EFORBIDDEN, "%s needs %s in %s, which cippbot's GDAP relationship with it does not give the service account's security groups: add it to an access assignment in Partner Center (cippbot reads them at each tenant sync)",
		a.Name, RoleList(missing), tenant)
}
