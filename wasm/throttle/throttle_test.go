package throttle

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// task is a real matmul for the CPU device: a few milliseconds of work.
type task struct {
	shape   kernel.Shape
	a, b, c []float32
}

func newTask() *task {
	s := kernel.Shape{M: 192, K: 192, N: 192}
	t := &task{shape: s, a: make([]float32, s.M*s.K), b: make([]float32, s.K*s.N), c: make([]float32, s.M*s.N)}
	for i := range t.a {
		t.a[i] = float32(i%7) - 3
	}
	for i := range t.b {
		t.b[i] = float32(i%5) - 2
	}
	return t
}

func (t *task) run(ctx context.Context, p *Pacer) error {
	return p.Run(ctx, kernel.MatMulNN, t.shape, t.a, t.b, t.c)
}

func TestPacerShare(t *testing.T) {
	for _, tc := range []struct {
		name  string
		share float64
		ok    bool
	}{
		{"Full", 1, true},
		{"Quarter", 0.25, true},
		{"Zero", 0, false},
		{"Negative", -0.5, false},
		{"AboveOne", 1.5, false},
		{"NaN", math.NaN(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPacer(device.CPU{}, tc.share)
			if (err == nil) != tc.ok {
				t.Fatalf("NewPacer(%v): err %v, want ok=%v", tc.share, err, tc.ok)
			}
			if !tc.ok {
				if !strings.Contains(err.Error(), "share of time") {
					t.Errorf("error %q does not say what is wrong", err)
				}
				return
			}
			if err := p.SetShare(tc.share / 2); err != nil || p.Share() != tc.share/2 {
				t.Errorf("SetShare(%v): err %v, share now %v", tc.share/2, err, p.Share())
			}
			if err := p.SetShare(0); err == nil || p.Share() != tc.share/2 {
				t.Errorf("SetShare(0): err %v, share now %v; want an error and no change", err, p.Share())
			}
		})
	}
}

// dutyCycle runs n tasks back to back, waits out the rest owed after the
// last one, and returns the pacer's duty cycle, its busy time over the
// wall time (Busy's reading of the same share) and the time it all took.
func dutyCycle(t *testing.T, share float64, n int) (duty, busyShare float64, took time.Duration) {
	t.Helper()
	p, err := NewPacer(device.CPU{}, share)
	if err != nil {
		t.Fatal(err)
	}
	tk := newTask()
	start := time.Now()
	for range n {
		if err := tk.run(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	// Measure whole cycles: the rest owed after the last task counts too.
	if err := p.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	took = time.Since(start)
	return p.DutyCycle(), float64(p.Busy()) / float64(took), took
}

// TestPacerDutyCycle runs the same tasks unthrottled and at 25%: the
// device's measured share of busy time follows the setting. (The pacer
// measures busy and idle time of the same tasks, so the share does not
// depend on how fast this machine runs them; comparing the two runs' wall
// times would.)
func TestPacerDutyCycle(t *testing.T) {
	const n = 12
	full, busyFull, tFull := dutyCycle(t, 1, n)
	quarter, busyQuarter, tQuarter := dutyCycle(t, 0.25, n)
	t.Logf("%d tasks: duty cycle %.2f (busy %.2f) in %v at 100%%, %.2f (busy %.2f) in %v at 25%%",
		n, full, busyFull, tFull, quarter, busyQuarter, tQuarter)
	// Busy adds up the same spans from the start, so it reads the same share.
	if busyFull < 0.8 || busyQuarter < 0.1 || busyQuarter > 0.27 {
		t.Errorf("busy share %.2f at 100%% and %.2f at 25%%, want about 1 and 0.25", busyFull, busyQuarter)
	}
	if full < 0.8 {
		t.Errorf("unthrottled duty cycle %.2f, want close to 1", full)
	}
	// Timers fire late, never early: pacing can only lower the share.
	if quarter < 0.1 || quarter > 0.27 {
		t.Errorf("duty cycle at 25%% is %.2f, want about 0.25", quarter)
	}
}

// TestPacerWakesOnShareChange: a task waiting out a long pause starts as
// soon as the throttle is lifted, and a waiting task gives up when its
// context ends.
func TestPacerWakesOnShareChange(t *testing.T) {
	p, err := NewPacer(device.CPU{}, 0.001) // a pause of 999 times the task (capped at maxIdle)
	if err != nil {
		t.Fatal(err)
	}
	tk := newTask()
	if err := tk.run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tk.run(ctx, p); err == nil {
		t.Fatal("a waiting Run with a cancelled context returned nil")
	}
	done := make(chan error, 1)
	go func() { done <- tk.run(context.Background(), p) }()
	select {
	case err := <-done:
		t.Fatalf("Run did not wait for its turn (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := p.SetShare(1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(maxIdle / 2):
		t.Fatal("Run still waits after the throttle was lifted")
	}
}

// TestGatePausesAndResumes runs a real client through a Gate against a
// real hub: paused, the hub sends no new tasks and the count of tasks done
// stops; resumed, it grows again. A client that connects while paused
// tells the hub at once.
func TestGatePausesAndResumes(t *testing.T) {
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Matmul = hub.MatmulConfig{Shape: kernel.Shape{M: 32, K: 48, N: 16}, Seed: 1}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { h.Run(ctx); close(runDone) }()
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { cancel(); <-runDone; srv.Close() })

	const slots = 2
	gate, err := NewGate(slots, true)
	if err != nil {
		t.Fatal(err)
	}
	key, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ccfg := client.DefaultConfig()
	ccfg.HubURL = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	ccfg.Key, ccfg.Device, ccfg.Slots, ccfg.Logger = key, device.CPU{}, slots, cfg.Logger
	ccfg.Dial = gate.Dial(client.Dial)
	c, err := client.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	cdone := make(chan struct{})
	go func() { c.Run(cctx); close(cdone) }()
	t.Cleanup(func() { ccancel(); <-cdone })

	// Connected while paused: at most the tasks leased before the hub
	// heard of the pause are done, then nothing.
	waitFor(t, "client connected", func() error {
		if !c.Stats().Connected {
			return fmt.Errorf("state %s", c.Stats().State)
		}
		return nil
	})
	paused := waitStill(t, c)
	if paused > slots {
		t.Errorf("a client paused from its welcome did %d tasks, want at most %d", paused, slots)
	}

	if err := gate.SetPaused(false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tasks done after resuming", func() error {
		if n := c.Stats().TasksDone; n < paused+10 {
			return fmt.Errorf("%d tasks done, %d when paused", n, paused)
		}
		return nil
	})

	if err := gate.SetPaused(true); err != nil {
		t.Fatal(err)
	}
	still := waitStill(t, c)
	if accepted := c.Stats().Accepted; accepted == 0 {
		t.Errorf("no result accepted (%d done)", still)
	}
	t.Logf("paused at %d tasks done", still)

	if err := gate.SetPaused(false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tasks done after resuming again", func() error {
		if n := c.Stats().TasksDone; n <= still {
			return fmt.Errorf("%d tasks done, %d when paused", n, still)
		}
		return nil
	})
}

// waitStill waits until the client's count of tasks done has not moved
// for a second, and returns it.
func waitStill(t *testing.T, c *client.Client) uint64 {
	t.Helper()
	var last uint64
	lastChange := time.Now()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		n := c.Stats().TasksDone
		if n != last {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) >= time.Second {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("tasks done still growing after 15 s (%d): the pause did not stop the hub", last)
	return 0
}

func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
