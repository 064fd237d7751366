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

// The demo key: a free key, limited to InferenceConfig.DemoRate requests
// per minute (DefaultDemoRate unless set), that the hub publishes at GET
// /api/v1/demo when the operator enables it (tessera-hub --demo-key,
// --demo-rate), so that the contributor page can let visitors try the
// models. Its token is kept in DATA/demo.key (the ledger stores only
// hashes) and reused across restarts while it is valid and has the rate
// asked for; otherwise it is revoked and a new one made.

// DefaultDemoRate is the demo key's requests per minute unless the
// operator sets another.
const DefaultDemoRate = 20

// MaxDemoRate bounds the demo key's rate: it is published to everyone.
const MaxDemoRate = 6000

const demoFile = "demo.key"

// demoKey returns the token of the demo key of rate requests per minute,
// creating the key on first use or when the rate changed.
func demoKey(ctx context.Context, led *ledger.Ledger, dataDir string, rate int) (string, error) {
	if rate < 1 || rate > MaxDemoRate {
		return "", fmt.Errorf("demo key: a rate of %d requests per minute is outside 1..%d", rate, MaxDemoRate)
	}
	path := filepath.Join(dataDir, demoFile)
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		k, err := led.KeyByToken(ctx, tok)
		switch {
		case err == nil && k.RateLimit == rate:
			return tok, nil
		case err == nil:
			// The operator changed the rate: the old key goes.
			if err := led.RevokeKey(ctx, k.Name); err != nil {
				return "", fmt.Errorf("demo key: %w", err)
			}
		case !errors.Is(err, ledger.ErrUnknownKey) && !errors.Is(err, ledger.ErrRevokedKey):
			return "", fmt.Errorf("demo key: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("demo key: %w", err)
	}
	// None yet, or revoked: a new one, under a new name (a revoked key
	// keeps its name).
	name := fmt.Sprintf("demo-%d", time.Now().UnixNano())
	tok, _, err := led.CreateKey(ctx, name, new(big.Int), rate)
	if err != nil {
		return "", fmt.Errorf("demo key: %w", err)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("demo key: %w", err)
	}
	return tok, nil
}
