package discord_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/adapters/discord"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/fakediscord"
)

// fuzzKey signs the fuzzed interactions; its public half is the adapter's
// DISCORD_PUBLIC_KEY.
var fuzzKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x5a}, ed25519.SeedSize))

// signDiscord returns the headers Discord puts on an interaction: the
// timestamp and the hex Ed25519 signature of timestamp+body.
func signDiscord(body []byte, now time.Time) http.Header {
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Signature-Timestamp", ts)
	h.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(fuzzKey, append([]byte(ts), body...))))
	return h
}

// restStub answers every REST call: 204 for callbacks and deletes, else
// 200 {}.
func restStub(tb testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodDelete || strings.HasSuffix(r.URL.Path, "/callback") {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// localOnly sends every request, whatever its URL, to one local server:
// an attachment URL taken from a fuzzed interaction must not leave the
// machine.
type localOnly struct {
	host string
	next http.RoundTripper
}

func (l localOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = "http", l.host, l.host
	return l.next.RoundTrip(r2)
}

// eventLog records events and answers each privately, so the responder
// runs on the fuzzed interaction too.
type eventLog struct {
	mu     sync.Mutex
	events []bot.Event
}

func (h *eventLog) Handle(ctx context.Context, ev bot.Event, r bot.Responder) {
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
	r.Private(ctx, bot.Message{Title: "ok"})
}

// postSigned POSTs body, signed, to /discord/interactions on a fresh
// adapter whose REST calls go to rest, waits for the work it started and
// returns the status and the events the handler got. A panic while serving
// fails the test with its stack, so that the other inputs still run.
func postSigned(t *testing.T, rest *httptest.Server, body []byte) (int, []bot.Event) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("panic serving %q: %v\n%s", body, p, debug.Stack())
		}
	}()
	u, _ := url.Parse(rest.URL)
	h := &eventLog{}
	a, err := discord.New(discord.Config{BotToken: "fuzz", AppID: fakediscord.DefaultAppID,
		PublicKey: hex.EncodeToString(fuzzKey.Public().(ed25519.PublicKey)), APIURL: rest.URL + "/api/v10/",
		HTTPClient: &http.Client{Transport: localOnly{host: u.Host, next: http.DefaultTransport}}}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	mux := http.NewServeMux()
	a.Routes(mux)
	req := httptest.NewRequest(http.MethodPost, "/discord/interactions", bytes.NewReader(body))
	req.Header = signDiscord(body, time.Now())
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	a.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return w.Code, h.events
}

// schema is cippbot's commands as registered, by command, subcommand and
// option: what Discord checks every application command interaction
// against.
type schema map[string]map[string]map[string]*discordgo.ApplicationCommandOption

func commandSchema(tb testing.TB) schema {
	cmds, err := discord.Commands(actions.Default().All(), bot.Builtins())
	if err != nil {
		tb.Fatal(err)
	}
	out := schema{}
	for _, c := range cmds {
		subs := map[string]map[string]*discordgo.ApplicationCommandOption{}
		for _, s := range c.Options {
			opts := map[string]*discordgo.ApplicationCommandOption{}
			for _, o := range s.Options {
				opts[o.Name] = o
			}
			subs[s.Name] = opts
		}
		out[c.Name] = subs
	}
	return out
}

// rawOptions are read by the grammar exactly as typed (help's action,
// access's args, run's command): what they hold may rightly fail to parse.
var rawOptions = []string{"action", "args", "command"}

// asDiscordSends reports whether data is an interaction Discord could
// send: a registered command's subcommand, its options each once, of the
// registered type, the required ones all there, integers whole and in
// range, enum values among the choices. Only for these must the text the
// adapter derives mean exactly what was sent.
func asDiscordSends(data discordgo.ApplicationCommandInteractionData, cmds schema) bool {
	schema, ok := cmds[data.Name]
	if !ok {
		return false
	}
	if len(data.Options) == 0 {
		return data.Name == discord.CommandName
	}
	if len(data.Options) != 1 || data.Options[0] == nil {
		return false
	}
	sub := data.Options[0]
	decl, ok := schema[sub.Name]
	if !ok || sub.Type != discordgo.ApplicationCommandOptionSubCommand {
		return false
	}
	seen := map[string]bool{}
	for _, o := range sub.Options {
		if o == nil || seen[o.Name] || len(o.Options) > 0 || slices.Contains(rawOptions, o.Name) {
			return false
		}
		seen[o.Name] = true
		d, ok := decl[o.Name]
		if !ok || o.Type != d.Type {
			return false
		}
		switch d.Type {
		case discordgo.ApplicationCommandOptionString:
			s, ok := o.Value.(string)
			if !ok {
				return false
			}
			if len(d.Choices) > 0 && !slices.ContainsFunc(d.Choices, func(c *discordgo.ApplicationCommandOptionChoice) bool { return c.Value == s }) {
				return false
			}
		case discordgo.ApplicationCommandOptionInteger:
			n, ok := o.Value.(float64)
			if !ok || n != math.Trunc(n) || math.Abs(n) > 1<<53 {
				return false
			}
			if d.MinValue != nil && (n < *d.MinValue || n > d.MaxValue) {
				return false
			}
		case discordgo.ApplicationCommandOptionBoolean:
			if _, ok := o.Value.(bool); !ok {
				return false
			}
		case discordgo.ApplicationCommandOptionAttachment:
			if _, ok := o.Value.(string); !ok {
				return false
			}
		default:
			return false
		}
	}
	for name, d := range decl {
		if d.Required && !seen[name] {
			return false // Discord always sends required options
		}
	}
	return true
}

// meant is the command an interaction stands for, built from its
// structured data: what the grammar must read back from the adapter's
// text. The user option's words are targets (with an @) or bare names.
func meant(data discordgo.ApplicationCommandInteractionData) bot.Command {
	if len(data.Options) == 0 {
		return bot.Command{Verb: "help"}
	}
	sub := data.Options[0]
	c := bot.Command{Verb: sub.Name, Named: map[string]string{}}
	for _, o := range sub.Options {
		switch o.Type {
		case discordgo.ApplicationCommandOptionAttachment:
		case discordgo.ApplicationCommandOptionBoolean:
			if o.Value.(bool) {
				c.Flags = append(c.Flags, o.Name)
			}
		case discordgo.ApplicationCommandOptionInteger:
			c.Named[o.Name] = strconv.FormatInt(int64(o.Value.(float64)), 10)
		default:
			v := o.Value.(string)
			switch o.Name {
			case "user":
				for _, w := range strings.Fields(v) {
					if strings.Contains(w, "@") {
						c.Targets = append(c.Targets, strings.Trim(w, ",;"))
					} else {
						c.Positional = append(c.Positional, w)
					}
				}
			case "reason":
				c.Reason = strings.TrimSpace(v)
			default:
				c.Named[o.Name] = v
			}
		}
	}
	return c
}

// commandData returns the data of the command holding sub, with the given
// options.
func commandData(sub string, opts ...map[string]any) json.RawMessage {
	cmds, _ := discord.Commands(actions.Default().All(), bot.Builtins())
	name := discord.CommandName
	for _, c := range cmds {
		for _, o := range c.Options {
			if o.Name == sub {
				name = c.Name
			}
		}
	}
	b, _ := json.Marshal(map[string]any{"name": name, "type": 1,
		"options": []any{map[string]any{"name": sub, "type": 1, "options": opts}}})
	return b
}

func option(name string, typ int, v any) map[string]any {
	return map[string]any{"name": name, "type": typ, "value": v}
}

// realInteractions returns interactions as fake Discord builds them: a
// PING, a button click, and commands whose option values hold what
// people type: quotes, backslashes, newlines, apostrophes, emoji.
func realInteractions(tb testing.TB) [][]byte {
	const channel, user = "2000000000000000001", "3000000000000000001"
	fd := fakediscord.NewTest(tb, fakediscord.Options{})
	defer fd.Close()
	fd.AddChannel(channel, "", user)
	out := [][]byte{fd.Ping().Body}
	for _, data := range []json.RawMessage{
		commandData("reset-password", option("user", 3, "AdeleV@contoso.com"), option("must-change", 5, true),
			option("reason", 3, `say "hi"`)),
		commandData("reset-password", option("user", 3, "AdeleV@contoso.com AlexW@contoso.com,"),
			option("reason", 3, `C:\temp\ and a trailing backslash \`)),
		commandData("create-tap", option("user", 3, "AlexW@contoso.com"), option("lifetime", 4, 60), option("once", 5, false),
			option("reason", 3, "line one\nline two\ttab \"quoted\" 'single' it's")),
		commandData("add-to-group", option("user", 3, "a@x.com"), option("group", 3, `Sales "EMEA" \ Marketing`),
			option("reason", 3, `reason="nested" --must-change \"`)),
		commandData("password-never-expires", option("user", 3, "a@x.com"), option("state", 3, "on"),
			option("reason", 3, "🔒 ünïcödé  ")),
		commandData("block-signin", option("file", 11, "900"), option("reason", 3, "leavers")),
		commandData("tenants", option("search", 3, `contoso "ltd`)),
		commandData("audit", option("user", 3, "AdeleV@contoso.com")),
		commandData("help", option("action", 3, "reset-password")),
		commandData("run", option("command", 3, `reset-password AdeleV@contoso.com reason="it's \"urgent\""`)),
		commandData("whoami"),
		json.RawMessage(`{"name":"cipp","type":1}`),
	} {
		out = append(out, fd.Command(channel, user, data).Body)
	}
	// A click on an approval card's button.
	in := fd.Command(channel, user, commandData("whoami"))
	var click map[string]any
	json.Unmarshal(in.Body, &click)
	click["type"] = 3
	click["data"] = map[string]any{"custom_id": "approve 7f3a1c", "component_type": 2}
	b, _ := json.Marshal(click)
	return append(out, b)
}

// trim keeps, of a real interaction, what the adapter reads, with a short
// token: the fuzzer minimizes every new input in time quadratic in its
// length, and the guild, channel, locale and entitlement fields and the
// 170-character token would make that take its whole budget.
func trim(tb testing.TB, body []byte) []byte {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		tb.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	for _, k := range []string{"id", "type", "token", "channel_id", "guild_id", "user", "data"} {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}
	out["token"] = json.RawMessage(`"tok"`)
	if m, ok := in["member"]; ok {
		var member struct {
			User struct {
				ID       string `json:"id"`
				Username string `json:"username"`
			} `json:"user"`
		}
		json.Unmarshal(m, &member)
		out["member"], _ = json.Marshal(map[string]any{"user": member.User})
	}
	b, _ := json.Marshal(out)
	return b
}

// FuzzInteraction POSTs arbitrary bodies, correctly signed, to the
// interactions endpoint. Whatever the body, the adapter answers 200
// (PING), 202 or 400 (413 only past the size limit), never panics or
// fails with 5xx, and hands the bot only "discord:" actors. And for every
// command Discord could send, the text the adapter derives reads
// back, through the bot's grammar, as exactly the command sent: no option
// value (a quote in a reason, a backslash, a newline) breaks parsing,
// changes a value or smuggles in a flag or parameter.
func FuzzInteraction(f *testing.F) {
	for _, b := range realInteractions(f) {
		f.Add(trim(f, b))
	}
	f.Add([]byte(`{"type":2,"id":"1","token":"t","member":{"user":{"id":"3"}},"data":{"name":"cipp","options":[{"name":"create-tap","type":1,"options":[{"name":"lifetime","type":4,"value":1e3}]}]}}`))
	f.Add([]byte(`{"type":3,"id":"1","token":"t","user":{"id":"3"},"data":{"custom_id":"reveal:00"}}`))
	f.Add([]byte(`{"type":5,"id":"1","user":{"id":"3"},"data":{"custom_id":"m","components":[]}}`))
	f.Add([]byte(`{"type":1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))

	rest := restStub(f)
	schema := commandSchema(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		code, events := postSigned(t, rest, body)
		switch {
		case code == http.StatusOK, code == http.StatusAccepted, code == http.StatusBadRequest:
		case code == http.StatusRequestEntityTooLarge && len(body) > 1<<20:
		default:
			t.Fatalf("status %d for %q", code, body)
		}
		if code != http.StatusAccepted && len(events) > 0 {
			t.Fatalf("answered %d yet dispatched %+v", code, events)
		}
		for _, ev := range events {
			if !strings.HasPrefix(ev.Actor.ID, discord.Platform+":") {
				t.Fatalf("event with actor %q", ev.Actor.ID)
			}
		}
		var in discordgo.Interaction
		if json.Unmarshal(body, &in) != nil || in.Type != discordgo.InteractionApplicationCommand {
			return
		}
		data := in.ApplicationCommandData()
		if !asDiscordSends(data, schema) {
			return
		}
		want := meant(data)
		for _, ev := range events {
			got, err := bot.ParseCommand(ev.Text)
			if err != nil {
				t.Fatalf("the grammar cannot read the adapter's text %q: %v", ev.Text, err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("the adapter's text %q reads back as another command (-sent +read):\n%s", ev.Text, diff)
			}
		}
	})
}

// TestFuzzInteractionSeeds keeps FuzzInteraction honest: real commands are
// acknowledged, dispatched and read back as sent, so the fuzzer explores
// past the signature check; a bad signature is refused.
func TestFuzzInteractionSeeds(t *testing.T) {
	rest := restStub(t)
	schema := commandSchema(t)
	seeds := realInteractions(t)
	if code, events := postSigned(t, rest, seeds[0]); code != http.StatusOK || len(events) != 0 {
		t.Fatalf("PING: %d %+v", code, events)
	}
	var checked int
	for _, body := range seeds[1:] {
		code, events := postSigned(t, rest, body)
		if code != http.StatusAccepted || len(events) != 1 || events[0].Actor.ID != "discord:3000000000000000001" {
			t.Fatalf("%s: %d %+v", body, code, events)
		}
		var in discordgo.Interaction
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatal(err)
		}
		if in.Type != discordgo.InteractionApplicationCommand || !asDiscordSends(in.ApplicationCommandData(), schema) {
			continue
		}
		got, err := bot.ParseCommand(events[0].Text)
		if err != nil {
			t.Fatalf("%q: %v", events[0].Text, err)
		}
		if diff := cmp.Diff(meant(in.ApplicationCommandData()), got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q (-sent +read):\n%s", events[0].Text, diff)
		}
		checked++
	}
	if checked < 8 {
		t.Errorf("only %d seeds are commands Discord could send", checked)
	}
	body := seeds[1]
	req := httptest.NewRequest(http.MethodPost, "/discord/interactions", bytes.NewReader(body))
	req.Header = signDiscord(append([]byte{' '}, body...), time.Now())
	a, err := discord.New(discord.Config{BotToken: "fuzz", AppID: fakediscord.DefaultAppID,
		PublicKey: hex.EncodeToString(fuzzKey.Public().(ed25519.PublicKey)), APIURL: rest.URL + "/api/v10/"}, &eventLog{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	mux := http.NewServeMux()
	a.Routes(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("badly signed interaction: %d", w.Code)
	}
}
