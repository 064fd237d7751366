package infer

import (
	"context"
	"strings"
	"sync"
)

// Pool keeps one Engine per model, made on first use, and a second one
// computing on the hub for the model's HubOnly requests.
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
	engine := name
	if req.HubOnly {
		engine += "\x00hub" // a second engine of the model, computing on the hub
	}
	e, ok := p.engines[engine]
	p.mu.Unlock()
	if !ok {
		if _, _, _, err := p.src.Checkpoint(ctx, name); err != nil {
			return nil, err
		}
		p.mu.Lock()
		if e, ok = p.engines[engine]; !ok && !p.closed {
			cfg := p.cfg
			cfg.HubCompute = cfg.HubCompute || req.HubOnly
			e = NewEngine(name, p.src, cfg)
			p.engines[engine] = e
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
	for key, e := range p.engines {
		name, _, _ := strings.Cut(key, "\x00")
		st, prev := e.Stats(), out[name]
		st.Steps += prev.Steps
		st.Sequences += prev.Sequences
		st.Tokens += prev.Tokens
		st.MaxBatch = max(st.MaxBatch, prev.MaxBatch)
		st.Requests += prev.Requests
		st.Finished += prev.Finished
		st.Failed += prev.Failed
		st.Decoding += prev.Decoding
		st.Waiting += prev.Waiting
		st.StepSeconds += prev.StepSeconds
		st.FirstTokens += prev.FirstTokens
		st.FirstTokenSeconds += prev.FirstTokenSeconds
		out[name] = st
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
