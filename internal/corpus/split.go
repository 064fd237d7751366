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

// EvalWindows returns windows of context bytes that walk the split in
// order, each starting where the previous one's targets ended, so that
// together they score every byte of Data but the first exactly once:
// len(Data)-1 target bytes in all. The last window is moved back to end
// at the end of Data and skips the targets already scored.
//
// With 0 < limit < the number of those windows, it returns limit of the
// full windows (Skip 0), evenly spaced across the split: a bounded
// deterministic sample for frequent evaluation. Sum [Window.Scored] for
// the bytes scored either way.
func (s *Split) EvalWindows(context, limit int) ([]Window, error) {
	if context <= 0 {
		return nil, errors.New("corpus: context must be positive")
	}
	n := len(s.Data)
	if n < context+1 {
		return nil, fmt.Errorf("corpus: split of %d bytes is shorter than a window of context %d + 1", n, context)
	}
	full, rest := (n-1)/context, (n-1)%context
	total := full
	if rest > 0 {
		total++
	}
	if limit > 0 && limit < total {
		ws := make([]Window, limit)
		for i := range ws {
			ws[i] = Window{Offset: (i * full / limit) * context, Context: context}
		}
		return ws, nil
	}
	ws := make([]Window, 0, total)
	for i := range full {
		ws = append(ws, Window{Offset: i * context, Context: context})
	}
	if rest > 0 {
		ws = append(ws, Window{Offset: n - 1 - context, Context: context, Skip: context - rest})
	}
	return ws, nil
}
