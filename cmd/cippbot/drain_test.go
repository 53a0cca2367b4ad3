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

// binaryRun is the built cippbot serving Slack over HTTP against a fake
// Slack and the simulated tenant, as a separate process.
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
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	r := &binaryRun{bin: filepath.Join(dir, "cippbot"), data: filepath.Join(dir, "serve.db")}
	if out, err := exec.Command("go", "build", "-o", r.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	r.sim = fakegraph.New(fakegraph.Options{})
	r.sim.Start()
	t.Cleanup(r.sim.Close)
	certFile := filepath.Join(dir, "sim.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.sim.Certificate().Raw}), 0o600))
	r.fs = fakeslack.New(fakeslack.Options{})
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
	r.env = append(os.Environ(), "CIPPBOT_DATA="+r.data, "CIPPBOT_LISTEN="+r.addr, "SSL_CERT_FILE="+certFile,
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

// TestSIGTERMDrains runs the real binary, sends a command whose Graph call
// is slow, and sends SIGTERM while it runs: serve stops listening, lets the
// work finish, posts the result, writes the audit and exits 0.
func TestSIGTERMDrains(t *testing.T) {
	r := newBinaryRun(t)
	r.start(t)
	r.sim.SetLatency(2 * time.Second) // the Graph call is under way when SIGTERM comes
	r.slash(t, "revoke-sessions AdeleV@contoso.com")
	time.Sleep(500 * time.Millisecond)
	must(t, r.cmd.Process.Signal(syscall.SIGTERM))
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
	if u, _ := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); u.SignInSessionsValidFrom.IsZero() {
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
	r := newBinaryRun(t)
	r.start(t)
	r.sim.SetLatency(2 * time.Second)
	r.slash(t, "revoke-sessions AdeleV@contoso.com")
	// The roles are read just before the run starts; once that answer is
	// in, the revoke goes out and takes 2 s: kill in the middle of it.
	deadline := time.Now().Add(20 * time.Second)
	for !r.sawRoles() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	must(t, r.cmd.Process.Kill())
	<-r.done
	// The revoke in flight when serve died still reaches the simulated
	// tenant when its latency is over; count only after that.
	time.Sleep(2500 * time.Millisecond)
	r.sim.SetLatency(0)
	before := r.revokes()

	r.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := r.fs.WaitForMessage(ctx, func(m fakeslack.Message) bool {
		return m.User == "URILEY" && strings.Contains(m.Text, "outcome is unknown")
	}); err != nil {
		t.Fatalf("requester not told: %v\n%s", err, r.logs.String())
	}
	time.Sleep(500 * time.Millisecond)
	if after := r.revokes(); after != before {
		t.Errorf("the interrupted request was sent again (%d → %d)", before, after)
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	<-r.done
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
