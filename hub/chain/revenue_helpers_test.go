package chain

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/flop"
)

// splitModel is the tests' own account of the revenue split, written
// apart from the ledger's: per epoch, pool = revenue + carry; each owner
// earns floor(pool · credit / total credit); what is left carries.
type splitModel struct {
	credit, earned map[string]*big.Int
	carry, revenue *big.Int
}

func newSplitModel() *splitModel {
	return &splitModel{credit: map[string]*big.Int{}, earned: map[string]*big.Int{}, carry: new(big.Int), revenue: new(big.Int)}
}

func (m *splitModel) addCredit(addr string, n int64) {
	if m.credit[addr] == nil {
		m.credit[addr], m.earned[addr] = new(big.Int), new(big.Int)
	}
	m.credit[addr].Add(m.credit[addr], big.NewInt(n))
}

func (m *splitModel) epoch(revenue *big.Int) {
	m.revenue.Add(m.revenue, revenue)
	total := new(big.Int)
	for _, c := range m.credit {
		total.Add(total, c)
	}
	pool := new(big.Int).Add(revenue, m.carry)
	m.carry = new(big.Int).Set(pool)
	if total.Sign() == 0 {
		return
	}
	for a, c := range m.credit {
		share := new(big.Int).Mul(pool, c)
		share.Div(share, total)
		m.earned[a].Add(m.earned[a], share)
		m.carry.Sub(m.carry, share)
	}
}

// revenueRig drives one model's credit, revenue, epochs, deposits and
// claims on an env, tracking what every owner must be paid.
type revenueRig struct {
	t      *testing.T
	e      *env
	ctx    context.Context
	c      *Committer
	vault  *Vault
	proofs string // the proof endpoint's URL
	model  string
	split  *splitModel
	// pending is the revenue recorded since the latest epoch.
	pending *big.Int
	epochs  uint64
	// paid per owner and in all, deposited: what the contract must show.
	paid              map[string]*big.Int
	paidAll, deposits *big.Int
	// outcomes counts claims by outcome: paid, nothing, short.
	outcomes map[string]int
	// held0 is the contract's balance when the rig started (other
	// models' vaults).
	held0 *big.Int
}

func newRevenueRig(t *testing.T, e *env, model string) *revenueRig {
	t.Helper()
	ctx := testContext(t)
	chainID, err := e.client.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ProofHandler(e.ledger, e.contract, chainID))
	t.Cleanup(srv.Close)
	r := &revenueRig{
		t: t, e: e, ctx: ctx, c: e.committer(nil, nil), vault: NewVault(e.client, e.contract), proofs: srv.URL, model: model,
		split: newSplitModel(), pending: new(big.Int), paid: map[string]*big.Int{}, outcomes: map[string]int{}, paidAll: new(big.Int), deposits: new(big.Int),
	}
	r.vault.Poll = 10 * time.Millisecond
	r.held0 = r.balance(e.contract)
	run(t, r.c)
	if err := r.c.CommitNow(ctx); err != nil { // the first round (reconciliation) is over: rounds now come only on CommitNow
		t.Fatal(err)
	}
	return r
}

// credit adds verified credit to owners (contributor(i)).
func (r *revenueRig) credit(task string, amounts map[int]int64) {
	r.t.Helper()
	var ops []ledger.Op
	for i, n := range amounts {
		ops = append(ops, ledger.Op{Kind: ledger.AddVerified, Task: r.model + "/" + task, Model: r.model, Address: contributor(i), Amount: n})
		r.split.addCredit(contributor(i), n)
	}
	if err := <-r.e.ledger.Submit(ops...); err != nil {
		r.t.Fatal(err)
	}
}

// revenue records wei of revenue for the next epoch.
func (r *revenueRig) revenue(wei *big.Int) {
	r.t.Helper()
	w, err := flop.FromBig(wei)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.e.ledger.RecordRevenue(r.ctx, r.model, w, "test"); err != nil {
		r.t.Fatal(err)
	}
	r.pending.Add(r.pending, wei)
}

// commit commits the next epoch (there must be something new) and checks
// the ledger's earnings and dust against the split model.
func (r *revenueRig) commit() {
	r.t.Helper()
	if err := r.c.CommitNow(r.ctx); err != nil {
		r.t.Fatal(err)
	}
	r.epochs++
	r.split.epoch(r.pending)
	r.pending = new(big.Int)
	le, ok, err := r.e.ledger.LatestCommitted(r.ctx, r.model)
	if err != nil || !ok || le.Epoch != r.epochs {
		r.t.Fatalf("latest committed epoch %+v (%v %v), want %d", le, ok, err, r.epochs)
	}
	if le.Dust.Big().Cmp(r.split.carry) != 0 {
		r.t.Fatalf("epoch %d: dust %s, the model's %s", le.Epoch, le.Dust, r.split.carry)
	}
	v := r.e.view(r.t)
	root, err := bind.Call(v.instance, &bind.CallOpts{Context: r.ctx}, v.credits.PackEarningsRoot(ModelID(r.model), le.Epoch), v.credits.UnpackEarningsRoot)
	if err != nil || root != le.EarningsRoot {
		r.t.Fatalf("contract's earnings root %x (%v), ledger's %x", root, err, le.EarningsRoot)
	}
}

// deposit sends wei to the model's vault from the env's key.
func (r *revenueRig) deposit(wei *big.Int) {
	r.t.Helper()
	if _, err := r.vault.Deposit(r.ctx, r.e.key, ModelID(r.model), wei); err != nil {
		r.t.Fatal(err)
	}
	r.deposits.Add(r.deposits, wei)
	r.checkVault()
}

// proof fetches owner i's earnings proof from the proof endpoint.
func (r *revenueRig) proof(i int) EarningsProof {
	r.t.Helper()
	q := url.Values{"model": {r.model}, "address": {contributor(i)}, "kind": {KindEarnings}}
	resp, err := http.Get(r.proofs + "?" + q.Encode())
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var p EarningsProof
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != http.StatusOK {
		r.t.Fatalf("earnings proof of %d: status %d, %v", i, resp.StatusCode, err)
	}
	if !p.Latest || p.Epoch != r.epochs || p.Contract.Common() != r.e.contract {
		r.t.Fatalf("earnings proof %+v: want the latest epoch %d of contract %s", p, r.epochs, r.e.contract)
	}
	return p
}

// owed is what owner i is owed now: the model's earnings minus paid.
func (r *revenueRig) owed(i int) *big.Int {
	a := contributor(i)
	owed := new(big.Int).Set(r.split.earned[a])
	if p := r.paid[a]; p != nil {
		owed.Sub(owed, p)
	}
	return owed
}

// claim claims owner i's earnings with their served proof, relayed from
// the env's key, and checks the outcome against the model: paid exactly
// what is owed, or ErrNothingToClaim when nothing is, or ErrVaultShort
// when the vault holds less. It returns the error of a refused claim.
func (r *revenueRig) claim(i int) error {
	r.t.Helper()
	c, err := ClaimOf(r.proof(i))
	if err != nil {
		r.t.Fatal(err)
	}
	if c.Cumulative.Cmp(r.split.earned[contributor(i)]) != 0 {
		r.t.Fatalf("owner %d's served cumulative earnings %s, the model's %s", i, c.Cumulative, r.split.earned[contributor(i)])
	}
	owed, available := r.owed(i), new(big.Int).Sub(r.deposits, r.paidAll)
	if got, err := r.vault.Claimable(r.ctx, c); err != nil || got.Cmp(owed) != 0 {
		r.t.Fatalf("claimable for %d: %v (%v), want %s", i, got, err, owed)
	}
	before := r.balance(c.Account)
	paid, _, err := r.vault.Claim(r.ctx, r.e.key, c)
	switch {
	case owed.Sign() == 0:
		r.outcomes["nothing"]++
		if !errors.Is(err, ErrNothingToClaim) {
			r.t.Fatalf("claim of owner %d with nothing owed: %v, want ErrNothingToClaim", i, err)
		}
	case owed.Cmp(available) > 0:
		r.outcomes["short"]++
		if !errors.Is(err, ErrVaultShort) {
			r.t.Fatalf("claim of owner %d owed %s with %s available: %v, want ErrVaultShort", i, owed, available, err)
		}
	case err != nil:
		r.t.Fatalf("claim of owner %d: %v", i, err)
	case paid.Cmp(owed) != 0:
		r.t.Fatalf("owner %d paid %s, owed %s", i, paid, owed)
	default:
		r.outcomes["paid"]++
		if r.paid[c.Account.Hex()] == nil {
			r.paid[c.Account.Hex()] = new(big.Int)
		}
		r.paid[c.Account.Hex()].Add(r.paid[c.Account.Hex()], paid)
		r.paidAll.Add(r.paidAll, paid)
	}
	want := new(big.Int).Add(before, owed)
	if err != nil {
		want = before
	}
	if got := r.balance(c.Account); got.Cmp(want) != 0 {
		r.t.Fatalf("owner %d's balance %s after the claim, want %s", i, got, want)
	}
	r.checkVault()
	return err
}

func (r *revenueRig) balance(a common.Address) *big.Int {
	r.t.Helper()
	b, err := r.e.client.BalanceAt(r.ctx, a, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// checkVault checks the contract's books against the rig's, and that the
// vault never paid out more than was deposited.
func (r *revenueRig) checkVault() {
	r.t.Helper()
	id := ModelID(r.model)
	d, err1 := r.vault.Deposited(r.ctx, id)
	c, err2 := r.vault.TotalClaimed(r.ctx, id)
	if err := errors.Join(err1, err2); err != nil {
		r.t.Fatal(err)
	}
	if d.Cmp(r.deposits) != 0 || c.Cmp(r.paidAll) != 0 || c.Cmp(d) > 0 {
		r.t.Fatalf("vault: deposited %s, claimed %s; want %s and %s, claimed ≤ deposited", d, c, r.deposits, r.paidAll)
	}
	held := new(big.Int).Sub(r.balance(r.e.contract), r.held0)
	if want := new(big.Int).Sub(d, c); held.Cmp(want) != 0 {
		r.t.Fatalf("the contract holds %s wei for the model, want deposited − claimed = %s", held, want)
	}
}

// settle deposits whatever revenue is not yet deposited and has every
// owner claim, then checks each was paid exactly their cumulative
// earnings per the model.
func (r *revenueRig) settle(owners int) {
	r.t.Helper()
	if short := new(big.Int).Sub(r.split.revenue, r.deposits); short.Sign() > 0 {
		r.deposit(short)
	}
	for i := range owners {
		if r.split.earned[contributor(i)] == nil {
			continue // never an owner
		}
		if err := r.claim(i); err != nil && !errors.Is(err, ErrNothingToClaim) {
			r.t.Fatal(err)
		}
	}
	for i := range owners {
		a := contributor(i)
		if r.split.earned[a] == nil {
			continue
		}
		paid, err := r.vault.Claimed(r.ctx, ModelID(r.model), common.HexToAddress(a))
		if err != nil || paid.Cmp(r.split.earned[a]) != 0 {
			r.t.Fatalf("owner %d: the contract paid %v (%v), the model says %s", i, paid, err, r.split.earned[a])
		}
	}
	if left := new(big.Int).Sub(r.deposits, r.paidAll); left.Cmp(r.split.carry) != 0 && r.deposits.Cmp(r.split.revenue) == 0 {
		r.t.Fatalf("the vault keeps %s, want the dust %s", left, r.split.carry)
	}
}

func ether(n int64, plus int64) *big.Int {
	w := new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18))
	return w.Add(w, big.NewInt(plus))
}
