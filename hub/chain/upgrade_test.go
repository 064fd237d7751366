package chain

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// TestRevenueContractUpgrade: a data directory whose recorded contract
// predates the revenue vault (here: code that reverts every call, as the
// old contract does for deposited) gets the current contract deployed
// beside it, and the new address recorded; a current one is kept.
func TestRevenueContractUpgrade(t *testing.T) {
	dir := t.TempDir()
	n := openNode(t, filepath.Join(dir, "chain"))
	defer n.Close()
	ctx := testContext(t)
	c := n.Client()
	// Creation code copying a 5-byte runtime (PUSH1 0 PUSH1 0 REVERT).
	code := common.FromHex("0x6005600c60003960056000f3" + "60006000fd")
	from := crypto.PubkeyToAddress(DevKey().PublicKey)
	nonce, err := c.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	tip, _ := c.SuggestGasTipCap(ctx)
	fee, _ := c.SuggestGasPrice(ctx)
	tx, err := types.SignNewTx(DevKey(), types.LatestSignerForChainID(n.ChainID()), &types.DynamicFeeTx{
		ChainID: n.ChainID(), Nonce: nonce, GasTipCap: tip, GasFeeCap: fee.Add(fee.Mul(fee, common.Big2), tip), Gas: 100000, Data: code})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	r, err := waitReceipt(ctx, c, tx.Hash(), 10*time.Millisecond)
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("deploy the stand-in: %v %+v", err, r)
	}
	path := filepath.Join(dir, "contract")
	if err := os.WriteFile(path, []byte(r.ContractAddress.Hex()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, err := EnsureContract(ctx, c, DevKey(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if addr == r.ContractAddress {
		t.Fatal("the outdated contract was kept")
	}
	if _, err := NewVault(c, addr).Deposited(ctx, [32]byte{}); err != nil {
		t.Fatalf("the new contract has no vault: %v", err)
	}
	if b, _ := os.ReadFile(path); common.HexToAddress(string(b[:42])) != addr {
		t.Fatalf("recorded %s, deployed %s", b, addr)
	}
	again, err := EnsureContract(ctx, c, DevKey(), path, nil)
	if err != nil || again != addr {
		t.Fatalf("a current contract was replaced: %s %v", again, err)
	}
}
