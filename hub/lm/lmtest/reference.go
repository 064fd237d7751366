// Package lmtest holds test harnesses for the language model: Reference,
// an independent, minimal GPT-2 forward pass in float64 over tensors named
// as Hugging Face stores them. It shares no code with package lm, so tests
// of the tiled model, its gradients and its exported weights can judge
// them against it.
package lmtest

import (
	"math"
	"strconv"

	"github.com/tessera-ai/tessera/internal/safetensors"
)

// Reference is an independent, minimal GPT-2 forward pass in float64 over
// named tensors as Hugging Face stores them: no tiles, no caches, written
// from the architecture's definition. Tests judge the tiled model, its
// gradients (by finite differences) and its export against it.
type Reference struct {
	// W holds every tensor by name, in float64.
	W                     map[string][]float64
	layers, d, heads, ctx int
}

// NewReference returns the reference model of the given shape over ts.
func NewReference(ts []safetensors.Tensor, layers, d, heads, ctx int) *Reference {
	r := &Reference{W: map[string][]float64{}, layers: layers, d: d, heads: heads, ctx: ctx}
	for _, t := range ts {
		v := make([]float64, len(t.Data))
		for i, x := range t.Data {
			v[i] = float64(x)
		}
		r.W[t.Name] = v
	}
	return r
}

func (r *Reference) get(name string) []float64 {
	v, ok := r.W[name]
	if !ok {
		panic("reference: no tensor " + name)
	}
	return v
}

// GPT-2's constants, restated rather than imported from package lm.
const (
	vocab        = 256
	layerNormEps = 1e-5
)

func refLayerNorm(x, g, b []float64) []float64 {
	var mean, vr float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		vr += (v - mean) * (v - mean)
	}
	vr /= float64(len(x))
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (v-mean)/math.Sqrt(vr+layerNormEps)*g[i] + b[i]
	}
	return out
}

// conv1d is GPT-2's Conv1D: y = x·W + b with W stored (in, out).
func conv1d(x, w, b []float64) []float64 {
	out := append([]float64(nil), b...)
	n := len(b)
	for i, xv := range x {
		for j := range n {
			out[j] += xv * w[i*n+j]
		}
	}
	return out
}

// Logits returns, for one sequence of tokens, the logits at every position
// (len(tokens) × 256).
func (r *Reference) Logits(tokens []byte) [][]float64 {
	d, t := r.d, len(tokens)
	hd := d / r.heads
	x := make([][]float64, t)
	wte, wpe := r.get("transformer.wte.weight"), r.get("transformer.wpe.weight")
	for i, tok := range tokens {
		x[i] = make([]float64, d)
		for k := range d {
			x[i][k] = wte[int(tok)*d+k] + wpe[i*d+k]
		}
	}
	for l := range r.layers {
		p := "transformer.h." + strconv.Itoa(l) + "."
		q, k, v := make([][]float64, t), make([][]float64, t), make([][]float64, t)
		for i := range t {
			h := refLayerNorm(x[i], r.get(p+"ln_1.weight"), r.get(p+"ln_1.bias"))
			qkv := conv1d(h, r.get(p+"attn.c_attn.weight"), r.get(p+"attn.c_attn.bias"))
			q[i], k[i], v[i] = qkv[:d], qkv[d:2*d], qkv[2*d:]
		}
		att := make([][]float64, t)
		for i := range t {
			att[i] = make([]float64, d)
			for h := range r.heads {
				s := make([]float64, i+1)
				mx := math.Inf(-1)
				for j := 0; j <= i; j++ {
					for c := range hd {
						s[j] += q[i][h*hd+c] * k[j][h*hd+c]
					}
					s[j] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, s[j])
				}
				var z float64
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					z += s[j]
				}
				for j := range s {
					for c := range hd {
						att[i][h*hd+c] += s[j] / z * v[j][h*hd+c]
					}
				}
			}
		}
		for i := range t {
			a := conv1d(att[i], r.get(p+"attn.c_proj.weight"), r.get(p+"attn.c_proj.bias"))
			for c := range d {
				x[i][c] += a[c]
			}
			h := refLayerNorm(x[i], r.get(p+"ln_2.weight"), r.get(p+"ln_2.bias"))
			f := conv1d(h, r.get(p+"mlp.c_fc.weight"), r.get(p+"mlp.c_fc.bias"))
			for c, u := range f {
				f[c] = 0.5 * u * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(u+0.044715*u*u*u)))
			}
			m := conv1d(f, r.get(p+"mlp.c_proj.weight"), r.get(p+"mlp.c_proj.bias"))
			for c := range d {
				x[i][c] += m[c]
			}
		}
	}
	out := make([][]float64, t)
	for i := range t {
		h := refLayerNorm(x[i], r.get("transformer.ln_f.weight"), r.get("transformer.ln_f.bias"))
		out[i] = make([]float64, vocab)
		for tok := range vocab {
			for c := range d {
				out[i][tok] += h[c] * wte[tok*d+c]
			}
		}
	}
	return out
}

// Loss returns the mean next-byte cross-entropy in nats of n windows of
// length+1 bytes.
func (r *Reference) Loss(windows []byte, n, length int) float64 {
	var sum float64
	for s := range n {
		w := windows[s*(length+1) : (s+1)*(length+1)]
		lg := r.Logits(w[:length])
		for i, row := range lg {
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, v)
			}
			var z float64
			for _, v := range row {
				z += math.Exp(v - mx)
			}
			sum += mx + math.Log(z) - row[w[i+1]]
		}
	}
	return sum / float64(n*length)
}
