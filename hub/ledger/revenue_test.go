package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tessera-ai/tessera/internal/flop"
)

// meter writes a metered usage row (migration 4) of model costing wei, as
// the inference API does, straight into the table.
func meter(tb testing.TB, l *Ledger, model, request, wei string) {
	tb.Helper()
	ctx := context.Background()
	if _, err := l.db.ExecContext(ctx, `INSERT OR IGNORE INTO api_keys (name, hash, price_wei, rate_limit, created_at)
		VALUES ('test', 'test-hash', '1', 0, 0)`); err != nil {
		tb.Fatal(err)
	}
	if _, err := l.db.ExecContext(ctx, `INSERT INTO usage (request, key_id, model, prompt_tokens, completion_tokens, wei, at)
		VALUES (?, (SELECT id FROM api_keys WHERE name = 'test'), ?, 1, 1, ?, 0)`, request, model, wei); err != nil {
		tb.Fatal(err)
	}
}

func earningsOf(s Snapshot) map[string]Wei {
	out := map[string]Wei{}
	for _, lf := range s.Leaves {
		out[lf.Address] = lf.Earnings
	}
	return out
}

// TestRevenueEpochs follows a model's revenue through its epochs: metered
// usage and recorded revenue are stamped with the snapshot and split pro
// rata to cumulative credit, rounding down, the dust carried into the
// next epoch; revenue alone makes an epoch, revenue without owners waits.
func TestRevenueEpochs(t *testing.T) {
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()

	t.Run("RevenueWithoutOwnersWaits", func(t *testing.T) {
		meter(t, l, "m", "r0", "5")
		if _, err := l.Snapshot(ctx, "m"); !errors.Is(err, ErrNoNewCredit) {
			t.Fatalf("snapshot with revenue but no credit: %v, want ErrNoNewCredit", err)
		}
		if stamped, unstamped, err := l.RevenueTotals(ctx, "m"); err != nil || !stamped.IsZero() || unstamped != fl(5) {
			t.Fatalf("revenue %s stamped, %s unstamped (%v): want 0 and 5", stamped, unstamped, err)
		}
	})

	// Epoch 1: credit 1 : 2 (0xa : 0xb), revenue 5 + 95 + 1 = 101 wei.
	must(t, l.Submit(
		Op{Kind: AddVerified, Task: "t1", Model: "m", Address: "0xa", Amount: 10},
		Op{Kind: AddVerified, Task: "t1", Model: "m", Address: "0xb", Amount: 20},
	))
	meter(t, l, "m", "r1", "95")
	meter(t, l, "other", "r2", "1000")
	if err := l.RecordRevenue(ctx, "m", fl(1), "a grant"); err != nil {
		t.Fatal(err)
	}
	s1 := snapshot(t, l, "m")
	// floor(101·10/30) = 33, floor(101·20/30) = 67, dust 1.
	if got := earningsOf(s1); got["0xa"] != fl(33) || got["0xb"] != fl(67) || s1.Revenue != fl(101) || s1.Dust != fl(1) ||
		s1.EarningsTotal != fl(100) || !s1.CarriedIn.IsZero() {
		t.Fatalf("epoch 1 %+v: want earnings 33 and 67 of revenue 101, dust 1", s1)
	}
	t.Run("UnpreparedSnapshotIsRetaken", func(t *testing.T) {
		meter(t, l, "m", "r3", "49") // 150 in all: 50 and 100, no dust
		s1 = snapshot(t, l, "m")
		if got := earningsOf(s1); s1.Epoch != 1 || got["0xa"] != fl(50) || got["0xb"] != fl(100) || !s1.Dust.IsZero() || s1.Revenue != fl(150) {
			t.Fatalf("epoch 1 retaken %+v: want earnings 50 and 100, no dust", s1)
		}
	})
	t.Run("ErrEpochConflict", func(t *testing.T) {
		stale := s1
		stale.Leaves = slices.Clone(s1.Leaves)
		stale.Leaves[0].Earnings = fl(49)
		if err := l.PrepareEpoch(ctx, stale, [32]byte{1}, [32]byte{2}); !errors.Is(err, ErrEpochConflict) {
			t.Fatalf("prepare with other earnings: %v, want ErrEpochConflict", err)
		}
		if err := l.PrepareEpoch(ctx, s1, [32]byte{1}, [32]byte{}); err == nil {
			t.Fatal("prepared with a zero earnings root")
		}
		if err := l.PrepareEpoch(ctx, s1, [32]byte{1}, [32]byte{2}); err != nil {
			t.Fatal(err)
		}
		if err := l.PrepareEpoch(ctx, s1, [32]byte{1}, [32]byte{3}); !errors.Is(err, ErrEpochConflict) {
			t.Fatalf("prepare again with another earnings root: %v, want ErrEpochConflict", err)
		}
	})
	if err := l.MarkCommitted(ctx, "m", 1, [32]byte{0xee}, 7); err != nil {
		t.Fatal(err)
	}
	e1, err := l.EpochAt(ctx, "m", 1)
	if err != nil || e1.EarningsRoot != ([32]byte{2}) || e1.EarningsTotal != fl(150) || e1.Revenue != fl(150) || !e1.Dust.IsZero() {
		t.Fatalf("stored epoch 1 %+v (%v)", e1, err)
	}

	t.Run("RevenueAloneMakesAnEpoch", func(t *testing.T) {
		meter(t, l, "m", "r4", "0")
		if _, err := l.Snapshot(ctx, "m"); !errors.Is(err, ErrNoNewCredit) {
			t.Fatalf("snapshot with only a free request: %v, want ErrNoNewCredit", err)
		}
		meter(t, l, "m", "r5", "100")
		s2 := snapshot(t, l, "m")
		// floor(100/3) = 33, floor(200/3) = 66, dust 1.
		if got := earningsOf(s2); s2.Epoch != 2 || s2.Total != s1.Total || got["0xa"] != fl(83) || got["0xb"] != fl(166) || s2.Dust != fl(1) {
			t.Fatalf("epoch 2 %+v: want the same credit, earnings 83 and 166, dust 1", s2)
		}
		commitEpoch(t, l, s2)
	})
	t.Run("DustCarries", func(t *testing.T) {
		must(t, l.Submit(Op{Kind: AddVerified, Task: "t3", Model: "m", Address: "0xc", Amount: 30}))
		if err := l.RecordRevenue(ctx, "m", fl(5), "fee"); err != nil {
			t.Fatal(err)
		}
		s3 := snapshot(t, l, "m")
		// R' = 5 + 1 = 6 over 10 : 20 : 30: 1, 2, 3; no dust.
		if got := earningsOf(s3); s3.CarriedIn != fl(1) || got["0xa"] != fl(84) || got["0xb"] != fl(168) || got["0xc"] != fl(3) || !s3.Dust.IsZero() {
			t.Fatalf("epoch 3 %+v: want 84, 168 and 3 with the dust of epoch 2 spent", s3)
		}
		commitEpoch(t, l, s3)
	})
	if _, err := l.Snapshot(ctx, "m"); !errors.Is(err, ErrNoNewCredit) {
		t.Fatalf("snapshot with nothing new: %v", err)
	}
	if stamped, unstamped, err := l.RevenueTotals(ctx, "m"); err != nil || stamped != fl(255) || !unstamped.IsZero() {
		t.Fatalf("revenue %s stamped, %s unstamped (%v): want 255 and 0", stamped, unstamped, err)
	}
	leaves, err := l.Leaves(ctx, "m", 3)
	if err != nil || len(leaves) != 3 || leaves[2].Earnings != fl(3) {
		t.Fatalf("stored leaves %+v (%v)", leaves, err)
	}
	if err := l.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("InvariantCatchesLostRevenue", func(t *testing.T) {
		if _, err := l.db.ExecContext(ctx, `UPDATE usage SET epoch = NULL WHERE request = 'r5'`); err != nil {
			t.Fatal(err)
		}
		if err := l.CheckInvariants(ctx); err == nil {
			t.Fatal("CheckInvariants missed revenue unstamped after its epoch")
		}
		if _, err := l.db.ExecContext(ctx, `UPDATE usage SET epoch = 2 WHERE request = 'r5'`); err != nil {
			t.Fatal(err)
		}
	})
}

// owners is the test's own account of the split, kept apart from the
// ledger's code: per epoch, pool = revenue + carry; each owner gets
// floor(pool · credit / total credit); what is left carries.
type owners struct {
	credit, earned map[string]*big.Int
	carry          *big.Int
	metered        *big.Int
}

func (o *owners) epoch(revenue *big.Int) {
	o.metered.Add(o.metered, revenue)
	total := new(big.Int)
	for _, c := range o.credit {
		total.Add(total, c)
	}
	pool := new(big.Int).Add(revenue, o.carry)
	if total.Sign() == 0 {
		o.carry = pool
		return
	}
	left := new(big.Int).Set(pool)
	for a, c := range o.credit {
		share := new(big.Int).Div(new(big.Int).Mul(pool, c), total)
		if o.earned[a] == nil {
			o.earned[a] = new(big.Int)
		}
		o.earned[a].Add(o.earned[a], share)
		left.Sub(left, share)
	}
	o.carry = left
}

// TestRevenueSplitProperty runs random credit and revenue (some epochs
// with revenue only, some with credit only, amounts past 2^64) through
// the ledger's epochs and checks every epoch's leaves against the test's
// own account: each owner's cumulative earnings are the sum of their
// per-epoch floors, the dust is what the floors left, and earnings plus
// dust are exactly the revenue metered.
func TestRevenueSplitProperty(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 13))
			l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
			defer l.Close()
			o := &owners{credit: map[string]*big.Int{}, earned: map[string]*big.Int{}, carry: new(big.Int), metered: new(big.Int)}
			people := 2 + rng.IntN(8)
			for e := 1; e <= 12; e++ {
				if e == 1 || rng.IntN(3) > 0 { // new credit
					for i := range people {
						if rng.IntN(2) == 0 {
							continue
						}
						a := fmt.Sprintf("0x%02x", i)
						n := rng.Int64N(1 << 40)
						must(t, l.Submit(Op{Kind: AddVerified, Task: fmt.Sprint("t", e), Model: "m", Address: a, Amount: n}))
						if o.credit[a] == nil {
							o.credit[a] = new(big.Int)
						}
						o.credit[a].Add(o.credit[a], big.NewInt(n))
					}
				}
				revenue := new(big.Int)
				for k := range rng.IntN(4) { // metered requests, some worth more than 2^64 wei
					w := randBits(rng, 8+rng.IntN(80))
					meter(t, l, "m", fmt.Sprint(e, "/", k), w.String())
					revenue.Add(revenue, w)
				}
				s, err := l.Snapshot(ctx, "m")
				if errors.Is(err, ErrNoNewCredit) && len(o.credit) > 0 && revenue.Sign() == 0 {
					continue // nothing new: no epoch, as the ledger says
				}
				if errors.Is(err, ErrNoNewCredit) && len(o.credit) == 0 {
					continue // no owners yet: the revenue waits
				}
				if err != nil {
					t.Fatalf("epoch %d: %v", e, err)
				}
				o.epoch(revenue)
				for _, lf := range s.Leaves {
					want := o.earned[lf.Address]
					if want == nil {
						want = new(big.Int)
					}
					if lf.Earnings.Big().Cmp(want) != 0 {
						t.Fatalf("epoch %d: %s earns %s, want %s", s.Epoch, lf.Address, lf.Earnings, want)
					}
				}
				if len(s.Leaves) != len(o.credit) || s.Dust.Big().Cmp(o.carry) != 0 {
					t.Fatalf("epoch %d: %d leaves, dust %s; want %d, %s", s.Epoch, len(s.Leaves), s.Dust, len(o.credit), o.carry)
				}
				sum := new(big.Int).Add(s.EarningsTotal.Big(), s.Dust.Big())
				if sum.Cmp(o.metered) != 0 || s.Dust.Big().Cmp(big.NewInt(int64(len(s.Leaves)))) >= 0 {
					t.Fatalf("epoch %d: earnings %s + dust %s, metered %s (dust must stay below the owners' count)", s.Epoch, s.EarningsTotal, s.Dust, o.metered)
				}
				commitEpoch(t, l, s)
			}
			if err := l.CheckInvariants(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// randBits returns a random number below 2^bits.
func randBits(rng *rand.Rand, bits int) *big.Int {
	n := new(big.Int)
	for range (bits + 63) / 64 {
		n.Lsh(n, 64).Or(n, new(big.Int).SetUint64(rng.Uint64()))
	}
	return n.Rsh(n, uint(n.BitLen()-min(n.BitLen(), bits)))
}

// TestRevenueSplitEdges checks Split where the rule has corners: no
// credit at all (everything carries), one owner (no dust), and amounts
// at uint256's top (the product past 2^256 stays exact).
func TestRevenueSplitEdges(t *testing.T) {
	half := new(big.Int).Lsh(big.NewInt(1), 255) // 2^255
	plus := func(n *big.Int, k int64) Wei { return bigWei(t, new(big.Int).Add(n, big.NewInt(k))) }
	maxWei := plus(new(big.Int).Lsh(half, 1), -1) // 2^256 - 1
	for _, tc := range []struct {
		name        string
		leaves      []Leaf
		pool        *big.Int
		earn        []Wei
		dust, total Wei
	}{
		{"NoCredit", []Leaf{{Address: "0xa"}, {Address: "0xb"}}, big.NewInt(7), []Wei{{}, {}}, fl(7), Wei{}},
		{"OneOwner", []Leaf{{Address: "0xa", Amount: fl(3)}}, big.NewInt(7), []Wei{fl(7)}, Wei{}, fl(7)},
		{"Thirds", []Leaf{{Address: "0xa", Amount: fl(1)}, {Address: "0xb", Amount: fl(1)}, {Address: "0xc", Amount: fl(1)}},
			big.NewInt(8), []Wei{fl(2), fl(2), fl(2)}, fl(2), fl(6)},
		// Credit 2^255 : 2^255-1 (total 2^256-1), pool 2^256-2: the
		// products pass 2^256; shares 2^255-1 and 2^255-2, dust 1.
		{"Uint256Top", []Leaf{{Address: "0xa", Amount: bigWei(t, half)}, {Address: "0xb", Amount: plus(half, -1)}}, plus(maxWei.Big(), -1).Big(),
			[]Wei{plus(half, -1), plus(half, -2)}, fl(1), plus(maxWei.Big(), -2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var total flop.Amount
			for _, lf := range tc.leaves {
				var err error
				if total, err = total.Add(lf.Amount); err != nil {
					t.Fatal(err)
				}
			}
			earnings, dust, err := Split(tc.leaves, total, nil, tc.pool)
			if err != nil {
				t.Fatal(err)
			}
			for i, lf := range tc.leaves {
				if lf.Earnings != tc.earn[i] {
					t.Errorf("%s earns %s, want %s", lf.Address, lf.Earnings, tc.earn[i])
				}
			}
			if dust != tc.dust || earnings != tc.total {
				t.Errorf("earnings %s, dust %s; want %s, %s", earnings, dust, tc.total, tc.dust)
			}
		})
	}
	t.Run("ErrLostOwner", func(t *testing.T) {
		_, _, err := Split([]Leaf{{Address: "0xa", Amount: fl(1)}}, fl(1), map[string]Wei{"0xb": fl(1)}, big.NewInt(1))
		if !errors.Is(err, ErrEpochConflict) {
			t.Fatalf("split dropping an owner's earnings: %v, want ErrEpochConflict", err)
		}
	})
}

func bigWei(tb testing.TB, n *big.Int) Wei {
	tb.Helper()
	w, err := flop.FromBig(n)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}
