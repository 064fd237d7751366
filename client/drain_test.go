//go:build !js

package client_test

import (
	"context"
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

// gated is the real CPU backend behind a gate the test opens: tasks stay
// held (leased, unfinished) until it does, so a drain provably starts
// with leases in hand.
type gated struct {
	device.CPU
	open chan struct{}
}

func (g gated) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.CPU.Run(ctx, op, s, a, b, c)
}

// startHub runs a real hub on loopback; matmul, if not zero, is the shape
// of its built-in job's tasks (zero: the hub has no work).
func startHub(tb testing.TB, matmul kernel.Shape) (*hub.Hub, string) {
	tb.Helper()
	return startHubWith(tb, func(cfg *hub.Config) { cfg.Matmul = hub.MatmulConfig{Shape: matmul, Seed: 1} })
}

// startHubWith runs a real hub on loopback with the default configuration
// changed by mutate.
func startHubWith(tb testing.TB, mutate func(*hub.Config)) (*hub.Hub, string) {
	tb.Helper()
	cfg := hub.DefaultConfig()
	cfg.DataDir = tb.TempDir()
	mutate(&cfg)
	h, err := hub.New(cfg)
	if err != nil {
		tb.Fatalf("hub.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	srv := httptest.NewServer(h.Handler())
	tb.Cleanup(func() { srv.Close(); cancel(); <-done })
	return h, "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// runClient starts a client with slots on dev and returns it with the
// channel that receives Run's result and the function that cancels Run.
func runClient(tb testing.TB, ws string, dev device.Device, slots int) (*client.Client, <-chan error, context.CancelFunc) {
	tb.Helper()
	key, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device, cfg.Slots = ws, key, dev, slots
	c, err := client.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- c.Run(ctx); close(finished) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			tb.Error("Run did not return after cancel")
		}
	})
	return c, done, cancel
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDrain(t *testing.T) {
	shape := kernel.Shape{M: 33, K: 65, N: 17}

	t.Run("FinishesLeasedTasks", func(t *testing.T) {
		h, ws := startHub(t, shape)
		dev := gated{open: make(chan struct{})}
		c, done, _ := runClient(t, ws, dev, 3)
		waitFor(t, "three tasks held", func() bool { return h.Status().TasksInFlight == 3 && c.Stats().Held == 3 })

		c.Drain()
		// Draining means Capacity 0 has been sent: every result comes
		// after it, so the hub never refills a slot the results free.
		waitFor(t, "the draining state", func() bool { return c.Stats().State == client.StateDraining })
		close(dev.open)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run after a drain: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after the drain")
		}
		s := c.Stats()
		if s.TasksDone != 3 || s.Accepted != 3 || s.Held != 0 {
			t.Errorf("client: done %d, accepted %d, held %d; want 3, 3, 0", s.TasksDone, s.Accepted, s.Held)
		}
		if want := 3 * shape.FLOPs(); s.AcceptedFLOPs != want {
			t.Errorf("accepted FLOPs %g, want %g", s.AcceptedFLOPs, want)
		}
		waitFor(t, "the hub to see the client leave", func() bool { return h.Status().ContributorsConnected == 0 })
		st := h.Status()
		if st.TasksLeased != 3 || st.TasksCompleted != 3 || st.TasksRequeued != 0 || st.TasksExpired != 0 || st.TasksInFlight != 0 {
			t.Errorf("hub: leased %d, completed %d, requeued %d, expired %d, in flight %d; want 3, 3, 0, 0, 0",
				st.TasksLeased, st.TasksCompleted, st.TasksRequeued, st.TasksExpired, st.TasksInFlight)
		}
	})

	t.Run("NothingHeld", func(t *testing.T) {
		_, ws := startHub(t, kernel.Shape{}) // no work: nothing is ever leased
		c, done, _ := runClient(t, ws, device.CPU{}, 2)
		waitFor(t, "the connection", func() bool { return c.Stats().Connected })
		start := time.Now()
		c.Drain()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run after a drain: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after the drain")
		}
		// With nothing held the session waits out the quiet period for
		// tasks already on the way, and no longer.
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("an idle drain took %v", took)
		}
	})

	t.Run("CancelStopsAtOnce", func(t *testing.T) {
		h, ws := startHub(t, shape)
		dev := gated{open: make(chan struct{})} // never opened
		c, done, cancel := runClient(t, ws, dev, 2)
		waitFor(t, "two tasks held", func() bool { return c.Stats().Held == 2 })
		c.Drain()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run after cancel: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel during a drain")
		}
		// The abandoned leases go back to the queue for someone else.
		waitFor(t, "the leases to be requeued", func() bool {
			st := h.Status()
			return st.TasksInFlight == 0 && st.TasksRequeued == 2
		})
	})

	t.Run("BeforeConnecting", func(t *testing.T) {
		// A client that was never connected has nothing to finish.
		c, done, _ := runClient(t, "ws://127.0.0.1:1/ws", device.CPU{}, 1)
		c.Drain()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after a drain while disconnected")
		}
	})
}
