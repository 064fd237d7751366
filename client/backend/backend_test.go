//go:build !js

package backend

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"

	"github.com/tessera-ai/tessera/client/gpu"
	"github.com/tessera-ai/tessera/shaders"
)

// TestOpenFamily opens the machine's WebGPU adapter (lavapipe here) with
// the family chosen per adapter and with each family forced, as
// tessera-edge --family does, and checks the device runs that family; the
// CPU backend ignores the family.
func TestOpenFamily(t *testing.T) {
	if _, set := os.LookupEnv("VK_ICD_FILENAMES"); !set {
		if _, err := os.Stat("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"); err == nil {
			t.Setenv("VK_ICD_FILENAMES", "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json")
		}
	}
	log := slog.New(slog.DiscardHandler)
	for _, f := range append([]shaders.Family{0}, shaders.Families...) {
		d, err := Open(context.Background(), "webgpu", f, log)
		if err != nil {
			if errors.Is(err, gpu.ErrNoAdapter) && os.Getenv("TESSERA_GPU_OPTIONAL") == "1" {
				t.Skipf("no WebGPU adapter (TESSERA_GPU_OPTIONAL=1): %v", err)
			}
			t.Fatalf("Open(webgpu, %v): %v", f, err)
		}
		info := d.Info()
		want := f.String()
		if f == 0 {
			want = d.(*gpu.Device).Family().String() // chosen per adapter
			if info.AdapterType == "cpu" && want != shaders.Vec4.String() {
				t.Errorf("CPU adapter %q: automatic family %s, want vec4", info.Adapter, want)
			}
		}
		if info.Variant != want {
			t.Errorf("Open(webgpu, %v): kernels %q, want %q", f, info.Variant, want)
		}
		d.(*gpu.Device).Close()
	}
	d, err := Open(context.Background(), "cpu", shaders.Vec4, log)
	if err != nil || d.Info().Backend != "cpu" {
		t.Errorf("Open(cpu, vec4) = %+v, %v: want the CPU backend", d, err)
	}
}
