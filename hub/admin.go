package hub

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/tessera-ai/tessera/internal/protocol"
)

// Operator controls: what the admin API (hub/service/admin.go) shows of
// the connected sessions and the contributors' standing, and what it can
// do to them (disconnect, ban, unban).

// sessionIDs numbers sessions. It is shared by every hub in the process,
// which keeps the numbers unique and costs nothing.
var sessionIDs atomic.Uint64

// Worker is one connected session, as the operator sees it.
type Worker struct {
	ID          uint64    `json:"id"`
	Address     string    `json:"address"`
	Remote      string    `json:"remote"`
	Agent       string    `json:"agent"`   // the address's latest hello
	Backend     string    `json:"backend"` // the address's latest hello
	Adapter     string    `json:"adapter"` // the address's latest hello
	ConnectedAt time.Time `json:"connected_at"`
	Slots       int       `json:"slots"`  // tasks it asked to hold
	Leases      int       `json:"leases"` // tasks it holds now
}

// Workers lists the connected sessions that completed the handshake,
// oldest first.
func (h *Hub) Workers() []Worker {
	type entry struct {
		s *session
		c *contributor
	}
	h.mu.Lock()
	live := make([]entry, 0, len(h.sessions))
	for s := range h.sessions {
		if s.who != nil && !s.closing() {
			live = append(live, entry{s, s.who})
		}
	}
	h.mu.Unlock()

	out := make([]Worker, 0, len(live))
	h.sched.mu.Lock()
	for _, e := range live {
		w := Worker{ID: e.s.id, Address: e.c.address, Remote: e.s.remote, ConnectedAt: e.s.since}
		if st := h.sched.sessions[e.s]; st != nil {
			w.Slots, w.Leases = st.capacity, len(st.held)
		}
		out = append(out, w)
	}
	h.sched.mu.Unlock()
	for i, e := range live {
		e.c.mu.Lock()
		out[i].Agent, out[i].Backend, out[i].Adapter = e.c.agent, e.c.device.Backend, e.c.device.Adapter
		e.c.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// operatorClosed is what a contributor disconnected by the operator reads.
// It is not permanent: the contributor may reconnect (ban it to stop it).
var operatorClosed = protocol.Errorf(protocol.CodeShutdown, "the hub's operator closed this connection")

// DisconnectWorker closes the session with the given ID; its leases are
// requeued. It reports whether such a session was connected.
func (h *Hub) DisconnectWorker(id uint64) bool {
	return len(h.closeSessions(func(s *session) bool { return s.id == id }, operatorClosed)) > 0
}

// DisconnectAddress closes every session of addr (0x-hex, checksummed)
// and returns how many there were.
func (h *Hub) DisconnectAddress(addr string) int {
	return len(h.closeSessions(func(s *session) bool { return s.who.address == addr }, operatorClosed))
}

// closeSessions closes the handshaken sessions that match with perr and
// returns them.
func (h *Hub) closeSessions(match func(*session) bool, perr *protocol.Error) []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	var closed []*session
	for s := range h.sessions {
		if s.who != nil && !s.closing() && match(s) {
			s.closeWith(perr)
			closed = append(closed, s)
		}
	}
	return closed
}

// goneWait is how often waitGone looks.
const goneWait = 10 * time.Millisecond

// waitGone waits until the readers of ss have returned (finish removes a
// session from h.sessions after its reader's last ledger submission).
func (h *Hub) waitGone(ctx context.Context, ss []*session) error {
	for {
		h.mu.Lock()
		left := 0
		for _, s := range ss {
			if _, ok := h.sessions[s]; ok {
				left++
			}
		}
		h.mu.Unlock()
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d closed session(s) to finish: %w", left, ctx.Err())
		case <-time.After(goneWait):
		}
	}
}

// Reputation is a contributor's standing as the hub applies it now.
type Reputation struct {
	Strikes int  `json:"strikes"`
	Clean   int  `json:"clean"` // results verified since the last strike
	Banned  bool `json:"banned"`
	// Replication is the probability that a task it is leased is also
	// given to someone else.
	Replication float64 `json:"replication"`
	// Trusted marks the operator's own workers (never replicated).
	Trusted bool `json:"trusted"`
}

func (h *Hub) reputationOf(addr string, s Standing) Reputation {
	r := Reputation{Strikes: s.Strikes, Clean: s.Clean, Banned: s.Banned, Trusted: h.trusted[addr]}
	if h.cfg.Verification.Replicate && !r.Trusted {
		r.Replication = h.rep.rate(s)
	}
	return r
}

// Reputation returns addr's standing; known is false for an address the
// hub has no record of, which has a newcomer's standing.
func (h *Hub) Reputation(addr string) (rep Reputation, known bool) {
	s, known := h.rep.peek(addr)
	return h.reputationOf(addr, s), known
}

// Reputations returns the standing of every address the hub has a record
// of (from the ledger or since it started).
func (h *Hub) Reputations() map[string]Reputation {
	all := h.rep.all()
	out := make(map[string]Reputation, len(all))
	for a, s := range all {
		out[a] = h.reputationOf(a, s)
	}
	return out
}

// Ban bans addr on the operator's word. It does what the automatic ban at
// MaxStrikes does (see penalize): the address can no longer connect and
// its results in flight are ignored, its sessions are closed, and its
// credit not yet committed on-chain (pending and verified) is revoked.
// Credit already in an epoch stays. The ban and the reason are recorded
// in the ledger, so they survive a restart; Ban returns once they are
// durable (or the error that stopped them; the ban holds meanwhile).
func (h *Hub) Ban(ctx context.Context, addr, reason string) (Reputation, error) {
	reason = orNoReason(reason)
	st := h.rep.ban(addr)
	closed := h.closeSessions(func(s *session) bool { return s.who.address == addr },
		protocol.Errorf(protocol.CodeBanned, "the hub's operator banned this address: %s", reason))
	h.log.Warn("contributor banned by the operator", "address", addr, "reason", reason, "sessions_closed", len(closed))
	// A result judged just before the ban may still be on its way to the
	// ledger: revoke only once the sessions' readers are done. The wait
	// does not end with the caller's request (a half-done ban would keep
	// the address out with its credit), only after a reader's longest
	// possible step, an arbitration.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), arbitrationTimeout+10*time.Second)
	if err := h.waitGone(wctx, closed); err != nil {
		h.log.Error("a banned contributor's sessions did not finish; revoking its credit anyway", "address", addr, "err", err)
	}
	cancel()
	// Submitted even if ctx ends while waiting for durability.
	err := h.record(ctx,
		CreditOp{Kind: CreditStanding, Address: addr, Strikes: st.Strikes, Clean: st.Clean, Banned: true},
		CreditOp{Kind: CreditRevoke, Address: addr, Reason: "banned by the operator: credit not yet committed on-chain is revoked"},
		CreditOp{Kind: CreditNote, Address: addr, Decision: "banned", Reason: "by the operator: " + reason},
	)
	return h.reputationOf(addr, st), err
}

// Unban lets addr contribute again. Its strikes are forgiven and its
// record starts over, so its results are all checked twice until it has
// a clean run again. Credit revoked by the ban is not restored.
func (h *Hub) Unban(ctx context.Context, addr, reason string) (Reputation, error) {
	reason = orNoReason(reason)
	st := h.rep.unban(addr)
	h.log.Info("contributor unbanned by the operator", "address", addr, "reason", reason)
	err := h.record(ctx,
		CreditOp{Kind: CreditStanding, Address: addr, Strikes: st.Strikes, Clean: st.Clean, Banned: false},
		CreditOp{Kind: CreditNote, Address: addr, Decision: "unbanned", Reason: "by the operator: " + reason},
	)
	return h.reputationOf(addr, st), err
}

func orNoReason(reason string) string {
	if reason == "" {
		return "no reason given"
	}
	return reason
}

// record submits ops to the ledger and waits until they are durable.
func (h *Hub) record(ctx context.Context, ops ...CreditOp) error {
	select {
	case err := <-h.creditAsync(ops...):
		if err != nil {
			return fmt.Errorf("record in the ledger: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("record in the ledger: %w", ctx.Err())
	}
}
