package adversary

import (
	"context"
	"fmt"
	"sync"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/flop"
)

// creditState is a credit row's state, as hub/ledger stores it.
type creditState uint8

const (
	stateNone creditState = iota // never credited (refused, dropped)
	statePending
	stateVerified
	stateRejected
)

func (s creditState) String() string {
	return [...]string{"none", "pending", "verified", "rejected"}[s]
}

// row is one credit row the log follows.
type row struct {
	model  string
	amount int64
	state  creditState
	how    string // what decided it: "at once", "replica agreed", "disagreement", "voided", ...
}

// creditLog is the hub's Credits: it forwards every operation to the
// ledger and follows the rows' states with the ledger's rules (a row is
// inserted once; it moves from pending to verified or rejected only), so
// that each result can be traced to its row. It also keeps, per address,
// the order in which rows were created: the hub judges one connection's
// results in order and credits each accepted one before its verdict, so
// the n-th accepting verdict a client receives names the n-th row.
type creditLog struct {
	led *ledger.Ledger

	mu   sync.Mutex
	rows map[[2]string]*row // by (task key, address)
	adds map[string][]string
}

func newCreditLog(led *ledger.Ledger) *creditLog {
	return &creditLog{led: led, rows: map[[2]string]*row{}, adds: map[string][]string{}}
}

// Submit implements hub.Credits. The lock covers the ledger's Submit too,
// so the log sees operations in the order the ledger commits them.
func (l *creditLog) Submit(ops ...hub.CreditOp) <-chan error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, op := range ops {
		l.applyLocked(op)
	}
	return l.led.Submit(ops...)
}

// Standings implements hub.Credits.
func (l *creditLog) Standings(ctx context.Context) (map[string]hub.Standing, error) {
	return l.led.Standings(ctx)
}

func (l *creditLog) applyLocked(op hub.CreditOp) {
	k := [2]string{op.Task, op.Address}
	switch op.Kind {
	case hub.CreditPending, hub.CreditVerified:
		if l.rows[k] != nil {
			return // INSERT OR IGNORE
		}
		r := &row{model: op.Model, amount: op.Amount, state: statePending}
		if op.Kind == hub.CreditVerified {
			r.state, r.how = stateVerified, "at once"
		}
		l.rows[k] = r
		l.adds[op.Address] = append(l.adds[op.Address], op.Task)
	case hub.CreditVerify:
		if r := l.rows[k]; r != nil && r.state == statePending {
			r.state, r.how = stateVerified, op.Reason
		}
	case hub.CreditReject:
		if r := l.rows[k]; r != nil && r.state == statePending {
			r.state, r.how = stateRejected, "disagreement"
		}
	case hub.CreditVoid:
		for _, task := range l.adds[op.Address] {
			if r := l.rows[[2]string{task, op.Address}]; r.state == statePending {
				r.state, r.how = stateRejected, "voided"
			}
		}
	case hub.CreditRevoke: // a ban: nothing is committed on-chain in these runs
		for _, task := range l.adds[op.Address] {
			if r := l.rows[[2]string{task, op.Address}]; r.state == statePending || r.state == stateVerified {
				r.state, r.how = stateRejected, "revoked"
			}
		}
	}
}

// row returns the state of (task, addr)'s row.
func (l *creditLog) row(task, addr string) row {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.rows[[2]string{task, addr}]; r != nil {
		return *r
	}
	return row{}
}

// keys returns the task keys credited to addr, in order.
func (l *creditLog) keys(addr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.adds[addr]...)
}

// check compares the followed rows with the ledger's balances: every
// address's verified, pending and rejected sums must match per model.
func (l *creditLog) check(ctx context.Context) error {
	l.mu.Lock()
	want := map[string]map[string]ledger.Balance{}
	for k, r := range l.rows {
		if want[r.model] == nil {
			want[r.model] = map[string]ledger.Balance{}
		}
		b := want[r.model][k[1]]
		b.Address = k[1]
		amount, err := flop.FromInt64(r.amount)
		if err != nil {
			l.mu.Unlock()
			return err
		}
		switch r.state {
		case stateVerified:
			b.Verified, err = b.Verified.Add(amount)
		case statePending:
			b.Pending, err = b.Pending.Add(amount)
		case stateRejected:
			b.Rejected, err = b.Rejected.Add(amount)
		}
		if err != nil {
			l.mu.Unlock()
			return err
		}
		want[r.model][k[1]] = b
	}
	l.mu.Unlock()
	for model, byAddr := range want {
		got, err := l.led.Balances(ctx, model)
		if err != nil {
			return err
		}
		if len(got) != len(byAddr) {
			return fmt.Errorf("model %s: the ledger has balances for %d addresses, the log for %d", model, len(got), len(byAddr))
		}
		for _, b := range got {
			if b != byAddr[b.Address] {
				return fmt.Errorf("model %s: ledger balance %+v, log %+v", model, b, byAddr[b.Address])
			}
		}
	}
	return nil
}
