package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/web"
)

// browserOptionalEnv, set to 1, turns a missing Chromium into a skip.
const browserOptionalEnv = "TESSERA_BROWSER_OPTIONAL"

// chromiumEnv names a Chromium or Chrome binary to use instead of the
// usual install locations.
const chromiumEnv = "TESSERA_CHROMIUM"

// findChromium returns the path of a Chromium binary. Without one the test
// fails, or skips when TESSERA_BROWSER_OPTIONAL=1.
func findChromium(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(chromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("%s=%s: %v", chromiumEnv, p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	for _, p := range []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "no Chromium found (install it, e.g. apt-get install chromium, or set " + chromiumEnv + ")"
	if os.Getenv(browserOptionalEnv) == "1" {
		tb.Skip(msg + "; skipping because " + browserOptionalEnv + "=1")
	}
	tb.Fatal(msg + "; set " + browserOptionalEnv + "=1 to skip browser tests instead")
	return ""
}

// repoRoot returns the module's root directory.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		tb.Fatalf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		tb.Fatal("not inside the tessera module")
	}
	return filepath.Dir(mod)
}

// ensureWasm builds web/dist/tessera.wasm and copies wasm_exec.js next to
// it, the way `make wasm` does, unless both exist and the wasm is newer
// than every source file it is built from. It returns the dist directory.
func ensureWasm(tb testing.TB, root string) string {
	tb.Helper()
	dist := filepath.Join(root, "web", "dist")
	wasmPath := filepath.Join(dist, "tessera.wasm")
	execJS := filepath.Join(dist, "wasm_exec.js")
	if why := wasmStale(tb, root, wasmPath, execJS); why == "" {
		ensureWasmGz(tb, wasmPath)
		return dist
	} else {
		tb.Logf("building the browser client: %s", why)
	}
	start := time.Now()
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", wasmPath, "./wasm")
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build the browser client (GOOS=js GOARCH=wasm go build ./wasm; `make wasm` does the same): %v\n%s", err, out)
	}
	src, err := os.ReadFile(filepath.Join(goEnv(tb, "GOROOT"), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		tb.Fatalf("read Go's wasm_exec.js: %v", err)
	}
	if err := os.WriteFile(execJS, src, 0o644); err != nil {
		tb.Fatalf("copy wasm_exec.js: %v", err)
	}
	tb.Logf("built %s in %v", wasmPath, time.Since(start).Round(time.Millisecond))
	ensureWasmGz(tb, wasmPath)
	return dist
}

// ensureWasmGz writes wasmPath+".gz", as `make wasm` does with gzip, unless
// it is already at least as new as the client: the hub serves it to
// browsers that accept gzip, so the page tests load the compressed client.
func ensureWasmGz(tb testing.TB, wasmPath string) {
	tb.Helper()
	wi, err := os.Stat(wasmPath)
	if err != nil {
		tb.Fatal(err)
	}
	gzPath := wasmPath + ".gz"
	if gi, err := os.Stat(gzPath); err == nil && !gi.ModTime().Before(wi.ModTime()) {
		return
	}
	raw, err := os.ReadFile(wasmPath)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		tb.Fatalf("gzip the client: %v", err)
	}
	// Write beside it and rename, so that a hub never serves half a file.
	tmp := gzPath + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		tb.Fatalf("write %s: %v", tmp, err)
	}
	if err := os.Chtimes(tmp, wi.ModTime(), wi.ModTime()); err != nil {
		tb.Fatalf("set the time of %s: %v", tmp, err)
	}
	if err := os.Rename(tmp, gzPath); err != nil {
		tb.Fatalf("rename %s: %v", tmp, err)
	}
}

// wasmStale returns why the built client must be rebuilt, or "" when it is
// up to date: newer than go.mod, go.sum and every Go and embedded file of
// the module's packages it depends on.
func wasmStale(tb testing.TB, root, wasmPath, execJS string) string {
	tb.Helper()
	wi, err := os.Stat(wasmPath)
	if err != nil {
		return "web/dist/tessera.wasm is missing"
	}
	if _, err := os.Stat(execJS); err != nil {
		return "web/dist/wasm_exec.js is missing"
	}
	list := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		"./wasm")
	list.Dir = root
	list.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := list.Output()
	if err != nil {
		return fmt.Sprintf("cannot list its sources (%v)", err)
	}
	files := append(strings.Fields(string(out)), filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return fmt.Sprintf("cannot stat %s (%v)", f, err)
		}
		if fi.ModTime().After(wi.ModTime()) {
			return fmt.Sprintf("%s is newer than web/dist/tessera.wasm", f)
		}
	}
	return ""
}

func goEnv(tb testing.TB, name string) string {
	tb.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		tb.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// pageFS is the hub's embedded page (web.FS) with dist/ read from disk:
// the test binary embeds web/dist as it was when the test was compiled,
// which may be before ensureWasm built the client.
type pageFS struct{ dist fs.FS }

func (p pageFS) Open(name string) (fs.File, error) {
	if rest, ok := strings.CutPrefix(name, "dist/"); ok {
		return p.dist.Open(rest)
	}
	return web.FS.Open(name)
}

// fetchStatus reads the hub's GET /api/v1/status.
func fetchStatus(base string) (hub.Status, error) {
	var st hub.Status
	resp, err := http.Get(base + "/api/v1/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /api/v1/status: HTTP %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("decode status: %w", err)
	}
	return st, nil
}

// waitFor calls check until it returns nil or timeout passes, then fails
// with check's last error.
func waitFor(tb testing.TB, timeout time.Duration, what string, check func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not done after %v: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// distinctColors counts the distinct colours of a PNG image, stopping at
// limit.
func distinctColors(tb testing.TB, pngData []byte, limit int) (int, image.Rectangle) {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		tb.Fatalf("decode screenshot: %v", err)
	}
	seen := make(map[[4]uint32]struct{})
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = struct{}{}
			if len(seen) >= limit {
				return len(seen), b
			}
		}
	}
	return len(seen), b
}
