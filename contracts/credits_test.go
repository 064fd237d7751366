package contracts_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/hub/chain/merkle"
)

// chain is a TesseraCredits deployed on go-ethereum's in-process chain.
type chain struct {
	tb       testing.TB
	ctx      context.Context
	backend  *simulated.Backend
	client   simulated.Client
	credits  *bindings.TesseraCredits
	instance *bind.BoundContract
	// admin deploys and holds DEFAULT_ADMIN_ROLE, committer holds
	// COMMITTER_ROLE, stranger holds nothing.
	admin, committer, stranger *bind.TransactOpts
}

// osakaRules pins the simulated chain to the Osaka fork, mainnet's rules:
// its default config also enables a later fork with other gas costs.
func osakaRules(_ *node.Config, eth *ethconfig.Config) {
	cfg := *params.AllDevChainProtocolChanges
	cfg.BogotaTime = nil
	eth.Genesis.Config = &cfg
}

// testKey derives a fixed key from name, so that addresses (and so gas)
// are the same on every run.
func testKey(tb testing.TB, name string) *ecdsa.PrivateKey {
	tb.Helper()
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("tessera test key " + name)))
	if err != nil {
		tb.Fatal(err)
	}
	return key
}

func newChain(tb testing.TB) *chain {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	tb.Cleanup(cancel)
	keys := map[string]*ecdsa.PrivateKey{}
	alloc := types.GenesisAlloc{}
	for _, name := range []string{"admin", "committer", "stranger"} {
		keys[name] = testKey(tb, name)
		alloc[crypto.PubkeyToAddress(keys[name].PublicKey)] = types.Account{Balance: new(big.Int).Lsh(big.NewInt(1), 100)}
	}
	backend := simulated.NewBackend(alloc, osakaRules)
	tb.Cleanup(func() { backend.Close() })
	c := &chain{tb: tb, ctx: ctx, backend: backend, client: backend.Client(), credits: bindings.NewTesseraCredits()}
	chainID, err := c.client.ChainID(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	opts := func(name string) *bind.TransactOpts {
		o := bind.NewKeyedTransactor(keys[name], chainID)
		o.Context = ctx
		return o
	}
	c.admin, c.committer, c.stranger = opts("admin"), opts("committer"), opts("stranger")

	addr, tx, err := bind.DeployContract(c.admin, common.FromHex(bindings.TesseraCreditsMetaData.Bin), c.client,
		c.credits.PackConstructor(c.admin.From, c.committer.From))
	if err != nil {
		tb.Fatalf("deploy: %v", err)
	}
	c.mined(tx)
	c.instance = c.credits.Instance(c.client, addr)
	return c
}

// mined mines tx into a block and returns its receipt, failing the test
// unless it succeeded.
func (c *chain) mined(tx *types.Transaction) *types.Receipt {
	c.tb.Helper()
	c.backend.Commit()
	receipt, err := c.client.TransactionReceipt(c.ctx, tx.Hash())
	if err != nil {
		c.tb.Fatalf("receipt: %v", err)
	}
	if receipt.Status != types.ReceiptStatusSuccessful {
		c.tb.Fatalf("transaction %s failed", tx.Hash())
	}
	return receipt
}

// commit sends a commit from opts, with an earnings tree made up from
// the credit tree (earnRootOf(root), total wei); a revert comes back as
// the contract's decoded custom error.
func (c *chain) commit(opts *bind.TransactOpts, model [32]byte, epoch uint64, root [32]byte, total *big.Int, contributors uint64) (*types.Receipt, error) {
	c.tb.Helper()
	return c.commitEarnings(opts, model, epoch, root, total, contributors, earnRootOf(root), total)
}

// commitEarnings sends a commit with the given earnings tree.
func (c *chain) commitEarnings(opts *bind.TransactOpts, model [32]byte, epoch uint64, root [32]byte, total *big.Int, contributors uint64,
	earnRoot [32]byte, earnTotal *big.Int) (*types.Receipt, error) {
	c.tb.Helper()
	tx, err := bind.Transact(c.instance, opts, c.credits.PackCommit(model, epoch, root, total, contributors, earnRoot, earnTotal))
	if err != nil {
		return nil, c.revert(err)
	}
	return c.mined(tx), nil
}

// earnRootOf is the made-up earnings root that commit sends with root.
func earnRootOf(root [32]byte) [32]byte { return crypto.Keccak256Hash([]byte("earnings"), root[:]) }

// revert turns a revert into the contract's custom error, as a Go error.
func (c *chain) revert(err error) error {
	raw, ok := ethclient.RevertErrorData(err)
	if !ok {
		return err
	}
	decoded, uerr := c.credits.UnpackError(raw)
	if uerr != nil {
		return fmt.Errorf("%w (revert data %x not decoded: %v)", err, raw, uerr)
	}
	return revertError{decoded}
}

type revertError struct{ v any }

func (e revertError) Error() string { return fmt.Sprintf("reverted: %T%+v", e.v, e.v) }

func asRevert[T any](err error) (T, bool) {
	var re revertError
	if errors.As(err, &re) {
		v, ok := re.v.(T)
		return v, ok
	}
	var zero T
	return zero, false
}

func (c *chain) callOpts() *bind.CallOpts { return &bind.CallOpts{Context: c.ctx} }

func (c *chain) verify(model [32]byte, epoch uint64, e merkle.Entry, proof [][32]byte) bool {
	c.tb.Helper()
	ok, err := bind.Call(c.instance, c.callOpts(), c.credits.PackVerify(model, epoch, e.Account, e.Amount, proof), c.credits.UnpackVerify)
	if err != nil {
		c.tb.Fatalf("verify: %v", err)
	}
	return ok
}

func modelID(name string) [32]byte { return crypto.Keccak256Hash([]byte(name)) }

// entries returns n contributors with distinct accounts and credits.
func entries(n int) []merkle.Entry {
	out := make([]merkle.Entry, n)
	for i := range out {
		out[i] = merkle.Entry{
			Account: common.BytesToAddress(crypto.Keccak256([]byte(fmt.Sprint("contributor ", i)))),
			Amount:  new(big.Int).Mul(big.NewInt(int64(i+1)), big.NewInt(1_000_000_007)),
		}
	}
	return out
}

func buildTree(tb testing.TB, n int) (*merkle.Tree, []merkle.Entry) {
	tb.Helper()
	es := entries(n)
	tree, err := merkle.Build(es)
	if err != nil {
		tb.Fatal(err)
	}
	return tree, es
}

func TestCommit(t *testing.T) {
	c := newChain(t)
	model := modelID("mnist-mlp")
	tree, _ := buildTree(t, 10)

	t.Run("OK", func(t *testing.T) {
		receipt, err := c.commit(c.committer, model, 1, tree.Root(), tree.Total(), uint64(tree.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if len(receipt.Logs) != 2 {
			t.Fatalf("%d logs, want 2", len(receipt.Logs))
		}
		ev, err := c.credits.UnpackEpochCommittedEvent(receipt.Logs[0])
		if err != nil {
			t.Fatal(err)
		}
		if ev.Model != model || ev.Epoch != 1 || ev.Root != tree.Root() || ev.Total.Cmp(tree.Total()) != 0 || ev.Contributors != 10 {
			t.Fatalf("event %+v", ev)
		}
		eev, err := c.credits.UnpackEarningsCommittedEvent(receipt.Logs[1])
		if err != nil {
			t.Fatal(err)
		}
		if eev.Model != model || eev.Epoch != 1 || eev.EarningsRoot != earnRootOf(tree.Root()) || eev.EarningsTotal.Cmp(tree.Total()) != 0 {
			t.Fatalf("earnings event %+v", eev)
		}
		er, err := bind.Call(c.instance, c.callOpts(), c.credits.PackEarningsRoot(model, 1), c.credits.UnpackEarningsRoot)
		if err != nil || er != earnRootOf(tree.Root()) {
			t.Fatalf("earningsRoot %x, %v", er, err)
		}
		latest, err := bind.Call(c.instance, c.callOpts(), c.credits.PackLatestEpoch(model), c.credits.UnpackLatestEpoch)
		if err != nil || latest != 1 {
			t.Fatalf("latestEpoch %d, %v; want 1", latest, err)
		}
		info, err := bind.Call(c.instance, c.callOpts(), c.credits.PackEpochInfo(model, 1), c.credits.UnpackEpochInfo)
		if err != nil {
			t.Fatal(err)
		}
		block, err := c.client.HeaderByNumber(c.ctx, receipt.BlockNumber)
		if err != nil {
			t.Fatal(err)
		}
		if info.Root != tree.Root() || info.Total.Cmp(tree.Total()) != 0 || info.Contributors != 10 || info.CommittedAt != block.Time {
			t.Fatalf("epochInfo %+v", info)
		}
	})
	t.Run("ErrNotCommitter", func(t *testing.T) {
		for _, opts := range []*bind.TransactOpts{c.stranger, c.admin} {
			_, err := c.commit(opts, model, 2, tree.Root(), tree.Total(), 10)
			e, ok := asRevert[*bindings.TesseraCreditsAccessControlUnauthorizedAccount](err)
			if !ok || e.Account != opts.From {
				t.Fatalf("commit from %s: %v, want AccessControlUnauthorizedAccount", opts.From, err)
			}
		}
	})
	t.Run("ErrEpochNotIncreasing", func(t *testing.T) {
		for _, tc := range []struct {
			model         [32]byte
			epoch, latest uint64
		}{{model, 1, 1}, {model, 0, 1}, {modelID("fresh"), 0, 0}} {
			_, err := c.commit(c.committer, tc.model, tc.epoch, tree.Root(), tree.Total(), 10)
			e, ok := asRevert[*bindings.TesseraCreditsEpochNotIncreasing](err)
			if !ok || e.Epoch != tc.epoch || e.Latest != tc.latest {
				t.Fatalf("commit of epoch %d: %v, want EpochNotIncreasing(latest %d)", tc.epoch, err, tc.latest)
			}
		}
	})
	t.Run("ErrZeroRoot", func(t *testing.T) {
		_, err := c.commit(c.committer, model, 2, [32]byte{}, tree.Total(), 10)
		if _, ok := asRevert[*bindings.TesseraCreditsZeroRoot](err); !ok {
			t.Fatalf("%v, want ZeroRoot", err)
		}
	})
	t.Run("EpochGap", func(t *testing.T) {
		if _, err := c.commit(c.committer, model, 5, tree.Root(), tree.Total(), 10); err != nil {
			t.Fatal(err)
		}
		if _, err := c.commit(c.committer, model, 4, tree.Root(), tree.Total(), 10); err == nil {
			t.Fatal("epoch 4 after 5 committed")
		}
	})
	t.Run("GrantedCommitter", func(t *testing.T) {
		role, err := bind.Call(c.instance, c.callOpts(), c.credits.PackCOMMITTERROLE(), c.credits.UnpackCOMMITTERROLE)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := bind.Transact(c.instance, c.admin, c.credits.PackGrantRole(role, c.stranger.From))
		if err != nil {
			t.Fatal(c.revert(err))
		}
		c.mined(tx)
		if _, err := c.commit(c.stranger, model, 6, tree.Root(), tree.Total(), 10); err != nil {
			t.Fatal(err)
		}
	})
}

// TestVerifyOnChain checks proofs made by hub/chain/merkle with the
// contract's verify: every genuine one passes, tampered ones fail.
func TestVerifyOnChain(t *testing.T) {
	c := newChain(t)
	for _, n := range []int{1, 10, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			model := modelID(fmt.Sprint("model ", n))
			tree, es := buildTree(t, n)
			if _, err := c.commit(c.committer, model, 1, tree.Root(), tree.Total(), uint64(n)); err != nil {
				t.Fatal(err)
			}
			for i, e := range es {
				if !c.verify(model, 1, e, tree.ProofAt(i)) {
					t.Fatalf("entry %d: genuine proof rejected", i)
				}
			}
			e, proof := es[n/2], tree.ProofAt(n/2)
			plus1 := merkle.Entry{Account: e.Account, Amount: new(big.Int).Add(e.Amount, big.NewInt(1))}
			type tampered struct {
				name  string
				epoch uint64
				entry merkle.Entry
				proof [][32]byte
			}
			cases := []tampered{
				{"AmountPlus1", 1, plus1, proof},
				{"OtherEpoch", 2, e, proof},
				{"OtherAccount", 1, merkle.Entry{Account: common.Address{0xbe, 0xef}, Amount: e.Amount}, proof},
			}
			if len(proof) > 0 { // a single-leaf tree has an empty proof
				flipped := append([][32]byte(nil), proof...)
				flipped[len(flipped)-1][0] ^= 0x80
				cases = append(cases, tampered{"FlippedBit", 1, e, flipped}, tampered{"Truncated", 1, e, proof[:len(proof)-1]})
			}
			for _, tc := range cases {
				if c.verify(model, tc.epoch, tc.entry, tc.proof) {
					t.Errorf("%s: verified", tc.name)
				}
				if tc.epoch == 1 && merkle.Verify(tree.Root(), tc.entry, tc.proof) {
					t.Errorf("%s: verified in Go", tc.name)
				}
			}
		})
	}
}

// TestCommitGas shows that a commit costs the same whatever the number of
// contributors: only the root and two totals are stored.
func TestCommitGas(t *testing.T) {
	c := newChain(t)
	var first, next []uint64
	for _, n := range []int{10, 1000, 100_000} {
		model := modelID(fmt.Sprint("gas ", n))
		tree, _ := buildTree(t, n)
		r1, err := c.commit(c.committer, model, 1, tree.Root(), tree.Total(), uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		r2, err := c.commit(c.committer, model, 2, tree.Root(), tree.Total(), uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		first, next = append(first, r1.GasUsed), append(next, r2.GasUsed)
		t.Logf("%7d contributors: first commit of a model %d gas, next epoch %d gas", n, r1.GasUsed, r2.GasUsed)
	}
	// Calldata differs by a few nonzero bytes (root, total, count): 16 gas
	// each at most.
	const slack = 300
	for _, g := range [][]uint64{first, next} {
		if spread := max(g[0], g[1], g[2]) - min(g[0], g[1], g[2]); spread > slack {
			t.Errorf("gas %v grows with contributors (spread %d > %d)", g, spread, slack)
		}
	}
}

// BenchmarkCommitGas reports the gas of one epoch commit (after a model's
// first) for 10, 1,000 and 100,000 contributors: it must not grow, since
// the contract stores a root and two numbers whatever the tree's size.
func BenchmarkCommitGas(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := newChain(b)
			model := modelID(fmt.Sprint("gas ", n))
			tree, _ := buildTree(b, n)
			if _, err := c.commit(c.committer, model, 1, tree.Root(), tree.Total(), uint64(n)); err != nil {
				b.Fatal(err)
			}
			var gas uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := c.commit(c.committer, model, uint64(i+2), tree.Root(), tree.Total(), uint64(n))
				if err != nil {
					b.Fatal(err)
				}
				gas += r.GasUsed
			}
			b.ReportMetric(float64(gas)/float64(b.N), "gas/commit")
		})
	}
}
