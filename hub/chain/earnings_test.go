package chain

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum"
)

// countingBackend is the real client, counting the contract reads made
// through it.
type countingBackend struct {
	Backend
	calls atomic.Int64
}

func (c *countingBackend) CallContract(ctx context.Context, call ethereum.CallMsg, block *big.Int) ([]byte, error) {
	c.calls.Add(1)
	return c.Backend.CallContract(ctx, call, block)
}

// TestRevenueEarningsEndpoint: GET /api/v1/earnings reports, per model,
// what the owner is owed, was paid and can claim, and what the vault was
// given and holds, all in agreement with the chain after deposits and a
// claim; a repeated request in the same block reads only the owner's own
// figures (the vaults' totals are read once per block), and a new block
// is read afresh.
func TestRevenueEarningsEndpoint(t *testing.T) {
	e := newEnv(t)
	a := newRevenueRig(t, e, "earn-a")
	a.credit("t1", map[int]int64{0: 1, 1: 3})
	a.revenue(big.NewInt(4_000))
	a.deposit(big.NewInt(3_000))
	a.commit()
	b := newRevenueRig(t, e, "earn-b")
	b.credit("t1", map[int]int64{0: 1})
	b.revenue(big.NewInt(500))
	b.deposit(big.NewInt(500))
	b.commit()
	a.held0.Add(a.held0, b.deposits) // the contract's balance beside a's vault

	chainID, err := e.client.ChainID(a.ctx)
	if err != nil {
		t.Fatal(err)
	}
	backend := &countingBackend{Backend: e.client}
	p := NewPayouts(ProofHandler(e.ledger, e.contract, chainID), e.ledger, NewVault(backend, e.contract), e.key)
	mux := http.NewServeMux()
	p.Routes(func(pattern string, h http.Handler) { mux.Handle(pattern, h) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	earnings := func(i int) map[string]ModelEarnings {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/v1/earnings?address=" + contributor(i))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Models []ModelEarnings }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("earnings of %d: %d %v", i, resp.StatusCode, err)
		}
		out := map[string]ModelEarnings{}
		for _, m := range body.Models {
			out[m.Model] = m
		}
		return out
	}
	check := func(got ModelEarnings, owed, claimed, vault, deposited string) {
		t.Helper()
		want := ModelEarnings{Model: got.Model, Epoch: 1, OwedWei: owed, ClaimedWei: claimed, VaultWei: vault, DepositedWei: deposited}
		o, _ := new(big.Int).SetString(owed, 10)
		c, _ := new(big.Int).SetString(claimed, 10)
		want.ClaimableWei = o.Sub(o, c).String()
		if got != want {
			t.Fatalf("earnings %+v, want %+v", got, want)
		}
	}

	backend.calls.Store(0)
	got := earnings(0)
	check(got["earn-a"], "1000", "0", "3000", "3000")
	check(got["earn-b"], "500", "0", "500", "500")
	if n := backend.calls.Load(); n != 6 {
		t.Errorf("first request: %d contract reads, want 6 (per model: the owner's claimed, deposited, total claimed)", n)
	}
	backend.calls.Store(0)
	if again := earnings(0); again["earn-a"] != got["earn-a"] || again["earn-b"] != got["earn-b"] {
		t.Fatalf("same block, other answer: %+v then %+v", got, again)
	}
	if n := backend.calls.Load(); n != 2 {
		t.Errorf("same block: %d contract reads, want 2 (the owner's claimed per model)", n)
	}
	// Owner 1 (no share of earn-b) claims 3000 of earn-a: a new block, so
	// the vault's totals are read afresh, for both owners.
	if err := a.claim(1); err != nil {
		t.Fatal(err)
	}
	got = earnings(1)
	if _, ok := got["earn-b"]; ok || len(got) != 1 {
		t.Fatalf("owner 1 has a line for a model it has no share of: %+v", got)
	}
	check(got["earn-a"], "3000", "3000", "0", "3000")
	check(earnings(0)["earn-a"], "1000", "0", "0", "3000")
}
