package actions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/actions"
)

func TestSecretRedacts(t *testing.T) {
	s := actions.NewSecret("AdeleV password", "Hunter2-Secret")
	type wrap struct {
		S actions.Secret
		P *actions.Secret
	}
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %d", s, s, s, s, s, s, s),
		fmt.Sprintf("%+v", wrap{s, &s}), fmt.Sprintf("%#v", wrap{s, &s}),
	}
	j, _ := json.Marshal(wrap{s, &s})
	outs = append(outs, string(j))
	var logs bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logs, nil))
	l.Info("x", "secret", s, "wrapped", wrap{s, &s})
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "secret", s)
	outs = append(outs, logs.String())
	for _, o := range outs {
		if strings.Contains(o, "Hunter2") {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if s.Reveal() != "Hunter2-Secret" || s.Label() != "AdeleV password" {
		t.Error("Reveal or Label broken")
	}
}

func TestPasswords(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		s, err := actions.Passwords{}.Password()
		if err != nil {
			t.Fatal(err)
		}
		pw := s.Reveal()
		if len(pw) != 14 {
			t.Fatalf("length %d", len(pw))
		}
		if strings.ContainsAny(pw, "IJOQijlopq01") {
			t.Fatalf("look-alike character in generated password")
		}
		for _, class := range []string{"ABCDEFGHKLMNPRSTUVWXYZ", "abcdefghkmnrstuvwxyz", "23456789", "$%&*#"} {
			if !strings.ContainsAny(pw, class) {
				t.Fatalf("class %q missing", class)
			}
		}
		if seen[pw] {
			t.Fatal("repeated password")
		}
		seen[pw] = true
	}
	if _, err := (actions.Passwords{Length: 6}).Password(); err == nil {
		t.Error("6-character password allowed")
	}
}

func TestBind(t *testing.T) {
	c := actions.Default()
	tests := []struct {
		action     string
		positional []string
		named      map[string]string
		flags      []string
		want       string // fmt of Params, or "error: <substring>"
	}{
		{"reset-password", nil, nil, []string{"must-change"}, "map[must-change:true]"},
		{"reset-password", nil, nil, nil, "map[must-change:false]"},
		{"create-tap", nil, map[string]string{"lifetime": "60"}, []string{"once"}, "map[lifetime:60 once:true]"},
		{"create-tap", nil, map[string]string{"lifetime": "9"}, nil, "error: between 10 and 43200"},
		{"create-tap", nil, map[string]string{"lifetime": "soon"}, nil, "error: whole number"},
		{"password-never-expires", []string{"ON"}, nil, nil, "map[state:on]"},
		{"password-never-expires", nil, nil, nil, "error: needs state"},
		{"password-never-expires", []string{"maybe"}, nil, nil, "error: one of on, off"},
		{"add-to-group", []string{"Sales and Marketing"}, nil, nil, "map[group:Sales and Marketing]"},
		{"add-to-group", nil, map[string]string{"group": "Retail"}, nil, "map[group:Retail]"},
		{"add-to-group", []string{"a", "b"}, nil, nil, `error: unexpected "b"`},
		{"block-signin", nil, nil, []string{"force"}, "error: no option --force"},
		{"block-signin", nil, map[string]string{"x": "1"}, nil, "error: no option x"},
	}
	for _, tt := range tests {
		t.Run(tt.action+" "+tt.want, func(t *testing.T) {
			p, err := c.Lookup(tt.action).Bind(tt.positional, tt.named, tt.flags)
			got := fmt.Sprint(map[string]string(p))
			if err != nil {
				got = "error: " + err.Error()
			}
			if !strings.Contains(got, strings.TrimPrefix(tt.want, "error: ")) || (err == nil) != !strings.HasPrefix(tt.want, "error") {
				t.Errorf("Bind = %s, want %s", got, tt.want)
			}
			if err != nil && actions.ErrorCode(err) != actions.EINVALID {
				t.Errorf("code %s, want invalid", actions.ErrorCode(err))
			}
		})
	}
}

func TestCatalogueDeclarations(t *testing.T) {
	c := actions.Default()
	for _, a := range c.All() {
		if (a.Run == nil) == (a.Plan == nil) || a.Summary == "" || len(a.Summary) > 100 {
			t.Errorf("%s: incomplete declaration", a.Name)
		}
		if a.Secret && a.Risk != actions.RiskDestructive {
			t.Errorf("%s yields a secret but does not need approval", a.Name)
		}
		if len(a.Name) > 32 || strings.ToLower(a.Name) != a.Name {
			t.Errorf("%s: name unfit for chat command registration", a.Name)
		}
		for _, al := range a.Aliases {
			if c.Lookup(al) != a {
				t.Errorf("alias %s does not find %s", al, a.Name)
			}
		}
	}
	if got := c.Lookup("reset-password").Usage(); got != "reset-password <user@domain>… [--must-change]" {
		t.Errorf("Usage = %q", got)
	}
}
