package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/flop"
)

// Helpers of the fault tests (churn_test.go, crash_test.go).

// sigkill kills p with SIGKILL, which it cannot catch, and waits for it
// to exit.
func (p *proc) sigkill() {
	p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err // for Cleanup
}

// fetchCredits returns GET /api/v1/credits/{model}: each contributor's
// balance by address. It returns an error rather than failing, for
// callers polling a hub that may be down.
func fetchCredits(base, model string) (map[string]ledger.Balance, error) {
	resp, err := http.Get(base + "/api/v1/credits/" + url.PathEscape(model))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET credits of %s: HTTP %s", model, resp.Status)
	}
	var doc struct {
		Balances []ledger.Balance `json:"balances"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode credits of %s: %w", model, err)
	}
	out := make(map[string]ledger.Balance, len(doc.Balances))
	for _, b := range doc.Balances {
		out[b.Address] = b
	}
	return out, nil
}

// fi returns a as an int64: the fault tests' credit stays far below 2^63.
func fi(a flop.Amount) int64 { return a.Big().Int64() }

// addFL returns a+b (far below 2^256 in these tests).
func addFL(a, b flop.Amount) flop.Amount {
	s, err := a.Add(b)
	if err != nil {
		panic(err) // programmer error: test amounts are small
	}
	return s
}

// openHubLedger opens the ledger of a stopped hub's data directory and
// checks its invariants (no (task, address) credited twice, balances
// summing to the verified rows).
func openHubLedger(tb testing.TB, data string) *ledger.Ledger {
	tb.Helper()
	l, err := ledger.Open(context.Background(), filepath.Join(data, "ledger.db"), ledger.Config{})
	if err != nil {
		tb.Fatalf("open the hub's ledger: %v", err)
	}
	if err := l.CheckInvariants(context.Background()); err != nil {
		l.Close()
		tb.Fatalf("ledger invariants: %v", err)
	}
	return l
}
