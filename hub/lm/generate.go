package lm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Decoder runs the model one token at a time in this process, keeping
// each layer's keys and values (a KV cache) so that a token costs one
// row's work instead of a whole sequence's. It reads the model's weights
// as they were when it was made; the model must not be stepped meanwhile.
type Decoder struct {
	m      *Model
	p      []float32
	k, v   [][]float32 // per layer: Context rows of Embd
	pos    int
	tokens []byte // fed so far, for sliding the window
}

// NewDecoder returns a decoder at position 0.
func (m *Model) NewDecoder() *Decoder {
	c := m.cfg
	d := &Decoder{m: m, p: m.params, k: make([][]float32, c.Layers), v: make([][]float32, c.Layers)}
	for i := range c.Layers {
		d.k[i] = make([]float32, c.Context*c.Embd)
		d.v[i] = make([]float32, c.Context*c.Embd)
	}
	return d
}

// Feed appends tok and returns the logits of the next token (Vocab). When
// the context is full, the window slides: the cache is rebuilt from the
// last half of the tokens fed.
func (d *Decoder) Feed(tok byte) []float32 {
	c := d.m.cfg
	if d.pos == c.Context {
		keep := append([]byte(nil), d.tokens[len(d.tokens)-c.Context/2:]...)
		d.pos, d.tokens = 0, d.tokens[:0]
		for _, t := range keep {
			d.feed(t)
		}
	}
	return d.feed(tok)
}

func (d *Decoder) feed(tok byte) []float32 {
	l, c, p := d.m.l, d.m.cfg, d.p
	dm, H := c.Embd, c.Heads
	hd := c.headDim()
	pos := d.pos
	d.tokens = append(d.tokens, tok)
	d.pos++
	x := make([]float32, dm)
	copy(x, p[l.wte+int(tok)*dm:l.wte+(int(tok)+1)*dm])
	addInPlace(x, p[l.wpe+pos*dm:l.wpe+(pos+1)*dm])
	scale := 1 / math.Sqrt(float64(hd))
	for i, b := range l.blocks {
		h, _, _ := layerNorm(x, 1, dm, p[b.ln1g:b.ln1g+dm], p[b.ln1b:b.ln1b+dm])
		qkv := matVec(h, p, &b.attn)
		copy(d.k[i][pos*dm:(pos+1)*dm], qkv[dm:2*dm])
		copy(d.v[i][pos*dm:(pos+1)*dm], qkv[2*dm:])
		a := make([]float32, dm)
		s := make([]float64, pos+1)
		for hh := range H {
			q := qkv[hh*hd : (hh+1)*hd]
			mx := math.Inf(-1)
			for j := 0; j <= pos; j++ {
				var dot float32
				for c, kv := range d.k[i][j*dm+hh*hd : j*dm+(hh+1)*hd] {
					dot += q[c] * kv
				}
				s[j] = float64(dot) * scale
				mx = math.Max(mx, s[j])
			}
			var z float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				z += s[j]
			}
			out := a[hh*hd : (hh+1)*hd]
			for j := range s {
				w := float32(s[j] / z)
				for c, vv := range d.v[i][j*dm+hh*hd : j*dm+(hh+1)*hd] {
					out[c] += w * vv
				}
			}
		}
		addInPlace(x, matVec(a, p, &b.proj))
		h, _, _ = layerNorm(x, 1, dm, p[b.ln2g:b.ln2g+dm], p[b.ln2b:b.ln2b+dm])
		f := matVec(h, p, &b.fc)
		for k, v := range f {
			f[k] = gelu(v)
		}
		addInPlace(x, matVec(f, p, &b.mproj))
	}
	hf, _, _ := layerNorm(x, 1, dm, p[l.lnfg:l.lnfg+dm], p[l.lnfb:l.lnfb+dm])
	logits := make([]float32, Vocab)
	for t := range Vocab {
		var s float32
		for k, w := range p[l.wte+t*dm : l.wte+(t+1)*dm] {
			s += hf[k] * w
		}
		logits[t] = s
	}
	return logits
}

// matVec returns x·W + b for one row x.
func matVec(x, p []float32, ln *linear) []float32 {
	out := append([]float32(nil), p[ln.b:ln.b+ln.out]...)
	w := p[ln.w : ln.w+ln.in*ln.out]
	for i, xv := range x {
		row := w[i*ln.out : (i+1)*ln.out]
		for j, wv := range row {
			out[j] += xv * wv
		}
	}
	return out
}

// Sampler picks the next token from logits: greedy at temperature 0,
// otherwise from the softmax at that temperature restricted to the
// smallest set of tokens whose probability reaches TopP (nucleus
// sampling; 1 keeps all), drawn from a generator seeded with Seed.
type Sampler struct {
	Temperature float64
	TopP        float64
	rng         *rand.Rand
}

// NewSampler returns a sampler; it checks its settings.
func NewSampler(temperature, topP float64, seed uint64) (*Sampler, error) {
	if !(temperature >= 0 && temperature <= 10) {
		return nil, fmt.Errorf("temperature %v is not between 0 and 10", temperature)
	}
	if !(topP > 0 && topP <= 1) {
		return nil, fmt.Errorf("top_p %v is not in (0, 1]", topP)
	}
	return &Sampler{Temperature: temperature, TopP: topP, rng: rand.New(rand.NewPCG(seed, 0x5a3e))}, nil
}

// Next returns the token chosen from logits.
func (s *Sampler) Next(logits []float32) byte {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	if s.Temperature == 0 {
		return byte(best)
	}
	idx := make([]int, len(logits))
	prob := make([]float64, len(logits))
	var z float64
	for i, v := range logits {
		idx[i] = i
		prob[i] = math.Exp((float64(v) - float64(logits[best])) / s.Temperature)
		z += prob[i]
	}
	sort.SliceStable(idx, func(a, b int) bool { return prob[idx[a]] > prob[idx[b]] })
	var keep []int
	var mass float64
	for _, i := range idx {
		keep = append(keep, i)
		mass += prob[i] / z
		if mass >= s.TopP {
			break
		}
	}
	var kz float64
	for _, i := range keep {
		kz += prob[i]
	}
	r := s.rng.Float64() * kz
	for _, i := range keep {
		if r -= prob[i]; r <= 0 {
			return byte(i)
		}
	}
	return byte(keep[len(keep)-1])
}

// Generate feeds prompt (a lone Separator-style start when empty: token 0)
// and returns n more tokens chosen by s.
func (m *Model) Generate(prompt []byte, n int, s *Sampler) []byte {
	d := m.NewDecoder()
	if len(prompt) == 0 {
		prompt = []byte{0}
	}
	var logits []float32
	for _, t := range prompt {
		logits = d.Feed(t)
	}
	out := make([]byte, 0, n)
	for range n {
		t := s.Next(logits)
		out = append(out, t)
		logits = d.Feed(t)
	}
	return out
}
