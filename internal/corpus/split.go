package corpus

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Split is the training or the validation part of a corpus.
type Split struct {
	// Data is the split's documents concatenated, each preceded by
	// Separator, in load order.
	Data []byte

	// Documents counts the documents in Data.
	Documents int

	// Files lists, in load order, the relative paths of the files that
	// gave Data at least one document.
	Files []string
}

// Batch draws batch training windows of context+1 consecutive bytes and
// returns them as inputs x and next-byte targets y, each batch rows of
// context bytes, row-major: y[r*context+i] follows x[r*context+i] in Data.
//
// Window starts are uniform over Data and depend only on (seed, step),
// through a PCG generator, so a step re-run after a restart sees the same
// bytes and different steps see different ones. A window may cross
// document boundaries, as in GPT-2's training: the Separator inside it
// tells the model a new document begins.
func (s *Split) Batch(seed uint64, step, batch, context int) (x, y []byte, err error) {
	if batch <= 0 || context <= 0 {
		return nil, nil, fmt.Errorf("corpus: batch %d and context %d must be positive", batch, context)
	}
	if len(s.Data) < context+1 {
		return nil, nil, fmt.Errorf("corpus: split of %d bytes is shorter than a window of context %d + 1", len(s.Data), context)
	}
	// Mix step so that neighbouring steps seed unrelated PCG states.
	r := rand.New(rand.NewPCG(seed, splitmix64(uint64(step))))
	x = make([]byte, batch*context)
	y = make([]byte, batch*context)
	for row := range batch {
		at := r.IntN(len(s.Data) - context)
		copy(x[row*context:], s.Data[at:at+context])
		copy(y[row*context:], s.Data[at+1:at+1+context])
	}
	return x, y, nil
}

// splitmix64 is the SplitMix64 output function, a bijective 64-bit mixer.
func splitmix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Window is one evaluation window of a split: Context input bytes starting
// at Offset in Data, each with the byte after it as its target. Only the
// targets from Skip on are to be scored; the ones before were scored by an
// earlier window.
type Window struct {
	Offset  int
	Context int
	Skip    int
}

// Scored returns the number of target bytes w scores.
func (w Window) Scored() int { return w.Context - w.Skip }

// Window returns the inputs and targets of w as slices of Data (not
// copies): x = Data[Offset:Offset+Context], y = Data[Offset+1:Offset+Context+1].
func (s *Split) Window(w Window) (x, y []byte) {
	end := w.Offset + w.Context
	return s.Data[w.Offset:end:end], s.Data[w.Offset+1 : end+1 : end+1]
}

// Eval is an evaluation's windows over a split, in order, computed on
// demand (a plan, not a list: an evaluation with a small stride over a
// large split has many windows, and a caller reads them a batch at a time).
// Get one from [Split.EvalWindows].
type Eval struct {
	context, stride int
	// full counts the windows at multiples of stride; rest is the targets
	// left after them, scored by one more window when not zero.
	full, rest int
	// limit > 0: a sample of limit windows out of full.
	limit int
	last  int // the offset of the window that ends at the end of Data
}

// Len returns the number of windows.
func (e Eval) Len() int {
	switch {
	case e.limit > 0:
		return e.limit
	case e.rest > 0:
		return e.full + 1
	}
	return e.full
}

// At returns window i, 0 <= i < Len().
func (e Eval) At(i int) Window {
	if e.limit > 0 {
		// Evenly spaced over the windows of the whole split, each scoring
		// the targets that window would (the first window's too), so that a
		// sample estimates what the whole split measures.
		return Window{Offset: (i * e.full / e.limit) * e.stride, Context: e.context, Skip: e.context - e.stride}
	}
	switch {
	case i == 0:
		return Window{Offset: 0, Context: e.context}
	case i < e.full:
		return Window{Offset: i * e.stride, Context: e.context, Skip: e.context - e.stride}
	}
	return Window{Offset: e.last, Context: e.context, Skip: e.context - e.rest}
}

// Scored returns the number of target bytes the windows score.
func (e Eval) Scored() int {
	if e.limit > 0 {
		return e.limit * e.stride
	}
	return e.context + (e.full-1)*e.stride + e.rest
}

// EvalWindows returns the windows of context bytes of an evaluation that
// walks the split in order, window i starting at i·stride (1 <= stride <=
// context). The first window scores all its targets and every later one
// its last stride targets, which follow the targets of the window before:
// together they score every byte of Data but the first exactly once,
// len(Data)-1 target bytes in all, and every byte after the first window
// with at least context−stride bytes before it in its window. This is the
// sliding-window evaluation of a model with a fixed context; stride =
// context gives consecutive windows that do not overlap, each byte scored
// with what precedes it in its window only. A last window, moved back to
// end at the end of Data, scores what the others left.
//
// With 0 < limit < the number of those windows, it returns limit of the
// windows at multiples of stride, evenly spaced across the split, each
// scoring its last stride targets: a bounded deterministic sample for
// frequent evaluation.
func (s *Split) EvalWindows(context, stride, limit int) (Eval, error) {
	if context <= 0 {
		return Eval{}, errors.New("corpus: context must be positive")
	}
	if stride < 1 || stride > context {
		return Eval{}, fmt.Errorf("corpus: stride %d must be between 1 and the context, %d", stride, context)
	}
	n := len(s.Data)
	if n < context+1 {
		return Eval{}, fmt.Errorf("corpus: split of %d bytes is shorter than a window of context %d + 1", n, context)
	}
	full := (n-1-context)/stride + 1
	e := Eval{context: context, stride: stride, full: full, rest: n - 1 - ((full-1)*stride + context), last: n - 1 - context}
	if limit > 0 && limit < e.Len() {
		e.limit = min(limit, full)
	}
	return e, nil
}
