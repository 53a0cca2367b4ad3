package bot_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cippbot/cippbot/bot"
)

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bot.Command
	}{
		{"", bot.Command{Verb: "help"}},
		{"/cipp help", bot.Command{Verb: "help"}},
		{"Reset-Password AdeleV@contoso.com --must-change", bot.Command{Verb: "reset-password", Targets: []string{"AdeleV@contoso.com"}, Flags: []string{"must-change"}}},
		{`reset-password a@x.com b@x.com, reason="left the company"`, bot.Command{Verb: "reset-password", Targets: []string{"a@x.com", "b@x.com"}, Reason: "left the company"}},
		{`add-to-group a@x.com "Sales and Marketing"`, bot.Command{Verb: "add-to-group", Targets: []string{"a@x.com"}, Positional: []string{"Sales and Marketing"}}},
		{"create-tap a@x.com lifetime=60 --once", bot.Command{Verb: "create-tap", Targets: []string{"a@x.com"}, Named: map[string]string{"lifetime": "60"}, Flags: []string{"once"}}},
		{"create-tap a@x.com --lifetime=60", bot.Command{Verb: "create-tap", Targets: []string{"a@x.com"}, Named: map[string]string{"lifetime": "60"}}},
		// What a phone keyboard does to quotes and double dashes.
		{"reset-password a@x.com \u2014must-change reason=\u201clocked out\u201d", bot.Command{Verb: "reset-password", Targets: []string{"a@x.com"}, Flags: []string{"must-change"}, Reason: "locked out"}},
		{`password-never-expires on a@x.com`, bot.Command{Verb: "password-never-expires", Targets: []string{"a@x.com"}, Positional: []string{"on"}}},
		{`audit 'a@x.com'`, bot.Command{Verb: "audit", Targets: []string{"a@x.com"}}},
		{`x reason="say \"hi\""`, bot.Command{Verb: "x", Reason: `say "hi"`}},
		// Inside quotes, what was typed stays: a 5-inch screen, a range.
		{"x reason=\"the 5\u201d screen\"", bot.Command{Verb: "x", Reason: "the 5\u201d screen"}},
		{"x reason=\u201cJan\u2014Feb\u201d", bot.Command{Verb: "x", Reason: "Jan\u2014Feb"}},
		{"x O\u2019Brien", bot.Command{Verb: "x", Positional: []string{"O\u2019Brien"}}},
		// A word that begins with a quote is a word, never a flag or name=value.
		{`x "--must-change" "reason=x" "a@x.com"`, bot.Command{Verb: "x", Targets: []string{"a@x.com"}, Positional: []string{"--must-change", "reason=x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := bot.ParseCommand(tt.in)
			if err != nil {
				t.Fatalf("ParseCommand(%q) error %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseCommand(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`block "a@x.com`, `x reason=a reason=b`, `x k=1 k=2`} {
		if _, err := bot.ParseCommand(in); err == nil {
			t.Errorf("ParseCommand(%q) = nil error, want one", in)
		}
	}
}
