package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/backend"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/client/gpu"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// gpuOptionalEnv, set to 1, turns a missing WebGPU adapter (lavapipe on a
// CPU-only machine) into a skip.
const gpuOptionalEnv = "TESSERA_GPU_OPTIONAL"

// agreementPhases are the matmul jobs the hub runs one after the other,
// each for a number of tasks (each executed twice). Odd sizes reach every
// kernel's edge handling (partial tiles, M or N of 1, K smaller than a
// tile), the long K of some the largest rounding errors, and the default
// 128³ and a 256³ shape full tiles. Each job cycles through NN, NT and TN.
var agreementPhases = []struct {
	shape kernel.Shape
	tasks int64
}{
	{kernel.Shape{M: 67, K: 129, N: 45}, 300},
	{kernel.Shape{M: 1, K: 257, N: 7}, 150},
	{kernel.Shape{M: 9, K: 1000, N: 1}, 150},
	{kernel.Shape{M: 5, K: 3, N: 2}, 150},
	{kernel.Shape{M: 16, K: 4096, N: 16}, 90},
	{kernel.Shape{M: 64, K: 512, N: 64}, 90},
	{kernel.Shape{M: 128, K: 128, N: 128}, 90},
	{kernel.Shape{M: 256, K: 256, N: 256}, 30},
	{kernel.Shape{M: 33, K: 65, N: 17}, 1500},
}

const (
	// agreementMinEach is how many results each contributor must have
	// had verified.
	agreementMinEach = 100
	// agreementTimeout bounds the run once every contributor works.
	agreementTimeout = 180 * time.Second
)

// TestBackendsAgree runs honest contributors on the three backends
// against one real hub with default verification, except that every task
// is replicated: a native client on WebGPU (lavapipe here), a native client
// on the pure-Go CPU path and a headless Chromium tab on WebGPU
// (SwiftShader). Every task is executed by two of them on differently
// blinded inputs and the two results are compared with verify.Agree. Over
// a few thousand executions of tasks of odd shapes and all three ops there
// must be no refused result and no arbitration: honest backends never look
// like cheaters, to the Freivalds check or to each other.
func TestBackendsAgree(t *testing.T) {
	chrome := findChromium(t)
	dist := ensureWasm(t, repoRoot(t))
	lavapipe := openLavapipe(t)

	firsts := newErrorStats()
	cfg := hub.DefaultConfig()
	cfg.Name = "agreement-hub"
	cfg.DataDir = t.TempDir()
	cfg.Web = pageFS{dist: os.DirFS(dist)}
	cfg.Matmul = hub.MatmulConfig{} // the phases below are added once everyone is connected
	cfg.Verification.Warmup = 1_000_000
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, base := startAgreementHub(t, cfg)
	ws := "ws" + base[len("http"):] + "/ws"

	native := map[string]*client.Client{}
	natives := map[string]*errorStats{}
	for _, nd := range []struct {
		name string
		dev  device.Device
	}{
		{"lavapipe", lavapipe},
		{"cpu", device.CPU{}},
	} {
		natives[nd.name] = newErrorStats()
		native[nd.name] = startAgreementClient(t, ws, "tessera-e2e-"+nd.name,
			&measuredDevice{Device: nd.dev, stats: natives[nd.name]})
	}
	if info := lavapipe.Info(); info.Backend != "webgpu" {
		t.Fatalf("the native WebGPU device reports backend %q", info.Backend)
	}

	p := openBrowser(t, chrome)
	p.open(base + "/?slots=4")
	p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))
	waitFor(t, 30*time.Second, "all three contributors connected, the page on WebGPU", func() error {
		ps, err := p.read()
		if err != nil {
			return err
		}
		if ps.Stats.Backend != "" && ps.Stats.Backend != "webgpu" {
			t.Fatalf("the page runs on backend %q (fallback %q), want WebGPU\nbrowser console:\n%s", ps.Stats.Backend, ps.Fallback, p.Console())
		}
		if ps.Backend != "WebGPU" || ps.DataBackend != "webgpu" || ps.Stats.Backend != "webgpu" {
			return fmt.Errorf("page shows backend %q (data-backend %q, stats %q)", ps.Backend, ps.DataBackend, ps.Stats.Backend)
		}
		if n := h.Status().ContributorsConnected; n != 3 {
			return fmt.Errorf("%d of 3 contributors connected", n)
		}
		return nil
	})

	// Only now the work starts, so that from the first task on there is
	// always someone else to execute its replica.
	start := time.Now()
	var jobs []*hub.MatmulJob
	for i, ph := range agreementPhases {
		j, err := hub.NewMatmulJob(hub.MatmulConfig{
			Shape: ph.shape, Limit: ph.tasks, Seed: uint64(i + 1),
			OnDone: firsts.add,
		})
		if err != nil {
			t.Fatalf("matmul job %v: %v", ph.shape, err)
		}
		jobs = append(jobs, j)
		h.AddSource(j)
	}
	waitVerified(t, p, base, "webgpu")

	// Run until every task is done and its replica compared, failing at
	// once on a refused or arbitrated result.
	var total int64
	for _, ph := range agreementPhases {
		total += ph.tasks
	}
	var st hub.Status
	var distinct int64
	lastPage := time.Now()
	waitFor(t, agreementTimeout, "every task executed twice", func() error {
		if time.Since(lastPage) > time.Second {
			// A page whose client died may keep its connection, and its
			// leases until they expire: notice it now.
			lastPage = time.Now()
			if ps, err := p.read(); err != nil || ps.Stats.State != "working" || ps.Stats.Refused > 0 {
				t.Fatalf("the page stopped working (%v): %+v\nbrowser console:\n%s", err, ps, p.Console())
			}
		}
		st = h.Status()
		if st.TasksRejected > 0 || st.Arbitrations > 0 {
			t.Fatalf("honest backends were refused (%d) or arbitrated (%d):\n%s\nerrors of first results:\n%s\nnative lavapipe:\n%s\nnative cpu:\n%s",
				st.TasksRejected, st.Arbitrations, contributorRows(st), firsts, natives["lavapipe"], natives["cpu"])
		}
		distinct = 0
		for _, j := range jobs {
			distinct += j.Completed()
		}
		if distinct < total || st.TasksQueued > 0 || st.TasksInFlight > 0 {
			return fmt.Errorf("%d of %d tasks verified, %d executions, %d queued, %d in flight",
				distinct, total, st.TasksCompleted, st.TasksQueued, st.TasksInFlight)
		}
		return nil
	})
	elapsed := time.Since(start)
	ps, err := p.read()
	if err != nil {
		t.Fatalf("read the page: %v\nbrowser console:\n%s", err, p.Console())
	}
	// Hub-wide: nothing refused, nothing arbitrated, (almost) everything
	// executed twice and compared.
	if st.TasksRejected != 0 {
		t.Errorf("the hub rejected %d results", st.TasksRejected)
	}
	if st.Arbitrations != 0 {
		t.Errorf("the hub arbitrated %d times", st.Arbitrations)
	}
	// Each settled pair is one verified task counted twice in
	// TasksCompleted and once in the jobs' completions.
	pairs := int64(st.TasksCompleted) - distinct
	crossChecked := float64(pairs) / float64(distinct)
	if st.TasksReplicated == 0 || crossChecked < 0.99 {
		t.Errorf("%d tasks replicated, %d of %d verified tasks (%.1f%%) cross-checked: want nearly all",
			st.TasksReplicated, pairs, distinct, 100*crossChecked)
	}

	// Per contributor: the hub's view and the contributor's own.
	if len(st.Contributors) != 3 {
		t.Errorf("the hub lists %d contributors, want 3:\n%s", len(st.Contributors), contributorRows(st))
	}
	byAgent := map[string]hub.ContributorStatus{}
	for _, c := range st.Contributors {
		byAgent[c.Agent] = c
		if c.TasksRejected != 0 || c.ResultsRefused != 0 {
			t.Errorf("%s (%s on %s): %d rejected, %d refused; last: %s",
				c.Agent, c.Backend, c.Adapter, c.TasksRejected, c.ResultsRefused, c.LastRefusal)
		}
		if c.TasksCompleted <= agreementMinEach {
			t.Errorf("%s (%s) completed %d tasks, want more than %d", c.Agent, c.Backend, c.TasksCompleted, agreementMinEach)
		}
	}
	for _, want := range []struct{ agent, backend string }{
		{"tessera-e2e-lavapipe", "webgpu"},
		{"tessera-e2e-cpu", "cpu"},
		{browserAgent, "webgpu"},
	} {
		if c, ok := byAgent[want.agent]; !ok || c.Backend != want.backend {
			t.Errorf("contributor %s runs on %q, want %q", want.agent, c.Backend, want.backend)
		}
	}
	for name, c := range native {
		if s := c.Stats(); s.Refused != 0 || s.TasksDone == 0 {
			t.Errorf("native %s client: %d results sent, %d refused (last: %s)", name, s.TasksDone, s.Refused, s.LastRefusal)
		}
	}
	if ps.Stats.Refused != 0 || ps.Stats.Accepted == 0 || ps.Error != "" {
		t.Errorf("page: %d accepted, %d refused, error %q", ps.Stats.Accepted, ps.Stats.Refused, ps.Error)
	}

	for name, es := range map[string]*errorStats{"first results": firsts, "lavapipe": natives["lavapipe"], "cpu": natives["cpu"]} {
		if p := es.problems(); len(p) > 0 {
			t.Errorf("%s: %d results could not be measured: %v", name, len(p), p)
		}
	}
	t.Logf("%d executions verified in %v (%.0f/s): %d distinct tasks, %d cross-checked (%.1f%%), %d replicas leased, %d rejected, %d arbitrations",
		st.TasksCompleted, elapsed.Round(time.Millisecond), float64(st.TasksCompleted)/elapsed.Seconds(),
		distinct, pairs, 100*crossChecked, st.TasksReplicated, st.TasksRejected, st.Arbitrations)
	for _, c := range st.Contributors {
		t.Logf("  %-22s %-6s %-40q %-8s %5d completed, %d refused", c.Agent, c.Backend, c.Adapter, c.Variant, c.TasksCompleted, c.ResultsRefused)
	}
	t.Logf("  page: %d results sent, %d accepted, %d refused", ps.Stats.TasksDone, ps.Stats.Accepted, ps.Stats.Refused)
	for i, j := range jobs {
		t.Logf("  phase %d: %v, %d tasks verified", i+1, agreementPhases[i].shape, j.Completed())
	}
	t.Logf("largest errors against the exact product, as a fraction of the tolerance (see errorStats):\nfirst results of every task (all backends):\n%s\nnative lavapipe:\n%s\nnative cpu:\n%s",
		firsts, natives["lavapipe"], natives["cpu"])
}

// openLavapipe opens the native WebGPU device. Without an adapter the
// test fails, or skips when TESSERA_GPU_OPTIONAL=1.
func openLavapipe(tb testing.TB) device.Device {
	tb.Helper()
	dev, err := backend.Open(context.Background(), "webgpu", 0, slog.New(slog.DiscardHandler))
	if err != nil {
		if errors.Is(err, gpu.ErrNoAdapter) && os.Getenv(gpuOptionalEnv) == "1" {
			tb.Skipf("no WebGPU adapter (%s=1): %v", gpuOptionalEnv, err)
		}
		tb.Fatalf("%v (install mesa-vulkan-drivers and set VK_ICD_FILENAMES to lavapipe's ICD, or set %s=1)", err, gpuOptionalEnv)
	}
	tb.Cleanup(func() { dev.Close() })
	return dev
}

// startAgreementHub serves a hub for cfg on a loopback port until the test
// ends and returns it with its base URL.
func startAgreementHub(tb testing.TB, cfg hub.Config) (*hub.Hub, string) {
	tb.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		tb.Fatalf("hub.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h.Handler()}}
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("hub.Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Errorf("hub.Run did not return 10 s after its context ended")
		}
		srv.Close()
	})
	return h, srv.URL
}

// startAgreementClient runs an in-process contributor with a fresh key on
// dev until the test ends.
func startAgreementClient(tb testing.TB, ws, agent string, dev device.Device) *client.Client {
	tb.Helper()
	key, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device, cfg.Agent, cfg.Slots = ws, key, dev, agent, 4
	cfg.Logger = slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})).With("agent", agent)
	c, err := client.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("client %s: %v", agent, err)
		}
	})
	return c
}

func contributorRows(st hub.Status) string {
	var s string
	for _, c := range st.Contributors {
		s += fmt.Sprintf("  %s %s (%s, %s): %d completed, %d rejected, %d refused; last refusal: %s\n",
			c.Agent, c.Backend, c.Adapter, c.Variant, c.TasksCompleted, c.TasksRejected, c.ResultsRefused, c.LastRefusal)
	}
	return s
}
