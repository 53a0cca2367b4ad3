package bot_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/mock"
	"github.com/cippbot/cippbot/internal/pgtest"
	"github.com/cippbot/cippbot/internal/testmain"
	"github.com/cippbot/cippbot/store"
	"github.com/cippbot/cippbot/store/postgres"
)

func TestMain(m *testing.M) {
	testmain.Parallel(8) // the tests wait more than they compute
	os.Exit(pgtest.Main(m))
}

// storeKey seals what the replicas share, as CIPPBOT_STORE_KEY does.
var storeKey = []byte("the replicas' store key, thirty-two bytes or more")

// heldSecret is the password the harness's generator gives first.
const heldSecret = "Zq7$Secret-001"

// sealedOn returns the Transient a replica's bot holds secrets in: t,
// sealed under storeKey.
func sealedOn(t *testing.T, inner bot.Transient) bot.Transient {
	t.Helper()
	s, err := store.NewSealedTransient(inner, storeKey)
	must(t, err)
	return s
}

// escapedForms are the spellings of s that a search of the store must
// not find: s itself and s as JSON writes it inside a string.
func escapedForms(s string) []string {
	q, _ := json.Marshal(s)
	forms := []string{s}
	if e := string(q[1 : len(q)-1]); e != s {
		forms = append(forms, e)
	}
	return forms
}

// heldReplicas starts a reset whose secret cannot reach riley on replica
// a (h.bot), holding it in shared; b is a second bot on the same store
// whose chat is the same platform. It returns b and the Reveal command.
func heldReplicas(t *testing.T, h *harness, ch *unreachable, shared func() bot.Transient, hold time.Duration) (*bot.Bot, string) {
	t.Helper()
	ch.down.Store(true)
	h.bot.Chats["console"] = ch
	h.bot.SecretHold, h.bot.SecretRetry = hold, 10*time.Millisecond
	h.bot.Held = shared()
	b := h.newBot()
	b.Held = shared()
	b.SecretHold = hold
	h.do(riley, `reset-password AdeleV@contoso.com reason="locked out"`)
	h.do(sam, "approve a00001")
	card := waitSent(t, h.chat, "card with Reveal", func(s mock.Sent) bool { return s.Update && revealOn(s.Message) != "" })
	return b, revealOn(card.Message)
}

// doOn is h.do on another replica's bot.
func doOn(h *harness, b *bot.Bot, actor bot.Actor, text string) []mock.Sent {
	h.t.Helper()
	before := len(h.chat.Sent())
	b.Handle(context.Background(), bot.Event{Platform: "console", Channel: "ops", Actor: actor, Text: text}, h.chat.For(actor))
	return h.chat.Sent()[before:]
}

// checkRevealAcross: the Reveal click lands on replica b, which did not
// run the action: alex is refused, riley gets the secret once, a second
// click on either replica is refused, the retry on a stops, and the card
// says it went privately.
func checkRevealAcross(t *testing.T, h *harness, ch *unreachable, b *bot.Bot, reveal string) {
	t.Helper()
	if got := text(only(t, doOn(h, b, alex, reveal)).Message); !strings.Contains(got, "Only riley") {
		t.Errorf("alex was not refused on the other replica: %s", got)
	}
	// a's retry, every 10 ms here, may hold the secret for a moment while
	// it tries the chat that is down; the click waits for it to put the
	// secret back, so riley's first click reveals it.
	sent := doOn(h, b, riley, reveal)
	if secretsIn(sent) != 1 || sent[0].To != riley.ID || sent[0].Message.Secrets[0].Reveal() != heldSecret {
		t.Fatalf("riley did not get the password on the other replica: %+v", sent)
	}
	for _, on := range []*bot.Bot{b, h.bot} {
		if got := text(only(t, doOn(h, on, riley, reveal)).Message); !strings.Contains(got, "already delivered") {
			t.Errorf("a second reveal was not refused: %s", got)
		}
	}
	waitSent(t, h.chat, "card without Reveal", func(s mock.Sent) bool {
		return s.Update && revealOn(s.Message) == "" && strings.Contains(text(s.Message), "went privately")
	})
	ch.down.Store(false) // a's retry would deliver now, if it still had it
	time.Sleep(100 * time.Millisecond)
	if n := secretsIn(h.chat.Sent()); n != 1 {
		t.Errorf("the secret was sent %d times, want once", n)
	}
	for _, s := range h.chat.Sent() {
		if len(s.Message.Secrets) > 0 && s.To != riley.ID {
			t.Errorf("a secret went to %q", s.To)
		}
	}
}

// TestSecretRevealedOnAnotherReplica_Bolt: two bots on one bbolt handle;
// the secret waits sealed, so the file never holds it.
func TestSecretRevealedOnAnotherReplica_Bolt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ch := &unreachable{Chat: h.chat, who: riley.ID}
	b, reveal := heldReplicas(t, h, ch, func() bot.Transient { return sealedOn(t, h.db) }, time.Minute)
	raw, err := os.ReadFile(h.db.Path)
	must(t, err)
	if !bytes.Contains(raw, []byte("AdeleV@contoso.com")) {
		t.Fatal("the search does not find the target in the file")
	}
	for _, f := range escapedForms(heldSecret) {
		if bytes.Contains(raw, []byte(f)) {
			t.Errorf("the held secret (as %q) is in the bbolt file", f)
		}
	}
	checkRevealAcross(t, h, ch, b, reveal)
}

// TestSecretRevealedOnAnotherReplica_Postgres: the same with the secret
// held in PostgreSQL, whose tables never hold it.
func TestSecretRevealedOnAnotherReplica_Postgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	ctx := context.Background()
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, dsn, postgres.Options{})
		must(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	h := newHarness(t)
	ch := &unreachable{Chat: h.chat, who: riley.ID}
	pa, pb := open(), open()
	n := 0
	b, reveal := heldReplicas(t, h, ch, func() bot.Transient {
		n++
		if n == 1 {
			return sealedOn(t, pa)
		}
		return sealedOn(t, pb)
	}, time.Minute)
	if !pgHas(t, pa, "bot:held:") {
		t.Fatal("nothing held in PostgreSQL: the search would prove nothing")
	}
	for _, f := range escapedForms(heldSecret) {
		if pgHas(t, pa, f) {
			t.Errorf("the held secret (as %q) is in PostgreSQL", f)
		}
	}
	checkRevealAcross(t, h, ch, b, reveal)
}

// pgHas reports whether what is in any row of any table of db's schema,
// as text or as bytes (bytea shows as hex).
func pgHas(t *testing.T, db *postgres.DB, what string) bool {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	must(t, err)
	var tables []string
	for rows.Next() {
		var name string
		must(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	must(t, rows.Err())
	if len(tables) == 0 {
		t.Fatal("no tables in the schema")
	}
	for _, table := range tables {
		var found bool
		must(t, db.Pool().QueryRow(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %q x WHERE position($1 IN x::text) > 0 OR position($2 IN x::text) > 0)`, table),
			what, hex.EncodeToString([]byte(what))).Scan(&found))
		if found {
			return true
		}
	}
	return false
}

// TestSecretRevealExpiredOnAnotherReplica: past its hold, a Reveal click
// on the other replica finds nothing, even before the holder drops it.
func TestSecretRevealExpiredOnAnotherReplica(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ch := &unreachable{Chat: h.chat, who: riley.ID}
	b, reveal := heldReplicas(t, h, ch, func() bot.Transient { return sealedOn(t, h.db) }, time.Minute)
	h.clock.Add(time.Minute + time.Second)
	if got := text(only(t, doOn(h, b, riley, reveal)).Message); !strings.Contains(got, "dropped") {
		t.Errorf("Reveal after the hold: %s", got)
	}
	if n := secretsIn(h.chat.Sent()); n != 0 {
		t.Errorf("the secret was sent %d times after its hold", n)
	}
}

// TestSecretHandedOverAtStop: a replica that stops leaves a secret sealed
// in the store; its card says only Reveal still works, and it does, on
// another replica, once.
func TestSecretHandedOverAtStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ch := &unreachable{Chat: h.chat, who: riley.ID}
	b, reveal := heldReplicas(t, h, ch, func() bot.Transient { return sealedOn(t, h.db) }, time.Hour)
	h.bot.DropSecrets(context.Background())
	card := waitSent(t, h.chat, "card saying Reveal still works", func(s mock.Sent) bool {
		return s.Update && strings.Contains(text(s.Message), "can click Reveal until")
	})
	if revealOn(card.Message) != reveal {
		t.Errorf("handed-over card without its Reveal: %+v", card.Message.Buttons)
	}
	for _, s := range h.chat.Sent() {
		if strings.Contains(s.Message.Title, "never reached") || strings.Contains(s.Message.Title, "not delivered") {
			t.Errorf("a handed-over secret was called dropped: %s", s.Message.Title)
		}
	}
	// a's retry, every 10 ms here, may hold the secret for a moment while
	// it tries the chat that is down; the click waits for it to put the
	// secret back, so riley's first click reveals it.
	sent := doOn(h, b, riley, reveal)
	if secretsIn(sent) != 1 || sent[0].To != riley.ID {
		t.Fatalf("riley did not get the password after the hand-over: %+v", sent)
	}
	if got := text(only(t, doOn(h, b, riley, reveal)).Message); !strings.Contains(got, "already delivered") {
		t.Errorf("a second reveal was not refused: %s", got)
	}
}

// TestSecretRevealedOnBothReplicasAtOnce: riley's Reveal lands on both
// replicas at once. b takes the secret and delivers it; a, finding it
// taken but its record still there, waits until b is done and says it
// was delivered, instead of answering nothing.
func TestSecretRevealedOnBothReplicasAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ch := &unreachable{Chat: h.chat, who: riley.ID}
	b, reveal := heldReplicas(t, h, ch, func() bot.Transient { return sealedOn(t, h.db) }, time.Minute)
	ev := bot.Event{Platform: "console", Channel: "ops", Actor: riley, Text: reveal}
	onA := &mock.Chat{}
	aDone := make(chan struct{})
	both := &whileSending{Responder: h.chat.For(riley), during: func() {
		go func() { h.bot.Handle(context.Background(), ev, onA.For(riley)); close(aDone) }()
		time.Sleep(200 * time.Millisecond) // a's click reads the store while b's send is under way
	}}
	b.Handle(context.Background(), ev, both)
	<-aDone
	if n := secretsIn(h.chat.Sent()); n != 1 {
		t.Fatalf("riley got the secret %d times, want once", n)
	}
	got := onA.Sent()
	if len(got) != 1 || !strings.Contains(text(got[0].Message), "already delivered") {
		t.Errorf("the click on a was answered %+v, want that it was already delivered", got)
	}
}

// whileSending is a Responder that runs during before it sends the first
// private message holding a secret.
type whileSending struct {
	bot.Responder
	during func()
	once   sync.Once
}

func (w *whileSending) Private(ctx context.Context, m bot.Message) error {
	if len(m.Secrets) > 0 {
		w.once.Do(w.during)
	}
	return w.Responder.Private(ctx, m)
}
