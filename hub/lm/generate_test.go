package lm

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-ai/tessera/hub/train/tile"
)

// TestTransformerDecoderMatchesForward: the KV-cache decoder's logits at
// every position equal the tiled forward pass over the whole sequence,
// also after the window slides past the context.
func TestTransformerDecoderMatchesForward(t *testing.T) {
	m, err := NewModel(tinyConfig(5, 3), 1)
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, 21)
	rng := rand.New(rand.NewPCG(8, 8))
	seq := make([]byte, 13) // context 8: slides once, at the 9th token
	for i := range seq {
		seq[i] = byte(rng.IntN(Vocab))
	}
	seq[0] = 255 // the last embedding row
	d := m.NewDecoder()
	ctx := context.Background()
	window := []byte{}
	for i, tok := range seq {
		got := d.Feed(tok)
		if len(window) == 8 { // a full context slides to its last half
			window = append([]byte(nil), window[4:]...)
		}
		window = append(window, tok)
		want, err := m.Logits(ctx, tile.NewLocal(1), window, 1, len(window))
		if err != nil {
			t.Fatal(err)
		}
		last := want[(len(window)-1)*Vocab:]
		for v := range Vocab {
			if math.Abs(float64(got[v]-last[v])) > 1e-4*(1+math.Abs(float64(last[v]))) {
				t.Fatalf("token %d: logit %d is %v, forward pass %v", i, v, got[v], last[v])
			}
		}
	}
}

// TestLanguageModelSampler: greedy takes the largest logit; a seeded
// sampler repeats itself; top_p keeps only the likeliest tokens.
func TestLanguageModelSampler(t *testing.T) {
	logits := make([]float32, Vocab)
	logits['a'], logits['b'], logits['c'] = 9, 8.5, 1
	g, _ := NewSampler(0, 1, 1)
	if got := g.Next(logits); got != 'a' {
		t.Fatalf("greedy picked %q", got)
	}
	draw := func(seed uint64, topP float64) []byte {
		s, err := NewSampler(1, topP, seed)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 200)
		for i := range out {
			out[i] = s.Next(logits)
		}
		return out
	}
	if string(draw(3, 1)) != string(draw(3, 1)) {
		t.Fatal("the same seed drew different tokens")
	}
	for _, tok := range draw(4, 0.5) {
		if tok != 'a' {
			t.Fatalf("top_p 0.5 drew %q; only 'a' (p≈0.62) is in the nucleus", tok)
		}
	}
	seen := map[byte]bool{}
	for _, tok := range draw(5, 1) {
		seen[tok] = true
	}
	if !seen['a'] || !seen['b'] {
		t.Fatalf("temperature 1 drew only %v", seen)
	}
	if _, err := NewSampler(-1, 1, 0); err == nil {
		t.Error("negative temperature accepted")
	}
	if _, err := NewSampler(1, 0, 0); err == nil {
		t.Error("top_p 0 accepted")
	}
}
