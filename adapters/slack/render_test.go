package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
)

func TestBlocks(t *testing.T) {
	m := bot.Message{
		Title:   "Approval needed: reset-password a@contoso.com",
		Lines:   []string{"Reason: <script> & co"},
		Buttons: []bot.Button{{Label: "Approve", Value: "approve 7f3a1c"}, {Label: "Deny", Value: "deny 7f3a1c", Danger: true}},
		Secrets: []bot.Secret{actions.NewSecret("a@contoso.com password", "Ab3$&<x>Zz9#kk")},
	}
	pub, _ := json.Marshal(blocks(m, false))
	priv, _ := json.Marshal(blocks(m, true))
	if strings.Contains(string(pub), "Ab3$") {
		t.Fatal("secret rendered in a public message")
	}
	if !strings.Contains(string(priv), "Ab3$\\u0026amp;\\u0026lt;x\\u0026gt;Zz9#kk") {
		t.Errorf("private blocks lack the escaped secret: %s", priv)
	}
	for _, want := range []string{`"action_id":"cipp_approve"`, `"value":"approve 7f3a1c"`, `"style":"danger"`, `\u0026lt;script\u0026gt; \u0026amp; co`} {
		if !strings.Contains(string(pub), want) {
			t.Errorf("blocks lack %s: %s", want, pub)
		}
	}
	if fallback(m) != m.Title {
		t.Error("fallback text is not the title")
	}
}

func TestBlocksSplitLongText(t *testing.T) {
	var lines []string
	for range 100 {
		lines = append(lines, strings.Repeat("x", 60))
	}
	for _, b := range blocks(bot.Message{Title: "t", Lines: lines}, false) {
		j, _ := json.Marshal(b)
		if len(j) > 3100 {
			t.Fatalf("section of %d bytes exceeds Slack's limit", len(j))
		}
	}
}
