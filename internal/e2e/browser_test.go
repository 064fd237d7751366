// Package e2e holds end-to-end tests that run Tessera's real parts
// together: a real hub on loopback and real contributors.
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tessera-ai/tessera/hub"
)

// browserAgent is the agent the browser client sends (wasm/bridge.go).
const browserAgent = "tessera-browser/0.1"

// wantTasks is how many verified tasks the browser must complete.
const wantTasks = 3

// TestBrowserContributes serves the contributor page from a real hub,
// clicks Contribute in headless Chromium (WebGPU on SwiftShader) and waits
// until the browser has completed tasks that passed the hub's Freivalds
// check, on the WebGPU backend rather than the CPU fallback. It then stops
// from the keyboard.
func TestBrowserContributes(t *testing.T) {
	chrome := findChromium(t)
	base := startHub(t, pageFS{dist: os.DirFS(ensureWasm(t, repoRoot(t)))})
	p := openBrowser(t, chrome)
	p.open(base + "/")
	// The hub sent the gzipped client (tessera.wasm.gz, which ensureWasm
	// writes as `make wasm` does).
	if enc, dec, err := p.wasmTransfer(); err != nil || enc <= 0 || enc > dec/2 {
		t.Errorf("the client came as %.0f bytes for %.0f (%v), want it gzipped", enc, dec, err)
	} else {
		t.Logf("the client came gzipped: %.1f MB for %.1f MB", enc/1e6, dec/1e6)
	}
	p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))

	row := waitVerified(t, p, base, "webgpu")
	t.Logf("hub: browser contributor %s on %s (%s, %s kernels): %d tasks verified, %.3f GFLOP",
		row.Address, row.Backend, row.Adapter, row.Variant, row.TasksCompleted, row.GFLOP)

	// The page must show the same: WebGPU, accepted results, no error.
	var ps pageState
	waitFor(t, 10*time.Second, "page shows accepted results on WebGPU", func() error {
		var err error
		if ps, err = p.read(); err != nil {
			return err
		}
		switch {
		case ps.Backend != "WebGPU" || ps.DataBackend != "webgpu" || ps.Stats.Backend != "webgpu":
			return fmt.Errorf("page shows backend %q (data-backend %q, stats %q), want WebGPU", ps.Backend, ps.DataBackend, ps.Stats.Backend)
		case ps.Stats.Accepted < 1:
			return fmt.Errorf("page reports %d accepted results", ps.Stats.Accepted)
		case ps.Tasks == "" || ps.Tasks == "0":
			return fmt.Errorf("page shows %q tasks done", ps.Tasks)
		}
		return nil
	})
	if ps.Stats.Refused > 0 || ps.Error != "" || ps.Fallback != "" {
		t.Errorf("page reports %d refused results, error %q, fallback %q", ps.Stats.Refused, ps.Error, ps.Fallback)
	}
	if !strings.EqualFold(ps.Address, row.Address) {
		t.Errorf("page shows address %q, hub has %q", ps.Address, row.Address)
	}
	if row.Adapter == "" || !strings.Contains(ps.Device, row.Adapter) {
		t.Errorf("page shows device %q, hub has adapter %q", ps.Device, row.Adapter)
	}
	t.Logf("page: device %q, %s tasks done, %d accepted, %.2f GFLOP/s", ps.Device, ps.Tasks, ps.Stats.Accepted, ps.Stats.GFLOPS)
	// This hub runs no training job: the Training section says so.
	if ps.Training != "No training job yet." || len(ps.Jobs) != 0 {
		t.Errorf("Training section shows %q and %d jobs, want \"No training job yet.\"", ps.Training, len(ps.Jobs))
	}

	// A screenshot of the page must show a rendered page, not a blank one.
	shot := p.screenshot()
	if path := os.Getenv("TESSERA_SCREENSHOT"); path != "" {
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Errorf("save screenshot: %v", err)
		}
	}
	if n, bounds := distinctColors(t, shot, 64); n < 16 {
		t.Errorf("screenshot (%v) has only %d distinct colours: the page looks blank", bounds.Size(), n)
	}

	// Stopping from the keyboard disconnects the contributor.
	p.do("stop with the keyboard", 10*time.Second,
		chromedp.Focus(chromedp.ID("contribute")),
		chromedp.KeyEvent("\r"),
	)
	waitFor(t, 15*time.Second, "browser disconnected after Stop", func() error {
		st, err := fetchStatus(base)
		if err != nil {
			return err
		}
		if st.ContributorsConnected != 0 {
			return fmt.Errorf("%d contributors still connected", st.ContributorsConnected)
		}
		if ps, err = p.read(); err != nil {
			return err
		}
		if ps.State != "stopped" || ps.Button != "Contribute" {
			return fmt.Errorf("page state %q, button %q", ps.State, ps.Button)
		}
		return nil
	})
}

// TestBrowserCPUBackend runs the page on the pure-Go CPU path, once on
// request (?backend=cpu) and once because the browser has no WebGPU: the
// contributor's results pass the hub's check, and the page says clearly
// that it runs on the CPU, and why.
func TestBrowserCPUBackend(t *testing.T) {
	chrome := findChromium(t)
	dist := ensureWasm(t, repoRoot(t))
	for _, tc := range []struct {
		name, query, hideGPU, backendText, why string
	}{
		{name: "Requested", query: "?backend=cpu", backendText: "CPU (as requested)", why: "backend=cpu"},
		{name: "NoWebGPU", hideGPU: hideWebGPU, backendText: "CPU fallback", why: "WebGPU is not usable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := startHub(t, pageFS{dist: os.DirFS(dist)})
			p := openBrowser(t, chrome)
			if tc.hideGPU != "" {
				p.beforeLoad(tc.hideGPU)
			}
			p.open(base + "/" + tc.query)
			p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))
			waitVerified(t, p, base, "cpu")
			waitFor(t, 10*time.Second, "page shows the CPU backend", func() error {
				ps, err := p.read()
				if err != nil {
					return err
				}
				if !strings.Contains(ps.Backend, tc.backendText) || ps.DataBackend != "cpu" ||
					!strings.Contains(ps.Fallback, "CPU") || !strings.Contains(ps.Fallback, tc.why) {
					return fmt.Errorf("page shows backend %q (data-backend %q), fallback note %q", ps.Backend, ps.DataBackend, ps.Fallback)
				}
				return nil
			})
		})
	}
}

// TestBrowserClientNotBuilt serves the page without the built client: the
// page must say so in words and keep the button disabled.
func TestBrowserClientNotBuilt(t *testing.T) {
	chrome := findChromium(t)
	base := startHub(t, pageFS{dist: fstest.MapFS{"README.md": {Data: []byte("not built")}}})
	p := openBrowser(t, chrome)
	p.do("load the page", 20*time.Second, chromedp.Navigate(base+"/"))
	waitFor(t, 10*time.Second, "page says the client is not built", func() error {
		ps, err := p.read()
		if err != nil {
			return err
		}
		if !strings.Contains(ps.Error, "make wasm") || ps.Button != "Unavailable" {
			return fmt.Errorf("page shows error %q, button %q", ps.Error, ps.Button)
		}
		return nil
	})
}

// TestBrowserReconnects restarts the hub under a contributing page: the
// page reports the lost connection in words, and the client reconnects by
// itself and works for the new hub.
func TestBrowserReconnects(t *testing.T) {
	chrome := findChromium(t)
	web := pageFS{dist: os.DirFS(ensureWasm(t, repoRoot(t)))}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	base, stop := serveHub(t, web, ln)
	t.Cleanup(stop)
	p := openBrowser(t, chrome)
	p.open(base + "/")
	p.do("click Contribute", 5*time.Second, chromedp.Click(chromedp.ID("contribute")))
	waitVerified(t, p, base, "webgpu")

	stop()
	waitFor(t, 10*time.Second, "page reports the lost connection", func() error {
		ps, err := p.read()
		if err != nil {
			return err
		}
		// The hub's parting "shutting down" is shown first; a failed
		// reconnect attempt may already have replaced it by the time the
		// page is read. Either explains the loss in words.
		explained := strings.Contains(ps.Error, "shutting down") || strings.Contains(ps.Error, "dial ")
		if ps.State != "waiting to reconnect" && ps.State != "connecting" || !explained {
			return fmt.Errorf("page state %q, error %q", ps.State, ps.Error)
		}
		return nil
	})

	if ln, err = net.Listen("tcp", addr); err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	base, stop = serveHub(t, web, ln)
	t.Cleanup(stop)
	waitVerified(t, p, base, "webgpu")
	waitFor(t, 10*time.Second, "page works again", func() error {
		ps, err := p.read()
		if err != nil {
			return err
		}
		if ps.State != "working" || ps.Error != "" {
			return fmt.Errorf("page state %q, error %q", ps.State, ps.Error)
		}
		return nil
	})
}

// waitVerified waits until the hub reports wantTasks verified tasks from
// the browser contributor, on backend, and returns its status row. It
// fails at once on a rejected result or another backend.
func waitVerified(tb testing.TB, p *page, base, backend string) hub.ContributorStatus {
	tb.Helper()
	var row hub.ContributorStatus
	waitFor(tb, 40*time.Second, "browser tasks verified by the hub", func() error {
		st, err := fetchStatus(base)
		if err != nil {
			return err
		}
		if st.TasksRejected > 0 {
			tb.Fatalf("the hub rejected %d results: %+v\nbrowser console:\n%s", st.TasksRejected, st.Contributors, p.Console())
		}
		for _, c := range st.Contributors {
			if c.Agent != browserAgent {
				continue
			}
			row = c
			if c.Backend != backend {
				ps, _ := p.read()
				tb.Fatalf("the browser contributes on backend %q (adapter %q), want %q; page: %+v\nbrowser console:\n%s",
					c.Backend, c.Adapter, backend, ps, p.Console())
			}
			if c.TasksCompleted < wantTasks || st.TasksCompleted < wantTasks {
				return fmt.Errorf("browser contributor has %d verified tasks, want %d (hub: %d leased, %d completed)",
					c.TasksCompleted, wantTasks, st.TasksLeased, st.TasksCompleted)
			}
			return nil
		}
		ps, _ := p.read()
		return fmt.Errorf("no browser contributor in the hub's status (%d connected); page: %+v", st.ContributorsConnected, ps)
	})
	return row
}

// startHub runs a real hub on a loopback port, serving the page from web,
// and returns its base URL. It stops with the test.
func startHub(tb testing.TB, web pageFS) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	base, stop := serveHub(tb, web, ln)
	tb.Cleanup(stop)
	return base
}

// serveHub runs a real hub on ln, serving the page from web. It returns the
// base URL and a func that stops the hub and the server (idempotent).
func serveHub(tb testing.TB, web pageFS, ln net.Listener) (string, func()) {
	tb.Helper()
	cfg := hub.DefaultConfig()
	cfg.DataDir = tb.TempDir()
	cfg.Web = web
	cfg.Logger = slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, err := hub.New(cfg)
	if err != nil {
		ln.Close()
		tb.Fatalf("hub.New: %v", err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h.Handler()}}
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
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
	}
	return srv.URL, stop
}
