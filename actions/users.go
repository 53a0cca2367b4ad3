package actions

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Default returns the catalogue of every action cippbot offers.
func Default() *Catalogue {
	return NewCatalogue(
		viewUser,
		blockSignIn,
		unblockSignIn,
		revokeSessions,
		resetPassword,
		passwordNeverExpires,
		createTAP,
		deleteUser,
		addToGroup,
		removeFromGroup,
		clearImmutableID,
		editUser,
		resetMFA,
		setMFA,
		convertMailbox,
		enableArchive,
		setOOO,
		disableOOO,
		disableForwarding,
		sendMFAPush,
		addUser,
		bulkAdd,
		restoreUser,
		addLicense,
		removeLicense,
		offboard,
		researchCompromise,
		removeInboxRules,
		provisionOneDrive,
		oneDriveShortcut,
	)
}

// onPremises refuses synced users for actions whose properties are mastered
// in on-premises Active Directory, with what to do instead.
func onPremises(what, instead string) func(User, Params) error {
	return func(u User, _ Params) error {
		if u.Synced {
			return Errorf(ECONFLICT, "%s is synced from on-premises AD: %s there, not in the cloud. %s",
				u.UPN, what, instead)
		}
		return nil
	}
}

var viewUser = &Action{
	Name:        "user",
	Area:        "Users",
	Permissions: permUserRead,
	Aliases:     []string{"view", "info"},
	Summary:     "Show a user: status, licences, last sign-in, MFA, roles",
	Risk:        RiskRead,
	Run: func(ctx context.Context, t Tenant, u User, _ Params, _ Env) (Outcome, error) {
		users, err := need(t.Users, "users")
		if err != nil {
			return Outcome{}, err
		}
		// The roles shown are the ones the approval rules judge by: held
		// directly, through groups, or eligible. They are read beside the
		// details, not after them, so the reply waits for one round trip
		// instead of two. Where they cannot be read, the details' own
		// list stands.
		var roles [][]RoleHeld
		var rolesErr []error
		var wg sync.WaitGroup
		if t.Roles != nil {
			wg.Go(func() { roles, rolesErr = t.Roles.DirectoryRoles(ctx, []string{u.ID}) })
		}
		det, err := users.UserDetails(ctx, u.ID)
		wg.Wait()
		if err != nil {
			return Outcome{}, err
		}
		if t.Roles != nil && len(rolesErr) == 1 && rolesErr[0] == nil {
			det.Roles = nil
			for _, r := range roles[0] {
				det.Roles = append(det.Roles, r.String())
			}
		}
		return Outcome{Summary: userHeadline(det.User), Lines: userLines(det)}, nil
	},
}

func userHeadline(u User) string {
	state := "enabled"
	if !u.Enabled {
		state = "sign-in blocked"
	}
	return fmt.Sprintf("%s (%s): %s", u.DisplayName, u.UPN, state)
}

func userLines(d UserDetails) []string {
	var l []string
	if t := strings.Trim(d.JobTitle+" · "+d.Department, " ·"); t != "" {
		l = append(l, t)
	}
	if d.Manager != "" {
		l = append(l, "Manager: "+d.Manager)
	}
	switch {
	case d.Synced:
		l = append(l, "Source: synced from on-premises AD")
	case d.ImmutableID != "":
		l = append(l, "Source: cloud (carries an immutable ID)")
	default:
		l = append(l, "Source: cloud")
	}
	l = append(l, "Licences: "+listOr(d.Licenses, "none"))
	if d.LastSignIn != nil {
		s := d.LastSignIn
		res := "ok"
		if !s.OK {
			res = "failed: " + s.Failure
		}
		l = append(l, fmt.Sprintf("Last sign-in: %s, %s from %s (%s)", s.Time.UTC().Format("2006-01-02 15:04Z"), s.App, s.Location, res))
	} else {
		l = append(l, "Last sign-in: none recorded")
	}
	l = append(l, "MFA methods: "+listOr(d.Methods, "none registered"))
	if d.MFAState != "" {
		l = append(l, "Per-user MFA: "+d.MFAState)
	}
	if len(d.Roles) > 0 {
		l = append(l, "Admin roles: "+strings.Join(d.Roles, ", "))
	}
	if !d.LastPasswordChange.IsZero() {
		l = append(l, "Password changed: "+d.LastPasswordChange.UTC().Format("2006-01-02"))
	}
	if strings.Contains(d.PasswordPolicies, "DisablePasswordExpiration") {
		l = append(l, "Password never expires")
	}
	if len(d.Groups) > 0 {
		g := d.Groups
		more := ""
		if len(g) > 5 {
			more = fmt.Sprintf(" and %d more", len(g)-5)
			g = g[:5]
		}
		l = append(l, "Groups: "+strings.Join(g, ", ")+more)
	}
	return l
}

func listOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ", ")
}

func ptr[T any](v T) *T { return &v }

// Graph application permissions, any one of which suffices.
var (
	permUserRead  = []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	permUserWrite = []string{"User.ReadWrite.All", "Directory.ReadWrite.All"}
	permPassword  = []string{"User-PasswordProfile.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}
)

var blockSignIn = &Action{
	Name:        "block-signin",
	Area:        "Sign-in",
	Permissions: permUserWrite,
	AdminRoles:  rolesToChangeAdmins,
	Aliases:     []string{"block", "disable-user"},
	Summary:     "Block a user from signing in",
	Risk:        RiskDestructive,
	Bulk:        true,
	Check:       onPremises("block sign-in", "Disable the account in AD (it syncs within 30 minutes), then run revoke-sessions here."),
	Plan: func(u User, _ Params, _ Env) (Plan, error) {
		if !u.Enabled {
			return Plan{Outcome: Outcome{Summary: u.UPN + ": sign-in was already blocked"}}, nil
		}
		return Plan{Op: &Op{Kind: OpUpdateUser, UserID: u.ID, Update: UserUpdate{AccountEnabled: ptr(false)}},
			Outcome: Outcome{Summary: u.UPN + ": sign-in blocked",
				Lines: []string{"Existing sessions stay valid until they expire: run revoke-sessions to end them now."}}}, nil
	},
}

var unblockSignIn = &Action{
	Name:        "unblock-signin",
	Area:        "Sign-in",
	Permissions: permUserWrite,
	AdminRoles:  rolesToChangeAdmins,
	Aliases:     []string{"unblock", "enable-user"},
	Summary:     "Allow a blocked user to sign in again",
	Risk:        RiskChange,
	Bulk:        true,
	Check:       onPremises("unblock sign-in", "Enable the account in AD; it syncs within 30 minutes."),
	Plan: func(u User, _ Params, _ Env) (Plan, error) {
		if u.Enabled {
			return Plan{Outcome: Outcome{Summary: u.UPN + ": sign-in was already allowed"}}, nil
		}
		return Plan{Op: &Op{Kind: OpUpdateUser, UserID: u.ID, Update: UserUpdate{AccountEnabled: ptr(true)}},
			Outcome: Outcome{Summary: u.UPN + ": sign-in allowed again"}}, nil
	},
}

var revokeSessions = &Action{
	Name:        "revoke-sessions",
	Area:        "Sign-in",
	Permissions: permUserWrite,
	Aliases:     []string{"revoke", "signout"},
	Summary:     "Sign a user out everywhere (revoke refresh tokens)",
	Risk:        RiskChange,
	Bulk:        true,
	Plan: func(u User, _ Params, _ Env) (Plan, error) {
		return Plan{Op: &Op{Kind: OpRevokeSessions, UserID: u.ID}, Outcome: Outcome{Summary: u.UPN + ": sessions revoked",
			Lines: []string{"Apps ask for sign-in again within about an hour."}}}, nil
	},
}

var resetPassword = &Action{
	Name:        "reset-password",
	Area:        "Sign-in",
	Permissions: permPassword,
	Roles:       rolesPassword,
	AdminRoles:  rolesToChangeAdmins,
	Aliases:     []string{"resetpw", "reset-pw"},
	Summary:     "Set a new random password, sent to you privately",
	Params: []Param{
		{Name: "must-change", Kind: ParamBool, Summary: "must change it at next sign-in"},
	},
	Risk:   RiskDestructive,
	Bulk:   true,
	Secret: true,
	// A synced user's password is written back to AD only through
	// authenticationMethod: resetPassword, whose only supported
	// permission is delegated ("Application: Not supported",
	// https://learn.microsoft.com/en-us/graph/api/authenticationmethod-resetpassword):
	// a GDAP connection resets it so (OpResetPassword), an app-only one
	// refuses.
	AppOnlyCheck: func(u User, _ Params) error {
		if u.Synced {
			return Errorf(ECONFLICT, "%s is synced from on-premises AD: resetting a synced user's password (with writeback) needs a signed-in admin (delegated access), which cippbot's app-only access cannot do. Reset it in AD, or let the user use self-service password reset. %s", u.UPN, GDAPPointer)
		}
		return nil
	},
	Plan: func(u User, p Params, env Env) (Plan, error) {
		pw, err := env.Passwords.Password()
		if err != nil {
			return Plan{}, err
		}
		pw = NewSecret(u.UPN+" password", pw.Reveal())
		force := p.Bool("must-change")
		o := Outcome{Summary: u.UPN + ": password reset", Secret: pw}
		if u.Synced {
			// The operation is reported once it has ended; the secret
			// goes out only with a success.
			o.Summary = u.UPN + ": password reset and written back to on-premises AD"
			o.Lines = append(o.Lines, "Must change it at next sign-in (a reset through writeback always asks).")
			return Plan{Op: &Op{Kind: OpResetPassword, UserID: u.ID, Update: UserUpdate{Password: &pw}}, Outcome: o}, nil
		}
		if force {
			o.Lines = append(o.Lines, "Must change it at next sign-in.")
		}
		return Plan{Op: &Op{Kind: OpUpdateUser, UserID: u.ID, Update: UserUpdate{Password: &pw, ForceChange: force}}, Outcome: o}, nil
	},
}

var passwordNeverExpires = &Action{
	Name:        "password-never-expires",
	Area:        "Sign-in",
	Permissions: permUserWrite,
	Aliases:     []string{"pne"},
	Summary:     "Turn password expiry off or back on",
	Params: []Param{
		{Name: "state", Kind: ParamEnum, Choices: []string{"on", "off"}, Positional: true, Required: true,
			Summary: "on: never expires; off: normal expiry"},
	},
	Risk: RiskChange,
	Bulk: true,
	Plan: func(u User, p Params, _ Env) (Plan, error) {
		on := p["state"] == "on"
		policies := setPolicy(u.PasswordPolicies, "DisablePasswordExpiration", on)
		if policies == normalizePolicies(u.PasswordPolicies) {
			return Plan{Outcome: Outcome{Summary: fmt.Sprintf("%s: password-never-expires was already %s", u.UPN, p["state"])}}, nil
		}
		return Plan{Op: &Op{Kind: OpUpdateUser, UserID: u.ID, Update: UserUpdate{PasswordPolicies: &policies}},
			Outcome: Outcome{Summary: fmt.Sprintf("%s: password-never-expires %s", u.UPN, p["state"])}}, nil
	},
}

// setPolicy adds or removes one policy from a comma-separated
// passwordPolicies value, keeping the others ("None" when empty).
func setPolicy(current, policy string, on bool) string {
	var keep []string
	for _, f := range strings.Split(current, ",") {
		f = strings.TrimSpace(f)
		if f == "" || strings.EqualFold(f, "None") || strings.EqualFold(f, policy) {
			continue
		}
		keep = append(keep, f)
	}
	if on {
		keep = append(keep, policy)
	}
	slices.Sort(keep)
	if len(keep) == 0 {
		return "None"
	}
	return strings.Join(keep, ", ")
}

func normalizePolicies(p string) string { return setPolicy(p, "", false) }

var createTAP = &Action{
	Name:        "create-tap",
	Area:        "MFA",
	Permissions: []string{"UserAuthenticationMethod.ReadWrite.All"},
	Aliases:     []string{"tap"},
	Summary:     "Create a temporary access pass, sent to you privately",
	Params: []Param{
		{Name: "lifetime", Kind: ParamInt, Min: 10, Max: 43200, Summary: "minutes valid (10–43200; default: tenant policy)"},
		{Name: "once", Kind: ParamBool, Summary: "usable for one sign-in only"},
	},
	Risk:   RiskDestructive,
	Secret: true,
	Run: func(ctx context.Context, t Tenant, u User, p Params, _ Env) (Outcome, error) {
		auth, err := need(t.Auth, "temporary access passes")
		if err != nil {
			return Outcome{}, err
		}
		life, _ := p.Int("lifetime")
		tap, err := auth.CreateTAP(ctx, u.ID, TAPOptions{LifetimeMinutes: life, UsableOnce: p.Bool("once")})
		if err != nil {
			return Outcome{}, err
		}
		use := "reusable"
		if tap.UsableOnce {
			use = "one use"
		}
		valid := fmt.Sprintf("valid %s, %s", minutes(tap.LifetimeMinutes), use)
		if !tap.Start.IsZero() {
			valid += " from " + tap.Start.UTC().Format("15:04Z")
		}
		return Outcome{
			Summary: u.UPN + ": temporary access pass created",
			Lines:   []string{valid, "It replaces any earlier pass."},
			Secret:  NewSecret(u.UPN+" temporary access pass", tap.Pass.Reveal()),
		}, nil
	},
}

func minutes(m int) string {
	d := time.Duration(m) * time.Minute
	switch {
	case m == 0:
		return "for the tenant's default time"
	case m%(60*24) == 0:
		return fmt.Sprintf("%d day(s)", m/(60*24))
	case m%60 == 0:
		return fmt.Sprintf("%d hour(s)", m/60)
	}
	return d.String()
}

var deleteUser = &Action{
	Name:        "delete-user",
	Area:        "Users",
	Permissions: permUserWrite,
	AdminRoles:  rolesToChangeAdmins,
	Aliases:     []string{"delete"},
	Summary:     "Delete a user (restorable for 30 days)",
	Risk:        RiskDestructive,
	Bulk:        true,
	Check:       onPremises("delete the account", "Delete or move it out of the synced OUs in AD."),
	Plan: func(u User, _ Params, _ Env) (Plan, error) {
		return Plan{Op: &Op{Kind: OpDeleteUser, UserID: u.ID}, Outcome: Outcome{Summary: u.UPN + ": deleted",
			Lines: []string{"Restorable for 30 days from deleted users."}}}, nil
	},
}

var clearImmutableID = &Action{
	Name:        "clear-immutable-id",
	Area:        "Users",
	Permissions: permUserWrite,
	AdminRoles:  rolesToChangeAdmins,
	Summary:     "Clear a cloud user's leftover on-premises immutable ID",
	Risk:        RiskDestructive,
	Bulk:        true,
	Check: func(u User, _ Params) error {
		if u.Synced {
			return Errorf(ECONFLICT, "%s is still synced from on-premises AD: stop syncing it first, or its immutable ID is needed", u.UPN)
		}
		if u.ImmutableID == "" {
			return Errorf(ECONFLICT, "%s is a cloud user without an immutable ID: nothing to clear", u.UPN)
		}
		return nil
	},
	Plan: func(u User, _ Params, _ Env) (Plan, error) {
		return Plan{Op: &Op{Kind: OpUpdateUser, UserID: u.ID, Update: UserUpdate{ClearImmutableID: true}},
			Outcome: Outcome{Summary: u.UPN + ": immutable ID cleared",
				Lines: []string{"The account can now be matched to a new on-premises account."}}}, nil
	},
}
