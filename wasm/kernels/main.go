//go:build wasip1

// Command kernels is the CPU reference kernels (internal/kernel) compiled
// to a WebAssembly reactor module for the arbitration sandbox
// (internal/sandbox). The hub recomputes a disputed task with it; an edge
// client can run it when its own binary lacks a kernel.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o kernels.wasm ./wasm/kernels
//
// The host calls _initialize once per instance, then:
//
//	abi_version() u32                      ABI this module speaks (abiVersion)
//	alloc(size u32) u32                    8-byte aligned guest buffer, kept alive until free/reset
//	free(ptr u32)                          releases one buffer
//	reset()                                releases every buffer
//	matmul(op, batch, m, k, n, a, b, c u32) u32   kernel.Reference over guest buffers; 0 or an error code
//	exact(op, batch, m, k, n, a, b, e, s u32) u32 kernel.Exact: float64 product and Σ(ab)² (arbitration)
//
// batch is kernel.Shape.Batch: 0 or 1 for one product, more for that many
// products stacked in every buffer.
//
// The arithmetic is kernel.Reference itself, so results are those of the
// native reference compiled for a target without fused multiply-add.
package main

import (
	"unsafe"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// abiVersion changes whenever an export's signature or meaning changes.
// internal/sandbox refuses a module whose version it does not know.
// Version 3 added the batch argument.
const abiVersion = 3

// Error codes of matmul. internal/sandbox keeps the same table.
const (
	codeOK       = 0
	codeBadOp    = 1 // op is not a known kernel.Op
	codeBadShape = 2 // kernel.Shape.Validate failed
	codeBadPtr   = 3 // an operand pointer is not a live buffer large enough for the shape
	codeFailed   = 4 // kernel.Reference returned an error
)

// live keeps every buffer handed out by alloc reachable, keyed by its
// address in linear memory. Go's collector does not move objects, so the
// address stays valid until free or reset drops the buffer.
var live = map[uint32][]uint64{}

func main() {}

//go:wasmexport abi_version
func abi_version() uint32 { return abiVersion }

// alloc returns the address of a zeroed buffer of at least size bytes,
// aligned to 8 bytes, or 0 for size 0. If the memory limit is hit the Go
// runtime aborts the instance; the host sees the exit and reports it.
//
//go:wasmexport alloc
func alloc(size uint32) uint32 {
	if size == 0 {
		return 0
	}
	buf := make([]uint64, (uint64(size)+7)/8)
	ptr := uint32(uintptr(unsafe.Pointer(&buf[0])))
	live[ptr] = buf
	return ptr
}

//go:wasmexport free
func free(ptr uint32) { delete(live, ptr) }

//go:wasmexport reset
func reset() { clear(live) }

// matmul computes c = op(a)·op(b) with kernel.Reference. a, b and c are
// addresses returned by alloc, holding float32 in the layout kernel.Shape
// documents for op.
//
//go:wasmexport matmul
func matmul(op, batch, m, k, n, a, b, c uint32) uint32 {
	o, s, as, bs, code := inputs(op, batch, m, k, n, a, b)
	if code != codeOK {
		return code
	}
	cs, ok := floats(c, s.CLen())
	if !ok {
		return codeBadPtr
	}
	if kernel.Reference(o, s, as, bs, cs) != nil {
		return codeFailed
	}
	return codeOK
}

// exact computes op(a)·op(b) in float64 into e and Σ_k (a_ik·b_kj)² into
// sabs (kernel.Exact), the hub's arbitration reference. e and sabs are
// buffers of Batch·M·N float64.
//
//go:wasmexport exact
func exact(op, batch, m, k, n, a, b, e, sabs uint32) uint32 {
	o, s, as, bs, code := inputs(op, batch, m, k, n, a, b)
	if code != codeOK {
		return code
	}
	es, ok1 := doubles(e, s.CLen())
	ss, ok2 := doubles(sabs, s.CLen())
	if !ok1 || !ok2 {
		return codeBadPtr
	}
	if kernel.Exact(o, s, as, bs, es, ss) != nil {
		return codeFailed
	}
	return codeOK
}

// inputs validates the op and shape arguments shared by every export and
// views the operand buffers a and b.
func inputs(op, batch, m, k, n, a, b uint32) (kernel.Op, kernel.Shape, []float32, []float32, uint32) {
	o := kernel.Op(op)
	s := kernel.Shape{Batch: int(batch), M: int(m), K: int(k), N: int(n)}
	if op > 255 || !o.Valid() {
		return o, s, nil, nil, codeBadOp
	}
	if s.Validate() != nil {
		return o, s, nil, nil, codeBadShape
	}
	as, ok1 := floats(a, s.ALen())
	bs, ok2 := floats(b, s.BLen())
	if !ok1 || !ok2 {
		return o, s, nil, nil, codeBadPtr
	}
	return o, s, as, bs, codeOK
}

// doubles views the live buffer at ptr as n float64, if it is large enough.
func doubles(ptr uint32, n int) ([]float64, bool) {
	buf, ok := live[ptr]
	if !ok || len(buf) < n {
		return nil, false
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(&buf[0])), n), true
}

// floats views the live buffer at ptr as n float32, if it is large enough.
func floats(ptr uint32, n int) ([]float32, bool) {
	buf, ok := live[ptr]
	if !ok || len(buf)*2 < n {
		return nil, false
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&buf[0])), n), true
}
