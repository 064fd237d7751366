package shaders

import "fmt"

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
)

// Families lists every family.
var Families = []Family{RegBlock, Tiled}

// String returns the family's name: "regblock" or "tiled".
func (f Family) String() string {
	switch f {
	case RegBlock:
		return "regblock"
	case Tiled:
		return "tiled"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

// Valid reports whether f names a known family.
func (f Family) Valid() bool { return f == RegBlock || f == Tiled }

// ParseFamily returns the family with the given name.
func ParseFamily(name string) (Family, error) {
	for _, f := range Families {
		if f.String() == name {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown kernel family %q", name)
}
