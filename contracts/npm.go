package contracts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// InstallNodeModules makes sure dir/node_modules (dir: this contracts
// directory) holds exactly the devDependencies pinned in dir/package.json,
// running `npm ci` if any is missing or has another version. It needs node
// and npm on PATH, and the npm registry the first time. Concurrent callers,
// such as test binaries of several packages, take turns on a file lock.
func InstallNodeModules(ctx context.Context, dir string) error {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found on PATH: install Node.js 20 or later (Debian: apt-get install nodejs npm)", tool)
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("contracts dir: %w", err)
	}
	unlock, err := lockFile(lockPath(dir))
	if err != nil {
		return fmt.Errorf("lock node_modules: %w", err)
	}
	defer unlock()

	stale, err := staleModules(dir)
	if err != nil {
		return err
	}
	if len(stale) == 0 {
		return nil
	}
	// The registry is across a network: a dropped connection
	// (ECONNRESET) must not fail a test run, so npm ci, which starts
	// from an empty node_modules each time, is tried up to 3 times.
	for attempt := 1; ; attempt++ {
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err == nil {
			break
		}
		if attempt == 3 || !bytes.Contains(out.Bytes(), []byte("npm error network")) {
			return fmt.Errorf("npm ci in %s (needed for %v), attempt %d: %w\n%s", dir, stale, attempt, err, out.Bytes())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("npm ci in %s (needed for %v): %w after a network error:\n%s", dir, stale, ctx.Err(), out.Bytes())
		case <-time.After(time.Duration(attempt) * 3 * time.Second):
		}
	}
	if stale, err = staleModules(dir); err != nil || len(stale) > 0 {
		return fmt.Errorf("npm ci in %s left %v not installed at the pinned version (err %v)", dir, stale, err)
	}
	return nil
}

// staleModules returns the devDependencies of dir/package.json that
// node_modules lacks or holds at another version.
func staleModules(dir string) ([]string, error) {
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := readJSON(filepath.Join(dir, "package.json"), &pkg); err != nil {
		return nil, err
	}
	var stale []string
	for name, want := range pkg.DevDependencies {
		var got struct {
			Version string `json:"version"`
		}
		err := readJSON(filepath.Join(dir, "node_modules", name, "package.json"), &got)
		if err != nil || got.Version != want {
			stale = append(stale, name+"@"+want)
		}
	}
	return stale, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

// lockPath is a lock file outside the working tree, one per checkout.
func lockPath(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "tessera-npm-"+hex.EncodeToString(sum[:8])+".lock")
}
