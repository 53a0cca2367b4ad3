package console_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/adapters/console"
	"github.com/cippbot/cippbot/bot"
)

// TestFileConfined attaches files with file=: those in the working
// directory arrive; an absolute path, "..", and a link that leads out are
// refused without being read, and no reply shows a byte of them.
func TestFileConfined(t *testing.T) {
	outside := t.TempDir()
	const secret = "root:x:0:0:TOPSECRET-line"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "passwd"), []byte(secret+"\n"), 0o600))
	work := filepath.Join(outside, "work")
	must(os.Mkdir(work, 0o700))
	must(os.Mkdir(filepath.Join(work, "lists"), 0o700))
	must(os.WriteFile(filepath.Join(work, "lists", "users.csv"), []byte("upn\nAdeleV@contoso.com\n"), 0o600))
	must(os.Symlink(filepath.Join(outside, "passwd"), filepath.Join(work, "link.csv")))
	t.Chdir(work)

	var got []bot.Event
	var out bytes.Buffer
	a := &console.Adapter{Out: &out, Personas: []console.Persona{{Name: "riley"}},
		Handler: handlerFunc(func(_ context.Context, ev bot.Event, r bot.Responder) { got = append(got, ev) })}
	a.Do(context.Background(), "block-signin file=lists/users.csv")
	if len(got) != 1 || len(got[0].Files) != 1 || !bytes.Contains(got[0].Files[0].Data, []byte("AdeleV")) {
		t.Fatalf("a file in the working directory was not attached: %+v", got)
	}
	for _, path := range []string{filepath.Join(outside, "passwd"), "../passwd", "lists/../../passwd", "link.csv"} {
		got, out = nil, bytes.Buffer{}
		a.Do(context.Background(), "block-signin file="+path)
		if len(got) != 0 {
			t.Errorf("file=%s was attached: %+v", path, got)
		}
		if !strings.Contains(out.String(), "cannot attach") {
			t.Errorf("file=%s: no refusal:\n%s", path, out.String())
		}
		if strings.Contains(out.String(), "TOPSECRET") {
			t.Errorf("file=%s: the reply shows the file:\n%s", path, out.String())
		}
	}
}
