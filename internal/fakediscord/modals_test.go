package fakediscord_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/internal/fakediscord"
)

// reasonModal is the modal a bot shows to ask for a missing reason: a
// required paragraph and an optional, prefilled short input.
func reasonModal(customID string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: customID,
		Title:    "Reason needed",
		Components: []discordgo.MessageComponent{
			discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
				CustomID: "reason", Label: "Why?", Style: discordgo.TextInputParagraph, Required: true, MinLength: 5, MaxLength: 200,
			}}},
			discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
				CustomID: "ticket", Label: "Ticket", Style: discordgo.TextInputShort, Value: "INC-1",
			}}},
		},
	}}
}

// textInputs returns custom_id → value of a modal submit's text inputs.
func textInputs(t *testing.T, data discordgo.ModalSubmitInteractionData) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, row := range data.Components {
		ar, ok := row.(*discordgo.ActionsRow)
		if !ok || len(ar.Components) != 1 {
			t.Fatalf("modal submit row = %#v", row)
		}
		in, ok := ar.Components[0].(*discordgo.TextInput)
		if !ok {
			t.Fatalf("modal submit component = %#v", ar.Components[0])
		}
		out[in.CustomID] = in.Value
	}
	return out
}

func TestSubmitModalFromCommand(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, dg := setup(t, fakediscord.Options{Now: clk.Now})
	srv.AddChannel("C1", "G1", "U1", "U2")
	cmd := srv.Command("C1", "U1", command("cipp"))
	if _, err := srv.SubmitModal("C1", "U1", "reason:42", map[string]string{"reason": "because"}); err == nil {
		t.Fatal("submitted a modal that was never shown")
	}
	if err := dg.InteractionRespond(parse(t, cmd), reasonModal("reason:42")); err != nil {
		t.Fatal(err)
	}
	mods := srv.Modals()
	if len(mods) != 1 || mods[0].InteractionID != cmd.ID || mods[0].For != "U1" || mods[0].CustomID != "reason:42" ||
		mods[0].Title != "Reason needed" || mods[0].Submitted || mods[0].Closed || !strings.Contains(string(mods[0].JSON), `"custom_id":"ticket"`) {
		t.Fatalf("modals = %+v", mods)
	}

	for _, tc := range []struct {
		name, channel, user, customID string
		values                        map[string]string
	}{
		{"another user", "C1", "U2", "reason:42", map[string]string{"reason": "because"}},
		{"another custom_id", "C1", "U1", "reason:43", map[string]string{"reason": "because"}},
		{"another channel", "C2", "U1", "reason:42", map[string]string{"reason": "because"}},
		{"unknown input", "C1", "U1", "reason:42", map[string]string{"reason": "because", "why": "x"}},
		{"required input missing", "C1", "U1", "reason:42", nil},
		{"required input empty", "C1", "U1", "reason:42", map[string]string{"reason": ""}},
		{"under min_length", "C1", "U1", "reason:42", map[string]string{"reason": "bc"}},
		{"over max_length", "C1", "U1", "reason:42", map[string]string{"reason": strings.Repeat("x", 201)}},
	} {
		if _, err := srv.SubmitModal(tc.channel, tc.user, tc.customID, tc.values); err == nil {
			t.Errorf("%s: submitted", tc.name)
		}
	}

	in, err := srv.SubmitModal("C1", "U1", "reason:42", map[string]string{"reason": "because the account is locked"})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(in.Body, &raw)
	if _, ok := raw["message"]; ok {
		t.Errorf("modal submit has a message: %s", in.Body)
	}
	if got := string(raw["data"]); got != `{"components":[{"components":[{"custom_id":"reason","type":4,"value":"because the account is locked"}],"type":1},{"components":[{"custom_id":"ticket","type":4,"value":"INC-1"}],"type":1}],"custom_id":"reason:42"}` {
		t.Errorf("data = %s", got)
	}
	ix := parse(t, in)
	if ix.Type != discordgo.InteractionModalSubmit || ix.ID != in.ID || ix.Token != in.Token || ix.Message != nil ||
		ix.GuildID != "G1" || ix.ChannelID != "C1" || ix.Member == nil || ix.Member.User.ID != "U1" || ix.AppID != fakediscord.DefaultAppID {
		t.Fatalf("submit = %+v", ix)
	}
	data := ix.ModalSubmitData()
	if data.CustomID != "reason:42" {
		t.Errorf("custom_id = %q", data.CustomID)
	}
	if got := textInputs(t, data); len(got) != 2 || got["reason"] != "because the account is locked" || got["ticket"] != "INC-1" {
		t.Errorf("inputs = %v", got)
	}
	if m := srv.Modals()[0]; !m.Submitted || m.Closed {
		t.Errorf("modal after submit = %+v", m)
	}

	// The submit's token works like any other: the initial response...
	if err := dg.InteractionRespond(ix, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: "Reason noted", Flags: discordgo.MessageFlagsEphemeral}}); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].Content != "Reason noted" || !msgs[0].Ephemeral || msgs[0].For != "U1" || msgs[0].InteractionID != in.ID {
		t.Fatalf("messages = %+v", msgs)
	}
	if m := srv.Modals()[0]; !m.Closed {
		t.Errorf("answered modal still open: %+v", m)
	}
	if _, err := srv.SubmitModal("C1", "U1", "reason:42", map[string]string{"reason": "because again"}); err == nil {
		t.Error("submitted a closed modal")
	}
	// ...and follow-ups until 15 minutes after the submit.
	clk.Advance(15 * time.Minute)
	if _, err := dg.FollowupMessageCreate(ix, true, &discordgo.WebhookParams{Content: "Done"}); err != nil {
		t.Fatalf("follow-up at 15 minutes: %v", err)
	}
	clk.Advance(time.Second)
	_, err = dg.FollowupMessageCreate(ix, true, &discordgo.WebhookParams{Content: "Late"})
	wantRESTError(t, err, 401, 50027)
}

func TestSubmitModalCallbackRules(t *testing.T) {
	t.Parallel()
	clk := newClock()
	srv, dg := setup(t, fakediscord.Options{Now: clk.Now})
	srv.AddChannel("C1", "G1", "U1")
	if err := dg.InteractionRespond(parse(t, srv.Command("C1", "U1", command("cipp"))), reasonModal("why")); err != nil {
		t.Fatal(err)
	}
	in, err := srv.SubmitModal("C1", "U1", "why", map[string]string{"reason": "because"})
	if err != nil {
		t.Fatal(err)
	}
	ix := parse(t, in)

	// A modal cannot answer a modal, and a modal opened from a command
	// has no message to update.
	for _, typ := range []discordgo.InteractionResponseType{
		discordgo.InteractionResponseModal,
		discordgo.InteractionResponseUpdateMessage,
		discordgo.InteractionResponseDeferredMessageUpdate,
	} {
		r := &discordgo.InteractionResponse{Type: typ, Data: &discordgo.InteractionResponseData{Content: "x"}}
		if typ == discordgo.InteractionResponseModal {
			r = reasonModal("again")
		}
		err := dg.InteractionRespond(ix, r)
		wantRESTError(t, err, 400, 50035)
	}

	// Too late: Discord shows an error and the modal stays open.
	clk.Advance(3*time.Second + time.Millisecond)
	err = dg.InteractionRespond(ix, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	wantRESTError(t, err, 404, 10062)
	if m := srv.Modals()[0]; m.Closed {
		t.Fatalf("modal closed by a rejected answer: %+v", m)
	}
	// So the user submits again; this time the app defers in time.
	in2, err := srv.SubmitModal("C1", "U1", "why", map[string]string{"reason": "because, again"})
	if err != nil {
		t.Fatal(err)
	}
	if in2.ID == in.ID || in2.Token == in.Token {
		t.Fatal("second submit reused the interaction")
	}
	clk.Advance(3 * time.Second)
	if err := dg.InteractionRespond(parse(t, in2), &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
		t.Fatal(err)
	}
	if m := srv.Modals()[0]; !m.Closed {
		t.Errorf("modal = %+v", m)
	}
	// A modal can be shown again for the same user; the newest open one is
	// submitted.
	if err := dg.InteractionRespond(parse(t, srv.Command("C1", "U1", command("cipp"))), reasonModal("why")); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.SubmitModal("C1", "U1", "why", map[string]string{"reason": "because, third"}); err != nil {
		t.Fatal(err)
	}
	if mods := srv.Modals(); len(mods) != 2 || !mods[1].Submitted || mods[1].Closed {
		t.Errorf("modals = %+v", mods)
	}
}

func TestSubmitModalFromButtonUpdatesMessage(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "G1", "U1", "U2")
	sent, err := dg.ChannelMessageSendComplex("C1", &discordgo.MessageSend{Content: "Reset password for alice?", Components: buttons("approve")})
	if err != nil {
		t.Fatal(err)
	}
	click, err := srv.Click("C1", "U2", message(t, srv, sent.ID), "approve")
	if err != nil {
		t.Fatal(err)
	}
	if err := dg.InteractionRespond(parse(t, click), reasonModal("approve:42")); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.SubmitModal("C1", "U1", "approve:42", map[string]string{"reason": "because"}); err == nil {
		t.Fatal("U1 submitted U2's modal")
	}
	in, err := srv.SubmitModal("C1", "U2", "approve:42", map[string]string{"reason": "because alice asked", "ticket": ""})
	if err != nil {
		t.Fatal(err)
	}
	ix := parse(t, in)
	if ix.Message != nil {
		t.Errorf("submit carries a message: %+v", ix.Message)
	}
	if got := textInputs(t, ix.ModalSubmitData()); got["ticket"] != "" || got["reason"] != "because alice asked" {
		t.Errorf("inputs = %v", got)
	}
	// Opened from a button, the submit may update the button's message.
	empty := []discordgo.MessageComponent{}
	if err := dg.InteractionRespond(ix, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
		Data: &discordgo.InteractionResponseData{Content: "Approved by U2: because alice asked", Components: empty}}); err != nil {
		t.Fatal(err)
	}
	m := message(t, srv, sent.ID)
	if m.Content != "Approved by U2: because alice asked" || m.Components != nil || m.Via != fakediscord.ViaCallback || m.Edits != 1 {
		t.Errorf("message = %+v", m)
	}
	if len(srv.Messages()) != 1 {
		t.Errorf("messages = %+v", srv.Messages())
	}
}

func TestSubmitModalDeliveredInline(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t, fakediscord.Options{})
	srv.AddChannel("dmU1", "")
	hs := app(t, srv, func(ix *discordgo.Interaction, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		switch ix.Type {
		case discordgo.InteractionApplicationCommand:
			_ = json.NewEncoder(w).Encode(reasonModal("why"))
		case discordgo.InteractionModalSubmit:
			reason := textInputs(t, ix.ModalSubmitData())["reason"]
			_ = json.NewEncoder(w).Encode(&discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: "Noted: " + reason}})
		}
	})
	if _, err := srv.Deliver(hs.URL, srv.Command("dmU1", "U1", command("cipp"))); err != nil {
		t.Fatal(err)
	}
	in, err := srv.SubmitModal("dmU1", "U1", "why", map[string]string{"reason": "because"})
	if err != nil {
		t.Fatal(err)
	}
	if ix := parse(t, in); ix.User == nil || ix.User.ID != "U1" || ix.Member != nil || ix.GuildID != "" {
		t.Errorf("DM submit = %+v", ix)
	}
	if _, err := srv.Deliver(hs.URL, in); err != nil {
		t.Fatal(err)
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].Content != "Noted: because" || msgs[0].For != "U1" {
		t.Errorf("messages = %+v", msgs)
	}
	if mods := srv.Modals(); len(mods) != 1 || !mods[0].Closed {
		t.Errorf("modals = %+v", mods)
	}
}

func TestModalValidation(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "G1", "U1")
	ix := parse(t, srv.Command("C1", "U1", command("cipp")))
	input := func(edit func(*discordgo.TextInput)) discordgo.MessageComponent {
		in := discordgo.TextInput{CustomID: "reason", Label: "Why?", Style: discordgo.TextInputShort}
		if edit != nil {
			edit(&in)
		}
		return discordgo.ActionsRow{Components: []discordgo.MessageComponent{in}}
	}
	rows := func(n int) []discordgo.MessageComponent {
		var out []discordgo.MessageComponent
		for i := range n {
			out = append(out, input(func(in *discordgo.TextInput) { in.CustomID = "r" + string(rune('a'+i)) }))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		edit func(*discordgo.InteractionResponseData)
		path string
	}{
		{"no custom_id", func(d *discordgo.InteractionResponseData) { d.CustomID = "" }, `"custom_id"`},
		{"long custom_id", func(d *discordgo.InteractionResponseData) { d.CustomID = strings.Repeat("c", 101) }, `"custom_id"`},
		{"no title", func(d *discordgo.InteractionResponseData) { d.Title = "" }, `"title"`},
		{"long title", func(d *discordgo.InteractionResponseData) { d.Title = strings.Repeat("t", 46) }, `"title"`},
		{"no rows", func(d *discordgo.InteractionResponseData) { d.Components = nil }, `"components"`},
		{"six rows", func(d *discordgo.InteractionResponseData) { d.Components = rows(6) }, `"components"`},
		{"two inputs in a row", func(d *discordgo.InteractionResponseData) {
			d.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.TextInput{CustomID: "a", Label: "A", Style: discordgo.TextInputShort},
				discordgo.TextInput{CustomID: "b", Label: "B", Style: discordgo.TextInputShort},
			}}}
		}, `"components"`},
		{"button in a row", func(d *discordgo.InteractionResponseData) { d.Components = buttons("ok") }, `"type"`},
		{"input outside a row", func(d *discordgo.InteractionResponseData) {
			d.Components = []discordgo.MessageComponent{discordgo.TextInput{CustomID: "a", Label: "A", Style: discordgo.TextInputShort}}
		}, `"type"`},
		{"input without custom_id", func(d *discordgo.InteractionResponseData) {
			d.Components = []discordgo.MessageComponent{input(func(in *discordgo.TextInput) { in.CustomID = "" })}
		}, `"custom_id"`},
		{"duplicate input custom_id", func(d *discordgo.InteractionResponseData) {
			d.Components = []discordgo.MessageComponent{input(nil), input(nil)}
		}, `COMPONENT_CUSTOM_ID_DUPLICATED`},
		{"no label", func(d *discordgo.InteractionResponseData) {
			d.Components = []discordgo.MessageComponent{input(func(in *discordgo.TextInput) { in.Label = "" })}
		}, `"label"`},
		{"long label", func(d *discordgo.InteractionResponseData) {
			d.Components = []discordgo.MessageComponent{input(func(in *discordgo.TextInput) { in.Label = strings.Repeat("l", 46) })}
		}, `"label"`},
		{"style 3", func(d *discordgo.InteractionResponseData) {
			d.Components = []discordgo.MessageComponent{input(func(in *discordgo.TextInput) { in.Style = 3 })}
		}, `"style"`},
		{"no style", func(d *discordgo.InteractionResponseData) {
			d.Components = []discordgo.MessageComponent{input(func(in *discordgo.TextInput) { in.Style = 0 })}
		}, `"style"`},
		{"max_length 4001", func(d *discordgo.InteractionResponseData) {
			d.Components = []discordgo.MessageComponent{input(func(in *discordgo.TextInput) { in.MaxLength = 4001 })}
		}, `"max_length"`},
	} {
		r := reasonModal("why")
		tc.edit(r.Data)
		err := dg.InteractionRespond(ix, r)
		wantRESTError(t, err, 400, 50035)
		if !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: %v does not name %s", tc.name, err, tc.path)
		}
	}
	if len(srv.Modals()) != 0 || len(srv.Callbacks()) != 0 {
		t.Fatal("rejected modals left traces")
	}
	// Limits themselves are fine: five rows, 45-character title and
	// labels, a 100-character custom_id, max_length 4000.
	r := reasonModal(strings.Repeat("c", 100))
	r.Data.Title = strings.Repeat("t", 45)
	r.Data.Components = rows(5)
	r.Data.Components[0] = input(func(in *discordgo.TextInput) { in.Label = strings.Repeat("l", 45); in.MaxLength = 4000 })
	if err := dg.InteractionRespond(ix, r); err != nil {
		t.Fatal(err)
	}
	if mods := srv.Modals(); len(mods) != 1 || mods[0].Title != strings.Repeat("t", 45) {
		t.Fatalf("modals = %+v", mods)
	}
}
