package train

import (
	"math"
	"sync"
)

// Exposure rations a job's weights among contributors: it remembers which
// weight tiles each address has ever received and refuses a tile that
// would take an address past the cap. Addresses listed as the operator's
// own workers are exempt. Every new (address, tile) pair is recorded
// durably through record before the tile is handed out, so a restart
// cannot reset anyone's share.
type Exposure struct {
	cap       float64
	fractions []float64 // per weight tile
	exempt    map[string]bool
	record    func(addr string, tile int) error

	mu   sync.Mutex
	held map[string]*holding
	// by lists the addresses that have received each tile.
	by map[int][]string
}

type holding struct {
	tiles    map[int]bool
	fraction float64
}

// NewExposure returns a tracker for tiles of the given weight fractions.
// record persists a new pair; prior holds what is already recorded.
func NewExposure(cap float64, fractions []float64, exempt []string, prior map[string][]int, record func(addr string, tile int) error) *Exposure {
	e := &Exposure{cap: cap, fractions: fractions, exempt: map[string]bool{}, record: record, held: map[string]*holding{}, by: map[int][]string{}}
	for _, a := range exempt {
		e.exempt[a] = true
	}
	for addr, tiles := range prior {
		for _, t := range tiles {
			if t >= 0 && t < len(fractions) {
				e.add(addr, t)
			}
		}
	}
	return e
}

// capSlack absorbs float rounding when tile fractions add up to the cap
// exactly.
const capSlack = 1e-9

func (e *Exposure) add(addr string, tile int) {
	h := e.held[addr]
	if h == nil {
		h = &holding{tiles: map[int]bool{}}
		e.held[addr] = h
	}
	if !h.tiles[tile] {
		h.tiles[tile] = true
		h.fraction += e.fractions[tile]
		e.by[tile] = append(e.by[tile], addr)
	}
}

// holders returns the addresses that have received every tile of ws (-1:
// none), and the exempt ones: the only addresses to whom ws shows nothing
// new, or that the cap does not apply to.
func (e *Exposure) holders(ws []int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for a := range e.exempt {
		out = append(out, a)
	}
	first := -1
	for _, w := range ws {
		if w >= 0 {
			first = w
			break
		}
	}
	if first < 0 {
		return out
	}
	for _, a := range e.by[first] {
		h := e.held[a]
		all := true
		for _, w := range ws {
			if w >= 0 && !h.tiles[w] {
				all = false
				break
			}
		}
		if all && !e.exempt[a] {
			out = append(out, a)
		}
	}
	return out
}

// check reports whether addr may receive the weight tiles ws (-1: none)
// together, and whether any of them would be new to addr.
func (e *Exposure) check(addr string, ws ...int) (allowed, reveals bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.held[addr]
	have := 0.0
	if h != nil {
		have = h.fraction
	}
	for _, w := range ws {
		if w < 0 || (h != nil && h.tiles[w]) {
			continue
		}
		reveals = true
		have += e.fractions[w]
	}
	if !reveals || e.exempt[addr] {
		return true, reveals
	}
	return have <= e.cap+capSlack, true
}

// seen returns the weight tiles addr has received, and the share of the
// weights the cap still allows it (+Inf when it is exempt).
func (e *Exposure) seen(addr string) (tiles map[int]bool, left float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tiles, left = map[int]bool{}, e.cap
	if h := e.held[addr]; h != nil {
		for t := range h.tiles {
			tiles[t] = true
		}
		left -= h.fraction
	}
	if e.exempt[addr] {
		left = math.Inf(1)
	}
	return tiles, left
}

// grant records that addr receives the weight tiles ws.
func (e *Exposure) grant(addr string, ws ...int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range ws {
		if w < 0 {
			continue
		}
		if h := e.held[addr]; h != nil && h.tiles[w] {
			continue
		}
		if err := e.record(addr, w); err != nil {
			return err
		}
		e.add(addr, w)
	}
	return nil
}

// MaxFraction returns the largest share of the weights held by any one
// contributor, exempt ones included, and who holds it.
func (e *Exposure) MaxFraction() (float64, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	best, who := 0.0, ""
	for a, h := range e.held {
		if h.fraction > best {
			best, who = h.fraction, a
		}
	}
	return best, who
}

// MaxFractionNonExempt is MaxFraction over contributors the cap applies to.
func (e *Exposure) MaxFractionNonExempt() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	best := 0.0
	for a, h := range e.held {
		if !e.exempt[a] {
			best = max(best, h.fraction)
		}
	}
	return best
}
