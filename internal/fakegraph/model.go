package fakegraph

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Authentication method kinds used in AuthMethod.Type.
const (
	// AuthMethodAuthenticator is a Microsoft Authenticator registration.
	AuthMethodAuthenticator = "microsoftAuthenticator"
	// AuthMethodPhone is a phone number registered for SMS or voice.
	AuthMethodPhone = "phone"
)

// Mailbox kinds used in User.MailboxType, as Exchange names them in
// RecipientTypeDetails.
const (
	// MailboxUser is a regular user mailbox.
	MailboxUser = "UserMailbox"
	// MailboxShared is a shared mailbox.
	MailboxShared = "SharedMailbox"
)

// Auto-reply states used in User.AutoReplyState.
const (
	AutoReplyDisabled  = "Disabled"
	AutoReplyEnabled   = "Enabled"
	AutoReplyScheduled = "Scheduled"
)

// passwordMethodID is the fixed id Graph gives every password method.
const passwordMethodID = "28c10230-6103-485e-b985-444c60001490"

// User is the state of one directory user. The server hands out copies
// (see Server.User) and accepts it as seed data (see TenantSeed).
type User struct {
	// ID is the object id, a lowercase GUID.
	ID string
	// UserPrincipalName is the sign-in name; lookups ignore its case.
	UserPrincipalName string
	// DisplayName, GivenName, Surname, JobTitle, Department,
	// OfficeLocation, MobilePhone, BusinessPhones, City, Country,
	// UsageLocation and PreferredLanguage mirror the Graph properties of
	// the same names.
	DisplayName string
	GivenName   string
	Surname     string
	// Mail defaults to UserPrincipalName when seeded empty.
	Mail string
	// MailNickname defaults to the part of UserPrincipalName before '@'.
	MailNickname      string
	JobTitle          string
	Department        string
	OfficeLocation    string
	MobilePhone       string
	BusinessPhones    []string
	City              string
	Country           string
	UsageLocation     string
	PreferredLanguage string
	// CompanyName, StreetAddress, PostalCode and State mirror the Graph
	// properties of the same names.
	CompanyName   string
	StreetAddress string
	PostalCode    string
	State         string
	// AccountEnabled is false for a blocked account.
	AccountEnabled bool
	// UserType defaults to "Member".
	UserType string

	// OnPremisesSyncEnabled marks a user mastered in on-premises Active
	// Directory; Graph then refuses to change most of its properties.
	OnPremisesSyncEnabled bool
	// OnPremisesImmutableID is the source anchor, "" (null) if none.
	OnPremisesImmutableID      string
	OnPremisesLastSyncDateTime time.Time

	// PasswordPolicies is "" (null in Graph) or a comma separated list
	// such as "DisablePasswordExpiration".
	PasswordPolicies string
	// Password is the current password; a random one is chosen at seed
	// time when it is empty. Graph never returns it.
	Password string
	// ForceChangePasswordNextSignIn and
	// ForceChangePasswordNextSignInWithMFA come from the last
	// passwordProfile written.
	ForceChangePasswordNextSignIn        bool
	ForceChangePasswordNextSignInWithMFA bool
	// LastPasswordChangeDateTime is set by every password change.
	LastPasswordChangeDateTime time.Time
	// PasswordChangedAgo, in seed data whose LastPasswordChangeDateTime
	// is zero, places the last password change this long before the
	// server's clock when the tenant is added.
	PasswordChangedAgo time.Duration
	// CreatedDateTime is when the user was created.
	CreatedDateTime time.Time
	// SignInSessionsValidFrom is moved to now by revokeSignInSessions.
	SignInSessionsValidFrom time.Time

	// ManagerID is the id of the user's manager, "" if none.
	ManagerID string
	// Licenses holds the assigned SKU ids.
	Licenses []string
	// ProxyAddresses defaults to ["SMTP:" + Mail].
	ProxyAddresses []string
	// Groups holds the ids of the groups the user is a direct member of.
	// In a snapshot it is computed; in seed data it adds memberships.
	Groups []string
	// Roles holds the display names of the user's directory roles. In
	// seed data (display names or template ids) each becomes a role
	// assignment at the tenant scope and an activated directory role the
	// user is a member of. A snapshot lists every role that makes the
	// user privileged, each once: those assigned to the user, then those
	// held through role-assignable groups, then those the user is
	// eligible for (which EligibleRoles lists apart).
	Roles []string
	// EligibleRoles holds the display names of the roles the user is
	// eligible for through Privileged Identity Management (see
	// roleEligibilityScheduleInstances); seed data may give template ids.
	// A snapshot includes the eligibilities of the user's groups, whose
	// members may activate them.
	EligibleRoles []string

	// AuthMethods holds the registered strong methods; the password
	// method is implicit and the temporary access pass is kept in the
	// TAP fields.
	AuthMethods []AuthMethod

	// TAP is the current temporary access pass, "" if none.
	TAP string
	// TAPID, TAPLifetimeMinutes, TAPUsableOnce, TAPStartDateTime and
	// TAPCreatedDateTime describe the current pass.
	TAPID              string
	TAPLifetimeMinutes int
	TAPUsableOnce      bool
	TAPStartDateTime   time.Time
	TAPCreatedDateTime time.Time

	// PerUserMFAState is "disabled", "enabled" or "enforced".
	PerUserMFAState string

	// MailboxType is the user's Exchange Online mailbox: MailboxUser,
	// MailboxShared, or "" for none. Seeded empty, it becomes MailboxUser
	// when one of the user's licenses includes Exchange Online (and
	// assigning such a license later provisions one); unlicensed users
	// have none unless the seed says otherwise.
	MailboxType string
	// MailboxSizeGB is the size of the mailbox's items in Exchange's
	// (binary) gigabytes; a seeded mailbox of size 0 gets a plausible
	// size derived from the user id.
	MailboxSizeGB float64
	// ArchiveEnabled and AutoExpandingArchive describe the online
	// archive; the second needs the first.
	ArchiveEnabled       bool
	AutoExpandingArchive bool
	// ForwardingSMTPAddress is where mail is forwarded, in Exchange's
	// "smtp:user@example.com" form ("" for none; a seeded bare address
	// gets the prefix). ForwardingAddress is the primary SMTP address of
	// an internal recipient mail is forwarded to ("" for none).
	// DeliverToMailboxAndForward keeps a copy in the mailbox.
	ForwardingSMTPAddress      string
	ForwardingAddress          string
	DeliverToMailboxAndForward bool
	// AutoReplyState is AutoReplyDisabled (the default for a mailbox),
	// AutoReplyEnabled or AutoReplyScheduled; the Scheduled window is
	// AutoReplyStart to AutoReplyEnd. ExternalAudience is "None",
	// "Known" or "All" (the default).
	AutoReplyState   string
	InternalMessage  string
	ExternalMessage  string
	ExternalAudience string
	AutoReplyStart   time.Time
	AutoReplyEnd     time.Time
	// HiddenFromAddressLists hides the mailbox from the global address
	// list (HiddenFromAddressListsEnabled).
	HiddenFromAddressLists bool
	// TimeZone is the time zone of the mailbox's regional configuration,
	// a Windows time zone name such as "W. Europe Standard Time" ("" for
	// a mailbox whose owner never chose one); Get-MailboxRegionalConfiguration
	// shows it.
	TimeZone string
	// InboxRules are the mailbox's inbox rules, in the order Graph lists
	// them; MailFolders are the folders the user created (the
	// well-known ones always exist). Both need a mailbox; see InboxRule
	// and MailFolder for the defaults seed data gets.
	InboxRules  []InboxRule
	MailFolders []MailFolder

	// exoKnownAt is when Exchange Online learns of a user created through
	// Graph (see exo_sync.go); zero for seeded users.
	exoKnownAt time.Time

	// Deleted marks a soft-deleted user, which Graph reports as missing
	// except under /directory/deletedItems.
	Deleted bool
	// DeletedDateTime is when the user was soft-deleted.
	DeletedDateTime time.Time
}

// AuthMethod is one registered authentication method of a user.
type AuthMethod struct {
	// ID is the method id; phone methods get Graph's fixed per-type ids.
	ID string
	// Type is AuthMethodAuthenticator or AuthMethodPhone.
	Type string
	// DisplayName, DeviceTag and PhoneAppVersion describe an
	// Authenticator registration.
	DisplayName     string
	DeviceTag       string
	PhoneAppVersion string
	// PhoneNumber is a phone method's number, e.g. "+1 4255550100".
	PhoneNumber string
	// PhoneType is "mobile", "alternateMobile" or "office".
	PhoneType string
	// CreatedDateTime is when the method was registered.
	CreatedDateTime time.Time
	// CreatedAgo, in seed data whose CreatedDateTime is zero, places the
	// registration this long before the server's clock when the tenant
	// is added.
	CreatedAgo time.Duration
}

// Group is the state of one directory group.
type Group struct {
	// ID is the object id, a lowercase GUID.
	ID string
	// DisplayName, Description, Mail, MailNickname and Visibility mirror
	// the Graph properties of the same names.
	DisplayName  string
	Description  string
	Mail         string
	MailNickname string
	// GroupTypes is ["Unified"] for Microsoft 365 groups and empty for
	// security groups and distribution lists.
	GroupTypes []string
	// MailEnabled and not Unified means the membership is managed in
	// Exchange, so Graph refuses to change it.
	MailEnabled bool
	// SecurityEnabled marks a group usable for access control.
	SecurityEnabled bool
	Visibility      string
	// CreatedDateTime is when the group was created.
	CreatedDateTime time.Time
	// Members holds the ids of the direct member users.
	Members []string
	// Licenses are the SKU ids assigned to the group: group-based
	// licensing gives them to each direct member (see licensing.go).
	Licenses []string
	// MemberGroups holds the ids of the groups that are direct members
	// of this one; seed data may name them by id or display name.
	MemberGroups []string
	// IsAssignableToRole marks a role-assignable group, which may hold
	// directory roles (Roles, EligibleRoles). It needs SecurityEnabled
	// and static membership, and such a group cannot contain groups.
	IsAssignableToRole bool
	// Roles holds the display names of the directory roles assigned to
	// the group (seed data may give template ids); only a role-assignable
	// group may hold any. In a snapshot it is computed.
	Roles []string
	// EligibleRoles holds the display names of the roles the group is
	// eligible for through Privileged Identity Management; likewise only
	// for a role-assignable group.
	EligibleRoles []string
}

// unified reports whether g is a Microsoft 365 group.
func (g *Group) unified() bool {
	return containsFold(g.GroupTypes, "Unified")
}

// SKU is one subscription of a tenant.
type SKU struct {
	// SkuID is the product GUID.
	SkuID string
	// SkuPartNumber is the product code, e.g. "ENTERPRISEPACK".
	SkuPartNumber string
	// Enabled is the number of prepaid units.
	Enabled int
}

// TenantSeed describes a tenant to add with Server.AddTenant.
type TenantSeed struct {
	// ID is the tenant id, a GUID.
	ID string
	// DisplayName is the organization name.
	DisplayName string
	// Domains lists the verified domains; the first is the default one
	// and a name ending in ".onmicrosoft.com" is the initial one.
	Domains []string
	// Users, Groups and SKUs are the directory contents; see User for
	// the defaults applied to empty fields.
	Users  []User
	Groups []Group
	SKUs   []SKU
	// Created is the tenant's creation time; seeded sign-ins are placed
	// relative to the server's clock, not to this.
	Created time.Time
	// Relationships are the GDAP relationships this tenant holds as a
	// partner (see PartnerSeed); customers need none.
	Relationships []Relationship
	// Permissions are the application permissions consented for the app
	// in this tenant, e.g. "User.Read.All" for Graph or
	// "Exchange.ManageAsApp" for Exchange Online. nil means
	// DefaultPermissions(); an empty, non-nil slice means none. They
	// decide what Graph and InvokeCommand allow (see the package
	// documentation) and are carried in the roles claim of issued
	// tokens, each resource's in its own tokens.
	Permissions []string
	// SignIns are sign-in log entries added to the generated history,
	// placed relative to the server's clock.
	SignIns []SignInSeed
	// ServicePrincipals are the tenant's enterprise applications; nil
	// means DefaultServicePrincipals(), an empty, non-nil slice none.
	ServicePrincipals []ServicePrincipal
	// AppRoles are the directory roles (display names or template ids)
	// assigned to the app's own service principal, which app-only
	// requests are judged by (see approles.go); nil means
	// DefaultAppRoles(), an empty, non-nil slice none.
	AppRoles []string
	// ConditionalAccessPolicies are the tenant's Conditional Access
	// policies (see ConditionalAccessPolicy for the defaults).
	ConditionalAccessPolicies []ConditionalAccessPolicy
	// TokenError makes the token endpoint refuse this tenant with a
	// Microsoft Entra error, given as its AADSTS code ("7000229" or
	// "AADSTS7000229"); "" means tokens are issued. See SetTokenError
	// for the supported codes.
	TokenError string
}

// SignInSeed is a sign-in log entry to add to a tenant's generated
// history (TenantSeed.SignIns). Empty fields get the defaults noted.
type SignInSeed struct {
	// User is the id or user principal name of the user who signed in.
	User string
	// Ago places the sign-in this long before the server's clock when
	// the tenant is added.
	Ago time.Duration
	// App and AppID name the client application; they default to
	// "OfficeHome" (4765445b-32c6-49b0-83e6-1d93765276ca). Resource
	// defaults to "Office 365 Exchange Online".
	App, AppID, Resource string
	// IP, City, State and Country (a two-letter code) place the sign-in.
	IP, City, State, Country string
	// ClientApp defaults to "Browser"; OS and Browser describe the
	// device. Interactive marks an interactive sign-in.
	ClientApp, OS, Browser string
	Interactive            bool
	// ErrorCode is 0 for a success, e.g. 50126 for a wrong password;
	// FailureReason and Details explain it.
	ErrorCode              int
	FailureReason, Details string
	// Risk is riskLevelDuringSignIn and riskLevelAggregated ("low",
	// "medium", "high"; "" for "none"); RiskState (e.g. "atRisk"),
	// RiskDetail and RiskEventTypes (e.g. "unfamiliarFeatures") go
	// with it.
	Risk, RiskState, RiskDetail string
	RiskEventTypes              []string
}

// roleTemplate is a built-in directory role.
type roleTemplate struct {
	id          string
	description string
}

// roleTemplates returns the built-in roles that seed data may assign, by
// display name. Template ids and descriptions are those of
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
func roleTemplates() map[string]roleTemplate {
	return map[string]roleTemplate{
		"Global Administrator":                    {"62e90394-69f5-4237-9190-012177145e10", "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."},
		"User Administrator":                      {"fe930be7-5e62-47db-91af-98c3a49a38b1", "Can manage all aspects of users and groups, including resetting passwords for limited admins."},
		"Helpdesk Administrator":                  {"729827e3-9c14-49f7-bb1b-9608f156bbb8", "Can reset passwords for non-administrators and Helpdesk Administrators."},
		"Authentication Administrator":            {"c4e39bd9-1100-46d3-8c65-fb160da0071f", "Can access to view, set and reset authentication method information for any non-admin user."},
		"Privileged Authentication Administrator": {"7be44c8a-adaf-4e2a-84d6-ab2649e08a13", "Can access to view, set and reset authentication method information for any user (admin or non-admin)."},
		"Exchange Administrator":                  {"29232cdf-9323-42fd-ade2-1d097af3e4de", "Can manage all aspects of the Exchange product."},
		"Security Administrator":                  {"194ae4cb-b126-40b2-bd5b-6091b380977d", "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365."},
		"Global Reader":                           {"f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Can read everything that a Global Administrator can, but not update anything."},
		"License Administrator":                   {"4d6ac14f-3453-41d0-bef9-a3e0c569773a", "Can manage product licenses on users and groups."},
		"Privileged Role Administrator":           {"e8611ab8-c189-46e8-94e1-60213ab1f814", "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management."},
		"Conditional Access Administrator":        {"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Can manage Conditional Access capabilities."},
		"Application Administrator":               {"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Can create and manage all aspects of app registrations and enterprise apps."},
		"Cloud Application Administrator":         {"158c047a-c907-4556-b7ef-446551a6b5f7", "Can create and manage all aspects of app registrations and enterprise apps except App Proxy."},
		"Password Administrator":                  {"966707d0-3269-4727-9be2-8c3a10f19b9d", "Can reset passwords for non-administrators and Password Administrators."},
		"SharePoint Administrator":                {"f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "Can manage all aspects of the SharePoint service."},
		"Groups Administrator":                    {"fdd7a751-b60b-444a-984c-02652fe8fa1c", "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports."},
		"Intune Administrator":                    {"3a2c62db-5318-420d-8d74-23affee5d9d5", "Can manage all aspects of the Intune product."},
		"Hybrid Identity Administrator":           {"8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2", "Manage Active Directory to Microsoft Entra cloud provisioning, Microsoft Entra Connect, pass-through authentication (PTA), password hash synchronization (PHS), seamless single sign-on (seamless SSO), and federation settings. Does not have access to manage Microsoft Entra Connect Health."},
		"Teams Administrator":                     {"69091246-20e8-4a56-aa4d-066075b2a7a8", "Can manage the Microsoft Teams service."},
		"Billing Administrator":                   {"b0f54661-2d74-4c50-afa3-1ec803f12efe", "Can perform common billing related tasks like updating payment information."},
		"Authentication Policy Administrator":     {"0526716b-113d-4c15-b2c8-68e3c22b9f80", "Can create and manage the authentication methods policy, tenant-wide MFA settings, password protection policy, and verifiable credentials."},
		"Directory Readers":                       {"88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Can read basic directory information. Commonly used to grant directory read access to applications and guests."},
		"Security Reader":                         {"5d6b6bb7-de71-4623-b4af-96380a352509", "Can read security information and reports in Microsoft Entra ID and Office 365."},
		"Exchange Recipient Administrator":        {"31392ffb-586c-42d1-9346-e59415a2cc4e", "Can create or update Exchange Online recipients within the Exchange Online organization."},
		"Compliance Administrator":                {"17315797-102d-40b4-93e0-432062caca18", "Can read and manage compliance configuration and reports in Microsoft Entra ID and Microsoft 365."},
	}
}

// dirRole is an activated directory role.
type dirRole struct {
	id          string
	templateID  string
	displayName string
	description string
	members     []string
}

// domain is a verified domain of a tenant.
type domain struct {
	name      string
	isDefault bool
	isInitial bool
}

// signIn is one entry of the sign-in log.
type signIn struct {
	id            string
	created       time.Time
	userID        string
	userName      string
	upn           string
	app           string
	appID         string
	resource      string
	ip            string
	clientApp     string
	errorCode     int
	failureReason string
	details       string
	city          string
	state         string
	country       string
	os            string
	browser       string
	interactive   bool
	// risk is riskLevelDuringSignIn and riskLevelAggregated, "" for
	// "none"; riskState, riskDetail and riskEvents go with it.
	risk       string
	riskState  string
	riskDetail string
	riskEvents []string
}

// tenant is one simulated directory.
type tenant struct {
	id          string
	displayName string
	created     time.Time
	domains     []domain
	users       []*User
	groups      []*Group
	roles       []*dirRole
	skus        []SKU
	signIns     []signIn
	// relationships are the GDAP relationships held as a partner.
	relationships []*Relationship
	// permissions are the consented application permissions.
	permissions []string
	// tokenError is the AADSTS code the token endpoint answers with, 0
	// for none.
	tokenError int
	// issued counts the access tokens handed out for this tenant.
	issued int
	// servicePrincipals are the enterprise applications.
	servicePrincipals []*ServicePrincipal
	// push is the state of the legacy MFA notification service.
	push pushState
	// now is the server's clock, for rules that depend on time.
	now func() time.Time
	// mfa is what send-mfa-push meets besides the MFA client's secret.
	mfa mfaSetup
	// tapUsableOnce is the Temporary Access Pass methods policy's
	// isUsableOnce: every pass is one-time use.
	tapUsableOnce bool
	// assignments are the directory role assignments (unifiedRoleAssignment).
	assignments []*roleAssignment
	// eligibilities are the PIM role eligibilities.
	eligibilities []*roleEligibility
	// caPolicies are the Conditional Access policies.
	caPolicies []*ConditionalAccessPolicy
}

// buildTenant validates seed and turns it into a tenant. now places the
// generated sign-in history.
func buildTenant(seed TenantSeed, now time.Time) (*tenant, error) {
	if !isGUID(seed.ID) {
		return nil, fmt.Errorf("tenant: id %q is not a GUID", seed.ID)
	}
	if len(seed.Domains) == 0 {
		return nil, errors.New("tenant: no domains")
	}
	t := &tenant{
		id:          strings.ToLower(seed.ID),
		displayName: seed.DisplayName,
		created:     seed.Created,
		skus:        slices.Clone(seed.SKUs),
	}
	if t.created.IsZero() {
		t.created = time.Date(2019, 3, 4, 9, 0, 0, 0, time.UTC)
	}
	for i, d := range seed.Domains {
		t.domains = append(t.domains, domain{
			name:      strings.ToLower(d),
			isDefault: i == 0,
			isInitial: strings.HasSuffix(strings.ToLower(d), ".onmicrosoft.com"),
		})
	}
	type membership struct{ group, user, upn string }
	var pending []membership
	for i := range seed.Users {
		u := cloneUser(seed.Users[i])
		if !isGUID(u.ID) {
			return nil, fmt.Errorf("tenant: user %q: id %q is not a GUID", u.UserPrincipalName, u.ID)
		}
		at := strings.LastIndex(u.UserPrincipalName, "@")
		if at <= 0 || !t.hasDomain(u.UserPrincipalName[at+1:]) {
			return nil, fmt.Errorf("tenant: user %q: upn is not in a verified domain", u.UserPrincipalName)
		}
		if t.findUser(u.ID, true) != nil || t.findUser(u.UserPrincipalName, true) != nil {
			return nil, fmt.Errorf("tenant: user %q: duplicate id or upn", u.UserPrincipalName)
		}
		u.ID = strings.ToLower(u.ID)
		if u.Mail == "" {
			u.Mail = u.UserPrincipalName
		}
		if u.MailNickname == "" {
			u.MailNickname = u.UserPrincipalName[:at]
		}
		if len(u.ProxyAddresses) == 0 {
			u.ProxyAddresses = []string{"SMTP:" + u.Mail}
		}
		if u.UserType == "" {
			u.UserType = "Member"
		}
		if u.CreatedDateTime.IsZero() {
			u.CreatedDateTime = t.created.Add(time.Duration(i+1) * 24 * time.Hour)
		}
		if u.LastPasswordChangeDateTime.IsZero() && u.PasswordChangedAgo > 0 {
			u.LastPasswordChangeDateTime = now.Add(-u.PasswordChangedAgo).Truncate(time.Second)
		}
		if u.LastPasswordChangeDateTime.IsZero() {
			u.LastPasswordChangeDateTime = u.CreatedDateTime
		}
		if u.SignInSessionsValidFrom.IsZero() {
			u.SignInSessionsValidFrom = u.LastPasswordChangeDateTime
		}
		if u.Password == "" {
			u.Password = newPassword()
		}
		if u.PerUserMFAState == "" {
			u.PerUserMFAState = "disabled"
		}
		if u.BusinessPhones == nil {
			u.BusinessPhones = []string{}
		}
		for j := range u.AuthMethods {
			if typ := u.AuthMethods[j].Type; typ != AuthMethodAuthenticator && typ != AuthMethodPhone {
				return nil, fmt.Errorf("tenant: user %q: unknown authentication method type %q", u.UserPrincipalName, typ)
			}
			switch {
			case u.AuthMethods[j].ID != "":
			case u.AuthMethods[j].Type == AuthMethodPhone:
				u.AuthMethods[j].ID = phoneMethodID(u.AuthMethods[j].PhoneType)
			default:
				u.AuthMethods[j].ID = stableGUID(t.id, u.ID, "method", fmt.Sprint(j))
			}
			if u.AuthMethods[j].Type == AuthMethodPhone && u.AuthMethods[j].PhoneType == "" {
				u.AuthMethods[j].PhoneType = "mobile"
			}
			if u.AuthMethods[j].CreatedDateTime.IsZero() && u.AuthMethods[j].CreatedAgo > 0 {
				u.AuthMethods[j].CreatedDateTime = now.Add(-u.AuthMethods[j].CreatedAgo).Truncate(time.Second)
			}
			if u.AuthMethods[j].CreatedDateTime.IsZero() {
				u.AuthMethods[j].CreatedDateTime = u.CreatedDateTime.Add(2 * time.Hour)
			}
		}
		if u.TAP != "" {
			if u.TAPID == "" {
				u.TAPID = stableGUID(t.id, u.ID, "tap")
			}
			if u.TAPLifetimeMinutes == 0 {
				u.TAPLifetimeMinutes = tapDefaultLifetime
			}
			if u.TAPCreatedDateTime.IsZero() {
				u.TAPCreatedDateTime = now
			}
			if u.TAPStartDateTime.IsZero() {
				u.TAPStartDateTime = u.TAPCreatedDateTime
			}
		}
		for _, name := range u.Roles {
			roleName, tpl, ok := lookupRoleTemplate(name)
			if !ok {
				return nil, fmt.Errorf("tenant: user %q: unknown role %q", u.UserPrincipalName, name)
			}
			t.assignRole(u.ID, roleName, tpl)
		}
		for _, name := range u.EligibleRoles {
			_, tpl, ok := lookupRoleTemplate(name)
			if !ok {
				return nil, fmt.Errorf("tenant: user %q: unknown eligible role %q", u.UserPrincipalName, name)
			}
			t.makeEligible(u.ID, tpl, u.CreatedDateTime)
		}
		for _, gid := range u.Groups {
			pending = append(pending, membership{gid, u.ID, u.UserPrincipalName})
		}
		u.Groups, u.Roles, u.EligibleRoles = nil, nil, nil
		t.users = append(t.users, &u)
	}
	links := make([]groupLinks, len(seed.Groups))
	for i := range seed.Groups {
		g, l, err := t.newGroup(seed.Groups[i], t.created.Add(time.Duration(i+1)*time.Hour))
		if err != nil {
			return nil, err
		}
		t.groups = append(t.groups, g)
		links[i] = l
	}
	for i, g := range t.groups {
		if err := t.linkGroup(g, links[i]); err != nil {
			return nil, err
		}
	}
	for _, m := range pending {
		g := t.findGroup(m.group)
		if g == nil {
			return nil, fmt.Errorf("tenant: user %q: unknown group %q", m.upn, m.group)
		}
		if err := t.seedMembership(g, m.user); err != nil {
			return nil, err
		}
	}
	for _, u := range t.users {
		if u.ManagerID != "" && t.findUser(u.ManagerID, true) == nil {
			return nil, fmt.Errorf("tenant: user %q: unknown manager %q", u.UserPrincipalName, u.ManagerID)
		}
		for _, sku := range u.Licenses {
			if t.sku(sku) == nil {
				return nil, fmt.Errorf("tenant: user %q: unknown sku %q", u.UserPrincipalName, sku)
			}
		}
	}
	for _, u := range t.users {
		if u.MailboxType != "" || t.exchangeQuotaGB(u) > 0 {
			t.provisionMailbox(u)
			if u.MailboxSizeGB == 0 {
				u.MailboxSizeGB = defaultMailboxSize(t.id, u.ID)
			}
		}
	}
	for _, u := range t.users {
		if err := t.normalizeMailbox(u); err != nil {
			return nil, fmt.Errorf("tenant: user %q: %w", u.UserPrincipalName, err)
		}
		if err := t.normalizeRules(u); err != nil {
			return nil, fmt.Errorf("tenant: user %q: %w", u.UserPrincipalName, err)
		}
	}
	for i := range seed.ConditionalAccessPolicies {
		p, err := t.buildCAPolicy(seed.ConditionalAccessPolicies[i], now)
		if err != nil {
			return nil, err
		}
		t.caPolicies = append(t.caPolicies, p)
	}
	sps, err := buildServicePrincipals(t.id, seed.ServicePrincipals, t.created, now)
	if err != nil {
		return nil, err
	}
	t.servicePrincipals = sps
	if seed.Permissions == nil {
		t.permissions = DefaultPermissions()
	} else {
		t.permissions = normalizePermissions(seed.Permissions)
	}
	if seed.TokenError != "" {
		code, err := parseTokenError(seed.TokenError)
		if err != nil {
			return nil, err
		}
		t.tokenError = code
	}
	for i := range seed.Relationships {
		r, err := buildRelationship(t.id, seed.Relationships[i], now)
		if err != nil {
			return nil, err
		}
		for _, other := range t.relationships {
			if strings.EqualFold(other.ID, r.ID) {
				return nil, fmt.Errorf("tenant: relationship %q: duplicate id", r.ID)
			}
		}
		t.relationships = append(t.relationships, r)
	}
	t.signIns = seedSignIns(t, now)
	extra, err := t.buildSignIns(seed.SignIns, now)
	if err != nil {
		return nil, err
	}
	t.signIns = append(t.signIns, extra...)
	slices.SortStableFunc(t.signIns, func(a, b signIn) int { return b.created.Compare(a.created) })
	return t, nil
}

// seedMembership adds user uid to g unless it is there already.
func (t *tenant) seedMembership(g *Group, uid string) error {
	u := t.findUser(uid, true)
	if u == nil {
		return fmt.Errorf("tenant: group %q: unknown member %q", g.DisplayName, uid)
	}
	if !slices.Contains(g.Members, u.ID) {
		g.Members = append(g.Members, u.ID)
	}
	return nil
}

// hasDomain reports whether name is one of t's verified domains.
func (t *tenant) hasDomain(name string) bool {
	for _, d := range t.domains {
		if strings.EqualFold(d.name, name) {
			return true
		}
	}
	return false
}

// findUser looks a user up by id or user principal name, ignoring case.
// Soft-deleted users are found only when withDeleted is set, and only
// when no user that is not deleted matches (a new user may take the
// name of a deleted one).
func (t *tenant) findUser(idOrUPN string, withDeleted bool) *User {
	var deleted *User
	for _, u := range t.users {
		if !strings.EqualFold(u.ID, idOrUPN) && !strings.EqualFold(u.UserPrincipalName, idOrUPN) {
			continue
		}
		if !u.Deleted {
			return u
		}
		if withDeleted && deleted == nil {
			deleted = u
		}
	}
	return deleted
}

// findGroup looks a group up by id.
func (t *tenant) findGroup(id string) *Group {
	for _, g := range t.groups {
		if strings.EqualFold(g.ID, id) {
			return g
		}
	}
	return nil
}

// roleByTemplate returns the activated role for a template id.
func (t *tenant) roleByTemplate(templateID string) *dirRole {
	for _, r := range t.roles {
		if r.templateID == templateID {
			return r
		}
	}
	return nil
}

// sku returns the subscription with the given sku id.
func (t *tenant) sku(id string) *SKU {
	for i := range t.skus {
		if strings.EqualFold(t.skus[i].SkuID, id) {
			return &t.skus[i]
		}
	}
	return nil
}

// consumed counts the users holding sku id.
func (t *tenant) consumed(id string) int {
	n := 0
	for _, u := range t.users {
		if !u.Deleted && containsFold(t.effectiveLicenses(u), id) {
			n++
		}
	}
	return n
}

// snapshot returns a deep copy of u with Groups and Roles filled in.
func (t *tenant) snapshot(u *User) User {
	c := cloneUser(*u)
	c.Groups, c.Roles = nil, nil
	for _, g := range t.groups {
		if slices.Contains(g.Members, u.ID) {
			c.Groups = append(c.Groups, g.ID)
		}
	}
	c.Roles, c.EligibleRoles = t.userRoles(u.ID)
	return c
}

// cloneUser deep-copies u.
func cloneUser(u User) User {
	u.BusinessPhones = slices.Clone(u.BusinessPhones)
	u.Licenses = slices.Clone(u.Licenses)
	u.ProxyAddresses = slices.Clone(u.ProxyAddresses)
	u.Groups = slices.Clone(u.Groups)
	u.Roles = slices.Clone(u.Roles)
	u.EligibleRoles = slices.Clone(u.EligibleRoles)
	u.AuthMethods = slices.Clone(u.AuthMethods)
	u.MailFolders = slices.Clone(u.MailFolders)
	if u.InboxRules != nil {
		rules := make([]InboxRule, len(u.InboxRules))
		for i, r := range u.InboxRules {
			rules[i] = r.clone()
		}
		u.InboxRules = rules
	}
	return u
}

// cloneGroup deep-copies g.
func cloneGroup(g Group) Group {
	g.GroupTypes = slices.Clone(g.GroupTypes)
	g.Members = slices.Clone(g.Members)
	g.MemberGroups = slices.Clone(g.MemberGroups)
	g.Roles = slices.Clone(g.Roles)
	g.EligibleRoles = slices.Clone(g.EligibleRoles)
	return g
}
