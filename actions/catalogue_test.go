package actions_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/internal/mock"
)

// The tests below run catalogue actions as the bot does after an
// approval (Service.Prepare, then Service.Run) against a tenant made of
// function-field stubs, one per capability the action uses. The stubs
// record every write; each test states the exact writes and outcome.

// adele is the target of every test: an enabled cloud user.
var adele = actions.User{ID: "u-adele", UPN: "AdeleV@contoso.com", DisplayName: "Adele Vance", Enabled: true}

// newPassword is the password every reset sets.
const newPassword = "Kx7#mnRs2vTw4y"

type fixedPassword string

func (p fixedPassword) Password() (actions.Secret, error) {
	return actions.NewSecret("test", string(p)), nil
}

// stubConn hands out one tenant. Its administration cannot be reached,
// which only explaining a refusal by Graph would need.
type stubConn struct{ t actions.Tenant }

func (c stubConn) Tenant(context.Context, string) (actions.Tenant, error) { return c.t, nil }

func (c stubConn) Admin(context.Context, string) (actions.Admin, error) {
	return nil, actions.Errorf(actions.EUNAVAILABLE, "no administration in this test")
}

// writes records the writes the stubs are asked for, as text.
type writes []string

// add records one write and returns err, the write's answer.
func (w *writes) add(err error, format string, args ...any) error {
	*w = append(*w, fmt.Sprintf(format, args...))
	return err
}

// usersStub reads u (by ID or UPN) and records user writes; updates are
// answered with updateErr.
func usersStub(w *writes, u actions.User, updateErr error) *mock.Users {
	return &mock.Users{
		UsersFn: func(_ context.Context, ids []string) ([]actions.User, []error) {
			users, errs := make([]actions.User, len(ids)), make([]error, len(ids))
			for i, id := range ids {
				if id != u.ID && id != u.UPN {
					errs[i] = actions.Errorf(actions.ENOTFOUND, "%s does not exist", id)
					continue
				}
				users[i] = u
			}
			return users, errs
		},
		UpdateUserFn: func(_ context.Context, id string, up actions.UserUpdate) error {
			return w.add(updateErr, "update %s %s", id, renderUpdate(up))
		},
		RevokeSessionsFn: func(_ context.Context, id string) error { return w.add(nil, "revoke %s", id) },
		DeleteUserFn:     func(_ context.Context, id string) error { return w.add(nil, "delete-user %s", id) },
	}
}

// renderUpdate writes the fields an update sets, in a fixed order.
func renderUpdate(u actions.UserUpdate) string {
	s := ""
	if u.AccountEnabled != nil {
		s += fmt.Sprintf(" accountEnabled=%t", *u.AccountEnabled)
	}
	if u.Password != nil {
		s += fmt.Sprintf(" password=%s forceChange=%t", u.Password.Reveal(), u.ForceChange)
	}
	if u.PasswordPolicies != nil {
		s += " passwordPolicies=" + *u.PasswordPolicies
	}
	if u.ClearImmutableID {
		s += " clearImmutableID"
	}
	for k, v := range u.Fields {
		s += fmt.Sprintf(" %s=%v", k, v)
	}
	return s[min(1, len(s)):]
}

// result is what a test checks of one run.
type result struct {
	Summary string
	Lines   []string
	Secret  string
	Err     string // code: message
	Writes  []string
}

// run prepares and runs the named action on u with the given bare words,
// name=value pairs and --flags, and returns what came of it and the writes
// w recorded.
func run(t *testing.T, tn actions.Tenant, w *writes, name string, u actions.User, words []string, named map[string]string, flags ...string) result {
	t.Helper()
	a := actions.Default().Lookup(name)
	p, err := a.Bind(words, named, flags)
	if err != nil {
		t.Fatalf("%s %q %q: %v", name, words, flags, err)
	}
	s := &actions.Service{Connector: stubConn{tn}, Env: actions.Env{Passwords: fixedPassword(newPassword)}}
	var r result
	if p, err = s.Prepare(context.Background(), "t", a, []actions.User{u}, p); err == nil {
		res := s.Run(context.Background(), "t", a, []string{u.ID}, p, nil)[0]
		r = result{Summary: res.Outcome.Summary, Lines: res.Outcome.Lines, Secret: res.Outcome.Secret.Reveal()}
		err = res.Err
	}
	if err != nil {
		r.Err = actions.ErrorCode(err) + ": " + actions.ErrorMessage(err)
	}
	r.Writes = *w
	return r
}

func check(t *testing.T, want, got result) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestResetPassword(t *testing.T) {
	synced := adele
	synced.Synced = true
	tests := []struct {
		name      string
		user      actions.User
		flags     []string
		updateErr error
		want      result
	}{
		{name: "OK", user: adele, want: result{
			Summary: "AdeleV@contoso.com: password reset", Secret: newPassword,
			Writes: []string{"update u-adele password=" + newPassword + " forceChange=false"}}},
		{name: "MustChange", user: adele, flags: []string{"must-change"}, want: result{
			Summary: "AdeleV@contoso.com: password reset", Lines: []string{"Must change it at next sign-in."}, Secret: newPassword,
			Writes: []string{"update u-adele password=" + newPassword + " forceChange=true"}}},
		{name: "ErrSynced", user: synced, want: result{
			Err: "conflict: AdeleV@contoso.com is synced from on-premises AD: resetting a synced user's password (with writeback) needs a signed-in admin (delegated access), which cippbot's app-only access cannot do. Reset it in AD, or let the user use self-service password reset. " + actions.GDAPPointer}},
		{name: "ErrThrottled", user: adele, updateErr: actions.Errorf(actions.EUNAVAILABLE, "throttled"), want: result{
			Err:    "unavailable: throttled",
			Writes: []string{"update u-adele password=" + newPassword + " forceChange=false"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writes
			tn := actions.Tenant{Users: usersStub(&w, tt.user, tt.updateErr)}
			check(t, tt.want, run(t, tn, &w, "reset-password", tt.user, nil, nil, tt.flags...))
		})
	}
}

// TestResetPassword_Writeback: on a delegated (GDAP) connection a synced
// user's password is reset through the password method, which writes it
// back; the secret is delivered only when that succeeded.
func TestResetPassword_Writeback(t *testing.T) {
	synced := adele
	synced.Synced = true
	tests := []struct {
		name    string
		user    actions.User
		flags   []string
		resetFn error
		want    result
	}{
		{name: "OK", user: synced, want: result{
			Summary: "AdeleV@contoso.com: password reset and written back to on-premises AD",
			Lines:   []string{"Must change it at next sign-in (a reset through writeback always asks)."}, Secret: newPassword,
			Writes: []string{"writeback u-adele password=" + newPassword}}},
		{name: "ErrWritebackOff", user: synced, resetFn: actions.Errorf(actions.ECONFLICT, "writeback is off"), want: result{
			Err:    "conflict: writeback is off",
			Writes: []string{"writeback u-adele password=" + newPassword}}},
		{name: "CloudUserPatched", user: adele, flags: []string{"must-change"}, want: result{
			Summary: "AdeleV@contoso.com: password reset", Lines: []string{"Must change it at next sign-in."}, Secret: newPassword,
			Writes: []string{"update u-adele password=" + newPassword + " forceChange=true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writes
			tn := actions.Tenant{Users: usersStub(&w, tt.user, nil), Delegated: true, Writeback: &mock.Writeback{
				ResetPasswordWritebackFn: func(_ context.Context, id string, pw actions.Secret) error {
					return w.add(tt.resetFn, "writeback %s password=%s", id, pw.Reveal())
				}}}
			check(t, tt.want, run(t, tn, &w, "reset-password", tt.user, nil, nil, tt.flags...))
		})
	}
}

func TestBlockSignIn(t *testing.T) {
	blocked, synced := adele, adele
	blocked.Enabled = false
	synced.Synced = true
	tests := []struct {
		name string
		user actions.User
		want result
	}{
		{name: "OK", user: adele, want: result{
			Summary: "AdeleV@contoso.com: sign-in blocked",
			Lines:   []string{"Existing sessions stay valid until they expire: run revoke-sessions to end them now."},
			Writes:  []string{"update u-adele accountEnabled=false"}}},
		{name: "AlreadyBlocked", user: blocked, want: result{Summary: "AdeleV@contoso.com: sign-in was already blocked"}},
		{name: "ErrSynced", user: synced, want: result{
			Err: "conflict: AdeleV@contoso.com is synced from on-premises AD: block sign-in there, not in the cloud. Disable the account in AD (it syncs within 30 minutes), then run revoke-sessions here."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writes
			tn := actions.Tenant{Users: usersStub(&w, tt.user, nil)}
			check(t, tt.want, run(t, tn, &w, "block-signin", tt.user, nil, nil))
		})
	}
}

func TestResetMFA(t *testing.T) {
	password := actions.AuthMethod{ID: "m-pw", Kind: "password", Name: "password"}
	phone := actions.AuthMethod{ID: "m-phone", Kind: "phone", Name: "phone"}
	app := actions.AuthMethod{ID: "m-app", Kind: "microsoftAuthenticator", Name: "authenticator app"}
	tests := []struct {
		name    string
		methods []actions.AuthMethod
		fail    map[string]error // by method ID
		noAuth  bool
		want    result
	}{
		{name: "OK", methods: []actions.AuthMethod{password, phone, app}, want: result{
			Summary: "AdeleV@contoso.com: 2 MFA method(s) removed",
			Lines:   []string{"Removed: phone, authenticator app", "They must register MFA again at next sign-in."},
			Writes:  []string{"delete-method u-adele m-phone", "delete-method u-adele m-app"}}},
		{name: "OnlyPassword", methods: []actions.AuthMethod{password}, want: result{
			Summary: "AdeleV@contoso.com: no MFA methods to remove"}},
		{name: "ErrOneFails", methods: []actions.AuthMethod{phone, app},
			fail: map[string]error{"m-phone": actions.Errorf(actions.EFORBIDDEN, "not allowed")}, want: result{
				Err:    "forbidden: removed authenticator app; could not remove phone: not allowed",
				Writes: []string{"delete-method u-adele m-phone", "delete-method u-adele m-app"}}},
		{name: "ErrNoAuth", noAuth: true, want: result{
			Err: "unavailable: this tenant connection cannot reach authentication methods"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writes
			tn := actions.Tenant{Users: usersStub(&w, adele, nil)}
			if !tt.noAuth {
				tn.Auth = &mock.Auth{
					AuthMethodsFn: func(context.Context, string) ([]actions.AuthMethod, error) { return tt.methods, nil },
					DeleteAuthMethodFn: func(_ context.Context, userID string, m actions.AuthMethod) error {
						return w.add(tt.fail[m.ID], "delete-method %s %s", userID, m.ID)
					},
				}
			}
			check(t, tt.want, run(t, tn, &w, "reset-mfa", adele, nil, nil))
		})
	}
}

func TestConvertMailbox(t *testing.T) {
	tests := []struct {
		name       string
		mailbox    actions.Mailbox
		to         string
		noExchange bool
		want       result
	}{
		{name: "ToShared", mailbox: actions.Mailbox{SizeGB: 46}, to: "shared", want: result{
			Summary: "AdeleV@contoso.com: converted to a shared mailbox",
			Lines: []string{"⚠ It holds 46.0 GB: a shared mailbox without a licence stops at 50 GB.",
				"Its licence can now be removed (unless it is over 50 GB or has an archive)."},
			Writes: []string{"set-shared AdeleV@contoso.com true"}}},
		{name: "ToSharedSmall", mailbox: actions.Mailbox{SizeGB: 2}, to: "shared", want: result{
			Summary: "AdeleV@contoso.com: converted to a shared mailbox",
			Lines:   []string{"Its licence can now be removed (unless it is over 50 GB or has an archive)."},
			Writes:  []string{"set-shared AdeleV@contoso.com true"}}},
		{name: "ToUser", mailbox: actions.Mailbox{Shared: true}, to: "user", want: result{
			Summary: "AdeleV@contoso.com: converted to a user mailbox",
			Writes:  []string{"set-shared AdeleV@contoso.com false"}}},
		{name: "AlreadyShared", mailbox: actions.Mailbox{Shared: true}, to: "shared", want: result{
			Summary: "AdeleV@contoso.com: already a shared mailbox"}},
		{name: "ErrNoExchange", to: "shared", noExchange: true, want: result{
			Err: "unavailable: this tenant connection cannot reach Exchange Online"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writes
			tn := actions.Tenant{Users: usersStub(&w, adele, nil)}
			if !tt.noExchange {
				tn.Exchange = &mock.Exchange{
					MailboxFn: func(_ context.Context, id string) (actions.Mailbox, error) {
						if id != adele.UPN {
							t.Errorf("mailbox read by %q, want the UPN", id)
						}
						return tt.mailbox, nil
					},
					SetMailboxSharedFn: func(_ context.Context, id string, shared bool) error {
						return w.add(nil, "set-shared %s %t", id, shared)
					},
				}
			}
			check(t, tt.want, run(t, tn, &w, "convert-mailbox", adele, []string{tt.to}, nil))
		})
	}
}

func TestRemoveInboxRules(t *testing.T) {
	rules := []actions.InboxRule{
		{ID: "r-fwd", Name: "Forward", Enabled: true, ForwardTo: []string{"drop@evil.example"}},
		{ID: "r-team", Name: "Team", Enabled: true, ForwardTo: []string{"bob@contoso.com"}},
		{ID: "r-old", Name: "Old", Delete: true},
		{ID: "r-junk", Name: "Junk E-mail Rule", Enabled: true},
	}
	tests := []struct {
		name  string
		flags []string
		fail  map[string]error // by rule ID
		want  result
	}{
		{name: "Suspicious", want: result{
			Summary: "AdeleV@contoso.com: 1 inbox rules turned off",
			Lines:   []string{`✓ "Forward"`, "1 already off", "Kept as evidence; --delete deletes them", "2 harmless rules kept (--all: every rule)"},
			Writes:  []string{"disable AdeleV@contoso.com r-fwd"}}},
		{name: "Delete", flags: []string{"delete"}, want: result{
			Summary: "AdeleV@contoso.com: 2 inbox rules deleted",
			Lines:   []string{`✓ "Forward"`, `✓ "Old"`, "2 harmless rules kept (--all: every rule)"},
			Writes:  []string{"delete AdeleV@contoso.com r-fwd", "delete AdeleV@contoso.com r-old"}}},
		{name: "All", flags: []string{"all"}, want: result{
			Summary: "AdeleV@contoso.com: 2 inbox rules turned off",
			Lines:   []string{`✓ "Forward"`, `✓ "Team"`, "1 already off", "Kept as evidence; --delete deletes them", "1 harmless rules kept (--all: every rule)"},
			Writes:  []string{"disable AdeleV@contoso.com r-fwd", "disable AdeleV@contoso.com r-team"}}},
		{name: "ErrMidway", flags: []string{"all"}, fail: map[string]error{"r-team": actions.Errorf(actions.EUNAVAILABLE, "Exchange Online is throttling this tenant")}, want: result{
			Err:    `unavailable: rule "Team": Exchange Online is throttling this tenant (done before it: "Forward")`,
			Writes: []string{"disable AdeleV@contoso.com r-fwd", "disable AdeleV@contoso.com r-team"}}},
		{name: "GoneMeanwhile", fail: map[string]error{"r-fwd": actions.Errorf(actions.ENOTFOUND, "no such rule")}, want: result{
			Summary: "AdeleV@contoso.com: 1 inbox rules turned off",
			Lines:   []string{`✓ "Forward"`, "1 already off", "Kept as evidence; --delete deletes them", "2 harmless rules kept (--all: every rule)"},
			Writes:  []string{"disable AdeleV@contoso.com r-fwd"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writes
			tn := actions.Tenant{
				Users: usersStub(&w, adele, nil),
				Org: &mock.Org{OrganizationFn: func(context.Context) (actions.TenantInfo, error) {
					return actions.TenantInfo{Domains: []string{"contoso.com", "contoso.onmicrosoft.com"}}, nil
				}},
				Security: &mock.Security{
					InboxRulesFn: func(context.Context, string) ([]actions.InboxRule, error) { return rules, nil },
					DisableInboxRuleFn: func(_ context.Context, mailbox, id string) error {
						return w.add(tt.fail[id], "disable %s %s", mailbox, id)
					},
					DeleteInboxRuleFn: func(_ context.Context, mailbox, id string) error {
						return w.add(tt.fail[id], "delete %s %s", mailbox, id)
					},
				},
			}
			check(t, tt.want, run(t, tn, &w, "remove-inbox-rules", adele, nil, nil, tt.flags...))
		})
	}
}

func TestAddToGroup(t *testing.T) {
	sales := actions.Group{ID: "g-sales", DisplayName: "Sales", Unified: true, MailEnabled: true}
	news := actions.Group{ID: "g-news", DisplayName: "Newsletter", MailEnabled: true}
	salesDL := actions.Group{ID: "g-sales-dl", DisplayName: "Sales", MailEnabled: true}
	tests := []struct {
		name       string
		groups     []actions.Group // those FindGroups finds
		addErr     error
		noExchange bool
		want       result
	}{
		{name: "OK", groups: []actions.Group{sales}, want: result{
			Summary: "AdeleV@contoso.com: added to Sales",
			Writes:  []string{"add-member g-sales u-adele"}}},
		{name: "AlreadyMember", groups: []actions.Group{sales}, addErr: actions.Errorf(actions.ECONFLICT, "already a member"), want: result{
			Summary: "AdeleV@contoso.com: already in Sales",
			Writes:  []string{"add-member g-sales u-adele"}}},
		{name: "DistributionList", groups: []actions.Group{news}, want: result{
			Summary: "AdeleV@contoso.com: added to Newsletter",
			Writes:  []string{"add-distribution-member g-news u-adele"}}},
		{name: "ErrDistributionListWithoutExchange", groups: []actions.Group{news}, noExchange: true, want: result{
			Err: `unavailable: "Newsletter" is a distribution list: its members change in Exchange Online, which this tenant connection cannot reach`}},
		{name: "ErrAmbiguous", groups: []actions.Group{sales, salesDL}, want: result{
			Err: `invalid: 2 groups are named "Sales": pick one`}},
		{name: "ErrNotFound", want: result{
			Err: `not_found: no group is named "Sales": check the spelling or use its ID`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writes
			tn := actions.Tenant{
				Users: usersStub(&w, adele, nil),
				Groups: &mock.Groups{
					FindGroupsFn: func(context.Context, string) ([]actions.Group, error) { return tt.groups, nil },
					AddGroupMemberFn: func(_ context.Context, groupID, userID string) error {
						return w.add(tt.addErr, "add-member %s %s", groupID, userID)
					},
				},
			}
			if !tt.noExchange {
				tn.Exchange = &mock.Exchange{AddDistributionMemberFn: func(_ context.Context, groupID, userID string) error {
					return w.add(tt.addErr, "add-distribution-member %s %s", groupID, userID)
				}}
			}
			name := "Sales"
			if len(tt.groups) > 0 {
				name = tt.groups[0].DisplayName
			}
			check(t, tt.want, run(t, tn, &w, "add-to-group", adele, []string{name}, nil))
		})
	}
}

// TestRunWithoutCapability: every action that runs on its own refuses a
// tenant connection without the capability it needs in the one way,
// EUNAVAILABLE naming what it cannot reach, and never panics on the nil.
func TestRunWithoutCapability(t *testing.T) {
	for _, a := range actions.Default().All() {
		if a.Run == nil {
			continue
		}
		t.Run(a.Name, func(t *testing.T) {
			_, err := a.Run(context.Background(), actions.Tenant{}, adele, actions.Params{}, actions.Env{Passwords: fixedPassword(newPassword)})
			if actions.ErrorCode(err) != actions.EUNAVAILABLE || !strings.HasPrefix(actions.ErrorMessage(err), "this tenant connection cannot reach ") {
				t.Errorf("Run on an empty tenant = %v, want EUNAVAILABLE: this tenant connection cannot reach …", err)
			}
		})
	}
}

// TestOffboardSteps: a failed step skips the steps that depend on it and
// no others, and mailbox steps are skipped without Exchange Online.
func TestOffboardSteps(t *testing.T) {
	denied := actions.Errorf(actions.EFORBIDDEN, "denied")
	tests := []struct {
		name       string
		steps      string
		updateErr  error
		sharedErr  error
		noExchange bool
		want       result
	}{
		{name: "OK", steps: "revoke,block,delete", want: result{
			Summary: "AdeleV@contoso.com: offboarded",
			Lines:   []string{"✓ Revoke sessions", "✓ Block sign-in", "✓ Delete user: restorable for 30 days"},
			Writes:  []string{"revoke u-adele", "update u-adele accountEnabled=false", "delete-user u-adele"}}},
		{name: "DeleteAfterAFailure", steps: "revoke,block,delete", updateErr: denied, want: result{
			Summary: "AdeleV@contoso.com: offboarded, but 1 of 3 steps failed",
			Lines:   []string{"✓ Revoke sessions", "✗ Block sign-in: denied", "– Delete user: skipped: an earlier step failed"},
			Writes:  []string{"revoke u-adele", "update u-adele accountEnabled=false"}}},
		{name: "LicencesAfterShared", steps: "revoke,shared,licenses", sharedErr: actions.Errorf(actions.ECONFLICT, "too big"), want: result{
			Summary: "AdeleV@contoso.com: offboarded, but 1 of 3 steps failed",
			Lines:   []string{"✓ Revoke sessions", "✗ Convert to shared mailbox: too big", "– Remove licences: skipped: an earlier step failed"},
			Writes:  []string{"revoke u-adele", "set-shared u-adele true"}}},
		{name: "NoExchange", steps: "revoke,hide", noExchange: true, want: result{
			Summary: "AdeleV@contoso.com: offboarded",
			Lines:   []string{"✓ Revoke sessions", "– Hide from address list: skipped: no Exchange Online connection"},
			Writes:  []string{"revoke u-adele"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writes
			tn := actions.Tenant{Users: usersStub(&w, adele, tt.updateErr)}
			if !tt.noExchange {
				tn.Exchange = &mock.Exchange{
					MailboxFn: func(context.Context, string) (actions.Mailbox, error) { return actions.Mailbox{}, nil },
					SetMailboxSharedFn: func(_ context.Context, id string, shared bool) error {
						return w.add(tt.sharedErr, "set-shared %s %t", id, shared)
					},
				}
			}
			check(t, tt.want, run(t, tn, &w, "offboard", adele, nil, map[string]string{"steps": tt.steps}))
		})
	}
}
