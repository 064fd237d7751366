package sandbox

import "errors"

// Errors a caller may test for with errors.Is. The error returned wraps
// one of them with the step that failed and the limit that applied.
var (
	// ErrTimeout: the call ran past Config.Timeout or the caller's deadline.
	// Such errors also match context.DeadlineExceeded.
	ErrTimeout = errors.New("sandbox: time limit exceeded")
	// ErrMemoryLimit: the operands, or the guest's heap, do not fit
	// Config.MemoryLimitBytes.
	ErrMemoryLimit = errors.New("sandbox: memory limit exceeded")
	// ErrABI: the module lacks an export the sandbox needs, has one with
	// the wrong signature, or speaks another ABI version.
	ErrABI = errors.New("sandbox: module does not speak the kernels ABI")
	// ErrGuest: the guest rejected the call or trapped.
	ErrGuest = errors.New("sandbox: guest failed")
	// ErrClosed: the Module was closed.
	ErrClosed = errors.New("sandbox: module closed")
	// ErrNoBuiltin: the binary was built without the kernels module.
	ErrNoBuiltin = errors.New("sandbox: built-in kernels module not embedded (run make kernels)")
)

// abiVersion is the version of the guest ABI this package speaks; see
// wasm/kernels.
const abiVersion = 3

// Error codes returned by the guest's matmul, as in wasm/kernels.
var guestCodes = map[uint32]string{
	1: "unknown op",
	2: "invalid shape",
	3: "operand pointer is not a live buffer of the right size",
	4: "reference kernel failed",
}
