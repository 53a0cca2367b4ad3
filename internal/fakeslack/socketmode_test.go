package fakeslack_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/cippbot/cippbot/internal/fakeslack"
)

// runSocketMode starts the real slack-go Socket Mode client against s and
// returns it with a function that waits for the next event of a type.
func runSocketMode(t *testing.T, s *fakeslack.Server, opts ...socketmode.Option) (*socketmode.Client, func(socketmode.EventType) socketmode.Event) {
	t.Helper()
	api := slack.New(fakeslack.DefaultBotToken, slack.OptionAPIURL(s.APIURL()),
		slack.OptionAppLevelToken(fakeslack.DefaultAppToken))
	sm := socketmode.New(api, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sm.RunContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	next := func(want socketmode.EventType) socketmode.Event {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case evt := <-sm.Events:
				if evt.Type == want {
					return evt
				}
				if evt.Type == socketmode.EventTypeInvalidAuth || evt.Type == socketmode.EventTypeConnectionError {
					t.Fatalf("socket mode: %s %v", evt.Type, evt.Data)
				}
			case <-timeout:
				t.Fatalf("no %s event", want)
			}
		}
	}
	return sm, next
}

func TestSocketModeSlashCommandRoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	if _, err := s.SocketModeSend("slash_commands", json.RawMessage(`{}`)); err == nil {
		t.Fatal("SocketModeSend without a client succeeded")
	}
	sm, next := runSocketMode(t, s)

	next(socketmode.EventTypeConnected)
	hello := next(socketmode.EventTypeHello)
	if hello.Request == nil || hello.Request.ConnectionInfo.AppID != fakeslack.AppID || hello.Request.NumConnections != 1 {
		t.Fatalf("hello = %+v", hello.Request)
	}
	if n := s.SocketConnections(); n != 1 {
		t.Fatalf("SocketConnections() = %d", n)
	}
	open := s.CallsTo("apps.connections.open")
	if len(open) != 1 || open[0].Token != fakeslack.DefaultAppToken {
		t.Fatalf("apps.connections.open calls = %+v", open)
	}

	id, err := s.SocketModeSend("slash_commands", s.SlashCommandPayload("/cipp", "status", "C1", "UALICE"))
	if err != nil {
		t.Fatal(err)
	}
	evt := next(socketmode.EventTypeSlashCommand)
	cmd, ok := evt.Data.(slack.SlashCommand)
	if !ok || evt.Request == nil || evt.Request.EnvelopeID != id || !evt.Request.AcceptsResponsePayload {
		t.Fatalf("event = %+v", evt)
	}
	if cmd.Command != "/cipp" || cmd.Text != "status" || cmd.ChannelID != "C1" || cmd.ChannelName != "ops" ||
		cmd.UserID != "UALICE" || cmd.TriggerID == "" || cmd.ResponseURL == "" {
		t.Fatalf("command = %+v", cmd)
	}
	if err := sm.Ack(*evt.Request, map[string]any{"text": "On it"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := s.WaitForAck(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Type != "slash_commands" || string(ack.Payload) != `{"text":"On it"}` || ack.At.IsZero() {
		t.Fatalf("ack = %+v", ack)
	}
	if acks := s.SocketAcks(); len(acks) != 1 {
		t.Fatalf("acks = %+v", acks)
	}
	// The ack payload answered the user, as on Slack.
	if m := onlyMessage(t, s); m.Via != fakeslack.ViaAck || !m.Ephemeral || m.User != "UALICE" || m.Text != "On it" {
		t.Fatalf("message = %+v", m)
	}

	// A bare ack records no message.
	id2, err := s.SocketModeSlashCommand("/cipp", "help", "C1", "UBOB")
	if err != nil {
		t.Fatal(err)
	}
	evt = next(socketmode.EventTypeSlashCommand)
	if err := sm.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	if ack, err := s.WaitForAck(ctx, id2); err != nil || ack.Payload != nil {
		t.Fatalf("bare ack = %+v, %v", ack, err)
	}
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("%d messages after bare ack", n)
	}
	if _, err := s.SocketModeSlashCommand("/cipp", "", "C2", "UBOB"); err == nil {
		t.Fatal("non-member ran a Socket Mode slash command")
	}
}

func TestSocketModeButtonClick(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	sm, next := runSocketMode(t, s)
	next(socketmode.EventTypeHello) // sent once the server holds the connection; Connected can come first
	msg := postApproval(t, s)

	if _, err := s.SocketModeClickButton(msg, "cipp:nope", "x", "UBOB"); err == nil {
		t.Fatal("clicked a button that is not shown")
	}
	id, err := s.SocketModeClickButton(msg, "cipp:approve", "approve 42", "UBOB")
	if err != nil {
		t.Fatal(err)
	}
	evt := next(socketmode.EventTypeInteractive)
	ic, ok := evt.Data.(slack.InteractionCallback)
	if !ok || ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) != 1 ||
		ic.ActionCallback.BlockActions[0].ActionID != "cipp:approve" || ic.User.ID != "UBOB" {
		t.Fatalf("interaction = %+v", evt.Data)
	}
	if err := sm.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ack, err := s.WaitForAck(ctx, id); err != nil || ack.Type != "interactive" {
		t.Fatalf("ack = %+v, %v", ack, err)
	}
	// The payload's response_url replaces the clicked message.
	if err := slack.PostWebhook(ic.ResponseURL, &slack.WebhookMessage{Text: "done", ReplaceOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if m := onlyMessage(t, s); m.Text != "done" || m.Updated != 1 {
		t.Fatalf("message = %+v", m)
	}
}

func TestSocketModeKeepAliveAndReconnect(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{PingInterval: 50 * time.Millisecond})
	// The client drops connections it is not pinged on within 300ms.
	_, next := runSocketMode(t, s, socketmode.OptionPingInterval(300*time.Millisecond))
	next(socketmode.EventTypeConnected)
	time.Sleep(time.Second)
	if n := len(s.CallsTo("apps.connections.open")); n != 1 {
		t.Fatalf("client reconnected %d times despite pings", n-1)
	}

	s.SocketModeDisconnect("refresh_requested")
	next(socketmode.EventTypeConnected)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitForSocketConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(s.CallsTo("apps.connections.open")); n != 2 {
		t.Fatalf("apps.connections.open called %d times, want 2", n)
	}
}

func TestAppsConnectionsOpenTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	for _, tc := range []struct{ token, want string }{
		{fakeslack.DefaultBotToken, "not_allowed_token_type"},
		{"xapp-wrong", "invalid_auth"},
	} {
		api := slack.New(fakeslack.DefaultBotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(tc.token))
		_, _, err := api.StartSocketModeContext(context.Background())
		if got := slackErr(t, err); got != tc.want {
			t.Errorf("app token %q: %q, want %q", tc.token, got, tc.want)
		}
	}
	api := slack.New(fakeslack.DefaultBotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(fakeslack.DefaultAppToken))
	_, u, err := api.StartSocketModeContext(context.Background())
	if err != nil || len(u) < 5 || u[:5] != "ws://" {
		t.Fatalf("StartSocketMode = %q, %v", u, err)
	}
}

func TestSocketModeInvalidAppTokenIsFatal(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	api := slack.New(fakeslack.DefaultBotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken("xapp-wrong"))
	sm := socketmode.New(api)
	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(context.Background()) }()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case <-sm.Events:
		case err := <-errc:
			if err == nil || err.Error() != "invalid_auth" {
				t.Fatalf("RunContext = %v", err)
			}
			return
		case <-timeout:
			t.Fatal("client kept retrying a wrong app token")
		}
	}
}

func TestCloseDisconnectsClients(t *testing.T) {
	t.Parallel()
	s := fakeslack.NewTest(t, fakeslack.Options{})
	_, next := runSocketMode(t, s)
	next(socketmode.EventTypeConnected)
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung with a Socket Mode client connected")
	}
	if n := s.SocketConnections(); n != 0 {
		t.Fatalf("%d connections after Close", n)
	}
	s.Close() // idempotent
}
