package service_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestServiceCreditsWork runs the assembled hub process (hub, ledger,
// store, training manager) on a loopback port with one contributor and
// checks that its verified work shows in the credit API, that the admin
// token is private, and that bad requests get clear errors.
func TestServiceCreditsWork(t *testing.T) {
	dir := t.TempDir()
	cfg := service.DefaultConfig()
	cfg.DefaultJob = false
	cfg.Hub.DataDir = dir
	cfg.Hub.Matmul.Shape = kernel.Shape{M: 16, K: 24, N: 8}
	cfg.Hub.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, ln, cfg) }()
	base := "http://" + ln.Addr().String()

	key, _ := identity.Generate()
	ccfg := client.DefaultConfig()
	ccfg.HubURL, ccfg.Key, ccfg.Device = "ws://"+ln.Addr().String()+"/ws", key, device.CPU{}
	ccfg.Logger = cfg.Hub.Logger
	c, err := client.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	cdone := make(chan struct{})
	go func() { c.Run(cctx); close(cdone) }()

	var bal struct {
		Unit     string
		Balances []struct {
			Address  string
			Verified int64
			Pending  int64
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		getJSON(t, base+"/api/v1/credits/matmul", http.StatusOK, &bal)
		if len(bal.Balances) == 1 && bal.Balances[0].Verified > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verified credit appeared: %+v", bal)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if bal.Unit != "FLOP" || bal.Balances[0].Address != key.Address().Hex() || bal.Balances[0].Verified%int64(2*16*24*8) != 0 {
		t.Errorf("credit %+v: want whole tasks of %d FLOP for %s", bal, 2*16*24*8, key.Address().Hex())
	}
	var dec struct{ Decisions []any }
	getJSON(t, base+"/api/v1/contributors/"+key.Address().Hex()+"/decisions", http.StatusOK, &dec)
	if len(dec.Decisions) != 0 {
		t.Errorf("an honest contributor has decisions against it: %+v", dec)
	}
	var e struct{ Error string }
	getJSON(t, base+"/api/v1/contributors/not-an-address/decisions", http.StatusBadRequest, &e)
	if e.Error == "" {
		t.Error("bad address: no error message")
	}
	fi, err := os.Stat(filepath.Join(dir, "admin.token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin token: %v, mode %v", err, fi.Mode().Perm())
	}

	// Commit an epoch on the embedded chain now, then fetch the proof.
	tok, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	req, _ := http.NewRequest("POST", base+"/api/v1/admin/commit", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("commit without a token: %v %v", resp.Status, err)
	}
	req, _ = http.NewRequest("POST", base+"/api/v1/admin/commit", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("commit now: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	var proof struct {
		Epoch    uint64
		Address  string
		Amount   string
		Proof    []string
		Contract string
		TxHash   string
	}
	getJSON(t, base+"/api/v1/proof?model=matmul&address="+key.Address().Hex(), http.StatusOK, &proof)
	if proof.Epoch != 1 || !strings.EqualFold(proof.Address, key.Address().Hex()) || proof.Amount == "" || proof.Contract == "" || proof.TxHash == "" {
		t.Errorf("proof %+v", proof)
	}

	ccancel()
	<-cdone
	cancel()
	if err := <-done; err != nil {
		t.Errorf("service.Run: %v", err)
	}
}

func getJSON(t *testing.T, url string, want int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("GET %s: HTTP %d, want %d", url, resp.StatusCode, want)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
