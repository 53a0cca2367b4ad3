package actions

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// Tests of the catalogue's pure parts, where they live: the end-to-end
// journeys in cmd/cippbot cover the wire, these cover the decisions.

func TestSetPolicy(t *testing.T) {
	tests := []struct {
		current, policy string
		on              bool
		want            string
	}{
		{"", "DisablePasswordExpiration", true, "DisablePasswordExpiration"},
		{"None", "DisablePasswordExpiration", true, "DisablePasswordExpiration"},
		{"DisablePasswordExpiration", "DisablePasswordExpiration", false, "None"},
		// Other policies are kept, sorted, whatever their spacing.
		{"DisableStrongPassword", "DisablePasswordExpiration", true, "DisablePasswordExpiration, DisableStrongPassword"},
		{"DisableStrongPassword,DisablePasswordExpiration", "DisablePasswordExpiration", false, "DisableStrongPassword"},
		// Graph's value is case-insensitive; turning on twice is once.
		{"disablepasswordexpiration", "DisablePasswordExpiration", true, "DisablePasswordExpiration"},
		{" None , ", "DisablePasswordExpiration", false, "None"},
	}
	for _, tt := range tests {
		if got := setPolicy(tt.current, tt.policy, tt.on); got != tt.want {
			t.Errorf("setPolicy(%q, %q, %v) = %q, want %q", tt.current, tt.policy, tt.on, got, tt.want)
		}
	}
	if got := normalizePolicies("DisableStrongPassword , DisablePasswordExpiration"); got != "DisablePasswordExpiration, DisableStrongPassword" {
		t.Errorf("normalizePolicies = %q", got)
	}
}

func TestPasswordNeverExpiresPlan(t *testing.T) {
	u := User{ID: "u1", UPN: "a@contoso.com", PasswordPolicies: "DisableStrongPassword"}
	plan, err := passwordNeverExpires.Plan(u, Params{"state": "on"}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Op == nil || *plan.Op.Update.PasswordPolicies != "DisablePasswordExpiration, DisableStrongPassword" {
		t.Fatalf("plan = %+v, want a write keeping DisableStrongPassword", plan)
	}
	u.PasswordPolicies = "DisablePasswordExpiration, DisableStrongPassword"
	plan, _ = passwordNeverExpires.Plan(u, Params{"state": "on"}, Env{})
	if plan.Op != nil || !strings.Contains(plan.Outcome.Summary, "already on") {
		t.Errorf("already set: plan = %+v, want no write", plan)
	}
}

func TestOOOWindow(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	tests := []struct {
		name      string
		p         Params
		wantErr   string
		wantStart time.Time // read in Berlin
	}{
		{"neither", Params{}, "", time.Time{}},
		{"only start", Params{"start": "2026-12-24"}, "give both", time.Time{}},
		{"not a date", Params{"start": "christmas", "end": "2026-12-27"}, `start "christmas" is not a date`, time.Time{}},
		{"end before start", Params{"start": "2026-12-27", "end": "2026-12-24"}, "end must be after start", time.Time{}},
		{"equal", Params{"start": "2026-12-24T09:00", "end": "2026-12-24T09:00"}, "end must be after start", time.Time{}},
		// Wall-clock times are the mailbox's own.
		{"wall clock", Params{"start": "2026-12-24T09:00", "end": "2026-12-27"}, "", time.Date(2026, 12, 24, 8, 0, 0, 0, time.UTC)},
		// An offset is an instant, whatever the mailbox's zone.
		{"instant", Params{"start": "2026-12-24T09:00Z", "end": "2026-12-27T00:00:00+01:00"}, "", time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)},
		// A mix is checked once the zone is known, not here.
		{"mixed", Params{"start": "2026-12-24T09:00Z", "end": "2026-12-24"}, "", time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, err := oooWindow(tt.p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(ErrorMessage(err), tt.wantErr) || ErrorCode(err) != EINVALID {
					t.Fatalf("err = %v, want invalid %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := start.in(berlin); !got.Equal(tt.wantStart) {
				t.Errorf("start = %v, want %v", got, tt.wantStart)
			}
			if !tt.wantStart.IsZero() && end.t.IsZero() {
				t.Error("end lost")
			}
		})
	}
}

func TestSignInEvidence(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	since := now.Add(-researchWindow)
	old := func(country string) SignIn {
		return SignIn{Time: now.Add(-20 * 24 * time.Hour), OK: true, Country: country}
	}
	recent := func(country, ip string, ok bool, risk string) SignIn {
		return SignIn{Time: now.Add(-time.Hour), OK: ok, Country: country, IP: ip, Location: "somewhere", App: "Outlook", Risk: risk}
	}
	fails := func(n int) []SignIn {
		var out []SignIn
		for i := range n {
			out = append(out, recent("DE", []string{"198.51.100.1", "198.51.100.2"}[i%2], false, ""))
		}
		return out
	}
	tests := []struct {
		name string
		in   []SignIn
		want []evidence
	}{
		{"quiet", []SignIn{old("DE"), recent("DE", "203.0.113.1", true, "")}, nil},
		{"new country", []SignIn{old("DE"), recent("NG", "203.0.113.9", true, "")},
			[]evidence{{"Sign-in from a new country: somewhere, 203.0.113.9, Outlook (Dec 6 11:00Z)", true}}},
		// With no history there is nothing to call new.
		{"no baseline", []SignIn{recent("NG", "203.0.113.9", true, "")}, nil},
		// A failed sign-in from a new country is not one.
		{"failed abroad", []SignIn{old("DE"), recent("NG", "203.0.113.9", false, "")}, nil},
		{"new country once", []SignIn{old("DE"), recent("NG", "203.0.113.9", true, ""), recent("NG", "203.0.113.10", true, "")},
			[]evidence{{"Sign-in from a new country: somewhere, 203.0.113.9, Outlook (Dec 6 11:00Z)", true}}},
		{"high risk", []SignIn{old("DE"), recent("DE", "203.0.113.1", true, "high"), recent("DE", "203.0.113.1", false, "high")},
			[]evidence{{"1 high-risk sign-in", true}}},
		{"four failures", append([]SignIn{old("DE")}, fails(4)...), nil},
		{"five failures", append([]SignIn{old("DE")}, fails(5)...),
			[]evidence{{"5 failed sign-ins from 2 addresses", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := signInEvidence(tt.in, since); !slices.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestRuleEvidence(t *testing.T) {
	domains := []string{"contoso.com", "contoso.onmicrosoft.com"}
	tests := []struct {
		name string
		rule InboxRule
		want string // "" for no evidence
	}{
		{"inside forward", InboxRule{Name: "to boss", Enabled: true, ForwardTo: []string{"Boss@Contoso.com"}}, ""},
		{"recipient name", InboxRule{Name: "to boss", Enabled: true, ForwardTo: []string{"Miriam Graham"}}, ""},
		{"outside forward", InboxRule{Name: "x", Enabled: true, ForwardTo: []string{"drop@evil.example"}}, `Inbox rule "x" forwards to drop@evil.example`},
		{"hidden name", InboxRule{Name: "..", Enabled: true, Delete: true, MarkRead: true}, `Inbox rule ".." (a name meant to go unnoticed) deletes mail, marks it read`},
		{"rss", InboxRule{Name: "tidy", Enabled: false, MoveTo: "RSS Feeds"}, `Inbox rule "tidy" (disabled) moves mail to RSS Feeds`},
		{"ordinary move", InboxRule{Name: "news", Enabled: true, MoveTo: "Newsletters", MarkRead: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, bad := ruleEvidence(tt.rule, domains)
			if bad != (tt.want != "") || e.line != tt.want {
				t.Errorf("got %q (%v), want %q", e.line, bad, tt.want)
			}
			if bad && !e.strong {
				t.Error("a rule that hides or sends mail away is strong evidence")
			}
		})
	}
}

func TestWeigh(t *testing.T) {
	strong := evidence{"s", true}
	weak := evidence{"w", false}
	tests := []struct {
		ev    []evidence
		want  string
		lines []string
	}{
		{nil, VerdictClean, nil},
		{[]evidence{weak}, VerdictSuspicious, []string{"w"}},
		{[]evidence{weak, weak}, VerdictSuspicious, []string{"w", "w"}},
		{[]evidence{strong}, VerdictSuspicious, []string{"s"}},
		{[]evidence{weak, strong}, VerdictCompromised, []string{"s", "w"}},
		{[]evidence{strong, {"t", true}}, VerdictCompromised, []string{"s", "t"}},
	}
	for _, tt := range tests {
		v, lines := weigh(tt.ev)
		if v != tt.want || !slices.Equal(lines, tt.lines) {
			t.Errorf("weigh(%v) = %s %v, want %s %v", tt.ev, v, lines, tt.want, tt.lines)
		}
	}
}

func TestOffboardPlan(t *testing.T) {
	tests := []struct {
		name    string
		p       Params
		want    string // the pinned steps, or the error
		wantErr bool
	}{
		{"default", Params{}, "revoke,password,block,hide,groups,rules,forward,shared,mfa,licenses,immutable", false},
		{"ooo joins the default", Params{"ooo": "gone"}, "revoke,password,block,hide,groups,rules,forward,ooo,shared,mfa,licenses,immutable", false},
		// Whatever order they are typed in, steps run in CIPP's order.
		{"reordered", Params{"steps": "delete, revoke,BLOCK"}, "revoke,block,delete", false},
		// Deleting takes the mailbox along: converting it first keeps nothing.
		{"all", Params{"steps": "all", "ooo": "gone"}, "leave out delete or shared", true},
		{"all but shared", Params{"steps": "revoke,password,block,delete"}, "revoke,password,block,delete", false},
		{"unknown step", Params{"steps": "revoke,nuke"}, `offboard has no step "nuke"`, true},
		{"ooo without message", Params{"steps": "ooo"}, "needs ooo=", true},
		{"forward not an address", Params{"forward": "Miriam"}, "forward= is an e-mail address", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := offboard.Prepare(context.Background(), Tenant{}, tt.p)
			if tt.wantErr {
				if err == nil || ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.want) {
					t.Fatalf("err = %v, want invalid %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q["steps"] != tt.want {
				t.Errorf("steps = %s\nwant    %s", q["steps"], tt.want)
			}
		})
	}
}

// TestOffboardStepDependencies pins the two dependencies that keep
// offboarding from losing data: licences go only once the mailbox is
// shared (or a user mailbox would be deleted after 30 days), and delete
// runs only when every earlier step succeeded.
func TestOffboardStepDependencies(t *testing.T) {
	after := map[string][]string{}
	var order []string
	for _, s := range offboardSteps() {
		after[s.name] = s.after
		order = append(order, s.name)
	}
	if !slices.Equal(after["licenses"], []string{"shared"}) {
		t.Errorf("licenses after %v, want [shared]", after["licenses"])
	}
	if !slices.Equal(after["delete"], []string{"*"}) {
		t.Errorf("delete after %v, want [*]", after["delete"])
	}
	if order[len(order)-1] != "delete" {
		t.Errorf("delete is not last: %v", order)
	}
	for name, deps := range after {
		for _, d := range deps {
			if d != "*" && slices.Index(order, d) > slices.Index(order, name) {
				t.Errorf("%s depends on %s, which runs after it", name, d)
			}
		}
	}
}
