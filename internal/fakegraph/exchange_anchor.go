package fakegraph

import "strings"

// Routing of InvokeCommand by X-AnchorMailbox.
//
// The admin API routes each request by the mailbox its X-AnchorMailbox
// header names, a routing hint
// (https://learn.microsoft.com/exchange/reference/admin-api-get-started,
// "X-AnchorMailbox routing hint"): app-only requests about the
// organization by the system mailbox,
// "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@<tenant id>",
// requests about one mailbox by "UPN:" and that mailbox. checkAnchor
// accepts both. Microsoft documents no refusal of a cmdlet about one
// mailbox routed by another, so the server refuses none: it records
// each cmdlet with its anchor and the mailbox it was about, and tests
// check the routing with ExchangeCalls.

// ExchangeCall is one cmdlet an InvokeCommand request ran.
type ExchangeCall struct {
	// Cmdlet is the cmdlet's name as Exchange spells it, e.g.
	// "Get-InboxRule" (as sent when it is not one the server knows).
	Cmdlet string
	// Anchor is the request's X-AnchorMailbox header.
	Anchor string
	// Mailbox is the user principal name of the mailbox the cmdlet was
	// about, "" for an organization-level cmdlet (or one that found no
	// mailbox).
	Mailbox string
	// Misrouted reports a cmdlet about Mailbox anchored elsewhere than
	// at "UPN:" and that mailbox.
	Misrouted bool
}

// runCmdlet runs c and records it; s.mu must be held.
func (s *Server) runCmdlet(c *exoCall) *exoReply {
	rep := c.run()
	call := ExchangeCall{Cmdlet: c.cmdletName, Anchor: c.anchor}
	for _, k := range exoCmdlets() {
		if strings.EqualFold(k.name, c.cmdletName) {
			call.Cmdlet = k.name
		}
	}
	if c.target != nil {
		call.Mailbox = c.target.UserPrincipalName
		kind, addr, _ := strings.Cut(c.anchor, ":")
		call.Misrouted = !strings.EqualFold(kind, "UPN") || c.t.exoMailbox(addr) != c.target
	}
	s.exoCalls = append(s.exoCalls, call)
	return rep
}

// ExchangeCalls returns the cmdlets InvokeCommand ran (including those
// that failed after the request was accepted), oldest first.
func (s *Server) ExchangeCalls() []ExchangeCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ExchangeCall, len(s.exoCalls))
	copy(out, s.exoCalls)
	return out
}
