package service

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/tessera-ai/tessera/hub/ledger"
)

// TestDemoKeyRate: the demo key is made once and kept across restarts at
// the same rate; a new rate revokes it and makes another with that rate;
// a key the operator revoked is replaced; rates outside 1..MaxDemoRate
// are refused without touching the key.
func TestDemoKeyRate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	led, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	rateOf := func(tok string) int {
		t.Helper()
		k, err := led.KeyByToken(ctx, tok)
		if err != nil {
			t.Fatalf("the demo key: %v", err)
		}
		if k.PriceWei.Sign() != 0 {
			t.Fatalf("the demo key costs %v wei per 1000 tokens", k.PriceWei)
		}
		return k.RateLimit
	}
	first, err := demoKey(ctx, led, dir, DefaultDemoRate)
	if err != nil {
		t.Fatal(err)
	}
	if r := rateOf(first); r != DefaultDemoRate {
		t.Fatalf("rate %d, want %d", r, DefaultDemoRate)
	}
	again, err := demoKey(ctx, led, dir, DefaultDemoRate)
	if err != nil || again != first {
		t.Fatalf("a restart at the same rate gave another key (%v)", err)
	}
	for _, bad := range []int{0, -1, MaxDemoRate + 1} {
		if _, err := demoKey(ctx, led, dir, bad); err == nil {
			t.Fatalf("rate %d accepted", bad)
		}
	}
	if r := rateOf(first); r != DefaultDemoRate {
		t.Fatalf("a refused rate changed the key's rate to %d", r)
	}
	faster, err := demoKey(ctx, led, dir, 120)
	if err != nil {
		t.Fatal(err)
	}
	if faster == first || rateOf(faster) != 120 {
		t.Fatalf("a new rate kept the old key or got rate %d", rateOf(faster))
	}
	if _, err := led.KeyByToken(ctx, first); !errors.Is(err, ledger.ErrRevokedKey) {
		t.Fatalf("the old demo key after a rate change: %v, want revoked", err)
	}
	// The operator revokes the demo key (tessera-admin keys revoke).
	k, _ := led.KeyByToken(ctx, faster)
	if err := led.RevokeKey(ctx, k.Name); err != nil {
		t.Fatal(err)
	}
	fresh, err := demoKey(ctx, led, dir, 120)
	if err != nil || fresh == faster || rateOf(fresh) != 120 {
		t.Fatalf("after a revocation: same key %v, err %v", fresh == faster, err)
	}
}
