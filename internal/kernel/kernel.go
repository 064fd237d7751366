// Package kernel names the compute kernels Tessera runs, describes their
// operand shapes, and holds the pure-Go CPU reference for each.
//
// The hub, the native edge client and the browser client all agree on the
// meaning of a kernel through this package: Op says which product is
// computed, Shape gives its dimensions, and Reference computes it on the CPU.
// GPU backends (client/gpu) must match Reference within float32 rounding.
package kernel

import (
	"errors"
	"fmt"
)

// Op identifies a kernel. The numeric values travel on the wire; never
// renumber them.
type Op uint8

// The three matmul variants that a training step needs. For all of them the
// output C is M×N, row-major.
const (
	// MatMulNN computes C = A·B with A M×K and B K×N.
	MatMulNN Op = 1
	// MatMulNT computes C = A·Bᵀ with A M×K and B N×K (dX = dY·Wᵀ).
	MatMulNT Op = 2
	// MatMulTN computes C = Aᵀ·B with A K×M and B K×N (dW = Xᵀ·dY).
	MatMulTN Op = 3
)

// Ops lists every kernel, in wire order.
var Ops = []Op{MatMulNN, MatMulNT, MatMulTN}

// String returns the kernel's registry name, e.g. "matmul_nn".
func (o Op) String() string {
	switch o {
	case MatMulNN:
		return "matmul_nn"
	case MatMulNT:
		return "matmul_nt"
	case MatMulTN:
		return "matmul_tn"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Valid reports whether o names a known kernel.
func (o Op) Valid() bool { return o >= MatMulNN && o <= MatMulTN }

// ParseOp returns the Op with the given registry name.
func ParseOp(name string) (Op, error) {
	for _, o := range Ops {
		if o.String() == name {
			return o, nil
		}
	}
	return 0, fmt.Errorf("unknown kernel %q", name)
}

// MaxDim bounds each dimension of a task.
const MaxDim = 1 << 13

// MaxElems bounds the elements of each operand and of the result: 32 MiB of
// float32, a quarter of the 128 MiB per-binding limit of the WebGPU
// adapters we target (lavapipe, SwiftShader, browsers' defaults).
const MaxElems = 8 << 20

// Shape gives the dimensions of a matmul: C (M×N) = op(A) (M×K) · op(B) (K×N).
//
// Batch > 1 stacks that many independent products of the same dimensions
// (attention's per-head products): each operand holds Batch matrices one
// after the other, and product z reads A's z-th and B's z-th matrix and
// writes C's z-th. Batch 0 and 1 both mean a single product, so shapes
// written before batching existed keep their meaning.
type Shape struct {
	Batch   int
	M, K, N int
}

// MaxBatch bounds the number of products in a batched shape.
const MaxBatch = 1 << 12

// Count returns the number of products: Batch, or 1 when Batch is 0.
func (s Shape) Count() int {
	if s.Batch < 1 {
		return 1
	}
	return s.Batch
}

// Single returns the shape of one product of the batch (Batch 0).
func (s Shape) Single() Shape { return Shape{M: s.M, K: s.K, N: s.N} }

// Validate reports an error if any dimension is out of range.
func (s Shape) Validate() error {
	if s.M < 1 || s.K < 1 || s.N < 1 {
		return fmt.Errorf("shape %v: every dimension must be at least 1", s)
	}
	if s.Batch < 0 || s.Batch > MaxBatch {
		return fmt.Errorf("shape %v: batch must be between 0 and %d", s, MaxBatch)
	}
	if s.M > MaxDim || s.K > MaxDim || s.N > MaxDim {
		return fmt.Errorf("shape %v: dimensions are limited to %d", s, MaxDim)
	}
	if s.ALen() > MaxElems || s.BLen() > MaxElems || s.CLen() > MaxElems {
		return fmt.Errorf("shape %v: each operand is limited to %d elements", s, MaxElems)
	}
	return nil
}

// String formats the shape as MxKxN, or BxMxKxN when batched.
func (s Shape) String() string {
	if s.Batch > 1 {
		return fmt.Sprintf("%dx%dx%dx%d", s.Batch, s.M, s.K, s.N)
	}
	return fmt.Sprintf("%dx%dx%d", s.M, s.K, s.N)
}

// ALen is the number of elements of A (all products of a batch).
func (s Shape) ALen() int { return s.Count() * s.M * s.K }

// BLen is the number of elements of B (all products of a batch).
func (s Shape) BLen() int { return s.Count() * s.K * s.N }

// CLen is the number of elements of C (all products of a batch).
func (s Shape) CLen() int { return s.Count() * s.M * s.N }

// FLOPs is the number of floating-point operations of the product
// (2·Batch·M·K·N).
func (s Shape) FLOPs() float64 {
	return 2 * float64(s.Count()) * float64(s.M) * float64(s.K) * float64(s.N)
}

// ADims returns the stored (rows, cols) of A for op.
func (o Op) ADims(s Shape) (rows, cols int) {
	if o == MatMulTN {
		return s.K, s.M
	}
	return s.M, s.K
}

// BDims returns the stored (rows, cols) of B for op.
func (o Op) BDims(s Shape) (rows, cols int) {
	if o == MatMulNT {
		return s.N, s.K
	}
	return s.K, s.N
}

// ErrOperand is returned when an operand does not match the shape.
var ErrOperand = errors.New("operand size does not match shape")

// Check validates op, shape and the operand lengths together.
func Check(o Op, s Shape, a, b, c []float32) error {
	if !o.Valid() {
		return fmt.Errorf("kernel %v: unknown", o)
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if len(a) != s.ALen() || len(b) != s.BLen() || len(c) != s.CLen() {
		return fmt.Errorf("%w: %v %v has A=%d B=%d C=%d elements, want %d %d %d",
			ErrOperand, o, s, len(a), len(b), len(c), s.ALen(), s.BLen(), s.CLen())
	}
	return nil
}

// ParseShape parses "MxKxN", e.g. "128x128x128".
func ParseShape(s string) (Shape, error) {
	var sh Shape
	var rest string
	n, _ := fmt.Sscanf(s, "%dx%dx%d%s", &sh.M, &sh.K, &sh.N, &rest)
	if n != 3 {
		return Shape{}, fmt.Errorf("shape %q: want MxKxN, e.g. 128x128x128", s)
	}
	return sh, sh.Validate()
}
