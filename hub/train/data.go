package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/tessera-ai/tessera/internal/mnist"
)

// Data is a data set split into training and test examples.
type Data struct {
	Train, Test *mnist.Set
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

// DataLoader loads MNIST once, on first use, and shares it between jobs.
type DataLoader struct {
	once sync.Once
	data *Data
	err  error
	// Dir overrides where the IDX files are; "" locates them through the
	// Go module system.
	Dir string
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
