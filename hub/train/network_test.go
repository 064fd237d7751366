package train_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// network is a real hub on loopback whose contributors the test starts
// and stops: keys[i] is worker i's, trusted (an own worker) for i below
// the network's count of own workers.
type network struct {
	tb   testing.TB
	h    *hub.Hub
	ws   string
	keys []*identity.Key
	// led is the ledger the hub credits (SQLite in the test's directory),
	// for networks of own workers; nil otherwise.
	led *ledger.Ledger
}

// startOwnNetwork is a network of workers own workers, whose hub credits
// a real ledger (network.led).
func startOwnNetwork(tb testing.TB, workers int) *network {
	return startLedgerNetwork(tb, workers, 0)
}

// startLedgerNetwork is newNetwork, whose hub credits a real ledger
// (network.led), configured by configure.
func startLedgerNetwork(tb testing.TB, own, others int, configure ...func(*hub.Config)) *network {
	tb.Helper()
	led, err := ledger.Open(context.Background(), filepath.Join(tb.TempDir(), "ledger.db"), ledger.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { led.Close() }) // after the hub stops: cleanups run last first
	return newNetworkOn(tb, own, others, led, configure...)
}

// newNetwork is a network of own own workers and others ordinary ones,
// without a ledger.
func newNetwork(tb testing.TB, own, others int) *network { return newNetworkOn(tb, own, others, nil) }

// newNetworkOn is newNetwork crediting led (nil: no ledger), its hub's
// configuration changed by configure (nil: none).
func newNetworkOn(tb testing.TB, own, others int, led *ledger.Ledger, configure ...func(*hub.Config)) *network {
	tb.Helper()
	n := &network{tb: tb, led: led}
	cfg := hub.DefaultConfig()
	cfg.DataDir = tb.TempDir()
	cfg.Matmul.Shape = kernel.Shape{} // only the job's tiles
	cfg.Logger = quiet
	if led != nil {
		cfg.Credits = led
	}
	for _, f := range configure {
		f(&cfg)
	}
	for i := range own + others {
		key, _ := identity.Generate()
		n.keys = append(n.keys, key)
		if i < own {
			cfg.Trusted = append(cfg.Trusted, key.Address().Hex())
		}
	}
	h, err := hub.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	n.h = h
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(h.Handler())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	n.ws = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	tb.Cleanup(func() { cancel(); <-done; srv.Close() })
	return n
}

// worker connects own worker i with dev; the returned func disconnects it
// and waits until it has.
func (n *network) worker(i int, dev device.Device) (stop func()) {
	return n.workerWithCache(i, dev, 0)
}

// workerWithCache is worker offering an operand cache of cacheMiB (0: the
// client's default).
func (n *network) workerWithCache(i int, dev device.Device, cacheMiB int) (stop func()) {
	ccfg := client.DefaultConfig()
	ccfg.HubURL, ccfg.Key, ccfg.Device, ccfg.Logger = n.ws, n.keys[i], dev, quiet
	if cacheMiB > 0 {
		ccfg.CacheMiB = cacheMiB
	}
	c, err := client.New(ccfg)
	if err != nil {
		n.tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	n.tb.Cleanup(stop)
	return stop
}

// balance returns worker i's credit in model once every operation the
// hub submitted is committed.
func (n *network) balance(t *testing.T, model string, i int) ledger.Balance {
	t.Helper()
	if err := n.led.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	bs, err := n.led.Balances(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if strings.EqualFold(b.Address, n.keys[i].Address().Hex()) {
			return b
		}
	}
	return ledger.Balance{Address: n.keys[i].Address().Hex()}
}

// updateFLOPs is what one step's updates of the resident spec's layers
// are worth: Xᵀ·dY for every layer, 2·in·batch·out each.
func updateFLOPs(spec train.Spec) uint64 {
	var f uint64
	ls := spec.Model.Layers
	for l := range len(ls) - 1 {
		f += 2 * uint64(ls[l]) * uint64(spec.BatchSize) * uint64(ls[l+1])
	}
	return f
}

// flops returns a credit amount that fits 64 bits.
func flops(t *testing.T, a interface{ Uint64() (uint64, bool) }) uint64 {
	t.Helper()
	v, ok := a.Uint64()
	if !ok {
		t.Fatal("credit past 64 bits")
	}
	return v
}

// gcdLayers divides every layer's update FLOPs in spec: a sum of whole
// updates is a multiple of it.
func gcdLayers(spec train.Spec) uint64 {
	g := uint64(0)
	ls := spec.Model.Layers
	for l := range len(ls) - 1 {
		a, b := g, 2*uint64(ls[l])*uint64(spec.BatchSize)*uint64(ls[l+1])
		for b != 0 {
			a, b = b, a%b
		}
		g = a
	}
	return g
}
