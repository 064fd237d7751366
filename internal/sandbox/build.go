package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// KernelsPackage is the import path of the kernels module's source.
const KernelsPackage = "github.com/tessera-ai/tessera/wasm/kernels"

// BuildArgs are the arguments of `go` that build the kernels module, less
// the output path. The Makefile uses the same flags, so that a module
// built either way has the same bytes and the same Hash for one Go
// toolchain: -trimpath drops local paths and -buildvcs=false the commit.
var BuildArgs = []string{"build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false"}

// Build compiles the kernels module to outPath with the go command on
// PATH, for GOOS=wasip1 GOARCH=wasm. It must run inside the tessera
// module's tree, as tests and make do.
func Build(ctx context.Context, outPath string) error {
	args := append(append([]string(nil), BuildArgs...), "-o", outPath, KernelsPackage)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build kernels module: go %s: %w\n%s",
			strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
