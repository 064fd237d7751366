package chain

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub/chain/merkle"
)

// TestProofHandlerEpochsConcurrently asks for proofs of seven committed
// epochs (more than the older trees kept) and of the latest, from eight
// goroutines at once: every answer is the epoch asked for and verifies
// against its root, and the cache of older trees stays bounded.
func TestProofHandlerEpochsConcurrently(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	const epochs, people = 7, 20
	roots := map[uint64][32]byte{}
	for e := uint64(1); e <= epochs; e++ {
		credit(t, l, "m", fmt.Sprint("t", e), people, int64(e))
		s, err := l.Snapshot(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		tree, err := Tree(s.Leaves)
		if err != nil {
			t.Fatal(err)
		}
		tx := [32]byte{byte(e)}
		if err := l.PrepareEpoch(ctx, s, tree.Root(), earningsRoot(t, s)); err != nil {
			t.Fatal(err)
		}
		if err := l.MarkSent(ctx, "m", e, tx); err != nil {
			t.Fatal(err)
		}
		if err := l.MarkCommitted(ctx, "m", e, tx, e); err != nil {
			t.Fatal(err)
		}
		roots[e] = tree.Root()
	}
	h := ProofHandler(l, common.Address{1}, big.NewInt(1337))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 100 {
				who, epoch := r.IntN(people), uint64(r.IntN(epochs+1)) // 0: the latest
				q := fmt.Sprintf("model=m&address=%s", contributor(who))
				if epoch > 0 {
					q += fmt.Sprintf("&epoch=%d", epoch)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/proof?"+q, nil))
				var p Proof
				if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &p) != nil {
					t.Errorf("%s: %d %s", q, w.Code, w.Body)
					return
				}
				want := epoch
				if want == 0 {
					want = epochs
				}
				// Contributor i was credited e·(i+1) in epoch e, so holds
				// (i+1)·e(e+1)/2 as of epoch e.
				amount := big.NewInt(int64(who+1) * int64(want*(want+1)/2))
				proof := make([][32]byte, len(p.Proof))
				for i := range p.Proof {
					copy(proof[i][:], p.Proof[i])
				}
				if p.Epoch != want || p.Amount.Big().Cmp(amount) != 0 ||
					!merkle.Verify(roots[want], merkle.Entry{Account: p.Address.Common(), Amount: amount}, proof) {
					t.Errorf("%s: epoch %d amount %s, want epoch %d amount %s, verifying against its root", q, p.Epoch, p.Amount, want, amount)
					return
				}
			}
		}()
	}
	wg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.older) > maxOlderTrees || h.latest["m"] == nil || h.latest["m"].epoch.Epoch != epochs {
		t.Errorf("cache: %d older trees (at most %d), latest %+v", len(h.older), maxOlderTrees, h.latest["m"])
	}
}
