package kernel

import "math"

// bfloat16 is the upper half of a float32: the same sign and 8-bit
// exponent, 7 bits of mantissa. Tasks may travel in it (protocol.Task's
// Wire); arithmetic stays float32.

// BF16Unit is bfloat16's unit roundoff: rounding to nearest changes a
// value by at most this fraction of it.
const BF16Unit = 1.0 / (1 << 8)

// ToBF16 rounds x to the nearest bfloat16 (ties to even) and returns its
// bits. NaN stays NaN: its upper half as it is when that is a NaN itself,
// so every bfloat16 NaN survives FromBF16 and back bit for bit (the wire
// codec re-encodes what it decoded exactly), and quieted when its payload
// lay only in the lower half. Values beyond the largest bfloat16 become ±Inf.
func ToBF16(x float32) uint16 {
	b := math.Float32bits(x)
	if b&0x7fffffff > 0x7f800000 { // NaN
		h := uint16(b >> 16)
		if h&0x7f == 0 { // truncating would make it an infinity
			h |= 0x40
		}
		return h
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// FromBF16 returns the float32 of bfloat16 bits h (exactly).
func FromBF16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// RoundBF16 rounds every element of v to bfloat16 precision, in place.
func RoundBF16(v []float32) {
	for i, x := range v {
		v[i] = FromBF16(ToBF16(x))
	}
}
