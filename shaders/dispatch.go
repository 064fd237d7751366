package shaders

import (
	"encoding/binary"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Geometry describes how a family's kernels cover C.
type Geometry struct {
	// WorkgroupX and WorkgroupY are the @workgroup_size of the kernels.
	WorkgroupX, WorkgroupY int
	// BlockM and BlockN are the rows and columns of C one workgroup
	// computes. Workgroup x runs along N, y along M.
	BlockM, BlockN int
	// WorkgroupBytes is the workgroup memory the kernels declare.
	WorkgroupBytes int
}

// GeometryOf returns the geometry of family f (the zero Geometry for an
// unknown family).
func GeometryOf(f Family) Geometry {
	switch f {
	case RegBlock:
		return Geometry{WorkgroupX: 8, WorkgroupY: 8, BlockM: 32, BlockN: 32}
	case Tiled:
		return Geometry{WorkgroupX: 16, WorkgroupY: 16, BlockM: 64, BlockN: 64, WorkgroupBytes: 8192}
	}
	return Geometry{}
}

// Invocations is the number of invocations per workgroup.
func (g Geometry) Invocations() int { return g.WorkgroupX * g.WorkgroupY }

// Workgroups returns the dispatch size that covers rows rows of C (a band
// starting at some row0) and all s.N columns.
func (g Geometry) Workgroups(s kernel.Shape, rows int) (x, y, z uint32) {
	return uint32(ceilDiv(s.N, g.BlockN)), uint32(ceilDiv(rows, g.BlockM)), 1
}

// BandRows returns how many rows of C one dispatch should cover so that it
// does at most maxFLOPs floating-point operations (a multiple of BlockM, at
// least one block, at most M). maxFLOPs <= 0 means no limit.
func (g Geometry) BandRows(s kernel.Shape, maxFLOPs float64) int {
	if maxFLOPs <= 0 {
		return s.M
	}
	perBlock := float64(g.BlockM) * 2 * float64(s.K) * float64(s.N)
	blocks := max(int(maxFLOPs/perBlock), 1)
	return min(blocks*g.BlockM, s.M)
}

// UniformSize is the size in bytes of the Dims uniform.
const UniformSize = 16

// Uniform encodes the Dims uniform for shape s and a band starting at row0.
func Uniform(s kernel.Shape, row0 int) []byte {
	b := make([]byte, UniformSize)
	binary.LittleEndian.PutUint32(b[0:], uint32(s.M))
	binary.LittleEndian.PutUint32(b[4:], uint32(s.K))
	binary.LittleEndian.PutUint32(b[8:], uint32(s.N))
	binary.LittleEndian.PutUint32(b[12:], uint32(row0))
	return b
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
