package chain

import (
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRevenueRelayMinimum relays claims through POST /api/v1/claim with a
// relay minimum: a claim worth less is refused with 409 and a clear
// reason, and nothing is sent or paid (the owner can still claim it
// later or through its own node); a claim worth more is relayed and paid
// exactly; once paid, a second request sends nothing more.
func TestRevenueRelayMinimum(t *testing.T) {
	e := newEnv(t)
	r := newRevenueRig(t, e, "relay-model")
	r.credit("t1", map[int]int64{0: 1, 1: 999})
	r.revenue(big.NewInt(1_000_000))
	r.deposit(big.NewInt(1_000_000))
	r.commit()

	chainID, err := e.client.ChainID(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// serve returns the URL of payout endpoints relaying claims of min
	// wei or more.
	serve := func(min *big.Int) string {
		p := NewPayouts(ProofHandler(e.ledger, e.contract, chainID), e.ledger, r.vault, e.key)
		p.RelayMinWei = min
		mux := http.NewServeMux()
		p.Routes(func(pattern string, h http.Handler) { mux.Handle(pattern, h) })
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	url := serve(big.NewInt(10_000))
	relay := func(i int) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(url+"/api/v1/claim", "application/json",
			strings.NewReader(`{"model": "relay-model", "address": "`+contributor(i)+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	// Owner 0 is owed 1,000 wei: below the minimum.
	before := r.balance(e.contract)
	code, out := relay(0)
	if msg, _ := out["error"].(string); code != http.StatusConflict || !strings.Contains(msg, "10000 wei") || !strings.Contains(msg, "--chain-rpc") {
		t.Fatalf("small claim: %d %v, want 409 naming the minimum and the own-node way", code, out)
	}
	if after := r.balance(e.contract); after.Cmp(before) != 0 {
		t.Fatalf("the vault paid %s for a refused relay", new(big.Int).Sub(before, after))
	}
	// Owner 1 is owed 999,000 wei: relayed and paid.
	code, out = relay(1)
	if code != http.StatusOK || out["paid_wei"] != "999000" {
		t.Fatalf("large claim: %d %v, want 200 paying 999000", code, out)
	}
	if code, out = relay(1); code != http.StatusConflict {
		t.Fatalf("second claim: %d %v, want 409", code, out)
	}
	// Without a minimum the small claim is relayed too.
	url = serve(nil)
	if code, out = relay(0); code != http.StatusOK || out["paid_wei"] != "1000" {
		t.Fatalf("small claim without a minimum: %d %v", code, out)
	}
}
