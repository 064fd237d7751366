package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/service"
)

// TestProofOfOlderEpochPast64Bits runs `tessera-edge proof` against a real
// hub (service.Run with its embedded chain) where the address holds
// 2^64+1 FLOP in epoch 1 and more in epoch 2: --epoch 1 proves epoch 1,
// the default the latest, both VALID through the contract, with the
// address checksummed however it was typed and the amounts exact.
func TestProofOfOlderEpochPast64Bits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub with its embedded chain")
	}
	ctx := context.Background()
	dir := t.TempDir()
	const addr = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	credit := func(round string, amounts ...int64) {
		t.Helper()
		l, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"), ledger.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var ops []ledger.Op
		for i, a := range amounts {
			ops = append(ops, ledger.Op{Kind: ledger.AddVerified, Task: round + string(rune('a'+i)), Model: "m", Address: addr, Amount: a},
				ledger.Op{Kind: ledger.AddVerified, Task: round + string(rune('a'+i)), Model: "m", Address: "0x0000000000000000000000000000000000000001", Amount: 1})
		}
		if err := <-l.Submit(ops...); err != nil {
			t.Fatal(err)
		}
	}
	credit("r1", math.MaxInt64, math.MaxInt64, 3) // 2^64+1
	cfg := service.DefaultConfig()
	cfg.DefaultJob = false
	cfg.Hub.DataDir = dir
	cfg.Hub.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Chain.Interval = time.Hour
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- service.Run(sctx, ln, cfg) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()
	commit := func() {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			token, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
			req, _ := http.NewRequest("POST", base+"/api/v1/admin/commit", nil)
			req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("commit: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	commit()
	credit("r2", 10)
	commit()

	for _, tc := range []struct {
		args   []string
		epoch  uint64
		amount string
	}{
		{[]string{"--epoch", "1"}, 1, "18446744073709551617"},
		{nil, 2, "18446744073709551627"},
	} {
		args := append([]string{"proof", "--hub", base, "--address", strings.ToLower(addr), "--model", "m", "--json"}, tc.args...)
		out, errOut, code := run(args...)
		if code != exitOK {
			t.Fatalf("tessera-edge %v: exit %d\n%s%s", args, code, out, errOut)
		}
		var got struct {
			Address string
			Proofs  []struct {
				Proof struct {
					Epoch                  uint64
					Address, Amount, Total string
					Contract               string
					LeafEncoding           []string
				}
				Valid bool
			}
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if len(got.Proofs) != 1 {
			t.Fatalf("%v: %s", args, out)
		}
		p := got.Proofs[0]
		if got.Address != addr || p.Proof.Address != addr || p.Proof.Epoch != tc.epoch || p.Proof.Amount != tc.amount || !p.Valid ||
			strings.Join(p.Proof.LeafEncoding, ",") != "address,uint256" || p.Proof.Contract == strings.ToLower(p.Proof.Contract) {
			t.Errorf("%v: %+v", args, got)
		}
		total, _ := new(big.Int).SetString(p.Proof.Total, 10)
		if amount, _ := new(big.Int).SetString(tc.amount, 10); total == nil || total.Cmp(amount) <= 0 {
			t.Errorf("%v: total %q", args, p.Proof.Total)
		}
	}
	if _, errOut, code := run("proof", "--hub", base, "--address", addr, "--model", "m", "--epoch", "3"); code == exitOK || !strings.Contains(errOut, "no epoch 3") {
		t.Errorf("an epoch never committed: exit %d, %s", code, errOut)
	}
	if _, errOut, code := run("proof", "--hub", base, "--address", addr, "--epoch", "1"); code != exitUsage || !strings.Contains(errOut, "--epoch needs --model") {
		t.Errorf("--epoch without --model: exit %d, %s", code, errOut)
	}
}
