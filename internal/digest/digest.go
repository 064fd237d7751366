// Package digest names float32 operands by content: two independent
// 64-bit hashes of their bytes, keyed by seeds drawn when the process
// starts. The hub's operand cache refers to what a contributor keeps by
// digest (a collision would hand an honest contributor the wrong operand,
// and at 128 bits it does not happen). Digests mean nothing outside the
// process that made them: never store or send one.
package digest

import (
	"hash/maphash"
	"unsafe"
)

// D is a digest. The zero D stands for "not computed".
type D [2]uint64

var seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// Of returns the digest of v's bytes.
func Of(v []float32) D {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	return D{maphash.Bytes(seeds[0], b), maphash.Bytes(seeds[1], b)}
}
