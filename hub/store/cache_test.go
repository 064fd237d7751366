package store

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// TestJobsCache: Jobs answers from its cache (it still answers once the
// file is closed), every kind of write is seen by the next read, a
// caller's changes to its slice do not reach the cache, and reads racing
// writes never leave stale rows behind.
func TestJobsCache(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	fresh := func() {
		t.Helper()
		got, err := db.Jobs(ctx)
		want, err2 := db.readJobs(ctx)
		if err != nil || err2 != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Jobs %+v (%v), table %+v (%v)", got, err, want, err2)
		}
	}
	fresh()
	db.CreateJob(ctx, "a", "one", `{}`)
	fresh()
	db.CreateJob(ctx, "b", "two", `{}`)
	fresh()
	db.SetCheckpoint(ctx, "a", 10, "ckpt-10")
	fresh()
	db.SetState(ctx, "b", StatePaused, "")
	fresh()
	js, _ := db.Jobs(ctx)
	js[0].Name = "changed"
	fresh()
	db.DeleteJob(ctx, "a")
	fresh()

	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				id := fmt.Sprint("w", w, "-", i)
				db.CreateJob(ctx, id, id, `{}`)
				db.SetCheckpoint(ctx, id, 1, "c")
				if i%3 == 0 {
					db.DeleteJob(ctx, id)
				}
			}
		})
		wg.Go(func() {
			for range 50 {
				if _, err := db.Jobs(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	fresh()

	cached, _ := db.Jobs(ctx)
	db.db.Close()
	again, err := db.Jobs(ctx)
	if err != nil || !reflect.DeepEqual(again, cached) {
		t.Fatalf("with the file closed: %v, %v; want the cached rows", again, err)
	}
	if err := db.SetState(ctx, "b", StateDone, ""); err == nil {
		t.Fatal("a write to a closed file succeeded")
	}
	if _, err := db.Jobs(ctx); err == nil {
		t.Fatal("a failed write left the cache in place")
	}
}
