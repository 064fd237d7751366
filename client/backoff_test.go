//go:build !js

package client_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// waits records the retry_in of the client's "disconnected" log lines.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) Enabled(context.Context, slog.Level) bool { return true }
func (w *waits) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *waits) WithGroup(string) slog.Handler            { return w }
func (w *waits) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "retry_in" {
			w.mu.Lock()
			w.d = append(w.d, a.Value.Duration())
			w.mu.Unlock()
		}
		return true
	})
	return nil
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// TestBackoffResetsAfterLogin drops a client's connection from the hub's
// side six times: each drop follows a welcomed session, so every wait
// before reconnecting is from the minimum backoff, not a doubling one.
func TestBackoffResetsAfterLogin(t *testing.T) {
	h, ws := startHub(t, kernel.Shape{M: 8, K: 8, N: 8})
	key, _ := identity.Generate()
	log := &waits{}
	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device, cfg.Logger = ws, key, device.CPU{}, slog.New(log)
	cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 10*time.Second
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for drop := range 6 {
		deadline := time.Now().Add(10 * time.Second)
		// Drop it only once the client has read its welcome: a drop during
		// the handshake is a failed attempt, which does grow the backoff.
		for !c.Stats().Connected || h.DisconnectAddress(key.Address().Hex()) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("drop %d: the client did not come back", drop)
			}
			time.Sleep(5 * time.Millisecond)
		}
		for len(log.all()) <= drop {
			if time.Now().After(deadline) {
				t.Fatalf("drop %d: no disconnect logged", drop)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i, w := range log.all() {
		if w >= 2*cfg.MinBackoff { // jitter is [0.5, 1.5) of the backoff
			t.Errorf("wait %d was %v: the backoff grew across welcomed sessions", i, w)
		}
	}
}
