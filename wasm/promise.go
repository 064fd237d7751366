//go:build js && wasm

package main

import (
	"fmt"
	"syscall/js"
)

// promise returns a JavaScript Promise settled by fn, which runs on its own
// goroutine: fn may block (open a GPU device, wait for a stop), which a
// js.FuncOf callback must never do.
func promise(fn func() (any, error)) js.Value {
	executor := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := safely(fn)
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	// The Promise constructor calls the executor synchronously, so it can
	// be released as soon as the promise exists.
	defer executor.Release()
	return js.Global().Get("Promise").New(executor)
}

// safely runs fn, turning a panic into an error so that a bug rejects the
// promise instead of killing the whole module (and the page's contributor).
func safely(fn func() (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return fn()
}
