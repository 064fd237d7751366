package chain

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
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

	"github.com/tessera-ai/tessera/hub/ledger"
)

// crashChildEnv makes the test binary act as TestCrashConsistency's child;
// its value is "DIR MODE FIRST".
const crashChildEnv = "TESSERA_LEDGER_CRASH_CHILD"

// crashBatch is how many tasks the child credits per ledger batch.
const crashBatch = 200

// expected is what task i's credit ends as: the stream mixes credit
// verified at once, pending then verified, pending then rejected, and a
// cheater whose pending credit is voided in the same batch.
func expected(i int) (model, address, state string, amount int64) {
	model = fmt.Sprint("m", i%2)
	switch {
	case i%10 == 0:
		return model, contributor(i % 40), "rejected", int64(i%7 + 1)
	case i%10 == 5:
		return model, contributor(999), "rejected", 3 // the cheater, voided
	default:
		return model, contributor(i % 40), "verified", int64(i%7 + 1)
	}
}

// crashOps are the ledger operations of tasks first..first+crashBatch-1.
func crashOps(first int) []ledger.Op {
	var ops []ledger.Op
	for i := first; i < first+crashBatch; i++ {
		model, addr, _, amount := expected(i)
		task := fmt.Sprint("task-", i)
		switch {
		case i%10 == 0:
			ops = append(ops, ledger.Op{Kind: ledger.AddPending, Task: task, Model: model, Address: addr, Amount: amount},
				ledger.Op{Kind: ledger.Reject, Task: task, Address: addr, Reason: "test: wrong result"})
		case i%10 == 5:
			ops = append(ops, ledger.Op{Kind: ledger.AddPending, Task: task, Model: model, Address: addr, Amount: amount})
		case i%3 == 0:
			ops = append(ops, ledger.Op{Kind: ledger.AddPending, Task: task, Model: model, Address: addr, Amount: amount},
				ledger.Op{Kind: ledger.Verify, Task: task, Address: addr})
		default:
			ops = append(ops, ledger.Op{Kind: ledger.AddVerified, Task: task, Model: model, Address: addr, Amount: amount})
		}
	}
	return append(ops, ledger.Op{Kind: ledger.Void, Address: contributor(999), Reason: "test: strike"})
}

// pausingBackend stops the child for good right after the node accepted
// a commit transaction, before its receipt can be recorded: the parent
// kills it there.
type pausingBackend struct{ Backend }

func (b pausingBackend) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if err := b.Backend.SendTransaction(ctx, tx); err != nil {
		return err
	}
	fmt.Printf("sent %s\n", tx.Hash().Hex())
	select {}
}

// crashChild credits batches from task FIRST on, printing "acked N" once
// tasks below N are durable, while the committer commits epochs every
// 100 ms. MODE "pause" blocks after the first commit transaction is sent;
// MODE "finish" credits nothing, commits everything and prints "done".
func crashChild(t *testing.T, arg string) {
	f := strings.Fields(arg)
	dir, mode := f[0], f[1]
	first, _ := strconv.Atoi(f[2])
	n := openNode(t, filepath.Join(dir, "chain"))
	l := openLedger(t, filepath.Join(dir, "ledger.db"))
	ctx := context.Background()
	addr, err := EnsureContract(ctx, n.Client(), DevKey(), filepath.Join(dir, "contract"), n.WaitDurable)
	if err != nil {
		t.Fatal(err)
	}
	var backend Backend = n.Client()
	if mode == "pause" {
		backend = pausingBackend{backend}
	}
	c := NewCommitter(backend, DevKey(), addr, l, Config{Interval: 100 * time.Millisecond, Poll: 10 * time.Millisecond,
		ReceiptTimeout: 2 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second, Durable: n.WaitDurable})
	if mode == "finish" {
		go c.Run(ctx)
		for range 2 { // a round that may find an open epoch, then one for anything left
			if err := c.CommitNow(ctx); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Println("done")
		select {}
	}
	go c.Run(ctx)
	for i := first; ; i += crashBatch {
		if err := <-l.Submit(crashOps(i)...); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("acked %d\n", i+crashBatch)
	}
}

// TestCrashConsistency kills a process writing credit and committing
// epochs with SIGKILL, at random moments during credit batches and right
// after a commit transaction was sent (before its receipt is recorded),
// then restarts it. After each kill: every acknowledged task is credited
// exactly once in its final state, a batch is all or nothing, the ledger's
// invariants hold, epochs are numbered without gaps and the committed ones
// are on-chain once with the ledger's roots. At the end everything
// verified is committed.
func TestCrashConsistency(t *testing.T) {
	if arg := os.Getenv(crashChildEnv); arg != "" {
		crashChild(t, arg)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	acked := 0
	modes := []string{"write", "pause", "write", "write", "pause", "write"}
	for round, mode := range modes {
		lines := startChild(t, dir, mode, acked)
		switch mode {
		case "write": // kill after a random number of acknowledged batches
			want := 2 + rng.IntN(20)
			for k := 0; k < want; {
				line := lines.next()
				if n, ok := strings.CutPrefix(line, "acked "); ok {
					acked, _ = strconv.Atoi(n)
					k++
				}
			}
			time.Sleep(time.Duration(rng.IntN(5000)) * time.Microsecond) // land inside the next batch
		case "pause":
			for line := lines.next(); !strings.HasPrefix(line, "sent "); line = lines.next() {
				if n, ok := strings.CutPrefix(line, "acked "); ok {
					acked, _ = strconv.Atoi(n)
				}
			}
		}
		lines.kill()
		t.Logf("round %d (%s): killed with %d tasks acknowledged", round, mode, acked)
		acked = checkCrashState(t, dir, acked)
	}
	lines := startChild(t, dir, "finish", acked)
	for lines.next() != "done" {
	}
	lines.kill()
	checkCrashState(t, dir, acked)
	e := &env{dir: dir, key: DevKey()}
	e.node = openNode(t, filepath.Join(dir, "chain"))
	defer e.node.Close()
	e.client, e.durable = e.node.Client(), e.node.WaitDurable
	e.deploy(t)
	ctx := testContext(t)
	totals, err := e.ledger.Totals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"m0", "m1"} {
		le, ok, err := e.ledger.LatestCommitted(ctx, model)
		if err != nil || !ok || le.Total != totals[model] {
			t.Fatalf("%s: latest committed epoch %+v (%v), but %d verified", model, le, err, totals[model])
		}
		for n := uint64(1); n <= le.Epoch; n++ {
			if k := e.commits(t, model, n); k != 1 {
				t.Fatalf("%s epoch %d committed %d times", model, n, k)
			}
		}
		e.checkEpoch(t, model, le.Epoch)
		t.Logf("%s: %d epochs, total %s FLOP", model, le.Epoch, le.Total)
	}
}

// childLines reads a child's stdout.
type childLines struct {
	t   *testing.T
	cmd *exec.Cmd
	sc  *bufio.Scanner
}

func startChild(t *testing.T, dir, mode string, first int) *childLines {
	t.Helper()
	return startChildWith(t, "^TestCrashConsistency$", fmt.Sprintf("%s=%s %s %d", crashChildEnv, dir, mode, first))
}

// startChildWith runs the test binary's test named by the pattern run,
// with env added to its environment.
func startChildWith(t *testing.T, run, env string) *childLines {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.v")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &childLines{t: t, cmd: cmd, sc: bufio.NewScanner(out)}
}

func (c *childLines) next() string {
	c.t.Helper()
	if !c.sc.Scan() {
		c.t.Fatalf("the child stopped: %v", c.sc.Err())
	}
	return c.sc.Text()
}

func (c *childLines) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}

// checkCrashState checks the data directory of a killed child and returns
// the number of tasks durably credited (at least acked: the batch in
// flight when the child died may have landed whole).
func checkCrashState(t *testing.T, dir string, acked int) int {
	t.Helper()
	ctx := testContext(t)
	db, err := sql.Open("sqlite3", filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT task, model, address, state, amount FROM credits`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for rows.Next() {
		var task, model, addr, state string
		var amount int64
		if err := rows.Scan(&task, &model, &addr, &state, &amount); err != nil {
			t.Fatal(err)
		}
		i, err := strconv.Atoi(strings.TrimPrefix(task, "task-"))
		if err != nil {
			t.Fatalf("unexpected task %q", task)
		}
		if seen[i] {
			t.Fatalf("task %d credited twice", i)
		}
		seen[i] = true
		wm, wa, ws, wamt := expected(i)
		if model != wm || addr != wa || state != ws || amount != wamt {
			t.Fatalf("task %d: %s %s %s %d, want %s %s %s %d", i, model, addr, state, amount, wm, wa, ws, wamt)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	durable := len(seen)
	for i := range durable {
		if !seen[i] {
			t.Fatalf("%d tasks in the ledger but task %d missing (%d acknowledged)", durable, i, acked)
		}
	}
	if durable < acked || durable%crashBatch != 0 {
		t.Fatalf("%d tasks in the ledger, %d acknowledged, batches of %d: a batch was lost or split", durable, acked, crashBatch)
	}

	// Epochs: numbered from 1 without gaps, all committed but possibly the
	// latest; the chain holds each committed epoch once, with its root, and
	// nothing beyond the ledger's latest.
	e := &env{dir: dir, key: DevKey()}
	e.node = openNode(t, filepath.Join(dir, "chain"))
	defer e.node.Close()
	e.client = e.node.Client()
	e.ledger = openLedger(t, filepath.Join(dir, "ledger.db"))
	defer e.ledger.Close()
	if err := e.ledger.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
	addr, err := os.ReadFile(filepath.Join(dir, "contract"))
	if err != nil {
		return durable // killed before the contract was deployed
	}
	e.contract = common.HexToAddress(strings.TrimSpace(string(addr)))
	v := e.view(t)
	for _, model := range []string{"m0", "m1"} {
		es, err := e.ledger.Epochs(ctx, model, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, ep := range es {
			if want := uint64(len(es) - i); ep.Epoch != want {
				t.Fatalf("%s epochs %v: gap at %d", model, es, want)
			}
			if i > 0 && ep.State != ledger.EpochCommitted {
				t.Fatalf("%s epoch %d is %s but a later one exists", model, ep.Epoch, ep.State)
			}
			if ep.State == ledger.EpochCommitted {
				if info := v.info(model, ep.Epoch); info.Root != ep.Root {
					t.Fatalf("%s epoch %d: contract root %x, ledger %x", model, ep.Epoch, info.Root, ep.Root)
				}
			}
			if k := e.commits(t, model, ep.Epoch); k > 1 {
				t.Fatalf("%s epoch %d committed %d times", model, ep.Epoch, k)
			}
		}
		if latest := v.latest(model); latest > uint64(len(es)) {
			t.Fatalf("%s: contract at epoch %d, ledger has %d", model, latest, len(es))
		}
	}
	return durable
}
