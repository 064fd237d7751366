package ledger

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
)

// TestOperatorQueries checks the per-contributor and per-model sums the
// admin API shows, through an epoch and a ban's revoke: the revoke takes
// what is not in an epoch and spares what is.
func TestOperatorQueries(t *testing.T) {
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	must(t, l.Submit(
		Op{Kind: AddVerified, Task: "t1", Model: "m", Address: "0xa", Amount: 100},
		Op{Kind: AddVerified, Task: "t2", Model: "m", Address: "0xb", Amount: 40},
		Op{Kind: AddVerified, Task: "u1", Model: "n", Address: "0xa", Amount: 5},
	))
	commitEpoch(t, l, snapshot(t, l, "m"))
	must(t, l.Submit(
		Op{Kind: AddVerified, Task: "t3", Model: "m", Address: "0xa", Amount: 30},
		Op{Kind: AddPending, Task: "t4", Model: "m", Address: "0xa", Amount: 20},
		Op{Kind: AddPending, Task: "t5", Model: "m", Address: "0xb", Amount: 8},
		Op{Kind: Reject, Task: "t5", Address: "0xb", Reason: "wrong"},
	))

	t.Run("BeforeRevoke", func(t *testing.T) {
		got, err := l.ContributorCredits(ctx, "0xa")
		if err != nil {
			t.Fatal(err)
		}
		want := []ContributorCredit{
			{Address: "0xa", Model: "m", Verified: 130, Pending: 20, InEpoch: 100, Tasks: 3, ModelVerified: 170},
			{Address: "0xa", Model: "n", Verified: 5, Tasks: 1, ModelVerified: 5},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("0xa:\n got %+v\nwant %+v", got, want)
		}
		all, err := l.ContributorCredits(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || all[2] != (ContributorCredit{Address: "0xb", Model: "m", Verified: 40, Rejected: 8, InEpoch: 40, Tasks: 2, ModelVerified: 170}) {
			t.Errorf("everyone: %+v", all)
		}
		models, err := l.ModelCredits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantModels := []ModelCredit{
			{Model: "m", Verified: 170, Pending: 20, Rejected: 8, InEpoch: 140, Contributors: 2},
			{Model: "n", Verified: 5, Contributors: 1},
		}
		if !reflect.DeepEqual(models, wantModels) {
			t.Errorf("models:\n got %+v\nwant %+v", models, wantModels)
		}
	})

	t.Run("AfterRevoke", func(t *testing.T) {
		must(t, l.Submit(Op{Kind: Revoke, Address: "0xa", Reason: "banned"}))
		got, err := l.ContributorCredits(ctx, "0xa")
		if err != nil {
			t.Fatal(err)
		}
		want := []ContributorCredit{
			{Address: "0xa", Model: "m", Verified: 100, Rejected: 50, InEpoch: 100, Tasks: 3, ModelVerified: 140},
			{Address: "0xa", Model: "n", Rejected: 5, Tasks: 1},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("0xa after revoke:\n got %+v\nwant %+v", got, want)
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		got, err := l.ContributorCredits(ctx, "0xnobody")
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("unknown address: %v %v, want an empty list", got, err)
		}
	})
}
