package contracts_test

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/hub/chain/merkle"
)

// deposit sends wei to model's vault from opts.
func (c *chain) deposit(opts *bind.TransactOpts, model [32]byte, wei *big.Int) (*types.Receipt, error) {
	c.tb.Helper()
	o := *opts
	o.Value = wei
	tx, err := bind.Transact(c.instance, &o, c.credits.PackDeposit(model))
	if err != nil {
		return nil, c.revert(err)
	}
	return c.mined(tx), nil
}

// claim claims e (account, cumulative earnings) with proof, sent from opts.
func (c *chain) claim(opts *bind.TransactOpts, model [32]byte, e merkle.Entry, proof [][32]byte) (*types.Receipt, error) {
	c.tb.Helper()
	tx, err := bind.Transact(c.instance, opts, c.credits.PackClaim(model, e.Account, e.Amount, proof))
	if err != nil {
		return nil, c.revert(err)
	}
	return c.mined(tx), nil
}

func (c *chain) view(pack []byte, unpack func([]byte) (*big.Int, error)) *big.Int {
	c.tb.Helper()
	n, err := bind.Call(c.instance, c.callOpts(), pack, unpack)
	if err != nil {
		c.tb.Fatal(err)
	}
	return n
}

// fund sends 1 wei to a from the admin if it holds nothing, so that a
// payment to it does not pay the EVM's charge for a new account.
func (c *chain) fund(a common.Address) {
	c.tb.Helper()
	if c.balance(a).Sign() > 0 {
		return
	}
	nonce, err := c.client.PendingNonceAt(c.ctx, c.admin.From)
	if err != nil {
		c.tb.Fatal(err)
	}
	price, err := c.client.SuggestGasPrice(c.ctx)
	if err != nil {
		c.tb.Fatal(err)
	}
	tx, err := c.admin.Signer(c.admin.From, types.NewTx(&types.LegacyTx{Nonce: nonce, To: &a, Value: big.NewInt(1), Gas: 21000, GasPrice: price}))
	if err != nil {
		c.tb.Fatal(err)
	}
	if err := c.client.SendTransaction(c.ctx, tx); err != nil {
		c.tb.Fatal(err)
	}
	c.mined(tx)
}

func (c *chain) balance(a common.Address) *big.Int {
	c.tb.Helper()
	b, err := c.client.BalanceAt(c.ctx, a, nil)
	if err != nil {
		c.tb.Fatal(err)
	}
	return b
}

// TestRevenueVault exercises deposit and claim against real earnings
// trees: cumulative payouts across two epochs, every refusal with its
// custom error, and the vault's books.
func TestRevenueVault(t *testing.T) {
	c := newChain(t)
	model := modelID("vault")
	credit, _ := buildTree(t, 4)
	earn := func(amounts ...int64) (*merkle.Tree, []merkle.Entry) {
		es := entries(len(amounts))
		for i, a := range amounts {
			es[i].Amount = big.NewInt(a)
		}
		tree, err := merkle.Build(es)
		if err != nil {
			t.Fatal(err)
		}
		return tree, es
	}
	tree1, es1 := earn(100, 200, 300, 0)
	if _, err := c.commitEarnings(c.committer, model, 1, credit.Root(), credit.Total(), 4, tree1.Root(), tree1.Total()); err != nil {
		t.Fatal(err)
	}
	a0 := es1[0].Account

	t.Run("ErrZeroDeposit", func(t *testing.T) {
		if _, err := c.deposit(c.stranger, model, new(big.Int)); err == nil {
			t.Fatal("a zero deposit was accepted")
		} else if _, ok := asRevert[*bindings.TesseraCreditsZeroDeposit](err); !ok {
			t.Fatalf("%v, want ZeroDeposit", err)
		}
	})
	t.Run("ErrVaultShort", func(t *testing.T) {
		if _, err := c.deposit(c.stranger, model, big.NewInt(99)); err != nil {
			t.Fatal(err)
		}
		_, err := c.claim(c.stranger, model, es1[0], tree1.ProofAt(0))
		e, ok := asRevert[*bindings.TesseraCreditsVaultShort](err)
		if !ok || e.Owed.Int64() != 100 || e.Available.Int64() != 99 {
			t.Fatalf("%v, want VaultShort(100 owed, 99 available)", err)
		}
	})
	r, err := c.deposit(c.stranger, model, big.NewInt(501))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := c.credits.UnpackDepositedEvent(r.Logs[0]); err != nil || ev.Model != model || ev.From != c.stranger.From || ev.Amount.Int64() != 501 {
		t.Fatalf("Deposited %+v (%v)", ev, err)
	}
	t.Run("OK", func(t *testing.T) {
		r, err := c.claim(c.stranger, model, es1[0], tree1.ProofAt(0))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := c.credits.UnpackClaimedEvent(r.Logs[0])
		if err != nil || ev.Account != a0 || ev.Amount.Int64() != 100 || ev.Cumulative.Int64() != 100 {
			t.Fatalf("Claimed %+v (%v)", ev, err)
		}
		if b := c.balance(a0); b.Int64() != 100 {
			t.Fatalf("account holds %s, want 100", b)
		}
	})
	t.Run("ErrNothingToClaim", func(t *testing.T) {
		_, err := c.claim(c.stranger, model, es1[0], tree1.ProofAt(0))
		if e, ok := asRevert[*bindings.TesseraCreditsNothingToClaim](err); !ok || e.AlreadyClaimed.Int64() != 100 {
			t.Fatalf("%v, want NothingToClaim", err)
		}
		_, err = c.claim(c.stranger, model, es1[3], tree1.ProofAt(3)) // earned nothing yet
		if _, ok := asRevert[*bindings.TesseraCreditsNothingToClaim](err); !ok {
			t.Fatalf("%v, want NothingToClaim", err)
		}
	})
	t.Run("ErrInvalidProof", func(t *testing.T) {
		plus1 := merkle.Entry{Account: es1[1].Account, Amount: big.NewInt(201)}
		other := merkle.Entry{Account: c.stranger.From, Amount: es1[1].Amount}
		for name, tc := range map[string]struct {
			model [32]byte
			e     merkle.Entry
			proof [][32]byte
		}{
			"AmountPlus1":  {model, plus1, tree1.ProofAt(1)},
			"OtherAccount": {model, other, tree1.ProofAt(1)},
			"OtherModel":   {modelID("other"), es1[1], tree1.ProofAt(1)},
			"Truncated":    {model, es1[1], tree1.ProofAt(1)[1:]},
		} {
			if _, err := c.claim(c.stranger, tc.model, tc.e, tc.proof); err == nil {
				t.Errorf("%s: paid", name)
			} else if _, ok := asRevert[*bindings.TesseraCreditsInvalidProof](err); !ok {
				t.Errorf("%s: %v, want InvalidProof", name, err)
			}
		}
	})

	// Epoch 2: cumulative earnings grow; only the latest root pays, and
	// it pays the difference.
	tree2, es2 := earn(150, 200, 400, 50)
	if _, err := c.commitEarnings(c.committer, model, 2, credit.Root(), credit.Total(), 4, tree2.Root(), tree2.Total()); err != nil {
		t.Fatal(err)
	}
	t.Run("StaleRoot", func(t *testing.T) {
		if _, err := c.claim(c.stranger, model, es1[2], tree1.ProofAt(2)); err == nil {
			t.Fatal("a proof of epoch 1 paid after epoch 2")
		}
	})
	t.Run("Cumulative", func(t *testing.T) {
		if _, err := c.deposit(c.admin, model, big.NewInt(200)); err != nil { // 800 deposited: epoch 2's earnings
			t.Fatal(err)
		}
		if _, err := c.claim(c.admin, model, es2[0], tree2.ProofAt(0)); err != nil {
			t.Fatal(err)
		}
		if b := c.balance(a0); b.Int64() != 150 {
			t.Fatalf("account holds %s after two epochs, want 150", b)
		}
		for i := 1; i < 4; i++ {
			if _, err := c.claim(c.stranger, model, es2[i], tree2.ProofAt(i)); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.view(c.credits.PackTotalClaimed(model), c.credits.UnpackTotalClaimed); got.Int64() != 800 {
			t.Fatalf("totalClaimed %s, want 800", got)
		}
		if got := c.view(c.credits.PackDeposited(model), c.credits.UnpackDeposited); got.Int64() != 800 {
			t.Fatalf("deposited %s, want 800", got)
		}
		if b := c.balance(common.Address(c.instance.Address())); b.Sign() != 0 {
			t.Fatalf("the vault keeps %s wei with everything claimed", b)
		}
	})
	t.Run("ErrPaymentFailed", func(t *testing.T) {
		// The contract itself accepts no plain transfers: a claim for it
		// reverts whole, nothing recorded as paid.
		m := modelID("refusing")
		es := []merkle.Entry{{Account: common.Address(c.instance.Address()), Amount: big.NewInt(5)}, {Account: c.admin.From, Amount: big.NewInt(1)}}
		tree, err := merkle.Build(es)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.commitEarnings(c.committer, m, 1, credit.Root(), credit.Total(), 4, tree.Root(), tree.Total()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.deposit(c.stranger, m, big.NewInt(6)); err != nil {
			t.Fatal(err)
		}
		_, err = c.claim(c.stranger, m, es[0], tree.ProofAt(0))
		if _, ok := asRevert[*bindings.TesseraCreditsPaymentFailed](err); !ok {
			t.Fatalf("%v, want PaymentFailed", err)
		}
		if got := c.view(c.credits.PackTotalClaimed(m), c.credits.UnpackTotalClaimed); got.Sign() != 0 {
			t.Fatalf("totalClaimed %s after a failed payment", got)
		}
	})
}

// TestRevenueCommitGas: with the earnings root, a commit still costs the
// same whatever the number of contributors.
func TestRevenueCommitGas(t *testing.T) {
	c := newChain(t)
	var gas []uint64
	for _, n := range []int{10, 1000, 100_000} {
		model := modelID(fmt.Sprint("gas ", n))
		tree, _ := buildTree(t, n)
		for epoch := uint64(1); epoch <= 2; epoch++ {
			r, err := c.commit(c.committer, model, epoch, tree.Root(), tree.Total(), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if epoch == 2 {
				gas = append(gas, r.GasUsed)
			}
		}
	}
	if spread := max(gas[0], gas[1], gas[2]) - min(gas[0], gas[1], gas[2]); spread > 300 {
		t.Fatalf("commit gas %v grows with contributors", gas)
	}
}

// BenchmarkClaimGas reports the gas of an owner's first claim (their
// paid-so-far slot goes from zero: the costliest claim) from a vault that
// has paid before, against an earnings tree of 10, 1,000 and 100,000
// owners: it grows only with the proof's length, log2 of the owners. Each
// iteration commits the tree for a fresh model, deposits, and lets
// another owner claim first (the gas is the measure, not the time). The
// owner's address already holds ether; paying one that never did costs
// the EVM's new-account charge, 25,000 gas more.
func BenchmarkClaimGas(b *testing.B) {
	for _, n := range []int{10, 1000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := newChain(b)
			tree, es := buildTree(b, n)
			var gas uint64
			for i := 0; i < b.N; i++ {
				model := modelID(fmt.Sprint("claim gas ", n, " ", i))
				if _, err := c.commitEarnings(c.committer, model, 1, tree.Root(), tree.Total(), uint64(n), tree.Root(), tree.Total()); err != nil {
					b.Fatal(err)
				}
				if _, err := c.deposit(c.admin, model, tree.Total()); err != nil {
					b.Fatal(err)
				}
				first, k := (i+1)%n, i%n
				c.fund(es[k].Account)
				if _, err := c.claim(c.stranger, model, es[first], tree.ProofAt(first)); err != nil {
					b.Fatal(err)
				}
				r, err := c.claim(c.stranger, model, es[k], tree.ProofAt(k))
				if err != nil {
					b.Fatal(err)
				}
				gas += r.GasUsed
			}
			b.ReportMetric(float64(gas)/float64(b.N), "gas/claim")
		})
	}
}
