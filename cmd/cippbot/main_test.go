package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/pgtest"
	"github.com/cippbot/cippbot/internal/testmain"
)

// runAsMain is the environment variable that makes the test binary run
// as cippbot itself (main, with the command line it was given), so that
// tests can run cippbot as a separate process, to kill it or hand it a
// damaged file, without building it first.
const runAsMain = "CIPPBOT_TEST_RUN_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsMain) == "1" {
		main() // exits
	}
	if os.Getenv(childServeEnv) != "" { // a replica of the two-replica test (storepg_test.go)
		os.Exit(childServe())
	}
	testmain.Parallel(8)
	// The PostgreSQL tests share one throwaway cluster (internal/pgtest).
	os.Exit(pgtest.Main(m))
}

// run is one scripted console session against a simulated tenant.
type run struct {
	sim  *fakegraph.Server
	path string
	// reasonOptional is CIPPBOT_REASON_OPTIONAL; tests that are not about
	// reasons leave them optional.
	reasonOptional []string
	out            bytes.Buffer
	logs           bytes.Buffer
}

func newRun(t *testing.T) *run {
	t.Helper()
	r := &run{sim: fakegraph.NewTest(t, fakegraph.Options{}), path: filepath.Join(t.TempDir(), "cippbot.db"), reasonOptional: []string{"all"}}
	r.sim.Start()
	t.Cleanup(r.sim.Close)
	return r
}

// start starts cippbot's console on the run's store, as a new process
// would; the caller closes it.
func (r *run) start(t *testing.T) *demo {
	t.Helper()
	cfg := DefaultConfig()
	cfg.noSync = true // the store dies with the test
	cfg.DataPath = r.path
	cfg.ReasonOptional = r.reasonOptional
	log := slog.New(slog.NewJSONHandler(&r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := startDemo(context.Background(), cfg, r.sim, &r.out, false, log)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// session runs the lines as a console chat and returns the new output.
func (r *run) session(t *testing.T, lines ...string) string {
	t.Helper()
	before := r.out.Len()
	d := r.start(t)
	defer d.Close()
	if err := d.console.Run(context.Background(), strings.NewReader(strings.Join(lines, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
	d.bot.Wait()
	return r.out.String()[before:]
}

// blocks splits console output into messages: a header line and its
// indented lines.
func blocks(out string) []string {
	var bs []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "    ") && len(bs) > 0 {
			bs[len(bs)-1] += "\n" + l
			continue
		}
		bs = append(bs, l)
	}
	return bs
}

var secretLine = regexp.MustCompile(`(?m)^    (\S+@contoso\.com) (password|temporary access pass): (\S+)$`)

// secrets returns the secrets revealed in private blocks, failing if one is
// revealed anywhere else or to someone other than reader.
func secrets(t *testing.T, out, reader string) []string {
	t.Helper()
	var found []string
	for _, b := range blocks(out) {
		m := secretLine.FindAllStringSubmatch(b, -1)
		if len(m) == 0 {
			continue
		}
		if !strings.HasPrefix(b, "(only "+reader+" sees this)") {
			t.Errorf("secret outside %s's private message:\n%s", reader, b)
		}
		for _, x := range m {
			found = append(found, x[3])
		}
	}
	return found
}

// assertNowhere checks that secret appears in no log line, no audit
// export, no byte of the bbolt file and exactly once in the chat output.
func (r *run) assertNowhere(t *testing.T, secret string) {
	t.Helper()
	if n := strings.Count(r.out.String(), secret); n != 1 {
		t.Errorf("secret appears %d times in chat output, want once (privately)", n)
	}
	if strings.Contains(r.logs.String(), secret) {
		t.Error("secret in the logs")
	}
	var stdout, stderr bytes.Buffer
	env := func(k string) string {
		if k == "CIPPBOT_DATA" {
			return r.path
		}
		return ""
	}
	if code := Main(context.Background(), []string{"audit", "export", "--format", "jsonl"}, nil, &stdout, &stderr, env); code != 0 {
		t.Fatalf("audit export: %d %s", code, stderr.String())
	}
	if strings.Contains(stdout.String(), secret) {
		t.Error("secret in the audit trail")
	}
	if !strings.Contains(stdout.String(), `"kind":"outcome"`) {
		t.Error("audit export lacks the outcome")
	}
	raw, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) {
		t.Error("secret in the bbolt file")
	}
}

func (r *run) verify(t *testing.T) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := func(k string) string {
		if k == "CIPPBOT_DATA" {
			return r.path
		}
		return ""
	}
	code := Main(context.Background(), []string{"audit", "verify"}, nil, &stdout, &stderr, env)
	return code, stdout.String() + stderr.String()
}

// TestResetPasswordEndToEnd is the path a newcomer takes in the demo:
// riley asks, riley's own approval is refused, sam approves, the tenant
// holds the new password, riley alone sees it, the audit verifies, and
// the password is nowhere else.
func TestResetPasswordEndToEnd(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t,
		`/cipp reset-password AdeleV@contoso.com --must-change reason="locked out"`,
		"approve 1",
		"/as sam",
		"approve 1",
	)
	for _, want := range []string{
		"Approval needed: reset-password AdeleV@contoso.com",
		"Reason: locked out",
		"(only riley sees this) You cannot approve your own request",
		"AdeleV@contoso.com: password reset",
		"approved by sam",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	got := secrets(t, out, "riley")
	if len(got) != 1 {
		t.Fatalf("%d secrets revealed, want 1:\n%s", len(got), out)
	}
	pw := got[0]
	if len(pw) != 14 || strings.ContainsAny(pw, "IJOQ01ijlopq") {
		t.Errorf("password %d chars with look-alikes? (not shown)", len(pw))
	}
	u, ok := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	if !ok || u.Password != pw || !u.ForceChangePasswordNextSignIn {
		t.Fatalf("tenant password matches=%v force=%v", u.Password == pw, u.ForceChangePasswordNextSignIn)
	}
	if code, msg := r.verify(t); code != 0 {
		t.Fatalf("audit verify = %d: %s", code, msg)
	}
	r.assertNowhere(t, pw)
}

func TestCreateTAPEndToEnd(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, "/cipp create-tap AlexW@contoso.com lifetime=60 --once", "/as sam", "approve 1")
	got := secrets(t, out, "riley")
	if len(got) != 1 {
		t.Fatalf("%d secrets revealed, want 1:\n%s", len(got), out)
	}
	u, _ := r.sim.User(fakegraph.ContosoTenantID, "AlexW@contoso.com")
	if u.TAP != got[0] || u.TAPLifetimeMinutes != 60 || !u.TAPUsableOnce {
		t.Fatalf("tenant TAP matches=%v lifetime=%d once=%v", u.TAP == got[0], u.TAPLifetimeMinutes, u.TAPUsableOnce)
	}
	r.assertNowhere(t, got[0])
}

func TestThrottledTenantRetried(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	r.sim.Inject(fakegraph.Fault{Method: "PATCH", PathContains: "/users/", Status: 429, RetryAfter: "0", Times: 2})
	out := r.session(t, "/cipp block-signin AdeleV@contoso.com", "/as sam", "approve 1")
	if !strings.Contains(out, "AdeleV@contoso.com: sign-in blocked") {
		t.Fatalf("block after throttling failed:\n%s", out)
	}
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); u.AccountEnabled {
		t.Fatal("user still enabled")
	}
	var throttled int
	for _, q := range r.sim.Requests() {
		if q.Method == "PATCH" && q.Status == 429 {
			throttled++
		}
	}
	if throttled != 2 {
		t.Errorf("%d throttled PATCHes, want 2", throttled)
	}
}

func TestSyncedUserBlockReportedHonestly(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	out := r.session(t, "/cipp block-signin GradyA@contoso.com")
	if !strings.Contains(out, "GradyA@contoso.com is synced from on-premises AD") || strings.Contains(out, "Approval needed") {
		t.Fatalf("output:\n%s", out)
	}
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, "GradyA@contoso.com"); !u.AccountEnabled {
		t.Fatal("synced user disabled")
	}
	for _, q := range r.sim.Requests() {
		if q.Method == "PATCH" {
			t.Fatal("a PATCH was sent for a synced user")
		}
	}
}

func TestPendingApprovalSurvivesRestart(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	r.session(t, "/cipp delete-user PattiF@contoso.com")
	out := r.session(t, "/as sam", "approve 1")
	if !strings.Contains(out, "PattiF@contoso.com: deleted") {
		t.Fatalf("after restart:\n%s", out)
	}
	if code, msg := r.verify(t); code != 0 {
		t.Fatalf("audit verify = %d: %s", code, msg)
	}
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	r.session(t, "/cipp revoke-sessions AdeleV@contoso.com", "/cipp user AlexW@contoso.com")
	if code, msg := r.verify(t); code != 0 {
		t.Fatalf("audit verify before tampering = %d: %s", code, msg)
	}
	db, err := bbolt.Open(r.path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k, v := b.Cursor().First()
		return b.Put(k, bytes.Replace(v, []byte("riley"), []byte("sam"), 1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, msg := r.verify(t)
	if code == 0 || !strings.Contains(msg, "audit record 1") {
		t.Fatalf("audit verify after tampering = %d: %s", code, msg)
	}
}

func TestMain_ScriptedDemo(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	script := "/cipp help\n/cipp reset-password AdeleV@contoso.com reason=\"locked out\"\n/as sam\napprove 1\n"
	code := Main(context.Background(), []string{"demo"}, strings.NewReader(script), &stdout, &stderr, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"riley> /cipp help", "reset-password", "AdeleV@contoso.com: password reset", "(only riley sees this)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestMain_Usage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		env  map[string]string
		code int
		want string
	}{
		{[]string{"version"}, nil, 0, "cippbot"},
		{[]string{"frobnicate"}, nil, 2, "unknown command"},
		{[]string{"version"}, map[string]string{"CIPPBOT_ADMINS": "U123"}, 2, "not platform:userID"},
		{[]string{"version"}, map[string]string{"CIPPBOT_APPROVAL_TTL": "soon"}, 2, "not a duration"},
		{[]string{"version"}, map[string]string{"CIPPBOT_APPROVAL_RETENTION": "90d"}, 2, "CIPPBOT_APPROVAL_RETENTION: \"90d\" is not a duration"},
		{[]string{"version"}, map[string]string{"CIPPBOT_APPROVAL_RETENTION": "1h"}, 2, "less than 24h"},
		{[]string{"version"}, map[string]string{"CIPPBOT_LEASE_TTL": "500ms"}, 2, "CIPPBOT_LEASE_TTL: 500ms is not between 1s and 5m"},
		{[]string{"serve"}, nil, 2, "AZURE_CLIENT_ID"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tt.args, nil, &stdout, &stderr, func(k string) string { return tt.env[k] })
			if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.want) {
				t.Errorf("Main(%v) = %d %q, want %d containing %q", tt.args, code, stdout.String()+stderr.String(), tt.code, tt.want)
			}
		})
	}
}

func TestSecretFromFile(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(func(k string) string {
		if k == "AZURE_CLIENT_SECRET_FILE" {
			return f
		}
		return ""
	})
	if err != nil || cfg.ClientSecret != "s3cret" {
		t.Fatalf("LoadConfig = %q, %v", cfg.ClientSecret, err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "config", cfg)
	if strings.Contains(logs.String(), "s3cret") {
		t.Error("config logged its secret")
	}
}

// TestBulkSummaryExact: a bulk run with throttled items and two failures
// reports exactly which failed and why, done and failed counts, and one
// audit record per target.
func TestBulkSummaryExact(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	var upns []string
	var failing []string
	for _, u := range r.sim.Users(fakegraph.ContosoTenantID) {
		if len(u.Roles) > 0 {
			continue // admins need more than a helpdesk request
		}
		upns = append(upns, u.UserPrincipalName)
		if len(failing) < 2 && u.UserPrincipalName != "AdeleV@contoso.com" {
			failing = append(failing, u.UserPrincipalName)
			r.sim.Inject(fakegraph.Fault{Method: "POST", PathContains: u.ID + "/revokeSignInSessions", Status: 403,
				Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation.", Times: -1})
		}
	}
	r.sim.Inject(fakegraph.Fault{Method: "POST", PathContains: "revokeSignInSessions", Status: 429, RetryAfter: "0.05", Every: 5})
	out := r.session(t, "/cipp revoke-sessions "+strings.Join(upns, " "))
	want := fmt.Sprintf("%d done, 2 failed", len(upns)-2)
	if !strings.Contains(out, "Partly done: revoke-sessions") || !strings.Contains(out, want) {
		t.Fatalf("summary lacks %q:\n%s", want, out)
	}
	for _, f := range failing {
		if !strings.Contains(out, "✗ "+f+": cippbot's app lacks the permission") {
			t.Errorf("failure of %s not named with its reason:\n%s", f, out)
		}
	}
	if !strings.Contains(out, "throttled this tenant") {
		t.Error("the reply does not say the tenant throttled us")
	}
	var stdout, stderr bytes.Buffer
	env := func(k string) string {
		if k == "CIPPBOT_DATA" {
			return r.path
		}
		return ""
	}
	Main(context.Background(), []string{"audit", "export", "--format", "jsonl"}, nil, &stdout, &stderr, env)
	var perTarget, failed int
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if strings.Contains(line, `"kind":"outcome"`) && strings.Count(line, `"upn"`) == 1 {
			perTarget++
			if strings.Contains(line, `"outcome":"failed"`) {
				failed++
			}
		}
	}
	if perTarget != len(upns) || failed != 2 {
		t.Errorf("%d per-target outcome records (%d failed), want %d (2)", perTarget, failed, len(upns))
	}
}

func TestBulkFromFile(t *testing.T) {
	// Not parallel: t.Chdir.
	r := newRun(t)
	t.Chdir(t.TempDir()) // the console attaches files of the working directory
	f := "leavers.csv"
	must(t, os.WriteFile(f, []byte("displayName,userPrincipalName\nAdele,AdeleV@contoso.com\nAlex,AlexW@contoso.com\nMegan,MeganB@contoso.com\n"), 0o600))
	out := r.session(t, "/cipp revoke-sessions file="+f)
	if !strings.Contains(out, "3 done, 0 failed") {
		t.Fatalf("bulk from a file:\n%s", out)
	}
	out = r.session(t, "/cipp create-tap file="+f)
	if !strings.Contains(out, "a file of users works with bulk actions") {
		t.Errorf("file on a single-user action:\n%s", out)
	}
}

func TestConsoleAsksForReason(t *testing.T) {
	t.Parallel()
	r := newRun(t)
	r.reasonOptional = nil
	out := r.session(t, "/cipp block-signin AdeleV@contoso.com", "she left today")
	if !strings.Contains(out, "Why block-signin AdeleV@contoso.com? A reason is needed.") ||
		!strings.Contains(out, "Reason? Type it on the next line") || !strings.Contains(out, "Reason: she left today") {
		t.Fatalf("no reason prompt or it was not used:\n%s", out)
	}
	out = r.session(t, "/cipp delete-user AdeleV@contoso.com", "/cancel")
	if !strings.Contains(out, "Cancelled.") || strings.Contains(out, "Approval needed") {
		t.Fatalf("cancel:\n%s", out)
	}
}
