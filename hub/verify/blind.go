package verify

import (
	"math"
	"math/rand/v2"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Blinding disguises one assignment of a task so that two contributors
// given the same task see different inputs and must return different
// outputs: copying a partner's result fails the check. It permutes the
// inner dimension (the order of the K terms of every dot product) and
// scales each row of op(A) and each column of op(B) by a power of two:
//
//	A' = D_r · op(A) · P,  B' = Pᵀ · op(B) · D_c,  so  C' = D_r · C · D_c
//
// Power-of-two scaling is exact in floating point, so Unblind recovers
// exactly the C the contributor computed (in its permuted order). The
// random order of the inner sum is also what makes honest rounding errors
// behave as independent variables, as the probabilistic tolerance assumes.
//
// Blinding does not stop two colluders who compare their inputs: rows of
// their A' differ by a visible power of two, from which they could undo
// each other's scaling. It stops them from simply forwarding an output.
//
// Each product of a batch gets its own permutation and scales.
type Blinding struct {
	perm   []int32 // per product, blinded position k holds original index perm[k]
	rowExp []int8  // scale exponent of each row of C (M per product)
	colExp []int8  // scale exponent of each column of C (N per product)
}

// maxExp bounds the scale exponents: scales are 2^-maxExp … 2^maxExp,
// far from float32's overflow and subnormal ranges for sane operands.
const maxExp = 4

// NewBlinding draws a blinding for a task of shape sh.
func NewBlinding(sh kernel.Shape, rng *rand.Rand) *Blinding {
	return BlindingWith(sh, rng, nil, nil, nil)
}

// drawPerms returns n random permutations of k, one after the other.
func drawPerms(n, k int, rng *rand.Rand) []int32 {
	perms := make([]int32, n*k)
	for z := range n {
		perm := perms[z*k : (z+1)*k]
		for i := range perm {
			perm[i] = int32(i)
		}
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	}
	return perms
}

// drawExps returns n random scale exponents in [-maxExp, maxExp].
func drawExps(n int, rng *rand.Rand) []int8 {
	exps := make([]int8, n)
	for i := range exps {
		exps[i] = int8(rng.IntN(2*maxExp+1) - maxExp)
	}
	return exps
}

// pow2 is 2^e, built from its bits (|e| ≤ maxExp keeps it normal).
func pow2(e int8) float32 { return math.Float32frombits(uint32(127+int32(e)) << 23) }

// Apply writes the blinded operands of (a, b) into a2 and b2, which have
// the lengths of a and b; a nil a2 or b2 skips that operand (one the
// contributor already holds blinded).
func (bl *Blinding) Apply(op kernel.Op, sh kernel.Shape, a, b, a2, b2 []float32) {
	one := sh.Single()
	na, nb := one.ALen(), one.BLen()
	for z := range sh.Count() {
		p := bl.product(z, one)
		if a2 != nil {
			p.applyA(op, one, a[z*na:(z+1)*na], a2[z*na:(z+1)*na])
		}
		if b2 != nil {
			p.applyB(op, one, b[z*nb:(z+1)*nb], b2[z*nb:(z+1)*nb])
		}
	}
}

// product returns the blinding of product z of a batch of products of
// shape one.
func (bl *Blinding) product(z int, one kernel.Shape) Blinding {
	M, K, N := one.M, one.K, one.N
	return Blinding{perm: bl.perm[z*K : (z+1)*K], rowExp: bl.rowExp[z*M : (z+1)*M], colExp: bl.colExp[z*N : (z+1)*N]}
}

// applyA blinds A of one product into a2.
func (bl Blinding) applyA(op kernel.Op, sh kernel.Shape, a, a2 []float32) {
	M, K := sh.M, sh.K
	switch op {
	case kernel.MatMulTN: // A is K×M: row k of A' is row perm[k] of A, columns scaled
		for k, src := range bl.perm {
			row, dst := a[int(src)*M:int(src)*M+M], a2[k*M:k*M+M]
			for i, v := range row {
				dst[i] = v * pow2(bl.rowExp[i])
			}
		}
	default: // A is M×K: columns permuted, rows scaled
		for i := 0; i < M; i++ {
			s := pow2(bl.rowExp[i])
			row, dst := a[i*K:i*K+K], a2[i*K:i*K+K]
			for k, src := range bl.perm {
				dst[k] = row[src] * s
			}
		}
	}
}

// applyB blinds B of one product into b2.
func (bl Blinding) applyB(op kernel.Op, sh kernel.Shape, b, b2 []float32) {
	K, N := sh.K, sh.N
	switch op {
	case kernel.MatMulNT: // B is N×K: columns permuted, rows (C's columns) scaled
		for j := 0; j < N; j++ {
			s := pow2(bl.colExp[j])
			row, dst := b[j*K:j*K+K], b2[j*K:j*K+K]
			for k, src := range bl.perm {
				dst[k] = row[src] * s
			}
		}
	default: // B is K×N: row k of B' is row perm[k] of B, columns scaled
		for k, src := range bl.perm {
			row, dst := b[int(src)*N:int(src)*N+N], b2[k*N:k*N+N]
			for j, v := range row {
				dst[j] = v * pow2(bl.colExp[j])
			}
		}
	}
}

// Unblind turns the blinded result c (M×N per product) back into
// op(A)·op(B), in place.
func (bl *Blinding) Unblind(sh kernel.Shape, c []float32) {
	M, N := sh.M, sh.N
	for z := range sh.Count() {
		for i := 0; i < M; i++ {
			row := c[(z*M+i)*N : (z*M+i+1)*N]
			ri := -bl.rowExp[z*M+i]
			cols := bl.colExp[z*N : (z+1)*N]
			for j := range row {
				row[j] *= pow2(ri - cols[j])
			}
		}
	}
}

// Parts returns the blinding's inner permutations (K per product) and the
// scale exponents of C's rows (M per product) and columns (N per
// product). A blinded operand kept by a contributor was sent under the
// permutation and one of the two; BlindingWith builds a blinding for a
// later task that uses it as it is. The slices are the blinding's own.
func (bl *Blinding) Parts() (perm []int32, rowExp, colExp []int8) {
	return bl.perm, bl.rowExp, bl.colExp
}

// BlindingWith draws a blinding for a task of shape sh that keeps the
// parts given (as Parts returns them) and draws the others: perm with
// rowExp for an A the contributor keeps, perm with colExp for a B. Parts
// of the wrong length are drawn too.
func BlindingWith(sh kernel.Shape, rng *rand.Rand, perm []int32, rowExp, colExp []int8) *Blinding {
	n := sh.Count()
	if len(perm) != n*sh.K {
		perm = drawPerms(n, sh.K, rng)
	}
	if len(rowExp) != n*sh.M {
		rowExp = drawExps(n*sh.M, rng)
	}
	if len(colExp) != n*sh.N {
		colExp = drawExps(n*sh.N, rng)
	}
	return &Blinding{perm: perm, rowExp: rowExp, colExp: colExp}
}
