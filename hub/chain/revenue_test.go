package chain

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// TestRevenueClaimsEmbedded runs revenueScenario on the embedded chain.
func TestRevenueClaimsEmbedded(t *testing.T) { revenueScenario(t, newEnv(t)) }

// TestRevenueClaimsAnvil runs revenueScenario on a real anvil node.
func TestRevenueClaimsAnvil(t *testing.T) {
	e, _ := newAnvilEnv(t)
	revenueScenario(t, e)
}

// revenueScenario: revenue deposited over four epochs while the owners'
// shares change (new owners join, a revenue-only epoch). Each owner
// claims exactly their pro-rata cumulative earnings (revenueRig.claim
// checks every payout against the split model and the balances); a
// second claim pays nothing; tampered proofs and amounts, another
// account's proof and a stale epoch's proof are refused; a claim above
// what the vault holds is refused until the revenue is deposited.
func revenueScenario(t *testing.T, e *env) {
	r := newRevenueRig(t, e, "revenue-model")

	// Epoch 1: three owners, 1 : 2 : 3.
	r.credit("t1", map[int]int64{0: 1000, 1: 2000, 2: 3000})
	r.revenue(ether(1, 7))
	r.deposit(ether(1, 7))
	r.commit()
	for i := range 3 {
		if err := r.claim(i); err != nil {
			t.Fatal(err)
		}
	}
	stale := r.proof(1)
	t.Run("SecondClaimPaysNothing", func(t *testing.T) {
		if err := r.claim(1); !errors.Is(err, ErrNothingToClaim) {
			t.Fatalf("second claim: %v", err)
		}
	})

	// Epoch 2: two newcomers, shares change; owner 0 does not claim.
	r.credit("t2", map[int]int64{1: 500, 3: 4000, 4: 1})
	r.revenue(ether(2, 11))
	r.deposit(ether(2, 11))
	r.commit()
	for _, i := range []int{4, 2, 3, 1} {
		if err := r.claim(i); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("Refused", func(t *testing.T) {
		good, err := ClaimOf(r.proof(3))
		if err != nil {
			t.Fatal(err)
		}
		old, err := ClaimOf(stale)
		if err != nil {
			t.Fatal(err)
		}
		plus1 := good
		plus1.Cumulative = new(big.Int).Add(good.Cumulative, big.NewInt(1))
		other := good
		other.Account = common.HexToAddress(contributor(0))
		flipped := good
		flipped.Proof = tamper(good.Proof)
		for name, c := range map[string]Claim{"AmountPlus1": plus1, "OtherAccount": other, "FlippedProof": flipped, "StaleEpoch": old} {
			if _, _, err := r.vault.Claim(r.ctx, r.e.key, c); !errors.Is(err, ErrInvalidProof) {
				t.Errorf("%s: %v, want ErrInvalidProof", name, err)
			}
			if _, err := r.vault.Claimable(r.ctx, c); !errors.Is(err, ErrInvalidProof) {
				t.Errorf("%s claimable: %v, want ErrInvalidProof", name, err)
			}
		}
		r.checkVault()
	})

	// Epoch 3: revenue only, far above what is deposited: a claim above
	// what the vault holds is refused whole (nothing paid) until the
	// revenue is deposited; smaller ones are paid (revenueRig.claim knows
	// which is which).
	r.revenue(ether(50, 13))
	r.commit()
	t.Run("ErrVaultShort", func(t *testing.T) {
		short := 0
		for _, i := range []int{4, 3, 2, 1, 0} {
			if err := r.claim(i); errors.Is(err, ErrVaultShort) {
				short++
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if short < 3 {
			t.Fatalf("%d claims refused for the vault's shortfall, want the 3 largest", short)
		}
	})
	r.deposit(ether(50, 13))
	for _, i := range []int{0, 3} {
		if err := r.claim(i); err != nil {
			t.Fatal(err)
		}
	}

	// Epoch 4: more credit, small revenue with dust.
	r.credit("t4", map[int]int64{0: 777, 2: 3})
	r.revenue(big.NewInt(1_000_003))
	r.commit()
	r.settle(5)
	t.Logf("4 epochs: revenue %s wei, paid %s, dust %s", r.split.revenue, r.paidAll, r.split.carry)
}

// TestRevenueClaimsProperty plays random epochs on the embedded chain:
// random credit (changing shares), random revenue, random deposits (at
// times short of what is owed) and random claims in random order. After
// every step the vault has paid out no more than was deposited, and
// every claim paid exactly what the split model owes (or was refused,
// whole, for the vault's shortfall); at the end, with everything
// deposited, each owner has been paid exactly the sum of their per-epoch
// floors with the dust carried.
func TestRevenueClaimsProperty(t *testing.T) {
	e := newEnv(t)
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 99))
			r := newRevenueRig(t, e, fmt.Sprint("property-", seed))
			const owners = 6
			for epoch := 1; epoch <= 5; epoch++ {
				amounts := map[int]int64{}
				for i := range owners {
					if epoch == 1 && i == 0 || rng.IntN(2) == 0 {
						amounts[i] = 1 + rng.Int64N(1<<50)
					}
				}
				if len(amounts) > 0 {
					r.credit(fmt.Sprint("t", epoch), amounts)
				}
				r.revenue(new(big.Int).Add(big.NewInt(1), new(big.Int).Mul(big.NewInt(rng.Int64N(1<<40)), big.NewInt(1+rng.Int64N(1<<20)))))
				r.commit()
				// Deposit between nothing and all of the revenue not yet
				// deposited.
				if short := new(big.Int).Sub(r.split.revenue, r.deposits); short.Sign() > 0 && rng.IntN(4) > 0 {
					part := new(big.Int).Mul(short, big.NewInt(1+rng.Int64N(1000)))
					r.deposit(part.Div(part, big.NewInt(1000)).Add(part, big.NewInt(1)))
				}
				for _, i := range rng.Perm(owners) {
					if rng.IntN(3) > 0 && r.split.earned[contributor(i)] != nil {
						if err := r.claim(i); err != nil && !errors.Is(err, ErrNothingToClaim) && !errors.Is(err, ErrVaultShort) {
							t.Fatal(err)
						}
					}
				}
			}
			r.settle(owners)
			t.Logf("claims: %v; revenue %s wei, dust %s", r.outcomes, r.split.revenue, r.split.carry)
		})
	}
}
