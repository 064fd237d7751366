//go:build !(arm64 || ppc64 || ppc64le || s390x || riscv64 || loong64 || amd64.v3 || amd64.v4)

package sandbox

// nativeFusesFMA: on this target the Go compiler rounds every multiply and
// add, as WebAssembly does, so native and sandboxed results are identical.
const nativeFusesFMA = false
