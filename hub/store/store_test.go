package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func openTemp(tb testing.TB) (*DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "hub.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}

func TestMigrationsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	if err := db.CreateJob(ctx, "j1", "one", `{}`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	again, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer again.Close()
	var mode string
	again.SQL().QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal mode %q, want wal", mode)
	}
	var fk int
	again.SQL().QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
	if fk != 1 {
		t.Error("foreign keys are off")
	}
	if j, err := again.Job(ctx, "j1"); err != nil || j.Name != "one" || j.State != StateRunning {
		t.Errorf("job after reopen: %+v, %v", j, err)
	}
}

func TestCheckpointStepsOnlyMoveForward(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	db.CreateJob(ctx, "j", "job", `{}`)
	if err := db.SetCheckpoint(ctx, "j", 50, "jobs/j/ckpt-50"); err != nil {
		t.Fatal(err)
	}
	for _, step := range []int{50, 20} {
		if err := db.SetCheckpoint(ctx, "j", step, "x"); !errors.Is(err, ErrStepNotAhead) {
			t.Errorf("checkpoint at step %d after 50: %v, want ErrStepNotAhead", step, err)
		}
	}
	j, _ := db.Job(ctx, "j")
	if j.Step != 50 || j.Checkpoint != "jobs/j/ckpt-50" {
		t.Errorf("job row %+v", j)
	}
	if err := db.SetCheckpoint(ctx, "nope", 1, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
}

func TestHistoryExposureAndCascade(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t)
	db.CreateJob(ctx, "j", "job", `{}`)
	now := time.Now()
	db.AddPoint(ctx, "j", Point{Step: 100, At: now, TestAccuracy: 0.5})
	db.AddPoint(ctx, "j", Point{Step: 200, At: now, TestAccuracy: 0.7})
	db.AddPoint(ctx, "j", Point{Step: 100, At: now, TestAccuracy: 0.6}) // re-run after a restart
	h, err := db.History(ctx, "j")
	if err != nil || len(h) != 2 || h[0].Step != 100 || h[0].TestAccuracy != 0.6 || h[1].Step != 200 {
		t.Errorf("history %+v, %v", h, err)
	}
	for _, tile := range []int{3, 1, 3} {
		if err := db.RecordExposure(ctx, "j", "0xa", tile); err != nil {
			t.Fatal(err)
		}
	}
	db.RecordExposure(ctx, "j", "0xb", 2)
	ex, _ := db.Exposure(ctx, "j")
	if len(ex["0xa"]) != 2 || ex["0xa"][0] != 1 || ex["0xa"][1] != 3 || len(ex["0xb"]) != 1 {
		t.Errorf("exposure %v", ex)
	}
	if err := db.RecordExposure(ctx, "missing", "0xa", 1); err == nil {
		t.Error("exposure of a missing job was accepted (foreign key)")
	}
	if err := db.DeleteJob(ctx, "j"); err != nil {
		t.Fatal(err)
	}
	if h, _ := db.History(ctx, "j"); len(h) != 0 {
		t.Errorf("history survived the job: %v", h)
	}
	if ex, _ := db.Exposure(ctx, "j"); len(ex) != 0 {
		t.Errorf("exposure survived the job: %v", ex)
	}
}
