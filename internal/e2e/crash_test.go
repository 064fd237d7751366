package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub/chain"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/store"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/flop"
	"github.com/tessera-ai/tessera/internal/identity"
)

const (
	// crashTrials is how many times the hub is killed.
	crashTrials = 12
	// crashMaxRun bounds the random time the hub runs, once it works
	// again, before it is killed; epochs are committed every second.
	crashMaxRun = 3 * time.Second
)

// crashSpec is a training job that outlives the test and checkpoints
// often, so that restarts resume from many different checkpoints.
func crashSpec() train.Spec {
	spec := train.MNISTSpec()
	spec.Name = "crash-mnist"
	spec.TargetAccuracy = 0
	spec.MaxSteps = 1_000_000
	spec.EvalEvery = 1000
	spec.CheckpointEvery = 10
	return spec
}

// TestHubKilledRepeatedly kills the real tessera-hub binary with SIGKILL
// twelve times while two contributors work on an MNIST training job and
// the built-in matmul job and the hub commits an epoch of credit every
// second on its embedded chain: a third of the kills at a random moment,
// the others right after the committer logged that it stored an epoch or
// sent its transaction. After each kill, with the hub down, it checks the
// data directory: the ledger's invariants hold; no contributor's credit
// is below what its client heard accepted, nor its verified credit below
// what the API reported before the kill; epochs are numbered without
// gaps, only the latest may be uncommitted, each one's stored leaves are
// the credit stamped with it and build its stored root, a committed root
// never changes; the chain holds each epoch once with the ledger's root
// and no epoch the ledger does not know; the job's checkpoint never goes
// back. After each restart the hub serves, reports no less verified
// credit, resumes the job from that checkpoint, and the job and the
// commits go on. At the end the contract is read through the hub's
// read-only RPC proxy.
//
// The contributors are in-process clients (the code tessera-edge runs)
// with a short reconnect backoff: the edge binary's backoff doubles up to
// 30 s and only resets after a minute-long session, so against a hub
// killed every few seconds it would soon stop reconnecting in time.
func TestHubKilledRepeatedly(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a hub process a dozen times")
	}
	bins := edgeBinaries(t)
	data := t.TempDir()
	own, other := newCrashKey(t), newCrashKey(t)
	// The operator's own worker may hold any share of the weights, so two
	// contributors can train the job under its exposure cap.
	args := []string{"--data", data, "--epoch", "1s", "--matmul-shape", "64x96x32", "--default-job=false",
		"--own-workers", own.Address().Hex()}
	hubProc, base := startHubOn(t, bins, "127.0.0.1:0", args)
	hostPort := strings.TrimPrefix(base, "http://")
	spec := crashSpec()
	cs := &crashState{data: data, job: createJob(t, base, data, spec), every: spec.CheckpointEvery,
		verified: map[string]map[string]int64{}, roots: map[string]map[uint64][32]byte{}}
	cs.models = []string{"matmul", cs.job}
	cs.clients = runCrashClients(t, "ws://"+hostPort+"/ws", own, other)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	began := time.Now()
	opened := 0 // kills that found an epoch prepared or sent, not yet committed
	for trial := range crashTrials {
		cs.waitWorking(t, base)
		run := time.Duration(rng.Int64N(int64(crashMaxRun)))
		cs.observe(t, base, run)
		// Every third kill is at a random moment; the others land in
		// the committer's most delicate windows: right after it stored
		// an epoch, or right after it sent the transaction.
		moment := fmt.Sprintf("at random, %v after the hub worked again", run.Round(time.Millisecond))
		if at := crashMoments[trial%len(crashMoments)]; at != "" {
			moment = waitLogLine(t, hubProc, at) + fmt.Sprintf(", the first one at least %v after the hub worked again", run.Round(time.Millisecond))
		}
		hubProc.sigkill()
		epochs, open := cs.checkStopped(t)
		if open {
			opened++
		}
		hubProc, _ = startHubOn(t, bins, hostPort, args)
		cs.checkResumed(t, hubProc)
		t.Logf("trial %d: killed %s; resumed from step %d; latest epochs %s", trial+1, moment, cs.checkpoint, epochs)
	}

	// The hub goes on after the last crash: the job steps and a new
	// epoch of each model is committed.
	cs.waitWorking(t, base)
	for _, model := range cs.models {
		before := uint64(len(cs.roots[model]))
		waitFor(t, 60*time.Second, "a new epoch of "+model+" committed", func() error {
			es, err := fetchEpochs(base, model)
			if err != nil {
				return err
			}
			if len(es.Epochs) == 0 {
				return fmt.Errorf("no epoch")
			}
			if e := es.Epochs[0]; e.Epoch <= before || e.State != string(ledger.EpochCommitted) {
				return fmt.Errorf("latest epoch %d is %s; %d were committed before", e.Epoch, e.State, before)
			}
			return nil
		})
		cs.checkThroughProxy(t, base, model)
	}
	cs.observe(t, base, 0)
	if err := hubProc.stop(t); err != nil {
		t.Errorf("hub exit after SIGINT: %v", err)
	}
	cs.checkStopped(t)
	for _, model := range cs.models {
		var total int64
		for _, v := range cs.verified[model] {
			total += v
		}
		if total == 0 {
			t.Errorf("%s: no verified credit; the test wants credit flowing", model)
		}
		t.Logf("%s: %d epochs committed, %.3f GFLOP verified", model, len(cs.roots[model]), float64(total)/1e9)
	}
	t.Logf("%d kills in %v; %d found an epoch prepared or sent but not yet committed", crashTrials,
		time.Since(began).Round(time.Second), opened)
}

// crashMoments are the log messages of the hub after which a trial kills
// it ("" kills at a random moment).
var crashMoments = []string{"", "epoch prepared", "epoch sent"}

// waitLogLine waits for p to log a new record with message msg and
// returns a description of the moment.
func waitLogLine(t *testing.T, p *proc, msg string) string {
	t.Helper()
	pattern := "msg=" + strconv.Quote(msg)
	seen := strings.Count(p.output(), pattern)
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(p.output(), pattern) == seen {
		if time.Now().After(deadline) {
			t.Fatalf("the hub logged no %q within 20 s", msg)
		}
		time.Sleep(time.Millisecond)
	}
	return "right after " + strconv.Quote(msg)
}

func newCrashKey(tb testing.TB) *identity.Key {
	tb.Helper()
	k, err := identity.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// runCrashClients runs one contributor per key on the CPU, reconnecting
// within a quarter of a second, until the test ends.
func runCrashClients(tb testing.TB, ws string, keys ...*identity.Key) []crashClient {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(func() { cancel(); wg.Wait() })
	var out []crashClient
	for _, k := range keys {
		cfg := client.DefaultConfig()
		cfg.HubURL, cfg.Key, cfg.Device, cfg.Slots = ws, k, device.CPU{}, 2
		cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 250*time.Millisecond
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		c, err := client.New(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, crashClient{address: k.Address().Hex(), c: c})
		wg.Add(1)
		go func() { defer wg.Done(); c.Run(ctx) }()
	}
	return out
}

// crashClient is one contributor of the crash test.
type crashClient struct {
	address string
	c       *client.Client
}

// crashState is what the test knows across the hub's lives.
type crashState struct {
	data    string
	job     string
	every   int // the job's checkpoint interval
	models  []string
	clients []crashClient
	// verified is each address's verified credit by model, as the API
	// last reported it before a kill.
	verified map[string]map[string]int64
	// roots holds the root of every epoch seen committed, by model and
	// epoch: it may never change.
	roots map[string]map[uint64][32]byte
	// checkpoint is the step of the job's latest checkpoint.
	checkpoint int
}

// waitWorking waits until the hub serves, both contributors are
// connected and the job has stepped past the checkpoint it resumed from;
// then the API must report no less verified credit than before the kill.
func (cs *crashState) waitWorking(t *testing.T, base string) {
	t.Helper()
	waitFor(t, 60*time.Second, "the restarted hub working", func() error {
		st, err := fetchStatus(base)
		if err != nil {
			return err
		}
		if st.ContributorsConnected != 2 {
			return fmt.Errorf("%d contributors connected", st.ContributorsConnected)
		}
		job := getJob(t, base, cs.job)
		if job.State != "running" || job.Step <= cs.checkpoint {
			return fmt.Errorf("job %s at step %d, checkpoint %d", job.State, job.Step, cs.checkpoint)
		}
		return nil
	})
	for _, model := range cs.models {
		got, err := fetchCredits(base, model)
		if err != nil {
			t.Fatal(err)
		}
		for addr, v := range cs.verified[model] {
			if fi(got[addr].Verified) < v {
				t.Errorf("%s: the restarted hub reports %s verified FLOP for %s, %d before the kill", model, got[addr].Verified, addr, v)
			}
		}
	}
}

// observe lets the hub work for d, recording the verified credit the API
// reports, which never shrinks.
func (cs *crashState) observe(t *testing.T, base string, d time.Duration) {
	t.Helper()
	end := time.Now().Add(d)
	for {
		for _, model := range cs.models {
			got, err := fetchCredits(base, model)
			if err != nil {
				t.Fatal(err)
			}
			if cs.verified[model] == nil {
				cs.verified[model] = map[string]int64{}
			}
			for addr, v := range cs.verified[model] {
				if fi(got[addr].Verified) < v {
					t.Errorf("%s: the API reports %s verified FLOP for %s, %d before", model, got[addr].Verified, addr, v)
				}
			}
			for addr, b := range got {
				cs.verified[model][addr] = fi(b.Verified)
			}
		}
		if time.Now().After(end) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkStopped checks the data directory of the stopped hub. It returns
// each model's latest epoch and whether one of them was not committed.
func (cs *crashState) checkStopped(t *testing.T) (latest string, open bool) {
	t.Helper()
	ctx := context.Background()
	l := openHubLedger(t, cs.data)
	epochs := map[string][]ledger.Epoch{}
	leaves := map[string]map[uint64][]ledger.Leaf{}
	credited := map[string]ledger.Balance{} // by address, all models
	var summary []string
	for _, model := range cs.models {
		bs, err := l.Balances(ctx, model)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]int64{}
		for _, b := range bs {
			have[b.Address] = fi(b.Verified)
			c := credited[b.Address]
			c.Verified, c.Pending, c.Rejected = addFL(c.Verified, b.Verified), addFL(c.Pending, b.Pending), addFL(c.Rejected, b.Rejected)
			credited[b.Address] = c
		}
		for addr, v := range cs.verified[model] {
			if have[addr] < v {
				t.Errorf("%s: %s has %d verified FLOP in the ledger, the API reported %d before the kill", model, addr, have[addr], v)
			}
		}
		es, err := l.Epochs(ctx, model, 0)
		if err != nil {
			t.Fatal(err)
		}
		epochs[model], leaves[model] = es, map[uint64][]ledger.Leaf{}
		for _, e := range es {
			if leaves[model][e.Epoch], err = l.Leaves(ctx, model, e.Epoch); err != nil {
				t.Fatal(err)
			}
		}
		state := "none"
		if len(es) > 0 {
			state = fmt.Sprintf("%d %s", es[0].Epoch, es[0].State)
			open = open || es[0].State != ledger.EpochCommitted
		}
		summary = append(summary, model+": "+state)
	}
	l.Close()
	cs.checkAcknowledged(t, credited)

	db, err := sql.Open("sqlite3", filepath.Join(cs.data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, model := range cs.models {
		cs.checkEpochs(t, db, model, epochs[model], leaves[model])
	}
	cs.checkChain(t, epochs)
	cs.checkCheckpoint(t)
	return strings.Join(summary, ", "), open
}

// checkAcknowledged compares the ledger's credit with what each client
// heard accepted, counted across all of the hub's lives: the hub says
// "accepted" only once the credit is durable (verified, or pending a
// second execution), so none of it may be missing.
func (cs *crashState) checkAcknowledged(t *testing.T, credited map[string]ledger.Balance) {
	t.Helper()
	for _, cc := range cs.clients {
		acked, b := int64(cc.c.Stats().AcceptedFLOPs), credited[cc.address]
		if fi(b.Verified)+fi(b.Pending) < acked || !b.Rejected.IsZero() {
			t.Errorf("%s heard %d FLOP accepted; the ledger has %s verified, %s pending and %s rejected",
				cc.address, acked, b.Verified, b.Pending, b.Rejected)
		}
	}
}

// checkEpochs checks model's epochs (newest first) and their leaves
// against the credit rows stamped with them.
func (cs *crashState) checkEpochs(t *testing.T, db *sql.DB, model string, es []ledger.Epoch, leaves map[uint64][]ledger.Leaf) {
	t.Helper()
	if cs.roots[model] == nil {
		cs.roots[model] = map[uint64][32]byte{}
	}
	for n := range cs.roots[model] {
		if n > uint64(len(es)) {
			t.Errorf("%s epoch %d was committed and is gone: the ledger has %d epochs", model, n, len(es))
		}
	}
	for i, e := range es {
		if want := uint64(len(es) - i); e.Epoch != want {
			t.Fatalf("%s epochs are not numbered 1..%d without gaps: %d at position %d", model, len(es), e.Epoch, want)
		}
		if i > 0 && e.State != ledger.EpochCommitted {
			t.Errorf("%s epoch %d is %s, but epoch %d exists", model, e.Epoch, e.State, es[0].Epoch)
		}
		ls := leaves[e.Epoch]
		tree, err := chain.Tree(ls)
		if err != nil {
			t.Fatalf("%s epoch %d: %v", model, e.Epoch, err)
		}
		var total flop.Amount
		for _, lf := range ls {
			total = addFL(total, lf.Amount)
		}
		if tree.Root() != e.Root || total != e.Total || len(ls) != e.Contributors {
			t.Errorf("%s epoch %d: stored root %x, total %s, %d contributors; its leaves give root %x, total %s, %d contributors",
				model, e.Epoch, e.Root, e.Total, e.Contributors, tree.Root(), total, len(ls))
		}
		if stamped := stampedCredit(t, db, model, e.Epoch); !equalLeaves(stamped, ls) {
			t.Errorf("%s epoch %d: stored leaves %v, but the credit stamped with it or earlier sums to %v", model, e.Epoch, ls, stamped)
		}
		if old, seen := cs.roots[model][e.Epoch]; seen && (old != e.Root || e.State != ledger.EpochCommitted) {
			t.Errorf("%s epoch %d was committed with root %x; now %s with root %x", model, e.Epoch, old, e.State, e.Root)
		}
		if e.State == ledger.EpochCommitted {
			cs.roots[model][e.Epoch] = e.Root
		}
	}
}

// stampedCredit sums model's verified credit stamped with epoch or
// earlier per address, straight from the ledger's rows: the snapshot the
// epoch claims to be.
func stampedCredit(t *testing.T, db *sql.DB, model string, epoch uint64) []ledger.Leaf {
	t.Helper()
	rows, err := db.Query(`SELECT address, SUM(amount) FROM credits
		WHERE model = ? AND state = 'verified' AND epoch IS NOT NULL AND epoch <= ?
		GROUP BY address ORDER BY address`, model, epoch)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ledger.Leaf
	for rows.Next() {
		var lf ledger.Leaf
		if err := rows.Scan(&lf.Address, &lf.Amount); err != nil {
			t.Fatal(err)
		}
		out = append(out, lf)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func equalLeaves(a, b []ledger.Leaf) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (cs *crashState) checkCheckpoint(t *testing.T) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(cs.data, "hub.db"))
	if err != nil {
		t.Fatalf("open the hub's database: %v", err)
	}
	defer db.Close()
	row, err := db.Job(context.Background(), cs.job)
	if err != nil {
		t.Fatal(err)
	}
	if row.Step < cs.checkpoint || row.Step%cs.every != 0 {
		t.Errorf("job checkpoint at step %d after one at step %d (every %d steps)", row.Step, cs.checkpoint, cs.every)
	}
	if row.Checkpoint != "" {
		if _, err := os.Stat(filepath.Join(cs.data, row.Checkpoint)); err != nil {
			t.Errorf("the job's checkpoint file: %v", err)
		}
	}
	cs.checkpoint = row.Step
}

// checkResumed waits for the restarted hub to say it resumed the job from
// the checkpoint its database names.
func (cs *crashState) checkResumed(t *testing.T, p *proc) {
	t.Helper()
	if cs.checkpoint == 0 {
		return // killed before the first checkpoint: the job starts over
	}
	waitFor(t, 20*time.Second, "the job resumed from its checkpoint", func() error {
		m := resumedLine.FindStringSubmatch(p.output())
		if m == nil {
			return fmt.Errorf("no resume logged")
		}
		if m[1] != strconv.Itoa(cs.checkpoint) {
			t.Fatalf("resumed from step %s, the checkpoint is at step %d", m[1], cs.checkpoint)
		}
		return nil
	})
}

// epochsDoc is GET /api/v1/epochs.
