package train

import (
	"fmt"
	"math"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// optimizer updates parameters out of place: it reads p and writes the
// new values to next, so tasks still holding p are never disturbed.
type optimizer interface {
	update(p, grad, next []float32)
	// state returns the vectors to checkpoint and their count of updates.
	state() (vectors [][]float32, t int)
	setState(vectors [][]float32, t int) error
}

func newOptimizer(s OptimizerSpec, n int) (optimizer, error) {
	switch s.Type {
	case "adam":
		return &adam{lr: s.LearningRate, b1: s.Beta1, b2: s.Beta2, eps: s.Epsilon,
			m: make([]float32, n), v: make([]float32, n)}, nil
	case "sgd":
		return &sgd{lr: s.LearningRate, mu: s.Momentum, vel: make([]float32, n)}, nil
	}
	return nil, fmt.Errorf("unknown optimizer %q", s.Type)
}

// adam is Adam with bias correction (Kingma and Ba, 2015).
type adam struct {
	lr, b1, b2, eps float64
	m, v            []float32
	t               int
}

func (a *adam) update(p, g, next []float32) {
	a.t++
	b1, b2 := float32(a.b1), float32(a.b2)
	c1 := 1 - math.Pow(a.b1, float64(a.t))
	c2 := 1 - math.Pow(a.b2, float64(a.t))
	step := float32(a.lr * math.Sqrt(c2) / c1)
	eps := float32(a.eps * math.Sqrt(c2))
	for i, gi := range g {
		m := b1*a.m[i] + (1-b1)*gi
		v := b2*a.v[i] + (1-b2)*gi*gi
		a.m[i], a.v[i] = m, v
		next[i] = p[i] - step*m/(float32(math.Sqrt(float64(v)))+eps)
	}
}

func (a *adam) state() ([][]float32, int) { return [][]float32{a.m, a.v}, a.t }

func (a *adam) setState(vs [][]float32, t int) error {
	if len(vs) != 2 || len(vs[0]) != len(a.m) || len(vs[1]) != len(a.v) {
		return fmt.Errorf("adam state does not match the model")
	}
	copy(a.m, vs[0])
	copy(a.v, vs[1])
	a.t = t
	return nil
}

// sgd is stochastic gradient descent with heavy-ball momentum.
type sgd struct {
	lr, mu float64
	vel    []float32
	t      int
}

// update is kernel.MomentumStep out of place: the arithmetic a contributor
// keeping weights applies (resident weights), so that both round alike.
func (s *sgd) update(p, g, next []float32) {
	s.t++
	copy(next, p)
	kernel.MomentumStep(next, s.vel, g, float32(s.lr), float32(s.mu))
}

func (s *sgd) state() ([][]float32, int) { return [][]float32{s.vel}, s.t }

func (s *sgd) setState(vs [][]float32, t int) error {
	if len(vs) != 1 || len(vs[0]) != len(s.vel) {
		return fmt.Errorf("sgd state does not match the model")
	}
	copy(s.vel, vs[0])
	s.t = t
	return nil
}
