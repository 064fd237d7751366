// Package resident lets a contributor keep a weight matrix between
// training steps and update it itself, while the hub, which then no longer
// holds the matrix, still checks every product made with it.
//
// The update has to be linear in what the hub sends, and SGD with
// heavy-ball momentum is: from a step's input X (M×K) and output gradient
// dY (M×N) the contributor computes g = Xᵀ·dY and applies
// kernel.MomentumStep, v ← μ·v + g and W ← W − η·v. For secret vectors r
// (length N) and s (length K), drawn whenever the tracker is anchored to
// known values of W and v, the hub follows
//
//	g·r = Xᵀ·(dY·r)    and    sᵀ·g = (X·s)ᵀ·dY
//
// in O(M·(K+N)) a step, and from them W·r, v·r, sᵀW and sᵀv. Every later
// product with W is checked by Freivalds against these sketches instead
// of against W: X·W by C·r against X·(W·r), dY·Wᵀ by C·s against
// dY·(sᵀW)ᵀ, and the matrices themselves, when the contributor hands them
// back, by W·r and sᵀW (v likewise). An update skipped, applied twice,
// applied to other data or with another rate moves W by a whole update,
// and the next product checked shows it.
//
// # Tolerances
//
// A check of a product whose operands the hub holds (package verify)
// admits the rounding of that product alone. Here the contributor's W also
// differs from the exact W the sketches follow, and the hub cannot compute
// W's norms, which the check's rounding model needs. The tracker bounds
// both, per row of W (for checks against W·r) and per column (against sᵀW):
//
//   - Norms: Σ_j W_kj²·r_j² is not linear in W, so the tracker keeps an
//     upper bound of its square root instead, exact at the anchor and
//     carried through each update by the triangle inequality. It loosens
//     with the steps (on MNIST, to tens of times the true norms within 30
//     steps); anchoring again makes it exact, and the contributor's own
//     report of its norms with each update (Claim) keeps it within 2.01
//     of them, which a report can tighten but never loosen.
//   - Drift: each update rounds g in its own sum, then v and W element by
//     element. The tracker adds a bound on the variance of each (u² times
//     the square of the rounded value, three times the variance of a
//     uniform rounding error), carried through the momentum, so the
//     tolerance grows with the steps since the anchor.
//
// A result passes when it is within verify.Lambda standard deviations of
// rounding and drift together. Unlike package verify there is no exact
// arbitration of borderline results: the hub has no W to compute with.
package resident

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tessera-ai/tessera/hub/verify"
)

// Tracker follows one K×N weight matrix W and its momentum v, kept by a
// contributor, through SGD steps, and checks products made with them. It is
// not safe for concurrent use.
type Tracker struct {
	k, n   int
	lr, mu float64 // the rates as float32 gives them, as the contributor uses them

	r, s   []float64 // the secret vectors: length n and k
	wr, vr []float64 // W·r and v·r, length k
	sw, sv []float64 // sᵀW and sᵀv, length n

	// Upper bounds of sqrt(Σ_j W_kj² r_j²) per row and sqrt(Σ_k W_kj² s_k²)
	// per column, and likewise for v.
	wRow, vRow, wCol, vCol []float64
	// Bounds on the variance of the drift (the contributor's W·r less the
	// exact W·r, per row; sᵀW per column; likewise for v).
	dwRow, dvRow, dwCol, dvCol []float64

	steps int

	bufs [10][]float64 // scratch of Update, CheckState and Looseness
}

// buf returns scratch vector i, n long and zeroed.
func (t *Tracker) buf(i, n int) []float64 {
	b := t.bufs[i]
	if cap(b) < n {
		b = make([]float64, n)
	}
	b = b[:n]
	clear(b)
	t.bufs[i] = b
	return b
}

// New anchors a tracker to W and v (K×N, row-major), as the contributor
// will hold them, with vectors drawn from rng. lr and mu are the update's
// learning rate and momentum, 0 < lr and 0 ≤ mu < 1.
func New(w, v []float32, k, n int, lr, mu float32, rng *rand.Rand) (*Tracker, error) {
	if k < 1 || n < 1 || len(w) != k*n || len(v) != k*n {
		return nil, fmt.Errorf("resident: %d weights and %d velocities for a %d×%d matrix", len(w), len(v), k, n)
	}
	if !(lr > 0) || math.IsInf(float64(lr), 0) || !(mu >= 0 && mu < 1) {
		return nil, fmt.Errorf("resident: learning rate %v and momentum %v: want lr > 0 and 0 ≤ momentum < 1", lr, mu)
	}
	t := &Tracker{k: k, n: n, lr: float64(lr), mu: float64(mu)}
	vecs := []*[]float64{&t.wr, &t.vr, &t.wRow, &t.vRow, &t.dwRow, &t.dvRow}
	for _, p := range vecs {
		*p = make([]float64, k)
	}
	for _, p := range []*[]float64{&t.sw, &t.sv, &t.wCol, &t.vCol, &t.dwCol, &t.dvCol} {
		*p = make([]float64, n)
	}
	if err := t.Anchor(w, v, rng); err != nil {
		return nil, err
	}
	return t, nil
}

// Anchor makes W and v the tracker's exact state, as when the contributor
// hands them back at a checkpoint and they pass CheckState: it draws new
// vectors, computes the sketches and norms exactly, and clears the drift.
func (t *Tracker) Anchor(w, v []float32, rng *rand.Rand) error {
	if len(w) != t.k*t.n || len(v) != t.k*t.n {
		return fmt.Errorf("resident: %d weights and %d velocities for a %d×%d matrix", len(w), len(v), t.k, t.n)
	}
	for _, m := range [][]float32{w, v} {
		for _, x := range m {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("resident: the matrix holds NaN or Inf")
			}
		}
	}
	t.r, t.s = draw(t.n, rng), draw(t.k, rng)
	sketch(w, t.k, t.n, t.r, t.s, t.wr, t.sw, t.wRow, t.wCol)
	sketch(v, t.k, t.n, t.r, t.s, t.vr, t.sv, t.vRow, t.vCol)
	for _, d := range [][]float64{t.dwRow, t.dvRow, t.dwCol, t.dvCol} {
		clear(d)
	}
	t.steps = 0
	return nil
}

// draw returns n entries drawn as package verify draws its vectors.
func draw(n int, rng *rand.Rand) []float64 {
	r := make([]float64, n)
	verify.RandomVector(r, rng)
	return r
}

// sketch computes m·r, sᵀm and the exact weighted norms of m's rows and
// columns.
func sketch(m []float32, k, n int, r, s, mr, sm, rowNorm, colNorm []float64) {
	clear(sm)
	clear(colNorm)
	for a := range k {
		row := m[a*n : (a+1)*n]
		var dot, sq float64
		sa := s[a]
		for j, x := range row {
			f := float64(x)
			dot += f * r[j]
			sq += f * f * r[j] * r[j]
			sm[j] += sa * f
			colNorm[j] += f * f * sa * sa
		}
		mr[a], rowNorm[a] = dot, math.Sqrt(sq)
	}
	for j := range colNorm {
		colNorm[j] = math.Sqrt(colNorm[j])
	}
}

// Steps returns the updates recorded since the tracker was last anchored.
func (t *Tracker) Steps() int { return t.steps }

// Update records one step the contributor applies: g = Xᵀ·dY with X M×K
// and dY M×N (row-major, exactly the values it was sent), then
// kernel.MomentumStep.
func (t *Tracker) Update(x, dy []float32, m int) error {
	k, n := t.k, t.n
	if m < 1 || len(x) != m*k || len(dy) != m*n {
		return fmt.Errorf("resident: update with %d inputs and %d output gradients for %d rows of a %d×%d matrix", len(x), len(dy), m, k, n)
	}
	// Per row i of the batch: dY_i·r, ‖dY_i‖ weighted by r², X_i·s, ‖X_i‖ by s².
	dyr, dyN, xs, xN := t.buf(0, m), t.buf(1, m), t.buf(2, m), t.buf(3, m)
	for i := range m {
		var d, dn float64
		for j, e := range dy[i*n : (i+1)*n] {
			f := float64(e) * t.r[j]
			d += f
			dn += f * f
		}
		var c, cn float64
		for a, e := range x[i*k : (i+1)*k] {
			f := float64(e) * t.s[a]
			c += f
			cn += f * f
		}
		if math.IsNaN(dn+cn) || math.IsInf(dn+cn, 0) {
			return fmt.Errorf("resident: update data row %d holds NaN or Inf", i)
		}
		dyr[i], dyN[i], xs[i], xN[i] = d, math.Sqrt(dn), c, math.Sqrt(cn)
	}
	// Rows of W: g·r, and bounds on ‖g_k‖ (weighted by r²).
	gr, gN, gQ := t.buf(4, k), t.buf(5, k), t.buf(6, k)
	for i := range m {
		for a, e := range x[i*k : (i+1)*k] {
			f := float64(e)
			gr[a] += f * dyr[i]
			gN[a] += math.Abs(f) * dyN[i]
			gQ[a] += f * f * dyN[i] * dyN[i]
		}
	}
	t.advance(m, gr, gN, gQ, t.wr, t.vr, t.wRow, t.vRow, t.dwRow, t.dvRow)
	// Columns of W: sᵀg, and bounds on ‖g_:j‖ (weighted by s²).
	sg, cN, cQ := t.buf(7, n), t.buf(8, n), t.buf(9, n)
	for i := range m {
		for j, e := range dy[i*n : (i+1)*n] {
			f := float64(e)
			sg[j] += xs[i] * f
			cN[j] += math.Abs(f) * xN[i]
			cQ[j] += f * f * xN[i] * xN[i]
		}
	}
	t.advance(m, sg, cN, cQ, t.sw, t.sv, t.wCol, t.vCol, t.dwCol, t.dvCol)
	t.steps++
	return nil
}

// advance applies one update to one side's sketches (rows or columns):
// gs is the gradient's sketch, gN a bound on each line's weighted norm by
// the triangle inequality, and gQ the sum of its terms' squares, which
// bounds the norm too (by Cauchy–Schwarz, ‖g‖² ≤ M·gQ) and gives the
// variance of g's own rounding.
func (t *Tracker) advance(m int, gs, gN, gQ, ws, vs, wN, vN, dw, dv []float64) {
	u2 := verify.UnitRoundoff * verify.UnitRoundoff
	// δW sums lr·δv over the later steps; through the momentum a step's
	// error in v reaches W at most 1/(1−μ) times.
	carry := t.lr * t.lr / ((1 - t.mu) * (1 - t.mu))
	for a := range gs {
		g2 := min(gN[a]*gN[a], float64(m)*gQ[a]) // a bound on ‖g‖²
		vOld := vN[a]
		vs[a] = t.mu*vs[a] + gs[a]
		ws[a] -= t.lr * vs[a]
		vN[a] = t.mu*vOld + math.Sqrt(g2)
		wN[a] += t.lr * vN[a]
		// Rounding of g's sum (verify's model), of μ·v and of the sum into v.
		ev := verify.Variance(m, g2, gQ[a]) + u2*(t.mu*t.mu*vOld*vOld+vN[a]*vN[a])
		dv[a] = t.mu*t.mu*dv[a] + ev
		// Rounding of lr·v and of the difference into W.
		dw[a] += carry*ev + u2*(t.lr*t.lr*vN[a]*vN[a]+wN[a]*wN[a])
	}
}

// Mismatch is a result that fails a check against the sketches.
type Mismatch struct {
	What      string // the product or matrix checked
	Line      string // "row" or "column"
	Index     int
	Diff, Tol float64
	NonFinite bool
}

func (e *Mismatch) Error() string {
	if e.NonFinite {
		return fmt.Sprintf("%s: %s %d holds NaN or Inf", e.What, e.Line, e.Index)
	}
	return fmt.Sprintf("%s fails the check against the resident weights: %s %d is off by %.3g, more than the rounding and drift allowed, %.3g",
		e.What, e.Line, e.Index, e.Diff, e.Tol)
}

// CheckForward checks C = X·W for X M×K and C M×N.
func (t *Tracker) CheckForward(x, c []float32, m int) error {
	if m < 1 || len(x) != m*t.k || len(c) != m*t.n {
		return fmt.Errorf("resident: X·W with %d inputs and %d outputs for %d rows of a %d×%d matrix", len(x), len(c), m, t.k, t.n)
	}
	return t.check("X·W", m, t.k, t.n, x, c, t.wr, t.r, t.wRow, t.dwRow)
}

// CheckInputGrad checks C = dY·Wᵀ for dY M×N and C M×K.
func (t *Tracker) CheckInputGrad(dy, c []float32, m int) error {
	if m < 1 || len(dy) != m*t.n || len(c) != m*t.k {
		return fmt.Errorf("resident: dY·Wᵀ with %d gradients and %d outputs for %d rows of a %d×%d matrix", len(dy), len(c), m, t.k, t.n)
	}
	return t.check("dY·Wᵀ", m, t.n, t.k, dy, c, t.sw, t.s, t.wCol, t.dwCol)
}

// check is Freivalds for C (M×out) = A (M×in) · B, where B·q = bq, q is the
// vector C is multiplied by, bN bounds B's lines' weighted norms and drift
// their drift variance.
func (t *Tracker) check(what string, m, in, out int, a, c []float32, bq, q, bN, drift []float64) error {
	slack := verify.SubnormalSlack * float64(in*out)
	for i := range m {
		var abq, w, d float64
		for p, e := range a[i*in : (i+1)*in] {
			f := float64(e)
			abq += f * bq[p]
			w += f * f * bN[p] * bN[p]
			d += f * f * drift[p]
		}
		var cq, c2 float64
		for j, e := range c[i*out : (i+1)*out] {
			f := float64(e) * q[j]
			cq += f
			c2 += f * f
		}
		if math.IsNaN(cq+c2) || math.IsInf(cq+c2, 0) {
			return &Mismatch{What: what, Line: "row", Index: i, NonFinite: true}
		}
		diff := math.Abs(cq - abq)
		tol := verify.Lambda*math.Sqrt(verify.Variance(in, c2, w)+d) + slack
		if !(diff <= tol) {
			return &Mismatch{What: what, Line: "row", Index: i, Diff: diff, Tol: tol}
		}
	}
	return nil
}

// CheckState checks a W and v the contributor hands back against the
// sketches, each within the drift of its updates since the anchor. After a
// pass, Anchor(w, v, …) makes them the exact state.
func (t *Tracker) CheckState(w, v []float32) error {
	if len(w) != t.k*t.n || len(v) != t.k*t.n {
		return fmt.Errorf("resident: %d weights and %d velocities handed back for a %d×%d matrix", len(w), len(v), t.k, t.n)
	}
	mr, sm, rowN, colN := t.buf(0, t.k), t.buf(1, t.n), t.buf(2, t.k), t.buf(3, t.n)
	for _, c := range []struct {
		what            string
		m               []float32
		ms, sms, dr, dc []float64
	}{
		{"the weights handed back", w, t.wr, t.sw, t.dwRow, t.dwCol},
		{"the momentum handed back", v, t.vr, t.sv, t.dvRow, t.dvCol},
	} {
		sketch(c.m, t.k, t.n, t.r, t.s, mr, sm, rowN, colN)
		if err := compare(c.what, "row", mr, c.ms, c.dr, t.n); err != nil {
			return err
		}
		if err := compare(c.what, "column", sm, c.sms, c.dc, t.k); err != nil {
			return err
		}
	}
	return nil
}

// compare checks each line's sketch against the tracked one, within
// verify.Lambda standard deviations of its drift.
func compare(what, line string, got, want, drift []float64, length int) error {
	slack := verify.SubnormalSlack * float64(length)
	for i := range got {
		if math.IsNaN(got[i]) || math.IsInf(got[i], 0) {
			return &Mismatch{What: what, Line: line, Index: i, NonFinite: true}
		}
		diff := math.Abs(got[i] - want[i])
		tol := verify.Lambda*math.Sqrt(drift[i]) + slack
		if !(diff <= tol) {
			return &Mismatch{What: what, Line: line, Index: i, Diff: diff, Tol: tol}
		}
	}
	return nil
}

// Looseness returns how far the tracker's norm bounds have drifted above
// the true norms of w, the contributor's current weights: the largest
// ratio of bound to norm over W's rows and columns (1 at the anchor). A
// check's tolerance grows about in proportion, so it measures how much
// weaker a check against the sketches is than one against W itself.
func (t *Tracker) Looseness(w []float32) float64 {
	if len(w) != t.k*t.n {
		return math.NaN()
	}
	mr, sm, rowN, colN := t.buf(0, t.k), t.buf(1, t.n), t.buf(2, t.k), t.buf(3, t.n)
	sketch(w, t.k, t.n, t.r, t.s, mr, sm, rowN, colN)
	worst := 1.0
	for a, x := range rowN {
		if x > 0 {
			worst = max(worst, t.wRow[a]/x)
		}
	}
	for j, x := range colN {
		if x > 0 {
			worst = max(worst, t.wCol[j]/x)
		}
	}
	return worst
}

// Claim takes the contributor's report of its updated W's squared row and
// column norms (Σ_j W_kj² and Σ_k W_kj², unweighted, as kernel.SquaredNorms
// computes them), sent with an update, and tightens the norm bounds with
// it: with every |r_j| ≤ 2, a row's weighted norm is at most twice its
// plain one. A report cannot loosen a check, since each bound only ever
// falls to it (2.01 times the root: the margin covers the report's own
// float32 rounding); a report too low makes the reporter's own next
// checks stricter, and nobody else's. Entries that are negative, NaN or
// Inf are ignored.
func (t *Tracker) Claim(rowSq, colSq []float32) error {
	if len(rowSq) != t.k || len(colSq) != t.n {
		return fmt.Errorf("resident: %d row and %d column norms claimed for a %d×%d matrix", len(rowSq), len(colSq), t.k, t.n)
	}
	tighten(t.wRow, rowSq)
	tighten(t.wCol, colSq)
	return nil
}

func tighten(bound []float64, sq []float32) {
	for i, x := range sq {
		f := float64(x)
		if f >= 0 && !math.IsInf(f, 0) {
			bound[i] = min(bound[i], 2.01*math.Sqrt(f))
		}
	}
}

// Rows and Cols return W's dimensions, K and N.
func (t *Tracker) Rows() int { return t.k }
func (t *Tracker) Cols() int { return t.n }
