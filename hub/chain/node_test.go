package chain

import (
	"bufio"
	"context"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// transfer sends 1 wei from the dev key to a fixed address and returns
// the block that included it, once durable.
func transfer(tb testing.TB, n *Node) uint64 {
	tb.Helper()
	ctx := testContext(tb)
	c := n.Client()
	from := crypto.PubkeyToAddress(DevKey().PublicKey)
	nonce, err := c.PendingNonceAt(ctx, from)
	if err != nil {
		tb.Fatal(err)
	}
	fee, err := c.SuggestGasPrice(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tip, err := c.SuggestGasTipCap(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	to := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	tx, err := types.SignNewTx(DevKey(), types.LatestSignerForChainID(n.ChainID()), &types.DynamicFeeTx{
		ChainID: n.ChainID(), Nonce: nonce, GasTipCap: tip, GasFeeCap: new(big.Int).Add(new(big.Int).Mul(fee, big.NewInt(2)), tip),
		Gas: 21000, To: &to, Value: big.NewInt(1),
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.SendTransaction(ctx, tx); err != nil {
		tb.Fatal(err)
	}
	r, err := waitReceipt(ctx, c, tx.Hash(), 10*time.Millisecond)
	if err != nil {
		tb.Fatal(err)
	}
	if err := n.WaitDurable(ctx, r.BlockNumber.Uint64()); err != nil {
		tb.Fatal(err)
	}
	return r.BlockNumber.Uint64()
}

func TestNodeSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	ctx := testContext(t)
	credit(t, e.ledger, "m", "t1", 3, 10)
	c := NewCommitter(e.node.Client(), DevKey(), e.contract, e.ledger, Config{Interval: time.Hour, Durable: e.node.WaitDurable})
	if err := c.round(ctx); err != nil {
		t.Fatal(err)
	}
	head, err := e.node.Client().BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := e.node.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := e.node.Close(); err != nil {
		t.Fatal(err)
	}
	e.node = openNode(t, filepath.Join(e.dir, "chain"))
	e.client = e.node.Client()
	t.Logf("reopened in %v", time.Since(start))
	h, err := e.node.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Number.Uint64() != head || h.Hash() != hash.Hash() {
		t.Fatalf("head after restart %d %s, want %d %s", h.Number, h.Hash(), head, hash.Hash())
	}
	v := e.view(t)
	if got := v.latest("m"); got != 1 {
		t.Fatalf("latest epoch after restart %d, want 1", got)
	}
	if _, err := EnsureContract(ctx, e.node.Client(), DevKey(), filepath.Join(e.dir, "contract"), nil); err != nil {
		t.Fatalf("contract after restart: %v", err)
	}
	if b := transfer(t, e.node); b != head+1 {
		t.Fatalf("new transaction in block %d, want %d", b, head+1)
	}
}

// childEnv makes the test binary act as TestNodeSurvivesSIGKILL's child.
const childEnv = "TESSERA_CHAIN_SIGKILL_CHILD"

// TestNodeSurvivesSIGKILL runs a child process (this test binary) that
// mines blocks, reporting each one once WaitDurable returns, kills it with
// SIGKILL and reopens the chain: every reported block is still there.
func TestNodeSurvivesSIGKILL(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		n := openNode(t, dir)
		for {
			fmt.Printf("durable %d\n", transfer(t, n))
		}
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	dir := filepath.Join(t.TempDir(), "chain")
	var reported uint64
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNodeSurvivesSIGKILL$", "-test.v")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for seen := 0; seen < 10+round*7 && sc.Scan(); {
			if n, ok := strings.CutPrefix(sc.Text(), "durable "); ok {
				b, _ := strconv.ParseUint(n, 10, 64)
				if b <= reported {
					t.Errorf("round %d: the child reports block %d after %d was reported", round, b, reported)
				}
				reported = b
				seen++
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		n := openNode(t, dir)
		head, err := n.Client().BlockNumber(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if head < reported {
			t.Fatalf("round %d: head %d after SIGKILL, but block %d was reported durable", round, head, reported)
		}
		t.Logf("round %d: killed after block %d was reported; head after reopen %d", round, reported, head)
		if b := transfer(t, n); b != head+1 {
			t.Fatalf("round %d: next transaction in block %d, want %d", round, b, head+1)
		}
		reported = head + 1
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
