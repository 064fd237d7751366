package sandbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tetratelabs/wazero/api"
)

// MatMul computes c = op(a)·op(b) in a fresh instance of m, overwriting c.
// It returns at the latest when the time limit passes (ErrTimeout); c is
// written only when it returns nil. Errors name the step that failed.
func (m *Module) MatMul(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	if err := kernel.Check(op, s, a, b, c); err != nil {
		return fmt.Errorf("check operands: %w", err)
	}
	outs, err := m.invoke(ctx, "matmul", op, s, a, b, uint32(4*len(c)))
	if err != nil {
		return err
	}
	getFloats(c, outs[0])
	return nil
}

// Exact computes op(a)·op(b) in float64 and the per-element sums of
// squared terms Σ_k (a_ik·b_kj)² in a fresh instance of m (the guest runs
// kernel.Exact): the reference the hub arbitrates disputed results with.
func (m *Module) Exact(ctx context.Context, op kernel.Op, s kernel.Shape, a, b []float32) (exact, sumSq []float64, err error) {
	if err := kernel.Check(op, s, a, b, make([]float32, s.CLen())); err != nil {
		return nil, nil, fmt.Errorf("check operands: %w", err)
	}
	n := uint32(8 * s.CLen())
	outs, err := m.invoke(ctx, "exact", op, s, a, b, n, n)
	if err != nil {
		return nil, nil, err
	}
	exact, sumSq = make([]float64, s.CLen()), make([]float64, s.CLen())
	getDoubles(exact, outs[0])
	getDoubles(sumSq, outs[1])
	return exact, sumSq, nil
}

// invoke runs export(op, Batch, M, K, N, a, b, out...) in a fresh instance, with
// a and b copied in and output buffers of the given sizes, and returns
// copies of the outputs.
func (m *Module) invoke(ctx context.Context, export string, op kernel.Op, s kernel.Shape, a, b []float32, outSizes ...uint32) ([][]byte, error) {
	need := 4 * uint64(len(a)+len(b))
	for _, n := range outSizes {
		need += uint64(n)
	}
	if m.baseBytes+need > m.cfg.MemoryLimitBytes {
		return nil, fmt.Errorf("check memory: %w: %v %v needs %s for operands on top of the module's %s, limit %s",
			ErrMemoryLimit, op, s, mib(need), mib(m.baseBytes), mib(m.cfg.MemoryLimitBytes))
	}
	if err := m.begin(); err != nil {
		return nil, fmt.Errorf("%s: %w", export, err)
	}
	limit := m.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < limit {
		limit = time.Until(dl) // the caller's deadline comes first
	}
	deadline := time.Now().Add(limit)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	inst, stderr, err := m.instantiate(ctx, limit)
	if err != nil {
		m.running.Done()
		return nil, err
	}
	abandoned := false
	defer func() {
		if !abandoned {
			inst.Close(context.Background())
			m.running.Done()
		}
	}()

	args := []uint64{uint64(op), uint64(s.Batch), uint64(s.M), uint64(s.K), uint64(s.N)}
	for i, x := range [][]float32{a, b} {
		p, err := m.copyIn(ctx, limit, inst, stderr, x)
		if err != nil {
			return nil, fmt.Errorf("copy operand %c: %w", "AB"[i], err)
		}
		args = append(args, uint64(p))
	}
	outPtrs := make([]uint32, len(outSizes))
	for i, n := range outSizes {
		p, err := m.allocate(ctx, limit, inst, stderr, n)
		if err != nil {
			return nil, fmt.Errorf("allocate output %d: %w", i, err)
		}
		outPtrs[i] = p
		args = append(args, uint64(p))
	}

	// The kernel runs on its own goroutine so that invoke returns at the
	// deadline even when the guest cannot be interrupted (Config.Interrupt
	// false); the goroutine then owns the instance and closes it.
	type outcome struct {
		res []uint64
		err error
	}
	done := make(chan outcome, 1)
	fn := inst.ExportedFunction(export)
	go func() {
		res, err := fn.Call(ctx, args...)
		done <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-done:
		// Finished, but past the limit: report the limit, consistently.
		// The wall clock decides, since a busy machine can delay the
		// context's timer while the guest runs.
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("call %s: %w", export, m.classify(ctx, limit, context.DeadlineExceeded, stderr))
		}
	case <-ctx.Done():
		abandoned = true
		go func() {
			<-done
			inst.Close(context.Background())
			m.running.Done()
		}()
		return nil, fmt.Errorf("call %s: %w", export, m.classify(ctx, limit, ctx.Err(), stderr))
	}
	if o.err != nil {
		return nil, fmt.Errorf("call %s: %w", export, m.classify(ctx, limit, o.err, stderr))
	}
	if code := uint32(o.res[0]); code != 0 {
		return nil, fmt.Errorf("call %s: %w: code %d (%s)", export, ErrGuest, code, guestCodes[code])
	}
	outs := make([][]byte, len(outSizes))
	for i, p := range outPtrs {
		view, ok := inst.Memory().Read(p, outSizes[i])
		if !ok {
			return nil, fmt.Errorf("copy result: %w: output at %#x is outside memory", ErrGuest, p)
		}
		outs[i] = append([]byte(nil), view...)
	}
	return outs, nil
}

// allocate asks the guest for a buffer of size bytes.
func (m *Module) allocate(ctx context.Context, limit time.Duration, inst api.Module, stderr *stderrBuffer, size uint32) (uint32, error) {
	res, err := inst.ExportedFunction("alloc").Call(ctx, uint64(size))
	if err != nil {
		return 0, fmt.Errorf("alloc %s: %w", mib(uint64(size)), m.classify(ctx, limit, err, stderr))
	}
	ptr := uint32(res[0])
	if _, ok := inst.Memory().Read(ptr, size); ptr == 0 || !ok {
		return 0, fmt.Errorf("alloc %s: %w: returned %#x, outside memory", mib(uint64(size)), ErrGuest, ptr)
	}
	return ptr, nil
}

// copyIn allocates a guest buffer for x and copies x into it.
func (m *Module) copyIn(ctx context.Context, limit time.Duration, inst api.Module, stderr *stderrBuffer, x []float32) (uint32, error) {
	size := uint64(4 * len(x))
	res, err := inst.ExportedFunction("alloc").Call(ctx, size)
	if err != nil {
		return 0, fmt.Errorf("alloc %s: %w", mib(size), m.classify(ctx, limit, err, stderr))
	}
	ptr := uint32(res[0])
	view, ok := inst.Memory().Read(ptr, uint32(size))
	if ptr == 0 || !ok {
		return 0, fmt.Errorf("alloc %s: %w: returned %#x, outside memory", mib(size), ErrGuest, ptr)
	}
	putFloats(view, x)
	return ptr, nil
}

// classify turns an error from the guest into one of the package's
// errors, using the context and what the guest wrote to stderr.
// limit is the time limit the call ran under.
func (m *Module) classify(ctx context.Context, limit time.Duration, err error, stderr *stderrBuffer) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w (limit %v): %w", ErrTimeout, limit.Round(time.Millisecond), context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return err
	}
	line := stderr.firstLine()
	if strings.Contains(line, "out of memory") {
		return fmt.Errorf("%w (limit %s): guest aborted: %s", ErrMemoryLimit, mib(m.cfg.MemoryLimitBytes), line)
	}
	if line != "" {
		return fmt.Errorf("%w: %v; stderr: %s", ErrGuest, err, line)
	}
	return fmt.Errorf("%w: %v", ErrGuest, err)
}

// putFloats writes src into dst as little-endian float32.
func putFloats(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// getDoubles reads little-endian float64 from src into dst.
func getDoubles(dst []float64, src []byte) {
	for i := range dst {
		dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:]))
	}
}

// getFloats reads little-endian float32 from src into dst.
func getFloats(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// mib formats a byte count in MiB for error messages.
func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
