package chain

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/tessera-ai/tessera/contracts"
	"github.com/tessera-ai/tessera/hub/ledger"
)

// anvil is a local anvil node (Foundry's, from the npm package
// @foundry-rs/anvil pinned in contracts/package.json) run by a test. Its
// chain lives in memory and is dumped to a state file when it stops, so a
// restarted node carries on from the same chain: an outage, not a reset.
type anvil struct {
	tb    testing.TB
	bin   string
	port  int
	state string
	cmd   *exec.Cmd
	exit  chan error
}

// anvilBinary installs the pinned npm packages and returns the path of
// this platform's anvil executable (started directly rather than through
// npm's node wrapper, so that signals reach it).
func anvilBinary(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "contracts")
	if err := contracts.InstallNodeModules(testContext(tb), dir); err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, "node_modules", "@foundry-rs", "anvil-"+runtime.GOOS+"-"+runtime.GOARCH, "bin", "anvil")
	if _, err := os.Stat(bin); err != nil {
		tb.Fatalf("anvil for %s/%s: %v", runtime.GOOS, runtime.GOARCH, err)
	}
	return bin
}

func startAnvil(tb testing.TB) *anvil {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	a := &anvil{tb: tb, bin: anvilBinary(tb), port: port, state: filepath.Join(tb.TempDir(), "anvil-state.json")}
	a.start()
	tb.Cleanup(func() {
		if a.cmd != nil {
			a.cmd.Process.Kill()
			<-a.exit
		}
	})
	return a
}

func (a *anvil) url() string { return fmt.Sprintf("http://127.0.0.1:%d", a.port) }

// start runs the node and waits until it answers.
func (a *anvil) start() {
	a.tb.Helper()
	a.cmd = exec.Command(a.bin, "--port", fmt.Sprint(a.port), "--host", "127.0.0.1", "--state", a.state, "--silent")
	a.cmd.Stdout, a.cmd.Stderr = os.Stderr, os.Stderr
	if err := a.cmd.Start(); err != nil {
		a.tb.Fatalf("start anvil: %v", err)
	}
	a.exit = make(chan error, 1)
	go func(cmd *exec.Cmd, exit chan error) { exit <- cmd.Wait() }(a.cmd, a.exit)
	c, err := ethclient.Dial(a.url())
	if err != nil {
		a.tb.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.ChainID(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case err := <-a.exit:
			a.tb.Fatalf("anvil exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			a.tb.Fatalf("anvil does not answer on %s: %v", a.url(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the node gracefully (SIGTERM: it dumps its state) and waits.
func (a *anvil) stop() {
	a.tb.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exit:
	case <-time.After(30 * time.Second):
		a.tb.Fatal("anvil did not stop within 30 s of SIGTERM")
	}
	a.cmd = nil
	if _, err := os.Stat(a.state); err != nil {
		a.tb.Fatalf("anvil left no state file: %v", err)
	}
}

// newAnvilEnv deploys the contract on a fresh anvil node, from a new key
// that the node funds.
func newAnvilEnv(tb testing.TB) (*env, *anvil) {
	tb.Helper()
	a := startAnvil(tb)
	e := &env{dir: tb.TempDir()}
	var err error
	if e.client, err = ethclient.Dial(a.url()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.client.Close)
	if e.key, err = crypto.GenerateKey(); err != nil {
		tb.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(e.key.PublicKey)
	if err := e.client.Client().CallContext(testContext(tb), nil, "anvil_setBalance", addr, "0x56BC75E2D63100000"); err != nil { // 100 ETH
		tb.Fatalf("fund the committer: %v", err)
	}
	e.deploy(tb)
	return e, a
}

// TestCommitterAnvilOutage commits epochs to a real local node, stops the
// node for a while as credit keeps arriving, then starts it again: commits
// resume, and every epoch is on-chain exactly once, in order, with the
// ledger's roots and working proofs. The outage lasts a minute; -short
// makes it 5 s.
func TestCommitterAnvilOutage(t *testing.T) {
	outage := time.Minute
	if testing.Short() {
		outage = 5 * time.Second
	}
	e, node := newAnvilEnv(t)
	ctx := testContext(t)
	if outage > time.Minute/2 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
	}
	c := NewCommitter(e.client, e.key, e.contract, e.ledger, Config{
		Interval: 200 * time.Millisecond, Poll: 50 * time.Millisecond, ReceiptTimeout: 2 * time.Second,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second,
	})
	run(t, c)

	credit(t, e.ledger, "m", "before", 10, 100)
	waitCommitted(t, ctx, e.ledger, "m", 1)

	node.stop()
	start := time.Now()
	credit(t, e.ledger, "m", "during-1", 12, 10)
	time.Sleep(outage / 2)
	credit(t, e.ledger, "m", "during-2", 3, 1)
	if le, _, _ := e.ledger.LatestCommitted(ctx, "m"); le.Epoch != 1 {
		t.Fatalf("an epoch committed with the node down: %+v", le)
	}
	time.Sleep(outage - time.Since(start))
	node.start()
	t.Logf("node down for %v", time.Since(start).Round(time.Millisecond))

	// All credit is committed once the node is back: 12 contributors, the
	// total of all three rounds.
	want := fl(100*55 + 10*78 + 6)
	deadline := time.Now().Add(time.Minute)
	var le ledger.Epoch
	for {
		le, _, _ = e.ledger.LatestCommitted(ctx, "m")
		if le.Total == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the outage the latest committed epoch is %+v, want total %d", le, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("resumed: epoch %d committed %v after the node came back", le.Epoch, time.Since(start.Add(outage)).Round(time.Millisecond))
	if le.Contributors != 12 {
		t.Errorf("latest epoch %+v: want 12 contributors", le)
	}
	// Every epoch of the ledger is on-chain exactly once, none skipped, and
	// the latest one's proofs verify (checkEpoch).
	es, err := e.ledger.Epochs(ctx, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	v := e.view(t)
	for i, ep := range es {
		if want := uint64(len(es) - i); ep.Epoch != want || ep.State != ledger.EpochCommitted {
			t.Fatalf("ledger epochs %+v: epoch %d missing or not committed", es, want)
		}
		if info := v.info("m", ep.Epoch); info.Root != ep.Root || info.Total.Cmp(ep.Total.Big()) != 0 {
			t.Fatalf("epoch %d: contract holds %+v, ledger %+v", ep.Epoch, info, ep)
		}
		if n := e.commits(t, "m", ep.Epoch); n != 1 {
			t.Fatalf("epoch %d committed %d times", ep.Epoch, n)
		}
	}
	e.checkEpoch(t, "m", le.Epoch)

	// The node goes down between the commit transaction's sending and its
	// mining: with automining off the transaction waits in the node's pool,
	// which a restart empties. The committer finds it gone and sends the
	// epoch again.
	if err := e.client.Client().CallContext(ctx, nil, "evm_setAutomine", false); err != nil {
		t.Fatal(err)
	}
	credit(t, e.ledger, "m", "unmined", 2, 1000)
	for {
		latest, _, _ := e.ledger.LatestEpoch(ctx, "m")
		if latest.Epoch == le.Epoch+1 && latest.State == ledger.EpochSent {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the next epoch was never sent: %+v", latest)
		}
		time.Sleep(10 * time.Millisecond)
	}
	node.stop()
	node.start() // automining again
	waitCommitted(t, ctx, e.ledger, "m", le.Epoch+1)
	for n := uint64(1); n <= le.Epoch+1; n++ {
		if k := e.commits(t, "m", n); k != 1 {
			t.Fatalf("epoch %d committed %d times", n, k)
		}
	}
	e.checkEpoch(t, "m", le.Epoch+1)
	if err := e.ledger.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitCommitted waits until model's epoch n is committed in the ledger.
func waitCommitted(t *testing.T, ctx context.Context, l *ledger.Ledger, model string, n uint64) {
	t.Helper()
	for {
		le, ok, err := l.LatestCommitted(ctx, model)
		if err != nil {
			t.Fatal(err)
		}
		if ok && le.Epoch >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("epoch %d of %s not committed: %v", n, model, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
