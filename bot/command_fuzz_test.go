package bot_test

import (
	"strings"
	"testing"

	"github.com/cippbot/cippbot/bot"
)

// FuzzParseCommand checks the grammar on arbitrary text: it never panics;
// a parsed command has a non-empty lower-case verb and only targets with
// an @; a refusal says why.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"",
		"/cipp help",
		"help",
		"Reset-Password AdeleV@contoso.com --must-change",
		`reset-password a@x.com b@x.com, reason="left the company"`,
		`add-to-group a@x.com "Sales and Marketing"`,
		"create-tap a@x.com lifetime=60 --once",
		"create-tap a@x.com --lifetime=60",
		"password-never-expires on a@x.com",
		`audit 'a@x.com'`,
		// Curly quotes and phone dashes.
		"reset-password a@x.com \u2014must-change reason=\u201clocked out\u201d",
		"reset-password a@x.com \u2013must-change reason=\u2018locked out\u2019",
		"block-signin \u201ea@x.com\u201d\u00a0reason=\u201cleaver\u201d",
		"\u2014",
		"\u2014\u2014 x",
		// Backslashes, inside and outside quotes.
		`x reason="say \"hi\""`,
		`x reason="C:\\temp\\" a@x.com`,
		`x reason="trailing backslash\"`,
		`x a\@x.com`,
		`x "\`,
		`x 'a\'`,
		// Unclosed quotes and duplicates.
		`block "a@x.com`,
		`block 'a@x.com`,
		"block \u201ca@x.com",
		`x reason=a reason=b`,
		`x k=1 k=2`,
		`x reason="" a@x.com`,
		`x "" @ =`,
		`x =v --= -- ---`,
		"x @,; ,@; ;@,",
		// Odd verbs: a dash, upper case, a lone /cipp.
		"/cipp",
		"/CIPP /cipp",
		"--flag a@x.com",
		"ÀÉÎ a@x.com",
		"İstanbul a@x.com",
		"ǅ a@x.com",
		"ẞ a@x.com",
		"\u0130 x",
		// Very long input.
		"reset-password " + strings.Repeat("a@x.com ", 500) + `reason="` + strings.Repeat("long ", 500) + `"`,
		strings.Repeat(`"`, 1001),
		strings.Repeat(`\`, 1000),
		// Invalid UTF-8.
		"\xff\xfe a@x.com",
		"reset-password \xc3 a@x.com",
		"x reason=\"\xed\xa0\x80\"",
		"\xc0\x80@x.com",
		"\x00 a@x.com\x00",
		"x\ta@x.com\nreason=\"multi\nline\"\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := bot.ParseCommand(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseCommand(%q) failed with an empty message", s)
			}
			return
		}
		if c.Verb == "" {
			t.Fatalf("ParseCommand(%q) = empty verb: %+v", s, c)
		}
		if c.Verb != strings.ToLower(c.Verb) {
			t.Fatalf("ParseCommand(%q) verb %q is not lower-case", s, c.Verb)
		}
		for _, tg := range c.Targets {
			if !strings.Contains(tg, "@") {
				t.Fatalf("ParseCommand(%q) target %q lacks '@': %+v", s, tg, c)
			}
		}
	})
}
