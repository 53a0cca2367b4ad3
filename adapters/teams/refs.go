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

// The references another replica kept since this one started are read
// from the RefStore on a miss: a user who wrote only to another replica
// can still be reached from this one, and an approval card another
// replica posted still has its requester's view here.

// readRef reads one key from the RefStore into v; it reports whether it
// was there.
func (a *Adapter) readRef(ctx context.Context, key string, v any) bool {
	if a.cfg.Refs == nil {
		return false
	}
	all, err := a.cfg.Refs.ChatRefs(ctx, key)
	if err != nil {
		a.log.Warn("could not read a conversation reference", "key", key, "err", err)
		return false
	}
	b, ok := all[key]
	return ok && json.Unmarshal(b, v) == nil
}

// userFor returns how to reach the user, from memory or the RefStore.
func (a *Adapter) userFor(ctx context.Context, aad string) userRef {
	a.mu.Lock()
	p := a.users[aad]
	var u userRef
	if p != nil {
		u = *p
	}
	a.mu.Unlock()
	if p != nil {
		return u
	}
	var s storedUser
	if !a.readRef(ctx, refUser+aad, &s) || !a.conn.trusted(s.ServiceURL) {
		return userRef{}
	}
	u = userRef{mri: s.MRI, name: s.Name, serviceURL: s.ServiceURL, tenant: s.Tenant, personal: s.Personal}
	a.mu.Lock()
	if a.users[aad] == nil {
		cp := u
		a.users[aad] = &cp
	}
	a.mu.Unlock()
	return u
}

// serviceFor returns the conversation's service URL, from memory or the
// RefStore; "" if unknown.
func (a *Adapter) serviceFor(ctx context.Context, conv string) string {
	conv = baseConv(conv)
	a.mu.Lock()
	service := a.convs[conv]
	a.mu.Unlock()
	if service != "" {
		return service
	}
	var s storedConv
	if !a.readRef(ctx, refConv+conv, &s) || !a.conn.trusted(s.ServiceURL) {
		return ""
	}
	a.mu.Lock()
	if a.convs[conv] == "" {
		a.convs[conv] = s.ServiceURL
	}
	a.mu.Unlock()
	return s.ServiceURL
}

// cardFor returns the approval card on activity id, from memory or, not
// kept here (the replica that posted it updates it), the RefStore; nil
// if there is none.
func (a *Adapter) cardFor(ctx context.Context, id string) *cardState {
	a.mu.Lock()
	cs := a.cards[id]
	a.mu.Unlock()
	if cs != nil || id == "" {
		return cs
	}
	var s storedCard
	if !a.readRef(ctx, refCard+id, &s) {
		return nil
	}
	return &cardState{conv: s.Conv, card: s.Card, requesters: s.Requesters}
}
