package service_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/hub/chain"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/internal/flop"
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
			Verified flop.Amount
			Pending  flop.Amount
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		getJSON(t, base+"/api/v1/credits/matmul", http.StatusOK, &bal)
		if len(bal.Balances) == 1 && !bal.Balances[0].Verified.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verified credit appeared: %+v", bal)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if bal.Unit != "FLOP" || bal.Balances[0].Address != key.Address().Hex() || bal.Balances[0].Verified.Big().Int64()%int64(2*16*24*8) != 0 {
		t.Errorf("credit %+v: want whole tasks of %d FLOP for %s", bal, 2*16*24*8, key.Address().Hex())
	}
	var mine struct {
		Models []struct {
			Model         string
			Verified      flop.Amount
			ModelVerified flop.Amount `json:"model_verified"`
			Share         float64
		}
	}
	getJSON(t, base+"/api/v1/contributors/"+strings.ToLower(key.Address().Hex())+"/credits", http.StatusOK, &mine)
	if len(mine.Models) != 1 || mine.Models[0].Model != "matmul" || mine.Models[0].Verified.Cmp(bal.Balances[0].Verified) < 0 || mine.Models[0].Share != 1 {
		t.Errorf("contributor credits %+v (balances %+v)", mine, bal)
	}
	var models struct{ Models []struct{ Model string } }
	getJSON(t, base+"/api/v1/credits", http.StatusOK, &models)
	if len(models.Models) != 1 || models.Models[0].Model != "matmul" {
		t.Errorf("models %+v", models)
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
	if proof.Epoch != 1 || proof.Address != key.Address().Hex() || proof.Amount == "" || proof.TxHash == "" ||
		proof.Contract != common.HexToAddress(proof.Contract).Hex() {
		t.Errorf("proof %+v: want checksummed addresses", proof)
	}
	checkEpochs(t, base, proof.TxHash)
	checkProofThroughProxy(t, base, proof.Contract, key.Address(), proof.Epoch, proof.Amount, proof.Proof)

	ccancel()
	<-cdone
	cancel()
	if err := <-done; err != nil {
		t.Errorf("service.Run: %v", err)
	}
}

// checkEpochs reads the epoch listings after the first commit.
func checkEpochs(t *testing.T, base, txHash string) {
	t.Helper()
	var list struct {
		Contract string
		ChainID  string
		Epochs   []struct {
			Model, State, Total, Root string
			TxHash                    string
			Epoch, Block              uint64
		}
	}
	getJSON(t, base+"/api/v1/epochs", http.StatusOK, &list)
	if list.Contract != common.HexToAddress(list.Contract).Hex() || list.ChainID == "" || len(list.Epochs) != 1 {
		t.Fatalf("epochs %+v", list)
	}
	e := list.Epochs[0]
	if e.Model != "matmul" || e.Epoch != 1 || e.State != "committed" || e.Block == 0 || e.TxHash != txHash || len(e.Root) != 66 || e.Total == "0" {
		t.Errorf("epoch %+v (proof's transaction %s)", e, txHash)
	}
	var one struct{ Epoch uint64 }
	getJSON(t, base+"/api/v1/epochs/matmul/1", http.StatusOK, &one)
	if one.Epoch != 1 {
		t.Errorf("epoch 1: %+v", one)
	}
	var e404 struct{ Error string }
	getJSON(t, base+"/api/v1/epochs/matmul/2", http.StatusNotFound, &e404)
	getJSON(t, base+"/api/v1/epochs/matmul/zero", http.StatusBadRequest, &e404)
	getJSON(t, base+"/api/v1/epochs?limit=-1", http.StatusBadRequest, &e404)
	if e404.Error == "" {
		t.Error("bad limit: no error message")
	}
}

// checkProofThroughProxy verifies the proof against the contract with
// go-ethereum's client pointed at the hub's read-only RPC proxy, then
// checks that a tampered amount is refused and a write is not forwarded.
func checkProofThroughProxy(t *testing.T, base, contract string, account common.Address, epoch uint64, amount string, proofHex []string) {
	t.Helper()
	ctx := context.Background()
	ec, err := ethclient.DialContext(ctx, base+"/api/v1/chain/rpc")
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	credits := bindings.NewTesseraCredits()
	inst := credits.Instance(ec, common.HexToAddress(contract))
	proof := make([][32]byte, len(proofHex))
	for i, h := range proofHex {
		copy(proof[i][:], common.FromHex(h))
	}
	amt, ok := new(big.Int).SetString(amount, 10)
	if !ok {
		t.Fatalf("amount %q", amount)
	}
	verify := func(a *big.Int) bool {
		ok, err := bind.Call(inst, &bind.CallOpts{Context: ctx}, credits.PackVerify(chain.ModelID("matmul"), epoch, account, a, proof), credits.UnpackVerify)
		if err != nil {
			t.Fatalf("verify through the proxy: %v", err)
		}
		return ok
	}
	if !verify(amt) {
		t.Error("the contract refuses the hub's proof")
	}
	if verify(new(big.Int).Add(amt, big.NewInt(1))) {
		t.Error("the contract accepts a tampered amount")
	}
	// Writes and unknown methods are refused with JSON-RPC's "method not found".
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"eth_sendRawTransaction","params":["0x00"]}`,
		`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"personal_unlockAccount","params":[]}]`,
	} {
		resp, err := http.Post(base+"/api/v1/chain/rpc", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(data), "-32601") {
			t.Errorf("proxy answered %s to %s", data, body)
		}
		if strings.HasPrefix(body, "[") && !strings.Contains(string(data), `"result":"0x`) {
			t.Errorf("batch: eth_chainId not answered: %s", data)
		}
	}
	resp, err := http.Post(base+"/api/v1/chain/rpc", "application/json", strings.NewReader(`{"jsonrpc":`))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(data), "-32700") {
		t.Errorf("truncated request: %s", data)
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
