package lm

import (
	"fmt"
	"math"
)

// OptConfig is AdamW with a warmup and cosine learning-rate schedule and
// gradient clipping by global norm.
type OptConfig struct {
	LR, MinLR    float64 // peak and final learning rate
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64 // decoupled; matrices and embeddings only
	WarmupSteps  int     // linear warmup from 0 to LR
	MaxSteps     int     // cosine decay from LR to MinLR ends here
	GradClip     float64 // global gradient norm bound; 0 disables
}

// Validate reports a problem with the optimizer's settings.
func (o OptConfig) Validate() error {
	switch {
	case !(o.LR > 0 && o.LR < 10):
		return fmt.Errorf("optimizer.lr must be in (0, 10)")
	case !(o.MinLR >= 0 && o.MinLR <= o.LR):
		return fmt.Errorf("optimizer.min_lr must be in [0, lr]")
	case !(o.Beta1 >= 0 && o.Beta1 < 1) || !(o.Beta2 >= 0 && o.Beta2 < 1) || !(o.Eps > 0 && o.Eps < 1):
		return fmt.Errorf("adamw needs 0 ≤ beta1, beta2 < 1 and 0 < eps < 1")
	case !(o.WeightDecay >= 0 && o.WeightDecay < 1):
		return fmt.Errorf("optimizer.weight_decay must be in [0, 1)")
	case o.WarmupSteps < 0 || o.WarmupSteps > o.MaxSteps:
		return fmt.Errorf("optimizer.warmup_steps must be between 0 and max_steps")
	case !(o.GradClip >= 0 && o.GradClip < 1e6):
		return fmt.Errorf("optimizer.grad_clip must be in [0, 1e6) (0 disables clipping)")
	}
	return nil
}

// lrAt returns the learning rate of step (0-based): linear warmup, then a
// half cosine from LR down to MinLR at MaxSteps.
func (o OptConfig) lrAt(step int) float64 {
	if step < o.WarmupSteps {
		return o.LR * float64(step+1) / float64(o.WarmupSteps)
	}
	span := o.MaxSteps - o.WarmupSteps
	if span <= 0 {
		return o.LR
	}
	frac := min(1, float64(step-o.WarmupSteps)/float64(span))
	return o.MinLR + 0.5*(o.LR-o.MinLR)*(1+math.Cos(math.Pi*frac))
}

// adamW holds the two moments; it updates parameters out of place.
type adamW struct {
	cfg  OptConfig
	l    *layout
	m, v []float32
	t    int
}

func newAdamW(cfg OptConfig, l *layout) *adamW {
	return &adamW{cfg: cfg, l: l, m: make([]float32, l.n), v: make([]float32, l.n)}
}

// clip scales grad so that its global L2 norm is at most GradClip, and
// returns the norm before clipping.
func (a *adamW) clip(grad []float32) float64 {
	var ss float64
	for _, g := range grad {
		ss += float64(g) * float64(g)
	}
	norm := math.Sqrt(ss)
	if a.cfg.GradClip > 0 && norm > a.cfg.GradClip {
		s := float32(a.cfg.GradClip / norm)
		for i := range grad {
			grad[i] *= s
		}
	}
	return norm
}

// update writes p after one AdamW step with grad at the given step's
// learning rate into next.
func (a *adamW) update(p, grad, next []float32, step int) {
	a.t++
	lr := a.cfg.lrAt(step)
	b1, b2 := float32(a.cfg.Beta1), float32(a.cfg.Beta2)
	c1 := 1 - math.Pow(a.cfg.Beta1, float64(a.t))
	c2 := 1 - math.Pow(a.cfg.Beta2, float64(a.t))
	stepSize := float32(lr * math.Sqrt(c2) / c1)
	eps := float32(a.cfg.Eps * math.Sqrt(c2))
	for _, ts := range a.l.tensors {
		wd := float32(0)
		if ts.decay {
			wd = float32(lr * a.cfg.WeightDecay)
		}
		for i := ts.off; i < ts.off+ts.n; i++ {
			g := grad[i]
			a.m[i] = b1*a.m[i] + (1-b1)*g
			a.v[i] = b2*a.v[i] + (1-b2)*g*g
			next[i] = p[i] - wd*p[i] - stepSize*a.m[i]/(float32(math.Sqrt(float64(a.v[i])))+eps)
		}
	}
}
