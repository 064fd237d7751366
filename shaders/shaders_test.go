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
				// The variant's layout constants, each defined once.
				want := map[string]bool{"TRANS_A": op == kernel.MatMulTN, "TRANS_B": op == kernel.MatMulNT}
				for name, v := range want {
					decl := "const " + name + ": bool = " + strconv.FormatBool(v) + ";"
					if strings.Count(src, "const "+name) != 1 || !strings.Contains(src, decl) {
						t.Errorf("source does not declare %q exactly once", decl)
					}
				}
				if !strings.HasPrefix(src, "// "+f.String()+"_"+op.String()[len("matmul_"):]+":") {
					t.Errorf("source does not start by naming its variant: %.60q", src)
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

// The variants differ only in the constants Source prepends: there is one
// template per family, the shared bindings, and no stray copy of a kernel
// in the package.
func TestOneTemplatePerFamily(t *testing.T) {
	entries, err := files.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(Families)+1 {
		t.Errorf("%d embedded WGSL files, want one per family (%d) and bindings.wgsl", len(entries), len(Families))
	}
	bindings, err := files.ReadFile("bindings.wgsl")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Families {
		tmpl, err := files.ReadFile(f.String() + ".wgsl")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(tmpl), "@binding") || strings.Contains(string(tmpl), "struct Dims") {
			t.Errorf("%v: the template declares what bindings.wgsl does", f)
		}
		for _, op := range kernel.Ops {
			src, _ := Source(op, f)
			header, rest, ok := strings.Cut(src, string(bindings))
			if !ok || strings.TrimSpace(rest) != strings.TrimSpace(string(tmpl)) {
				t.Errorf("%v %v: source is not header, bindings and template", f, op)
			}
			if strings.Contains(header, "fn ") {
				t.Errorf("%v %v: header holds code: %q", f, op, header)
			}
		}
	}
}

func TestWorkgroupsCover(t *testing.T) {
	for _, f := range Families {
		g := GeometryOf(f)
		for _, s := range []kernel.Shape{{M: 1, K: 1, N: 1}, {M: 65, K: 129, N: 33}, {M: kernel.MaxDim, K: 3, N: kernel.MaxDim}} {
			x, y, z := g.Workgroups(s, Band{Products: 1, Rows: s.M})
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
	u := Uniform(kernel.Shape{Batch: 9, M: 1, K: 2, N: 3}, Band{Z0: 5, Products: 2, Row0: 4, Rows: 1})
	want := []byte{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if string(u) != string(want) {
		t.Errorf("Uniform = %v, want %v", u, want)
	}
}

// TestBands checks that the dispatches of a task cover every row of every
// product exactly once, within the FLOP budget (unless a single block of
// rows exceeds it) and the workgroup limit, and that whole products are
// grouped only when they fit.
func TestBands(t *testing.T) {
	tests := []struct {
		name      string
		s         kernel.Shape
		maxFLOPs  float64
		maxGroups int
		bands     int // 0: one per block of rows of each product
	}{
		{"SingleUnlimited", kernel.Shape{M: 100, K: 10, N: 10}, 0, 0, 1},
		{"BatchUnlimited", kernel.Shape{Batch: 64, M: 128, K: 32, N: 128}, 0, 0, 1},
		{"BatchMax", kernel.Shape{Batch: kernel.MaxBatch, M: 3, K: 2, N: 5}, 0, 0, 1},
		{"BatchPerProduct", kernel.Shape{Batch: 5, M: 7, K: 3, N: 9}, 1, 0, 5},
		{"BatchTwoPerDispatch", kernel.Shape{Batch: 5, M: 7, K: 3, N: 9}, 2 * 2 * 7 * 3 * 9, 0, 3},
		{"BatchRowBands", kernel.Shape{Batch: 3, M: 100, K: 10, N: 10}, 1, 0, 0},
		{"FoldedByLimit", kernel.Shape{Batch: 10, M: 5, K: 7, N: 9}, 0, 4, 3},
		{"FoldedByLimitMax", kernel.Shape{Batch: kernel.MaxBatch, M: 3, K: 2, N: 5}, 0, 1000, 5},
	}
	for _, f := range Families {
		g := GeometryOf(f)
		for _, tt := range tests {
			t.Run(f.String()+"/"+tt.name, func(t *testing.T) {
				limit := tt.maxGroups
				if limit <= 0 {
					limit = MaxWorkgroupsPerDimension
				}
				covered := make([]int, tt.s.Count()*tt.s.M)
				n := 0
				for b := range g.Bands(tt.s, tt.maxFLOPs, tt.maxGroups) {
					n++
					x, y, z := g.Workgroups(tt.s, b)
					if int(x) > limit || int(y) > limit || int(z) > limit || z < 1 {
						t.Errorf("band %+v: workgroups %d,%d,%d beyond the limit %d", b, x, y, z, limit)
					}
					flops := float64(b.Products) * 2 * float64(b.Rows) * float64(tt.s.K) * float64(tt.s.N)
					if tt.maxFLOPs > 0 && flops > tt.maxFLOPs && (b.Products > 1 || b.Rows > g.BlockM) {
						t.Errorf("band %+v: %g FLOPs over the budget %g", b, flops, tt.maxFLOPs)
					}
					if b.Products > 1 && b.Rows != tt.s.M {
						t.Errorf("band %+v groups products but splits their rows", b)
					}
					for z := b.Z0; z < b.Z0+b.Products; z++ {
						for r := b.Row0; r < b.Row0+b.Rows; r++ {
							if z < 0 || z >= tt.s.Count() || r < 0 || r >= tt.s.M {
								t.Fatalf("band %+v covers product %d row %d, outside %v", b, z, r, tt.s)
							}
							covered[z*tt.s.M+r]++
						}
					}
				}
				for i, c := range covered {
					if c != 1 {
						t.Fatalf("product %d row %d covered %d times", i/tt.s.M, i%tt.s.M, c)
					}
				}
				want := tt.bands
				if want == 0 {
					want = tt.s.Count() * ceilDiv(tt.s.M, g.BlockM)
				}
				if n != want {
					t.Errorf("%d bands, want %d", n, want)
				}
			})
		}
	}
}
