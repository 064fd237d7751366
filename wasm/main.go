//go:build js && wasm

// Command wasm is Tessera's browser contributor: the client runtime
// (package client) compiled to WebAssembly, running kernels on WebGPU
// through navigator.gpu (package client/gpu) or, where no adapter works, on
// the pure-Go CPU path (device.CPU).
//
// It exposes one object to the page, globalThis.tessera, whose methods
// return promises:
//
//	tessera.start({hub, slots, backend}) // connect and contribute; resolves to stats
//	tessera.stop()                       // disconnect; resolves to stats
//	tessera.stats()                      // resolves to a plain object of progress
//	tessera.setThrottle(share)           // compute at most share (0 < share <= 1) of the time
//	tessera.setPaused(bool)              // stop (or resume) taking new tasks; held ones finish
//	tessera.identity()                   // {address, persistent, keyNote}; creates the key on first use
//	tessera.exportKey()                  // {key, address}: the key in hex, for a backup
//	tessera.importKey(hex)               // replace the key (not while contributing); {address}
//
// hub is the websocket URL (required), slots how many tasks to hold at once
// (default 2), backend "auto" (WebGPU, falling back to the CPU), "webgpu"
// (WebGPU or fail) or "cpu". The page polls stats; see bridge.stats for its
// fields. The contributor's key is kept in localStorage under "tessera.key";
// an import keeps the key it replaces under "tessera.key.previous". The
// throttle and the pause (package throttle) outlive start and stop.
//
// The loader must set globalThis.wasm to the WebAssembly instantiation
// result before running the module: the WebGPU library reads wasm memory
// from globalThis.wasm.instance.exports.mem.
//
// Build: GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o web/dist/tessera.wasm ./wasm
package main

import (
	"syscall/js"
)

// globalName is the property of globalThis that holds the bridge.
const globalName = "tessera"

func main() {
	b := newBridge()
	js.Global().Set(globalName, b.object())
	// Tell a loader that is waiting for the bridge; the page may also just
	// read globalThis.tessera after go.run returns control.
	if ready := js.Global().Get("tesseraReady"); ready.Type() == js.TypeFunction {
		ready.Invoke(js.Global().Get(globalName))
	}
	select {} // the bridge's callbacks and the client's goroutines do the work
}
