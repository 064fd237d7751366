package service

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tessera-ai/tessera/hub/ledger"
)

// The demo key: a free key, limited to demoRate requests per minute,
// that the hub publishes at GET /api/v1/demo when the operator enables it
// (tessera-hub --demo-key), so that the contributor page can let visitors
// try the models. Its token is kept in DATA/demo.key (the ledger stores
// only hashes) and reused across restarts while it is valid.

// demoRate is the demo key's requests per minute.
const demoRate = 20

const demoFile = "demo.key"

// demoKey returns the demo key's token, creating the key on first use.
func demoKey(ctx context.Context, led *ledger.Ledger, dataDir string) (string, error) {
	path := filepath.Join(dataDir, demoFile)
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		if _, err := led.KeyByToken(ctx, tok); err == nil {
			return tok, nil
		} else if !errors.Is(err, ledger.ErrUnknownKey) && !errors.Is(err, ledger.ErrRevokedKey) {
			return "", fmt.Errorf("demo key: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("demo key: %w", err)
	}
	// None yet, or the operator revoked it: a new one, under a new name
	// (a revoked key keeps its name).
	name := fmt.Sprintf("demo-%d", time.Now().Unix())
	tok, _, err := led.CreateKey(ctx, name, new(big.Int), demoRate)
	if err != nil {
		return "", fmt.Errorf("demo key: %w", err)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("demo key: %w", err)
	}
	return tok, nil
}
