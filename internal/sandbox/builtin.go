package sandbox

import (
	"embed"
	"errors"
	"io/fs"
)

// builtinPath is where `make kernels` writes the module, relative to this
// package. The file is not committed; builtin/README.md keeps the embedded
// directory non-empty so that the package builds without it.
const builtinPath = "builtin/kernels.wasm"

//go:embed builtin
var builtinFS embed.FS

// Builtin returns the kernels module embedded in this binary, built from
// wasm/kernels by `make kernels`, or ErrNoBuiltin if the binary was built
// without it (plain `go build` or `go test`).
func Builtin() ([]byte, error) {
	b, err := builtinFS.ReadFile(builtinPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoBuiltin
	}
	return b, err
}
