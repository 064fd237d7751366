//go:build js && wasm

package main

import (
	"fmt"
	"syscall/js"

	"github.com/tessera-ai/tessera/internal/identity"
)

// Names of the contributor key in localStorage. A stored value that does
// not parse is kept under keyInvalidName rather than overwritten: it may be
// worth recovering, since the key owns the contributor's credit.
const (
	keyName         = "tessera.key"
	keyInvalidName  = "tessera.key.invalid"
	keyPreviousName = "tessera.key.previous" // the key an import replaced
)

// loadKey returns the contributor key stored in localStorage, creating and
// storing one on first use. persistent is false when the browser refuses
// storage (private mode, blocked cookies): the key then lives only as long
// as the page, and note says so in words.
func loadKey() (key *identity.Key, persistent bool, note string, err error) {
	var storage js.Value
	if err := jsTry(func() { storage = js.Global().Get("localStorage") }); err != nil || !storage.Truthy() {
		key, err := identity.Generate()
		return key, false, "this browser gives the page no storage: the key (and its credit) lasts only as long as the page", err
	}
	var stored js.Value
	if err := jsTry(func() { stored = storage.Call("getItem", keyName) }); err != nil {
		key, gerr := identity.Generate()
		return key, false, fmt.Sprintf("cannot read the stored key (%v): using a key that lasts only as long as the page", err), gerr
	}
	if stored.Type() == js.TypeString {
		key, perr := identity.ParseHex(stored.String())
		if perr == nil {
			return key, true, "", nil
		}
		_ = jsTry(func() { storage.Call("setItem", keyInvalidName, stored) })
		note = fmt.Sprintf("the stored key was unreadable (%v); it was kept as %q and a new key was created", perr, keyInvalidName)
	}
	key, err = identity.Generate()
	if err != nil {
		return nil, false, "", err
	}
	if serr := jsTry(func() { storage.Call("setItem", keyName, key.Hex()) }); serr != nil {
		return key, false, fmt.Sprintf("cannot store the key (%v): it lasts only as long as the page", serr), nil
	}
	return key, true, note, nil
}

// importKey validates hexKey and stores it as the contributor key. The
// key it replaces, if different, is kept under keyPreviousName, so that an
// import by mistake does not lose the credit of the old address for good.
func importKey(hexKey string) (*identity.Key, error) {
	key, err := identity.ParseHex(hexKey)
	if err != nil {
		return nil, fmt.Errorf("not a contributor key (want 64 hex digits of a secp256k1 private key): %w", err)
	}
	var storage js.Value
	if err := jsTry(func() { storage = js.Global().Get("localStorage") }); err != nil || !storage.Truthy() {
		return nil, fmt.Errorf("this browser gives the page no storage to keep the key in")
	}
	err = jsTry(func() {
		old := storage.Call("getItem", keyName)
		if old.Type() == js.TypeString && old.String() != key.Hex() {
			storage.Call("setItem", keyPreviousName, old)
		}
		storage.Call("setItem", keyName, key.Hex())
	})
	if err != nil {
		return nil, fmt.Errorf("store the key: %w", err)
	}
	return key, nil
}

// jsTry runs fn and returns a JavaScript exception it throws as an error.
func jsTry(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if jerr, ok := r.(js.Error); ok {
				err = fmt.Errorf("%s", jerr.Get("message").String())
				return
			}
			panic(r)
		}
	}()
	fn()
	return nil
}
