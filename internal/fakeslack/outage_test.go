package fakeslack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/cippbot/cippbot/internal/fakeslack"
)

// TestOutage: Fail fails one method for one user or all, Unreachable drops
// every call and response_url post unanswered (still listed, status 0),
// Reachable ends the outage but not the faults, Heal ends both.
func TestOutage(t *testing.T) {
	t.Parallel()
	s := newServer(t, fakeslack.Options{})
	c := botClient(s)
	ctx := context.Background()
	s.Fail("chat.postEphemeral", "UALICE", "user_not_in_channel")
	if _, err := c.PostEphemeralContext(ctx, "C1", "UALICE", slack.MsgOptionText("x", false)); slackErr(t, err) != "user_not_in_channel" {
		t.Errorf("ephemeral to alice: %v", err)
	}
	if _, err := c.PostEphemeralContext(ctx, "C1", "UBOB", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("ephemeral to bob: %v", err)
	}
	s.Fail("conversations.open", "UALICE", "fatal_error")
	if _, _, _, err := c.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"UALICE"}}); slackErr(t, err) != "fatal_error" {
		t.Errorf("DM with alice: %v", err)
	}

	s.Unreachable()
	hook := s.ResponseURL("C1", "UBOB")
	if _, _, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err == nil {
		t.Error("a post got through while Slack was unreachable")
	}
	if resp, err := http.Post(hook, "application/json", strings.NewReader(`{"text":"x"}`)); err == nil {
		resp.Body.Close()
		t.Error("a response_url post got an answer while Slack was unreachable")
	}
	calls := s.CallsTo("chat.postMessage")
	if len(calls) != 1 || calls[0].Status != 0 {
		t.Errorf("dropped calls: %+v", calls)
	}

	s.Reachable()
	if _, _, err := c.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("post after Reachable: %v", err)
	}
	if _, err := c.PostEphemeralContext(ctx, "C1", "UALICE", slack.MsgOptionText("x", false)); slackErr(t, err) != "user_not_in_channel" {
		t.Errorf("Reachable ended the fault: %v", err)
	}
	s.Heal()
	if _, err := c.PostEphemeralContext(ctx, "C1", "UALICE", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("ephemeral after Heal: %v", err)
	}
}
