package kernel

import (
	"fmt"
	"slices"
)

// MomentumStep applies one step of SGD with heavy-ball momentum in place,
// in float32: v ← mu·v + g, then w ← w − lr·v, element by element.
//
// It is the update a contributor that keeps a weight matrix between steps
// applies to it (package hub/train/resident checks it from the hub), and
// the same arithmetic, in the same order, as the hub's own "sgd" optimizer,
// so that both sides round alike.
func MomentumStep(w, v, g []float32, lr, mu float32) error {
	if len(v) != len(w) || len(g) != len(w) {
		return fmt.Errorf("kernel: momentum step over %d weights with %d velocities and %d gradients", len(w), len(v), len(g))
	}
	for i, gi := range g {
		// The conversions round each product on its own: Go may otherwise
		// fuse a multiply and an add, and then platforms round differently.
		vi := float32(mu*v[i]) + gi
		v[i] = vi
		w[i] -= float32(lr * vi)
	}
	return nil
}

// SquaredNorms appends to dst each row's, then each column's, sum of
// squares of the K×N matrix w, in float32: what a contributor keeping w
// reports after each update, so that the hub can bound the checks'
// rounding tightly.
func SquaredNorms(dst, w []float32, k, n int) []float32 {
	start := len(dst)
	dst = slices.Grow(dst, k+n)[:start+k+n]
	rows, cols := dst[start:start+k], dst[start+k:]
	clear(cols)
	for a := range k {
		var s float32
		for j, x := range w[a*n : (a+1)*n] {
			sq := float32(x * x)
			s += sq
			cols[j] += sq
		}
		rows[a] = s
	}
	return dst
}
