package lm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/digest"
)

// closeLogits fails unless got and want agree to float tolerance.
func closeLogits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for v := range want {
		if math.Abs(float64(got[v]-want[v])) > 1e-4*(1+math.Abs(float64(want[v]))) {
			t.Fatalf("%s: logit %d is %v, the full forward pass gives %v", what, v, got[v], want[v])
		}
	}
}

// TestInferenceAdvanceMatchesForward: sequences fed together, in chunks of
// different lengths (prefills beside single decoded tokens, so attention
// runs in several groups with padded keys), give each the logits of a
// full forward pass over its whole prefix.
func TestInferenceAdvanceMatchesForward(t *testing.T) {
	for _, frozen := range []bool{false, true} {
		m, err := NewModel(tinyConfig(5, 3), 1)
		if err != nil {
			t.Fatal(err)
		}
		randomize(m, 4)
		if frozen {
			m = m.Frozen()
		}
		rng := rand.New(rand.NewPCG(3, 3))
		ctx := context.Background()
		exec := &digestChecker{t: t, next: tile.NewLocal(2)}
		const n = 4
		seqs := make([]*Sequence, n)
		text := make([][]byte, n)
		for i := range seqs {
			seqs[i] = m.NewSequence()
		}
		// Round r feeds sequence i a chunk of 1..3 tokens while it fits.
		for round := 0; ; round++ {
			var ss []*Sequence
			var chunks [][]byte
			var which []int
			for i, s := range seqs {
				k := 1 + (i+round)%3
				if s.Len()+k > m.cfg.Context {
					continue
				}
				ch := make([]byte, k)
				for j := range ch {
					ch[j] = byte(rng.IntN(Vocab))
				}
				ss, chunks, which = append(ss, s), append(chunks, ch), append(which, i)
			}
			if len(ss) == 0 {
				break
			}
			got, err := m.Advance(ctx, exec, ss, chunks)
			if err != nil {
				t.Fatal(err)
			}
			for k, i := range which {
				text[i] = append(text[i], chunks[k]...)
				want, err := m.Logits(ctx, exec.next, text[i], 1, len(text[i]))
				if err != nil {
					t.Fatal(err)
				}
				if seqs[i].Len() != len(text[i]) {
					t.Fatalf("sequence %d holds %d positions, fed %d", i, seqs[i].Len(), len(text[i]))
				}
				closeLogits(t, "advance", got[k], want[(len(text[i])-1)*Vocab:])
			}
		}
		// A frozen model names every weight tile by digest (so the hub
		// need not hash it per task); one being trained names none.
		if frozen && (exec.with == 0 || exec.without > 0) || !frozen && exec.with > 0 {
			t.Fatalf("frozen %v: %d weight tiles with a digest, %d without", frozen, exec.with, exec.without)
		}
	}
}

// digestChecker passes tiles on to next, failing the test on a tile whose
// BDigest is given but is not its B's, and counting the weight tiles
// that give one and that do not.
type digestChecker struct {
	t             *testing.T
	next          tile.Executor
	with, without int
}

func (d *digestChecker) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	for _, tl := range tiles {
		switch {
		case tl.BDigest == digest.D{}:
			if tl.Weight >= 0 && tl.B != nil {
				d.without++
			}
		case tl.BDigest != digest.Of(tl.B):
			d.t.Fatalf("a %v tile of weights %d gives a digest that is not its B's", tl.Shape, tl.Weight)
		default:
			d.with++
		}
	}
	return d.next.Start(ctx, tiles)
}

// failing is an executor whose every tile fails.
type failing struct{}

func (failing) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	b := tile.NewBatch(len(tiles))
	for range tiles {
		b.Complete(errors.New("contributor gone"))
	}
	return b
}

// TestInferenceAdvanceFailureKeepsSequences: a failed Advance leaves the
// sequences as they were, so the same chunk can be fed again.
func TestInferenceAdvanceFailureKeepsSequences(t *testing.T) {
	m, err := NewModel(tinyConfig(8, 4), 2)
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, 5)
	ctx := context.Background()
	s := m.NewSequence()
	if _, err := m.Advance(ctx, tile.NewLocal(1), []*Sequence{s}, [][]byte{[]byte("ab")}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Advance(ctx, failing{}, []*Sequence{s}, [][]byte{[]byte("c")}); err == nil {
		t.Fatal("Advance succeeded with an executor that fails every tile")
	}
	if s.Len() != 2 {
		t.Fatalf("a failed Advance changed the sequence: %d positions", s.Len())
	}
	got, err := m.Advance(ctx, tile.NewLocal(1), []*Sequence{s}, [][]byte{[]byte("c")})
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Logits(ctx, tile.NewLocal(1), []byte("abc"), 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	closeLogits(t, "after a failure", got[0], want[2*Vocab:])
	// A chunk that does not fit is refused, and changes nothing.
	if _, err := m.Advance(ctx, tile.NewLocal(1), []*Sequence{s}, [][]byte{make([]byte, 6)}); err == nil || s.Len() != 3 {
		t.Fatalf("overlong chunk: err %v, %d positions", err, s.Len())
	}
}
