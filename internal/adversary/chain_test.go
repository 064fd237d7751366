package adversary

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/hub/chain"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestCommitsWhileCheatersAreRefused runs the epoch committer on the
// embedded chain every 100 ms while honest contributors and cheaters work
// against a real hub: verification rejects results, voids pending credit
// and bans, and the committer keeps committing. Afterwards (a restarted
// committer commits the rest) every epoch is on-chain once and in order
// with the ledger's root, the last one holds all verified credit, every
// leaf's proof verifies through the contract, and no cheater that
// corrupts everything appears in it.
func TestCommitsWhileCheatersAreRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	node, err := chain.OpenNode(ctx, filepath.Join(dir, "chain"))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	contract, err := chain.EnsureContract(ctx, node.Client(), chain.DevKey(), filepath.Join(dir, "contract"), node.WaitDurable)
	if err != nil {
		t.Fatal(err)
	}
	ccfg := chain.Config{Interval: 100 * time.Millisecond, Poll: 10 * time.Millisecond, ReceiptTimeout: 5 * time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second, Durable: node.WaitDurable, Logger: slog.New(slog.DiscardHandler)}

	cfg := DefaultConfig(t.TempDir())
	cfg.Shape, cfg.Honest = kernel.Shape{M: 32, K: 48, N: 40}, 3
	cfg.Cheaters = []Strategy{Random, Noise3, Stale, Collude, Collude}
	x, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	committer := chain.NewCommitter(node.Client(), chain.DevKey(), contract, x.Ledger(), ccfg)
	cctx, stopCommitter := context.WithCancel(ctx)
	committed := make(chan struct{})
	go func() { committer.Run(cctx); close(committed) }()
	time.Sleep(3 * time.Second)
	stopCommitter()
	<-committed
	addrs := x.Addresses()
	rep, err := x.Stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The harness's own credit log models a ban's revoke as rejecting all
	// of a cheater's verified credit; with epochs committing, credit already
	// in an epoch is kept (it is on-chain), so that one comparison does not
	// apply here. Everything else must hold, and no bad result may be
	// credited: a cheater's verified credit is only for its honest results.
	for _, p := range rep.Inconsistencies {
		if strings.HasPrefix(p, "credit log vs ledger") {
			t.Logf("expected with epochs committing: %s", p)
			continue
		}
		t.Errorf("inconsistent: %s", p)
	}
	if rep.LedgerErr != nil {
		t.Errorf("ledger invariants: %v", rep.LedgerErr)
	}
	flops := int64(2 * cfg.Shape.M * cfg.Shape.K * cfg.Shape.N)
	for _, c := range rep.Contributors {
		if c.Strategy == Honest {
			if c.ClientRefused != 0 || c.GoodRefused != 0 {
				t.Errorf("honest %s had %d results refused", c.Address, c.ClientRefused)
			}
			continue
		}
		// The ledger's verified credit must be for honest results. The
		// harness's log cannot say which of those stayed credited: one
		// committed in an epoch before its sender was banned stays
		// verified in the ledger, while the log counts it revoked (with
		// the refused, in GoodRefused). So the bound is every honest
		// result the cheater sent.
		if c.Credited != 0 || c.Verified > int64(c.Good)*flops {
			t.Errorf("%s (%s): %d bad results credited, %d FLOPs verified for %d honest results", c.Address, c.Strategy, c.Credited, c.Verified, c.Good)
		}
	}
	if sr := rep.Strategy(Random); sr.Banned == 0 {
		t.Errorf("the random cheater was not banned: %+v", sr)
	}

	led, err := ledger.Open(ctx, filepath.Join(cfg.Dir, "ledger.db"), ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	committer = chain.NewCommitter(node.Client(), chain.DevKey(), contract, led, ccfg)
	cctx, stopCommitter = context.WithCancel(ctx)
	defer stopCommitter()
	go committer.Run(cctx)
	for range 2 { // finish an open epoch, then commit what is left
		if err := committer.CommitNow(ctx); err != nil {
			t.Fatal(err)
		}
	}

	totals, err := led.Totals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := led.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
	credits := bindings.NewTesseraCredits()
	inst := credits.Instance(node.Client(), contract)
	opts := &bind.CallOpts{Context: ctx}
	for model, total := range totals {
		es, err := led.Epochs(ctx, model, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) < 2 {
			t.Errorf("%s: %d epochs committed in 3 s at 100 ms intervals", model, len(es))
		}
		latest, err := bind.Call(inst, opts, credits.PackLatestEpoch(chain.ModelID(model)), credits.UnpackLatestEpoch)
		if err != nil || latest != uint64(len(es)) {
			t.Fatalf("%s: contract at epoch %d (%v), ledger has %d", model, latest, err, len(es))
		}
		for i, e := range es {
			info, err := bind.Call(inst, opts, credits.PackEpochInfo(chain.ModelID(model), e.Epoch), credits.UnpackEpochInfo)
			if err != nil || e.Epoch != uint64(len(es)-i) || e.State != ledger.EpochCommitted || info.Root != e.Root {
				t.Fatalf("%s epoch %d (%s): contract root %x (%v), ledger %x", model, e.Epoch, e.State, info.Root, err, e.Root)
			}
		}
		last := es[0]
		if last.Total != total {
			t.Errorf("%s: last epoch holds %d FLOP, the ledger %d verified", model, last.Total, total)
		}
		leaves, err := led.Leaves(ctx, model, last.Epoch)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := chain.Tree(leaves)
		if err != nil {
			t.Fatal(err)
		}
		inLeaves := map[string]bool{}
		for i, l := range leaves {
			inLeaves[l.Address] = true
			ok, err := bind.Call(inst, opts, credits.PackVerify(chain.ModelID(model), last.Epoch, common.HexToAddress(l.Address), l.Amount.Big(), tree.ProofAt(i)), credits.UnpackVerify)
			if err != nil || !ok {
				t.Errorf("%s: proof of %s refused (%v)", model, l.Address, err)
			}
		}
		for _, s := range []Strategy{Random, Noise3} {
			for _, a := range addrs[s] {
				if inLeaves[a] {
					t.Errorf("%s: cheater %s (%s) is in the committed epoch", model, a, s)
				}
			}
		}
		for _, a := range addrs[Honest] {
			if !inLeaves[a] {
				t.Errorf("%s: honest %s is not in the committed epoch", model, a)
			}
		}
		t.Logf("%s: %d epochs, %d contributors, %s FLOP", model, len(es), last.Contributors, last.Total)
	}
}
