package adversary

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// Strategy names how a malicious contributor corrupts its results.
type Strategy string

// The strategies of the adversarial suite. Every cheater first computes
// the honest result with kernel.Reference, then corrupts it.
const (
	// Honest returns the honest result (the baseline).
	Honest Strategy = "honest"
	// Random returns values uniform in [-1, 1), unrelated to the task.
	Random Strategy = "random"
	// Zeros returns an all-zero result.
	Zeros Strategy = "zeros"
	// Noise2 multiplies every element by 1 + 1e-2·g, g standard normal.
	Noise2 Strategy = "noise-1e-2"
	// Noise3 multiplies every element by 1 + 1e-3·g.
	Noise3 Strategy = "noise-1e-3"
	// Stale replays the first result it computed for the same kernel and
	// shape (an honest result of an earlier task).
	Stale Strategy = "stale"
	// Partial computes only the first half of the rows; the rest are zero.
	Partial Strategy = "partial"
	// Collude is one member of a colluding pair: when its partner has an
	// output for the same kernel and shape that it has not copied yet, it
	// returns that; otherwise it computes honestly and shares the output.
	// The pair does half the work between them.
	Collude Strategy = "collude"
)

// Lower-precision probes: the operands are rounded to a narrower format
// (fp32 accumulation as tensor cores do), which saves real work on GPUs.
const (
	// TF32 rounds A and B to 10 mantissa bits (NVIDIA TF32).
	TF32 Strategy = "tf32"
	// BF16 rounds A and B to 7 mantissa bits (bfloat16).
	BF16 Strategy = "bf16"
)

// Strategies lists the malicious strategies of the suite, in table order.
var Strategies = []Strategy{Random, Zeros, Noise2, Noise3, Stale, Partial, Collude}

// Noise returns the strategy that multiplies every element by 1 + eps·g,
// g standard normal: Noise(1e-2) is Noise2.
func Noise(eps float64) Strategy {
	return Strategy("noise-" + strconv.FormatFloat(eps, 'g', -1, 64))
}

// noiseLevel returns eps for a noise strategy.
func (s Strategy) noiseLevel() (float64, bool) {
	rest, ok := strings.CutPrefix(string(s), "noise-")
	if !ok {
		return 0, false
	}
	eps, err := strconv.ParseFloat(rest, 64)
	return eps, err == nil && eps > 0
}

// Valid reports an error if s is not a known strategy.
func (s Strategy) Valid() error {
	switch s {
	case Honest, Random, Zeros, Stale, Partial, Collude, TF32, BF16:
		return nil
	}
	if _, ok := s.noiseLevel(); ok {
		return nil
	}
	return fmt.Errorf("adversary: unknown strategy %q", string(s))
}

// opShape keys outputs by kernel and shape.
type opShape struct {
	op kernel.Op
	sh kernel.Shape
}

// board is what a colluding pair shares: each member's latest honest
// output per kernel and shape, until the partner has copied it.
type board struct {
	mu     sync.Mutex
	latest [2]map[opShape][]float32
}

func newBoard() *board {
	return &board{latest: [2]map[opShape][]float32{{}, {}}}
}

// take removes and returns the output member's partner left for k.
func (b *board) take(member int, k opShape) []float32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.latest[1-member]
	out := m[k]
	delete(m, k)
	return out
}

// put shares member's latest honest output for k.
func (b *board) put(member int, k opShape, c []float32) {
	b.mu.Lock()
	b.latest[member][k] = slices.Clone(c)
	b.mu.Unlock()
}

// cheater is a device.Device that computes the honest result and then
// corrupts it according to its strategy, on a fraction rate of its tasks.
// It tells rec about every output, and whether it was corrupted.
type cheater struct {
	strategy Strategy
	rate     float64
	rec      *tracker

	mu     sync.Mutex // Run is called by one goroutine, but be safe
	rng    *rand.Rand
	honest []float32
	stale  map[opShape][]float32
	pair   *board
	member int
}

func newCheater(s Strategy, rate float64, seed uint64, rec *tracker) *cheater {
	return &cheater{strategy: s, rate: rate, rec: rec, rng: rand.New(rand.NewPCG(seed, 0xadce)), stale: map[opShape][]float32{}}
}

// Info implements device.Device; a cheater looks like the CPU backend.
func (d *cheater) Info() device.Info { return device.CPU{}.Info() }

// Close implements device.Device.
func (d *cheater) Close() error { return nil }

// Run implements device.Device.
func (d *cheater) Run(ctx context.Context, op kernel.Op, sh kernel.Shape, a, b, c []float32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := opShape{op, sh}
	d.mu.Lock()
	defer d.mu.Unlock()
	var copied []float32
	if d.pair != nil {
		copied = d.pair.take(d.member, k)
	}
	if err := kernel.Reference(op, sh, a, b, c); err != nil {
		return err // computed even when copying, to know what is bad
	}
	d.honest = append(d.honest[:0], c...)
	if d.strategy == Collude && copied == nil {
		d.pair.put(d.member, k, c)
	}
	if d.strategy == Stale && d.stale[k] == nil {
		d.stale[k] = slices.Clone(c) // the result to replay later
	}
	if d.rate >= 1 || d.rng.Float64() < d.rate {
		if bits := d.strategy.mantissa(); bits > 0 {
			kernel.Reference(op, sh, round(a, bits), round(b, bits), c)
		} else {
			d.corrupt(k, c, copied)
		}
	}
	d.rec.ran(c, !slices.Equal(c, d.honest))
	return nil
}

// corrupt applies the strategy to the honest result c.
func (d *cheater) corrupt(k opShape, c, copied []float32) {
	switch d.strategy {
	case Honest:
	case Random:
		for i := range c {
			c[i] = 2*d.rng.Float32() - 1
		}
	case Zeros:
		clear(c)
	case Stale:
		copy(c, d.stale[k])
	case Partial:
		clear(c[(k.sh.M+1)/2*k.sh.N:])
	case Collude:
		if copied != nil {
			copy(c, copied)
		}
	default:
		eps, _ := d.strategy.noiseLevel()
		for i := range c {
			c[i] *= float32(1 + eps*d.rng.NormFloat64())
		}
	}
}

// mantissa returns the mantissa bits of a lower-precision probe, else 0.
func (s Strategy) mantissa() int {
	switch s {
	case TF32:
		return 10
	case BF16:
		return 7
	}
	return 0
}

// round returns v rounded to nearest (ties away) with bits mantissa bits.
func round(v []float32, bits int) []float32 {
	drop := uint32(23 - bits)
	out := make([]float32, len(v))
	for i, x := range v {
		u := math.Float32bits(x)
		u += 1 << (drop - 1)
		u &^= 1<<drop - 1
		out[i] = math.Float32frombits(u)
	}
	return out
}

// fingerprint hashes an output so that the wire tracker can match a result
// frame to the device run that produced it.
func fingerprint(c []float32) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range c {
		h ^= uint64(math.Float32bits(v))
		h *= 1099511628211
	}
	return h ^ uint64(len(c))
}
