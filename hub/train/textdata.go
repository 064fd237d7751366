package train

import (
	"context"
	"fmt"

	"github.com/tessera-ai/tessera/internal/corpus"
)

// textCorpus is a loaded corpus.Corpus as a TextData.
type textCorpus struct {
	c *corpus.Corpus
}

// openText loads the corpus cs names ("" path: Go's source tree under
// goroot, or under `go env GOROOT` when goroot is "").
func openText(ctx context.Context, cs CorpusSpec, goroot string) (TextData, error) {
	var o corpus.Options
	if cs.Path == "" {
		if goroot == "" {
			var err error
			if goroot, err = corpus.GoRoot(ctx); err != nil {
				return nil, fmt.Errorf("the default corpus is Go's source tree: %w", err)
			}
		}
		o = corpus.GoSource(goroot)
	} else {
		o = corpus.Options{Path: cs.Path}
	}
	if cs.ValidationPrefixes != nil {
		o.ValidationPrefixes = cs.ValidationPrefixes
	}
	o.ValidationPercent = cs.ValidationPercent
	c, err := corpus.Open(ctx, o) // its errors say "corpus: ..." and name the file
	if err != nil {
		return nil, err
	}
	return &textCorpus{c: c}, nil
}

func (t *textCorpus) TrainWindows(seed uint64, step, batch, length int) ([]byte, error) {
	x, y, err := t.c.Train.Batch(seed, step, batch, length)
	if err != nil {
		return nil, err
	}
	w := make([]byte, batch*(length+1))
	for r := range batch {
		copy(w[r*(length+1):], x[r*length:(r+1)*length])
		w[r*(length+1)+length] = y[(r+1)*length-1]
	}
	return w, nil
}

func (t *textCorpus) ValidationWindows(length, stride, limit int) (corpus.Eval, error) {
	return t.c.Validation.EvalWindows(length, stride, limit)
}

func (t *textCorpus) AppendValidation(dst []byte, w corpus.Window) []byte {
	x, y := t.c.Validation.Window(w)
	return append(append(dst, x...), y[len(y)-1])
}

// TrainBigramEntropy returns the byte-bigram conditional entropy, in bits
// per byte, of a text data set's training split: the baseline a language
// model must beat. It is 0 for other data.
func (d *Data) TrainBigramEntropy() float64 {
	if t, ok := d.Text.(*textCorpus); ok {
		return corpus.BigramEntropy(t.c.Train)
	}
	return 0
}
