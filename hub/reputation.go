package hub

import (
	"math"
	"sync"
)

// VerificationConfig sets how much work is executed twice and how cheaters
// are punished.
type VerificationConfig struct {
	// Warmup is the number of clean results a newcomer (or a contributor
	// after a strike) must deliver before its replication probability
	// starts to fall from 1.
	Warmup int
	// HalfLife is the number of further clean results that halve it.
	HalfLife float64
	// Floor is the lowest replication probability, for the best records.
	Floor float64
	// MaxStrikes bans a contributor at this many bad results.
	MaxStrikes int
	// Blind disguises every assignment (see verify.Blinding).
	Blind bool
	// Replicate enables redundant execution; without it results are
	// checked by Freivalds alone (benchmarks of the transport use this).
	Replicate bool
	// KeepAfter is the number of clean results since its last strike
	// after which an ordinary contributor may keep weights for a job that
	// lets it (a Kept placed at its address); 0 lets none. An operator's
	// own workers may keep weights whatever their record.
	KeepAfter int
}

// DefaultVerification is BOINC-style adaptive replication: everything a
// newcomer returns is checked twice, the rate halves every 10 clean
// results after the first 20, down to 5%. A contributor may keep weights
// after 100 clean results since its last strike.
func DefaultVerification() VerificationConfig {
	return VerificationConfig{Warmup: 20, HalfLife: 10, Floor: 0.05, MaxStrikes: 3, Blind: true, Replicate: true, KeepAfter: 100}
}

// reputation tracks each address's record: strikes, and clean results
// since the last strike. It is shared by all of an address's connections.
type reputation struct {
	cfg VerificationConfig

	mu sync.Mutex
	m  map[string]*Standing
}

func newReputation(cfg VerificationConfig, stored map[string]Standing) *reputation {
	r := &reputation{cfg: cfg, m: map[string]*Standing{}}
	for a, s := range stored {
		s := s
		r.m[a] = &s
	}
	return r
}

func (r *reputation) get(addr string) *Standing {
	s := r.m[addr]
	if s == nil {
		s = &Standing{}
		r.m[addr] = s
	}
	return s
}

// probability is addr's replication probability.
func (r *reputation) probability(addr string) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rate(*r.get(addr))
}

// rate is the replication probability of a record.
func (r *reputation) rate(s Standing) float64 {
	if s.Clean < r.cfg.Warmup {
		return 1
	}
	p := math.Pow(0.5, float64(s.Clean-r.cfg.Warmup)/r.cfg.HalfLife)
	return max(p, r.cfg.Floor)
}

// good records a clean result.
func (r *reputation) good(addr string) {
	r.mu.Lock()
	r.get(addr).Clean++
	r.mu.Unlock()
}

// strike records a bad result; the record starts over, so the address is
// quarantined (every result replicated) until it has been clean for
// Warmup results again. It returns the new standing.
func (r *reputation) strike(addr string) Standing {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(addr)
	s.Strikes++
	s.Clean = 0
	if s.Strikes >= r.cfg.MaxStrikes {
		s.Banned = true
	}
	return *s
}

// mayKeep reports whether addr's record lets it keep weights: KeepAfter
// clean results (0: never), and not banned.
func (r *reputation) mayKeep(addr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.m[addr]
	return r.cfg.KeepAfter > 0 && s != nil && !s.Banned && s.Clean >= r.cfg.KeepAfter
}

// banned reports whether addr may no longer contribute.
func (r *reputation) banned(addr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.m[addr]
	return s != nil && s.Banned
}

// standing returns a copy of addr's record.
func (r *reputation) standing(addr string) Standing {
	r.mu.Lock()
	defer r.mu.Unlock()
	return *r.get(addr)
}

// ban bans addr on the operator's word, whatever its record.
func (r *reputation) ban(addr string) Standing {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(addr)
	s.Banned = true
	return *s
}

// unban lifts addr's ban and forgives its strikes. The record starts over,
// so the address is quarantined (every result replicated) until it has
// been clean for Warmup results.
func (r *reputation) unban(addr string) Standing {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(addr)
	s.Banned, s.Strikes, s.Clean = false, 0, 0
	return *s
}

// peek returns addr's record without creating one; ok is false when
// there is none.
func (r *reputation) peek(addr string) (s Standing, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.m[addr]; p != nil {
		return *p, true
	}
	return Standing{}, false
}

// all returns a copy of every record.
func (r *reputation) all() map[string]Standing {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Standing, len(r.m))
	for a, s := range r.m {
		out[a] = *s
	}
	return out
}
