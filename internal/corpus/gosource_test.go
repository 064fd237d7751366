package corpus

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIsGoSource(t *testing.T) {
	for rel, want := range map[string]bool{
		"fmt/print.go":                true,
		"net/http/server.go":          true,
		"fmt/print_test.go":           false,
		"fmt/doc.md":                  false,
		"go/testdata/x.go":            false,
		"testdata/x.go":               false,
		"cmd/go/testdata/mod/a/b.go":  false,
		"cmd/notestdata/x.go":         true,
		"runtime/asm_amd64.s":         false,
		"go/build/testdata_notes.go":  true,
		"internal/testdata.go/main.c": false,
	} {
		if got := isGoSource(rel); got != want {
			t.Errorf("isGoSource(%q) = %v, want %v", rel, got, want)
		}
	}
}

func TestGoSource(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the Go source tree (70 MB)")
	}
	root, err := GoRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c := open(t, GoSource(root))
	t.Logf("loaded %s in %v", c.Root, time.Since(start).Round(time.Millisecond))
	train, val := c.Train, c.Validation
	t.Logf("train: %d bytes, %d files; validation: %d bytes, %d files",
		len(train.Data), len(train.Files), len(val.Data), len(val.Files))
	t.Logf("entropy bits/byte: train unigram %.4f bigram %.4f; validation unigram %.4f bigram %.4f",
		UnigramEntropy(train), BigramEntropy(train), UnigramEntropy(val), BigramEntropy(val))

	for _, f := range val.Files {
		if !strings.HasPrefix(f, "net/") && !strings.HasPrefix(f, "encoding/") {
			t.Errorf("validation holds %s", f)
		}
	}
	for _, f := range train.Files {
		if strings.HasPrefix(f, "net/") || strings.HasPrefix(f, "encoding/") {
			t.Errorf("training holds %s", f)
		}
	}
	for _, f := range append(slices.Clone(train.Files), val.Files...) {
		if !isGoSource(f) {
			t.Errorf("corpus holds %s", f)
		}
	}
	for _, f := range []string{"net/http/server.go", "net/ip.go", "encoding/json/decode.go", "encoding/binary/binary.go"} {
		if !slices.Contains(val.Files, f) {
			t.Errorf("validation lacks %s", f)
		}
	}
	for _, f := range []string{"fmt/print.go", "runtime/proc.go", "cmd/go/main.go", "vendor/golang.org/x/net/http2/hpack/hpack.go"} {
		if !slices.Contains(train.Files, f) {
			t.Errorf("training lacks %s", f)
		}
	}
	if !slices.IsSorted(train.Files) || !slices.IsSorted(val.Files) {
		t.Error("files not in path order")
	}
	if train.Documents != len(train.Files) || val.Documents != len(val.Files) {
		t.Errorf("documents %d/%d, files %d/%d", train.Documents, val.Documents, len(train.Files), len(val.Files))
	}
	if len(train.Data) < 20<<20 || len(val.Data) < 2<<20 {
		t.Errorf("train %d bytes, validation %d: the Go tree is bigger", len(train.Data), len(val.Data))
	}
	// Generated files are left out of training, and only they; validation
	// keeps its own.
	t.Logf("left out of training as generated: %d files, %d bytes", len(c.Dropped), c.DroppedBytes)
	for _, f := range []string{"cmd/compile/internal/ssa/opGen.go", "cmd/compile/internal/ssa/rewriteAMD64.go", "time/tzdata/zzipdata.go"} {
		if !slices.Contains(c.Dropped, f) || slices.Contains(train.Files, f) {
			t.Errorf("%s (generated) is not left out of training", f)
		}
	}
	if !slices.Contains(val.Files, "net/http/h2_bundle.go") {
		t.Error("validation lacks net/http/h2_bundle.go (generated, but validation is not filtered)")
	}
	if !slices.Contains(train.Files, "cmd/compile/internal/ssa/compile.go") {
		t.Error("training lacks cmd/compile/internal/ssa/compile.go (written by people)")
	}
	for _, f := range c.Dropped {
		src, err := os.ReadFile(filepath.Join(c.Root, filepath.FromSlash(f)))
		if err != nil || !IsGenerated(src) {
			t.Errorf("%s left out, but IsGenerated is false (%v)", f, err)
		}
	}
	if bigram := BigramEntropy(val); bigram < 3 || bigram > 4.5 {
		t.Errorf("validation bigram entropy %.3f bits, want about 3.9", bigram)
	}
}

func TestGoRoot(t *testing.T) {
	root, err := GoRoot(context.Background())
	if err != nil || root == "" {
		t.Fatalf("GoRoot = %q, %v", root, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := GoRoot(ctx); err == nil {
		t.Error("GoRoot with a canceled context succeeded")
	}
}

func BenchmarkOpenGoSource(b *testing.B) {
	root, err := GoRoot(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		c := open(b, GoSource(root))
		b.SetBytes(int64(len(c.Train.Data) + len(c.Validation.Data)))
	}
}
