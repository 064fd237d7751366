//go:build !js

package gpu_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/tessera-ai/tessera/client/gpu"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/shaders"
)

// lavapipeICD is Mesa's Vulkan-on-CPU driver manifest on Debian.
const lavapipeICD = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"

// TestMain pins lavapipe when VK_ICD_FILENAMES is unset and lavapipe is
// installed, so results do not depend on which other drivers exist.
func TestMain(m *testing.M) {
	if _, set := os.LookupEnv("VK_ICD_FILENAMES"); !set {
		if _, err := os.Stat(lavapipeICD); err == nil {
			os.Setenv("VK_ICD_FILENAMES", lavapipeICD)
		}
	}
	os.Exit(m.Run())
}

// openDevice opens a device with the given family forced (0: automatic).
// Without an adapter the test fails, or is skipped when
// TESSERA_GPU_OPTIONAL=1.
func openDevice(tb testing.TB, family shaders.Family) *gpu.Device {
	tb.Helper()
	d, err := gpu.Open(context.Background(), gpu.Options{Family: family})
	if err != nil {
		if errors.Is(err, gpu.ErrNoAdapter) && os.Getenv("TESSERA_GPU_OPTIONAL") == "1" {
			tb.Skipf("no WebGPU adapter (TESSERA_GPU_OPTIONAL=1): %v", err)
		}
		tb.Fatalf("Open: %v (install mesa-vulkan-drivers, or set TESSERA_GPU_OPTIONAL=1)", err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return d
}

// operands returns random A, B for op and shape and a C to fill.
func operands(op kernel.Op, s kernel.Shape, seed uint64) (a, b, c []float32) {
	r := rand.New(rand.NewPCG(seed, uint64(op)))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	return fill(s.ALen()), fill(s.BLen()), make([]float32, s.CLen())
}

// checkClose compares got against kernel.Reference elementwise with the
// float32 forward error bound of a length-K dot product:
// |err_ij| <= c·K·u·Σ_k |a_ik||b_kj| with u = 2^-24; c = 2 covers both
// computations (GPU and reference) rounding differently.
func checkClose(tb testing.TB, op kernel.Op, s kernel.Shape, a, b, got []float32) {
	tb.Helper()
	want := make([]float32, s.CLen())
	if err := kernel.Reference(op, s, a, b, want); err != nil {
		tb.Fatalf("Reference: %v", err)
	}
	absA, absB := absAll(a), absAll(b)
	bound := make([]float32, s.CLen())
	if err := kernel.Reference(op, s, absA, absB, bound); err != nil {
		tb.Fatalf("Reference bound: %v", err)
	}
	const c, u = 2.0, 1.0 / (1 << 24)
	bad := 0
	for i := range got {
		tol := c*float64(s.K)*u*float64(bound[i]) + 1e-30
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol) {
			if bad < 5 {
				mn := s.M * s.N
				tb.Errorf("%v %v: product %d C[%d,%d] = %g, want %g (|diff| %g > tol %g)",
					op, s, i/mn, i%mn/s.N, i%s.N, got[i], want[i], d, tol)
			}
			bad++
		}
	}
	if bad > 0 {
		tb.Errorf("%v %v: %d of %d elements out of tolerance", op, s, bad, len(got))
	}
}

func absAll(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(math.Abs(float64(v)))
	}
	return y
}

var testShapes = []kernel.Shape{
	{M: 1, K: 1, N: 1},
	{M: 3, K: 5, N: 7},
	{M: 7, K: 13, N: 5},
	{M: 4, K: 4, N: 4},
	{M: 17, K: 31, N: 9},
	{M: 33, K: 1, N: 65},
	{M: 64, K: 64, N: 64},
	{M: 65, K: 129, N: 33},
	{M: 128, K: 1, N: 256},
	{M: 1, K: 300, N: 2},
	{M: 2, K: 300, N: 1},
	{M: 100, K: 17, N: 1},
	{M: 129, K: 70, N: 131},
}

func TestOpen(t *testing.T) {
	d := openDevice(t, 0)
	info := d.Info()
	t.Logf("info: %+v", info)
	if info.Backend != "webgpu" || info.Adapter == "" || info.AdapterType == "" {
		t.Errorf("Info() = %+v: want Backend webgpu and a named, typed adapter", info)
	}
	if info.Variant != d.Family().String() {
		t.Errorf("Variant %q, family %v", info.Variant, d.Family())
	}
	if info.AdapterType == "cpu" && d.Family() != shaders.Vec4 {
		t.Errorf("CPU adapter %q got family %v, want vec4", info.Adapter, d.Family())
	}
}

func TestRunMatchesReference(t *testing.T) {
	for _, family := range shaders.Families {
		t.Run(family.String(), func(t *testing.T) {
			d := openDevice(t, family)
			if got := d.Info().Variant; got != family.String() {
				t.Fatalf("Variant = %q, want %q", got, family)
			}
			for _, op := range kernel.Ops {
				for i, s := range testShapes {
					t.Run(op.String()+"/"+s.String(), func(t *testing.T) {
						a, b, c := operands(op, s, uint64(i))
						for j := range c {
							c[j] = float32(math.NaN()) // Run must overwrite every element
						}
						if err := d.Run(context.Background(), op, s, a, b, c); err != nil {
							t.Fatalf("Run: %v", err)
						}
						checkClose(t, op, s, a, b, c)
					})
				}
			}
		})
	}
}

// TestSplitSubmissions forces many small submissions (bands of rows) and
// checks that the bands tile C exactly.
func TestSplitSubmissions(t *testing.T) {
	for _, family := range shaders.Families {
		t.Run(family.String(), func(t *testing.T) {
			d, err := gpu.Open(context.Background(), gpu.Options{Family: family, MaxSubmitFLOPs: 1})
			if err != nil {
				openDevice(t, family) // fails or skips with the usual message
				t.Fatalf("Open: %v", err)
			}
			defer d.Close()
			for _, op := range kernel.Ops {
				s := kernel.Shape{M: 200, K: 20, N: 30}
				a, b, c := operands(op, s, 7)
				if err := d.Run(context.Background(), op, s, a, b, c); err != nil {
					t.Fatalf("%v: Run: %v", op, err)
				}
				checkClose(t, op, s, a, b, c)
			}
		})
	}
}

// TestBufferReuse runs big, small, big and odd shapes on one device: the
// grow-only buffers and the cached bind group must give correct results
// whatever is left in them from earlier calls.
func TestBufferReuse(t *testing.T) {
	d := openDevice(t, 0)
	seq := []kernel.Shape{
		{M: 200, K: 150, N: 180},
		{M: 3, K: 2, N: 5},
		{M: 1, K: 1, N: 1},
		{M: 200, K: 150, N: 180},
		{M: 64, K: 300, N: 7},
		{M: 257, K: 33, N: 250},
		{M: 5, K: 7, N: 3},
	}
	for i, s := range seq {
		for _, op := range kernel.Ops {
			a, b, c := operands(op, s, uint64(100+i))
			if err := d.Run(context.Background(), op, s, a, b, c); err != nil {
				t.Fatalf("step %d %v %v: Run: %v", i, op, s, err)
			}
			checkClose(t, op, s, a, b, c)
		}
	}
}

func TestRunErrors(t *testing.T) {
	d := openDevice(t, 0)
	s := kernel.Shape{M: 4, K: 3, N: 2}
	ok := func() (a, b, c []float32) {
		return make([]float32, s.ALen()), make([]float32, s.BLen()), make([]float32, s.CLen())
	}
	tests := []struct {
		name string
		run  func() error
		is   error
	}{
		{"ErrOperandA", func() error {
			_, b, c := ok()
			return d.Run(context.Background(), kernel.MatMulNN, s, make([]float32, 5), b, c)
		}, kernel.ErrOperand},
		{"ErrOperandC", func() error {
			a, b, _ := ok()
			return d.Run(context.Background(), kernel.MatMulNT, s, a, b, nil)
		}, kernel.ErrOperand},
		{"ErrUnknownOp", func() error {
			a, b, c := ok()
			return d.Run(context.Background(), kernel.Op(9), s, a, b, c)
		}, nil},
		{"ErrZeroShape", func() error {
			return d.Run(context.Background(), kernel.MatMulNN, kernel.Shape{}, nil, nil, nil)
		}, nil},
		{"ErrCanceled", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			a, b, c := ok()
			return d.Run(ctx, kernel.MatMulNN, s, a, b, c)
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatal("Run succeeded, want error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("Run error %v, want %v", err, tt.is)
			}
		})
	}
	// The device still works after rejected calls.
	a, b, c := operands(kernel.MatMulNN, s, 1)
	if err := d.Run(context.Background(), kernel.MatMulNN, s, a, b, c); err != nil {
		t.Fatalf("Run after errors: %v", err)
	}
	checkClose(t, kernel.MatMulNN, s, a, b, c)
}

func TestClosed(t *testing.T) {
	d := openDevice(t, 0)
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s := kernel.Shape{M: 1, K: 1, N: 1}
	err := d.Run(context.Background(), kernel.MatMulNN, s, []float32{1}, []float32{2}, []float32{0})
	if !errors.Is(err, gpu.ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}

// TestConcurrentRuns hammers one device from several goroutines with
// different shapes; Run serializes them and each result must be right.
func TestConcurrentRuns(t *testing.T) {
	d := openDevice(t, 0)
	shapes := []kernel.Shape{{M: 40, K: 9, N: 70}, {M: 3, K: 100, N: 2}, {M: 90, K: 33, N: 17}, {M: 1, K: 1, N: 1}}
	var wg sync.WaitGroup
	for g, s := range shapes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				op := kernel.Ops[(g+i)%len(kernel.Ops)]
				a, b, c := operands(op, s, uint64(g*10+i))
				if err := d.Run(context.Background(), op, s, a, b, c); err != nil {
					t.Errorf("goroutine %d: Run: %v", g, err)
					return
				}
				checkClose(t, op, s, a, b, c)
			}
		}()
	}
	wg.Wait()
}
