package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// banned lists packages the browser build must not depend on, by import
// path prefix, with the reason. go-ethereum's crypto and common packages
// are allowed: the identity package signs with them.
var banned = []struct{ prefix, reason string }{
	{"github.com/mattn/go-sqlite3", "SQLite is the hub's ledger; it needs cgo and has no place in a browser"},
	{"github.com/tessera-ai/tessera/hub", "the hub is server code; the browser client talks to it only over the wire protocol"},
	{"github.com/ethereum/go-ethereum/node", "a go-ethereum node is the hub's embedded chain and would bloat the wasm binary"},
	{"github.com/ethereum/go-ethereum/eth", "go-ethereum's eth service is the hub's embedded chain"},
	{"github.com/ethereum/go-ethereum/ethclient", "chain RPC belongs to the hub's committer, not to contributors"},
	{"github.com/ethereum/go-ethereum/core", "go-ethereum's blockchain core is the hub's embedded chain"},
	{"github.com/gorilla/websocket", "gorilla/websocket cannot dial from a browser; use the page's WebSocket (client/transport_js.go)"},
	{"github.com/tetratelabs/wazero", "wazero is the hub's arbitration sandbox; the browser already runs wasm"},
}

// bannedReason returns why pkg may not be in the browser build, or "".
// A prefix matches the package itself and the packages below it.
func bannedReason(pkg string) string {
	for _, b := range banned {
		if pkg == b.prefix || strings.HasPrefix(pkg, b.prefix+"/") {
			return b.reason
		}
	}
	return ""
}

func TestBannedName(t *testing.T) {
	for _, tc := range []struct {
		pkg    string
		banned bool
	}{
		{"github.com/ethereum/go-ethereum/crypto", false},
		{"github.com/ethereum/go-ethereum/common", false},
		{"github.com/ethereum/go-ethereum/common/hexutil", false},
		{"github.com/ethereum/go-ethereum/core/types", true},
		{"github.com/ethereum/go-ethereum/eth", true},
		{"github.com/ethereum/go-ethereum/ethdb", false},
		{"github.com/ethereum/go-ethereum/ethclient/simulated", true},
		{"github.com/tessera-ai/tessera/hub", true},
		{"github.com/tessera-ai/tessera/hub/ledger", true},
		{"github.com/tessera-ai/tessera/hubble", false},
		{"github.com/gorilla/websocket", true},
	} {
		t.Run(tc.pkg, func(t *testing.T) {
			if got := bannedReason(tc.pkg) != ""; got != tc.banned {
				t.Errorf("banned(%s) = %v, want %v", tc.pkg, got, tc.banned)
			}
		})
	}
}

// TestDependencyFence fails when the browser build (GOOS=js GOARCH=wasm
// ./wasm) depends on a banned package.
func TestDependencyFence(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list -deps for GOOS=js GOARCH=wasm: %s", msg)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 10 {
		t.Fatalf("go list returned only %d packages: %q", len(pkgs), pkgs)
	}
	for _, pkg := range pkgs {
		if reason := bannedReason(pkg); reason != "" {
			t.Errorf("the browser build imports %s: %s (find the importer with GOOS=js GOARCH=wasm go list -deps -f '{{.ImportPath}}: {{.Imports}}' ./wasm)", pkg, reason)
		}
	}
}
