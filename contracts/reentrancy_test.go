package contracts_test

import (
	"bytes"
	"math/big"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/hub/chain/merkle"
)

// ReentrantClaimer's modes (its Mode enum).
const (
	modeReenter uint8 = 0 // receive() re-enters the vault with the armed calls
	modeRefuse  uint8 = 1 // receive() reverts
)

// attackGas is the gas limit of an attack. It is fixed rather than
// estimated so that a re-entry can never fail for want of gas: each one
// must fail because the vault refuses it.
const attackGas = 5_000_000

// claimer is the test-only attacker src/test/ReentrantClaimer.sol, deployed
// against c's vault. It has no abigen binding: its ABI and bytecode are
// read from build/, which TestGenerated keeps in step with the source.
type claimer struct {
	c    *chain
	abi  abi.ABI
	inst *bind.BoundContract
	addr common.Address
}

func deployClaimer(c *chain) *claimer {
	c.tb.Helper()
	abiJSON, err := os.ReadFile("build/ReentrantClaimer.abi")
	if err != nil {
		c.tb.Fatal(err)
	}
	parsed, err := abi.JSON(bytes.NewReader(abiJSON))
	if err != nil {
		c.tb.Fatal(err)
	}
	bin, err := os.ReadFile("build/ReentrantClaimer.bin")
	if err != nil {
		c.tb.Fatal(err)
	}
	k := &claimer{c: c, abi: parsed}
	addr, tx, err := bind.DeployContract(c.admin, common.FromHex(string(bin)), c.client, k.pack("", c.instance.Address()))
	if err != nil {
		c.tb.Fatalf("deploy ReentrantClaimer: %v", err)
	}
	c.mined(tx)
	k.addr = addr
	k.inst = bind.NewBoundContract(addr, parsed, c.client, c.client, c.client)
	return k
}

func (k *claimer) pack(method string, args ...any) []byte {
	k.c.tb.Helper()
	b, err := k.abi.Pack(method, args...)
	if err != nil {
		k.c.tb.Fatalf("pack %s: %v", method, err)
	}
	return b
}

// arm sets the claimer's mode and the calls its receive() sends back to
// the vault.
func (k *claimer) arm(mode uint8, reentries ...[]byte) {
	k.c.tb.Helper()
	if reentries == nil {
		reentries = [][]byte{}
	}
	tx, err := bind.Transact(k.inst, k.c.stranger, k.pack("arm", mode, reentries))
	if err != nil {
		k.c.tb.Fatalf("arm: %v", k.c.revert(err))
	}
	k.c.mined(tx)
}

// attack has the claimer send claimCall to the vault itself. A revert (the
// vault's, passed through) comes back decoded, found by a call first.
func (k *claimer) attack(claimCall []byte) (*types.Receipt, error) {
	c := k.c
	c.tb.Helper()
	input := k.pack("attack", claimCall)
	if _, err := k.inst.CallRaw(&bind.CallOpts{Context: c.ctx, From: c.stranger.From}, input); err != nil {
		return nil, c.revert(err)
	}
	o := *c.stranger
	o.GasLimit = attackGas
	tx, err := bind.Transact(k.inst, &o, input)
	if err != nil {
		return nil, c.revert(err)
	}
	return c.mined(tx), nil
}

// attempt returns the outcome of the re-entry armed at index i.
func (k *claimer) attempt(i int) (tried, ok bool, ret []byte) {
	k.c.tb.Helper()
	var out []any
	if err := k.inst.Call(k.c.callOpts(), &out, "attempt", big.NewInt(int64(i))); err != nil {
		k.c.tb.Fatalf("attempt %d: %v", i, err)
	}
	return out[0].(bool), out[1].(bool), out[2].([]byte)
}

// count returns one of the claimer's uint256 views.
func (k *claimer) count(method string) *big.Int {
	k.c.tb.Helper()
	var out []any
	if err := k.inst.Call(k.c.callOpts(), &out, method); err != nil {
		k.c.tb.Fatalf("%s: %v", method, err)
	}
	return out[0].(*big.Int)
}

// claimedBy is what the vault has paid account for model.
func (c *chain) claimedBy(model [32]byte, account common.Address) *big.Int {
	c.tb.Helper()
	return c.view(c.credits.PackClaimed(model, account), c.credits.UnpackClaimed)
}

// checkBooks fails unless, for every model, the vault paid no more than
// was deposited for it, and the vault holds exactly what is deposited and
// not yet paid, all models together (models must be all the vault's).
func (c *chain) checkBooks(tb testing.TB, models ...[32]byte) {
	tb.Helper()
	owed := new(big.Int)
	for _, m := range models {
		dep := c.view(c.credits.PackDeposited(m), c.credits.UnpackDeposited)
		paid := c.view(c.credits.PackTotalClaimed(m), c.credits.UnpackTotalClaimed)
		if paid.Cmp(dep) > 0 {
			tb.Errorf("model %x: totalClaimed %s above deposited %s", m[:4], paid, dep)
		}
		owed.Add(owed, dep).Sub(owed, paid)
	}
	if b := c.balance(common.Address(c.instance.Address())); b.Cmp(owed) != 0 {
		tb.Errorf("the vault holds %s wei, its books say %s", b, owed)
	}
}

// earningsWith builds an earnings tree whose first owner is the claimer,
// with first, followed by honest owners (plain accounts) with the others.
func earningsWith(tb testing.TB, k *claimer, first int64, others ...int64) (*merkle.Tree, []merkle.Entry) {
	tb.Helper()
	es := append([]merkle.Entry{{Account: k.addr, Amount: big.NewInt(first)}}, entries(len(others))...)
	for i, a := range others {
		es[i+1].Amount = big.NewInt(a)
	}
	tree, err := merkle.Build(es)
	if err != nil {
		tb.Fatal(err)
	}
	return tree, es
}

// TestRevenueVaultReentrancy attacks the payout vault from a contract
// owner whose receive() re-enters claim while being paid: the vault pays
// it exactly once, refuses every re-entry with its reentrancy guard, keeps
// its books equal to its balance, and still pays every other owner in full.
// A payee whose receive() reverts makes the claim revert whole, with nothing
// recorded as paid, so it can claim later.
func TestRevenueVaultReentrancy(t *testing.T) {
	c := newChain(t)
	k := deployClaimer(c)
	credit, _ := buildTree(t, 4)
	guardErr := bindings.TesseraCreditsReentrancyGuardReentrantCallErrorID().Bytes()[:4]
	model, bystander, refusing := modelID("reentrancy"), modelID("bystander"), modelID("refusing payee")
	models := [][32]byte{model, bystander, refusing}

	// setup commits tree for m and deposits exactly its total: any
	// overpayment leaves another owner short.
	setup := func(t *testing.T, m [32]byte, tree *merkle.Tree) {
		t.Helper()
		if _, err := c.commitEarnings(c.committer, m, 1, credit.Root(), credit.Total(), 4, tree.Root(), tree.Total()); err != nil {
			t.Fatal(err)
		}
		if _, err := c.deposit(c.admin, m, tree.Total()); err != nil {
			t.Fatal(err)
		}
		c.checkBooks(t, models...)
	}
	// honest has every owner but the claimer claim, and checks that each
	// is paid exactly its earnings.
	honest := func(t *testing.T, m [32]byte, tree *merkle.Tree, es []merkle.Entry) {
		t.Helper()
		for i := range es {
			if es[i].Account == k.addr {
				continue
			}
			before := c.balance(es[i].Account)
			if _, err := c.claim(c.stranger, m, es[i], tree.ProofAt(i)); err != nil {
				t.Fatalf("owner %d: %v", i, err)
			}
			if got := new(big.Int).Sub(c.balance(es[i].Account), before); got.Cmp(es[i].Amount) != 0 {
				t.Errorf("owner %d paid %s, want %s", i, got, es[i].Amount)
			}
			c.checkBooks(t, models...)
		}
	}

	// The vault holds every model's deposits together: another model's
	// money is what a reentrant double payout would take.
	byTree, byEs := buildTree(t, 3)
	setup(t, bystander, byTree)

	t.Run("ReentrantClaim", func(t *testing.T) {
		tree, es := earningsWith(t, k, 1000, 200, 300, 400)
		setup(t, model, tree)
		own, proof := es[0], tree.ProofAt(0)
		claimOwn := c.credits.PackClaim(model, k.addr, own.Amount, proof)
		// What a real attacker tries while being paid: its own leaf again
		// (the double payout against a vault that pays before it books),
		// more than its leaf with the same proof, another owner's genuine
		// claim (a claim made while the vault is mid-payment), then its own
		// leaf once more, which a broken vault would pay from a nested payment.
		reentries := []struct {
			name string
			call []byte
		}{
			{"SameLeaf", claimOwn},
			{"LargerAmount", c.credits.PackClaim(model, k.addr, big.NewInt(2*own.Amount.Int64()), proof)},
			{"OtherOwner", c.credits.PackClaim(model, es[1].Account, es[1].Amount, tree.ProofAt(1))},
			{"SameLeafAgain", claimOwn},
		}
		calls := make([][]byte, len(reentries))
		for i, r := range reentries {
			calls[i] = r.call
		}
		k.arm(modeReenter, calls...)
		before := c.balance(k.addr)

		r, err := k.attack(claimOwn)
		if err != nil {
			t.Fatalf("attack: %v", err)
		}
		var paid []*bindings.TesseraCreditsClaimed
		for _, l := range r.Logs {
			if ev, err := c.credits.UnpackClaimedEvent(l); err == nil {
				paid = append(paid, ev)
			}
		}
		if len(paid) != 1 || paid[0].Account != k.addr || paid[0].Amount.Cmp(own.Amount) != 0 {
			t.Errorf("Claimed events %+v, want one paying the claimer %s", paid, own.Amount)
		}
		if got := new(big.Int).Sub(c.balance(k.addr), before); got.Cmp(own.Amount) != 0 {
			t.Errorf("the claimer gained %s wei, want exactly %s", got, own.Amount)
		}
		if n := k.count("payments"); n.Int64() != 1 {
			t.Errorf("the claimer was paid %s times, want once", n)
		}
		if got := k.count("received"); got.Cmp(own.Amount) != 0 {
			t.Errorf("the claimer received %s wei, want %s", got, own.Amount)
		}
		for i, re := range reentries {
			tried, ok, ret := k.attempt(i)
			switch {
			case !tried:
				t.Errorf("%s: never tried", re.name)
			case ok:
				t.Errorf("%s: the re-entry succeeded", re.name)
			case !bytes.Equal(ret, guardErr):
				reason := any(ret)
				if len(ret) >= 4 {
					if v, err := c.credits.UnpackError(ret); err == nil {
						reason = v
					}
				}
				t.Errorf("%s: refused with %T%+v, want ReentrancyGuardReentrantCall", re.name, reason, reason)
			}
		}
		if got := c.claimedBy(model, k.addr); got.Cmp(own.Amount) != 0 {
			t.Errorf("claimed(claimer) %s, want %s", got, own.Amount)
		}
		c.checkBooks(t, models...)

		honest(t, model, tree, es)
		honest(t, bystander, byTree, byEs)
		if got := c.view(c.credits.PackTotalClaimed(model), c.credits.UnpackTotalClaimed); got.Cmp(tree.Total()) != 0 {
			t.Errorf("totalClaimed %s after every owner claimed, want %s", got, tree.Total())
		}

		// A second claim pays nothing, whoever sends it.
		before = c.balance(k.addr)
		_, err = k.attack(claimOwn)
		if e, ok := asRevert[*bindings.TesseraCreditsNothingToClaim](err); !ok || e.AlreadyClaimed.Cmp(own.Amount) != 0 {
			t.Errorf("second claim by the claimer: %v, want NothingToClaim", err)
		}
		_, err = c.claim(c.stranger, model, own, proof)
		if _, ok := asRevert[*bindings.TesseraCreditsNothingToClaim](err); !ok {
			t.Errorf("second claim for the claimer: %v, want NothingToClaim", err)
		}
		if b := c.balance(k.addr); b.Cmp(before) != 0 {
			t.Errorf("a second claim moved the claimer's balance from %s to %s", before, b)
		}
		c.checkBooks(t, models...)
	})

	t.Run("ErrPaymentFailed", func(t *testing.T) {
		tree, es := earningsWith(t, k, 500, 100)
		setup(t, refusing, tree)
		own, proof := es[0], tree.ProofAt(0)
		k.arm(modeRefuse)
		before := c.balance(k.addr)

		_, err := c.claim(c.stranger, refusing, own, proof)
		if e, ok := asRevert[*bindings.TesseraCreditsPaymentFailed](err); !ok || e.Account != k.addr || e.Amount.Cmp(own.Amount) != 0 {
			t.Fatalf("claim for a refusing payee: %v, want PaymentFailed(claimer, %s)", err, own.Amount)
		}
		_, err = k.attack(c.credits.PackClaim(refusing, k.addr, own.Amount, proof))
		if _, ok := asRevert[*bindings.TesseraCreditsPaymentFailed](err); !ok {
			t.Fatalf("claim by a refusing payee: %v, want PaymentFailed", err)
		}
		if got := c.claimedBy(refusing, k.addr); got.Sign() != 0 {
			t.Errorf("claimed(claimer) %s after failed payments, want 0", got)
		}
		if got := c.view(c.credits.PackTotalClaimed(refusing), c.credits.UnpackTotalClaimed); got.Sign() != 0 {
			t.Errorf("totalClaimed %s after failed payments, want 0", got)
		}
		if b := c.balance(k.addr); b.Cmp(before) != 0 {
			t.Errorf("failed payments moved the claimer's balance from %s to %s", before, b)
		}
		c.checkBooks(t, models...)

		// Others are unaffected; the payee claims in full once it accepts.
		honest(t, refusing, tree, es)
		k.arm(modeReenter)
		if _, err := c.claim(c.stranger, refusing, own, proof); err != nil {
			t.Fatalf("claim once the payee accepts: %v", err)
		}
		if got := new(big.Int).Sub(c.balance(k.addr), before); got.Cmp(own.Amount) != 0 {
			t.Errorf("the payee gained %s wei, want %s", got, own.Amount)
		}
		if got := c.claimedBy(refusing, k.addr); got.Cmp(own.Amount) != 0 {
			t.Errorf("claimed(claimer) %s, want %s", got, own.Amount)
		}
		if got := c.view(c.credits.PackTotalClaimed(refusing), c.credits.UnpackTotalClaimed); got.Cmp(tree.Total()) != 0 {
			t.Errorf("totalClaimed %s after every owner claimed, want %s", got, tree.Total())
		}
		c.checkBooks(t, models...)
	})
}
