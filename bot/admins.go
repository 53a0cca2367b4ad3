package bot

import (
	"context"
	"strings"
)

// TellAdmins sends m privately to each admin named by configuration
// (Admins, "platform:userID") on a platform the bot runs, for news about
// cippbot itself that an admin must act on (its sign-in to Microsoft
// stopped working). It returns how many admins it reached; a failure is
// logged and the others are still told. m must not hold secrets.
func (b *Bot) TellAdmins(ctx context.Context, m Message) int {
	n := 0
	for _, id := range b.Admins {
		platform, _, ok := strings.Cut(id, ":")
		chat := b.Chats[platform]
		if !ok || chat == nil {
			continue
		}
		if err := chat.Notify(ctx, "", Actor{ID: id}, m); err != nil {
			b.log().WarnContext(ctx, "could not tell an admin", LogActor, id, "err", err)
			continue
		}
		n++
	}
	return n
}
