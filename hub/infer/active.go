// A request being decoded: its tokens, what it has emitted, and how it
// ends.

package infer

import (
	"bytes"
	"context"
	"time"
	"unicode/utf8"

	"github.com/tessera-ai/tessera/hub/lm"
	"github.com/tessera-ai/tessera/hub/train/tile"
)

// active is a request being decoded.
type active struct {
	e       *Engine
	ctx     context.Context
	req     Request
	c       *Completion
	model   *lm.Model
	exec    tile.Executor
	seq     *lm.Sequence // made when the request joins a step
	window  []byte       // the tokens in seq, for sliding when the context fills
	chunk   []byte       // to feed at the next step
	out     []byte
	emitted int
	sampled int // tokens generated, a stop string and the end-of-text token included
	// submitted is when Submit queued it, for the time to first token.
	submitted time.Time
}

// ended reports whether the request has finished or failed.
func (a *active) ended() bool { return a.c.Finish != "" || a.c.Err != nil }

// kvBytes is the KV cache a request holds while it is decoded:
// 2·layers·context·width floats.
func (a *active) kvBytes() int64 {
	c := a.model.Config()
	return 2 * 4 * int64(c.Layers) * int64(c.Context) * int64(c.Embd)
}

// advance takes the token chosen from logits and reports whether the
// request goes on; if so, it sets the next chunk.
func (a *active) advance(logits []float32) bool {
	a.window = append(a.window, a.chunk...)
	tok := a.req.Sampler.Next(logits)
	a.sampled++
	if a.sampled == 1 {
		a.e.firsts.Add(1)
		a.e.firstNanos.Add(int64(time.Since(a.submitted)))
	}
	if tok == 0 { // end of text (GPT-2's eos_token_id is 0 in this vocabulary)
		a.finish("stop")
		return false
	}
	a.out = append(a.out, tok)
	for _, s := range a.req.Stop {
		if bytes.HasSuffix(a.out, []byte(s)) {
			a.out = a.out[:len(a.out)-len(s)]
			a.finish("stop")
			return false
		}
	}
	if len(a.out) >= a.req.MaxTokens {
		a.finish("length")
		return false
	}
	a.emit(false)
	a.chunk = []byte{tok}
	if n := a.model.Config().Context; a.seq.Len()+1 > n {
		// The context is full: slide to its last half, as lm's Decoder does.
		keep := append(append([]byte(nil), a.window[len(a.window)-n/2:]...), tok)
		a.seq.Reset()
		a.window, a.chunk = a.window[:0], keep
	}
	return true
}

// emit sends the text decoded since the last emit: everything when the
// request is done, otherwise all but a tail that may begin a stop string
// or is an incomplete UTF-8 character.
func (a *active) emit(final bool) {
	end := len(a.out)
	if !final {
		end -= holdBack(a.out[a.emitted:], a.req.Stop)
	}
	if end > a.emitted {
		a.c.text <- string(a.out[a.emitted:end])
		a.emitted = end
	}
}

// holdBack returns how many trailing bytes of b to keep back: the longest
// suffix that is a proper prefix of a stop string, or an incomplete UTF-8
// character.
func holdBack(b []byte, stops []string) int {
	hold := 0
	for _, s := range stops {
		for k := min(len(s)-1, len(b)); k > hold; k-- {
			if bytes.HasSuffix(b, []byte(s[:k])) {
				hold = k
				break
			}
		}
	}
	// An incomplete character at the end: up to 3 bytes of a started rune.
	for k := 1; k <= 3 && k <= len(b); k++ {
		if utf8.RuneStart(b[len(b)-k]) {
			if !utf8.FullRune(b[len(b)-k:]) {
				hold = max(hold, k)
			}
			break
		}
	}
	return hold
}

func (a *active) finish(reason string) {
	a.emit(true)
	a.c.Finish = reason
	a.c.CompletionTokens = a.sampled
	a.e.finished.Add(1)
	close(a.c.text)
}

func (a *active) fail(err error) {
	a.c.Err = err
	a.c.CompletionTokens = a.sampled
	a.e.failed.Add(1)
	close(a.c.text)
}
