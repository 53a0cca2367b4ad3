package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
	"github.com/cippbot/cippbot/internal/mock"
)

func TestAmbiguousGroupOffersChoices(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.dir.PutGroup(actions.Group{ID: "g-sales-2", DisplayName: "Sales and Marketing", SecurityEnabled: true})
	got := only(t, h.do(riley, `add-to-group AdeleV@contoso.com "Sales and Marketing"`))
	if got.To == "" || !strings.Contains(got.Message.Title, `2 groups are named "Sales and Marketing": pick one`) {
		t.Fatalf("refusal: %+v", got)
	}
	if len(got.Message.Buttons) != 2 {
		t.Fatalf("buttons: %+v", got.Message.Buttons)
	}
	var pick string
	for _, b := range got.Message.Buttons {
		if strings.Contains(b.Label, "security") {
			pick = b.Value
		}
	}
	if pick != `add-to-group "AdeleV@contoso.com" group="g-sales-2"` {
		t.Fatalf("button value %q", pick)
	}
	got = only(t, h.do(riley, pick))
	if !strings.Contains(got.Message.Title, "AdeleV@contoso.com: added to Sales and Marketing") || !h.dir.IsMember("g-sales-2", "u-adele") {
		t.Errorf("after the choice: %+v", got.Message)
	}
}

func TestAddUserWithoutFieldsAsksForm(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	got := only(t, h.do(riley, `add-user givenName=Jane`))
	ask := got.Message.Ask
	if got.To == "" || ask == nil || len(ask.Fields) < 5 {
		t.Fatalf("no private form: %+v", got)
	}
	if ask.Fields[0].Key != "displayname" || !ask.Fields[0].Required || ask.Fields[3].Key != "givenname" || ask.Fields[3].Value != "Jane" {
		t.Errorf("fields: %+v", ask.Fields[:4])
	}
	done := ask.CompleteForm(map[string]string{"displayname": "Jane Doe", "mailnickname": "jane", "primdomain": "contoso.com", "givenname": "Jane"})
	if done != `add-user displayname="Jane Doe" mailnickname="jane" primdomain="contoso.com" givenname="Jane"` {
		t.Errorf("completed: %s", done)
	}
}

// TestActionReadsItsOwnFile declares an action whose FromFile reads its
// attachment: the engine asks it, not a CSV reader of its own, and pins
// the targets and parameters it gives to the approval.
func TestActionReadsItsOwnFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var got []actions.File
	tag := &actions.Action{
		Name: "tag-users", Area: "Users", Summary: "test action", Risk: actions.RiskDestructive, Bulk: true,
		Params: []actions.Param{{Name: "tag", Kind: actions.ParamString}},
		FromFile: func(files []actions.File) ([]string, actions.Params, error) {
			got = files
			if strings.Contains(string(files[0].Data), "bad") {
				return nil, nil, actions.Errorf(actions.EINVALID, "the file is not a tag list")
			}
			return []string{"AdeleV@contoso.com", "AlexW@contoso.com"}, actions.Params{"tag": "from-file"}, nil
		},
	}
	h.bot.Catalogue = actions.NewCatalogue(append(actions.Default().All(), tag)...)
	send := func(data string) []mock.Sent {
		before := len(h.chat.Sent())
		h.bot.Handle(context.Background(), bot.Event{Platform: "console", Channel: "ops", Actor: riley, Text: "tag-users",
			Files: []bot.File{{Name: "tags.txt", Data: []byte(data)}}}, h.chat.For(riley))
		return h.chat.Sent()[before:]
	}

	id := cardID(t, send("anything"))
	if len(got) != 1 || got[0].Name != "tags.txt" || string(got[0].Data) != "anything" {
		t.Fatalf("FromFile got %+v", got)
	}
	ap, err := h.db.Approval(context.Background(), id)
	must(t, err)
	if len(ap.Targets) != 2 || ap.Targets[0].UPN != "AdeleV@contoso.com" || ap.Params["tag"] != "from-file" {
		t.Errorf("approval pins targets %+v, params %v", ap.Targets, ap.Params)
	}

	m := only(t, send("bad"))
	if m.To != riley.ID || !strings.Contains(m.Message.Title, "the file is not a tag list") {
		t.Errorf("refusal: %+v", m)
	}
}
