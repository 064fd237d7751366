package ledger

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tessera-ai/tessera/internal/flop"
)

func snapshot(tb testing.TB, l *Ledger, model string) Snapshot {
	tb.Helper()
	s, err := l.Snapshot(context.Background(), model)
	if err != nil {
		tb.Fatalf("snapshot %s: %v", model, err)
	}
	return s
}

// commitEpoch prepares, sends and commits s as the committer would, with
// a made-up root, transaction and block.
func commitEpoch(tb testing.TB, l *Ledger, s Snapshot) {
	tb.Helper()
	ctx := context.Background()
	root := [32]byte{1, byte(s.Epoch), byte(s.Epoch >> 8)}
	tx := [32]byte{0xee, byte(s.Epoch), byte(s.Epoch >> 8)}
	if err := l.PrepareEpoch(ctx, s, root, root); err != nil {
		tb.Fatal(err)
	}
	if err := l.MarkSent(ctx, s.Model, s.Epoch, tx); err != nil {
		tb.Fatal(err)
	}
	if err := l.MarkCommitted(ctx, s.Model, s.Epoch, tx, 100+s.Epoch); err != nil {
		tb.Fatal(err)
	}
}

func TestEpochLifecycle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := open(t, path)
	if _, err := l.Snapshot(ctx, "m"); !errors.Is(err, ErrNoNewCredit) {
		t.Fatalf("snapshot of an empty model: %v, want ErrNoNewCredit", err)
	}
	must(t, l.Submit(
		Op{Kind: AddVerified, Task: "t1", Model: "m", Address: "0xa", Amount: 10},
		Op{Kind: AddVerified, Task: "t2", Model: "m", Address: "0xa", Amount: 5},
		Op{Kind: AddVerified, Task: "t1", Model: "m", Address: "0xb", Amount: 10},
		Op{Kind: AddPending, Task: "t3", Model: "m", Address: "0xb", Amount: 7},
		Op{Kind: AddVerified, Task: "t1", Model: "other", Address: "0xd", Amount: 1},
	))
	s := snapshot(t, l, "m")
	want := Snapshot{Model: "m", Epoch: 1, Leaves: []Leaf{{Address: "0xa", Amount: fl(15)}, {Address: "0xb", Amount: fl(10)}}, Total: fl(25)}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("snapshot %+v, want %+v", s, want)
	}

	t.Run("UnpreparedSnapshotIsRetaken", func(t *testing.T) {
		must(t, l.Submit(Op{Kind: Verify, Task: "t3", Address: "0xb"}))
		s = snapshot(t, l, "m")
		want := Snapshot{Model: "m", Epoch: 1, Leaves: []Leaf{{Address: "0xa", Amount: fl(15)}, {Address: "0xb", Amount: fl(17)}}, Total: fl(32)}
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("snapshot %+v, want %+v", s, want)
		}
	})
	t.Run("ErrEpochConflict", func(t *testing.T) {
		stale := s
		stale.Total = fl(25)
		stale.Leaves = []Leaf{{Address: "0xa", Amount: fl(15)}, {Address: "0xb", Amount: fl(10)}}
		if err := l.PrepareEpoch(ctx, stale, [32]byte{1}, [32]byte{3}); !errors.Is(err, ErrEpochConflict) {
			t.Fatalf("prepare a stale snapshot: %v, want ErrEpochConflict", err)
		}
		if err := l.PrepareEpoch(ctx, Snapshot{Model: "m", Epoch: 2, Leaves: s.Leaves, Total: s.Total}, [32]byte{1}, [32]byte{3}); !errors.Is(err, ErrEpochConflict) {
			t.Fatalf("prepare a skipped epoch: %v, want ErrEpochConflict", err)
		}
	})
	if err := l.PrepareEpoch(ctx, s, [32]byte{1}, [32]byte{3}); err != nil {
		t.Fatal(err)
	}
	t.Run("PrepareIsIdempotent", func(t *testing.T) {
		if err := l.PrepareEpoch(ctx, s, [32]byte{1}, [32]byte{3}); err != nil {
			t.Fatalf("prepare again: %v", err)
		}
		if err := l.PrepareEpoch(ctx, s, [32]byte{2}, [32]byte{3}); !errors.Is(err, ErrEpochConflict) {
			t.Fatalf("prepare again with another root: %v, want ErrEpochConflict", err)
		}
	})
	t.Run("ErrEpochOpen", func(t *testing.T) {
		must(t, l.Submit(Op{Kind: AddVerified, Task: "t4", Model: "m", Address: "0xc", Amount: 3}))
		if _, err := l.Snapshot(ctx, "m"); !errors.Is(err, ErrEpochOpen) {
			t.Fatalf("snapshot with epoch 1 open: %v, want ErrEpochOpen", err)
		}
		if _, ok, _ := l.LatestCommitted(ctx, "m"); ok {
			t.Fatal("an epoch is committed before any was")
		}
	})
	t.Run("RevokeSparesStampedCredit", func(t *testing.T) {
		must(t, l.Submit(
			Op{Kind: AddVerified, Task: "t5", Model: "m", Address: "0xa", Amount: 100},
			Op{Kind: Revoke, Address: "0xa", Reason: "banned"},
		))
		if b := balance(t, l, "m", "0xa"); b.Verified != fl(15) || b.Rejected != fl(100) {
			t.Fatalf("0xa after revoke: %+v, want 15 verified (in epoch 1), 100 rejected", b)
		}
	})

	if err := l.MarkSent(ctx, "m", 1, [32]byte{0xee}); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkCommitted(ctx, "m", 1, [32]byte{0xee}, 42); err != nil {
		t.Fatal(err)
	}
	t.Run("MarkCommittedIsIdempotent", func(t *testing.T) {
		if err := l.MarkCommitted(ctx, "m", 1, [32]byte{0xee}, 42); err != nil {
			t.Fatalf("mark committed again: %v", err)
		}
		if err := l.MarkCommitted(ctx, "m", 1, [32]byte{0xef}, 43); !errors.Is(err, ErrEpochConflict) {
			t.Fatalf("mark committed by another transaction: %v, want ErrEpochConflict", err)
		}
		if err := l.MarkSent(ctx, "m", 1, [32]byte{0xef}); !errors.Is(err, ErrEpochConflict) {
			t.Fatalf("mark a committed epoch sent: %v, want ErrEpochConflict", err)
		}
	})

	s2 := snapshot(t, l, "m")
	want2 := Snapshot{Model: "m", Epoch: 2, Leaves: []Leaf{{Address: "0xa", Amount: fl(15)}, {Address: "0xb", Amount: fl(17)}, {Address: "0xc", Amount: fl(3)}}, Total: fl(35)}
	if !reflect.DeepEqual(s2, want2) {
		t.Fatalf("epoch 2 %+v, want %+v (cumulative)", s2, want2)
	}
	commitEpoch(t, l, s2)
	if _, err := l.Snapshot(ctx, "m"); !errors.Is(err, ErrNoNewCredit) {
		t.Fatalf("snapshot with nothing new: %v, want ErrNoNewCredit", err)
	}
	if err := l.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()

	t.Run("SurvivesReopen", func(t *testing.T) {
		l := open(t, path)
		defer l.Close()
		e, ok, err := l.LatestCommitted(ctx, "m")
		if err != nil || !ok {
			t.Fatalf("latest committed: %v %v", ok, err)
		}
		if e.Epoch != 2 || e.Root != ([32]byte{1, 2}) || e.Total != fl(35) || e.Contributors != 3 || e.State != EpochCommitted ||
			e.TxHash != ([32]byte{0xee, 2}) || e.Block != 102 || e.PreparedAt.IsZero() || e.SentAt.IsZero() || e.CommittedAt.IsZero() {
			t.Fatalf("latest committed: %+v", e)
		}
		leaves, err := l.Leaves(ctx, "m", 1)
		if err != nil || !reflect.DeepEqual(leaves, s.Leaves) {
			t.Fatalf("epoch 1 leaves %v (%v), want %v", leaves, err, s.Leaves)
		}
		if _, err := l.Leaves(ctx, "m", 3); !errors.Is(err, ErrNoEpoch) {
			t.Fatalf("leaves of epoch 3: %v, want ErrNoEpoch", err)
		}
		es, err := l.Epochs(ctx, "m", 0)
		if err != nil || len(es) != 2 || es[0].Epoch != 2 || es[1].Epoch != 1 {
			t.Fatalf("epochs %+v (%v)", es, err)
		}
		models, err := l.EpochModels(ctx)
		if err != nil || !reflect.DeepEqual(models, []string{"m", "other"}) {
			t.Fatalf("models %v (%v)", models, err)
		}
	})
}

// TestSnapshotOrderedWithWriter hammers the writer while snapshots are
// taken: every verified credit lands in exactly one epoch, and each
// epoch's total is the sum of the credit stamped up to it.
func TestSnapshotOrderedWithWriter(t *testing.T) {
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	const n = 2000
	done := make(chan error, 1)
	go func() {
		for i := range n {
			ch := l.Submit(Op{Kind: AddVerified, Task: fmt.Sprint("t", i), Model: "m", Address: fmt.Sprint("0x", i%7), Amount: 1})
			if i%50 == 49 { // let snapshots in between batches
				if err := <-ch; err != nil {
					done <- err
					return
				}
			}
		}
		done <- l.Flush(ctx)
	}()
	var prev flop.Amount
	epoch := uint64(0)
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		s, err := l.Snapshot(ctx, "m")
		if errors.Is(err, ErrNoNewCredit) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.Epoch != epoch+1 || s.Total.Cmp(prev) < 0 {
			t.Fatalf("epoch %d total %s after epoch %d total %s", s.Epoch, s.Total, epoch, prev)
		}
		commitEpoch(t, l, s)
		epoch, prev = s.Epoch, s.Total
	}
	if s, err := l.Snapshot(ctx, "m"); err == nil {
		commitEpoch(t, l, s)
		prev = s.Total
	} else if !errors.Is(err, ErrNoNewCredit) {
		t.Fatal(err)
	}
	if prev != fl(uint64(n)) {
		t.Fatalf("last epoch total %d, want %d", prev, n)
	}
	t.Logf("%d epochs", epoch)
}
