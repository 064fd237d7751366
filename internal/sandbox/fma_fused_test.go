//go:build arm64 || ppc64 || ppc64le || s390x || riscv64 || loong64 || amd64.v3 || amd64.v4

package sandbox

// nativeFusesFMA: on this target the Go compiler fuses a*b+c into one
// rounding, so native kernel.Reference and the wasm build (no FMA) may
// differ in the last bits.
const nativeFusesFMA = true
