package bot_test

import (
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
)

func TestAmbiguousGroupOffersChoices(t *testing.T) {
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
