package fakediscord_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/cippbot/cippbot/internal/fakediscord"
)

func TestChannelMessageSendAndEdit(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "G1", "U1")

	sent, err := dg.ChannelMessageSendComplex("C1", &discordgo.MessageSend{
		Content:    "Reset password for alice?",
		Components: buttons("yes", "no"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if sent.ID == "" || sent.ChannelID != "C1" || sent.Content != "Reset password for alice?" {
		t.Fatalf("sent = %+v", sent)
	}
	if sent.Author == nil || !sent.Author.Bot || sent.Author.ID != fakediscord.DefaultAppID {
		t.Errorf("author = %+v", sent.Author)
	}
	if len(sent.Components) != 1 {
		t.Fatalf("components = %#v", sent.Components)
	}
	row, ok := sent.Components[0].(*discordgo.ActionsRow)
	if !ok || len(row.Components) != 2 {
		t.Fatalf("row = %#v", sent.Components[0])
	}
	if b, ok := row.Components[1].(*discordgo.Button); !ok || b.CustomID != "no" {
		t.Errorf("second button = %#v", row.Components[1])
	}
	if sent.Timestamp.IsZero() {
		t.Error("no timestamp")
	}

	m := message(t, srv, sent.ID)
	if m.Via != fakediscord.ViaChannel || m.Ephemeral || m.For != "" || m.GuildID != "G1" || m.Type != 0 {
		t.Errorf("stored = %+v", m)
	}

	// Content only: components stay.
	edited, err := dg.ChannelMessageEditComplex(discordgo.NewMessageEdit("C1", sent.ID).SetContent("Still pending"))
	if err != nil {
		t.Fatal(err)
	}
	if edited.Content != "Still pending" || len(edited.Components) != 1 || edited.EditedTimestamp == nil {
		t.Errorf("after content edit: %+v", edited)
	}

	// Empty components: removed.
	done := "Done"
	edited, err = dg.ChannelMessageEditComplex(&discordgo.MessageEdit{
		ID: sent.ID, Channel: "C1", Content: &done, Components: &[]discordgo.MessageComponent{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(edited.Components) != 0 {
		t.Errorf("components not removed: %#v", edited.Components)
	}
	m = message(t, srv, sent.ID)
	if m.Components != nil || m.Content != "Done" || m.Edits != 2 {
		t.Errorf("stored after edits = %+v", m)
	}

	// Unknown message and channel.
	_, err = dg.ChannelMessageEdit("C1", "123", "x")
	wantRESTError(t, err, 404, 10008)
	_, err = dg.ChannelMessageSend("nope", "x")
	wantRESTError(t, err, 404, 10003)

	// Delete.
	if err := dg.ChannelMessageDelete("C1", sent.ID); err != nil {
		t.Fatal(err)
	}
	if !message(t, srv, sent.ID).Deleted {
		t.Error("not deleted")
	}
	_, err = dg.ChannelMessageEdit("C1", sent.ID, "x")
	wantRESTError(t, err, 404, 10008)
}

func TestMessageLimits(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "")

	row := func(n int, prefix string) discordgo.ActionsRow {
		var bs []discordgo.MessageComponent
		for i := range n {
			bs = append(bs, discordgo.Button{Label: "b", CustomID: prefix + string(rune('a'+i))})
		}
		return discordgo.ActionsRow{Components: bs}
	}
	var sixRows []discordgo.MessageComponent
	for i := range 6 {
		sixRows = append(sixRows, row(1, string(rune('a'+i))))
	}
	cases := []struct {
		name string
		msg  *discordgo.MessageSend
		code int
		want string
	}{
		{"content", &discordgo.MessageSend{Content: strings.Repeat("x", 2001)}, 50035, "BASE_TYPE_MAX_LENGTH"},
		{"rows", &discordgo.MessageSend{Content: "x", Components: sixRows}, 50035, "BASE_TYPE_MAX_LENGTH"},
		{"buttons", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{row(6, "r")}}, 50035, "components"},
		{"custom_id", &discordgo.MessageSend{Content: "x", Components: buttons(strings.Repeat("c", 101))}, 50035, "custom_id"},
		{"no custom_id", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{
			discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{Label: "x"}}}}}, 50035, "BASE_TYPE_REQUIRED"},
		{"label", &discordgo.MessageSend{Content: "x", Components: []discordgo.MessageComponent{
			discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{Label: strings.Repeat("l", 81), CustomID: "a"}}}}}, 50035, "label"},
		{"duplicate", &discordgo.MessageSend{Content: "x", Components: buttons("a", "a")}, 50035, "COMPONENT_CUSTOM_ID_DUPLICATED"},
		{"empty", &discordgo.MessageSend{}, 50006, "Cannot send an empty message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dg.ChannelMessageSendComplex("C1", tc.msg)
			wantRESTError(t, err, 400, tc.code)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v does not mention %q", err, tc.want)
			}
		})
	}
	for _, m := range srv.Messages() {
		t.Errorf("message stored despite error: %+v", m)
	}
	// Exactly at the limits is fine.
	var five []discordgo.MessageComponent
	for i := range 5 {
		five = append(five, row(5, string(rune('a'+i))))
	}
	if _, err := dg.ChannelMessageSendComplex("C1", &discordgo.MessageSend{Content: strings.Repeat("é", 2000), Components: five}); err != nil {
		t.Fatal(err)
	}
}

func TestDMChannel(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	ch, err := dg.UserChannelCreate("U9")
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID != "dmU9" || ch.Type != discordgo.ChannelTypeDM || len(ch.Recipients) != 1 || ch.Recipients[0].ID != "U9" {
		t.Fatalf("channel = %+v", ch)
	}
	sent, err := dg.ChannelMessageSend(ch.ID, "Your new password is in the vault")
	if err != nil {
		t.Fatal(err)
	}
	m := message(t, srv, sent.ID)
	if m.Via != fakediscord.ViaDM || m.For != "U9" || m.Ephemeral || m.GuildID != "" {
		t.Errorf("dm message = %+v", m)
	}
	if _, err := dg.ChannelMessageSend("dmU10", "x"); err == nil {
		t.Error("posted to a DM never opened")
	}
}

func TestBotUserAndAuth(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{AppID: "42"})
	me, err := dg.User("@me")
	if err != nil {
		t.Fatal(err)
	}
	if me.ID != "42" || !me.Bot || me.Username != fakediscord.BotUsername {
		t.Errorf("me = %+v", me)
	}

	bad := session(t, srv, "wrong-token")
	srv.AddChannel("C1", "")
	_, err = bad.ChannelMessageSend("C1", "x")
	wantRESTError(t, err, 401, 0)
	if !strings.Contains(err.Error(), "401: Unauthorized") {
		t.Errorf("error = %v", err)
	}
	_, err = bad.User("@me")
	wantRESTError(t, err, 401, 0)

	calls := srv.Calls()
	last := calls[len(calls)-1]
	if last.Auth != "Bot wrong-token" || last.Status != 401 || last.Method != "GET" || last.Path != "/api/v9/users/@me" {
		t.Errorf("last call = %+v", last)
	}
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.ExpectUnhandled(http.MethodGet, "/api/v9/guilds/123")
	_, err := dg.Guild("123")
	wantRESTError(t, err, 404, 0)
	calls := srv.Calls()
	if len(calls) != 1 || calls[0].Path != "/api/v9/guilds/123" || calls[0].Status != 404 ||
		!strings.Contains(string(calls[0].Response), "404: Not Found") {
		t.Errorf("calls = %+v", calls)
	}
}

func TestRateLimitRetriedByDiscordgo(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "")
	srv.RateLimit("POST", "/channels/C1/messages", 2, 0.01)
	if _, err := dg.ChannelMessageSend("C1", "hello"); err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for _, c := range srv.Calls() {
		statuses = append(statuses, c.Status)
	}
	if len(statuses) != 3 || statuses[0] != 429 || statuses[1] != 429 || statuses[2] != 200 {
		t.Fatalf("statuses = %v", statuses)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}

	// The raw answer has Discord's shape.
	srv.RateLimit("", "/users/@me", 1, 1.5)
	req, _ := http.NewRequest("GET", srv.BaseURL()+"users/@me", nil)
	req.Header.Set("Authorization", "Bot "+fakediscord.DefaultBotToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var rl struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     *bool   `json:"global"`
	}
	if err := json.Unmarshal(body, &rl); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 || rl.RetryAfter != 1.5 || rl.Global == nil || *rl.Global || rl.Message != "You are being rate limited." {
		t.Errorf("429 = %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Retry-After") != "2" || resp.Header.Get("X-RateLimit-Scope") != "user" || resp.Header.Get("X-RateLimit-Global") != "false" {
		t.Errorf("headers = %v", resp.Header)
	}
}

func TestWaitForMessage(t *testing.T) {
	t.Parallel()
	srv, dg := setup(t, fakediscord.Options{})
	srv.AddChannel("C1", "")
	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = dg.ChannelMessageSend("C1", "later")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := srv.WaitForMessage(ctx, func(m fakediscord.Message) bool { return m.Content == "later" })
	if err != nil {
		t.Fatal(err)
	}
	if m.ChannelID != "C1" {
		t.Errorf("m = %+v", m)
	}

	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := srv.WaitForMessage(short, func(fakediscord.Message) bool { return false }); err == nil {
		t.Error("no timeout")
	}
}
