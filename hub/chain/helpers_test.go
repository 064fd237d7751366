package chain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/flop"
)

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

func openNode(tb testing.TB, dir string) *Node {
	tb.Helper()
	n, err := OpenNode(context.Background(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func openLedger(tb testing.TB, path string) *ledger.Ledger {
	tb.Helper()
	l, err := ledger.Open(context.Background(), path, ledger.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// env is a chain with the contract deployed and a ledger: the embedded
// node (newEnv) or an anvil process (newAnvilEnv).
type env struct {
	dir      string
	node     *Node // nil on anvil
	client   *ethclient.Client
	key      *ecdsa.PrivateKey // the committer's
	durable  func(context.Context, uint64) error
	ledger   *ledger.Ledger
	contract common.Address
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	e := &env{dir: tb.TempDir()}
	e.node = openNode(tb, filepath.Join(e.dir, "chain"))
	tb.Cleanup(func() { e.node.Close() })
	e.client, e.key, e.durable = e.node.Client(), DevKey(), e.node.WaitDurable
	e.deploy(tb)
	return e
}

// deploy opens the ledger and deploys the contract.
func (e *env) deploy(tb testing.TB) {
	tb.Helper()
	e.ledger = openLedger(tb, filepath.Join(e.dir, "ledger.db"))
	tb.Cleanup(func() { e.ledger.Close() })
	var err error
	e.contract, err = EnsureContract(testContext(tb), e.client, e.key, filepath.Join(e.dir, "contract"), e.durable)
	if err != nil {
		tb.Fatal(err)
	}
}

// contributor returns the address of the i-th test contributor.
func contributor(i int) string {
	return common.BytesToAddress(crypto.Keccak256([]byte(fmt.Sprint("contributor ", i)))).Hex()
}

// credit adds verified credit to model for contributors 0..n-1.
func credit(tb testing.TB, l *ledger.Ledger, model, task string, n int, amount int64) {
	tb.Helper()
	ops := make([]ledger.Op, n)
	for i := range ops {
		ops[i] = ledger.Op{Kind: ledger.AddVerified, Task: task, Model: model, Address: contributor(i), Amount: amount * int64(i+1)}
	}
	if err := <-l.Submit(ops...); err != nil {
		tb.Fatal(err)
	}
}

// contractView reads the contract.
type contractView struct {
	tb       testing.TB
	ctx      context.Context
	credits  *bindings.TesseraCredits
	instance *bind.BoundContract
}

func (e *env) view(tb testing.TB) *contractView {
	credits := bindings.NewTesseraCredits()
	return &contractView{tb: tb, ctx: testContext(tb), credits: credits, instance: credits.Instance(e.client, e.contract)}
}

func (v *contractView) latest(model string) uint64 {
	v.tb.Helper()
	n, err := bind.Call(v.instance, &bind.CallOpts{Context: v.ctx}, v.credits.PackLatestEpoch(ModelID(model)), v.credits.UnpackLatestEpoch)
	if err != nil {
		v.tb.Fatal(err)
	}
	return n
}

func (v *contractView) info(model string, epoch uint64) bindings.TesseraCreditsEpoch {
	v.tb.Helper()
	info, err := bind.Call(v.instance, &bind.CallOpts{Context: v.ctx}, v.credits.PackEpochInfo(ModelID(model), epoch), v.credits.UnpackEpochInfo)
	if err != nil {
		v.tb.Fatal(err)
	}
	return info
}

// earningsRoot is the root of s's earnings tree.
func earningsRoot(tb testing.TB, s ledger.Snapshot) [32]byte {
	tb.Helper()
	t, err := EarningsTree(s.Leaves)
	if err != nil {
		tb.Fatal(err)
	}
	return t.Root()
}

// fl is n FLOPs.
func fl(n uint64) flop.Amount { return flop.FromUint64(n) }
