package chain

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub/ledger"
)

// revenueChildEnv makes the test binary act as TestRevenueCrash's child;
// its value is "DIR MODE ROUND".
const revenueChildEnv = "TESSERA_REVENUE_CRASH_CHILD"

const (
	crashModel  = "crash-model"
	crashOwners = 4
)

// crashRound is round k's data: owner i's credit and the metered
// requests' wei (deterministic, so the parent knows what was written).
func crashRound(k int) (credit map[int]int64, usage []*big.Int) {
	credit = map[int]int64{}
	for i := range crashOwners {
		if (i+k)%3 != 0 || k == 1 {
			credit[i] = int64(1000*(i+1) + 7*k)
		}
	}
	for j := range 5 + k {
		usage = append(usage, big.NewInt(int64(1_000_003*(j+1)*k+j)))
	}
	return credit, usage
}

// revenueChild is a hub process. MODE "commit" finishes any epoch left
// open, then writes round ROUND's credit
// and metered usage, deposits its revenue, and commits the epoch, stopping
// for good right after the commit transaction is sent (the parent kills
// it there: between the commit and any claim). MODE "claim" finishes any
// open epoch, then relays every owner's claim with the proof the hub
// serves, printing "claimed I" after each (the parent kills it at a
// random point), and "done" at the end.
func revenueChild(t *testing.T, arg string) {
	f := strings.Fields(arg)
	dir, mode := f[0], f[1]
	round, _ := strconv.Atoi(f[2])
	ctx := context.Background()
	n := openNode(t, filepath.Join(dir, "chain"))
	l := openLedger(t, filepath.Join(dir, "ledger.db"))
	addr, err := EnsureContract(ctx, n.Client(), DevKey(), filepath.Join(dir, "contract"), n.WaitDurable)
	if err != nil {
		t.Fatal(err)
	}
	vault := NewVault(n.Client(), addr)
	vault.Poll = 10 * time.Millisecond
	cfg := Config{Interval: time.Hour, Poll: 10 * time.Millisecond, ReceiptTimeout: 2 * time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second, Durable: n.WaitDurable}
	if mode == "commit" {
		// First finish any epoch an earlier child left open (a claim child
		// killed before its commit round, an epoch's transaction lost with
		// the node's pool): this round's credit must make an epoch of its
		// own, as the parent's model of the split assumes.
		pre := NewCommitter(n.Client(), DevKey(), addr, l, cfg)
		preCtx, stop := context.WithCancel(ctx)
		ran := make(chan struct{})
		go func() { defer close(ran); pre.Run(preCtx) }()
		if err := pre.CommitNow(ctx); err != nil {
			t.Fatal(err)
		}
		stop()
		<-ran
		credit, usage := crashRound(round)
		var ops []ledger.Op
		for i, amount := range credit {
			ops = append(ops, ledger.Op{Kind: ledger.AddVerified, Task: fmt.Sprint("round-", round), Model: crashModel, Address: contributor(i), Amount: amount})
		}
		if err := <-l.Submit(ops...); err != nil {
			t.Fatal(err)
		}
		total := meterUsage(t, filepath.Join(dir, "ledger.db"), round, usage)
		r, err := vault.Deposit(ctx, DevKey(), ModelID(crashModel), total)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.WaitDurable(ctx, r.BlockNumber.Uint64()); err != nil {
			t.Fatal(err)
		}
		c := NewCommitter(pausingBackend{n.Client()}, DevKey(), addr, l, cfg)
		c.Run(ctx) // its first round blocks after sending; the parent kills us
		return
	}
	c := NewCommitter(n.Client(), DevKey(), addr, l, cfg)
	go c.Run(ctx)
	for range 2 { // a round that finds the open epoch on-chain, then one for anything left
		if err := c.CommitNow(ctx); err != nil {
			t.Fatal(err)
		}
	}
	chainID := n.ChainID()
	h := ProofHandler(l, addr, chainID)
	for i := range crashOwners {
		req := httptest.NewRequest("GET", "/api/v1/proof?"+url.Values{"model": {crashModel}, "address": {contributor(i)}, "kind": {KindEarnings}}.Encode(), nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var p EarningsProof
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 200 {
			t.Fatalf("proof of %d: %d %s", i, w.Code, w.Body)
		}
		cl, err := ClaimOf(p)
		if err != nil {
			t.Fatal(err)
		}
		_, r, err := vault.Claim(ctx, DevKey(), cl)
		switch {
		case errors.Is(err, ErrNothingToClaim):
		case err != nil:
			t.Fatal(err)
		default:
			if err := n.WaitDurable(ctx, r.BlockNumber.Uint64()); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Printf("claimed %d\n", i)
	}
	fmt.Println("done")
	select {}
}

// meterUsage writes metered requests as the inference API does, in a
// transaction of their own, and returns their wei.
func meterUsage(t *testing.T, path string, round int, usage []*big.Int) *big.Int {
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT OR IGNORE INTO api_keys (name, hash, price_wei, rate_limit, created_at) VALUES ('crash', 'crash', '1', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	total := new(big.Int)
	for j, w := range usage {
		if _, err := tx.Exec(`INSERT INTO usage (request, key_id, model, prompt_tokens, completion_tokens, wei, at)
			VALUES (?, (SELECT id FROM api_keys WHERE name = 'crash'), ?, 1, 1, ?, 0)`, fmt.Sprint(round, "/", j), crashModel, w.String()); err != nil {
			t.Fatal(err)
		}
		total.Add(total, w)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return total
}

// TestRevenueCrash SIGKILLs a hub right after an epoch's commit
// transaction is sent (before the hub records it, and before any claim),
// restarts it to relay claims and SIGKILLs that at a random claim, three
// rounds over, then lets every claim finish. Nobody is paid twice: each
// owner's balance is exactly their cumulative earnings per the split
// model (rounds' credit and metered wei are known), the contract paid out
// exactly the earnings and holds the dust; no stamped revenue is lost:
// every metered request is in an epoch, and earnings plus dust are all of
// it (the ledger's invariants).
func TestRevenueCrash(t *testing.T) {
	if arg := os.Getenv(revenueChildEnv); arg != "" {
		revenueChild(t, arg)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	split := newSplitModel()
	const rounds = 3
	for k := 1; k <= rounds; k++ {
		lines := startRevenueChild(t, dir, "commit", k)
		for line := lines.next(); !strings.HasPrefix(line, "sent "); line = lines.next() {
		}
		lines.kill()
		credit, usage := crashRound(k)
		for i, n := range credit {
			split.addCredit(contributor(i), n)
		}
		revenue := new(big.Int)
		for _, w := range usage {
			revenue.Add(revenue, w)
		}
		split.epoch(revenue)

		stop := rng.IntN(crashOwners + 1) // claims to let through before the kill
		lines = startRevenueChild(t, dir, "claim", k)
		for seen := 0; seen < stop; {
			if strings.HasPrefix(lines.next(), "claimed ") {
				seen++
			}
		}
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond) // maybe inside the next claim
		lines.kill()
		t.Logf("round %d: killed after the commit was sent, then after %d claims", k, stop)
	}
	lines := startRevenueChild(t, dir, "claim", rounds)
	for lines.next() != "done" {
	}
	lines.kill()

	e := &env{dir: dir, key: DevKey()}
	e.node = openNode(t, filepath.Join(dir, "chain"))
	defer e.node.Close()
	e.client, e.durable = e.node.Client(), e.node.WaitDurable
	e.deploy(t)
	ctx := testContext(t)
	if err := e.ledger.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
	stamped, unstamped, err := e.ledger.RevenueTotals(ctx, crashModel)
	if err != nil || stamped.Big().Cmp(split.revenue) != 0 || !unstamped.IsZero() {
		t.Fatalf("revenue %s stamped, %s unstamped (%v); metered %s", stamped, unstamped, err, split.revenue)
	}
	le, ok, err := e.ledger.LatestCommitted(ctx, crashModel)
	if err != nil || !ok || le.Epoch != rounds || le.Dust.Big().Cmp(split.carry) != 0 {
		t.Fatalf("latest committed %+v (%v %v): want epoch %d with dust %s", le, ok, err, rounds, split.carry)
	}
	for n := uint64(1); n <= rounds; n++ {
		if k := e.commits(t, crashModel, n); k != 1 {
			t.Fatalf("epoch %d committed %d times", n, k)
		}
	}
	vault := NewVault(e.client, e.contract)
	id := ModelID(crashModel)
	paid := new(big.Int)
	for i := range crashOwners {
		a := common.HexToAddress(contributor(i))
		balance, err := e.client.BalanceAt(ctx, a, nil)
		if err != nil {
			t.Fatal(err)
		}
		claimed, err := vault.Claimed(ctx, id, a)
		if err != nil {
			t.Fatal(err)
		}
		if want := split.earned[contributor(i)]; balance.Cmp(want) != 0 || claimed.Cmp(want) != 0 {
			t.Fatalf("owner %d: balance %s, claimed %s; earned %s", i, balance, claimed, want)
		}
		paid.Add(paid, balance)
	}
	deposited, err := vault.Deposited(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	held, err := e.client.BalanceAt(ctx, e.contract, nil)
	if err != nil {
		t.Fatal(err)
	}
	if deposited.Cmp(split.revenue) != 0 || held.Cmp(split.carry) != 0 || new(big.Int).Add(paid, held).Cmp(deposited) != 0 {
		t.Fatalf("deposited %s, paid %s, the contract holds %s; revenue %s, dust %s", deposited, paid, held, split.revenue, split.carry)
	}
	t.Logf("%d epochs, %s wei metered, %s paid, %s dust kept", rounds, split.revenue, paid, held)
}

func startRevenueChild(t *testing.T, dir, mode string, round int) *childLines {
	t.Helper()
	return startChildWith(t, "^TestRevenueCrash$", fmt.Sprintf("%s=%s %s %d", revenueChildEnv, dir, mode, round))
}
