// Package sandbox runs kernel modules, WebAssembly builds of Tessera's
// kernels, under wazero with a memory limit and a time limit.
//
// The hub uses it to arbitrate when contributors disagree: it recomputes
// the task with the CPU reference kernels (internal/kernel) compiled to
// WebAssembly from wasm/kernels, whose results are bit for bit those of the
// native kernel.Reference on targets where Go does not fuse multiply-add
// (amd64 up to GOAMD64=v2; on arm64 and amd64.v3 native results may differ
// in the last bits, WebAssembly never fuses). An edge client will use it to
// run a kernel module the hub ships, named by content hash, when its own
// binary lacks the kernel.
//
// Entry points: Compile turns module bytes into a Module (named by Hash),
// Module.MatMul runs one product in a fresh instance, Builtin returns the
// module embedded by `make kernels`, and Build compiles wasm/kernels.
//
// # Isolation
//
// Every MatMul instantiates the module afresh (about 5 ms, mostly the Go
// runtime's start), copies the operands in, calls matmul and copies C out,
// then closes the instance. Calls share no guest state, a trap or an
// exhausted heap kills only that call, and one Module serves concurrent
// callers. Arbitration is rare and a kernel of interest takes 10–1000 ms
// in the sandbox, so a pool of instances was not worth its reset logic.
//
// The memory limit (Config.MemoryLimitBytes) caps each instance's linear
// memory. MatMul refuses up front a shape whose operands alone cannot fit;
// if the guest's heap runs out later, the Go runtime in the guest aborts,
// and MatMul reports ErrMemoryLimit with the guest's message.
//
// # Time limit: interruptible or bounded
//
// wazero can stop a running guest at a context deadline only if the
// module was compiled with WithCloseOnContextDone, which inserts a call to
// a check at every loop header. For the reference kernels that costs about
// 8x (2-core AMD EPYC, MatMulNN, fresh instance and copies included):
//
//	n³     native        sandbox, bounded       sandbox, interruptible
//	64     0.19 ms       7.4 ms (18x native)    48 ms (114x)
//	256    16 ms         176 ms (11x)           1.4 s (90x)
//	1024   0.6–1.0 s     12 s (12–21x)          about 100 s (not run)
//
// So Config.Interrupt chooses:
//
//   - true (DefaultConfig): the guest is stopped at the deadline. Use it
//     for modules that are not known to finish, such as ones shipped by
//     hash.
//   - false: the kernel runs at full speed and MatMul still returns
//     ErrTimeout at the deadline, but the guest keeps running on a
//     background goroutine until its work is done; Module.Close waits for
//     it. That work is bounded by the shape (kernel.Check limits every
//     operand), so this is safe only for a module whose kernels are known
//     to do O(M·K·N) work: the built-in one. The hub's arbitration uses it,
//     since at 1024³ an interruptible call would not fit a 30 s limit.
package sandbox
