package protocol

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// littleEndian reports whether this machine keeps a float32 in memory as
// the wire carries it; then tensors are copied whole instead of value by
// value (the per-value loop was most of a result's decoding time).
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// bytesOf is the memory of v.
func bytesOf(v []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

// appendFloat32s appends data as little-endian float32s.
func appendFloat32s(dst []byte, data []float32) []byte {
	if littleEndian {
		return append(dst, bytesOf(data)...)
	}
	for _, v := range data {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

// readFloat32s fills dst from raw, 4·len(dst) bytes of little-endian
// float32s.
func readFloat32s(dst []float32, raw []byte) {
	if littleEndian {
		copy(bytesOf(dst), raw)
		return
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
}
