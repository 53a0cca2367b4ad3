package fakegraph

import "testing"

// The ids in the example responses of rbacapplication-list-roleassignments
// and rbacapplication-list-roleeligibilityscheduleinstances are built from
// the role definition and principal GUIDs.
func TestRoleObjectIDMatchesDocExamples(t *testing.T) {
	t.Parallel()
	tests := []struct{ template, principal, suffix, want string }{
		{"62e90394-69f5-4237-9190-012177145e10", "ace08ec9-aa11-4ada-9145-addf0398233e", "-1", "lAPpYvVpN0KRkAEhdxReEMmO4KwRqtpKkUWt3wOYIz4-1"},
		{"62e90394-69f5-4237-9190-012177145e10", "f1847572-48aa-47aa-96a3-2ec61904f41f", "-1", "lAPpYvVpN0KRkAEhdxReEHJ1hPGqSKpHlqMuxhkE9B8-1"},
		{"8424c6f0-a189-499e-bbd0-26c1753c96d4", "071cc716-8147-4397-a5ba-b2105951cc0b", "-1-e", "8MYkhImhnkm70CbBdTyW1BbHHAdHgZdDpbqyEFlRzAs-1-e"},
	}
	for _, tc := range tests {
		if got := roleObjectID(tc.template, tc.principal, tc.suffix); got != tc.want {
			t.Errorf("roleObjectID(%s, %s) = %s, want %s", tc.template, tc.principal, got, tc.want)
		}
	}
}
