package chain

import (
	"encoding/json"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tessera-ai/tessera/hub/ledger"
)

// TestCreditPast64Bits commits, on the embedded chain, an epoch where one
// contributor holds 2^64-1 FLOP (one below the 64-bit boundary), one
// exactly 2^64 and one 3·(2^63-1), and the model's total is past 2^65:
// the contract must hold the exact total, and every proof, served by the
// proof handler as a decimal string, must verify through the contract,
// while the amount one more or one less must not.
func TestCreditPast64Bits(t *testing.T) {
	e := newEnv(t)
	ctx := testContext(t)
	c := e.committer(nil, nil)
	run(t, c)
	const max = math.MaxInt64
	var ops []ledger.Op
	add := func(who int, task string, amount int64) {
		ops = append(ops, ledger.Op{Kind: ledger.AddVerified, Task: task, Model: "big", Address: contributor(who), Amount: amount})
	}
	add(0, "a", max)
	add(0, "b", max)
	add(0, "c", 1) // 2^64-1
	add(1, "a", max)
	add(1, "b", max)
	add(1, "c", 2) // 2^64
	add(2, "a", max)
	add(2, "b", max)
	add(2, "c", max) // 3·(2^63-1)
	add(3, "a", 5)
	if err := <-e.ledger.Submit(ops...); err != nil {
		t.Fatal(err)
	}
	if err := c.CommitNow(ctx); err != nil {
		t.Fatal(err)
	}
	le := e.checkEpoch(t, "big", 1) // every leaf verifies through the contract, amount+1 does not
	two64 := new(big.Int).Lsh(big.NewInt(1), 64)
	want := map[string]*big.Int{
		contributor(0): new(big.Int).Sub(two64, big.NewInt(1)),
		contributor(1): two64,
		contributor(2): new(big.Int).Mul(big.NewInt(max), big.NewInt(3)),
		contributor(3): big.NewInt(5),
	}
	total := new(big.Int)
	for _, v := range want {
		total.Add(total, v)
	}
	if le.Total.Big().Cmp(total) != 0 || e.view(t).info("big", 1).Total.Cmp(total) != 0 {
		t.Fatalf("ledger total %s, contract %s, want %s", le.Total, e.view(t).info("big", 1).Total, total)
	}

	srv := httptest.NewServer(ProofHandler(e.ledger, e.contract, e.node.ChainID()))
	defer srv.Close()
	for addr, amount := range want {
		resp, err := http.Get(srv.URL + "/api/v1/proof?model=big&address=" + addr)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var raw struct{ Amount, Total, Address string }
		var p Proof
		if err := json.Unmarshal(body, &raw); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", addr, resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if raw.Amount != amount.String() || raw.Total != total.String() || raw.Address != addr {
			t.Fatalf("%s: amount %q total %q address %q; want %s, %s", addr, raw.Amount, raw.Total, raw.Address, amount, total)
		}
		proof := make([][32]byte, len(p.Proof))
		for i := range p.Proof {
			copy(proof[i][:], p.Proof[i])
		}
		v := e.view(t)
		if !v.verify("big", 1, addr, amount, proof) {
			t.Fatalf("%s: the proof of %s does not verify through the contract", addr, amount)
		}
		for _, d := range []int64{-1, 1} {
			if v.verify("big", 1, addr, new(big.Int).Add(amount, big.NewInt(d)), proof) {
				t.Fatalf("%s: %s%+d verifies", addr, amount, d)
			}
		}
	}
}
