package hub

import (
	"context"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// CreditKind is what a credit operation does.
type CreditKind uint8

// Credit operation kinds; see hub/ledger for how they are stored.
const (
	// CreditPending records new pending credit (Task, Model, Address, Amount).
	CreditPending CreditKind = iota + 1
	// CreditVerify moves the pending credit of (Task, Address) to verified.
	CreditVerify
	// CreditReject moves the pending credit of (Task, Address) to rejected.
	CreditReject
	// CreditVoid rejects every pending credit of Address (a caught cheater).
	CreditVoid
	// CreditNote appends a decision (Decision, Reason) to Address's log.
	CreditNote
	// CreditStanding stores Address's strikes, clean run and ban.
	CreditStanding
	// CreditVerified records credit verified at once.
	CreditVerified
	// CreditRevoke rejects all of Address's credit not yet committed
	// on-chain, verified included: a banned cheater keeps nothing that can
	// still be taken back.
	CreditRevoke
)

// CreditOp is one operation on the credit ledger.
type CreditOp struct {
	Kind     CreditKind
	Task     string
	Model    string
	Address  string
	Amount   int64 // floating-point operations
	Reason   string
	Decision string // for CreditNote: "rejected", "strike", "banned", ...
	Strikes  int
	Clean    int
	Banned   bool
}

// Standing is a contributor's stored record.
type Standing struct {
	Strikes, Clean int
	Banned         bool
}

// Credits is the ledger the hub credits verified work to (hub/ledger).
type Credits interface {
	// Submit queues ops to be committed together and reports when they
	// are durable.
	Submit(ops ...CreditOp) <-chan error
	// Standings returns every stored standing by address.
	Standings(ctx context.Context) (map[string]Standing, error)
}

// Arbiter computes a task's exact product, op(A)·op(B) in float64, and
// the per-element sums of squared terms Σ_k (A_ik·B_kj)², to settle
// borderline and disputed results (verify.Judge). The hub's default
// computes natively; hub/service plugs in the wazero sandbox.
type Arbiter interface {
	Exact(ctx context.Context, op kernel.Op, sh kernel.Shape, a, b []float32) (exact, sumSq []float64, err error)
}
