package hub_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/sandbox"
)

// TestShippedModuleRunsMissingKernels connects a contributor whose binary
// has only the NN kernel. The hub ships its WebAssembly kernel module; the
// contributor runs NT and TN tasks in its wazero sandbox, and those results
// pass verification like any other.
func TestShippedModuleRunsMissingKernels(t *testing.T) {
	wasm := filepath.Join(t.TempDir(), "kernels.wasm")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sandbox.Build(ctx, wasm); err != nil {
		t.Fatal(err)
	}
	module, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	th := startHub(t, func(c *hub.Config) { c.KernelModule = module })
	key, _ := identity.Generate()
	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device = th.ws, key, device.CPU{}
	cfg.Kernels = []kernel.Op{kernel.MatMulNN}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(cctx); close(done) }()
	defer func() { ccancel(); <-done }()
	waitFor(t, "sandboxed tasks to be accepted", 60*time.Second, func() bool {
		s := c.Stats()
		return s.Sandboxed >= 10 && s.Accepted >= 30
	})
	s := c.Stats()
	if s.Refused != 0 {
		t.Errorf("%d results refused: %s", s.Refused, s.LastRefusal)
	}
	// The matmul job cycles NN, NT, TN: about two thirds run sandboxed.
	if s.Sandboxed*2 < s.TasksDone {
		t.Errorf("%d of %d tasks sandboxed; NT and TN should be", s.Sandboxed, s.TasksDone)
	}
	t.Logf("%d tasks, %d in the sandbox", s.TasksDone, s.Sandboxed)
}

// TestNoModuleMeansOnlyOwnKernels checks that without a module the hub
// leases a contributor only the ops it listed.
func TestNoModuleMeansOnlyOwnKernels(t *testing.T) {
	th := startHub(t, nil)
	key, _ := identity.Generate()
	cfg := client.DefaultConfig()
	dev := &onlyNN{}
	cfg.HubURL, cfg.Key, cfg.Device = th.ws, key, dev
	cfg.Kernels = []kernel.Op{kernel.MatMulNN}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(cctx); close(done) }()
	defer func() { ccancel(); <-done }()
	waitFor(t, "NN tasks", 10*time.Second, func() bool { return c.Stats().Accepted >= 10 })
	if n := dev.wrong.Load(); n != 0 {
		t.Errorf("%d tasks of ops the contributor does not have were leased to it", n)
	}
	if s := c.Stats(); s.Refused != 0 || s.Sandboxed != 0 {
		t.Errorf("stats %+v", s)
	}
}

// onlyNN counts (and fails) any op but NN: a wrongly leased task.
type onlyNN struct {
	device.CPU
	wrong atomic.Int64
}

func (d *onlyNN) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	if op != kernel.MatMulNN {
		d.wrong.Add(1)
		return errors.New("no such kernel here")
	}
	return kernel.Reference(op, s, a, b, c)
}
