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
			{Address: "0xa", Model: "m", Verified: fl(130), Pending: fl(20), InEpoch: fl(100), Tasks: 3, ModelVerified: fl(170)},
			{Address: "0xa", Model: "n", Verified: fl(5), Tasks: 1, ModelVerified: fl(5)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("0xa:\n got %+v\nwant %+v", got, want)
		}
		all, err := l.ContributorCredits(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || all[2] != (ContributorCredit{Address: "0xb", Model: "m", Verified: fl(40), Rejected: fl(8), InEpoch: fl(40), Tasks: 2, ModelVerified: fl(170)}) {
			t.Errorf("everyone: %+v", all)
		}
		models, err := l.ModelCredits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantModels := []ModelCredit{
			{Model: "m", Verified: fl(170), Pending: fl(20), Rejected: fl(8), InEpoch: fl(140), Contributors: 2},
			{Model: "n", Verified: fl(5), Contributors: 1},
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
			{Address: "0xa", Model: "m", Verified: fl(100), Rejected: fl(50), InEpoch: fl(100), Tasks: 3, ModelVerified: fl(140)},
			{Address: "0xa", Model: "n", Rejected: fl(5), Tasks: 1},
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
