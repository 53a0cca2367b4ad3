package fakegraph

import (
	"fmt"
	"slices"
	"time"
)

// ContosoTenantID is the tenant id of the seeded contoso tenant.
const ContosoTenantID = "5943d5b9-e860-4913-80c6-280601bb5d5d"

// ContosoDomain is the default verified domain of the contoso tenant.
const ContosoDomain = "contoso.com"

// ContosoInitialDomain is the initial (onmicrosoft.com) domain of the
// contoso tenant.
const ContosoInitialDomain = "contoso.onmicrosoft.com"

// SKU ids of the contoso subscriptions.
const (
	// SkuEnterprisePack is Office 365 E3 (ENTERPRISEPACK).
	SkuEnterprisePack = "6fd2c87f-b296-42f0-b197-1e91e994b900"
	// SkuSPEE5 is Microsoft 365 E5 (SPE_E5).
	SkuSPEE5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
	// SkuBusinessPremium is Microsoft 365 Business Premium
	// (O365_BUSINESS_PREMIUM).
	SkuBusinessPremium = "f245ecc8-75af-4f8e-b61f-27d8114de5b3"
	// SkuEMS is Enterprise Mobility + Security E3 (EMS).
	SkuEMS = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e"
	// SkuFlowFree is Power Automate Free (FLOW_FREE).
	SkuFlowFree = "f30db892-07e9-47e9-837c-80727f46fd3d"
)

// Ids of well-known contoso objects, fixed so tests can rely on them.
const (
	// ContosoAdminID is MOD Administrator, the only Global Administrator.
	ContosoAdminID = "6e0efedb-58a4-4030-a279-b4f1f047cbe5"
	// ContosoAdeleID is Adele Vance, Retail Manager.
	ContosoAdeleID = "6f8476ea-fbf0-41b7-92a0-7b8e9fb06683"
	// ContosoGradyID is Grady Archie, the one directory-synchronized user.
	ContosoGradyID = "0982b9f6-0d71-40c1-b96a-a47c519c3a4f"
	// ContosoIsaiahID is Isaiah Langer, the one disabled user, whose
	// account shows the signs of a compromise (see ContosoIsaiahForward).
	ContosoIsaiahID = "ecbef562-2f83-4519-9e76-f620cb9f40cf"
	// ContosoLeeID is Lee Gu, a cloud user carrying a leftover
	// onPremisesImmutableId.
	ContosoLeeID = "405c6413-eada-4226-a166-a4285482d1bd"
	// ContosoMeganID is Megan Bowen, Marketing Manager.
	ContosoMeganID = "e37cb634-53a7-4550-aaa8-90a0918e4b2c"
	// ContosoAlexID is Alex Wilber, whose mailbox forwards to an
	// outside address (ContosoAlexForwarding) and keeps a copy.
	ContosoAlexID = "438377a5-2902-4e82-b6d1-f415e86fbe91"
	// ContosoJoniID is Joni Sherman, the one unlicensed user, who has no
	// mailbox.
	ContosoJoniID = "fa1bb7de-7747-4ccd-9b83-807adbdfce7d"
	// ContosoLynneID is Lynne Robbins, whose Business Premium mailbox
	// (50 GB) holds ContosoLynneMailboxGB.
	ContosoLynneID = "f5ebc595-5d07-402c-a8db-dd5ba6f5a33b"

	// ContosoAllCompanyID is the "All Company" Microsoft 365 group.
	ContosoAllCompanyID = "511ff520-3a8d-46f1-83b6-e76b96e02dd2"
	// ContosoSalesMarketingID is the "Sales and Marketing" Microsoft 365
	// group.
	ContosoSalesMarketingID = "8d50cedf-6073-421e-93c8-9454d365e312"
	// ContosoRetailID is the "Retail" Microsoft 365 group.
	ContosoRetailID = "363a31bd-9e59-4876-bae7-1259f60648df"
	// ContosoMark8ID is the "Mark 8 Project Team" Microsoft 365 group.
	ContosoMark8ID = "f60c1a74-c370-46ba-afc5-e1eba52a84d9"
	// ContosoFinanceSecurityID is the "Finance Security" security group.
	ContosoFinanceSecurityID = "f3074d06-454e-4fd3-ab60-4e4d37525628"
	// ContosoHelpdeskID is the "Helpdesk Operators" security group, a
	// role-assignable group holding Helpdesk Administrator; Debra Berger
	// (ContosoGroupHelpdeskUPN) holds the role only through it.
	ContosoHelpdeskID = "5ac27042-c5fc-4790-881f-be4b7234d243"
	// ContosoTier0AdminsID is "Tier 0 Admins", a role-assignable security
	// group holding Global Administrator whose only member is MOD
	// Administrator.
	ContosoTier0AdminsID = "13e13cb6-cded-4ae9-a6f0-773f4bf431dd"
	// ContosoBreakGlassID is "Break Glass Exclusions", an empty security
	// group (not role-assignable) that the Conditional Access policy
	// ContosoRequireMFAPolicyID excludes.
	ContosoBreakGlassID = "d7bd5f1b-bd51-47fb-94ff-c2be506387ee"
	// ContosoNewsletterID is the "Contoso Newsletter" distribution list.
	ContosoNewsletterID = "fd261823-9de0-493e-8fa2-41fdfc70711a"
	// ContosoITMailSecurityID is the "IT Mail-Enabled Security" group.
	ContosoITMailSecurityID = "bd1ef7f8-e943-4274-b5bd-da5fecd112ed"
)

// Directory roles of contoso beyond those of MOD Administrator (Global
// Administrator, directly and through ContosoTier0AdminsID) and Allan
// Deyoung (Helpdesk Administrator), who are both members of the
// role-assignable Helpdesk Operators (ContosoHelpdeskID) as well.
const (
	// ContosoGroupHelpdeskUserID is Debra Berger, who has no role of her
	// own but holds Helpdesk Administrator as a member of the
	// role-assignable group ContosoHelpdeskID.
	ContosoGroupHelpdeskUserID = "c40a51f7-1982-4017-a478-21a1aec44b56"
	// ContosoGroupHelpdeskUPN is Debra Berger's user principal name.
	ContosoGroupHelpdeskUPN = "DebraB@" + ContosoDomain
	// ContosoEligiblePRAUserID is Henrietta Mueller, who holds no role but
	// is eligible (PIM) for Privileged Role Administrator.
	ContosoEligiblePRAUserID = "de3a0412-8a38-4c44-a16c-67583bbcadde"
	// ContosoEligiblePRAUPN is Henrietta Mueller's user principal name.
	ContosoEligiblePRAUPN = "HenriettaM@" + ContosoDomain
)

// Conditional Access policies of contoso.
const (
	// ContosoRequireMFAPolicyID is "Require MFA for all users": enabled,
	// all users and applications, grant control mfa, excluding the group
	// ContosoBreakGlassID.
	ContosoRequireMFAPolicyID = "63629f08-32e1-4ac1-8eb8-f0e70b6882ae"
	// ContosoBlockLegacyAuthPolicyID is "Block legacy authentication":
	// report-only (enabledForReportingButNotEnforced), all users but
	// Global Administrators, Exchange ActiveSync and other clients,
	// grant control block.
	ContosoBlockLegacyAuthPolicyID = "21d32e56-367d-4d44-8269-54578fb1be3b"
)

// Seeded mailbox state of contoso.
const (
	// ContosoAlexForwarding is the ForwardingSMTPAddress of Alex Wilber.
	ContosoAlexForwarding = "smtp:alexw.personal@outlook-mail.example"
	// ContosoLynneMailboxGB is the size of Lynne Robbins' mailbox,
	// close to her 50 GB limit.
	ContosoLynneMailboxGB = 48.7
)

// The compromise of Isaiah Langer, seeded relative to the server's clock
// when the tenant is added: three inbox rules an attacker left (one of
// them hidden), a successful interactive sign-in about 20 hours earlier
// from Lagos (NG) with a high risk after six failed ones (50126) from
// the same address, a Microsoft Authenticator registered about 19 hours
// earlier and a password change about 50 hours earlier. His history
// before that week is from the US only, and he was blocked since (the
// latest sign-in fails with 50057). Adele Vance, by contrast, has one harmless rule
// (ContosoAdeleRuleID), US sign-ins and old methods.
const (
	// ContosoIsaiahForward is where Isaiah's rule "." forwards all mail.
	ContosoIsaiahForward = "isaiah.langer.sales@proton.me"
	// ContosoIsaiahForwardRuleID is the rule "." that forwards every
	// message to ContosoIsaiahForward.
	ContosoIsaiahForwardRuleID = "AQAAAAdkRzE="
	// ContosoIsaiahHideRuleID is the rule ".." that moves mail whose
	// subject or body contains "invoice" or "payment" to RSS Feeds and
	// marks it read.
	ContosoIsaiahHideRuleID = "AQAAAAdkRzI="
	// ContosoIsaiahHiddenRuleID is the hidden rule "..." that redirects
	// mail whose subject or body contains "wire" or "bank details" to
	// ContosoIsaiahHiddenForward and deletes it. Graph's messageRules do
	// not list it; Get-InboxRule shows it only with -IncludeHidden.
	ContosoIsaiahHiddenRuleID = "AQAAAAdkRzM="
	// ContosoIsaiahHiddenForward is where the hidden rule redirects to.
	ContosoIsaiahHiddenForward = "payments.contoso@proton.me"
	// ContosoIsaiahAttackIP is the address of the foreign sign-ins.
	ContosoIsaiahAttackIP = "102.89.47.213"
	// ContosoAdeleRuleID is Adele's rule "Newsletters", which moves mail
	// from the company newsletter to her folder "Newsletters".
	ContosoAdeleRuleID = "AQAAAAdkQWE="
)

// Contoso's enterprise application consented by an outside organization
// two days before the server's clock (when the tenant is added).
const (
	// ContosoSuspiciousAppID is the application id of "Mail Backup
	// Pro", which has no verified publisher.
	ContosoSuspiciousAppID = "c6a1f3e4-5b2d-4e8f-9a7c-3d1b2e4f6a80"
	// ContosoSuspiciousAppOwner is the foreign tenant that owns it.
	ContosoSuspiciousAppOwner = "d4e8a2c1-7f3b-4a9e-b6d5-1c2e3f4a5b6c"
)

// persona is a compact description of a seeded user.
type persona struct {
	id, alias, given, surname, title, dept, office, city, country, usage string
	manager                                                              string
	licenses                                                             []string
}

// contosoPersonas returns Microsoft's public sample users.
func contosoPersonas() []persona {
	const (
		patti   = "76f530d6-3f61-4d69-a846-70057052096a"
		miriam  = "5d71f94c-9309-45c3-a133-13708267ac94"
		irvin   = "d7faac63-b713-4072-a5a5-c22def330d85"
		nestor  = "c7cc8a52-096f-44b4-afea-cdc34290ce9c"
		lidia   = "d17d088b-6de5-4bf4-8bf9-6c7297c4cc13"
		pradeep = "37c64f59-84f0-47a1-81f7-bf5ae642e27e"
		enrico  = "0cdddc17-e85d-4ebb-9a65-3fb37ca1edcc"
		adele   = ContosoAdeleID
	)
	e3 := []string{SkuEnterprisePack}
	e3ems := []string{SkuEnterprisePack, SkuEMS}
	e5 := []string{SkuSPEE5}
	bp := []string{SkuBusinessPremium, SkuFlowFree}
	us, usa := "US", "United States"
	return []persona{
		{ContosoAdminID, "admin", "MOD", "Administrator", "IT Administrator", "IT", "", "Redmond", usa, us, "", e5},
		{adele, "AdeleV", "Adele", "Vance", "Retail Manager", "Retail", "18/2111", "Salt Lake City", usa, us, miriam, e3ems},
		{ContosoAlexID, "AlexW", "Alex", "Wilber", "Marketing Assistant", "Marketing", "131/1104", "San Diego", usa, us, miriam, e3},
		{"e19e18b0-8ea6-4cc8-bff5-e19fd804c726", "AllanD", "Allan", "Deyoung", "IT Admin", "IT", "131/1104", "Waukesha", usa, us, nestor, e3ems},
		{"8b58dda7-0038-4d04-a8ec-075bbf235a6d", "ChristieC", "Christie", "Cline", "Buyer", "Retail", "131/2105", "San Diego", usa, us, irvin, bp},
		{"c40a51f7-1982-4017-a478-21a1aec44b56", "DebraB", "Debra", "Berger", "Administrative Assistant", "Executive Management", "18/2107", "Bellevue", usa, us, patti, e3},
		{"cfdc91f2-61ed-4670-9476-f931c57687c3", "DiegoS", "Diego", "Siciliani", "HR Manager", "HR", "14/1108", "Birmingham", usa, us, patti, e3},
		{"8b1d7c7a-4605-4a8f-a82a-84475981d820", "EmilyB", "Emily", "Braun", "Budget Analyst", "Finance", "97/2302", "Bellevue", usa, us, pradeep, e3},
		{enrico, "EnricoC", "Enrico", "Cattaneo", "Attorney", "Legal", "14/1102", "Milan", "Italy", "IT", patti, e3},
		{ContosoGradyID, "GradyA", "Grady", "Archie", "Designer", "R&D", "19/2109", "Bloomington", usa, us, lidia, e3},
		{"de3a0412-8a38-4c44-a16c-67583bbcadde", "HenriettaM", "Henrietta", "Mueller", "Developer", "R&D", "18/1106", "Munich", "Germany", "DE", lidia, e3},
		{irvin, "IrvinS", "Irvin", "Sayers", "Director", "Sales", "20/1109", "Bellevue", usa, us, miriam, e3ems},
		{ContosoIsaiahID, "IsaiahL", "Isaiah", "Langer", "Sales Rep", "Sales", "20/1101", "Tulsa", usa, us, irvin, e3},
		{"42c56c71-8830-4295-b0e2-2672c2a713ca", "JohannaL", "Johanna", "Lorenz", "Senior Engineer", "Engineering", "23/2102", "Louisville", usa, us, lidia, e3},
		{ContosoJoniID, "JoniS", "Joni", "Sherman", "Paralegal", "Legal", "20/1109", "Charlotte", usa, "", enrico, nil},
		{ContosoLeeID, "LeeG", "Lee", "Gu", "Director", "Manufacturing", "23/3101", "Overland Park", usa, us, nestor, e3ems},
		{lidia, "LidiaH", "Lidia", "Holloway", "Product Manager", "Engineering", "20/2107", "Tulsa", usa, us, nestor, e3ems},
		{ContosoLynneID, "LynneR", "Lynne", "Robbins", "Planner", "Retail", "20/1104", "Tulsa", usa, us, adele, bp},
		{ContosoMeganID, "MeganB", "Megan", "Bowen", "Marketing Manager", "Marketing", "12/1110", "Pittsburgh", usa, us, miriam, e5},
		{miriam, "MiriamG", "Miriam", "Graham", "Director", "Sales & Marketing", "131/2103", "San Diego", usa, us, patti, e3ems},
		{nestor, "NestorW", "Nestor", "Wilke", "Director", "Operations", "36/2121", "Seattle", usa, us, patti, e3ems},
		{patti, "PattiF", "Patti", "Fernandez", "President", "Executive Management", "15/1102", "Louisville", usa, us, "", e5},
		{pradeep, "PradeepG", "Pradeep", "Gupta", "Accountant II", "Finance", "98/2202", "Cairo", "Egypt", "EG", patti, e3},
	}
}

// ContosoSeed returns the contoso sample tenant that New installs: 23 of
// Microsoft's sample personas, ten groups of every kind (two of them
// role-assignable), five subscriptions, two Conditional Access policies
// and a sign-in history. Every licensed persona has an
// Exchange Online mailbox; Joni Sherman, unlicensed, has none; Alex
// Wilber forwards his mail outside and Lynne Robbins' mailbox is nearly
// full. Passwords are left empty so each server picks random ones.
func ContosoSeed() TenantSeed {
	var users []User
	for i, p := range contosoPersonas() {
		upn := p.alias + "@" + ContosoDomain
		u := User{
			ID:                p.id,
			UserPrincipalName: upn,
			DisplayName:       p.given + " " + p.surname,
			GivenName:         p.given,
			Surname:           p.surname,
			JobTitle:          p.title,
			Department:        p.dept,
			OfficeLocation:    p.office,
			City:              p.city,
			Country:           p.country,
			UsageLocation:     p.usage,
			PreferredLanguage: "en-US",
			AccountEnabled:    true,
			ManagerID:         p.manager,
			Licenses:          slices.Clone(p.licenses),
			BusinessPhones:    []string{fmt.Sprintf("+1 425 555 01%02d", i)},
		}
		if p.alias == "admin" {
			u.GivenName, u.Surname, u.OfficeLocation, u.BusinessPhones = "MOD", "Administrator", "", nil
		}
		users = append(users, u)
	}
	find := func(id string) *User {
		for i := range users {
			if users[i].ID == id {
				return &users[i]
			}
		}
		panic("seed: unknown persona " + id)
	}
	created := time.Date(2019, 3, 4, 9, 0, 0, 0, time.UTC)

	// Mailbox time zones, as their owners chose them in Outlook on the
	// web; the administrator never did, and Joni has no mailbox.
	zones := map[string]string{
		"Redmond": "Pacific Standard Time", "Bellevue": "Pacific Standard Time", "Seattle": "Pacific Standard Time",
		"San Diego": "Pacific Standard Time", "Salt Lake City": "Mountain Standard Time", "Waukesha": "Central Standard Time",
		"Tulsa": "Central Standard Time", "Overland Park": "Central Standard Time", "Bloomington": "Central Standard Time",
		"Birmingham": "Central Standard Time", "Louisville": "Eastern Standard Time", "Pittsburgh": "Eastern Standard Time",
		"Milan": "W. Europe Standard Time", "Munich": "W. Europe Standard Time", "Cairo": "Egypt Standard Time",
	}
	for i := range users {
		if len(users[i].Licenses) > 0 && users[i].ID != ContosoAdminID {
			users[i].TimeZone = zones[users[i].City]
		}
	}

	admin := find(ContosoAdminID)
	admin.Roles = []string{"Global Administrator"}
	admin.PasswordPolicies = "DisablePasswordExpiration"
	admin.PerUserMFAState = "enforced"
	admin.MobilePhone = "+1 425 555 0100"
	admin.AuthMethods = []AuthMethod{
		{Type: AuthMethodAuthenticator, DisplayName: "iPhone 15 Pro", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.8.7"},
		{Type: AuthMethodPhone, PhoneNumber: "+1 4255550100", PhoneType: "mobile"},
	}

	henrietta := find(ContosoEligiblePRAUserID)
	henrietta.EligibleRoles = []string{"Privileged Role Administrator"}

	allan := find("e19e18b0-8ea6-4cc8-bff5-e19fd804c726")
	allan.Roles = []string{"Helpdesk Administrator"}
	allan.AuthMethods = []AuthMethod{{Type: AuthMethodAuthenticator, DisplayName: "Galaxy S23", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.2401.0119"}}

	adele := find(ContosoAdeleID)
	adele.MobilePhone = "+1 425 555 0109"
	adele.AuthMethods = []AuthMethod{{Type: AuthMethodPhone, PhoneNumber: "+1 4255550109", PhoneType: "mobile"}}

	megan := find(ContosoMeganID)
	megan.MobilePhone = "+1 412 555 0109"
	megan.AuthMethods = []AuthMethod{
		{Type: AuthMethodAuthenticator, DisplayName: "Pixel 8", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.2401.0119"},
		{Type: AuthMethodPhone, PhoneNumber: "+1 4125550109", PhoneType: "mobile"},
	}

	patti := find("76f530d6-3f61-4d69-a846-70057052096a")
	patti.PerUserMFAState = "enabled"
	patti.AuthMethods = []AuthMethod{
		{Type: AuthMethodAuthenticator, DisplayName: "iPhone 14", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.8.7"},
		{Type: AuthMethodPhone, PhoneNumber: "+1 5025550107", PhoneType: "mobile"},
		{Type: AuthMethodPhone, PhoneNumber: "+1 5025550199", PhoneType: "office"},
	}

	alex := find(ContosoAlexID)
	alex.AuthMethods = []AuthMethod{{Type: AuthMethodPhone, PhoneNumber: "+1 8585550101", PhoneType: "mobile"}}
	alex.ForwardingSMTPAddress = ContosoAlexForwarding
	alex.DeliverToMailboxAndForward = true

	lynne := find(ContosoLynneID)
	lynne.MailboxSizeGB = ContosoLynneMailboxGB

	grady := find(ContosoGradyID)
	grady.OnPremisesSyncEnabled = true
	grady.OnPremisesImmutableID = "k6Qf0pZlRUqB3ND4Zg1s5A=="
	grady.OnPremisesLastSyncDateTime = time.Date(2025, 11, 28, 6, 30, 12, 0, time.UTC)
	grady.PasswordPolicies = "DisablePasswordExpiration"

	lee := find(ContosoLeeID)
	lee.OnPremisesImmutableID = "Qm9QXkEvI0SRzv8nDbhEQA=="
	lee.AuthMethods = []AuthMethod{{Type: AuthMethodAuthenticator, DisplayName: "iPad Air", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.8.5"}}

	isaiah := find(ContosoIsaiahID)
	isaiah.AccountEnabled = false
	isaiah.MobilePhone = "+1 918 555 0112"
	isaiah.PasswordChangedAgo = 50 * time.Hour
	isaiah.AuthMethods = []AuthMethod{
		{Type: AuthMethodPhone, PhoneNumber: "+1 9185550112", PhoneType: "mobile"},
		{Type: AuthMethodAuthenticator, DisplayName: "SM-A146B", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.2403.1673", CreatedAgo: 19 * time.Hour},
	}
	isaiah.InboxRules = []InboxRule{
		{ID: ContosoIsaiahForwardRuleID, DisplayName: ".", ForwardTo: []string{ContosoIsaiahForward}},
		{ID: ContosoIsaiahHideRuleID, DisplayName: "..", BodyOrSubjectContains: []string{"invoice", "payment"},
			MoveToFolder: "rssfeeds", MarkAsRead: true, StopProcessingRules: true},
		{ID: ContosoIsaiahHiddenRuleID, DisplayName: "...", Hidden: true, BodyOrSubjectContains: []string{"wire", "bank details"},
			RedirectTo: []string{ContosoIsaiahHiddenForward}, Delete: true, StopProcessingRules: true},
	}

	adele.MailFolders = []MailFolder{{DisplayName: "Newsletters"}}
	adele.InboxRules = []InboxRule{
		{ID: ContosoAdeleRuleID, DisplayName: "Newsletters", FromAddresses: []string{"newsletter@" + ContosoDomain},
			MoveToFolder: "Newsletters", StopProcessingRules: true},
	}

	var everyone []string
	for _, u := range users {
		everyone = append(everyone, u.ID)
	}
	unified := []string{"Unified"}
	groups := []Group{
		{ID: ContosoAllCompanyID, DisplayName: "All Company", Description: "This is the default group for everyone in the network",
			Mail: "allcompany@" + ContosoDomain, MailNickname: "allcompany", GroupTypes: unified, MailEnabled: true, Visibility: "Public", Members: everyone},
		{ID: ContosoSalesMarketingID, DisplayName: "Sales and Marketing", Description: "Marketing campaigns and sales pipeline",
			Mail: "SalesAndMarketing@" + ContosoDomain, MailNickname: "SalesAndMarketing", GroupTypes: unified, MailEnabled: true, Visibility: "Private",
			Members: []string{"5d71f94c-9309-45c3-a133-13708267ac94", ContosoMeganID, "438377a5-2902-4e82-b6d1-f415e86fbe91", "d7faac63-b713-4072-a5a5-c22def330d85", ContosoIsaiahID, ContosoAdeleID}},
		{ID: ContosoRetailID, DisplayName: "Retail", Description: "Retail store operations",
			Mail: "Retail@" + ContosoDomain, MailNickname: "Retail", GroupTypes: unified, MailEnabled: true, Visibility: "Public",
			Members: []string{ContosoAdeleID, "f5ebc595-5d07-402c-a8db-dd5ba6f5a33b", "8b58dda7-0038-4d04-a8ec-075bbf235a6d"}},
		{ID: ContosoMark8ID, DisplayName: "Mark 8 Project Team", Description: "Welcome to the team that is assembled to create the Mark 8.",
			Mail: "Mark8ProjectTeam@" + ContosoDomain, MailNickname: "Mark8ProjectTeam", GroupTypes: unified, MailEnabled: true, Visibility: "Public",
			Members: []string{ContosoMeganID, "d17d088b-6de5-4bf4-8bf9-6c7297c4cc13", "42c56c71-8830-4295-b0e2-2672c2a713ca", "de3a0412-8a38-4c44-a16c-67583bbcadde", ContosoGradyID}},
		{ID: ContosoFinanceSecurityID, DisplayName: "Finance Security", Description: "Access to finance systems",
			MailNickname: "FinanceSecurity", SecurityEnabled: true,
			Members: []string{"8b1d7c7a-4605-4a8f-a82a-84475981d820", "37c64f59-84f0-47a1-81f7-bf5ae642e27e"}},
		{ID: ContosoHelpdeskID, DisplayName: "Helpdesk Operators", Description: "People who run the service desk",
			MailNickname: "HelpdeskOperators", SecurityEnabled: true, IsAssignableToRole: true,
			Roles:   []string{"Helpdesk Administrator"},
			Members: []string{"e19e18b0-8ea6-4cc8-bff5-e19fd804c726", ContosoAdminID, ContosoGroupHelpdeskUserID}},
		{ID: ContosoNewsletterID, DisplayName: "Contoso Newsletter", Description: "Monthly company newsletter",
			Mail: "newsletter@" + ContosoDomain, MailNickname: "newsletter", MailEnabled: true,
			Members: []string{ContosoMeganID, "438377a5-2902-4e82-b6d1-f415e86fbe91", "76f530d6-3f61-4d69-a846-70057052096a"}},
		{ID: ContosoITMailSecurityID, DisplayName: "IT Mail-Enabled Security", Description: "IT staff; mail-enabled security group",
			Mail: "itsecurity@" + ContosoDomain, MailNickname: "itsecurity", MailEnabled: true, SecurityEnabled: true,
			Members: []string{"e19e18b0-8ea6-4cc8-bff5-e19fd804c726", ContosoAdminID}},
		{ID: ContosoTier0AdminsID, DisplayName: "Tier 0 Admins", Description: "Holders of the Global Administrator role",
			MailNickname: "Tier0Admins", SecurityEnabled: true, IsAssignableToRole: true,
			Roles: []string{"Global Administrator"}, Members: []string{ContosoAdminID}},
		{ID: ContosoBreakGlassID, DisplayName: "Break Glass Exclusions", Description: "Emergency access accounts excluded from Conditional Access",
			MailNickname: "BreakGlassExclusions", SecurityEnabled: true},
	}
	policies := []ConditionalAccessPolicy{
		{ID: ContosoRequireMFAPolicyID, DisplayName: "Require MFA for all users", State: "enabled",
			IncludeUsers: []string{"All"}, ExcludeGroups: []string{ContosoBreakGlassID}, BuiltInControls: []string{"mfa"},
			CreatedDateTime: time.Date(2024, 5, 6, 10, 12, 44, 0, time.UTC)},
		{ID: ContosoBlockLegacyAuthPolicyID, DisplayName: "Block legacy authentication", State: "enabledForReportingButNotEnforced",
			IncludeUsers: []string{"All"}, ExcludeRoles: []string{"Global Administrator"},
			ClientAppTypes: []string{"exchangeActiveSync", "other"}, BuiltInControls: []string{"block"},
			CreatedDateTime: time.Date(2024, 5, 6, 10, 20, 3, 0, time.UTC)},
	}
	return TenantSeed{
		ID:          ContosoTenantID,
		DisplayName: "Contoso",
		Domains:     []string{ContosoDomain, ContosoInitialDomain},
		Users:       users,
		Groups:      groups,
		SKUs: []SKU{
			{SkuID: SkuEnterprisePack, SkuPartNumber: "ENTERPRISEPACK", Enabled: 25},
			{SkuID: SkuSPEE5, SkuPartNumber: "SPE_E5", Enabled: 5},
			{SkuID: SkuBusinessPremium, SkuPartNumber: "O365_BUSINESS_PREMIUM", Enabled: 10},
			{SkuID: SkuEMS, SkuPartNumber: "EMS", Enabled: 25},
			{SkuID: SkuFlowFree, SkuPartNumber: "FLOW_FREE", Enabled: 10000},
		},
		Created:                   created,
		SignIns:                   isaiahCompromise(),
		ServicePrincipals:         append(DefaultServicePrincipals(), contosoApps()...),
		ConditionalAccessPolicies: policies,
	}
}

// isaiahCompromise returns the sign-ins of Isaiah Langer's compromise:
// six failed attempts from ContosoIsaiahAttackIP, then a high-risk
// success from there.
func isaiahCompromise() []SignInSeed {
	var out []SignInSeed
	foreign := SignInSeed{
		User: ContosoIsaiahID, App: "OfficeHome", AppID: "4765445b-32c6-49b0-83e6-1d93765276ca", Resource: "Office 365 Exchange Online",
		IP: ContosoIsaiahAttackIP, City: "Lagos", State: "Lagos", Country: "NG", ClientApp: "Browser", OS: "Windows10",
		Browser: "Chrome 124.0.0", Interactive: true,
	}
	for i := range 6 {
		f := foreign
		f.Ago = 21*time.Hour - time.Duration(i)*4*time.Minute
		f.ErrorCode = 50126
		f.FailureReason = "Error validating credentials due to invalid username or password."
		out = append(out, f)
	}
	ok := foreign
	ok.Ago = 20 * time.Hour
	ok.Risk, ok.RiskState, ok.RiskDetail = "high", "atRisk", "none"
	ok.RiskEventTypes = []string{"unfamiliarFeatures", "anonymizedIPAddress"}
	return append(out, ok)
}

// contosoApps returns contoso's own enterprise applications: a backup
// app of an outside, unverified publisher consented two days ago.
func contosoApps() []ServicePrincipal {
	return []ServicePrincipal{{
		AppID:                  ContosoSuspiciousAppID,
		DisplayName:            "Mail Backup Pro",
		AppOwnerOrganizationID: ContosoSuspiciousAppOwner,
		CreatedAgo:             2*24*time.Hour + 3*time.Hour,
		AddedBy:                ContosoIsaiahID,
		SignInAudience:         "AzureADMultipleOrgs",
	}}
}

// signInTemplate is one pattern of a generated sign-in.
type signInTemplate struct {
	ago               time.Duration
	app, appID, res   string
	clientApp, os, br string
}

// seedSignIns generates a deterministic sign-in history for every user,
// placed relative to now and sorted newest first.
func seedSignIns(t *tenant, now time.Time) []signIn {
	templates := []signInTemplate{
		{2 * time.Hour, "Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams Services", "Mobile Apps and Desktop clients", "Windows10", "Rich Client 5.0"},
		{26 * time.Hour, "Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online", "Browser", "Windows10", "Edge 120.0.0"},
		{3 * 24 * time.Hour, "OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca", "Microsoft Graph", "Browser", "MacOs", "Chrome 121.0.0"},
		{6 * 24 * time.Hour, "Microsoft Authenticator App", "4813382a-8fa7-425e-ab75-3b753aab3abb", "Microsoft Graph", "Mobile Apps and Desktop clients", "Ios 17.2", "Mobile Safari"},
		// The weeks before: what is usual for the user.
		{9 * 24 * time.Hour, "Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online", "Browser", "Windows10", "Edge 119.0.0"},
		{16 * 24 * time.Hour, "Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams Services", "Mobile Apps and Desktop clients", "Windows10", "Rich Client 5.0"},
		{24 * 24 * time.Hour, "OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca", "Microsoft Graph", "Browser", "MacOs", "Chrome 119.0.0"},
	}
	var out []signIn
	for i, u := range t.users {
		city, state, country, ip := "Redmond", "Washington", "US", fmt.Sprintf("203.0.113.%d", 10+i)
		switch u.Country {
		case "Italy":
			city, state, country = "Milan", "Lombardia", "IT"
		case "Germany":
			city, state, country = "Munich", "Bavaria", "DE"
		case "Egypt":
			city, state, country = "Cairo", "Cairo Governorate", "EG"
		}
		for j, tpl := range templates {
			si := signIn{
				id:            stableGUID(t.id, "signin", u.ID, fmt.Sprint(j)),
				created:       now.Add(-tpl.ago - time.Duration(i*7)*time.Minute).Truncate(time.Second),
				userID:        u.ID,
				userName:      u.DisplayName,
				upn:           u.UserPrincipalName,
				app:           tpl.app,
				appID:         tpl.appID,
				resource:      tpl.res,
				ip:            ip,
				clientApp:     tpl.clientApp,
				failureReason: "Other.",
				city:          city,
				state:         state,
				country:       country,
				os:            tpl.os,
				browser:       tpl.br,
				interactive:   tpl.clientApp == "Browser",
			}
			switch {
			case !u.AccountEnabled && j == 0:
				si.errorCode = 50057
				si.failureReason = "User account is disabled. The account has been disabled by an administrator."
			case u.ID == ContosoMeganID && j == 1:
				si.errorCode = 50126
				si.failureReason = "Error validating credentials due to invalid username or password."
				si.ip, si.city, si.state, si.country = "198.51.100.77", "Lagos", "Lagos", "NG"
				si.os, si.browser = "Linux", "Firefox 115.0"
			case u.ID == ContosoMeganID && j == 2:
				si.errorCode = 50074
				si.failureReason = "Strong Authentication is required."
				si.details = "The user didn't complete the MFA prompt."
			}
			out = append(out, si)
		}
	}
	slices.SortStableFunc(out, func(a, b signIn) int { return b.created.Compare(a.created) })
	return out
}

// buildSignIns turns seeded sign-ins into log entries placed relative to
// now.
func (t *tenant) buildSignIns(seeds []SignInSeed, now time.Time) ([]signIn, error) {
	var out []signIn
	for i, sd := range seeds {
		u := t.findUser(sd.User, true)
		if u == nil {
			return nil, fmt.Errorf("tenant: sign-in %d: unknown user %q", i, sd.User)
		}
		if sd.Ago < 0 {
			return nil, fmt.Errorf("tenant: sign-in %d of %q: in the future", i, sd.User)
		}
		si := signIn{
			id: stableGUID(t.id, "signin-seed", fmt.Sprint(i)), created: now.Add(-sd.Ago).Truncate(time.Second),
			userID: u.ID, userName: u.DisplayName, upn: u.UserPrincipalName,
			app: sd.App, appID: sd.AppID, resource: sd.Resource, ip: sd.IP, clientApp: sd.ClientApp,
			errorCode: sd.ErrorCode, failureReason: sd.FailureReason, details: sd.Details,
			city: sd.City, state: sd.State, country: sd.Country, os: sd.OS, browser: sd.Browser, interactive: sd.Interactive,
			risk: sd.Risk, riskState: sd.RiskState, riskDetail: sd.RiskDetail, riskEvents: slices.Clone(sd.RiskEventTypes),
		}
		if si.app == "" {
			si.app, si.appID = "OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca"
		}
		if si.resource == "" {
			si.resource = "Office 365 Exchange Online"
		}
		if si.clientApp == "" {
			si.clientApp = "Browser"
		}
		if si.failureReason == "" {
			si.failureReason = "Other."
		}
		out = append(out, si)
	}
	return out, nil
}
