package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestWriterGap: an operation after a quiet spell is committed in a
// batch of its own at once; operations arriving within Gap of that
// commit wait and share the next batch; with Gap negative each goes
// alone. Prepared statements survive batches (the ledger reads back every
// operation).
func TestWriterGap(t *testing.T) {
	for _, tc := range []struct {
		gap     time.Duration
		batches uint64 // after the three operations
	}{{300 * time.Millisecond, 2}, {-1, 3}} {
		t.Run(fmt.Sprint(tc.gap), func(t *testing.T) {
			l, err := Open(context.Background(), filepath.Join(t.TempDir(), "l.db"), Config{Gap: tc.gap})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			op := func(i int) Op {
				return Op{Kind: AddVerified, Task: fmt.Sprint("t", i), Model: "m", Address: "0x01", Amount: 1}
			}
			must(t, l.Submit(op(1)))
			if b, _, _ := l.Stats(); b != 1 {
				t.Fatalf("%d batches after the first operation, want 1", b)
			}
			second := l.Submit(op(2))
			time.Sleep(30 * time.Millisecond)
			must(t, l.Submit(op(3)))
			must(t, second)
			if b, ops, _ := l.Stats(); b != tc.batches || ops != 3 {
				t.Fatalf("%d batches of %d operations, want %d of 3", b, ops, tc.batches)
			}
			if got := balance(t, l, "m", "0x01"); got.Verified.String() != "3" {
				t.Fatalf("balance %+v, want 3 verified", got)
			}
		})
	}
}
