package shaders

import (
	"encoding/binary"
	"iter"

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
		return Geometry{WorkgroupX: 8, WorkgroupY: 8, BlockM: 64, BlockN: 32}
	case Tiled:
		return Geometry{WorkgroupX: 16, WorkgroupY: 16, BlockM: 64, BlockN: 64, WorkgroupBytes: 8192}
	case Vec4:
		return Geometry{WorkgroupX: 8, WorkgroupY: 8, BlockM: 32, BlockN: 64}
	}
	return Geometry{}
}

// Invocations is the number of invocations per workgroup.
func (g Geometry) Invocations() int { return g.WorkgroupX * g.WorkgroupY }

// MaxWorkgroupsPerDimension is WebGPU's default limit on each dimension of
// a dispatch (maxComputeWorkgroupsPerDimension), which every adapter
// offers.
const MaxWorkgroupsPerDimension = 65535

// Band is one dispatch of a task: rows Row0 to Row0+Rows−1 of C in each of
// the products Z0 to Z0+Products−1 of the batch.
type Band struct {
	Z0, Products int
	Row0, Rows   int
}

// Bands splits the product of shape s into dispatches that each do at
// most maxFLOPs floating-point operations (but at least one block of rows
// of one product; maxFLOPs <= 0 means no limit) and use at most maxGroups
// workgroups in any dimension (<= 0 means MaxWorkgroupsPerDimension). A
// product that fits the budget is never split: one dispatch then covers
// as many whole products as fit, one per workgroup in z. The bands cover
// every row of every product exactly once, products in order.
func (g Geometry) Bands(s kernel.Shape, maxFLOPs float64, maxGroups int) iter.Seq[Band] {
	if maxGroups <= 0 {
		maxGroups = MaxWorkgroupsPerDimension
	}
	one, count := s.Single(), s.Count()
	rows := min(g.BandRows(one, maxFLOPs), maxGroups*g.BlockM)
	per := 1
	if rows == s.M {
		per = count
		if maxFLOPs > 0 {
			per = max(int(maxFLOPs/one.FLOPs()), 1)
		}
		per = min(per, count, maxGroups)
	}
	return func(yield func(Band) bool) {
		if rows < 1 {
			return // an invalid shape: nothing to dispatch
		}
		for z0 := 0; z0 < count; z0 += per {
			for row0 := 0; row0 < s.M; row0 += rows {
				if !yield(Band{Z0: z0, Products: min(per, count-z0), Row0: row0, Rows: min(rows, s.M-row0)}) {
					return
				}
			}
		}
	}
}

// Workgroups returns the dispatch size of band b of shape s: all s.N
// columns (x), the band's rows (y) and its products (z).
func (g Geometry) Workgroups(s kernel.Shape, b Band) (x, y, z uint32) {
	return uint32(ceilDiv(s.N, g.BlockN)), uint32(ceilDiv(b.Rows, g.BlockM)), uint32(b.Products)
}

// BandRows returns how many rows of C one dispatch should cover so that it
// does at most maxFLOPs floating-point operations (a multiple of BlockM, at
// least one block, at most M). maxFLOPs <= 0 means no limit. It looks at
// one product: s's batch is ignored.
func (g Geometry) BandRows(s kernel.Shape, maxFLOPs float64) int {
	if maxFLOPs <= 0 {
		return s.M
	}
	perBlock := float64(g.BlockM) * 2 * float64(s.K) * float64(s.N)
	blocks := max(int(maxFLOPs/perBlock), 1)
	return min(blocks*g.BlockM, s.M)
}

// UniformSize is the size in bytes of the Dims uniform (m, k, n, row0, z0
// and padding to a multiple of 16 bytes).
const UniformSize = 32

// Uniform encodes the Dims uniform for band b of shape s.
func Uniform(s kernel.Shape, b Band) []byte {
	u := make([]byte, UniformSize)
	for i, v := range []int{s.M, s.K, s.N, b.Row0, b.Z0} {
		binary.LittleEndian.PutUint32(u[4*i:], uint32(v))
	}
	return u
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
