package infer

import (
	"context"
	"sync"
)

// Pool keeps one Engine per model, made on first use.
type Pool struct {
	src Source
	cfg Config

	mu      sync.Mutex
	engines map[string]*Engine
	closed  bool
}

// NewPool returns a pool whose engines serve src's models with cfg.
func NewPool(src Source, cfg Config) *Pool {
	return &Pool{src: src, cfg: cfg.withDefaults(), engines: map[string]*Engine{}}
}

// Submit queues req on the engine of the model named name (checking first
// that the model exists, so that a bad name makes no engine).
func (p *Pool) Submit(ctx context.Context, name string, req Request) (*Completion, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	e, ok := p.engines[name]
	p.mu.Unlock()
	if !ok {
		if _, _, _, err := p.src.Checkpoint(ctx, name); err != nil {
			return nil, err
		}
		p.mu.Lock()
		if e, ok = p.engines[name]; !ok && !p.closed {
			e = NewEngine(name, p.src, p.cfg)
			p.engines[name] = e
		}
		p.mu.Unlock()
		if e == nil {
			return nil, ErrClosed
		}
	}
	return e.Submit(ctx, req)
}

// Stats returns every engine's counters by model.
func (p *Pool) Stats() map[string]Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]Stats, len(p.engines))
	for name, e := range p.engines {
		out[name] = e.Stats()
	}
	return out
}

// Close stops every engine.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	es := p.engines
	p.engines = map[string]*Engine{}
	p.mu.Unlock()
	for _, e := range es {
		e.Close()
	}
}
