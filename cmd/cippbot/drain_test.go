package main

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
	"github.com/cippbot/cippbot/store"
)

// binaryRun is cippbot serving Slack over HTTP against a fake Slack and
// the simulated tenant, as a separate process: the test binary itself,
// run as cippbot (see TestMain), so that nothing has to be built.
type binaryRun struct {
	bin, data, addr string
	env             []string
	sim             *fakegraph.Server
	fs              *fakeslack.Server
	cmd             *exec.Cmd
	done            chan error
	logs            *syncBuffer
}

func newBinaryRun(t *testing.T) *binaryRun {
	t.Helper()
	if testing.Short() {
		t.Skip("runs cippbot as a separate process")
	}
	dir := t.TempDir()
	bin, err := os.Executable()
	must(t, err)
	r := &binaryRun{bin: bin, data: filepath.Join(dir, "serve.db")}
	r.sim = fakegraph.NewTest(t, fakegraph.Options{})
	r.sim.Start()
	t.Cleanup(r.sim.Close)
	certFile := filepath.Join(dir, "sim.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.sim.Certificate().Raw}), 0o600))
	r.fs = fakeslack.NewTest(t, fakeslack.Options{})
	t.Cleanup(r.fs.Close)
	r.fs.AddChannel("COPS", "ops", "URILEY", fakeslack.DefaultBotUserID)

	db := store.NewDB(r.data)
	must(t, db.Open())
	ctx := context.Background()
	must(t, db.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}))
	must(t, db.PutGrant(ctx, bot.Grant{Actor: "slack:URILEY", Role: bot.RoleHelpdesk, GrantedBy: "test"}))
	must(t, db.Close())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	r.addr = ln.Addr().String()
	ln.Close()
	r.env = append(os.Environ(), runAsMain+"=1", "CIPPBOT_DATA="+r.data, "CIPPBOT_LISTEN="+r.addr, "SSL_CERT_FILE="+certFile,
		"AZURE_CLIENT_ID="+fakegraph.DefaultClientID, "AZURE_CLIENT_SECRET="+fakegraph.DefaultClientSecret,
		"CIPPBOT_GRAPH_URL="+r.sim.URL(), "AZURE_AUTHORITY_HOST="+r.sim.URL()+"/",
		"SLACK_BOT_TOKEN="+fakeslack.DefaultBotToken, "SLACK_SIGNING_SECRET="+fakeslack.DefaultSigningSecret,
		"SLACK_API_URL="+r.fs.APIURL(), "LOG_LEVEL=warn")
	return r
}

// start runs serve and waits until it is ready.
func (r *binaryRun) start(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command(r.bin, "serve")
	r.cmd.Env = r.env
	r.logs = &syncBuffer{}
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	must(t, r.cmd.Start())
	r.done = make(chan error, 1)
	cmd, done := r.cmd, r.done
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitReady(t, "http://"+r.addr)
}

func (r *binaryRun) slash(t *testing.T, text string) {
	t.Helper()
	resp, err := r.fs.SlashCommand("http://"+r.addr+"/slack/commands", "/cipp", text, "COPS", "URILEY")
	must(t, err)
	resp.Body.Close()
}

// sawRoles reports whether the simulated tenant has answered a role
// assignments read (inside a $batch or not).
func (r *binaryRun) sawRoles() bool {
	for _, q := range r.sim.Requests() {
		if strings.HasSuffix(q.Path, "/roleManagement/directory/roleAssignments") && q.Status == 200 {
			return true
		}
	}
	return false
}

func (r *binaryRun) revokes() int {
	n := 0
	for _, q := range r.sim.Requests() {
		if strings.HasSuffix(q.Path, "revokeSignInSessions") {
			n++
		}
	}
	return n
}

// TestSIGTERMDrains runs cippbot as a process, sends a command and sends
// SIGTERM while its Graph call is in flight: serve stops listening, lets
// the work finish, posts the result, writes the audit and exits 0.
func TestSIGTERMDrains(t *testing.T) {
	t.Parallel()
	r := newBinaryRun(t)
	r.start(t)
	adele, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com")
	hold := r.sim.Hold("POST", "/revokeSignInSessions")
	defer hold.Release()
	r.slash(t, "revoke-sessions AdeleV@contoso.com")
	waitFor(t, hold.Arrived(), "the revoke to reach the tenant", r.logs)
	must(t, r.cmd.Process.Signal(syscall.SIGTERM))
	// serve must not exit while the revoke is still in flight.
	select {
	case err := <-r.done:
		t.Fatalf("serve exited with %v before the in-flight revoke was answered\n%s", err, r.logs.String())
	case <-time.After(200 * time.Millisecond):
	}
	hold.Release()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, r.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop\n%s", r.logs.String())
	}
	var posted bool
	for _, m := range r.fs.Messages() {
		if strings.Contains(m.Text, "sessions revoked") {
			posted = true
		}
	}
	if !posted {
		t.Errorf("the in-flight request's result was not posted\n%s", r.logs.String())
	}
	// Seeded users have sessions valid from their last password change.
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); !u.SignInSessionsValidFrom.After(adele.SignInSessionsValidFrom) {
		t.Error("the in-flight request did not finish")
	}
	if _, err := http.Get("http://" + r.addr + "/healthz"); err == nil || !errors.Is(err, syscall.ECONNREFUSED) && !strings.Contains(err.Error(), "refused") {
		t.Errorf("serve still answers after it stopped: %v", err)
	}
	db := store.NewDB(r.data)
	must(t, db.Open())
	defer db.Close()
	recs, err := db.Audit(context.Background(), bot.AuditFilter{})
	must(t, err)
	if last := recs[len(recs)-1]; last.Kind != bot.KindOutcome || last.Outcome != "ok" {
		t.Errorf("last audit record = %+v", last)
	}
	if _, err := db.VerifyAudit(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestKillMarksOutcomeUnknown kills serve while a change runs; the next
// start marks it "outcome unknown", tells the requester and never runs it
// again.
func TestKillMarksOutcomeUnknown(t *testing.T) {
	t.Parallel()
	r := newBinaryRun(t)
	r.start(t)
	hold := r.sim.Hold("POST", "/revokeSignInSessions")
	defer hold.Release()
	r.slash(t, "revoke-sessions AdeleV@contoso.com")
	waitFor(t, hold.Arrived(), "the revoke to reach the tenant", r.logs)
	must(t, r.cmd.Process.Kill())
	<-r.done
	// The revoke in flight when serve died is answered (and recorded)
	// once it is let go; count only after that.
	hold.Release()
	waitFor(t, hold.Done(), "the held revoke to be answered", r.logs)
	before := r.revokes()
	if before == 0 {
		t.Fatal("no revoke recorded")
	}

	r.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := r.fs.WaitForMessage(ctx, func(m fakeslack.Message) bool {
		return m.User == "URILEY" && strings.Contains(m.Text, "outcome is unknown")
	}); err != nil {
		t.Fatalf("requester not told: %v\n%s", err, r.logs.String())
	}
	// Once serve has stopped, whatever it was going to send has been sent.
	must(t, r.cmd.Process.Signal(syscall.SIGTERM))
	<-r.done
	if after := r.revokes(); after != before {
		t.Errorf("the interrupted request was sent again (%d → %d)", before, after)
	}
	db := store.NewDB(r.data)
	must(t, db.Open())
	defer db.Close()
	recs, err := db.Audit(context.Background(), bot.AuditFilter{})
	must(t, err)
	var unknown bool
	for _, rec := range recs {
		if rec.Kind == bot.KindOutcome && rec.Outcome == "unknown" && rec.Action == "revoke-sessions" {
			unknown = true
		}
	}
	if !unknown {
		t.Error("no 'outcome unknown' audit record")
	}
}

// waitFor waits up to 20 s for ch to be closed, failing the test with the
// process's logs if it is not.
func waitFor(t *testing.T, ch <-chan struct{}, what string, logs *syncBuffer) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s\n%s", what, logs.String())
	}
}
