package shaders

import (
	"fmt"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Family is a way of writing the matmul kernels, chosen per adapter.
type Family uint8

const (
	// RegBlock kernels use no workgroup memory and no barriers: each
	// invocation computes an 8×4 block of C in registers. They are the fast
	// choice on CPU adapters (lavapipe/llvmpipe, SwiftShader), where
	// barriers are expensive.
	RegBlock Family = iota + 1
	// Tiled kernels stage tiles of A and B in workgroup memory between
	// workgroupBarrier calls, the usual choice for real GPUs.
	Tiled
	// Vec4 kernels compute a 4×8 block of C per invocation and read the
	// operands as vec4<f32>, without workgroup memory or barriers. They
	// need M, K and N to be multiples of 4, and run the rest with
	// RegBlock's kernels (Family.For). The choice for CPU adapters: on
	// lavapipe, a load whose address differs between invocations costs a
	// loop over the SIMD lanes, and a vec4 load fetches four elements in
	// one such loop.
	Vec4
)

// Families lists every family.
var Families = []Family{RegBlock, Tiled, Vec4}

// String returns the family's name: "regblock" or "tiled".
func (f Family) String() string {
	switch f {
	case RegBlock:
		return "regblock"
	case Tiled:
		return "tiled"
	case Vec4:
		return "vec4"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

// Valid reports whether f names a known family.
func (f Family) Valid() bool { return f == RegBlock || f == Tiled || f == Vec4 }

// Fallback returns the family that runs the shapes f's kernels cannot
// (RegBlock for Vec4), or zero when f's kernels run every shape.
func (f Family) Fallback() Family {
	if f == Vec4 {
		return RegBlock
	}
	return 0
}

// For returns the family whose kernels run shape s for a device of
// family f: f itself, or its Fallback for a shape f cannot run (for Vec4,
// one whose M, K or N is not a multiple of 4).
func (f Family) For(s kernel.Shape) Family {
	if fb := f.Fallback(); fb != 0 && (s.M%4 != 0 || s.K%4 != 0 || s.N%4 != 0) {
		return fb
	}
	return f
}

// ParseFamily returns the family with the given name.
func ParseFamily(name string) (Family, error) {
	for _, f := range Families {
		if f.String() == name {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown kernel family %q", name)
}
