package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cippbot/cippbot/bot"
)

// TestFileNeverEchoed attaches files that are not lists of users (a
// password file, a key file, a CSV with a stranger's header) to bulk
// actions: each is refused, and no reply quotes a byte of it.
func TestFileNeverEchoed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	must(t, h.db.PutBinding(context.Background(), bot.Binding{Platform: "console", Channel: "ops", TenantID: tenantID}))
	for _, tc := range []struct{ name, text, data string }{
		{"Passwd", "block-signin", "root:x:0:0:SECRETLINE:/root:/bin/bash\n"},
		{"KeyFile", "block-signin", "API_KEY=SECRETLINE\n"},
		{"BulkAdd", "bulk-add", "SECRETLINE is here,x\nAdele,adele\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.chat.Sent())
			h.bot.Handle(context.Background(), bot.Event{Platform: "console", Channel: "ops", Actor: riley, Text: tc.text,
				Files: []bot.File{{Name: "list.csv", Data: []byte(tc.data)}}}, h.chat.For(riley))
			sent := h.chat.Sent()[before:]
			if len(sent) == 0 {
				t.Fatal("no reply")
			}
			for _, s := range sent {
				if strings.Contains(text(s.Message), "SECRETLINE") {
					t.Errorf("reply quotes the file: %s", text(s.Message))
				}
			}
		})
	}
	recs, err := h.db.Audit(context.Background(), bot.AuditFilter{})
	must(t, err)
	for _, r := range recs {
		if strings.Contains(r.Error, "SECRETLINE") {
			t.Errorf("audit quotes the file: %+v", r)
		}
	}
}
