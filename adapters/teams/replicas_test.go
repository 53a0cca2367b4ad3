package teams

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/pgtest"
	"github.com/cippbot/cippbot/internal/testmain"
	"github.com/cippbot/cippbot/store"
	"github.com/cippbot/cippbot/store/postgres"
)

func TestMain(m *testing.M) {
	testmain.Parallel(8) // the tests wait more than they compute
	os.Exit(pgtest.Main(m))
}

// replicaSecret has characters JSON escapes, so that a search of the
// store looks for both spellings.
const replicaSecret = "Rk9<&>pw-across-replicas"

var replicaKey = []byte("the replicas' store key, thirty-two bytes or more")

// spellings are s and s as JSON writes it inside a string.
func spellings(s string) []string {
	q, _ := json.Marshal(s)
	return []string{s, string(q[1 : len(q)-1])}
}

func hasSecret(s string) bool {
	for _, f := range spellings(replicaSecret) {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// replicaStore is one store shared by two adapters: each opens its own
// handle (PostgreSQL) or shares one (bbolt); has searches everything it
// keeps for a string.
type replicaStore struct {
	open func() bot.Transient
	has  func(what string) bool
}

func boltReplicas(t *testing.T) replicaStore {
	db := store.NewDB(t.TempDir() + "/teams.db")
	db.NoSync = true
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return replicaStore{
		open: func() bot.Transient { return db },
		has: func(what string) bool {
			raw, err := os.ReadFile(db.Path)
			if err != nil {
				t.Fatal(err)
			}
			return bytes.Contains(raw, []byte(what))
		},
	}
}

func pgReplicas(t *testing.T) replicaStore {
	dsn := pgtest.Schema(t)
	var first *postgres.DB
	return replicaStore{
		open: func() bot.Transient {
			db, err := postgres.Open(context.Background(), dsn, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if first == nil {
				first = db
			}
			return db
		},
		has: func(what string) bool {
			ctx := context.Background()
			rows, err := first.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
			if err != nil {
				t.Fatal(err)
			}
			var tables []string
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					t.Fatal(err)
				}
				tables = append(tables, name)
			}
			if len(tables) == 0 {
				t.Fatal("no tables in the schema")
			}
			for _, table := range tables {
				var found bool
				// Rows as text show bytea in hex: look for both.
				if err := first.Pool().QueryRow(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %q x WHERE position($1 IN x::text) > 0 OR position($2 IN x::text) > 0)`, table),
					what, hex.EncodeToString([]byte(what))).Scan(&found); err != nil {
					t.Fatal(err)
				}
				if found {
					return true
				}
			}
			return false
		},
	}
}

// sealedOn is inner sealed under replicaKey, as CIPPBOT_STORE_KEY does.
func sealedOn(t *testing.T, inner bot.Transient) bot.Transient {
	s, err := store.NewSealedTransient(inner, replicaKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// twoReplicas returns a test env (replica a) and the endpoint of replica
// b: another adapter on the same simulated Teams, its Transients on the
// same store through handles of its own.
func twoReplicas(t *testing.T, rs replicaStore, ttl time.Duration) (*testEnv, *Adapter, string) {
	t.Helper()
	e := newTestEnv(t, func(c *Config) {
		inner := rs.open()
		c.State, c.Sealed, c.RevealTTL = inner, sealedOn(t, inner), ttl
		c.Refs, _ = inner.(RefStore)
	})
	cfg := e.a.cfg
	inner := rs.open()
	cfg.State, cfg.Sealed = inner, sealedOn(t, inner)
	cfg.Refs, _ = inner.(RefStore)
	b, err := New(cfg, e.h)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	b.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { b.Close(context.Background()) })
	return e, b, srv.URL + Route
}

func testRevealOnOtherReplica(t *testing.T, rs replicaStore) {
	e, _, other := twoReplicas(t, rs, 2*time.Second)
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
	e.a.Wait()
	m := bot.Message{Title: "New password for AdeleV@contoso.com", Secrets: []bot.Secret{actions.NewSecret("AdeleV@contoso.com password", replicaSecret)}}
	if err := e.a.Notify(context.Background(), channel, bot.Actor{ID: "teams:aad-riley"}, m); err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	var dm, id string
	for _, m := range e.ft.Messages() {
		if len(m.Visible) == 1 && m.Visible[0] == e.riley.MRI {
			data, dm, id = cardOf(t, m.Activity).Actions[0].Data, m.Conversation, m.ID
		}
	}
	if dm == "" {
		t.Fatalf("no Reveal card in Riley's chat: %v", e.ft.Messages())
	}
	if !rs.has(keyReveal) {
		t.Fatal("nothing held in the store: the search would prove nothing")
	}
	for _, f := range spellings(replicaSecret) {
		if rs.has(f) {
			t.Errorf("the secret (as %q) is in the store", f)
		}
	}
	// On the other replica: Sam is refused, Riley sees it once.
	_, body, _ := e.ft.Deliver(other, e.ft.InvokeActivity(e.sam, dm, id, verbReveal, data, "manual"))
	if hasSecret(body) || !strings.Contains(body, "Only the person") {
		t.Errorf("Sam's reveal on the other replica answered %q", body)
	}
	_, body, _ = e.ft.Deliver(other, e.ft.InvokeActivity(e.riley, channel, id, verbReveal, data, "manual"))
	if hasSecret(body) || !strings.Contains(body, "your chat with cippbot") {
		t.Errorf("Riley's reveal in the channel answered %q", body)
	}
	_, body, _ = e.ft.Deliver(other, e.ft.InvokeActivity(e.riley, dm, id, verbReveal, data, "manual"))
	if !hasSecret(body) {
		t.Fatalf("Riley's reveal on the other replica answered %q", body)
	}
	for _, ep := range []string{other, e.endpoint} {
		if _, body, _ = e.ft.Deliver(ep, e.ft.InvokeActivity(e.riley, dm, id, verbReveal, data, "manual")); hasSecret(body) || !strings.Contains(body, "already revealed") {
			t.Errorf("a second reveal answered %q", body)
		}
	}
	n := 0
	for _, r := range e.ft.Requests() {
		if hasSecret(r.Body + r.Response) {
			n++
			if r.Method != "DELIVER" || !strings.Contains(r.Body, e.riley.AAD) {
				t.Errorf("secret in %s %s", r.Method, r.Path)
			}
		}
	}
	if n != 1 {
		t.Errorf("secret in %d exchanges, want 1 (Riley's reveal)", n)
	}
	for _, f := range spellings(replicaSecret) {
		if rs.has(f) {
			t.Errorf("the secret (as %q) is in the store after the reveal", f)
		}
	}
	// At its expiry the replica that posted it retires the card, knowing
	// it was revealed on the other.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if msg, ok := e.ft.Message(dm, id); ok && strings.Contains(fmt.Sprint(msg.Activity), "Revealed; not shown again.") {
			break
		}
		if time.Now().After(deadline) {
			msg, _ := e.ft.Message(dm, id)
			t.Fatalf("the Reveal card was not retired as revealed: %v", msg.Activity)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicas_revealBolt: a Reveal posted by one adapter opens on
// another sharing its bbolt store, once, for its owner in their chat
// alone; the file never holds the secret.
func TestReplicas_revealBolt(t *testing.T) {
	t.Parallel()
	testRevealOnOtherReplica(t, boltReplicas(t))
}

// TestReplicas_revealPostgres: the same on PostgreSQL.
func TestReplicas_revealPostgres(t *testing.T) {
	t.Parallel()
	testRevealOnOtherReplica(t, pgReplicas(t))
}

// TestReplicas_revealExpired: past its time a Reveal opens on no replica,
// and the card that offered it says it expired unrevealed.
func TestReplicas_revealExpired(t *testing.T) {
	t.Parallel()
	e, _, other := twoReplicas(t, boltReplicas(t), 300*time.Millisecond)
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "whoami", true))
	e.a.Wait()
	m := bot.Message{Secrets: []bot.Secret{actions.NewSecret("password", replicaSecret)}}
	if err := e.a.Notify(context.Background(), channel, bot.Actor{ID: "teams:aad-riley"}, m); err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	var dm, id string
	for _, m := range e.ft.Messages() {
		if len(m.Visible) == 1 && m.Visible[0] == e.riley.MRI {
			data, dm, id = cardOf(t, m.Activity).Actions[0].Data, m.Conversation, m.ID
		}
	}
	time.Sleep(400 * time.Millisecond)
	if _, body, _ := e.ft.Deliver(other, e.ft.InvokeActivity(e.riley, dm, id, verbReveal, data, "manual")); hasSecret(body) || !strings.Contains(body, "expired") {
		t.Errorf("an expired reveal answered %q", body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if msg, ok := e.ft.Message(dm, id); ok && strings.Contains(fmt.Sprint(msg.Activity), "Expired unrevealed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired Reveal card was not retired")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicas_formAnsweredOnOther: a question's form posted by one
// adapter is answered through the other, once, by the person asked alone;
// the answer goes on in the channel it was asked from.
func TestReplicas_formAnsweredOnOther(t *testing.T) {
	t.Parallel()
	e, b, other := twoReplicas(t, boltReplicas(t), time.Minute)
	dm, data := askedReason(t, e)
	if _, body, _ := e.ft.Deliver(other, e.ft.InvokeActivity(e.sam, dm, "", verbAsk, data, "manual")); !strings.Contains(body, "expired") {
		t.Errorf("Sam's answer on the other replica: %s", body)
	}
	e.ft.Deliver(other, e.ft.InvokeActivity(e.riley, dm, "", verbAsk, data, "manual"))
	b.Wait()
	want := `block-signin AdeleV@contoso.com reason="locked out"`
	answered := func() int {
		n := 0
		for _, ev := range e.h.got() {
			if ev.Text == want {
				n++
				if ev.Channel != channel || ev.Actor.ID != "teams:aad-riley" {
					t.Errorf("answer arrived as %+v; want in the channel, from Riley", ev)
				}
			}
		}
		return n
	}
	if n := answered(); n != 1 {
		t.Fatalf("answer arrived %d times, want once: %+v", n, e.h.got())
	}
	// Sent again, to either replica: already answered.
	for _, ep := range []string{e.endpoint, other} {
		if _, body, _ := e.ft.Deliver(ep, e.ft.InvokeActivity(e.riley, dm, "", verbAsk, data, "manual")); !strings.Contains(body, "expired") {
			t.Errorf("a second answer: %s", body)
		}
	}
	e.a.Wait()
	b.Wait()
	if n := answered(); n != 1 {
		t.Errorf("answer arrived %d times, want once", n)
	}
}

// TestReplicas_userReachedFromOther: riley wrote only to replica a; b,
// started before, still reaches riley privately (the secret behind
// Reveal in riley's chat), and updates the approval card a posted,
// keeping the requester's view.
func TestReplicas_userReachedFromOther(t *testing.T) {
	t.Parallel()
	e, b, other := twoReplicas(t, boltReplicas(t), time.Minute)
	e.h.fn = func(ctx context.Context, ev bot.Event, r bot.Responder) {
		if ev.Text == "card" {
			r.Public(ctx, bot.Message{Title: "Approve it?", Buttons: []bot.Button{{Label: "Approve", Value: "approve a1"}}})
		}
	}
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "card", true))
	e.a.Wait()
	var cardID string
	for _, m := range e.ft.Messages() {
		if m.Conversation == channel && strings.Contains(fmt.Sprint(m.Activity), "Approve it?") {
			cardID = m.ID
		}
	}
	if cardID == "" {
		t.Fatalf("no card: %v", e.ft.Messages())
	}
	// The requester's refresh, answered by b: the view without Approve.
	_, body, _ := e.ft.Deliver(other, e.ft.InvokeActivity(e.riley, channel, cardID, verbView, nil, "automatic"))
	if _, c, _ := decodeInvoke(t, body); !strings.Contains(cardText(c), "Approve it?") || hasApprove(c) {
		t.Errorf("riley's refresh on the other replica answered %s", body)
	}
	if err := b.Update(context.Background(), channel, cardID, bot.Message{Title: "Approved by Sam"}); err != nil {
		t.Fatalf("the other replica cannot update the card: %v", err)
	}
	if msg, _ := e.ft.Message(channel, cardID); !strings.Contains(fmt.Sprint(msg.Activity), "Approved by Sam") {
		t.Errorf("card after the update: %v", msg.Activity)
	}
	m := bot.Message{Title: "New password", Secrets: []bot.Secret{actions.NewSecret("password", replicaSecret)}}
	if err := b.Notify(context.Background(), channel, bot.Actor{ID: "teams:aad-riley"}, m); err != nil {
		t.Fatalf("the other replica cannot reach riley: %v", err)
	}
	var data map[string]any
	var dm, id string
	for _, m := range e.ft.Messages() {
		if len(m.Visible) == 1 && m.Visible[0] == e.riley.MRI {
			data, dm, id = cardOf(t, m.Activity).Actions[0].Data, m.Conversation, m.ID
		}
	}
	if dm == "" {
		t.Fatalf("no Reveal in riley's chat: %v", e.ft.Messages())
	}
	if _, body, _ := e.ft.Deliver(e.endpoint, e.ft.InvokeActivity(e.riley, dm, id, verbReveal, data, "manual")); !hasSecret(body) {
		t.Errorf("riley's reveal on the first replica answered %q", body)
	}
}
