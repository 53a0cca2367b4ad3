package fakegraph

import (
	"time"
)

// DefaultExchangeSyncDelay is how long after Graph creates a user Exchange
// Online learns of it, unless SetExchangeSyncDelay says otherwise.
// Microsoft: "The service typically takes less than 30 minutes to
// provision a user or to sync changes for a user. It could take up to 24
// hours"
// (https://learn.microsoft.com/en-us/exchange/troubleshoot/user-and-shared-mailboxes/delays-provision-mailbox-sync-changes).
// Until then Exchange cmdlets do not find the user.
const DefaultExchangeSyncDelay = 4 * time.Minute

// notYetInExchange reports whether Exchange Online does not know u yet.
func (t *tenant) notYetInExchange(u *User) bool {
	return t.now != nil && !u.exoKnownAt.IsZero() && t.now().Before(u.exoKnownAt)
}

// SetExchangeSyncDelay sets how long after Graph creates a user Exchange
// Online learns of it, for users created from now on.
func (s *Server) SetExchangeSyncDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exoSyncDelay = d
	s.exoSyncSet = true
}

// exchangeSyncDelay returns the delay in force; s.mu is held.
func (s *Server) exchangeSyncDelay() time.Duration {
	if s.exoSyncSet {
		return s.exoSyncDelay
	}
	return DefaultExchangeSyncDelay
}
