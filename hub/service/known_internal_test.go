package service

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/chain"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
)

// TestKnownModel checks the guard on revenue and deposits against a real
// job manager and SQLite ledger: a job's ID passes, its name is refused
// with the ID to use, and a model nobody knows is refused.
func TestKnownModel(t *testing.T) {
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	led, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	db, err := store.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := hub.DefaultConfig()
	cfg.DataDir, cfg.Matmul, cfg.Logger = dir, hub.MatmulConfig{}, quiet
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mgr := train.NewManager(h, db, train.ManagerConfig{DataDir: dir, Logger: quiet})
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer mgr.Wait()
	defer cancel()
	spec := train.MNISTSpec()
	spec.Name = "named-job"
	id, err := mgr.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Pause(ctx, id); err != nil {
		t.Fatal(err)
	}
	known := knownModel(mgr, led)
	if err := known(ctx, id); err != nil {
		t.Errorf("the job's ID: %v", err)
	}
	refused := func(model, want string) {
		t.Helper()
		if err := known(ctx, model); !errors.Is(err, chain.ErrUnknownModel) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ErrUnknownModel mentioning %q", model, err, want)
		}
	}
	refused("named-job", "its ID, "+id)
	refused("matmull", "could never reach an owner")
	refused("matmul", "could never reach an owner") // no credit in it yet
	twin, err := mgr.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Pause(ctx, twin); err != nil {
		t.Fatal(err)
	}
	refused("named-job", twin)
	// A ledger that cannot answer is the hub's error, not a refusal.
	led.Close()
	if err := known(ctx, "anything"); err == nil || errors.Is(err, chain.ErrUnknownModel) {
		t.Errorf("with the ledger closed: %v, want an error that is not ErrUnknownModel", err)
	}
}
