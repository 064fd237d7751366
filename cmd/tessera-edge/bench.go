package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/client/gpu"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/shaders"
)

// benchConfig is what `tessera-edge bench` measures.
type benchConfig struct {
	Backend  string // cpu, webgpu or all
	Families []shaders.Family
	Ops      []kernel.Op
	Shapes   []kernel.Shape // square shapes n×n×n, then batched ones
	MinTime  time.Duration
	MinReps  int
}

// benchDevice is one device the bench runs: the CPU backend, or the
// WebGPU adapter with one kernel family.
type benchDevice struct {
	Name        string `json:"name"` // "cpu", "webgpu-regblock", "webgpu-tiled", "webgpu-vec4"
	Backend     string `json:"backend"`
	Adapter     string `json:"adapter"`
	AdapterType string `json:"adapter_type"`
	Variant     string `json:"variant"`
	open        func(context.Context) (device.Device, error)
}

// benchResult is one kernel on one shape on one device.
type benchResult struct {
	Device  string  `json:"device"`
	Op      string  `json:"op"`
	Batch   int     `json:"batch,omitempty"` // products of a batched shape
	M       int     `json:"m"`
	K       int     `json:"k"`
	N       int     `json:"n"`
	Reps    int     `json:"reps"`
	Seconds float64 `json:"seconds"`     // timed repetitions, warm-up excluded
	GFLOPS  float64 `json:"gflops"`      // over all timed repetitions
	Best    float64 `json:"best_gflops"` // the fastest repetition
}

// runBench measures GFLOP/s of every kernel the client runs for tasks
// (device.CPU and client/gpu, the same code paths), per device, op and
// shape: a warm-up run checked against float64 dot products, then timed
// repetitions. The first signal stops it.
func runBench(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	fs := flag.NewFlagSet("tessera-edge bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: tessera-edge bench [flags]\n\nMeasures GFLOP/s of each kernel on this machine's devices (upload, compute and readback, as for a task).\n\nFlags:")
		fs.PrintDefaults()
	}
	backendName := fs.String("backend", "all", "devices to measure: cpu, webgpu (every kernel family) or all (cpu, and webgpu when an adapter works)")
	family := fs.String("family", "all", "WebGPU kernel family: all, "+strings.Join(familyNames(), " or "))
	opList := fs.String("ops", "all", "kernels, e.g. matmul_nn,matmul_tn")
	sizeList := fs.String("sizes", "256,512,1024", "square shapes n×n×n to measure, comma-separated")
	batchList := fs.String("batched", "64x128x32x128", "batched shapes BxMxKxN to measure as well (B independent products, as attention's per-head products), comma-separated; none for none")
	minTime := fs.Duration("time", time.Second, "least time spent timing each kernel and shape")
	minReps := fs.Int("reps", 3, "least number of timed repetitions of each kernel and shape")
	jsonOut := fs.Bool("json", false, "print JSON instead of a table")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	cfg := benchConfig{Backend: *backendName, MinTime: *minTime, MinReps: *minReps}
	var err error
	if cfg.Ops, err = parseKernels(*opList); err != nil {
		fmt.Fprintf(stderr, "tessera-edge bench: --ops: %v\n", err)
		return exitUsage
	}
	if cfg.Ops == nil {
		cfg.Ops = kernel.Ops
	}
	if cfg.Shapes, err = parseSizes(*sizeList); err != nil {
		fmt.Fprintf(stderr, "tessera-edge bench: --sizes: %v\n", err)
		return exitUsage
	}
	batched, err := parseBatched(*batchList)
	if err != nil {
		fmt.Fprintf(stderr, "tessera-edge bench: --batched: %v\n", err)
		return exitUsage
	}
	cfg.Shapes = append(cfg.Shapes, batched...)
	if cfg.Families, err = parseFamilies(*family); err != nil {
		fmt.Fprintf(stderr, "tessera-edge bench: --family: %v\n", err)
		return exitUsage
	}
	if cfg.MinReps < 1 || cfg.MinTime < 0 {
		fmt.Fprintln(stderr, "tessera-edge bench: --reps must be at least 1 and --time not negative")
		return exitUsage
	}
	devs, err := benchDevices(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tessera-edge bench: %v\n", err)
		return exitUsage
	}
	ctx, cancel := cancelOnSignal(signals)
	defer cancel()

	table := !*jsonOut
	if table {
		fmt.Fprintf(stdout, rowFormat, "DEVICE", "KERNEL", "SHAPE", "GFLOP/s", "BEST", "REPS")
	}
	var ran []benchDevice
	var results []benchResult
	for _, bd := range devs {
		d, err := bd.open(ctx)
		if err != nil {
			if cfg.Backend == "all" && bd.Backend == "webgpu" {
				fmt.Fprintf(stderr, "tessera-edge bench: skipping %s: %v\n", bd.Name, err)
				continue
			}
			fmt.Fprintf(stderr, "tessera-edge bench: %s: %v\n", bd.Name, err)
			return exitFailure
		}
		info := d.Info()
		bd.Adapter, bd.AdapterType, bd.Variant = info.Adapter, info.AdapterType, info.Variant
		ran = append(ran, bd)
		if table {
			fmt.Fprintf(stderr, "%s: %s (%s, %s kernels)\n", bd.Name, info.Adapter, info.AdapterType, info.Variant)
		}
		for _, op := range cfg.Ops {
			for _, s := range cfg.Shapes {
				r, err := benchOne(ctx, d, op, s, cfg)
				if err != nil {
					d.Close()
					fmt.Fprintf(stderr, "tessera-edge bench: %s %v %v: %v\n", bd.Name, op, s, err)
					return exitFailure
				}
				r.Device = bd.Name
				results = append(results, r)
				if table {
					fmt.Fprintf(stdout, rowFormat, r.Device, r.Op, s.String(),
						fmt.Sprintf("%.2f", r.GFLOPS), fmt.Sprintf("%.2f", r.Best), strconv.Itoa(r.Reps))
				}
			}
		}
		d.Close()
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"devices": ran, "results": results})
	}
	return exitOK
}

// rowFormat lays out the table; rows are printed as they are measured.
const rowFormat = "%-16s %-10s %-15s %8s %8s %5s\n"

// benchDevices lists the devices cfg asks for, unopened.
func benchDevices(cfg benchConfig) ([]benchDevice, error) {
	cpu := benchDevice{Name: "cpu", Backend: "cpu", open: func(context.Context) (device.Device, error) { return device.CPU{}, nil }}
	var gpus []benchDevice
	for _, f := range cfg.Families {
		gpus = append(gpus, benchDevice{Name: "webgpu-" + f.String(), Backend: "webgpu",
			open: func(ctx context.Context) (device.Device, error) {
				opts := gpu.DefaultOptions()
				opts.Family = f
				return gpu.Open(ctx, opts)
			}})
	}
	switch cfg.Backend {
	case "cpu":
		return []benchDevice{cpu}, nil
	case "webgpu":
		return gpus, nil
	case "all":
		return append([]benchDevice{cpu}, gpus...), nil
	}
	return nil, fmt.Errorf("--backend %q: want cpu, webgpu or all", cfg.Backend)
}

// benchOne times op on shape s: one warm-up run, whose result is spot
// checked, then repetitions until both cfg.MinReps and cfg.MinTime are
// reached.
func benchOne(ctx context.Context, d device.Device, op kernel.Op, s kernel.Shape, cfg benchConfig) (benchResult, error) {
	rng := rand.New(rand.NewPCG(uint64(s.M), uint64(op)))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	a, b, c := fill(s.ALen()), fill(s.BLen()), make([]float32, s.CLen())
	if err := d.Run(ctx, op, s, a, b, c); err != nil {
		return benchResult{}, err
	}
	if err := spotCheck(op, s, a, b, c, rng); err != nil {
		return benchResult{}, err
	}
	r := benchResult{Op: op.String(), Batch: s.Batch, M: s.M, K: s.K, N: s.N}
	var total time.Duration
	for r.Reps < cfg.MinReps || total < cfg.MinTime {
		start := time.Now()
		if err := d.Run(ctx, op, s, a, b, c); err != nil {
			return benchResult{}, err
		}
		took := time.Since(start)
		total += took
		r.Reps++
		r.Best = max(r.Best, s.FLOPs()/took.Seconds()/1e9)
	}
	r.Seconds = total.Seconds()
	r.GFLOPS = float64(r.Reps) * s.FLOPs() / r.Seconds / 1e9
	return r, nil
}

// spotCheck compares 32 random elements of c (of random products of a
// batch) with float64 dot products, allowing the float32 worst-case
// rounding bound 2·K·u·Σ|a||b|: a bench of a kernel that computes garbage
// would be meaningless.
func spotCheck(op kernel.Op, s kernel.Shape, a, b, c []float32, rng *rand.Rand) error {
	one := s.Single()
	const u = 1.0 / (1 << 24)
	for range 32 {
		z, i, j := rng.IntN(s.Count()), rng.IntN(s.M), rng.IntN(s.N)
		az, bz := a[z*one.ALen():(z+1)*one.ALen()], b[z*one.BLen():(z+1)*one.BLen()]
		aAt := func(k int) float64 {
			if op == kernel.MatMulTN {
				return float64(az[k*s.M+i])
			}
			return float64(az[i*s.K+k])
		}
		bAt := func(k int) float64 {
			if op == kernel.MatMulNT {
				return float64(bz[j*s.K+k])
			}
			return float64(bz[k*s.N+j])
		}
		var want, mag float64
		for k := range s.K {
			p := aAt(k) * bAt(k)
			want += p
			mag += math.Abs(p)
		}
		got := float64(c[z*one.CLen()+i*s.N+j])
		if math.Abs(got-want) > 2*float64(s.K)*u*mag || math.IsNaN(got) {
			return fmt.Errorf("wrong result: product %d C[%d,%d] = %g, want %g", z, i, j, got, want)
		}
	}
	return nil
}

func parseSizes(list string) ([]kernel.Shape, error) {
	var shapes []kernel.Shape
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > kernel.MaxDim {
			return nil, fmt.Errorf("%q is not a size from 1 to %d", f, kernel.MaxDim)
		}
		s := kernel.Shape{M: n, K: n, N: n}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("size %d: %v", n, err)
		}
		shapes = append(shapes, s)
	}
	return shapes, nil
}

// parseBatched parses a list of batched shapes BxMxKxN, or "none".
func parseBatched(list string) ([]kernel.Shape, error) {
	if list == "none" || list == "" {
		return nil, nil
	}
	var shapes []kernel.Shape
	for _, f := range strings.Split(list, ",") {
		var s kernel.Shape
		var rest string
		f = strings.TrimSpace(f)
		if n, _ := fmt.Sscanf(f, "%dx%dx%dx%d%s", &s.Batch, &s.M, &s.K, &s.N, &rest); n != 4 || s.Batch < 2 {
			return nil, fmt.Errorf("%q is not a batched shape BxMxKxN with B at least 2, e.g. 64x128x32x128", f)
		}
		if err := s.Validate(); err != nil {
			return nil, err
		}
		shapes = append(shapes, s)
	}
	return shapes, nil
}

func parseFamilies(name string) ([]shaders.Family, error) {
	if name == "all" {
		return shaders.Families, nil
	}
	f, err := shaders.ParseFamily(name)
	if err != nil {
		return nil, err
	}
	return []shaders.Family{f}, nil
}

func familyNames() []string {
	var names []string
	for _, f := range shaders.Families {
		names = append(names, f.String())
	}
	return names
}
