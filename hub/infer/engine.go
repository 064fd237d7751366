package infer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// Source gives an Engine its model: the latest checkpoint of the language
// model named name, frozen, with its step and the executor its tiles go
// to. hub/train's Manager is one.
type Source interface {
	Checkpoint(ctx context.Context, name string) (*lm.Model, int, tile.Executor, error)
}

// Config tunes an Engine.
type Config struct {
	// MaxBatch bounds the requests being decoded, over all lanes.
	MaxBatch int
	// MaxWaiting bounds the requests waiting to join; beyond it Submit
	// returns ErrBusy.
	MaxWaiting int
	// StepTimeout bounds how long one step waits for contributors; the
	// requests of a step that times out fail with ErrNoCompute.
	StepTimeout time.Duration
	// HubCompute makes the hub compute the tiles itself instead of
	// contributors. Such work earns no one credit.
	HubCompute bool
	// MaxTokens bounds a request's max_tokens.
	MaxTokens int
	// Lanes is how many groups the requests in flight are split into,
	// each stepping on its own (lane says why).
	Lanes int
	// MaxKVBytes bounds the KV caches of the requests being decoded, and
	// MaxPromptBytes the attention scores of the prompts fed in one step of
	// every lane together (each lane has its part); a request that does not
	// fit waits for a later step (one request alone is always taken).
	MaxKVBytes, MaxPromptBytes int64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{MaxBatch: 32, MaxWaiting: 256, StepTimeout: 30 * time.Second, MaxTokens: 2048, Lanes: 2,
		MaxKVBytes: 2 << 30, MaxPromptBytes: 1 << 30}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxBatch <= 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.MaxWaiting <= 0 {
		c.MaxWaiting = d.MaxWaiting
	}
	if c.StepTimeout <= 0 {
		c.StepTimeout = d.StepTimeout
	}
	if c.MaxTokens <= 0 {
		c.MaxTokens = d.MaxTokens
	}
	if c.Lanes <= 0 {
		c.Lanes = d.Lanes
	}
	if c.MaxKVBytes <= 0 {
		c.MaxKVBytes = d.MaxKVBytes
	}
	if c.MaxPromptBytes <= 0 {
		c.MaxPromptBytes = d.MaxPromptBytes
	}
	return c
}

// Request is one completion to compute.
type Request struct {
	// Prompt is the text to continue; empty starts from token 0.
	Prompt []byte
	// MaxTokens is the most tokens (bytes) to generate, at least 1.
	MaxTokens int
	// Sampler picks each token.
	Sampler *lm.Sampler
	// Stop ends the completion at the first of these strings; it is not
	// part of the text.
	Stop []string
	// HubOnly has the hub compute the request (a free one: contributors
	// would earn credit for work no one paid for). Pool routes it.
	HubOnly bool
}

// Completion is a request in progress. Read Text until it is closed; the
// other fields are set then.
type Completion struct {
	// Text receives the generated text as it is decoded, in pieces of
	// whole UTF-8 characters; text that may begin a stop string is held
	// back until it does not. Closed when the completion ends.
	Text <-chan string
	text chan string

	// Finish is "stop" (a stop string or the end-of-text token) or
	// "length" (MaxTokens reached); empty with Err set.
	Finish string
	Err    error
	// PromptTokens counts the prompt's tokens (bytes); CompletionTokens
	// the tokens generated, a stop string's and the end-of-text token
	// included (they were computed), whether or not the text shows them.
	PromptTokens, CompletionTokens int
	// Step is the training step of the checkpoint that answered.
	Step int
	// Ledger names the model in the ledger (its job's ID), for metering;
	// set by whoever submitted the request, empty if it is the API's name.
	Ledger string
}

// Stats counts an engine's work.
type Stats struct {
	Steps     uint64 // steps of all lanes
	Sequences uint64 // sequences summed over steps: Sequences/Steps is a lane's mean batch
	MaxBatch  uint64 // the most sequences in one lane's step
	Tokens    uint64 // tokens generated
	// Requests counts requests queued; Finished and Failed those that
	// ended (Failed: an error, the caller's cancellation included).
	Requests, Finished, Failed uint64
	// Decoding and Waiting are the requests in the batch now and those
	// queued to join it.
	Decoding, Waiting int
	// StepSeconds sums the steps' durations; FirstTokens and
	// FirstTokenSeconds count the requests that got a first token and sum
	// their times from Submit to it.
	StepSeconds       float64
	FirstTokens       uint64
	FirstTokenSeconds float64
}

// Engine decodes the requests for one model together.
type Engine struct {
	name string
	src  Source
	cfg  Config
	in   chan *active
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}

	steps, seqs, maxBatch, tokens      atomic.Uint64
	requests, finished, failed, firsts atomic.Uint64
	stepNanos, firstNanos, decoding    atomic.Int64

	closing sync.RWMutex
	closed  bool

	// Admission (admit): requests taken from in but not yet admitted, the
	// oldest first; the KV cache bytes of all admitted requests (their
	// count is decoding); and a channel closed (and replaced) whenever a
	// lane frees some, which lanes with nothing to do wait on.
	adm     sync.Mutex
	pending []*active
	kvUsed  int64
	changed chan struct{}
}

// NewEngine starts an engine for the model named name.
func NewEngine(name string, src Source, cfg Config) *Engine {
	cfg = cfg.withDefaults()
	ctx, stop := context.WithCancel(context.Background())
	e := &Engine{name: name, src: src, cfg: cfg, in: make(chan *active, cfg.MaxWaiting), ctx: ctx, stop: stop, done: make(chan struct{}),
		changed: make(chan struct{})}
	go e.run()
	return e
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	return Stats{Steps: e.steps.Load(), Sequences: e.seqs.Load(), MaxBatch: e.maxBatch.Load(), Tokens: e.tokens.Load(),
		Requests: e.requests.Load(), Finished: e.finished.Load(), Failed: e.failed.Load(),
		Decoding: int(e.decoding.Load()), Waiting: len(e.in),
		StepSeconds: float64(e.stepNanos.Load()) / 1e9, FirstTokens: e.firsts.Load(), FirstTokenSeconds: float64(e.firstNanos.Load()) / 1e9}
}

// Close stops the engine; requests in flight fail with ErrClosed.
func (e *Engine) Close() {
	e.closing.Lock()
	e.closed = true
	e.closing.Unlock()
	e.stop()
	<-e.done
}

// Submit checks req against the model and queues it. The completion ends
// when it is done, fails, or ctx ends.
func (e *Engine) Submit(ctx context.Context, req Request) (*Completion, error) {
	if req.MaxTokens < 1 || req.MaxTokens > e.cfg.MaxTokens {
		return nil, badRequest("max_tokens", "", "max_tokens %d is not in 1..%d", req.MaxTokens, e.cfg.MaxTokens)
	}
	if req.Sampler == nil {
		return nil, badRequest("", "", "no sampler")
	}
	if len(req.Stop) > MaxStops {
		return nil, badRequest("stop", "", "%d stop strings, at most %d", len(req.Stop), MaxStops)
	}
	for _, s := range req.Stop {
		if s == "" || len(s) > MaxStopBytes {
			return nil, badRequest("stop", "", "a stop string must hold 1 to %d bytes", MaxStopBytes)
		}
	}
	model, step, exec, err := e.src.Checkpoint(ctx, e.name)
	if err != nil {
		return nil, err
	}
	if e.cfg.HubCompute {
		exec = tile.NewLocal(0)
	}
	if n := model.Config().Context; len(req.Prompt) > n {
		return nil, badRequest("", "context_length_exceeded", "this model's maximum context length is %d tokens, the prompt has %d", n, len(req.Prompt))
	}
	text := make(chan string, req.MaxTokens+1)
	c := &Completion{Text: text, text: text, PromptTokens: len(req.Prompt), Step: step}
	a := &active{e: e, ctx: ctx, req: req, c: c, model: model, exec: exec, chunk: req.Prompt, submitted: time.Now()}
	if len(a.chunk) == 0 {
		a.chunk = []byte{0}
	}
	// closing is held for reading while enqueueing and for writing by
	// Close, so no request is queued after run has drained the queue.
	e.closing.RLock()
	defer e.closing.RUnlock()
	if e.closed {
		return nil, ErrClosed
	}
	select {
	case e.in <- a:
		e.requests.Add(1)
		return c, nil
	default:
		return nil, ErrBusy
	}
}

// run starts the lanes and, once they have stopped, fails whatever is
// still waiting.
func (e *Engine) run() {
	defer close(e.done)
	var wg sync.WaitGroup
	for range e.cfg.Lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.lane()
		}()
	}
	wg.Wait()
	e.drain(e.pending)
}

// lane is one lane's loop: admit waiting requests, step, repeat. Lanes
// step independently of each other: a step through contributors is a
// chain of round trips (4 per layer and the head), and while one lane's
// requests wait for results, or the hub does their element-wise work,
// another lane's tiles are being computed. Lanes that started their steps
// together would stay in phase, their round trips and their hub work at
// the same moments, so none waits for the others.
func (e *Engine) lane() {
	var batch []*active
	for {
		batch = e.admit(batch)
		if e.ctx.Err() != nil {
			e.drain(batch)
			return
		}
		live := e.step(batch)
		e.release(batch)
		batch = live
	}
}

// admit returns a lane's requests for its next step: batch and, while
// the lane holds less than its share of the requests in flight, waiting
// ones that fit the memory bounds, oldest first. A lane with nothing to do
// waits here for a request (or for memory another lane frees).
func (e *Engine) admit(batch []*active) []*active {
	for {
		e.adm.Lock()
		batch = e.admitLocked(batch)
		changed := e.changed
		wait := len(batch) == 0 && len(e.pending) == 0
		e.adm.Unlock()
		if len(batch) > 0 || e.ctx.Err() != nil {
			return batch
		}
		if !wait { // the oldest request waits for memory another lane holds
			select {
			case <-changed:
			case <-e.ctx.Done():
			}
			continue
		}
		select {
		case a := <-e.in:
			e.adm.Lock()
			e.pending = append(e.pending, a)
			e.adm.Unlock()
		case <-changed:
		case <-e.ctx.Done():
		}
	}
}

// admitLocked moves waiting requests into a lane's batch, in order,
// while the engine decodes fewer than MaxBatch and the lane holds less
// than its fair share of everything in flight or waiting (so that
// requests arriving together are spread over the lanes), stopping at the
// first that does not fit.
func (e *Engine) admitLocked(batch []*active) []*active {
	for {
		if len(e.pending) == 0 {
			select {
			case a := <-e.in:
				e.pending = append(e.pending, a)
			default:
				return batch
			}
		}
		inFlight := int(e.decoding.Load()) // written under adm
		if inFlight >= e.cfg.MaxBatch {
			return batch
		}
		total := inFlight + len(e.pending) + len(e.in)
		if share := (total + e.cfg.Lanes - 1) / e.cfg.Lanes; len(batch) >= share {
			return batch
		}
		a := e.pending[0]
		if !e.fits(batch, a) {
			return batch
		}
		e.pending[0] = nil
		e.pending = e.pending[1:]
		batch = append(batch, a)
		e.kvUsed += a.kvBytes()
		e.decoding.Add(1)
	}
}

// release returns the memory of the requests of batch that ended in the
// step (completed or failed) and wakes lanes waiting for it.
func (e *Engine) release(batch []*active) {
	e.adm.Lock()
	defer e.adm.Unlock()
	ended := 0
	for _, a := range batch {
		if a.ended() {
			e.kvUsed -= a.kvBytes()
			ended++
		}
	}
	if ended == 0 {
		return
	}
	e.decoding.Add(int64(-ended))
	close(e.changed)
	e.changed = make(chan struct{})
}

// fits reports whether a can join batch within the engine's memory
// bounds: every request's KV cache, in all lanes, under MaxKVBytes, and
// the score matrices of this lane step's new prompts (a prompt of n
// tokens: heads·n² floats, twice) under the lane's part of
// MaxPromptBytes. A request alone in the engine is always taken.
func (e *Engine) fits(batch []*active, a *active) bool {
	if len(batch) == 0 && e.kvUsed == 0 {
		return true
	}
	prompt := func(x *active) int64 {
		if x.seq != nil {
			return 0 // decoding: its prompt was fed in an earlier step
		}
		n := int64(len(x.chunk))
		return 2 * 4 * int64(x.model.Config().Heads) * n * n
	}
	promptSum := prompt(a)
	for _, x := range batch {
		promptSum += prompt(x)
	}
	return e.kvUsed+a.kvBytes() <= e.cfg.MaxKVBytes && promptSum <= e.cfg.MaxPromptBytes/int64(e.cfg.Lanes)
}

// drain fails batch and every request still queued when the engine
// stops.
func (e *Engine) drain(batch []*active) {
	for _, a := range batch {
		a.fail(ErrClosed)
	}
	for {
		select {
		case a := <-e.in:
			a.fail(ErrClosed)
		default:
			return
		}
	}
}

// step feeds every request its chunk, one Advance per model version
// (requests keep the checkpoint they started with), samples each one's
// next token, and returns the requests still going.
func (e *Engine) step(batch []*active) []*active {
	live := make([]*active, 0, len(batch))
	for _, a := range batch {
		if err := a.ctx.Err(); err != nil {
			a.fail(err)
			continue
		}
		live = append(live, a)
	}
	batch = live
	if len(batch) == 0 {
		return batch
	}
	for _, a := range batch {
		if a.seq == nil {
			// The KV cache is made on admission, not on Submit: waiting
			// requests hold no cache.
			a.seq = a.model.NewSequence()
		}
	}
	began := time.Now()
	groups := byModel(batch)
	var wg sync.WaitGroup
	errs := make([]error, len(groups))
	logits := make([][][]float32, len(groups))
	for g, as := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seqs := make([]*lm.Sequence, len(as))
			chunks := make([][]byte, len(as))
			for i, a := range as {
				seqs[i], chunks[i] = a.seq, a.chunk
			}
			ctx, cancel := context.WithTimeout(e.ctx, e.cfg.StepTimeout)
			defer cancel()
			logits[g], errs[g] = as[0].model.Advance(ctx, as[0].exec, seqs, chunks)
			switch {
			case !errors.Is(errs[g], context.DeadlineExceeded):
			case e.cfg.HubCompute:
				// No contributor is involved: the hub itself is too busy.
				errs[g] = fmt.Errorf("%w: the hub, computing %s itself, did not finish a step within %v", ErrBusy, e.name, e.cfg.StepTimeout)
			default:
				errs[g] = fmt.Errorf("%w: no result within %v (are any contributors working for %s?)", ErrNoCompute, e.cfg.StepTimeout, e.name)
			}
		}()
	}
	wg.Wait()
	e.stepNanos.Add(int64(time.Since(began)))
	e.steps.Add(1)
	e.seqs.Add(uint64(len(batch)))
	for {
		cur := e.maxBatch.Load()
		if uint64(len(batch)) <= cur || e.maxBatch.CompareAndSwap(cur, uint64(len(batch))) {
			break
		}
	}
	live = batch[:0]
	for g, as := range groups {
		for i, a := range as {
			if errs[g] != nil {
				if e.ctx.Err() != nil {
					a.fail(ErrClosed)
				} else {
					a.fail(errs[g])
				}
				continue
			}
			e.tokens.Add(1)
			if a.advance(logits[g][i]) {
				live = append(live, a)
			}
		}
	}
	return live
}

// byModel groups a lane's requests by checkpoint (requests keep the one
// they started with): each group is one Advance.
func byModel(batch []*active) [][]*active {
	var order []*lm.Model
	groups := map[*lm.Model][]*active{}
	for _, a := range batch {
		if _, ok := groups[a.model]; !ok {
			order = append(order, a.model)
		}
		groups[a.model] = append(groups[a.model], a)
	}
	out := make([][]*active, len(order))
	for i, m := range order {
		out[i] = groups[m]
	}
	return out
}
