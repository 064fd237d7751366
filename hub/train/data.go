package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/tessera-ai/tessera/internal/mnist"
)

// Data is a job's data: MNIST split into training and test examples, or
// a text corpus.
type Data struct {
	Train, Test *mnist.Set
	Text        TextData
}

// batcher yields the training batch of any step deterministically: epoch e
// visits the examples in a permutation drawn from (seed, e), so a step
// re-run after a restart sees exactly the examples it saw before.
type batcher struct {
	set       *mnist.Set
	size      int
	seed      uint64
	perEpoch  int
	permEpoch int
	perm      []int
}

func newBatcher(set *mnist.Set, size int, seed uint64) (*batcher, error) {
	if set.N < size {
		return nil, fmt.Errorf("batch size %d is larger than the %d training examples", size, set.N)
	}
	return &batcher{set: set, size: size, seed: seed, perEpoch: set.N / size, permEpoch: -1}, nil
}

// batch returns the inputs and labels of step (0-based).
func (b *batcher) batch(step int) ([]float32, []uint8) {
	epoch, k := step/b.perEpoch, step%b.perEpoch
	if epoch != b.permEpoch {
		rng := rand.New(rand.NewPCG(b.seed, uint64(epoch)))
		b.perm = rng.Perm(b.set.N)
		b.permEpoch = epoch
	}
	x := make([]float32, b.size*b.set.Pixels())
	y := make([]uint8, b.size)
	b.set.Batch(b.perm[k*b.size:(k+1)*b.size], x, y)
	return x, y
}

// DataLoader loads data sets once, on first use, and shares them between
// jobs: MNIST, and each text corpus by its spec.
type DataLoader struct {
	once sync.Once
	data *Data
	err  error
	// Dir overrides where the IDX files are; "" locates them through the
	// Go module system.
	Dir string
	// GoRoot overrides the Go tree of the default text corpus; "" asks
	// the go command.
	GoRoot string

	mu    sync.Mutex
	texts map[string]*textEntry
}

// textEntry is one corpus, loaded once.
type textEntry struct {
	once sync.Once
	data TextData
	err  error
}

// ForSpec returns the data spec trains on, loading it on first use.
func (l *DataLoader) ForSpec(ctx context.Context, spec Spec) (*Data, error) {
	if spec.Dataset != "text" {
		return l.Load(ctx)
	}
	cs := CorpusSpec{}
	if spec.Corpus != nil {
		cs = *spec.Corpus
	}
	key := fmt.Sprintf("%q %q %d", cs.Path, cs.ValidationPrefixes, cs.ValidationPercent)
	l.mu.Lock()
	if l.texts == nil {
		l.texts = map[string]*textEntry{}
	}
	e := l.texts[key]
	if e == nil {
		e = &textEntry{}
		l.texts[key] = e
	}
	l.mu.Unlock()
	e.once.Do(func() { e.data, e.err = openText(ctx, cs, l.GoRoot) })
	if e.err != nil {
		l.mu.Lock()
		delete(l.texts, key) // a corpus fixed on disk can be retried
		l.mu.Unlock()
		return nil, e.err
	}
	return &Data{Text: e.data}, nil
}

// buildModel returns the model of spec over data; with data nil the model
// holds weights only (for checks, export and sampling).
func buildModel(spec Spec, data *Data) (Model, error) {
	switch spec.Model.Type {
	case "mlp":
		return newMLPModel(spec, data)
	case "gpt2":
		var text TextData
		if data != nil {
			if data.Text == nil {
				return nil, fmt.Errorf("gpt2 job %q needs a text corpus", spec.Name)
			}
			text = data.Text
		}
		return newLMModel(spec, text)
	}
	return nil, fmt.Errorf("model type %q is not supported", spec.Model.Type)
}

// Load returns the data set, loading it on the first call.
func (l *DataLoader) Load(ctx context.Context) (*Data, error) {
	l.once.Do(func() {
		dir := l.Dir
		if dir == "" {
			if dir, l.err = mnist.Locate(ctx); l.err != nil {
				return
			}
		}
		var d Data
		d.Train, d.Test, l.err = mnist.Load(dir)
		l.data = &d
	})
	return l.data, l.err
}
