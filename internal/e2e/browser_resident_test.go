package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestBrowserKeepsResidentWeights: the operator's own worker is a browser
// tab (the contributor page with the worker's key imported, computing on
// WebGPU), the only contributor of a job with resident weights. Once
// connected, the tab keeps the layers (Keep messages into the Go client's
// operand cache, compiled to WebAssembly), applies every update and hands
// the weights back at the evaluation steps; the job finishes with no
// result refused and no rollback.
func TestBrowserKeepsResidentWeights(t *testing.T) {
	chrome := findChromium(t)
	root := repoRoot(t)
	dist := ensureWasm(t, root)
	ensureBundle(t, root)

	worker, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := hub.DefaultConfig()
	cfg.DataDir, cfg.Web, cfg.Logger = dir, pageFS{dist: os.DirFS(dist)}, log
	cfg.Matmul.Shape = kernel.Shape{} // only the job's tiles
	cfg.Trusted = []string{worker.Address().Hex()}
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	mgr := train.NewManager(h, db, train.ManagerConfig{DataDir: dir, OwnWorkers: cfg.Trusted, Logger: log})
	mgr.Routes(h.Handle, "resident-test-admin-token-not-used-here")
	srv := httptest.NewServer(h.Handler())
	runDone := make(chan struct{})
	go func() { h.Run(ctx); close(runDone) }()
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); mgr.Wait(); <-runDone; srv.Close(); db.Close() })

	spec := train.MNISTSpec()
	spec.Name, spec.Model.Layers, spec.TileCols, spec.BatchSize = "browser-resident", []int{784, 32, 10}, 32, 32
	spec.MaxSteps, spec.EvalEvery, spec.CheckpointEvery, spec.TargetAccuracy = 20, 10, 10, 0
	id, err := mgr.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}

	p := openBrowser(t, chrome)
	p.open(srv.URL + "/")
	p.eval("type the worker's key", fmt.Sprintf(`(() => { document.getElementById("key-input").value = %q; return true; })()`, worker.Hex()), nil)
	p.do("import the key", 5*time.Second, chromedp.Click(chromedp.ID("key-import")))
	waitFor(t, 10*time.Second, "the worker's key in use", func() error {
		if got := p.text("key-address"); got != worker.Address().Hex() {
			return fmt.Errorf("page's address %q", got)
		}
		return nil
	})
	p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))
	var st train.JobStatus
	sawKept := false // the tab keeps the weights from the first step after it connects
	waitFor(t, 3*time.Minute, "the job done", func() error {
		for _, s := range mgr.Statuses() {
			if s.ID == id {
				st = s
				sawKept = sawKept || s.WeightsKept
			}
		}
		if st.State == store.StateFailed {
			t.Fatalf("job failed: %s", st.Error)
		}
		if st.State != store.StateDone {
			return fmt.Errorf("job %s at step %d", st.State, st.Step)
		}
		return nil
	})
	var stats struct {
		Backend  string
		Accepted int
	}
	p.eval("read stats", `tessera.stats()`, &stats)
	hs := h.Status()
	t.Logf("job done at step %d on %s in the tab: %d results accepted, %d rollbacks, %.1f MB per useful GFLOP",
		st.Step, stats.Backend, stats.Accepted, st.ResidentRollbacks, h.Wire(id).BytesPerGFLOP()/1e6)
	if st.Step != spec.MaxSteps || !sawKept || st.ResidentRollbacks != 0 || hs.TasksRejected != 0 || stats.Accepted == 0 {
		t.Errorf("job at step %d, weights kept while it ran %v, with %d rollbacks; hub refused %d results; the tab had %d accepted",
			st.Step, sawKept, st.ResidentRollbacks, hs.TasksRejected, stats.Accepted)
	}
	if stats.Backend != "webgpu" {
		t.Errorf("the tab computed on %q, want webgpu (lavapipe)", stats.Backend)
	}
	// The dashboard says who keeps the weights.
	p.do("open the dashboard", 20*time.Second, chromedp.Navigate(srv.URL+"/dashboard.html"))
	waitFor(t, 20*time.Second, "the dashboard names the resident weights", func() error {
		var text string
		p.eval("read the dashboard", `document.getElementById("dash-jobs").textContent`, &text)
		if !strings.Contains(text, "weights kept by the operator's own workers") {
			return fmt.Errorf("the jobs section reads %q", text)
		}
		return nil
	})
}
