package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/backend"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/identity"
)

var benchLog = slog.New(slog.DiscardHandler)

// benchData loads MNIST once per test binary.
var benchData train.DataLoader

func benchMNIST(tb testing.TB) *train.Data {
	tb.Helper()
	d, err := benchData.Load(context.Background())
	if err != nil {
		tb.Skipf("MNIST unavailable: %v", err)
	}
	return d
}

// wireCounter is a listener that counts the bytes of its websocket
// connections both ways: TCP payload, HTTP upgrade and websocket framing
// included, IP and TCP headers not. Plain HTTP requests (the API) are not
// counted.
type wireCounter struct {
	net.Listener
	bytes atomic.Int64
}

func (l *wireCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l       *wireCounter
	decided atomic.Bool // the first read told whether this is a websocket
	ws      atomic.Bool
}

var wsRequest = []byte("GET /ws")

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.decided.Load() && n > 0 {
		c.ws.Store(bytes.HasPrefix(p[:n], wsRequest))
		c.decided.Store(true)
	}
	if c.ws.Load() {
		c.l.bytes.Add(int64(n))
	}
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.ws.Load() {
		c.l.bytes.Add(int64(n))
	}
	return n, err
}

// benchHub is a hub process assembled as hub/service does it (hub, store,
// training manager), in this process, on a counting loopback listener.
type benchHub struct {
	h    *hub.Hub
	db   *store.DB
	mgr  *train.Manager
	wire *wireCounter
	url  string // websocket endpoint
}

// startBenchHub serves a hub with no built-in matmul job and no training
// job until the benchmark ends; own lists the exposure-exempt addresses.
// Its goroutines carry the pprof label role=hub.
func startBenchHub(tb testing.TB, own []string) *benchHub {
	tb.Helper()
	return startBenchHubOn(tb, own, nil)
}

// startBenchHubOn is startBenchHub serving on wrap(a loopback listener),
// e.g. one that shapes every connection; nil serves on it as it is.
func startBenchHubOn(tb testing.TB, own []string, wrap func(net.Listener) net.Listener) *benchHub {
	tb.Helper()
	dir := tb.TempDir()
	cfg := hub.DefaultConfig()
	cfg.Name = "bench-hub"
	cfg.Limits = hub.Limits{} // every client is on loopback: one address
	cfg.DataDir = dir
	cfg.Matmul = hub.MatmulConfig{}
	cfg.Logger = benchLog
	cfg.Trusted = own // as hub/service does with its own workers
	// Credit goes to a real ledger, as in hub/service: an accepted
	// result's verdict waits for its credit to be durable.
	led, err := ledger.Open(context.Background(), filepath.Join(dir, "ledger.db"), ledger.Config{Logger: benchLog})
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Credits = led
	h, err := hub.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		tb.Fatal(err)
	}
	benchMNIST(tb)
	mgr := train.NewManager(h, db, train.ManagerConfig{DataDir: dir, OwnWorkers: own, Data: &benchData, Logger: benchLog})
	if err := mgr.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var ln net.Listener = inner
	if wrap != nil {
		ln = wrap(inner)
	}
	wire := &wireCounter{Listener: ln}
	served := make(chan struct{})
	go pprof.Do(ctx, pprof.Labels("role", "hub"), func(ctx context.Context) {
		defer close(served)
		h.Serve(ctx, wire)
	})
	tb.Cleanup(func() {
		cancel()
		mgr.Wait()
		<-served
		db.Close()
		led.Close()
	})
	return &benchHub{h: h, db: db, mgr: mgr, wire: wire, url: "ws://" + inner.Addr().String() + "/ws"}
}

// benchKeys returns n fresh contributor keys and their addresses.
func benchKeys(tb testing.TB, n int) ([]*identity.Key, []string) {
	tb.Helper()
	keys := make([]*identity.Key, n)
	addrs := make([]string, n)
	for i := range keys {
		k, err := identity.Generate()
		if err != nil {
			tb.Fatal(err)
		}
		keys[i], addrs[i] = k, k.Address().Hex()
	}
	return keys, addrs
}

// openBenchDevice opens one device of the named backend ("cpu" or
// "webgpu"), skipping the benchmark when WebGPU has no adapter.
func openBenchDevice(tb testing.TB, name string) device.Device {
	tb.Helper()
	dev, err := openDeviceErr(name)
	if err != nil {
		tb.Skipf("backend %s: %v", name, err)
	}
	return dev
}

// openDeviceErr opens one device of the named backend.
func openDeviceErr(name string) (device.Device, error) {
	return backend.Open(context.Background(), name, 0, benchLog)
}

// cacheEnv, when set, is the operand cache (MiB) the benchmarks' clients
// offer; -1 offers none, to measure without caching.
const cacheEnv = "TESSERA_BENCH_CACHE_MIB"

// startBenchClients runs one in-process client.Client per key on its own
// device of the named backend, like `tessera-edge --backend name --slots
// slots`, and waits until the hub has them all. Their goroutines carry the
// pprof label role=client.
func startBenchClients(tb testing.TB, bh *benchHub, keys []*identity.Key, name string, slots int) []*client.Client {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	cs := make([]*client.Client, len(keys))
	var devs []device.Device
	for i, k := range keys {
		dev := openBenchDevice(tb, name)
		devs = append(devs, dev)
		cfg := client.DefaultConfig()
		cfg.HubURL, cfg.Key, cfg.Device, cfg.Slots, cfg.Logger = bh.url, k, dev, slots, benchLog
		if v, err := strconv.Atoi(os.Getenv(cacheEnv)); err == nil {
			cfg.CacheMiB = v // negative: none
		}
		c, err := client.New(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		cs[i] = c
		wg.Add(1)
		go pprof.Do(ctx, pprof.Labels("role", "client"), func(ctx context.Context) {
			defer wg.Done()
			c.Run(ctx)
		})
	}
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, d := range devs {
			d.Close()
		}
	})
	waitFor(tb, 60*time.Second, "clients to connect", func() error {
		if n := bh.h.Status().ContributorsConnected; n != len(keys) {
			return fmt.Errorf("%d of %d connected", n, len(keys))
		}
		return nil
	})
	return cs
}

// clientTotals sums the clients' task counts and device time.
func clientTotals(cs []*client.Client) (tasks uint64, busy time.Duration) {
	for _, c := range cs {
		s := c.Stats()
		tasks += s.TasksDone
		busy += s.Busy
	}
	return tasks, busy
}
