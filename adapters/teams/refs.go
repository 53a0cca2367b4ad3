package teams

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// RefStore keeps how to reach conversations and users across restarts
// (TEAMS.md A1, step 6: a conversation's service URL; a user's MRI and
// one-to-one chat), and the approval cards' requester views. Nothing kept
// is secret. *store.DB satisfies it.
type RefStore interface {
	PutChatRef(ctx context.Context, key string, value []byte) error
	DeleteChatRef(ctx context.Context, key string) error
	ChatRefs(ctx context.Context, prefix string) (map[string][]byte, error)
}

// Key prefixes in the RefStore.
const (
	refConv = Platform + ":conv:"
	refUser = Platform + ":user:"
	refCard = Platform + ":card:"
)

type storedUser struct {
	MRI        string `json:"mri"`
	Name       string `json:"name,omitempty"`
	ServiceURL string `json:"service_url"`
	Tenant     string `json:"tenant"`
	Personal   string `json:"personal,omitempty"`
}

type storedConv struct {
	ServiceURL string `json:"service_url"`
}

type storedCard struct {
	Conv       string   `json:"conv"`
	Card       card     `json:"card"`
	Requesters []string `json:"requesters"`
}

// load reads what an earlier run kept.
func (a *Adapter) load() error {
	if a.cfg.Refs == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all, err := a.cfg.Refs.ChatRefs(ctx, Platform+":")
	if err != nil {
		return fmt.Errorf("teams: read conversation references: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, v := range all {
		switch {
		case strings.HasPrefix(k, refConv):
			var c storedConv
			if json.Unmarshal(v, &c) == nil && a.conn.trusted(c.ServiceURL) {
				a.convs[strings.TrimPrefix(k, refConv)] = c.ServiceURL
			}
		case strings.HasPrefix(k, refUser):
			var u storedUser
			if json.Unmarshal(v, &u) == nil && a.conn.trusted(u.ServiceURL) {
				a.users[strings.TrimPrefix(k, refUser)] = &userRef{mri: u.MRI, name: u.Name, serviceURL: u.ServiceURL,
					tenant: u.Tenant, personal: u.Personal}
			}
		case strings.HasPrefix(k, refCard):
			var c storedCard
			if json.Unmarshal(v, &c) == nil {
				a.cards[strings.TrimPrefix(k, refCard)] = &cardState{conv: c.Conv, card: c.Card, requesters: c.Requesters}
			}
		}
	}
	return nil
}

func (a *Adapter) putRef(key string, v any) {
	if a.cfg.Refs == nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
		defer cancel()
		err = a.cfg.Refs.PutChatRef(ctx, key, b)
	}
	if err != nil {
		a.log.Warn("could not keep a conversation reference", "key", key, "err", err)
	}
}

func (a *Adapter) dropRef(key string) {
	if a.cfg.Refs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, 5*time.Second)
	defer cancel()
	if err := a.cfg.Refs.DeleteChatRef(ctx, key); err != nil {
		a.log.Warn("could not drop a conversation reference", "key", key, "err", err)
	}
}

// saveUser keeps the user's reference as it is now.
func (a *Adapter) saveUser(aad string) {
	a.mu.Lock()
	u := a.users[aad]
	var s storedUser
	if u != nil {
		s = storedUser{MRI: u.mri, Name: u.name, ServiceURL: u.serviceURL, Tenant: u.tenant, Personal: u.personal}
	}
	a.mu.Unlock()
	if u != nil {
		a.putRef(refUser+aad, s)
	}
}

func (a *Adapter) saveConv(conv, serviceURL string) {
	a.putRef(refConv+conv, storedConv{ServiceURL: serviceURL})
}

// saveCard keeps an approval card's state, or drops it once decided.
func (a *Adapter) saveCard(id string) {
	a.mu.Lock()
	cs := a.cards[id]
	var s storedCard
	if cs != nil {
		s = storedCard{Conv: cs.conv, Card: cs.card, Requesters: cs.requesters}
	}
	a.mu.Unlock()
	if cs == nil {
		a.dropRef(refCard + id)
		return
	}
	a.putRef(refCard+id, s)
}
