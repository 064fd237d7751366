package chain

import (
	"errors"
	"testing"
	"time"
)

// TestCommitterStatus checks what the committer reports to the metrics:
// a failed round counts as a failure and leaves its epoch pending; a
// committer started later over the same ledger finishes that epoch and
// reports it committed, with the time the ledger recorded.
func TestCommitterStatus(t *testing.T) {
	e := newEnv(t)
	ctx := testContext(t)
	credit(t, e.ledger, "m", "t1", 3, 10)

	failing := e.committer(nil, crashBackend{e.client})
	stop := run(t, failing)
	if err := failing.CommitNow(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("commit through a failing backend: %v", err)
	}
	// Run's first round may have failed before the one CommitNow asked for.
	if st := failing.Status(); st.Failures < 1 || st.Pending != 1 || len(st.Committed) != 0 {
		t.Fatalf("after a failed round: %+v", st)
	}
	stop()

	start := time.Now()
	c := e.committer(nil, nil)
	run(t, c)
	if err := c.CommitNow(ctx); err != nil {
		t.Fatal(err)
	}
	st := c.Status()
	got, ok := st.Committed["m"]
	if st.Failures != 0 || st.Pending != 0 || !ok || got.Epoch != 1 || got.CommittedAt.Before(start.Add(-time.Second)) {
		t.Fatalf("after a successful round: %+v", st)
	}
	st.Committed["m"] = got // the copy is the caller's
	if c.Status().Committed["m"] != got {
		t.Fatal("Status shares its map with the committer")
	}
}
