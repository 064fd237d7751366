package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/tessera-ai/tessera/client/hubapi"
	"github.com/tessera-ai/tessera/contracts"
)

// startAnvilNode runs a local anvil node (the npm package pinned in
// contracts/package.json) on a free port and returns its URL and a client.
func startAnvilNode(t *testing.T) (string, *ethclient.Client) {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "contracts")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := contracts.InstallNodeModules(ctx, dir); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "node_modules", "@foundry-rs", "anvil-"+runtime.GOOS+"-"+runtime.GOARCH, "bin", "anvil")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--host", "127.0.0.1", "--silent")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start anvil: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	c, err := ethclient.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitFor(t, 30*time.Second, "anvil to answer", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.ChainID(ctx)
		return err
	})
	return url, c
}

// fundedKeyFile writes a new key (hex, mode 0600, the format of the
// hub's --chain-key and the edge's --key) that anvil funds with 100 ETH.
func fundedKeyFile(t *testing.T, c *ethclient.Client) (string, common.Address) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("%x\n", crypto.FromECDSA(k))), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(k.PublicKey)
	if err := c.Client().CallContext(context.Background(), nil, "anvil_setBalance", addr, "0x56BC75E2D63100000"); err != nil {
		t.Fatalf("fund %s: %v", addr, err)
	}
	return path, addr
}

// TestRevenueClaimWithOwnNode runs the hub against a real anvil node
// (--chain-rpc), earns credit with an edge, records revenue, commits an
// epoch and funds the vault, then has the edge claim through anvil itself
// (`tessera-edge claim --chain-rpc`), signing and paying for its own
// transaction: the vault pays it exactly its share, the contract records
// it, and a second claim pays nothing.
func TestRevenueClaimWithOwnNode(t *testing.T) {
	bins := edgeBinaries(t)
	rpcURL, eth := startAnvilNode(t)
	hubKey, _ := fundedKeyFile(t, eth)
	edgeKey, edgeAddr := fundedKeyFile(t, eth)
	data := t.TempDir()
	_, base := startHubOn(t, bins, "127.0.0.1:0", []string{"--data", data, "--matmul-shape", "64x96x32", "--default-job=false",
		"--epoch", "1h", "--chain-rpc", rpcURL, "--chain-key", hubKey})
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	edge := start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", ws, "--key", edgeKey, "--backend", "cpu", "--slots", "1", "--progress", "0"}, nil)
	api, err := hubapi.New(ws)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "verified credit", func() error {
		c, err := api.Credit(context.Background(), "matmul", edgeAddr.Hex())
		if err != nil || c.Verified.IsZero() {
			return fmt.Errorf("credit %+v, %v", c, err)
		}
		return nil
	})
	if err := edge.stop(t); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	const revenue = "1000000000000000" // 0.001 ETH
	adminCall(t, base, data, "POST", "/api/v1/admin/revenue", `{"model":"matmul","wei":"`+revenue+`","note":"test"}`, 200, nil)
	commit(t, base, data)
	adminCall(t, base, data, "POST", "/api/v1/admin/deposit", `{"model":"matmul","wei":"`+revenue+`"}`, 200, nil)
	owed := earningsOf(t, base, edgeAddr.Hex(), "matmul")
	if owed.String() != revenue { // the only owner: all of it, no dust
		t.Fatalf("owed %s of %s", owed, revenue)
	}
	before, err := eth.BalanceAt(context.Background(), edgeAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runEdge(t, bins, "claim", "--hub", ws, "--key", edgeKey, "--chain-rpc", rpcURL, "--json")
	var rep struct {
		Claims []struct {
			PaidWei string `json:"paid_wei"`
			TxHash  string `json:"tx_hash"`
		} `json:"claims"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Claims) != 1 || rep.Claims[0].PaidWei != revenue {
		t.Fatalf("claim through anvil: exit %d\n%s\n%s", code, out, errOut)
	}
	after, err := eth.BalanceAt(context.Background(), edgeAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The edge paid its own gas: its balance grew by the claim less that.
	r, err := eth.TransactionReceipt(context.Background(), common.HexToHash(rep.Claims[0].TxHash))
	if err != nil {
		t.Fatal(err)
	}
	gas := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
	want := new(big.Int).Sub(new(big.Int).Add(before, owed), gas)
	if after.Cmp(want) != 0 {
		t.Errorf("balance %s → %s, want %s (+%s −%s gas)", before, after, want, owed, gas)
	}
	t.Logf("claimed %s wei through anvil for %d gas", owed, r.GasUsed)
	out, _, code = runEdge(t, bins, "claim", "--hub", ws, "--key", edgeKey, "--chain-rpc", rpcURL)
	if code != 0 || !strings.Contains(out, "nothing to claim") {
		t.Errorf("second claim: exit %d: %s", code, out)
	}
}
