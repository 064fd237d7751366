package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// modes are the two ways a Module can run.
var modes = []struct {
	name      string
	interrupt bool
}{
	{"Interrupt", true},
	{"Bounded", false},
}

func TestMatMulMatchesReference(t *testing.T) {
	if nativeFusesFMA {
		t.Log("native Go fuses multiply-add on this target: comparing within rounding, not bit for bit")
	}
	shapes := []kernel.Shape{{M: 1, K: 1, N: 1}, {M: 7, K: 13, N: 5}, {M: 65, K: 129, N: 33}, {M: 128, K: 64, N: 96},
		{Batch: 3, M: 5, K: 7, N: 9}, {Batch: 1, M: 4, K: 3, N: 2}, {Batch: 16, M: 32, K: 8, N: 32}}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Interrupt = mode.interrupt
			m := compile(t, cfg)
			for _, op := range kernel.Ops {
				for _, s := range shapes {
					t.Run(fmt.Sprintf("%v/%v", op, s), func(t *testing.T) {
						a, b, c := operands(op, s, 1)
						if err := m.MatMul(context.Background(), op, s, a, b, c); err != nil {
							t.Fatal(err)
						}
						checkEqual(t, s, c, reference(t, op, s, a, b))
					})
				}
			}
		})
	}
}

func TestHash(t *testing.T) {
	wasm := wasmBytes(t)
	sum := sha256.Sum256(wasm)
	want := hex.EncodeToString(sum[:])
	m1 := compile(t, DefaultConfig())
	m2 := compile(t, Config{Interrupt: false})
	if m1.Hash != want || m2.Hash != want {
		t.Fatalf("Hash = %s, %s; want sha256 %s", m1.Hash, m2.Hash, want)
	}

	t.Run("Reproducible", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "kernels.wasm")
		if err := Build(context.Background(), out); err != nil {
			t.Fatal(err)
		}
		again, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(again); hex.EncodeToString(sum[:]) != want {
			t.Fatal("a second build of the kernels module has different bytes")
		}
	})
}

// TestBuiltinCurrent checks that an embedded module (make kernels) was
// built from the current source with the current toolchain.
func TestBuiltinCurrent(t *testing.T) {
	b, err := Builtin()
	if errors.Is(err, ErrNoBuiltin) {
		t.Skip("no embedded kernels module; make kernels builds one")
	}
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(b) != sha256.Sum256(wasmBytes(t)) {
		t.Fatalf("%s is stale: run make kernels", builtinPath)
	}
}

func TestMemoryLimit(t *testing.T) {
	small := kernel.Shape{M: 3, K: 4, N: 5}
	for _, tc := range []struct {
		name  string
		shape kernel.Shape
		// limit returns the memory limit given the module's initial
		// memory and the operands' bytes.
		limit func(base, operands uint64) uint64
	}{
		// The host refuses before starting an instance.
		{"Operands", kernel.Shape{M: 1024, K: 1024, N: 1024}, func(base, operands uint64) uint64 { return base + operands/2 }},
		// The operands fit, the Go heap around them does not: the guest
		// runtime aborts and the host reports it.
		{"GuestHeap", kernel.Shape{M: 1024, K: 1024, N: 1024}, func(base, operands uint64) uint64 { return base + operands + pageSize }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probe := compile(t, DefaultConfig())
			need := 4 * uint64(tc.shape.ALen()+tc.shape.BLen()+tc.shape.CLen())
			cfg := DefaultConfig()
			cfg.MemoryLimitBytes = tc.limit(probe.baseBytes, need)
			m := compile(t, cfg)

			a, b, c := operands(kernel.MatMulNN, tc.shape, 2)
			err := m.MatMul(context.Background(), kernel.MatMulNN, tc.shape, a, b, c)
			if !errors.Is(err, ErrMemoryLimit) {
				t.Fatalf("MatMul over the limit: err = %v, want ErrMemoryLimit", err)
			}
			if !strings.Contains(err.Error(), "memory limit") {
				t.Errorf("error %q does not mention the memory limit", err)
			}
			t.Log(err)

			a, b, c = operands(kernel.MatMulNN, small, 3)
			if err := m.MatMul(context.Background(), kernel.MatMulNN, small, a, b, c); err != nil {
				t.Fatalf("small MatMul after the failure: %v", err)
			}
			checkEqual(t, small, c, reference(t, kernel.MatMulNN, small, a, b))
		})
	}
}

func TestTimeout(t *testing.T) {
	big := kernel.Shape{M: 512, K: 512, N: 512}
	small := kernel.Shape{M: 2, K: 3, N: 4}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			for _, tc := range []struct {
				name    string
				timeout time.Duration // Config.Timeout
				ctx     time.Duration // the caller's deadline, 0 for none
			}{
				{"ConfigTimeout", 20 * time.Millisecond, 0},
				{"CallerDeadline", 0, 20 * time.Millisecond},
			} {
				t.Run(tc.name, func(t *testing.T) {
					cfg := DefaultConfig()
					cfg.Interrupt = mode.interrupt
					cfg.Timeout = tc.timeout
					m := compile(t, cfg)
					ctx := context.Background()
					if tc.ctx > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, tc.ctx)
						defer cancel()
					}
					a, b, c := operands(kernel.MatMulNN, big, 4)
					c0 := append([]float32(nil), c...)
					start := time.Now()
					err := m.MatMul(ctx, kernel.MatMulNN, big, a, b, c)
					took := time.Since(start)
					if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
						t.Fatalf("err = %v, want ErrTimeout and DeadlineExceeded", err)
					}
					if !strings.Contains(err.Error(), "time limit") {
						t.Errorf("error %q does not mention the time limit", err)
					}
					// Generous: on a loaded 2-core machine the runtime's timers
					// can lag while the guest holds a core.
					if took > 10*time.Second {
						t.Errorf("MatMul returned %v after a 20ms limit", took)
					}
					for i := range c {
						if c[i] != c0[i] && !(c[i] != c[i] && c0[i] != c0[i]) {
							t.Fatalf("C[%d] written by a call that timed out", i)
						}
					}
					t.Logf("%v after %v", err, took)

					if tc.ctx == 0 {
						return // a 20ms Config.Timeout is too short for the next call under -race
					}
					a, b, c = operands(kernel.MatMulNN, small, 5)
					if err := m.MatMul(context.Background(), kernel.MatMulNN, small, a, b, c); err != nil {
						t.Fatalf("MatMul after a timeout: %v", err)
					}
					checkEqual(t, small, c, reference(t, kernel.MatMulNN, small, a, b))
				})
			}
		})
	}
}

func TestBadOperands(t *testing.T) {
	m := compile(t, DefaultConfig())
	s := kernel.Shape{M: 2, K: 3, N: 4}
	a, b, c := operands(kernel.MatMulNN, s, 6)
	for _, tc := range []struct {
		name    string
		op      kernel.Op
		s       kernel.Shape
		a, b, c []float32
		want    error
	}{
		{"ShortA", kernel.MatMulNN, s, a[1:], b, c, kernel.ErrOperand},
		{"LongC", kernel.MatMulNN, s, a, b, append(c, 0), kernel.ErrOperand},
		{"NTLayout", kernel.MatMulNT, kernel.Shape{M: 2, K: 3, N: 5}, a, b, c, kernel.ErrOperand},
		{"UnknownOp", kernel.Op(9), s, a, b, c, nil},
		{"ZeroDim", kernel.MatMulNN, kernel.Shape{M: 0, K: 3, N: 4}, nil, b, nil, nil},
		{"HugeDim", kernel.MatMulNN, kernel.Shape{M: kernel.MaxDim + 1, K: 1, N: 1}, nil, nil, nil, nil},
		{"BatchedShapeOneProduct", kernel.MatMulNN, kernel.Shape{Batch: 2, M: 2, K: 3, N: 4}, a, b, c, kernel.ErrOperand},
		{"BatchTooLarge", kernel.MatMulNN, kernel.Shape{Batch: kernel.MaxBatch + 1, M: 1, K: 1, N: 1}, nil, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.MatMul(context.Background(), tc.op, tc.s, tc.a, tc.b, tc.c)
			if err == nil {
				t.Fatal("MatMul accepted bad operands")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "check operands: ") {
				t.Errorf("err = %q, want it to name the step", err)
			}
		})
	}
}

// TestGuestValidates calls the guest's matmul directly with arguments the
// host would never pass: the guest must refuse them, not read out of bounds.
func TestGuestValidates(t *testing.T) {
	m := compile(t, DefaultConfig())
	ctx := context.Background()
	inst, _, err := m.instantiate(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close(ctx)
	res, err := inst.ExportedFunction("alloc").Call(ctx, 4*6)
	if err != nil {
		t.Fatal(err)
	}
	p := res[0]
	for _, tc := range []struct {
		name string
		args []uint64 // op, batch, m, k, n, a, b, c
		code uint32
	}{
		{"OK", []uint64{1, 0, 2, 3, 1, p, p, p}, 0},
		{"OKBatched", []uint64{1, 3, 1, 2, 1, p, p, p}, 0},
		{"OpWraps", []uint64{257, 0, 1, 1, 1, p, p, p}, 1},
		{"ZeroShape", []uint64{1, 0, 0, 1, 1, p, p, p}, 2},
		{"BatchTooLarge", []uint64{1, kernel.MaxBatch + 1, 1, 1, 1, p, p, p}, 2},
		{"BatchHuge", []uint64{1, 1<<32 - 1, 1, 1, 1, p, p, p}, 2},
		{"UnallocatedPointer", []uint64{1, 0, 1, 1, 1, p + 4, p, p}, 3},
		{"BufferTooSmall", []uint64{1, 0, 3, 3, 3, p, p, p}, 3},
		{"BatchBufferTooSmall", []uint64{1, 4, 1, 2, 1, p, p, p}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := inst.ExportedFunction("matmul").Call(ctx, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := uint32(res[0]); got != tc.code {
				t.Fatalf("matmul%v = %d, want %d", tc.args, got, tc.code)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		wasm []byte
		want error
	}{
		{"Empty", nil, nil},
		{"Garbage", []byte("this is not WebAssembly at all"), nil},
		{"Truncated", wasmBytes(t)[:1000], nil},
		{"NoExports", []byte("\x00asm\x01\x00\x00\x00"), ErrABI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Compile(context.Background(), tc.wasm, DefaultConfig())
			if err == nil {
				m.Close(context.Background())
				t.Fatal("Compile accepted a bad module")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
	t.Run("BadConfig", func(t *testing.T) {
		if _, err := Compile(context.Background(), wasmBytes(t), Config{MemoryLimitBytes: 8 << 30}); err == nil {
			t.Fatal("Compile accepted an 8 GiB memory limit")
		}
	})
}

// TestConcurrent hammers one Module from several goroutines; run it with -race.
func TestConcurrent(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Interrupt = mode.interrupt
			m := compile(t, cfg)
			const workers, calls = 8, 4
			var wg sync.WaitGroup
			errs := make(chan error, workers*calls)
			for w := range workers {
				wg.Go(func() {
					for i := range calls {
						op := kernel.Ops[(w+i)%len(kernel.Ops)]
						s := kernel.Shape{M: 8 + w, K: 16 + i, N: 9}
						a, b, c := operands(op, s, uint64(w*calls+i))
						if err := m.MatMul(context.Background(), op, s, a, b, c); err != nil {
							errs <- fmt.Errorf("worker %d call %d: %w", w, i, err)
							return
						}
						want := reference(t, op, s, a, b)
						for j := range want {
							if c[j] != want[j] && !nativeFusesFMA {
								errs <- fmt.Errorf("worker %d call %d: C[%d] = %v, want %v", w, i, j, c[j], want[j])
								return
							}
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Interrupt = false
	m, err := Compile(context.Background(), wasmBytes(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Abandon a guest that cannot be interrupted; Close must wait for it
	// rather than free the code it runs.
	s := kernel.Shape{M: 256, K: 256, N: 256}
	a, b, c := operands(kernel.MatMulNN, s, 7)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := m.MatMul(ctx, kernel.MatMulNN, s, a, b, c); !errors.Is(err, ErrTimeout) {
		t.Fatalf("MatMul: err = %v, want ErrTimeout", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s = kernel.Shape{M: 1, K: 1, N: 1}
	if err := m.MatMul(context.Background(), kernel.MatMulNN, s, []float32{1}, []float32{2}, []float32{0}); !errors.Is(err, ErrClosed) {
		t.Fatalf("MatMul after Close: err = %v, want ErrClosed", err)
	}
}
