package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tessera-ai/tessera/internal/flop"
)

func open(tb testing.TB, path string) *Ledger {
	tb.Helper()
	l, err := Open(context.Background(), path, Config{})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func must(tb testing.TB, ch <-chan error) {
	tb.Helper()
	if err := <-ch; err != nil {
		tb.Fatal(err)
	}
}

func balance(tb testing.TB, l *Ledger, model, addr string) Balance {
	tb.Helper()
	bs, err := l.Balances(context.Background(), model)
	if err != nil {
		tb.Fatal(err)
	}
	for _, b := range bs {
		if b.Address == addr {
			return b
		}
	}
	return Balance{Address: addr}
}

func TestCreditLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := open(t, path)
	must(t, l.Submit(
		Op{Kind: AddPending, Task: "t1", Model: "m", Address: "0xa", Amount: 100},
		Op{Kind: AddPending, Task: "t2", Model: "m", Address: "0xa", Amount: 50},
		Op{Kind: AddPending, Task: "t3", Model: "m", Address: "0xa", Amount: 7},
		Op{Kind: AddPending, Task: "t1", Model: "m", Address: "0xb", Amount: 100}, // a replica
	))
	must(t, l.Submit(
		Op{Kind: Verify, Task: "t1", Address: "0xa"},
		Op{Kind: Verify, Task: "t1", Address: "0xa"},                              // repeated: no effect
		Op{Kind: Reject, Task: "t1", Address: "0xa"},                              // after verify: no effect
		Op{Kind: AddPending, Task: "t1", Model: "m", Address: "0xa", Amount: 999}, // same task again: ignored
		Op{Kind: Reject, Task: "t1", Address: "0xb", Reason: "replica disagrees"},
	))
	if b := balance(t, l, "m", "0xa"); b.Verified != fl(100) || b.Pending != fl(57) || b.Rejected != fl(0) {
		t.Errorf("0xa after verify: %+v", b)
	}
	if b := balance(t, l, "m", "0xb"); b.Verified != fl(0) || b.Rejected != fl(100) {
		t.Errorf("0xb after reject: %+v", b)
	}
	// Caught cheating: every pending credit is lost, verified stays.
	must(t, l.Submit(Op{Kind: Void, Address: "0xa", Reason: "caught"}))
	if b := balance(t, l, "m", "0xa"); b.Verified != fl(100) || b.Pending != fl(0) || b.Rejected != fl(57) {
		t.Errorf("0xa after void: %+v", b)
	}
	ds, _ := l.Decisions(context.Background(), "0xa", 10)
	if len(ds) != 1 || ds[0].Kind != "voided" || ds[0].Reason != "caught" {
		t.Errorf("decisions of 0xa: %+v", ds)
	}
	must(t, l.Submit(Op{Kind: Standing, Address: "0xa", Strikes: 2, Banned: true}))
	// A ban revokes what is not yet committed, verified credit included.
	must(t, l.Submit(
		Op{Kind: AddVerified, Task: "t9", Model: "m", Address: "0xc", Amount: 5},
		Op{Kind: AddPending, Task: "t10", Model: "m", Address: "0xc", Amount: 6},
		Op{Kind: Revoke, Address: "0xc", Reason: "banned"},
	))
	if b := balance(t, l, "m", "0xc"); b.Verified != fl(0) || b.Pending != fl(0) || b.Rejected != fl(11) {
		t.Errorf("0xc after revoke: %+v", b)
	}
	if err := l.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
	// Everything acknowledged survives a reopen.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = open(t, path)
	defer l.Close()
	if b := balance(t, l, "m", "0xa"); b.Verified != fl(100) || b.Rejected != fl(57) {
		t.Errorf("after reopen: %+v", b)
	}
	if st, _ := l.Standings(context.Background()); !st["0xa"].Banned || st["0xa"].Strikes != 2 {
		t.Errorf("standing after reopen: %+v", st)
	}
}

func TestInvalidOpsAreRefusedAtOnce(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	for _, op := range []Op{
		{Kind: AddPending, Task: "t", Model: "m", Address: "0xa", Amount: -1},
		{Kind: AddPending, Task: "t", Address: "0xa"},
		{Kind: Verify, Address: "0xa"},
		{Kind: Verify, Task: "t"},
		{Kind: 99, Address: "0xa"},
	} {
		if err := <-l.Submit(op); err == nil {
			t.Errorf("%+v accepted", op)
		}
	}
	// The writer is unharmed.
	must(t, l.Submit(Op{Kind: AddPending, Task: "t", Model: "m", Address: "0xa", Amount: 1}))
}

// TestConcurrentWritersBatch hammers the ledger from many goroutines
// under -race; every acknowledged credit is there exactly once and the
// writer used far fewer commits than operations.
func TestConcurrentWritersBatch(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	const workers, each = 16, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := fmt.Sprintf("0x%02d", w)
			for i := range each {
				task := fmt.Sprintf("w%d-%d", w, i)
				done := l.Submit(Op{Kind: AddPending, Task: task, Model: "m", Address: addr, Amount: 3})
				if i%2 == 0 {
					done = l.Submit(Op{Kind: Verify, Task: task, Address: addr})
				}
				if err := <-done; err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	totals, _ := l.Totals(context.Background())
	if want := fl(uint64(workers * each / 2 * 3)); totals["m"] != want {
		t.Errorf("verified total %d, want %d", totals["m"], want)
	}
	if err := l.CheckInvariants(context.Background()); err != nil {
		t.Error(err)
	}
	batches, ops, _ := l.Stats()
	t.Logf("%d operations in %d commits", ops, batches)
	if batches >= ops/2 {
		t.Errorf("%d commits for %d operations: writes are not batched", batches, ops)
	}
}

// BenchmarkCreditEvents measures credit events per second into the
// ledger. "verified" events are credited verified at once (the common
// case: a result not sampled for replication); "pending-then-verified"
// events are a pending credit and, later, its verification.
func BenchmarkCreditEvents(b *testing.B) {
	for _, twoStep := range []bool{false, true} {
		name := "verified"
		if twoStep {
			name = "pending-then-verified"
		}
		b.Run(name, func(b *testing.B) {
			l := open(b, filepath.Join(b.TempDir(), "ledger.db"))
			defer l.Close()
			const chunk = 1000
			b.ResetTimer()
			var last <-chan error
			for i := 0; i < b.N; i += chunk {
				ops := make([]Op, 0, 2*chunk)
				for j := i; j < min(i+chunk, b.N); j++ {
					task := fmt.Sprintf("t%d", j)
					addr := fmt.Sprintf("0x%04d", j%1000)
					if twoStep {
						ops = append(ops, Op{Kind: AddPending, Task: task, Model: "m", Address: addr, Amount: 33554432},
							Op{Kind: Verify, Task: task, Address: addr})
					} else {
						ops = append(ops, Op{Kind: AddVerified, Task: task, Model: "m", Address: addr, Amount: 33554432})
					}
				}
				last = l.Submit(ops...)
			}
			if err := <-last; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "credits/s")
		})
	}
}

// fl is n FLOPs.
func fl(n uint64) flop.Amount { return flop.FromUint64(n) }
