package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// A result travels this path (judge):
//
//  1. Unblind it and run the Freivalds check against the task's operands.
//     Fail: refused, a strike, the contributor's pending credit voided.
//     Borderline: the arbiter computes the exact product and decides.
//  2. A task not sampled for replication is credited verified at once.
//     A sampled one is credited pending; when its second execution (by
//     another address) has passed step 1 too, the two are compared element
//     by element. Agreement verifies both; disagreement goes to the
//     arbiter, and whoever the exact product contradicts is refused and
//     struck, the other verified.
//
// The first result of a task that passes step 1 goes to the task's source
// (the training job) at once: the job never waits for a replica.

// group is a task executed twice.
type group struct {
	task *Task // the primary; both executions share its operands and key

	// assigned maps each member's task ID to the address it was last
	// leased to; the scheduler keeps it (under its lock) so that the two
	// members always go to two different addresses, however often either
	// is requeued.
	assigned map[uint64]string

	mu        sync.Mutex
	results   []execution
	delivered bool
}

// execution is one passing result in a group.
type execution struct {
	addr   string
	sess   *session
	taskID uint64
	c      []float32
}

func newGroup(t *Task) *group { return &group{task: t} }

// heldElsewhere reports whether addr was given another member of g than
// task id: the two executions of a task must come from two addresses, or
// the comparison proves nothing (and the ledger, which credits a task once
// per address, would credit one of them nothing). A nil group (a task not
// replicated) never excludes. Called with the scheduler's lock held.
func (g *group) heldElsewhere(id uint64, addr string) bool {
	if g == nil {
		return false
	}
	for other, a := range g.assigned {
		if other != id && a == addr {
			return true
		}
	}
	return false
}

// add records a passing result. It reports whether this is the first
// (to be delivered to the source) and, when the group is complete, both
// executions to compare.
func (g *group) add(e execution) (first bool, pair []execution) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.results = append(g.results, e)
	first, g.delivered = !g.delivered, true
	if len(g.results) == 2 {
		pair = g.results
	}
	return first, pair
}

// errArbiter marks a failure of the arbiter itself, not of the result.
var errArbiter = errors.New("arbitration failed")

// arbitrationTimeout bounds one exact recomputation.
const arbitrationTimeout = 2 * time.Minute

// nativeArbiter computes exact products in Go on the hub.
type nativeArbiter struct{}

func (nativeArbiter) Exact(ctx context.Context, op kernel.Op, sh kernel.Shape, a, b []float32) ([]float64, []float64, error) {
	return verify.Exact(op, sh, a, b)
}

// exact asks the arbiter for t's exact product.
func (h *Hub) exact(t *Task) ([]float64, []float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), arbitrationTimeout)
	defer cancel()
	ex, abs, err := h.arbiter.Exact(ctx, t.Op, t.Shape, t.A, t.B)
	if err != nil {
		h.log.Error("arbiter failed", "task", t.key, "err", err)
		return nil, nil, fmt.Errorf("%w: %v", errArbiter, err)
	}
	h.arbitrations.Add(1)
	return ex, abs, nil
}

// judge verifies one result from s and acts on the outcome.
// size is the result frame's length, for the job's wire totals.
func (h *Hub) judge(s *session, res *protocol.Result, size int, scratch *verify.Scratch, rng *rand.Rand) {
	if h.rep.banned(s.who.address) {
		return // a result that arrived after its sender was banned
	}
	l, err := h.sched.take(s, res.TaskID)
	if err != nil {
		h.metrics.TaskRefused(metrics.UnknownTask)
		s.who.refused(err.Error())
		s.verdict("", res.TaskID, protocol.CodeUnknownTask, err.Error())
		return
	}
	t := l.task
	h.wire.received(t.Job, size)
	if batch, rows, cols := protocol.ResultDims(t.Shape, t.Update.Mode); int(res.Rows) != rows || int(res.Cols) != cols || max(int(res.Batch), 1) != max(batch, 1) {
		h.refuse(s, t, metrics.WrongShape, fmt.Sprintf("result is %d×%dx%d, the task's output is %d×%dx%d",
			max(res.Batch, 1), res.Rows, res.Cols, max(batch, 1), rows, cols))
		return
	}
	if bl := l.blind.Load(); bl != nil {
		bl.Unblind(t.Shape, res.C)
	}
	if t.Verify != nil {
		err = t.Verify(t.A, t.B, res.C)
	} else if f := h.frozen.get(t, rng); f != nil {
		if err = f.Check(t.Op, t.Shape, t.A, t.B, res.C); err != nil {
			h.frozen.drop(t, f)
		}
	} else {
		err = scratch.Freivalds(t.Op, t.Shape, t.A, t.B, res.C, rng)
	}
	outcome := metrics.Pass
	if err != nil {
		outcome = metrics.Fail
	}
	if mm := (*verify.Mismatch)(nil); errors.As(err, &mm) && mm.Borderline {
		var ex, abs []float64
		if ex, abs, err = h.exact(t); err == nil {
			err = verify.Judge(t.Shape, ex, abs, res.C)
			outcome = metrics.ArbitratedPass
			if err != nil {
				outcome = metrics.ArbitratedFail
			}
		} else {
			outcome = metrics.ArbiterError
		}
	}
	h.metrics.Verified(outcome)
	switch {
	case errors.Is(err, errArbiter):
		// Not the contributor's fault: give the task to someone else.
		h.metrics.TaskRefused(metrics.Unverifiable)
		h.sched.finish(s, t, false)
		s.verdict(t.Job, t.ID, protocol.CodeInternal, "the hub could not verify this result; the task was reassigned")
	case err != nil:
		h.refuse(s, t, metrics.WrongResult, err.Error())
	default:
		h.accept(s, t, res.C)
	}
}

// accept credits a result that passed its checks and hands it on.
func (h *Hub) accept(s *session, t *Task, c []float32) {
	addr := s.who.address
	s.who.completed(float64(t.FLOPs()))
	if t.Kept != nil && t.Update.Mode == protocol.ResidentStep {
		h.acceptUpdate(s, t, c)
		return
	}
	g := t.group
	if g == nil {
		// The job gets the result while the credit is being committed; the
		// contributor hears "accepted" only once the credit is durable.
		durable := h.creditAsync(CreditOp{Kind: CreditVerified, Task: t.key, Model: t.Job, Address: addr, Amount: t.FLOPs()})
		if t.Kept != nil && t.Update.Mode == protocol.ResidentStepReturn {
			h.confirmUpdates(t.Kept) // after this result's credit, before the step can end
		}
		h.rep.good(addr)
		h.wire.delivered(t.Job, t.FLOPs())
		t.Source.Done(t, c)
		h.sched.finish(s, t, true)
		s.verdictWhenDurable(t, durable, "")
		return
	}
	durable := h.creditAsync(CreditOp{Kind: CreditPending, Task: t.key, Model: t.Job, Address: addr, Amount: t.FLOPs()})
	first, pair := g.add(execution{addr: addr, sess: s, taskID: t.ID, c: c})
	if first {
		h.wire.delivered(t.Job, t.FLOPs())
		t.Source.Done(t, c)
	}
	h.sched.finish(s, t, true)
	s.verdictWhenDurable(t, durable, "accepted; credit pending a second execution")
	// The ledger applies operations in the order submitted: settle's
	// decisions come after both executions' pending credit.
	if pair != nil {
		h.settle(g.task, pair)
	}
}

// acceptUpdate accepts a resident update, whose credit stays pending
// until the matrix it changed is handed back and checked whole ("An
// update's credit is pending", resident.go).
func (h *Hub) acceptUpdate(s *session, t *Task, c []float32) {
	addr := s.who.address
	durable := h.creditAsync(CreditOp{Kind: CreditPending, Task: t.key, Model: t.Job, Address: addr, Amount: t.FLOPs()})
	t.Kept.updates.wait(updateRef{task: t.key, addr: addr})
	h.wire.delivered(t.Job, t.FLOPs())
	t.Source.Done(t, c)
	h.sched.finish(s, t, true)
	s.verdictWhenDurable(t, durable, "accepted; credit pending until the weights it updated are handed back and checked")
}

// settle compares the two executions of a task and decides both.
func (h *Hub) settle(t *Task, pair []execution) {
	rows, cols := verify.Norms(t.Op, t.Shape, t.A, t.B)
	if verify.Agree(t.Shape, rows, cols, pair[0].c, pair[1].c) == nil {
		h.metrics.Verified(metrics.ReplicaAgree)
		// No verdict waits for this credit (both were sent), so the read
		// loop does not wait for it either; the ledger keeps the order.
		h.creditBehind(
			CreditOp{Kind: CreditVerify, Task: t.key, Address: pair[0].addr, Reason: "replica agreed"},
			CreditOp{Kind: CreditVerify, Task: t.key, Address: pair[1].addr, Reason: "replica agreed"},
		)
		h.rep.good(pair[0].addr)
		h.rep.good(pair[1].addr)
		return
	}
	h.metrics.Verified(metrics.ReplicaDisagree)
	ex, abs, err := h.exact(t)
	if err != nil {
		h.metrics.Verified(metrics.ArbiterError)
		return // both stay pending; the log says why
	}
	for _, e := range pair {
		if jerr := verify.Judge(t.Shape, ex, abs, e.c); jerr != nil {
			reason := "a second execution disagreed and the exact product confirms this result is wrong: " + jerr.Error()
			h.metrics.TaskRefused(metrics.ReplicaRefused)
			h.credit(CreditOp{Kind: CreditReject, Task: t.key, Address: e.addr, Reason: reason})
			h.penalize(e.addr, t.key, reason)
			e.sess.who.rejected(reason)
			e.sess.verdict(t.Job, e.taskID, protocol.CodeWrongResult, reason)
		} else {
			h.credit(CreditOp{Kind: CreditVerify, Task: t.key, Address: e.addr, Reason: "confirmed by the exact product"})
			h.rep.good(e.addr)
		}
	}
}

// refuse rejects a result that failed its checks: the task goes to
// someone else and the contributor is struck.
func (h *Hub) refuse(s *session, t *Task, class metrics.Refusal, reason string) {
	h.metrics.TaskRefused(class)
	// Struck before the task fails to its source: a source going back to
	// its anchor must not place weights at this address again.
	st := h.strike(s.who.address)
	h.sched.finish(s, t, false)
	s.who.rejected(reason)
	h.log.Info("result refused", "address", s.who.address, "task", t.ID, "reason", reason)
	s.verdict(t.Job, t.ID, protocol.CodeWrongResult, reason) // before a ban closes the session
	h.punish(s.who.address, t.key, reason, st)
}

// strike records a bad result of addr and ends its keeping of weights
// (every Kept its connections keep is lost), and returns its standing.
func (h *Hub) strike(addr string) Standing {
	st := h.rep.strike(addr)
	h.sched.dropKeeper(addr)
	return st
}

// penalize strikes addr: its pending credit is voided, its record starts
// over (every result replicated again), and at MaxStrikes it is banned,
// disconnected, and loses all credit not yet committed on-chain (verified
// included: results that passed their checks may still have been part of
// the cheating). Every step is logged in the ledger with the reason.
func (h *Hub) penalize(addr, task, reason string) { h.punish(addr, task, reason, h.strike(addr)) }

// punish is penalize for an address already struck (strike), st its
// standing now.
func (h *Hub) punish(addr, task, reason string, st Standing) {
	ops := []CreditOp{
		{Kind: CreditNote, Address: addr, Task: task, Decision: "rejected", Reason: reason},
		{Kind: CreditVoid, Address: addr, Reason: "pending credit lost after a refused result"},
		{Kind: CreditStanding, Address: addr, Strikes: st.Strikes, Clean: st.Clean, Banned: st.Banned},
	}
	if st.Banned {
		ops = append(ops,
			CreditOp{Kind: CreditRevoke, Address: addr, Reason: "banned: credit not yet committed on-chain is revoked"},
			CreditOp{Kind: CreditNote, Address: addr, Decision: "banned",
				Reason: fmt.Sprintf("%d refused results (the limit is %d)", st.Strikes, h.cfg.Verification.MaxStrikes)})
	} else {
		ops = append(ops, CreditOp{Kind: CreditNote, Address: addr, Decision: "quarantined",
			Reason: fmt.Sprintf("strike %d of %d: every result is checked twice until the record is clean again", st.Strikes, h.cfg.Verification.MaxStrikes)})
	}
	h.credit(ops...)
	if st.Banned {
		h.log.Warn("contributor banned", "address", addr, "strikes", st.Strikes)
		h.disconnect(addr, protocol.Errorf(protocol.CodeBanned, "banned after %d refused results", st.Strikes))
	}
}

// credit submits ops to the ledger and waits until they are durable, so
// that a verdict is only sent for credit that survives a crash.
func (h *Hub) credit(ops ...CreditOp) { h.awaitCredit(h.creditAsync(ops...)) }

// creditBehind submits ops without waiting for them; a ledger that
// refuses them is logged.
func (h *Hub) creditBehind(ops ...CreditOp) {
	durable := h.creditAsync(ops...)
	go h.awaitCredit(durable)
}

// creditAsync submits ops and returns a channel that reports when they
// are durable (at once when there is no ledger).
func (h *Hub) creditAsync(ops ...CreditOp) <-chan error {
	if h.credits == nil {
		done := make(chan error, 1)
		done <- nil
		return done
	}
	return h.credits.Submit(ops...)
}

// awaitCredit waits for submitted credit to be durable, and reports (and
// logs) a ledger that refused it.
func (h *Hub) awaitCredit(durable <-chan error) error {
	err := <-durable
	if err != nil {
		h.log.Error("ledger refused credit operations", "err", err)
	}
	return err
}

// disconnect closes every session of addr with perr.
func (h *Hub) disconnect(addr string, perr *protocol.Error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.sessions {
		if s.who != nil && s.who.address == addr {
			s.closeWith(perr)
		}
	}
}
