package corpus

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func testSplit(n int) *Split {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i/256)
	}
	return &Split{Data: data}
}

func TestBatch(t *testing.T) {
	s := testSplit(10000)
	const batch, context = 8, 32
	x, y, err := s.Batch(42, 7, batch, context)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != batch*context || len(y) != batch*context {
		t.Fatalf("len(x), len(y) = %d, %d; want %d", len(x), len(y), batch*context)
	}
	for r := range batch {
		xr, yr := x[r*context:(r+1)*context], y[r*context:(r+1)*context]
		at := bytes.Index(s.Data, xr)
		if at < 0 || !bytes.Equal(yr, s.Data[at+1:at+1+context]) {
			t.Fatalf("row %d is not a window of Data with next-byte targets", r)
		}
	}

	x2, y2, _ := s.Batch(42, 7, batch, context)
	if !bytes.Equal(x, x2) || !bytes.Equal(y, y2) {
		t.Error("same seed and step gave different windows")
	}
	for _, other := range []struct {
		seed uint64
		step int
	}{{42, 8}, {43, 7}, {42, 6}} {
		x3, _, _ := s.Batch(other.seed, other.step, batch, context)
		if bytes.Equal(x, x3) {
			t.Errorf("seed %d step %d gave the windows of seed 42 step 7", other.seed, other.step)
		}
	}
	// A bigger batch begins with the same windows: rows are drawn in order.
	x4, _, _ := s.Batch(42, 7, 2*batch, context)
	if !bytes.Equal(x4[:len(x)], x) {
		t.Error("a bigger batch does not extend the smaller one")
	}
}

func TestBatchCoversSplit(t *testing.T) {
	// Every start 0..len-context-1 is reachable, the last window included.
	s := &Split{Data: []byte("abcdef")}
	seen := map[string]bool{}
	for step := range 200 {
		x, y, err := s.Batch(1, step, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		seen[string(x)+"|"+string(y)] = true
	}
	want := []string{"ab|bc", "bc|cd", "cd|de", "de|ef"}
	if len(seen) != len(want) {
		t.Fatalf("windows seen %v, want %v", seen, want)
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("window %s never drawn", w)
		}
	}
}

func TestBatchErrors(t *testing.T) {
	s := &Split{Data: []byte("abc")}
	for _, tt := range []struct {
		batch, context int
		want           string
	}{{0, 1, "must be positive"}, {1, 0, "must be positive"}, {1, 3, "shorter than a window of context 3 + 1"}} {
		if _, _, err := s.Batch(1, 1, tt.batch, tt.context); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Batch(batch %d, context %d) = %v, want %q", tt.batch, tt.context, err, tt.want)
		}
	}
	if _, _, err := s.Batch(1, 1, 1, 2); err != nil {
		t.Errorf("Batch with context len-1: %v", err)
	}
}

// windows lists every window of e.
func windows(e Eval) []Window {
	ws := make([]Window, e.Len())
	for i := range ws {
		ws[i] = e.At(i)
	}
	return ws
}

func TestEvalWindows(t *testing.T) {
	tests := []struct {
		name                  string
		n, ctx, stride, limit int
		offsets, skips        []int
	}{
		{"Exact", 9, 4, 4, 0, []int{0, 4}, []int{0, 0}},
		{"Tail", 11, 4, 4, 0, []int{0, 4, 6}, []int{0, 0, 2}},
		{"OneWindow", 5, 4, 4, 0, []int{0}, []int{0}},
		{"LimitAtTotal", 11, 4, 4, 3, []int{0, 4, 6}, []int{0, 0, 2}},
		{"LimitSample", 41, 4, 4, 3, []int{0, 12, 24}, []int{0, 0, 0}},
		{"LimitOne", 41, 4, 4, 1, []int{0}, []int{0}},
		{"Stride", 11, 4, 2, 0, []int{0, 2, 4, 6}, []int{0, 2, 2, 2}},
		{"StrideTail", 12, 4, 2, 0, []int{0, 2, 4, 6, 7}, []int{0, 2, 2, 2, 3}},
		{"StrideOne", 7, 4, 1, 0, []int{0, 1, 2}, []int{0, 3, 3}},
		{"StrideSample", 41, 4, 2, 3, []int{0, 12, 24}, []int{2, 2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSplit(tt.n)
			e, err := s.EvalWindows(tt.ctx, tt.stride, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			ws := windows(e)
			if len(ws) != len(tt.offsets) {
				t.Fatalf("windows %+v, want offsets %v", ws, tt.offsets)
			}
			scored := 0
			for i, w := range ws {
				if w.Offset != tt.offsets[i] || w.Skip != tt.skips[i] || w.Context != tt.ctx {
					t.Errorf("window %d = %+v, want offset %d skip %d", i, w, tt.offsets[i], tt.skips[i])
				}
				scored += w.Scored()
			}
			if scored != e.Scored() {
				t.Errorf("windows score %d bytes, Scored says %d", scored, e.Scored())
			}
		})
	}
}

// TestEvalWindowsScoreEachByteOnce checks that the whole-split windows
// score every byte after the first exactly once, and each one after the
// first window with at least context−stride bytes before it in its window.
func TestEvalWindowsScoreEachByteOnce(t *testing.T) {
	for _, n := range []int{2, 3, 64, 65, 66, 1000, 1023} {
		for _, ctx := range []int{1, 2, 7, 64} {
			for _, stride := range []int{1, 2, 3, ctx / 2, ctx - 1, ctx} {
				if n < ctx+1 || stride < 1 || stride > ctx {
					continue
				}
				s := testSplit(n)
				e, err := s.EvalWindows(ctx, stride, 0)
				if err != nil {
					t.Fatal(err)
				}
				scored := make([]int, n)
				total := 0
				for i, w := range windows(e) {
					x, y := s.Window(w)
					if len(x) != ctx || len(y) != ctx || &y[0] != &s.Data[w.Offset+1] {
						t.Fatalf("n %d ctx %d stride %d: window %+v has bad slices", n, ctx, stride, w)
					}
					if i > 0 && w.Skip < ctx-stride {
						t.Errorf("n %d ctx %d stride %d: window %+v scores a byte with less than %d before it",
							n, ctx, stride, w, ctx-stride)
					}
					for i := w.Skip; i < ctx; i++ {
						scored[w.Offset+1+i]++
					}
					total += w.Scored()
				}
				if total != n-1 || e.Scored() != n-1 {
					t.Errorf("n %d ctx %d stride %d: %d bytes scored (Scored %d), want %d", n, ctx, stride, total, e.Scored(), n-1)
				}
				for i := 1; i < n; i++ {
					if scored[i] != 1 {
						t.Fatalf("n %d ctx %d stride %d: byte %d scored %d times", n, ctx, stride, i, scored[i])
					}
				}
			}
		}
	}
}

func TestEvalWindowsErrors(t *testing.T) {
	s := &Split{Data: []byte("abc")}
	for _, tt := range []struct {
		ctx, stride int
		want        string
	}{
		{0, 1, "context must be positive"},
		{3, 3, "shorter than a window"},
		{2, 0, "stride 0 must be between 1 and the context, 2"},
		{2, 3, "stride 3 must be between 1"},
	} {
		if _, err := s.EvalWindows(tt.ctx, tt.stride, 0); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("EvalWindows(%d, %d, 0) = %v, want %q", tt.ctx, tt.stride, err, tt.want)
		}
	}
}

func TestEntropy(t *testing.T) {
	tests := []struct {
		name            string
		data            string
		unigram, bigram float64
	}{
		{"Empty", "", 0, 0},
		{"One", "a", 0, 0},
		{"Constant", "aaaa", 0, 0},
		// a→b, b→a always: no uncertainty about the next byte.
		{"Alternating", "abababab", 1, 0},
		// Pairs aa, ab, bb, ba, aa, ab, bb: after a, a or b in 2:2; after b,
		// b or a in 2:1. H = 4/7·1 + 3/7·H(1/3).
		{"TwoByTwo", "aabbaabb", 1, 4.0/7 + 3.0/7*h2(1.0/3)},
		// A de Bruijn sequence: each of the 16 pairs of a, b, c, d once, so
		// every byte's successor is uniform over four.
		{"DeBruijn", "aabacadbbcbdccdda", unigram4(), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Split{Data: []byte(tt.data)}
			if got := UnigramEntropy(s); math.Abs(got-tt.unigram) > 1e-12 {
				t.Errorf("UnigramEntropy = %v, want %v", got, tt.unigram)
			}
			if got := BigramEntropy(s); math.Abs(got-tt.bigram) > 1e-12 {
				t.Errorf("BigramEntropy = %v, want %v", got, tt.bigram)
			}
		})
	}
}

// h2 is the binary entropy function.
func h2(p float64) float64 { return -p*math.Log2(p) - (1-p)*math.Log2(1-p) }

// unigram4 is the byte entropy of "aabacadbbcbdccdda": a×5, b×4, c×4, d×4.
func unigram4() float64 {
	return -(5.0/17*math.Log2(5.0/17) + 3*(4.0/17*math.Log2(4.0/17)))
}
