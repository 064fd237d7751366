package kernel

import (
	"slices"
	"testing"
)

func TestMomentumStep(t *testing.T) {
	w, v, g := []float32{1, -2}, []float32{0.5, 0}, []float32{2, 4}
	if err := MomentumStep(w, v, g, 0.25, 0.5); err != nil {
		t.Fatal(err)
	}
	// v = 0.5·v + g = [2.25, 4]; w = w − 0.25·v = [0.4375, −3].
	if !slices.Equal(v, []float32{2.25, 4}) || !slices.Equal(w, []float32{0.4375, -3}) {
		t.Errorf("w %v, v %v", w, v)
	}
	if err := MomentumStep(w, v[:1], g, 0.25, 0.5); err == nil {
		t.Error("mismatched lengths: no error")
	}
}

func TestSquaredNorms(t *testing.T) {
	got := SquaredNorms([]float32{7}, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	// Rows 1+4+9 and 16+25+36, columns 1+16, 4+25, 9+36, after what dst held.
	if want := []float32{7, 14, 77, 17, 29, 45}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
