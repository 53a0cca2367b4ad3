package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/bot"
)

// gdapTenant records contoso as a sync in delegated mode would: the
// service account's group holds the given roles.
func gdapTenant(t *testing.T, h *harness, roleIDs ...string) {
	t.Helper()
	ten, err := h.db.TenantByName(context.Background(), tenantID)
	must(t, err)
	ten.GDAP = &bot.GDAPAccess{
		Assignments: []actions.AccessAssignment{
			{Relationship: "rel", GroupID: "g-desk", RoleIDs: roleIDs},
			{Relationship: "rel", GroupID: "g-other", RoleIDs: []string{"29232cdf-9323-42fd-ade2-1d097af3e4de"}}, // Exchange Administrator, not the account's
		},
		Signed: true, ServiceAccountGroups: []string{"g-desk"}, SyncedAt: time.Now(),
	}
	must(t, h.db.PutTenant(context.Background(), ten))
}

func TestGDAP_RefusedBeforeApproval(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bot.Delegated = true
	gdapTenant(t, h, "fe930be7-5e62-47db-91af-98c3a49a38b1", "729827e3-9c14-49f7-bb1b-9608f156bbb8") // User and Helpdesk Administrator

	sent := h.do(riley, `convert-mailbox AdeleV@contoso.com shared reason="left"`)
	m := only(t, sent)
	if got := text(m.Message); !strings.Contains(got, "the Exchange Administrator role in contoso.com") || !strings.Contains(got, "GDAP") {
		t.Errorf("refusal = %q", got)
	}
	// What the roles allow goes on to approval.
	cardID(t, h.do(riley, `reset-password AdeleV@contoso.com reason="locked out"`))

	// The actor's own cippbot role still comes first: a viewer is refused
	// for being a viewer, not told about GDAP.
	if got := text(only(t, h.do(viewer, `convert-mailbox AdeleV@contoso.com shared reason="left"`)).Message); strings.Contains(got, "GDAP") {
		t.Errorf("viewer's refusal = %q", got)
	}

	// Outside delegated mode the record is not used.
	h.bot.Delegated = false
	cardID(t, h.do(riley, `convert-mailbox AdeleV@contoso.com shared reason="left"`))
}

func TestGDAP_NotKnownNotRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.bot.Delegated = true // contoso was added by hand: no GDAP record
	cardID(t, h.do(riley, `convert-mailbox AdeleV@contoso.com shared reason="left"`))
}
