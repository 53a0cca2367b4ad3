package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/internal/fakegraph"
	"github.com/cippbot/cippbot/internal/fakeslack"
)

var revealValue = regexp.MustCompile(`"value":"(reveal [0-9a-f]+)"`)

// shortHold returns a configuration change that shortens how long serve
// holds an undelivered secret, and how soon it tries again.
func shortHold(hold time.Duration) func(*Config) {
	return func(c *Config) { c.secretHold, c.secretRetry = hold, 100*time.Millisecond }
}

// approvedReset asks for a password reset as riley and returns the card.
func approvedReset(t *testing.T, r *slackRun) fakeslack.Message {
	t.Helper()
	r.slash(t, "COPS", "URILEY", `reset-password AdeleV@contoso.com --must-change reason="locked out"`)
	return r.wait(t, "approval card", isCard)
}

// waitPassword waits until the simulated tenant has a new password for
// Adele and returns it.
func waitPassword(t *testing.T, r *slackRun) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if u, ok := r.sim.User(fakegraph.ContosoTenantID, "AdeleV@contoso.com"); ok && u.ForceChangePasswordNextSignIn && u.Password != "" {
			return u.Password
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the password was never set")
	return ""
}

// secretNowhere checks that secret is in no message but allowed, in no Web
// API call but a (failed) attempt to send it to riley, and in neither the
// logs nor the bbolt file.
func secretNowhere(t *testing.T, r *slackRun, secret string, allowed string) {
	t.Helper()
	for _, m := range r.fs.Messages() {
		if m.TS != allowed && (containsSecret(m.Blocks, secret) || strings.Contains(m.Text, secret)) {
			t.Errorf("secret in a message: %+v", m)
		}
	}
	for _, c := range r.fs.Calls() {
		if containsSecret(c.Body, secret) || containsSecret([]byte(c.Params.Get("blocks")), secret) || strings.Contains(c.Params.Get("text"), secret) {
			if !(c.Method == "chat.postEphemeral" && c.Params.Get("user") == "URILEY") {
				t.Errorf("secret sent by %s to %q", c.Method, c.Params.Get("user"))
			}
		}
	}
	if strings.Contains(r.logs.String(), secret) {
		t.Error("secret in the logs")
	}
	r.stop(t)
	raw, err := os.ReadFile(r.path)
	must(t, err)
	if bytes.Contains(raw, []byte(secret)) {
		t.Error("secret in the bbolt file")
	}
}

// TestSlackSecretThroughOutage: Slack cannot be reached when an approved
// reset runs. The password is set; the secret is held in memory and
// retried; when Slack answers again but still refuses riley's ephemerals
// and DMs, the card gets a Reveal button, which refuses sam, gives riley
// the password once (by the click's response_url), and is then gone.
func TestSlackSecretThroughOutage(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false, slackOpts{config: shortHold(time.Minute)})
	card := approvedReset(t, r)
	val := approveValue.FindStringSubmatch(string(card.Blocks))
	if val == nil {
		t.Fatalf("no approve button: %s", card.Blocks)
	}
	r.fs.Unreachable()
	r.click(t, card, val[1], "USAM")
	secret := waitPassword(t, r)
	// Let a few deliveries fail while Slack is down.
	deadline := time.Now().Add(10 * time.Second)
	for len(r.fs.CallsTo("chat.postEphemeral")) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(r.fs.CallsTo("chat.postEphemeral")); n < 3 {
		t.Fatalf("delivery tried %d times while Slack was down; it should keep trying", n)
	}
	// Slack is back, but riley can be reached neither by ephemeral nor by DM.
	r.fs.Fail("chat.postEphemeral", "URILEY", "user_not_in_channel")
	r.fs.Fail("conversations.open", "URILEY", "fatal_error")
	r.fs.Reachable()
	pending := r.wait(t, "card with Reveal", func(m fakeslack.Message) bool {
		return m.TS == card.TS && revealValue.MatchString(string(m.Blocks))
	})
	for _, want := range []string{"password reset", "has not reached", "Reveal"} {
		if !strings.Contains(string(pending.Blocks), want) {
			t.Errorf("pending card lacks %q: %s", want, pending.Blocks)
		}
	}
	reveal := revealValue.FindStringSubmatch(string(pending.Blocks))[1]
	if strings.Contains(reveal, secret) {
		t.Fatal("the secret is in the button")
	}

	r.click(t, pending, reveal, "USAM")
	r.wait(t, "refusal to sam", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "USAM" && strings.Contains(m.Text, "Only")
	})
	r.click(t, pending, reveal, "URILEY")
	got := r.wait(t, "secret to riley", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "Only you can see this")
	})
	if s := secretIn(t, got.Blocks); s != secret {
		t.Fatalf("riley got a password that is not the tenant's")
	}
	// Again (typed, as the button is gone from the card by now): once only.
	r.slash(t, "COPS", "URILEY", reveal)
	r.wait(t, "second reveal refused", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "already delivered")
	})
	r.wait(t, "card without Reveal", func(m fakeslack.Message) bool {
		return m.TS == card.TS && !revealValue.MatchString(string(m.Blocks)) && strings.Contains(string(m.Blocks), "went privately")
	})
	secretNowhere(t, r, secret, got.TS)
}

// TestSlackSecretNeverDelivered: riley cannot be reached privately for
// the whole hold; the secret is dropped, the card says the password was
// set but not delivered and to run the reset again, and sam is told.
func TestSlackSecretNeverDelivered(t *testing.T) {
	t.Parallel()
	r := startSlack(t, false, slackOpts{config: shortHold(300 * time.Millisecond)})
	r.fs.Fail("chat.postEphemeral", "URILEY", "user_not_in_channel")
	r.fs.Fail("conversations.open", "URILEY", "fatal_error")
	card := approvedReset(t, r)
	r.click(t, card, approveValue.FindStringSubmatch(string(card.Blocks))[1], "USAM")
	secret := waitPassword(t, r)
	lost := r.wait(t, "card saying not delivered", func(m fakeslack.Message) bool {
		return m.TS == card.TS && strings.Contains(m.Text, "not delivered")
	})
	if revealValue.MatchString(string(lost.Blocks)) {
		t.Errorf("the card still offers Reveal: %s", lost.Blocks)
	}
	if !strings.Contains(string(lost.Blocks), "reset-password AdeleV@contoso.com again") {
		t.Errorf("the card does not say to run the reset again: %s", lost.Blocks)
	}
	r.wait(t, "sam told", func(m fakeslack.Message) bool {
		return m.User == "USAM" && strings.Contains(m.Text, "never reached") && strings.Contains(m.Text, "run again")
	})
	secretNowhere(t, r, secret, "")
}

// TestSlackRevealOnAnotherReplicaPostgres: two replicas on one PostgreSQL
// store with a store key. The secret of a reset approved on one cannot
// reach riley; the Reveal click lands on the other replica, which refuses
// sam and shows riley the password once; the replica that ran the reset
// stops retrying, and no table holds the secret, raw or JSON-escaped.
func TestSlackRevealOnAnotherReplicaPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresTestDSN(t)
	ctx := context.Background()
	seed := seedPostgres(t, dsn)
	sim := fakegraph.NewTest(t, fakegraph.Options{})
	sim.Start()
	t.Cleanup(sim.Close)
	fs := fakeslack.NewTest(t, fakeslack.Options{})
	t.Cleanup(fs.Close)
	fs.AddChannel("COPS", "ops", "URILEY", "USAM", fakeslack.DefaultBotUserID)
	keyed := func(c *Config) {
		c.GDAP.StoreKey = "two replicas' store key, thirty-two bytes or more"
		shortHold(time.Minute)(c)
	}
	a := startPostgresServeWith(t, sim, fs, dsn, "replica-a", keyed)
	b := startPostgresServeWith(t, sim, fs, dsn, "replica-b", keyed)

	fs.Fail("chat.postEphemeral", "URILEY", "user_not_in_channel")
	fs.Fail("conversations.open", "URILEY", "fatal_error")
	card := approvedReset(t, a)
	waitCardStored(t, seed)
	a.click(t, card, approveValue.FindStringSubmatch(string(card.Blocks))[1], "USAM")
	secret := waitPassword(t, a)
	pending := a.wait(t, "card with Reveal", func(m fakeslack.Message) bool {
		return m.TS == card.TS && revealValue.MatchString(string(m.Blocks))
	})
	reveal := revealValue.FindStringSubmatch(string(pending.Blocks))[1]

	// Rows as text show bytea columns in hex: look for every spelling.
	q, _ := json.Marshal(secret)
	spellings := []string{secret, string(q[1 : len(q)-1])}
	inStore := func(what string) []string {
		rows, err := seed.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
		must(t, err)
		var tables, found []string
		for rows.Next() {
			var name string
			must(t, rows.Scan(&name))
			tables = append(tables, name)
		}
		for _, table := range tables {
			var hit bool
			must(t, seed.Pool().QueryRow(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %q x WHERE position($1 IN x::text) > 0 OR position($2 IN x::text) > 0)`, table),
				what, hex.EncodeToString([]byte(what))).Scan(&hit))
			if hit {
				found = append(found, table)
			}
		}
		return found
	}
	if len(inStore("bot:held:")) == 0 {
		t.Fatal("the secret is not held in the store: the search would prove nothing")
	}
	for _, s := range spellings {
		if tables := inStore(s); len(tables) > 0 {
			t.Errorf("the held secret is in %v", tables)
		}
	}

	b.click(t, pending, reveal, "USAM")
	b.wait(t, "refusal to sam", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "USAM" && strings.Contains(m.Text, "Only")
	})
	b.click(t, pending, reveal, "URILEY")
	got := b.wait(t, "secret to riley", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "Only you can see this")
	})
	if s := secretIn(t, got.Blocks); s != secret {
		t.Fatal("riley got a password that is not the tenant's")
	}
	a.slash(t, "COPS", "URILEY", reveal)
	a.wait(t, "second reveal refused", func(m fakeslack.Message) bool {
		return m.Ephemeral && m.User == "URILEY" && strings.Contains(m.Text, "already delivered")
	})
	a.wait(t, "card without Reveal", func(m fakeslack.Message) bool {
		return m.TS == card.TS && !revealValue.MatchString(string(m.Blocks)) && strings.Contains(string(m.Blocks), "went privately")
	})
	// Riley reachable again: the retry on replica a finds nothing to send.
	fs.Heal()
	time.Sleep(500 * time.Millisecond)
	shown := 0
	for _, m := range fs.Messages() {
		if m.Ephemeral && strings.Contains(m.Text, "Only you can see this") {
			shown++
		}
	}
	if shown != 1 {
		t.Errorf("the secret was shown %d times, want once", shown)
	}
	for _, m := range fs.Messages() {
		if m.TS != got.TS && (containsSecret(m.Blocks, secret) || strings.Contains(m.Text, secret)) {
			t.Errorf("secret in a message: %+v", m)
		}
	}
	for _, c := range fs.Calls() {
		secretIn := containsSecret(c.Body, secret) || containsSecret([]byte(c.Params.Get("blocks")), secret) || strings.Contains(c.Params.Get("text"), secret)
		// The first tries, which failed, went to riley alone.
		if secretIn && !(c.Method == "chat.postEphemeral" && c.Params.Get("user") == "URILEY") {
			t.Errorf("secret sent by %s to %q", c.Method, c.Params.Get("user"))
		}
	}
	for _, r := range []*slackRun{a, b} {
		if strings.Contains(r.logs.String(), secret) {
			t.Error("secret in the logs")
		}
	}
	for _, s := range spellings {
		if tables := inStore(s); len(tables) > 0 {
			t.Errorf("the revealed secret is in %v", tables)
		}
	}
}
