package m365_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cippbot/cippbot/actions"
	"github.com/cippbot/cippbot/actions/m365"
	"github.com/cippbot/cippbot/internal/fakegraph"
)

// gdapTenant returns contoso's capabilities over the partner service
// account's delegated token, as serve builds them in GDAP mode.
// waits is a clock that records the waits asked of it and returns at
// once, its time moving on by each: a reset's polls are checked without
// being waited out.
type waits struct {
	mu    sync.Mutex
	now   time.Time
	asked []time.Duration
}

func (w *waits) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *waits) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
	w.asked = append(w.asked, d)
	return nil
}

// gdapTenant connects to contoso through GDAP; clock, if non-nil, times
// the connection's waits.
func gdapTenant(t *testing.T, sim *fakegraph.Server, clock ...m365.Clock) actions.Tenant {
	t.Helper()
	var clk m365.Clock
	if len(clock) > 0 {
		clk = clock[0]
	}
	g := newGDAP(t, gdapConfig(sim, &memCacheStore{}))
	importCIPP(t, sim, g)
	c, err := m365.New(m365.Config{
		GraphURL: sim.URL(), ExchangeURL: sim.URL(), SharePointAdminURL: sim.URL(), AuthorityHost: sim.URL() + "/",
		ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: sim.Client(),
		Credential: g.Credential, Retry: m365.RetryPolicy{Clock: clk},
	})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := c.Tenant(context.Background(), fakegraph.ContosoTenantID)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestDirectory_ResetPasswordWriteback(t *testing.T) {
	t.Parallel()
	pw := actions.NewSecret("password", "Xk7#mPq2$wRt9z")
	t.Run("OK", func(t *testing.T) {
		sim := gdapSim(t, nil)
		sim.SetPasswordWriteback(fakegraph.ContosoTenantID, fakegraph.WritebackOn)
		sim.SetResetRetryAfter(0)
		tn := gdapTenant(t, sim, &waits{now: time.Now()})
		if !tn.Delegated || tn.Writeback == nil {
			t.Fatalf("a GDAP connection: Delegated %v, Writeback %v", tn.Delegated, tn.Writeback)
		}
		if err := tn.Writeback.ResetPasswordWriteback(context.Background(), fakegraph.ContosoGradyID, pw); err != nil {
			t.Fatal(err)
		}
		u, _ := sim.User(fakegraph.ContosoTenantID, fakegraph.ContosoGradyID)
		if u.Password != pw.Reveal() {
			t.Error("the password was not written")
		}
		ops := sim.ResetOperations()
		if len(ops) != 1 || ops[0].Status != "succeeded" {
			t.Errorf("operations = %+v", ops)
		}
	})
	t.Run("HonoursRetryAfter", func(t *testing.T) {
		sim := gdapSim(t, nil)
		sim.SetPasswordWriteback(fakegraph.ContosoTenantID, fakegraph.WritebackOn)
		sim.SetResetRetryAfter(1)
		clock := &waits{now: time.Now()}
		tn := gdapTenant(t, sim, clock)
		if err := tn.Writeback.ResetPasswordWriteback(context.Background(), fakegraph.ContosoGradyID, pw); err != nil {
			t.Fatal(err)
		}
		// The first poll comes after the default second, the second after
		// the operation's Retry-After of one more.
		polls := 0
		for _, r := range sim.Requests() {
			if strings.Contains(r.Path, "/authentication/operations/") {
				polls++
			}
		}
		if polls != 2 || !slices.Equal(clock.asked, []time.Duration{time.Second, time.Second}) {
			t.Errorf("%d polls after waits %v; want 2 after 1s and 1s", polls, clock.asked)
		}
	})
	t.Run("ErrWritebackOff", func(t *testing.T) {
		sim := gdapSim(t, nil)
		sim.SetResetRetryAfter(0)
		tn := gdapTenant(t, sim, &waits{now: time.Now()})
		err := tn.Writeback.ResetPasswordWriteback(context.Background(), fakegraph.ContosoGradyID, pw)
		if actions.ErrorCode(err) != actions.ECONFLICT || !strings.Contains(actions.ErrorMessage(err), "writeback is not enabled") {
			t.Errorf("err = %v", err)
		}
		if strings.Contains(err.Error(), pw.Reveal()) || strings.Contains(actions.ErrorMessage(err), pw.Reveal()) {
			t.Error("the password is in the error")
		}
	})
	t.Run("ErrCancelled", func(t *testing.T) {
		sim := gdapSim(t, nil)
		sim.SetPasswordWriteback(fakegraph.ContosoTenantID, fakegraph.WritebackOn)
		tn := gdapTenant(t, sim)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		err := tn.Writeback.ResetPasswordWriteback(ctx, fakegraph.ContosoGradyID, pw)
		if actions.ErrorCode(err) != actions.EUNAVAILABLE || !strings.Contains(actions.ErrorMessage(err), "result is unknown") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrRoleLacking", func(t *testing.T) {
		// Only the authentication administrators may reset through the
		// password method (resetPassword, "Permissions"): a User
		// Administrator is refused, and nothing is said to have happened.
		sim := fakegraph.NewTest(t, fakegraph.Options{})
		seed := fakegraph.PartnerSeed()
		seed.Relationships[0].Roles = []string{"User Administrator"}
		// The service account's group gets every role of the relationship.
		seed.Relationships[0].AccessAssignments = []fakegraph.AccessAssignment{{GroupID: fakegraph.PartnerServiceDeskGroupID, Roles: seed.Relationships[0].Roles}}
		if err := sim.AddTenant(seed); err != nil {
			t.Fatal(err)
		}
		sim.Start()
		t.Cleanup(sim.Close)
		sim.SetPasswordWriteback(fakegraph.ContosoTenantID, fakegraph.WritebackOn)
		sim.SetResetRetryAfter(0)
		tn := gdapTenant(t, sim, &waits{now: time.Now()})
		err := tn.Writeback.ResetPasswordWriteback(context.Background(), fakegraph.ContosoGradyID, pw)
		if actions.ErrorCode(err) != actions.EFORBIDDEN || strings.Contains(actions.ErrorMessage(err), "result is unknown") {
			t.Errorf("err = %v", err)
		}
		if ops := sim.ResetOperations(); len(ops) != 0 {
			t.Errorf("a reset was started: %+v", ops)
		}
	})
	t.Run("AppOnlyHasNone", func(t *testing.T) {
		sim := gdapSim(t, nil)
		c, err := m365.New(m365.Config{GraphURL: sim.URL(), AuthorityHost: sim.URL() + "/",
			ClientID: fakegraph.DefaultClientID, ClientSecret: fakegraph.DefaultClientSecret, HTTPClient: sim.Client()})
		if err != nil {
			t.Fatal(err)
		}
		tn, _ := c.Tenant(context.Background(), fakegraph.ContosoTenantID)
		if tn.Delegated || tn.Writeback != nil {
			t.Errorf("app-only connection: Delegated %v, Writeback %v", tn.Delegated, tn.Writeback)
		}
	})
}
