package shaders

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-ai/tessera/internal/kernel"
)

func TestSource(t *testing.T) {
	for _, f := range Families {
		g := GeometryOf(f)
		for _, op := range kernel.Ops {
			t.Run(f.String()+"/"+op.String(), func(t *testing.T) {
				src, err := Source(op, f)
				if err != nil {
					t.Fatalf("Source: %v", err)
				}
				// The WGSL must agree with the Go-side facts about it.
				for _, want := range []string{
					"fn " + EntryPoint + "(",
					"@workgroup_size(" + strconv.Itoa(g.WorkgroupX) + ", " + strconv.Itoa(g.WorkgroupY) + ", 1)",
					"@binding(0) var<storage, read> a",
					"@binding(1) var<storage, read> b",
					"@binding(2) var<storage, read_write> c",
					"@binding(3) var<uniform> dims: Dims",
				} {
					if !strings.Contains(src, want) {
						t.Errorf("source lacks %q", want)
					}
				}
				if hasBarrier := strings.Contains(src, "workgroupBarrier"); hasBarrier != (f == Tiled) {
					t.Errorf("workgroupBarrier present = %v for family %v", hasBarrier, f)
				}
			})
		}
	}
}

func TestSourceErrors(t *testing.T) {
	if _, err := Source(kernel.Op(0), RegBlock); err == nil {
		t.Error("Source(unknown op) succeeded")
	}
	if _, err := Source(kernel.MatMulNN, Family(0)); err == nil {
		t.Error("Source(unknown family) succeeded")
	}
}

func TestParseFamily(t *testing.T) {
	for _, f := range Families {
		got, err := ParseFamily(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFamily(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseFamily("simd"); err == nil {
		t.Error(`ParseFamily("simd") succeeded`)
	}
}

func TestWorkgroupsCover(t *testing.T) {
	for _, f := range Families {
		g := GeometryOf(f)
		for _, s := range []kernel.Shape{{M: 1, K: 1, N: 1}, {M: 65, K: 129, N: 33}, {M: kernel.MaxDim, K: 3, N: kernel.MaxDim}} {
			x, y, z := g.Workgroups(s, s.M)
			if int(x)*g.BlockN < s.N || int(y)*g.BlockM < s.M || z != 1 {
				t.Errorf("%v %v: workgroups %d,%d,%d do not cover C", f, s, x, y, z)
			}
			if (int(x)-1)*g.BlockN >= s.N || (int(y)-1)*g.BlockM >= s.M {
				t.Errorf("%v %v: workgroups %d,%d over-cover C", f, s, x, y)
			}
			if x > 65535 || y > 65535 {
				t.Errorf("%v %v: workgroups %d,%d beyond the per-dimension limit", f, s, x, y)
			}
		}
	}
}

func TestBandRows(t *testing.T) {
	g := GeometryOf(RegBlock)
	s := kernel.Shape{M: 1000, K: 100, N: 100}
	tests := []struct {
		name     string
		maxFLOPs float64
		want     int
	}{
		{"Unlimited", 0, 1000},
		{"Tiny", 1, g.BlockM},
		{"TwoBlocks", 2 * float64(g.BlockM) * 2 * 100 * 100, 2 * g.BlockM},
		{"Huge", 1e18, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := g.BandRows(s, tt.maxFLOPs); got != tt.want {
				t.Errorf("BandRows = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestUniform(t *testing.T) {
	u := Uniform(kernel.Shape{M: 1, K: 2, N: 3}, 4)
	want := []byte{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0}
	if string(u) != string(want) {
		t.Errorf("Uniform = %v, want %v", u, want)
	}
}
