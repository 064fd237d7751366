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
	if need := 4 * uint64(len(a)+len(b)+len(c)); m.baseBytes+need > m.cfg.MemoryLimitBytes {
		return fmt.Errorf("check memory: %w: %v %v needs %s for operands on top of the module's %s, limit %s",
			ErrMemoryLimit, op, s, mib(need), mib(m.baseBytes), mib(m.cfg.MemoryLimitBytes))
	}
	if err := m.begin(); err != nil {
		return fmt.Errorf("matmul: %w", err)
	}
	limit := m.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < limit {
		limit = time.Until(dl) // the caller's deadline comes first
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	inst, stderr, err := m.instantiate(ctx, limit)
	if err != nil {
		m.running.Done()
		return err
	}
	abandoned := false
	defer func() {
		if !abandoned {
			inst.Close(context.Background())
			m.running.Done()
		}
	}()

	var ptrs [3]uint32
	for i, x := range [][]float32{a, b, c} {
		p, err := m.copyIn(ctx, limit, inst, stderr, x)
		if err != nil {
			return fmt.Errorf("copy operand %c: %w", "ABC"[i], err)
		}
		ptrs[i] = p
	}

	// The kernel runs on its own goroutine so that MatMul returns at the
	// deadline even when the guest cannot be interrupted (Config.Interrupt
	// false); the goroutine then owns the instance and closes it.
	type outcome struct {
		res []uint64
		err error
	}
	done := make(chan outcome, 1)
	fn := inst.ExportedFunction("matmul")
	go func() {
		res, err := fn.Call(ctx, uint64(op), uint64(s.M), uint64(s.K), uint64(s.N),
			uint64(ptrs[0]), uint64(ptrs[1]), uint64(ptrs[2]))
		done <- outcome{res, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		abandoned = true
		go func() {
			<-done
			inst.Close(context.Background())
			m.running.Done()
		}()
		return fmt.Errorf("call matmul: %w", m.classify(ctx, limit, ctx.Err(), stderr))
	}
	if o.err != nil {
		return fmt.Errorf("call matmul: %w", m.classify(ctx, limit, o.err, stderr))
	}
	if code := uint32(o.res[0]); code != 0 {
		return fmt.Errorf("call matmul: %w: code %d (%s)", ErrGuest, code, guestCodes[code])
	}
	view, ok := inst.Memory().Read(ptrs[2], uint32(4*len(c)))
	if !ok {
		return fmt.Errorf("copy result: %w: C at %#x is outside memory", ErrGuest, ptrs[2])
	}
	getFloats(c, view)
	return nil
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

// getFloats reads little-endian float32 from src into dst.
func getFloats(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// mib formats a byte count in MiB for error messages.
func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
