package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// run calls doMain as the binary would be run, without signals.
func run(args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	code = doMain(args, &out, &errOut, make(chan os.Signal))
	return out.String(), errOut.String(), code
}

func TestHelpAndUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stdout+stderr
	}{
		{"Help", []string{"--help"}, exitOK, "-grace"},
		{"HelpSubcommands", []string{"help"}, exitOK, "tessera-edge proof [flags]"},
		{"BenchHelp", []string{"bench", "--help"}, exitOK, "-sizes"},
		{"ProofHelp", []string{"proof", "-h"}, exitOK, "-rpc"},
		{"UnknownFlag", []string{"--nope"}, exitUsage, "flag provided but not defined"},
		{"StrayArgument", []string{"contribute"}, exitUsage, `unexpected argument "contribute"`},
		{"BadKernel", []string{"--kernels", "matmul_xx"}, exitUsage, "unknown kernel"},
		{"BadFamily", []string{"--family", "simd"}, exitUsage, `--family: unknown kernel family "simd"`},
		{"BadHub", []string{"--hub", "ftp://x/ws"}, exitUsage, "want ws://"},
		{"PageURLAsHub", []string{"--hub", "https://hub.example:8443/"}, exitUsage, "wss://hub.example:8443/ws\n"},
		{"HTTPWebsocketPath", []string{"--hub", "http://127.0.0.1:8080/ws"}, exitUsage, "ws://127.0.0.1:8080/ws\n"},
		{"HTTPUnderPrefix", []string{"--hub", "https://example.org/tessera/"}, exitUsage, "wss://example.org/tessera/ws\n"},
		{"NoSlots", []string{"--slots", "0"}, exitUsage, "--slots 0 is not between 1 and 64"},
		{"TooManySlots", []string{"--slots", "65"}, exitUsage, "--slots 65"},
		{"BadSize", []string{"bench", "--sizes", "64,huge"}, exitUsage, `"huge" is not a size`},
		{"BadBackend", []string{"bench", "--backend", "tpu"}, exitUsage, "want cpu, webgpu or all"},
		{"BadFamily", []string{"bench", "--family", "simd"}, exitUsage, "simd"},
		{"BadBatched", []string{"bench", "--batched", "128x32x128"}, exitUsage, "not a batched shape"},
		{"BatchTooLarge", []string{"bench", "--batched", "5000x2x2x2"}, exitUsage, "batch must be"},
		{"ProofNoKey", []string{"proof", "--key", "/nonexistent/edge.key"}, exitUsage, "no key at /nonexistent/edge.key"},
		{"ProofBadAddress", []string{"proof", "--address", "0x12"}, exitUsage, "not an Ethereum address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("tessera-edge %v: exit %d, want %d with %q in the output:\n%s%s", tc.args, code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

func TestPrintAddress(t *testing.T) {
	key := t.TempDir() + "/k/edge.key"
	first, _, code := run("--key", key, "--print-address")
	second, _, code2 := run("--key", key, "--print-address")
	if code != 0 || code2 != 0 || !strings.HasPrefix(first, "0x") || first != second {
		t.Errorf("--print-address: %q (exit %d) then %q (exit %d); want the same address twice", first, code, second, code2)
	}
}

// benchJSON is the shape of `tessera-edge bench --json`.
type benchJSON struct {
	Devices []benchDevice `json:"devices"`
	Results []benchResult `json:"results"`
}

// TestBench runs the bench on the CPU backend and on the WebGPU adapter
// (lavapipe on a machine without a GPU) and checks the figures are sane:
// one per device, kernel and shape, positive and finite, the best
// repetition no slower than the average.
func TestBench(t *testing.T) {
	for _, tc := range []struct {
		backend string
		devices []string
	}{
		{"cpu", []string{"cpu"}},
		{"webgpu", []string{"webgpu-regblock", "webgpu-tiled", "webgpu-vec4"}},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			out, errOut, code := run("bench", "--backend", tc.backend, "--sizes", "32,96", "--batched", "3x5x7x9", "--time", "20ms", "--reps", "2", "--json")
			if code != 0 {
				if tc.backend == "webgpu" && os.Getenv("TESSERA_GPU_OPTIONAL") == "1" {
					t.Skipf("no WebGPU adapter (TESSERA_GPU_OPTIONAL=1): %s", errOut)
				}
				t.Fatalf("bench exited %d: %s", code, errOut)
			}
			var got benchJSON
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("bench --json: %v\n%s", err, out)
			}
			if len(got.Devices) != len(tc.devices) {
				t.Fatalf("devices %+v, want %v", got.Devices, tc.devices)
			}
			for i, d := range got.Devices {
				if d.Name != tc.devices[i] || d.Backend != tc.backend || d.Adapter == "" || d.Variant == "" {
					t.Errorf("device %d: %+v, want %s on a named adapter", i, d, tc.devices[i])
				}
			}
			if want := len(tc.devices) * 3 * 3; len(got.Results) != want {
				t.Fatalf("%d results, want %d (devices × 3 kernels × 3 shapes)", len(got.Results), want)
			}
			seen := map[string]bool{}
			for _, r := range got.Results {
				seen[r.Device+"/"+r.Op] = true
				square := r.Batch == 0 && r.M == r.K && r.K == r.N && (r.M == 32 || r.M == 96)
				batched := r.Batch == 3 && r.M == 5 && r.K == 7 && r.N == 9
				ok := (square || batched) &&
					r.Reps >= 2 && r.Seconds > 0 && r.GFLOPS > 0 && !math.IsInf(r.GFLOPS, 0) &&
					r.Best >= r.GFLOPS*0.999 && r.GFLOPS < 1e5
				if !ok {
					t.Errorf("implausible result %+v", r)
				}
			}
			for _, d := range tc.devices {
				for _, op := range []string{"matmul_nn", "matmul_nt", "matmul_tn"} {
					if !seen[d+"/"+op] {
						t.Errorf("no result for %s on %s", op, d)
					}
				}
			}
		})
	}
}

func TestBenchTable(t *testing.T) {
	out, errOut, code := run("bench", "--backend", "cpu", "--sizes", "16", "--batched", "none", "--time", "0", "--reps", "1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "DEVICE") || !strings.Contains(lines[1], "16x16x16") {
		t.Fatalf("bench table: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run("bench", "--backend", "cpu", "--sizes", "16", "--batched", "4x8x2x8", "--ops", "matmul_tn", "--time", "0", "--reps", "1")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.Contains(lines[2], "4x8x2x8") {
		t.Fatalf("bench table with a batched shape: exit %d\n%s%s", code, out, errOut)
	}
}

// TestSpotCheck checks that the bench's result check passes correct
// products of every op and catches a wrong one, also in a batch.
func TestSpotCheck(t *testing.T) {
	for _, s := range []kernel.Shape{{M: 7, K: 300, N: 5}, {Batch: 3, M: 7, K: 30, N: 5}} {
		spotCheckShape(t, s)
	}
}

func spotCheckShape(t *testing.T, s kernel.Shape) {
	for _, op := range kernel.Ops {
		rng := rand.New(rand.NewPCG(1, 2))
		a, b, c := make([]float32, s.ALen()), make([]float32, s.BLen()), make([]float32, s.CLen())
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		if err := kernel.Reference(op, s, a, b, c); err != nil {
			t.Fatal(err)
		}
		if err := spotCheck(op, s, a, b, c, rng); err != nil {
			t.Errorf("%v: correct product refused: %v", op, err)
		}
		for i := range c {
			c[i] *= 1.001
		}
		if err := spotCheck(op, s, a, b, c, rng); err == nil {
			t.Errorf("%v: a product off by 0.1%% passed", op)
		}
	}
}
