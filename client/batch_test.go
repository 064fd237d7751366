//go:build !js

package client_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/client/gpu"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// lavapipeICD is Mesa's Vulkan-on-CPU driver manifest on Debian.
const lavapipeICD = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"

// openGPU opens the WebGPU device (lavapipe here, pinned when
// VK_ICD_FILENAMES is unset). Without an adapter the test fails, or is
// skipped when TESSERA_GPU_OPTIONAL=1.
func openGPU(tb testing.TB) *gpu.Device {
	tb.Helper()
	if _, set := os.LookupEnv("VK_ICD_FILENAMES"); !set {
		if _, err := os.Stat(lavapipeICD); err == nil {
			os.Setenv("VK_ICD_FILENAMES", lavapipeICD)
		}
	}
	d, err := gpu.Open(context.Background(), gpu.Options{})
	if err != nil {
		if errors.Is(err, gpu.ErrNoAdapter) && os.Getenv("TESSERA_GPU_OPTIONAL") == "1" {
			tb.Skipf("no WebGPU adapter (TESSERA_GPU_OPTIONAL=1): %v", err)
		}
		tb.Fatalf("open gpu: %v (install mesa-vulkan-drivers, or set TESSERA_GPU_OPTIONAL=1)", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// verified collects the results that reach the hub's job and checks each
// against the exact product.
type verified struct {
	tb testing.TB
	mu sync.Mutex
	n  map[kernel.Op]int
}

func (v *verified) done(t *hub.Task, c []float32) {
	ex, sq, err := verify.Exact(t.Op, t.Shape, t.A, t.B)
	if err == nil {
		err = verify.Judge(t.Shape, ex, sq, c)
	}
	if err != nil {
		v.tb.Errorf("task %d (%v %v) reached the job wrong: %v", t.ID, t.Op, t.Shape, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.n[t.Op]++
}

func (v *verified) ops() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.n)
}

// corruptLast computes honestly on the GPU, then changes the last element
// of the last product of the batch.
type corruptLast struct{ device.Device }

func (d corruptLast) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	if err := d.Device.Run(ctx, op, s, a, b, c); err != nil {
		return err
	}
	c[len(c)-1] += 0.5
	return nil
}

// TestBatchedTasksEndToEnd has a real hub lease batched tasks (odd
// dimensions, every op, blinded) over websockets to real clients running
// them on WebGPU (lavapipe) and on the CPU, and verify them: honest
// results are accepted and reach the job exact within rounding, replicas
// of the GPU and the CPU agree, and a result wrong in one element of the
// last product is refused, naming that product.
func TestBatchedTasksEndToEnd(t *testing.T) {
	shape := kernel.Shape{Batch: 6, M: 13, K: 21, N: 17}
	dev := openGPU(t)
	start := func(t *testing.T, replicate bool) (*hub.Hub, string, *verified) {
		v := &verified{tb: t, n: map[kernel.Op]int{}}
		h, ws := startHubWith(t, func(cfg *hub.Config) {
			cfg.Matmul = hub.MatmulConfig{Shape: shape, Seed: 3, OnDone: v.done}
			cfg.Verification.Replicate = replicate
		})
		return h, ws, v
	}

	t.Run("GPU", func(t *testing.T) {
		h, ws, v := start(t, false)
		c, _, _ := runClient(t, ws, dev, 2)
		waitFor(t, "24 accepted batched results", func() bool { return c.Stats().Accepted >= 24 })
		st, hs := c.Stats(), h.Status()
		if st.Refused != 0 || hs.TasksRejected != 0 {
			t.Errorf("refused %d (%s), hub rejected %d", st.Refused, st.LastRefusal, hs.TasksRejected)
		}
		if v.ops() != len(kernel.Ops) {
			t.Errorf("results of %d ops reached the job, want all %d", v.ops(), len(kernel.Ops))
		}
		if want := float64(st.Accepted) * shape.FLOPs(); st.AcceptedFLOPs != want {
			t.Errorf("accepted %v FLOPs for %d tasks, want %v (the whole batch)", st.AcceptedFLOPs, st.Accepted, want)
		}
	})

	t.Run("ReplicasAgree", func(t *testing.T) {
		h, ws, _ := start(t, true)
		g, _, _ := runClient(t, ws, dev, 2)
		c, _, _ := runClient(t, ws, device.CPU{}, 2)
		waitFor(t, "replicated batched results", func() bool {
			return h.Status().TasksReplicated >= 10 && g.Stats().Accepted >= 10 && c.Stats().Accepted >= 10
		})
		hs := h.Status()
		if hs.TasksRejected != 0 || hs.Arbitrations != 0 || g.Stats().Refused != 0 || c.Stats().Refused != 0 {
			t.Errorf("rejected %d, arbitrations %d, refusals GPU %d CPU %d (%s %s)", hs.TasksRejected, hs.Arbitrations,
				g.Stats().Refused, c.Stats().Refused, g.Stats().LastRefusal, c.Stats().LastRefusal)
		}
	})

	t.Run("WrongLastProductRefused", func(t *testing.T) {
		_, ws, v := start(t, false)
		c, _, _ := runClient(t, ws, corruptLast{dev}, 1)
		waitFor(t, "a refusal", func() bool { return c.Stats().Refused >= 1 })
		st := c.Stats()
		if want := "of product 5"; !strings.Contains(st.LastRefusal, want) || !strings.Contains(st.LastRefusal, "Freivalds") {
			t.Errorf("refusal %q does not name the wrong product (%q)", st.LastRefusal, want)
		}
		if st.Accepted != 0 || v.ops() != 0 {
			t.Errorf("%d wrong results accepted, %d ops reached the job", st.Accepted, v.ops())
		}
	})
}
