package bot_test

import (
	"context"
	"testing"

	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/mock"
)

func TestBot_TellAdmins(t *testing.T) {
	t.Parallel()
	slack, discord := &mock.Chat{}, &unreachable{Chat: &mock.Chat{}, who: "discord:42"}
	discord.down.Store(true)
	b := &bot.Bot{
		Admins: []string{"slack:UADMIN", "slack:UOTHER", "discord:42", "teams:aad", "malformed"},
		Chats:  map[string]bot.Chat{"slack": slack, "discord": discord},
	}
	n := b.TellAdmins(context.Background(), bot.Message{Title: "cippbot cannot reach any customer tenant", Tone: bot.ToneError})
	if n != 2 {
		t.Errorf("TellAdmins reached %d admins, want 2 (the Slack ones; Discord is down, Teams not running)", n)
	}
	var to []string
	for _, s := range slack.Sent() {
		to = append(to, s.To)
		if s.Update || s.Message.Title != "cippbot cannot reach any customer tenant" {
			t.Errorf("sent %+v", s)
		}
	}
	if len(to) != 2 || to[0] != "slack:UADMIN" || to[1] != "slack:UOTHER" {
		t.Errorf("told %v", to)
	}
}
