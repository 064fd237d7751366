package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is an element type, spelled as in the header's "dtype" field.
type DType string

// The element types the format defines. Values are little-endian.
const (
	BOOL   DType = "BOOL"
	U8     DType = "U8"
	I8     DType = "I8"
	F8E5M2 DType = "F8_E5M2"
	F8E4M3 DType = "F8_E4M3"
	I16    DType = "I16"
	U16    DType = "U16"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I32    DType = "I32"
	U32    DType = "U32"
	F32    DType = "F32"
	F64    DType = "F64"
	I64    DType = "I64"
	U64    DType = "U64"
)

// dtypes lists the element types in the reference implementation's order
// (increasing alignment); the writer lays tensors out in reverse of it.
var dtypes = [...]struct {
	d    DType
	size int
}{
	{BOOL, 1}, {U8, 1}, {I8, 1}, {F8E5M2, 1}, {F8E4M3, 1},
	{I16, 2}, {U16, 2}, {F16, 2}, {BF16, 2},
	{I32, 4}, {U32, 4}, {F32, 4}, {F64, 8}, {I64, 8}, {U64, 8},
}

// Size returns the bytes per element of d, or 0 if d is not a known type.
func (d DType) Size() int {
	if i := d.rank(); i >= 0 {
		return dtypes[i].size
	}
	return 0
}

// rank is d's position in the reference order, or -1 if d is unknown.
func (d DType) rank() int {
	for i, t := range dtypes {
		if t.d == d {
			return i
		}
	}
	return -1
}

// toFloat32 widens little-endian F32, F16 or BF16 data to float32. The
// conversion is exact: every F16 and BF16 value is a float32 value.
func toFloat32(d DType, data []byte) ([]float32, error) {
	switch d {
	case F32:
		out := make([]float32, len(data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return out, nil
	case F16:
		out := make([]float32, len(data)/2)
		for i := range out {
			out[i] = float16ToFloat32(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return out, nil
	case BF16:
		out := make([]float32, len(data)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(data[2*i:])) << 16)
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s cannot be read as float32 (want F32, F16 or BF16)", d)
}

// float16ToFloat32 converts an IEEE 754 binary16 value to float32.
func float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN, payload kept
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0 && mant == 0: // signed zero
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise into float32's wider exponent
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
