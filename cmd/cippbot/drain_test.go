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

// TestSIGTERMDrains runs the real binary, sends a command whose Graph call
// is slow, and sends SIGTERM while it runs: serve stops listening, lets the
// work finish, posts the result, writes the audit and exits 0.
func TestSIGTERMDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cippbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	sim := fakegraph.New(fakegraph.Options{})
	sim.Start()
	defer sim.Close()
	certFile := filepath.Join(dir, "sim.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sim.Certificate().Raw}), 0o600))
	fs := fakeslack.New(fakeslack.Options{})
	defer fs.Close()
	fs.AddChannel("COPS", "ops", "URILEY", fakeslack.DefaultBotUserID)

	data := filepath.Join(dir, "serve.db")
	db := store.NewDB(data)
	must(t, db.Open())
	ctx := context.Background()
	must(t, db.PutTenant(ctx, bot.Tenant{ID: fakegraph.ContosoTenantID, Name: "Contoso", DefaultDomain: "contoso.com", Domains: []string{"contoso.com"}}))
	must(t, db.PutGrant(ctx, bot.Grant{Actor: "slack:URILEY", Role: bot.RoleHelpdesk, GrantedBy: "test"}))
	must(t, db.Close())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "CIPPBOT_DATA="+data, "CIPPBOT_LISTEN="+addr, "SSL_CERT_FILE="+certFile,
		"AZURE_CLIENT_ID="+fakegraph.DefaultClientID, "AZURE_CLIENT_SECRET="+fakegraph.DefaultClientSecret,
		"CIPPBOT_GRAPH_URL="+sim.URL(), "AZURE_AUTHORITY_HOST="+sim.URL()+"/",
		"SLACK_BOT_TOKEN="+fakeslack.DefaultBotToken, "SLACK_SIGNING_SECRET="+fakeslack.DefaultSigningSecret,
		"SLACK_API_URL="+fs.APIURL(), "LOG_LEVEL=warn")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	must(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitReady(t, "http://"+addr)

	sim.SetLatency(2 * time.Second) // the Graph call is under way when SIGTERM comes
	resp, err := fs.SlashCommand("http://"+addr+"/slack/commands", "/cipp", "revoke-sessions AdeleV@contoso.com", "COPS", "URILEY")
	must(t, err)
	resp.Body.Close()
	time.Sleep(500 * time.Millisecond)
	must(t, cmd.Process.Signal(syscall.SIGTERM))

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop\n%s", logs.String())
	}
	var posted bool
	for _, m := range fs.Messages() {
		if strings.Contains(m.Text, "sessions revoked") {
			posted = true
		}
	}
	if !posted {
		t.Errorf("the in-flight request's result was not posted\n%s", logs.String())
	}
	if u, _ := sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); u.SignInSessionsValidFrom.IsZero() {
		t.Error("the in-flight request did not finish")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil || !errors.Is(err, syscall.ECONNREFUSED) && !strings.Contains(err.Error(), "refused") {
		t.Errorf("serve still answers after it stopped: %v", err)
	}
	db = store.NewDB(data)
	must(t, db.Open())
	defer db.Close()
	recs, err := db.Audit(ctx, bot.AuditFilter{})
	must(t, err)
	if last := recs[len(recs)-1]; last.Kind != bot.KindOutcome || last.Outcome != "ok" {
		t.Errorf("last audit record = %+v", last)
	}
	if _, err := db.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}
