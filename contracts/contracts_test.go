package contracts_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/contracts"
)

// generated lists every committed generated file, relative to contracts/.
var generated = []string{
	"build/TesseraCredits.abi",
	"build/TesseraCredits.bin",
	"bindings/tessera_credits.go",
	"build/ReentrantClaimer.abi", // test-only: reentrancy_test.go's attacker
	"build/ReentrantClaimer.bin",
}

// TestGenerated regenerates ABI, bytecode and bindings with generate.sh,
// as `make contracts` does, into a temporary directory, and fails if any
// differs from the committed file. It needs node and npm (it runs npm ci
// itself if node_modules is missing or stale) and builds abigen on first use.
func TestGenerated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := contracts.InstallNodeModules(ctx, "."); err != nil {
		t.Fatalf("compiling the contracts needs contracts/node_modules: %v", err)
	}
	tmp := t.TempDir()
	run(t, ctx, "bash", "generate.sh", tmp)

	for _, name := range generated {
		t.Run(filepath.Base(name), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(tmp, name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(name)
			if err != nil {
				t.Fatalf("%v: run `make contracts` and commit the result", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("contracts/%s is stale (first difference at byte %d): run `make contracts` and commit the result",
					name, firstDiff(got, want))
			}
		})
	}
}

func run(tb testing.TB, ctx context.Context, name string, args ...string) {
	tb.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
