package protocol

import (
	"math"
	"slices"
	"testing"
)

// TestFloat32sExact checks that tensors cross the wire bit for bit, NaN
// payloads, infinities, signed zeros and subnormals included, by the
// copying path and the value-by-value one alike.
func TestFloat32sExact(t *testing.T) {
	bits := []uint32{0, 0x80000000, 1, 0x7f800000, 0xff800000, 0x7fc00001, 0xffa12345, 0x3f800000, 0x00800000, 0x807fffff}
	v := make([]float32, len(bits))
	for i, b := range bits {
		v[i] = math.Float32frombits(b)
	}
	for _, le := range []bool{littleEndian, !littleEndian} {
		saved := littleEndian
		littleEndian = le
		raw := appendFloat32s([]byte{9}, v)
		got := make([]float32, len(v))
		readFloat32s(got, raw[1:])
		littleEndian = saved
		if raw[0] != 9 || len(raw) != 1+4*len(v) {
			t.Fatalf("copying %v: appended %d bytes after a prefix of %d", le, len(raw)-1, raw[0])
		}
		// Little-endian on the wire whatever the path.
		if raw[1+4*3] != 0x00 || raw[1+4*3+3] != 0x7f {
			t.Errorf("copying %v: +Inf encoded as % x", le, raw[1+4*3:1+4*4])
		}
		gotBits := make([]uint32, len(got))
		for i, f := range got {
			gotBits[i] = math.Float32bits(f)
		}
		if !slices.Equal(gotBits, bits) {
			t.Errorf("copying %v: % x, want % x", le, gotBits, bits)
		}
	}
}

// BenchmarkResultDecode decodes an LM tile's result (2048×64 float32).
func BenchmarkResultDecode(b *testing.B) {
	c := make([]float32, 2048*64)
	for i := range c {
		c[i] = float32(i) / 7
	}
	frame := Encode(nil, &Result{TaskID: 1, Rows: 2048, Cols: 64, C: c})
	var m Result
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if err := DecodeInto(frame, &m); err != nil {
			b.Fatal(err)
		}
	}
}
