package teams

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cippbot/cippbot/bot"
)

// memRefs is a RefStore in memory.
type memRefs struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (r *memRefs) PutChatRef(_ context.Context, k string, v []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[k] = append([]byte(nil), v...)
	return nil
}

func (r *memRefs) DeleteChatRef(_ context.Context, k string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, k)
	return nil
}

func (r *memRefs) ChatRefs(_ context.Context, prefix string) (map[string][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range r.m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out, nil
}

func TestRefs_surviveRestart(t *testing.T) {
	t.Parallel()
	refs := &memRefs{m: map[string][]byte{}}
	e := newTestEnv(t, func(c *Config) { c.Refs = refs })
	h := &approvalHandler{a: e.a}
	e.a.handler = h
	e.ft.Deliver(e.endpoint, e.ft.MessageActivity(e.riley, channel, "reset-password AdeleV@contoso.com", true))
	e.a.Wait()
	for k := range refs.m {
		if strings.Contains(string(refs.m[k]), secretValue) {
			t.Fatalf("secret kept under %s", k)
		}
	}

	// A new process, the same store: nobody has spoken to it yet.
	cfg := e.a.cfg
	a2, err := New(cfg, &approvalHandler{})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close(context.Background())
	mux := http.NewServeMux()
	a2.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if err := a2.Notify(context.Background(), channel, bot.Actor{ID: "teams:aad-riley"}, secretMessage()); err != nil {
		t.Errorf("notify after a restart: %v", err)
	}
	_, body, _ := e.ft.Deliver(srv.URL+Route, e.ft.InvokeActivity(e.riley, channel, h.card, verbView, nil, "automatic"))
	if _, v, _ := decodeInvoke(t, body); !strings.Contains(cardText(v), "can't approve your own") {
		t.Errorf("requester's view after a restart: %q", body)
	}
	if err := a2.Update(context.Background(), channel, h.card, bot.Message{Title: "Expired"}); err != nil {
		t.Errorf("update after a restart: %v", err)
	}
	if _, ok := refs.m[refCard+h.card]; ok {
		t.Error("decided card still kept")
	}
}
