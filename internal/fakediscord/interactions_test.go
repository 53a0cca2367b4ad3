package fakediscord_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/internal/fakediscord"
)

func TestCommandPayload(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "G1", "U1")
	in := srv.Command("C1", "U1", command("cipp"))
	ix := parse(t, in)
	if ix.ID != in.ID || ix.Token != in.Token || ix.Type != discordgo.InteractionApplicationCommand || ix.Version != 1 {
		t.Errorf("ix = %+v", ix)
	}
	if ix.AppID != fakediscord.DefaultAppID || ix.GuildID != "G1" || ix.ChannelID != "C1" || ix.Locale != "en-US" {
		t.Errorf("ix = %+v", ix)
	}
	if ix.Member == nil || ix.Member.User == nil || ix.Member.User.ID != "U1" || ix.User != nil || ix.Member.Roles == nil {
		t.Errorf("member = %+v, user = %+v", ix.Member, ix.User)
	}
	data := ix.ApplicationCommandData()
	if data.Name != "cipp" || data.ID == "" || len(data.Options) != 1 || data.Options[0].StringValue() != "alice" {
		t.Errorf("data = %+v", data)
	}
	created, err := discordgo.SnowflakeTimestamp(in.ID)
	if err != nil || created.Sub(in.CreatedAt).Abs() > time.Millisecond {
		t.Errorf("snowflake time %v, CreatedAt %v", created, in.CreatedAt)
	}
	var raw map[string]any
	_ = json.Unmarshal(in.Body, &raw)
	for _, k := range []string{"app_permissions", "guild_locale", "channel", "authorizing_integration_owners"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("payload has no %s: %s", k, in.Body)
		}
	}

	dm := parse(t, srv.Command("dmU2", "U2", command("cipp")))
	if dm.User == nil || dm.User.ID != "U2" || dm.Member != nil || dm.GuildID != "" {
		t.Errorf("dm interaction = %+v", dm)
	}
	if p := parse(t, srv.Ping()); p.Type != discordgo.InteractionPing {
		t.Errorf("ping = %+v", p)
	}
}

func TestDeferredEphemeralThenEditThenFollowup(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, dg := setup(t, fakediscord.Options{Now: clk.Now})
	srv.AddChannel("C1", "G1", "U1", "U2")
	in := srv.Command("C1", "U1", command("cipp"))
	ix := parse(t, in)

	err := dg.InteractionRespond(ix, &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
	thinking := msgs[0]
	if !thinking.Ephemeral || thinking.For != "U1" || thinking.Content != "" || thinking.Flags&fakediscord.FlagLoading == 0 ||
		thinking.InteractionID != in.ID || thinking.Via != fakediscord.ViaCallback || thinking.Type != 20 {
		t.Errorf("thinking = %+v", thinking)
	}

	// A second response is refused.
	err = dg.InteractionRespond(ix, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "again"}})
	wantRESTError(t, err, 400, 40060)

	clk.Advance(10 * time.Second) // well past the callback deadline; webhooks still work
	content := "Password reset for alice"
	orig, err := dg.InteractionResponseEdit(ix, &discordgo.WebhookEdit{
		Content:    &content,
		Components: &[]discordgo.MessageComponent{buttons("copy")[0]},
	})
	if err != nil {
		t.Fatal(err)
	}
	if orig.ID != thinking.ID || orig.Content != content || orig.Flags&discordgo.MessageFlagsEphemeral == 0 {
		t.Errorf("edited original = %+v", orig)
	}
	if orig.InteractionMetadata == nil || orig.InteractionMetadata.ID != in.ID || orig.InteractionMetadata.User.ID != "U1" {
		t.Errorf("metadata = %+v", orig.InteractionMetadata)
	}
	m := message(t, srv, thinking.ID)
	if m.Via != fakediscord.ViaOriginal || !m.Ephemeral || m.Edits != 1 || m.Flags&fakediscord.FlagLoading != 0 || m.Components == nil {
		t.Errorf("original after edit = %+v", m)
	}

	// GET @original.
	got, err := dg.InteractionResponse(ix)
	if err != nil || got.ID != thinking.ID {
		t.Errorf("InteractionResponse = %+v, %v", got, err)
	}

	f, err := dg.FollowupMessageCreate(ix, true, &discordgo.WebhookParams{
		Content: "Temporary password: hunter2",
		Flags:   discordgo.MessageFlagsEphemeral,
	})
	if err != nil {
		t.Fatal(err)
	}
	fm := message(t, srv, f.ID)
	if fm.Via != fakediscord.ViaFollowup || !fm.Ephemeral || fm.For != "U1" || fm.InteractionID != in.ID || f.ID == thinking.ID {
		t.Errorf("followup = %+v", fm)
	}
	if f.InteractionMetadata == nil || f.InteractionMetadata.OriginalResponseMessageID != thinking.ID {
		t.Errorf("followup metadata = %+v", f.InteractionMetadata)
	}

	// Public follow-up without wait: 204, nothing to parse.
	if f2, err := dg.FollowupMessageCreate(ix, false, &discordgo.WebhookParams{Content: "Done."}); err != nil || f2 != nil {
		t.Errorf("follow-up without wait = %+v, %v", f2, err)
	}
	last := srv.Messages()[len(srv.Messages())-1]
	if last.Ephemeral || last.For != "" || last.Content != "Done." {
		t.Errorf("public follow-up = %+v", last)
	}
	calls := srv.Calls()
	if c := calls[len(calls)-1]; c.Status != 204 || c.Query != "" {
		t.Errorf("no-wait call = %+v", c)
	}
	for _, c := range calls {
		if strings.HasPrefix(c.Path, "/api/v9/webhooks/") && c.Method == "POST" && c.Status == 200 && c.Query != "wait=true" {
			t.Errorf("follow-up call = %+v", c)
		}
	}

	// Editing an ephemeral follow-up keeps it ephemeral, whatever flags say.
	newContent := "Temporary password: (redacted)"
	if _, err := dg.FollowupMessageEdit(ix, f.ID, &discordgo.WebhookEdit{Content: &newContent}); err != nil {
		t.Fatal(err)
	}
	if fm := message(t, srv, f.ID); !fm.Ephemeral || fm.Content != newContent || fm.Edits != 1 {
		t.Errorf("edited follow-up = %+v", fm)
	}
	if err := dg.FollowupMessageDelete(ix, f.ID); err != nil {
		t.Fatal(err)
	}
	if !message(t, srv, f.ID).Deleted {
		t.Error("follow-up not deleted")
	}
	_, err = dg.FollowupMessageEdit(ix, f.ID, &discordgo.WebhookEdit{Content: &newContent})
	wantRESTError(t, err, 404, 10008)

	cbs := srv.Callbacks()
	if len(cbs) != 1 || cbs[0].Type != 5 || cbs[0].InteractionID != in.ID || cbs[0].Inline {
		t.Errorf("callbacks = %+v", cbs)
	}
}

func TestInteractionDeadlines(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, dg := setup(t, fakediscord.Options{Now: clk.Now})
	srv.AddChannel("C1", "G1")

	// Too late for the initial response.
	late := parse(t, srv.Command("C1", "U1", command("cipp")))
	clk.Advance(3*time.Second + time.Millisecond)
	err := dg.InteractionRespond(late, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "hi"}})
	wantRESTError(t, err, 404, 10062)

	// Unknown interaction.
	bogus := *late
	bogus.Token = "nope"
	err = dg.InteractionRespond(&bogus, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
	wantRESTError(t, err, 404, 10062)

	// @original before any response, and follow-ups before it.
	ix := parse(t, srv.Command("C1", "U1", command("cipp")))
	content := "x"
	_, err = dg.InteractionResponseEdit(ix, &discordgo.WebhookEdit{Content: &content})
	wantRESTError(t, err, 404, 10008)
	_, err = dg.FollowupMessageCreate(ix, true, &discordgo.WebhookParams{Content: "x"})
	wantRESTError(t, err, 404, 10015)

	clk.Advance(3 * time.Second) // exactly at the deadline is still fine
	if err := dg.InteractionRespond(ix, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "Working on it"}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(15*time.Minute - 3*time.Second)
	if _, err := dg.InteractionResponseEdit(ix, &discordgo.WebhookEdit{Content: &content}); err != nil {
		t.Fatalf("edit at 15 minutes: %v", err)
	}
	clk.Advance(time.Second)
	_, err = dg.InteractionResponseEdit(ix, &discordgo.WebhookEdit{Content: &content})
	wantRESTError(t, err, 401, 50027)
	_, err = dg.FollowupMessageCreate(ix, true, &discordgo.WebhookParams{Content: "x"})
	wantRESTError(t, err, 401, 50027)

	// Unknown token.
	bogus = *ix
	bogus.Token = "nope"
	_, err = dg.FollowupMessageCreate(&bogus, true, &discordgo.WebhookParams{Content: "x"})
	wantRESTError(t, err, 404, 10015)
}

func TestCallbackValidation(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "")
	ix := parse(t, srv.Command("C1", "U1", command("cipp")))
	respond := func(r *discordgo.InteractionResponse) error { return dg.InteractionRespond(ix, r) }

	err := respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: strings.Repeat("x", 2001)}})
	wantRESTError(t, err, 400, 50035)
	if !strings.Contains(err.Error(), `"data":{"content"`) {
		t.Errorf("error path: %v", err)
	}
	err = respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "x"}})
	wantRESTError(t, err, 400, 50035)
	err = respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{}})
	wantRESTError(t, err, 400, 50006)
	if len(srv.Messages()) != 0 || len(srv.Callbacks()) != 0 {
		t.Error("rejected responses left traces")
	}

	// A modal is recorded.
	err = respond(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: "reason", Title: "Why?",
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: "text", Label: "Reason", Style: discordgo.TextInputShort},
		}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cbs := srv.Callbacks()
	if len(cbs) != 1 || cbs[0].Type != 9 || !strings.Contains(string(cbs[0].Data), `"title":"Why?"`) {
		t.Errorf("callbacks = %+v", cbs)
	}
}

func TestClickAndUpdate(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "G1", "U1", "U2")
	sent, err := dg.ChannelMessageSendComplex("C1", &discordgo.MessageSend{Content: "Approve?", Components: buttons("approve", "deny")})
	if err != nil {
		t.Fatal(err)
	}
	msg := message(t, srv, sent.ID)

	if _, err := srv.Click("C1", "U1", msg, "missing"); err == nil {
		t.Error("clicked a button that is not there")
	}
	if _, err := srv.Click("C1", "U3", msg, "approve"); err == nil {
		t.Error("a non-member clicked")
	}
	if _, err := srv.Click("C2", "U1", msg, "approve"); err == nil {
		t.Error("clicked in the wrong channel")
	}
	in, err := srv.Click("C1", "U2", msg, "approve")
	if err != nil {
		t.Fatal(err)
	}
	ix := parse(t, in)
	if ix.Type != discordgo.InteractionMessageComponent || ix.Message == nil || ix.Message.ID != sent.ID || ix.Member.User.ID != "U2" {
		t.Fatalf("click = %+v", ix)
	}
	if d := ix.MessageComponentData(); d.CustomID != "approve" || d.ComponentType != discordgo.ButtonComponent {
		t.Errorf("data = %+v", d)
	}
	if len(ix.Message.Components) != 1 {
		t.Errorf("clicked message components = %#v", ix.Message.Components)
	}

	// Update the message: content replaced, buttons removed.
	err = dg.InteractionRespond(ix, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "Approved by U2", Components: []discordgo.MessageComponent{}}})
	if err != nil {
		t.Fatal(err)
	}
	m := message(t, srv, sent.ID)
	if m.Content != "Approved by U2" || m.Components != nil || m.Via != fakediscord.ViaCallback || m.Edits != 1 {
		t.Errorf("updated = %+v", m)
	}
	if _, err := srv.Click("C1", "U1", msg, "approve"); err == nil {
		t.Error("clicked a button that was removed")
	}
	// @original of a component interaction answered with 7 is the message.
	c := "Approved by U2 (done)"
	if _, err := dg.InteractionResponseEdit(ix, &discordgo.WebhookEdit{Content: &c}); err != nil {
		t.Fatal(err)
	}
	if m := message(t, srv, sent.ID); m.Content != c || m.Via != fakediscord.ViaOriginal {
		t.Errorf("after @original edit = %+v", m)
	}
}

func TestClickEphemeral(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "G1", "U1", "U2")
	ix := parse(t, srv.Command("C1", "U1", command("cipp")))
	err := dg.InteractionRespond(ix, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "Sure?", Flags: discordgo.MessageFlagsEphemeral,
			Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.Button{Label: "Yes", CustomID: "yes"},
				discordgo.Button{Label: "Off", CustomID: "off", Disabled: true},
			}}}}})
	if err != nil {
		t.Fatal(err)
	}
	msg := srv.Messages()[0]
	if !msg.Ephemeral || msg.For != "U1" || msg.Via != fakediscord.ViaCallback {
		t.Fatalf("msg = %+v", msg)
	}
	if _, err := srv.Click("C1", "U2", msg, "yes"); err == nil {
		t.Error("U2 clicked U1's ephemeral")
	}
	if _, err := srv.Click("C1", "U1", msg, "off"); err == nil {
		t.Error("clicked a disabled button")
	}
	in, err := srv.Click("C1", "U1", msg, "yes")
	if err != nil {
		t.Fatal(err)
	}
	click := parse(t, in)
	if click.Message.Flags&discordgo.MessageFlagsEphemeral == 0 {
		t.Errorf("clicked message flags = %d", click.Message.Flags)
	}
	// Deferred update, then edit @original: the ephemeral is edited.
	if err := dg.InteractionRespond(click, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); err != nil {
		t.Fatal(err)
	}
	c := "Done"
	empty := []discordgo.MessageComponent{}
	if _, err := dg.InteractionResponseEdit(click, &discordgo.WebhookEdit{Content: &c, Components: &empty}); err != nil {
		t.Fatal(err)
	}
	if m := message(t, srv, msg.ID); m.Content != "Done" || m.Components != nil || !m.Ephemeral {
		t.Errorf("after edit = %+v", m)
	}
}

func TestFollowupFillsDeferredMessage(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "G1")
	ix := parse(t, srv.Command("C1", "U1", command("cipp")))
	if err := dg.InteractionRespond(ix, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}); err != nil {
		t.Fatal(err)
	}
	// Not marked ephemeral, but it fills the ephemeral "thinking" message.
	f, err := dg.FollowupMessageCreate(ix, true, &discordgo.WebhookParams{Content: "Result"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].ID != f.ID || !msgs[0].Ephemeral || msgs[0].Content != "Result" || msgs[0].Via != fakediscord.ViaFollowup {
		t.Errorf("messages = %+v", msgs)
	}
	// The next one is a new message.
	if _, err := dg.FollowupMessageCreate(ix, true, &discordgo.WebhookParams{Content: "More"}); err != nil {
		t.Fatal(err)
	}
	if msgs := srv.Messages(); len(msgs) != 2 || msgs[1].Ephemeral {
		t.Errorf("messages = %+v", msgs)
	}
}

func TestSignVerifiesWithDiscordgo(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t, fakediscord.Options{})
	in := srv.Ping()
	h := srv.Sign(in.Body, time.Now())
	req := httptest.NewRequest("POST", "/interactions", bytes.NewReader(in.Body))
	for k, v := range h {
		req.Header[k] = v
	}
	if !discordgo.VerifyInteraction(req, srv.PublicKey()) {
		t.Fatal("signature rejected")
	}
	tampered := append(bytes.Clone(in.Body[:len(in.Body)-1]), ' ', '}')
	req = httptest.NewRequest("POST", "/interactions", bytes.NewReader(tampered))
	for k, v := range h {
		req.Header[k] = v
	}
	if discordgo.VerifyInteraction(req, srv.PublicKey()) {
		t.Fatal("tampered body accepted")
	}
	other := fakediscord.NewTest(t, fakediscord.Options{})
	defer other.Close()
	req = httptest.NewRequest("POST", "/interactions", bytes.NewReader(in.Body))
	for k, v := range h {
		req.Header[k] = v
	}
	if discordgo.VerifyInteraction(req, other.PublicKey()) {
		t.Fatal("another instance's key verified the signature")
	}
	if len(srv.PublicKeyHex()) != 64 {
		t.Errorf("PublicKeyHex = %q", srv.PublicKeyHex())
	}
}

// app is a minimal HTTP interactions endpoint: it verifies signatures and
// answers with respond.
func app(t *testing.T, srv *fakediscord.Server, respond func(ix *discordgo.Interaction, w http.ResponseWriter)) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !discordgo.VerifyInteraction(r, srv.PublicKey()) {
			http.Error(w, "invalid request signature", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var ix discordgo.Interaction
		if err := json.Unmarshal(body, &ix); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		respond(&ix, w)
	}))
	t.Cleanup(hs.Close)
	return hs
}

func TestDeliverInlineAndCallbackStyles(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, dg := setup(t, fakediscord.Options{Now: clk.Now})
	srv.AddChannel("C1", "G1", "U1")
	hs := app(t, srv, func(ix *discordgo.Interaction, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case ix.Type == discordgo.InteractionPing:
			_, _ = w.Write([]byte(`{"type":1}`))
		case ix.ApplicationCommandData().Name == "inline":
			_, _ = w.Write([]byte(`{"type":4,"data":{"content":"inline answer","flags":64}}`))
		case ix.ApplicationCommandData().Name == "bad":
			_, _ = w.Write([]byte(`{"type":4,"data":{"content":""}}`))
		default:
			// Answer through the REST callback, then 202.
			err := dg.InteractionRespond(ix, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: "callback answer"}})
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			w.WriteHeader(http.StatusAccepted)
		}
	})

	resp, err := srv.Deliver(hs.URL, srv.Ping())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ping: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != `{"type":1}` {
		t.Errorf("pong body = %s", body)
	}

	in := srv.Command("C1", "U1", command("inline"))
	if _, err := srv.Deliver(hs.URL, in); err != nil {
		t.Fatal(err)
	}
	in2 := srv.Command("C1", "U1", command("rest"))
	resp, err = srv.Deliver(hs.URL, in2)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("rest style: %v %v", resp, err)
	}
	msgs := srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("messages = %+v", msgs)
	}
	if m := msgs[0]; m.Content != "inline answer" || !m.Ephemeral || m.For != "U1" || m.InteractionID != in.ID || m.Via != fakediscord.ViaCallback {
		t.Errorf("inline = %+v", m)
	}
	if m := msgs[1]; m.Content != "callback answer" || m.Ephemeral || m.InteractionID != in2.ID {
		t.Errorf("rest = %+v", m)
	}
	cbs := srv.Callbacks()
	if len(cbs) != 3 || !cbs[0].Inline || cbs[0].Type != 1 || !cbs[1].Inline || cbs[2].Inline {
		t.Errorf("callbacks = %+v", cbs)
	}

	// A rejected inline answer is reported.
	resp, err = srv.Deliver(hs.URL, srv.Command("C1", "U1", command("bad")))
	if err == nil || resp == nil || resp.StatusCode != 200 || !strings.Contains(err.Error(), "50006") {
		t.Errorf("bad inline: %v %v", resp, err)
	}

	// A replay (the app does not check timestamps) answers inline again,
	// which Discord refuses: the interaction was already answered.
	resp, err = srv.DeliverAt(hs.URL, in, time.Unix(0, 0))
	if err == nil || resp.StatusCode != 200 || !strings.Contains(err.Error(), "40060") {
		t.Errorf("replay: %v %v", resp, err)
	}
	// An inline answer after the deadline is refused too.
	late := srv.Command("C1", "U1", command("inline"))
	clk.Advance(4 * time.Second)
	if _, err := srv.Deliver(hs.URL, late); err == nil || !strings.Contains(err.Error(), "10062") {
		t.Errorf("late inline answer: %v", err)
	}

	// An app that rejects the signature (here: it checks another key)
	// answers 401; that is recorded, not an error of Deliver.
	other := fakediscord.NewTest(t, fakediscord.Options{})
	defer other.Close()
	strict := app(t, other, func(*discordgo.Interaction, http.ResponseWriter) { t.Error("forged request accepted") })
	resp, err = srv.Deliver(strict.URL, srv.Command("C1", "U1", command("inline")))
	if err != nil || resp.StatusCode != 401 {
		t.Errorf("rejected signature: %v %v", resp, err)
	}

	ds := srv.Deliveries()
	if len(ds) != 7 || ds[0].Status != 200 || ds[2].Status != 202 || ds[3].Error == "" || ds[4].Error == "" || ds[5].Error == "" ||
		ds[6].Status != 401 || ds[6].Error != "" {
		t.Errorf("deliveries = %+v", ds)
	}
}
