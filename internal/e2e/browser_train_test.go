package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestBrowserShowsTraining runs a small MNIST job on a real hub, with the
// training manager and SQLite store wired as hub/service does, an
// in-process CPU contributor (one of the operator's own workers) and the
// browser contributing beside it. The page's Training section must show
// the job by name, with a step count that grows and the exposure cap.
func TestBrowserShowsTraining(t *testing.T) {
	chrome := findChromium(t)
	spec := train.MNISTSpec()
	spec.Name = "browser-test-mlp"
	spec.Model.Layers = []int{784, 32, 10}
	spec.TileCols = 16
	spec.MaxSteps = 1_000_000
	spec.EvalEvery = 20
	spec.CheckpointEvery = 1000
	spec.ExposureCap = 0.6 // one of the two 784×16 tiles (49% of the weights) may go to the browser
	base, id := startTrainingHub(t, pageFS{dist: os.DirFS(ensureWasm(t, repoRoot(t)))}, spec)

	p := openBrowser(t, chrome)
	p.open(base + "/")
	p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))

	var first jobCard
	waitFor(t, 30*time.Second, "page shows the training job", func() error {
		job, err := readJob(p, id)
		if err != nil {
			return err
		}
		if job.Name != spec.Name || job.State != "Running" || stepOf(job) < 1 {
			return fmt.Errorf("page shows job %+v", job)
		}
		first = job
		return nil
	})
	if want := " of 1,000,000 "; !strings.Contains(first.Steps, want) || first.BarMax != float64(spec.MaxSteps) {
		t.Errorf("page shows steps %q with a bar to %v, want %q of max_steps %d", first.Steps, first.BarMax, want, spec.MaxSteps)
	}
	if !strings.Contains(first.Exposure, "(cap 60%)") {
		t.Errorf("page shows exposure %q, want the 60%% cap", first.Exposure)
	}
	var last jobCard
	waitFor(t, 30*time.Second, "page's step count grows and shows an evaluation", func() error {
		job, err := readJob(p, id)
		if err != nil {
			return err
		}
		last = job
		if stepOf(job) <= stepOf(first) || job.Bar <= first.Bar {
			return fmt.Errorf("page shows step %q (bar %v), first %q", job.Steps, job.Bar, first.Steps)
		}
		if !strings.Contains(job.Accuracy, "% at step") || job.Loss == "–" || !strings.HasSuffix(job.Speed, "ms") {
			return fmt.Errorf("page shows accuracy %q, loss %q, speed %q", job.Accuracy, job.Loss, job.Speed)
		}
		return nil
	})
	if api := getJobs(t, base); len(api) != 1 || api[0].Step < stepOf(last) {
		t.Errorf("page shows step %d, ahead of the API: %+v", stepOf(last), api)
	}
	ps, err := p.read()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ps.Training, spec.Name) || ps.Error != "" {
		t.Errorf("status line %q, error %q", ps.Training, ps.Error)
	}
	t.Logf("page: %s %s, steps %s, accuracy %s, loss %s, %s per step, exposure %s",
		last.Name, last.State, last.Steps, last.Accuracy, last.Loss, last.Speed, last.Exposure)

	// The browser does some of the job's tiles, within the exposure cap.
	row := waitVerified(t, p, base, "webgpu")
	t.Logf("hub: browser contributor verified %d tasks", row.TasksCompleted)
}

// TestBrowserTrainingUnavailable serves a jobs API that fails: the page's
// Training section says so in words, and the rest of the page still works
// (here it reports, as it should, that the client is not built).
func TestBrowserTrainingUnavailable(t *testing.T) {
	chrome := findChromium(t)
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Web = pageFS{dist: fstest.MapFS{"README.md": {Data: []byte("not built")}}}
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatalf("hub.New: %v", err)
	}
	h.Handle("GET /api/v1/jobs", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database is locked", http.StatusServiceUnavailable)
	}))
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)

	p := openBrowser(t, chrome)
	p.do("load the page", 20*time.Second, chromedp.Navigate(srv.URL+"/"))
	waitFor(t, 10*time.Second, "page says training progress is unavailable", func() error {
		ps, err := p.read()
		if err != nil {
			return err
		}
		if !strings.Contains(ps.Training, "Could not read training progress") || !strings.Contains(ps.Training, "HTTP 503") ||
			len(ps.Jobs) != 0 || !strings.Contains(ps.Error, "make wasm") {
			return fmt.Errorf("training status %q, %d jobs, error %q", ps.Training, len(ps.Jobs), ps.Error)
		}
		return nil
	})
}

// readJob returns the page's card for job id.
func readJob(p *page, id string) (jobCard, error) {
	ps, err := p.read()
	if err != nil {
		return jobCard{}, err
	}
	for _, j := range ps.Jobs {
		if j.ID == id {
			return j, nil
		}
	}
	return jobCard{}, fmt.Errorf("job %s not on the page (status line %q, %d jobs, error %q)", id, ps.Training, len(ps.Jobs), ps.Error)
}

var leadingCount = regexp.MustCompile(`^[0-9][0-9,]*`)

// stepOf parses the step count from a card's "1,234 of 3,000 (0.1%)".
func stepOf(j jobCard) int {
	n, err := strconv.Atoi(strings.ReplaceAll(leadingCount.FindString(j.Steps), ",", ""))
	if err != nil {
		return -1
	}
	return n
}

// startTrainingHub runs a real hub on loopback with training jobs, wired
// as hub/service wires them (SQLite store, train.Manager and its routes),
// creates a job from spec and connects an in-process CPU contributor that
// is exempt from the exposure cap, so that the job advances whatever the
// browser may take. It returns the base URL and the job's ID; everything
// stops with the test.
func startTrainingHub(tb testing.TB, web pageFS, spec train.Spec) (string, string) {
	tb.Helper()
	dir := tb.TempDir()
	log := slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := hub.DefaultConfig()
	cfg.DataDir = dir
	cfg.Web = web
	cfg.Matmul.Shape = kernel.Shape{} // only the job's tiles
	cfg.Logger = log
	h, err := hub.New(cfg)
	if err != nil {
		tb.Fatalf("hub.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stops []func() // run in reverse at cleanup
	tb.Cleanup(func() {
		cancel()
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	})
	db, err := store.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		tb.Fatalf("open the store: %v", err)
	}
	stops = append(stops, func() { db.Close() })
	worker, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	mgr := train.NewManager(h, db, train.ManagerConfig{
		DataDir: dir, OwnWorkers: []string{worker.Address().Hex()}, Logger: log,
	})
	mgr.Routes(h.Handle, "browser-test-admin-token-not-used-by-this-test")
	srv := httptest.NewServer(h.Handler())
	stops = append(stops, srv.Close)
	runDone := make(chan error, 1)
	go func() { runDone <- h.Run(ctx) }()
	stops = append(stops, func() {
		select {
		case err := <-runDone:
			if err != nil {
				tb.Errorf("hub.Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Errorf("hub.Run did not return 10 s after its context ended")
		}
	})
	if err := mgr.Start(ctx); err != nil {
		tb.Fatalf("start the training manager: %v", err)
	}
	stops = append(stops, mgr.Wait)
	id, err := mgr.Create(ctx, spec)
	if err != nil {
		tb.Fatalf("create the job: %v", err)
	}

	ccfg := client.DefaultConfig()
	ccfg.HubURL = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	ccfg.Key, ccfg.Device, ccfg.Logger = worker, device.CPU{}, log
	c, err := client.New(ccfg)
	if err != nil {
		tb.Fatalf("client.New: %v", err)
	}
	clientDone := make(chan struct{})
	go func() { c.Run(ctx); close(clientDone) }()
	stops = append(stops, func() { <-clientDone })
	return srv.URL, id
}
