package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionKeysAndUsage: a key's token finds it until it is revoked;
// usage is metered once per request, survives reopening, and sums exactly
// past 64 bits of wei, per key and per model.
func TestCompletionKeysAndUsage(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := open(t, path)
	big30 := new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil) // wei per 1k tokens, far past 2^64
	tok, k, err := l.CreateKey(ctx, "alice", big30, 60)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, tokenPrefix) || len(tok) < 30 {
		t.Fatalf("token %q", tok)
	}
	if _, _, err := l.CreateKey(ctx, "alice", big.NewInt(1), 0); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	for _, bad := range []struct {
		name  string
		price *big.Int
		rate  int
	}{{"", big.NewInt(1), 0}, {"a b", big.NewInt(1), 0}, {"x", big.NewInt(-1), 0}, {"x", new(big.Int).Lsh(big.NewInt(1), 256), 0}, {"x", big.NewInt(1), -1}} {
		if _, _, err := l.CreateKey(ctx, bad.name, bad.price, bad.rate); err == nil {
			t.Errorf("CreateKey(%q, %v, %d) accepted", bad.name, bad.price, bad.rate)
		}
	}
	got, err := l.KeyByToken(ctx, tok)
	if err != nil || got.ID != k.ID || got.PriceWei.Cmp(big30) != 0 || got.RateLimit != 60 {
		t.Fatalf("KeyByToken: %+v %v", got, err)
	}
	if _, err := l.KeyByToken(ctx, tok+"x"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("wrong token: %v", err)
	}
	_, k2, err := l.CreateKey(ctx, "bob", big.NewInt(3), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := new(big.Int)
	for i := range 5 {
		u := Usage{Request: fmt.Sprintf("cmpl-%d", i), KeyID: k.ID, Model: "gocode-lm", PromptTokens: 10, CompletionTokens: 990, Wei: Price(1000, big30)}
		if err := <-l.RecordUsage(u); err != nil {
			t.Fatal(err)
		}
		want.Add(want, u.Wei)
	}
	// The same request again (a retried write) counts once.
	if err := <-l.RecordUsage(Usage{Request: "cmpl-0", KeyID: k.ID, Model: "gocode-lm", Wei: big.NewInt(5)}); err != nil {
		t.Fatal(err)
	}
	if err := <-l.RecordUsage(Usage{Request: "cmpl-b", KeyID: k2.ID, Model: "other", PromptTokens: 1, CompletionTokens: 2, Wei: Price(3, big.NewInt(3))}); err != nil {
		t.Fatal(err)
	}
	if err := <-l.RecordUsage(Usage{Request: "cmpl-x", KeyID: 999, Model: "m", Wei: big.NewInt(1)}); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("usage of an unknown key: %v", err)
	}
	if err := l.RevokeKey(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.KeyByToken(ctx, tok); !errors.Is(err, ErrRevokedKey) {
		t.Fatalf("revoked token: %v", err)
	}
	if err := l.RevokeKey(ctx, "nobody"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = open(t, path)
	defer l.Close()
	keys, err := l.Keys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("Keys: %+v %v", keys, err)
	}
	if a := keys[0]; a.Name != "alice" || a.RevokedAt.IsZero() || a.Requests != 5 || a.PromptTokens != 50 || a.CompletionTokens != 4950 || a.Wei.Cmp(want) != 0 {
		t.Errorf("alice: %+v, want 5 requests and %v wei", a, want)
	}
	if b := keys[1]; b.Requests != 1 || b.Wei.Int64() != 0 { // 3 tokens at 3 wei per 1,000: rounded down
		t.Errorf("bob: %+v", b)
	}
	models, err := l.UsageByModel(ctx)
	if err != nil || len(models) != 2 || models[0].Model != "gocode-lm" || models[0].Wei.Cmp(want) != 0 || models[1].Requests != 1 {
		t.Fatalf("UsageByModel: %+v %v", models, err)
	}
}

// TestCompletionPrice: the price of tokens is rounded down to the wei.
func TestCompletionPrice(t *testing.T) {
	for _, c := range []struct {
		tokens int
		price  int64
		want   int64
	}{{0, 5, 0}, {1, 999, 0}, {1, 1000, 1}, {1500, 3, 4}, {1000, 7, 7}} {
		if got := Price(c.tokens, big.NewInt(c.price)); got.Int64() != c.want {
			t.Errorf("Price(%d, %d) = %v, want %d", c.tokens, c.price, got, c.want)
		}
	}
}
