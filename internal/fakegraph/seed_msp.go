package fakegraph

import (
	"slices"
	"time"
)

// The partner (MSP) tenant, which holds GDAP relationships with its
// customers. New does not install it; add it with AddTenant(PartnerSeed()).
const (
	// PartnerTenantID is the tenant id of the Northwind MSP tenant.
	PartnerTenantID = "b7c4e1d2-3f5a-4a8b-9c6d-2e1f0a9b8c7d"
	// PartnerDomain is its default verified domain.
	PartnerDomain = "northwindmsp.com"
	// PartnerInitialDomain is its initial (onmicrosoft.com) domain.
	PartnerInitialDomain = "northwindmsp.onmicrosoft.com"

	// PartnerContosoRelationshipID is the active relationship with
	// contoso.
	PartnerContosoRelationshipID = "0b5d6a1e-77c2-4f0e-9a41-3c8e2d9f1a60-5943d5b9-e860-4913-80c6-280601bb5d5d"
	// PartnerFabrikamRelationshipID is the active relationship with
	// fabrikam.
	PartnerFabrikamRelationshipID = "6e2f9c3b-1d4a-4b7e-8c05-9a7d3e2b1f48-3a1f6c2e-9b4d-4e7a-8f21-6d5c4b3a2f19"
	// PartnerTailspinRelationshipID is the expired relationship with
	// Tailspin Toys.
	PartnerTailspinRelationshipID = "d41c8e7a-5b2f-4a93-b6e0-7f1c2a9d8e35-c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f"

	// TailspinTenantID is the customer of the partner's expired
	// relationship; no such tenant is seeded.
	TailspinTenantID = "c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f"
)

// The fabrikam customer tenant. New does not install it; add it with
// AddTenant(FabrikamSeed()).
const (
	// FabrikamTenantID is the tenant id of the fabrikam tenant.
	FabrikamTenantID = "3a1f6c2e-9b4d-4e7a-8f21-6d5c4b3a2f19"
	// FabrikamDomain is its default verified domain.
	FabrikamDomain = "fabrikam.com"
	// FabrikamInitialDomain is its initial (onmicrosoft.com) domain.
	FabrikamInitialDomain = "fabrikam.onmicrosoft.com"

	// FabrikamAdminID is Kim Akers (KimA@fabrikam.com), the only Global
	// Administrator.
	FabrikamAdminID = "8f3e2a1b-6c5d-4e7f-9a0b-1c2d3e4f5a6b"
	// FabrikamAlexWID is Alex Wu, AlexW@fabrikam.com: the same UPN
	// local part as contoso's Alex Wilber, a different person.
	FabrikamAlexWID = "2b7c9d1e-4f3a-4b5c-8d6e-7f8a9b0c1d2e"
	// FabrikamAlexWilsonID is Alex Wilson, AlexWi@fabrikam.com, so that
	// "alex" is ambiguous within fabrikam.
	FabrikamAlexWilsonID = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
	// FabrikamGarthID is Garth Fort, a disabled (departed) user.
	FabrikamGarthID = "9a8b7c6d-5e4f-4a3b-b2c1-d0e9f8a7b6c5"

	// FabrikamAllStaffID is the "All Fabrikam" Microsoft 365 group.
	FabrikamAllStaffID = "4c3b2a19-8d7e-4f6a-9b5c-0e1d2f3a4b5c"
	// FabrikamWarehouseID is the "Warehouse Team" security group.
	FabrikamWarehouseID = "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a"
	// FabrikamFinanceID is the "Finance" security group.
	FabrikamFinanceID = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
)

// The partner's security groups that its GDAP access assignments name:
// the admin agents (Nadia) and the service desk (Sam, the service
// account, and Priya). A test that changes a relationship's Roles gives
// them through an AccessAssignment to one of these.
const (
	PartnerAdminAgentsGroupID = "4d5e6f70-8192-4a3b-9c4d-5e6f7a8b9c0d"
	PartnerServiceDeskGroupID = "5e6f7081-92a3-4b4c-8d5e-6f7a8b9c0d1e"
)

// PartnerSeed returns the Northwind MSP tenant: a few technicians, the
// partner's admin-agent groups, and three GDAP relationships — active
// ones with contoso and fabrikam and an expired one with Tailspin Toys,
// a former customer whose tenant is not seeded.
func PartnerSeed() TenantSeed {
	const (
		nadia = "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
		sam   = "2a3b4c5d-6e7f-4809-9a1b-2c3d4e5f6a7b"
		priya = "3b4c5d6e-7f80-491a-8b2c-3d4e5f6a7b8c"
	)
	d := PartnerDomain
	return TenantSeed{
		ID:          PartnerTenantID,
		DisplayName: "Northwind MSP",
		Domains:     []string{PartnerDomain, PartnerInitialDomain},
		Users: []User{
			{ID: nadia, UserPrincipalName: "NadiaH@" + d, DisplayName: "Nadia Haddad", GivenName: "Nadia", Surname: "Haddad",
				JobTitle: "Service Delivery Manager", Department: "Managed Services", UsageLocation: "US", AccountEnabled: true,
				Roles: []string{"Global Administrator"}, PerUserMFAState: "enforced", Licenses: []string{SkuBusinessPremium},
				AuthMethods: []AuthMethod{{Type: AuthMethodAuthenticator, DisplayName: "iPhone 16", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.8.20"}}},
			{ID: sam, UserPrincipalName: "SamR@" + d, DisplayName: "Sam Rivera", GivenName: "Sam", Surname: "Rivera",
				JobTitle: "Service Desk Technician", Department: "Managed Services", UsageLocation: "US", AccountEnabled: true,
				ManagerID: nadia, Licenses: []string{SkuBusinessPremium},
				AuthMethods: []AuthMethod{{Type: AuthMethodAuthenticator, DisplayName: "Pixel 9", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.2409.6094"}}},
			{ID: priya, UserPrincipalName: "PriyaP@" + d, DisplayName: "Priya Patel", GivenName: "Priya", Surname: "Patel",
				JobTitle: "Cloud Engineer", Department: "Managed Services", UsageLocation: "US", AccountEnabled: true,
				ManagerID: nadia, Licenses: []string{SkuBusinessPremium},
				AuthMethods: []AuthMethod{{Type: AuthMethodAuthenticator, DisplayName: "iPhone 15", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.8.20"}}},
		},
		Groups: []Group{
			{ID: PartnerAdminAgentsGroupID, DisplayName: "AdminAgents", Description: "Partner Center admin agents",
				MailNickname: "AdminAgents", SecurityEnabled: true, Members: []string{nadia}},
			{ID: PartnerServiceDeskGroupID, DisplayName: "GDAP Service Desk", Description: "Technicians granted customer access through GDAP",
				MailNickname: "GDAPServiceDesk", SecurityEnabled: true, Members: []string{sam, priya}},
		},
		SKUs:    []SKU{{SkuID: SkuBusinessPremium, SkuPartNumber: "O365_BUSINESS_PREMIUM", Enabled: 5}},
		Created: time.Date(2018, 6, 11, 14, 0, 0, 0, time.UTC),
		Relationships: []Relationship{
			{
				ID:                  PartnerContosoRelationshipID,
				DisplayName:         "Northwind MSP - Contoso managed services",
				Status:              "active",
				CustomerTenantID:    ContosoTenantID,
				CustomerDisplayName: "Contoso",
				Roles: []string{"User Administrator", "Helpdesk Administrator", "Privileged Authentication Administrator", "License Administrator",
					"Exchange Administrator"},
				// The service desk holds every role; the admin agents
				// only the helpdesk one.
				AccessAssignments: []AccessAssignment{
					{GroupID: PartnerServiceDeskGroupID, Roles: []string{"User Administrator", "Helpdesk Administrator",
						"Privileged Authentication Administrator", "License Administrator", "Exchange Administrator"}},
					{GroupID: PartnerAdminAgentsGroupID, Roles: []string{"Helpdesk Administrator"}},
				},
				CreatedDateTime:   time.Date(2025, 6, 2, 15, 4, 11, 0, time.UTC),
				ActivatedDateTime: time.Date(2025, 6, 2, 15, 9, 47, 0, time.UTC),
				EndDateTime:       time.Date(2027, 6, 2, 15, 4, 11, 0, time.UTC),
			},
			{
				ID:                  PartnerFabrikamRelationshipID,
				DisplayName:         "Northwind MSP - Fabrikam managed services",
				Status:              "active",
				CustomerTenantID:    FabrikamTenantID,
				CustomerDisplayName: "Fabrikam",
				Roles:               []string{"User Administrator", "Helpdesk Administrator", "Authentication Administrator"},
				// No Exchange Administrator here: the mailbox actions
				// are out of reach in fabrikam through GDAP; and only the
				// admin agents hold Authentication Administrator.
				AccessAssignments: []AccessAssignment{
					{GroupID: PartnerServiceDeskGroupID, Roles: []string{"User Administrator", "Helpdesk Administrator"}},
					{GroupID: PartnerAdminAgentsGroupID, Roles: []string{"Authentication Administrator"}},
				},
				CreatedDateTime:   time.Date(2026, 2, 17, 10, 30, 0, 0, time.UTC),
				ActivatedDateTime: time.Date(2026, 2, 17, 11, 2, 36, 0, time.UTC),
				EndDateTime:       time.Date(2028, 2, 17, 10, 30, 0, 0, time.UTC),
			},
			{
				ID:                  PartnerTailspinRelationshipID,
				DisplayName:         "Northwind MSP - Tailspin Toys 2022",
				Status:              "expired",
				CustomerTenantID:    TailspinTenantID,
				CustomerDisplayName: "Tailspin Toys",
				Roles:               []string{"User Administrator", "Helpdesk Administrator"},
				AccessAssignments: []AccessAssignment{
					{GroupID: PartnerServiceDeskGroupID, Roles: []string{"User Administrator", "Helpdesk Administrator"}, Status: "deleted"},
				},
				CreatedDateTime:   time.Date(2022, 3, 1, 9, 15, 0, 0, time.UTC),
				ActivatedDateTime: time.Date(2022, 3, 1, 9, 40, 22, 0, time.UTC),
				EndDateTime:       time.Date(2024, 2, 29, 9, 15, 0, 0, time.UTC),
			},
		},
	}
}

// FabrikamSeed returns the fabrikam customer tenant: six users (among
// them Alex Wu, AlexW@fabrikam.com, whose UPN local part contoso uses
// too, and Alex Wilson, so that "alex" matches two people), three groups
// and Business Premium licenses.
func FabrikamSeed() TenantSeed {
	const (
		diane = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
		molly = "0f1e2d3c-4b5a-4697-a8b9-c0d1e2f3a4b5"
	)
	d := FabrikamDomain
	bp := []string{SkuBusinessPremium}
	person := func(id, alias, given, surname, title, dept, manager string) User {
		return User{
			ID: id, UserPrincipalName: alias + "@" + d, DisplayName: given + " " + surname, GivenName: given, Surname: surname,
			JobTitle: title, Department: dept, OfficeLocation: "Building 1", City: "Portland", Country: "United States",
			UsageLocation: "US", PreferredLanguage: "en-US", AccountEnabled: true, ManagerID: manager, Licenses: slices.Clone(bp),
		}
	}
	users := []User{
		person(diane, "DianeP", "Diane", "Prescott", "Chief Financial Officer", "Finance", ""),
		person(FabrikamAdminID, "KimA", "Kim", "Akers", "IT Director", "IT", diane),
		person(FabrikamAlexWID, "AlexW", "Alex", "Wu", "Sales Associate", "Sales", diane),
		person(FabrikamAlexWilsonID, "AlexWi", "Alex", "Wilson", "Warehouse Supervisor", "Operations", FabrikamAdminID),
		person(FabrikamGarthID, "GarthF", "Garth", "Fort", "Accountant", "Finance", diane),
		person(molly, "MollyD", "Molly", "Dempsey", "HR Generalist", "HR", diane),
	}
	kim := &users[1]
	kim.Roles = []string{"Global Administrator"}
	kim.PerUserMFAState = "enforced"
	kim.MobilePhone = "+1 503 555 0142"
	kim.AuthMethods = []AuthMethod{
		{Type: AuthMethodAuthenticator, DisplayName: "iPhone 13", DeviceTag: "SoftwareTokenActivated", PhoneAppVersion: "6.8.14"},
		{Type: AuthMethodPhone, PhoneNumber: "+1 5035550142", PhoneType: "mobile"},
	}
	alexW := &users[2]
	alexW.MobilePhone = "+1 503 555 0177"
	alexW.AuthMethods = []AuthMethod{{Type: AuthMethodPhone, PhoneNumber: "+1 5035550177", PhoneType: "mobile"}}
	users[4].AccountEnabled = false

	var everyone []string
	for _, u := range users {
		everyone = append(everyone, u.ID)
	}
	return TenantSeed{
		ID:          FabrikamTenantID,
		DisplayName: "Fabrikam",
		Domains:     []string{FabrikamDomain, FabrikamInitialDomain},
		Users:       users,
		Groups: []Group{
			{ID: FabrikamAllStaffID, DisplayName: "All Fabrikam", Description: "Everyone at Fabrikam",
				Mail: "allstaff@" + d, MailNickname: "allstaff", GroupTypes: []string{"Unified"}, MailEnabled: true, Visibility: "Public", Members: everyone},
			{ID: FabrikamWarehouseID, DisplayName: "Warehouse Team", Description: "Warehouse floor and shipping",
				MailNickname: "WarehouseTeam", SecurityEnabled: true, Members: []string{FabrikamAlexWilsonID, FabrikamAlexWID}},
			{ID: FabrikamFinanceID, DisplayName: "Finance", Description: "Access to the accounting system",
				MailNickname: "Finance", SecurityEnabled: true, Members: []string{diane, FabrikamGarthID}},
		},
		SKUs: []SKU{
			{SkuID: SkuBusinessPremium, SkuPartNumber: "O365_BUSINESS_PREMIUM", Enabled: 10},
			{SkuID: SkuFlowFree, SkuPartNumber: "FLOW_FREE", Enabled: 10000},
		},
		Created: time.Date(2020, 9, 14, 8, 0, 0, 0, time.UTC),
	}
}
