package bot

import (
	"errors"
	"testing"
	"time"
)

func TestApplyDecision(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	sam, ada := Actor{ID: "console:sam"}, Actor{ID: "slack:UADMIN"}
	pending := func(needed int, adminNeeded bool, approvers ...Actor) Approval {
		return Approval{ID: "a1", State: StatePending, ExpiresAt: now.Add(time.Minute), Needed: needed,
			AdminNeeded: adminNeeded, Approvers: approvers}
	}
	tests := []struct {
		name      string
		ap        Approval
		verb      string
		by        Actor
		role      Role
		wantState ApprovalState
		partial   bool
		wantErr   error
	}{
		{"OK", pending(1, false), "approve", sam, RoleApprover, StateRunning, false, nil},
		{"Deny", pending(1, false), "deny", sam, RoleApprover, StateDenied, false, nil},
		{"Expired", Approval{State: StatePending, ExpiresAt: now.Add(-time.Second)}, "approve", sam, RoleApprover, StateExpired, false, nil},
		{"FirstOfTwo", pending(2, false), "approve", sam, RoleApprover, StatePending, true, nil},
		{"SecondOfTwo", pending(2, false, ada), "approve", sam, RoleApprover, StateRunning, false, nil},
		{"ErrAlreadyApproved", pending(2, false, sam), "approve", sam, RoleApprover, StatePending, false, errAlreadyApproved},
		// The last of the approvers must be an admin unless one was.
		{"ErrAdminNeeded", pending(1, true), "approve", sam, RoleApprover, StatePending, false, errAdminNeeded},
		{"AdminLast", pending(2, true, sam), "approve", ada, RoleAdmin, StateRunning, false, nil},
		{"ErrDecided", Approval{State: StateDenied, ExpiresAt: now.Add(time.Minute)}, "approve", sam, RoleApprover, StateDenied, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tt.ap
			partial, err := applyDecision(&x, tt.verb, tt.by, tt.role, now)
			var dec errDecided
			switch {
			case tt.ap.State != StatePending:
				if !errors.As(err, &dec) || dec.ap.State != tt.ap.State {
					t.Fatalf("err = %v, want errDecided carrying %s", err, tt.ap.State)
				}
			case !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if x.State != tt.wantState || partial != tt.partial {
				t.Errorf("state %s, partial %v; want %s, %v", x.State, partial, tt.wantState, tt.partial)
			}
			if x.State == StateRunning && (x.DecidedBy == nil || x.DecidedBy.ID != tt.by.ID) {
				t.Errorf("decided by %v, want %s", x.DecidedBy, tt.by.ID)
			}
		})
	}
}
