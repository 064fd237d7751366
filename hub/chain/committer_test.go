package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/tessera-ai/tessera/hub/ledger"
)

// run starts c.Run until the test ends.
func run(tb testing.TB, c *Committer) context.CancelFunc {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
	return cancel
}

func (e *env) committer(store Store, backend Backend) *Committer {
	if store == nil {
		store = e.ledger
	}
	if backend == nil {
		backend = e.client
	}
	return NewCommitter(backend, e.key, e.contract, store, Config{Interval: time.Hour, ReceiptTimeout: 2 * time.Second, Durable: e.durable})
}

// checkEpoch checks that the contract holds the ledger's epoch of model,
// committed, and that every leaf's proof verifies through the contract.
func (e *env) checkEpoch(t *testing.T, model string, epoch uint64) ledger.Epoch {
	t.Helper()
	ctx := testContext(t)
	v := e.view(t)
	if got := v.latest(model); got != epoch {
		t.Fatalf("contract's latest epoch of %s: %d, want %d", model, got, epoch)
	}
	le, ok, err := e.ledger.LatestCommitted(ctx, model)
	if err != nil || !ok || le.Epoch != epoch {
		t.Fatalf("ledger's latest committed epoch of %s: %+v %v %v", model, le, ok, err)
	}
	info := v.info(model, epoch)
	if info.Root != le.Root || info.Total.Cmp(le.Total.Big()) != 0 || int(info.Contributors) != le.Contributors {
		t.Fatalf("contract holds %+v, ledger %+v", info, le)
	}
	r, err := e.client.TransactionReceipt(ctx, le.TxHash)
	if err != nil || r.BlockNumber.Uint64() != le.Block {
		t.Fatalf("receipt of the recorded transaction: %v %v (recorded block %d)", r, err, le.Block)
	}
	leaves, err := e.ledger.Leaves(ctx, model, epoch)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Tree(leaves)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range leaves {
		proof := tree.ProofAt(i)
		if !v.verify(model, epoch, l.Address, l.Amount.Big(), proof) {
			t.Fatalf("proof of %s refused", l.Address)
		}
		if v.verify(model, epoch, l.Address, new(big.Int).Add(l.Amount.Big(), big.NewInt(1)), proof) {
			t.Fatalf("tampered amount of %s accepted", l.Address)
		}
		if v.verify(model, epoch, l.Address, l.Amount.Big(), tamper(proof)) {
			t.Fatalf("tampered proof of %s accepted", l.Address)
		}
	}
	return le
}

// tamper returns a copy of proof with one bit flipped, or with an extra
// node if it is empty (a tree of one leaf).
func tamper(proof [][32]byte) [][32]byte {
	out := append([][32]byte(nil), proof...)
	if len(out) == 0 {
		return [][32]byte{{1}}
	}
	out[len(out)/2][7] ^= 0x10
	return out
}

// TestProofsThroughContract commits models of 1 to 1,000 contributors on
// the embedded chain and checks every contributor's proof through the
// contract, and that a tampered amount or proof is refused (checkEpoch).
func TestProofsThroughContract(t *testing.T) {
	e := newEnv(t)
	c := e.committer(nil, nil)
	run(t, c)
	sizes := []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 255, 256, 257, 1000}
	for _, n := range sizes {
		credit(t, e.ledger, fmt.Sprint("size-", n), fmt.Sprint("t", n), n, 3)
	}
	if err := c.CommitNow(testContext(t)); err != nil {
		t.Fatal(err)
	}
	for _, n := range sizes {
		le := e.checkEpoch(t, fmt.Sprint("size-", n), 1)
		if le.Contributors != n || le.Total != fl(uint64(3*n*(n+1)/2)) {
			t.Fatalf("%d contributors: epoch %+v", n, le)
		}
	}
}

func (v *contractView) verify(model string, epoch uint64, addr string, amount *big.Int, proof [][32]byte) bool {
	v.tb.Helper()
	ok, err := bind.Call(v.instance, &bind.CallOpts{Context: v.ctx},
		v.credits.PackVerify(ModelID(model), epoch, common.HexToAddress(addr), amount, proof), v.credits.UnpackVerify)
	if err != nil {
		v.tb.Fatal(err)
	}
	return ok
}

// commits counts the EpochCommitted events of model at epoch.
func (e *env) commits(t *testing.T, model string, epoch uint64) int {
	t.Helper()
	v := e.view(t)
	logs, err := e.client.FilterLogs(testContext(t), ethereum.FilterQuery{
		FromBlock: big.NewInt(0), Addresses: []common.Address{e.contract},
		Topics: [][]common.Hash{{v.credits.GetABI().Events["EpochCommitted"].ID}, {ModelID(model)}, {common.BigToHash(new(big.Int).SetUint64(epoch))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(logs)
}

func TestCommitter(t *testing.T) {
	e := newEnv(t)
	ctx := testContext(t)
	c := e.committer(nil, nil)
	run(t, c)
	credit(t, e.ledger, "mnist", "t1", 50, 1000)
	credit(t, e.ledger, "other", "o1", 3, 7)
	start := time.Now()
	if err := c.CommitNow(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("first round (2 models) in %v", time.Since(start))
	e.checkEpoch(t, "mnist", 1)
	e.checkEpoch(t, "other", 1)

	t.Run("NothingNew", func(t *testing.T) {
		if err := c.CommitNow(ctx); err != nil {
			t.Fatal(err)
		}
		e.checkEpoch(t, "mnist", 1)
	})
	t.Run("Cumulative", func(t *testing.T) {
		credit(t, e.ledger, "mnist", "t2", 60, 1)
		if err := c.CommitNow(ctx); err != nil {
			t.Fatal(err)
		}
		le := e.checkEpoch(t, "mnist", 2)
		if le.Contributors != 60 || le.Total != fl(1000*50*51/2+60*61/2) {
			t.Fatalf("epoch 2: %+v", le)
		}
		e.checkEpoch(t, "other", 1)
	})
	t.Run("ProofHandler", func(t *testing.T) {
		srv := httptest.NewServer(ProofHandler(e.ledger, e.contract, e.node.ChainID()))
		defer srv.Close()
		get := func(query string) (*http.Response, Proof) {
			resp, err := http.Get(srv.URL + "/api/v1/proof?" + query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p Proof
			json.NewDecoder(resp.Body).Decode(&p)
			return resp, p
		}
		resp, p := get("model=mnist&address=" + contributor(7))
		if resp.StatusCode != http.StatusOK || p.Epoch != 2 || p.Amount != fl(8008) || p.Contract.Common() != e.contract || p.ChainID != "1337" {
			t.Fatalf("%d %+v", resp.StatusCode, p)
		}
		proof := make([][32]byte, len(p.Proof))
		for i := range p.Proof {
			copy(proof[i][:], p.Proof[i])
		}
		if !e.view(t).verify("mnist", p.Epoch, p.Address.Hex(), big.NewInt(8008), proof) {
			t.Fatal("the served proof does not verify through the contract")
		}
		// An older epoch's proof, asked for by number and with the
		// address in lower case: the contract keeps every root.
		resp, p = get("model=mnist&epoch=1&address=" + strings.ToLower(contributor(7)))
		if resp.StatusCode != http.StatusOK || p.Epoch != 1 || p.Amount != fl(8000) || p.Address.Hex() != contributor(7) {
			t.Fatalf("epoch 1: %d %+v", resp.StatusCode, p)
		}
		proof = make([][32]byte, len(p.Proof))
		for i := range p.Proof {
			copy(proof[i][:], p.Proof[i])
		}
		if !e.view(t).verify("mnist", 1, p.Address.Hex(), big.NewInt(8000), proof) {
			t.Fatal("the served proof of epoch 1 does not verify through the contract")
		}
		if e.view(t).verify("mnist", 2, p.Address.Hex(), big.NewInt(8000), proof) {
			t.Fatal("epoch 1's proof verifies against epoch 2")
		}
		c7 := contributor(7)
		for _, tc := range []struct {
			name, query string
			code        int
		}{
			{"BadAddress", "model=mnist&address=0x12", http.StatusBadRequest},
			{"NoModel", "address=" + contributor(1), http.StatusBadRequest},
			{"UnknownAddress", "model=mnist&address=0x00000000000000000000000000000000000000aa", http.StatusNotFound},
			{"NoEpoch", "model=nope&address=" + contributor(1), http.StatusNotFound},
			{"UnknownEpoch", "model=mnist&epoch=3&address=" + c7, http.StatusNotFound},
			{"EpochZero", "model=mnist&epoch=0&address=" + c7, http.StatusBadRequest},
			{"EpochNotANumber", "model=mnist&epoch=latest&address=" + c7, http.StatusBadRequest},
			{"UnknownParameter", "model=mnist&epochs=1&address=" + c7, http.StatusBadRequest},
			{"RepeatedParameter", "model=mnist&epoch=1&epoch=2&address=" + c7, http.StatusBadRequest},
			{"AddressWithoutPrefix", "model=mnist&address=" + c7[2:], http.StatusBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if resp, _ := get(tc.query); resp.StatusCode != tc.code {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.code)
				}
			})
		}
	})
}

// crashStore fails MarkCommitted: the process "dies" after the commit
// transaction was sent, before its receipt was recorded.
type crashStore struct{ Store }

var errCrash = errors.New("crash")

func (crashStore) MarkCommitted(context.Context, string, uint64, [32]byte, uint64) error {
	return errCrash
}

// crashBackend fails SendTransaction: the process "dies" after recording
// the transaction's hash, before the node got it.
type crashBackend struct{ Backend }

func (crashBackend) SendTransaction(context.Context, *types.Transaction) error { return errCrash }

func TestCommitterReconciles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		store   func(Store) Store
		backend func(Backend) Backend
	}{
		{"CrashAfterSend", func(s Store) Store { return crashStore{s} }, nil},
		{"CrashBeforeBroadcast", nil, func(b Backend) Backend { return crashBackend{b} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := testContext(t)
			credit(t, e.ledger, "m", "t1", 5, 10)
			var store Store = e.ledger
			var backend Backend = e.client
			if tc.store != nil {
				store = tc.store(store)
			}
			if tc.backend != nil {
				backend = tc.backend(backend)
			}
			crashing := e.committer(store, backend)
			if err := crashing.round(ctx); !errors.Is(err, errCrash) {
				t.Fatalf("crashing round: %v", err)
			}
			le, _, _ := e.ledger.LatestEpoch(ctx, "m")
			if le.State != ledger.EpochSent {
				t.Fatalf("after the crash the epoch is %s, want sent", le.State)
			}
			credit(t, e.ledger, "m", "t2", 5, 1) // credit arriving meanwhile waits for epoch 2

			// The restarted committer reconciles at once.
			c := e.committer(nil, nil)
			run(t, c)
			deadline := time.Now().Add(time.Minute)
			for {
				le, _, _ = e.ledger.LatestEpoch(ctx, "m")
				if le.Epoch == 2 && le.State == ledger.EpochCommitted {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("epoch after restart: %+v", le)
				}
				time.Sleep(20 * time.Millisecond)
			}
			e.checkEpoch(t, "m", 2)
			for epoch := uint64(1); epoch <= 2; epoch++ {
				if n := e.commits(t, "m", epoch); n != 1 {
					t.Fatalf("epoch %d committed %d times", epoch, n)
				}
			}
			es, _ := e.ledger.Epochs(ctx, "m", 0)
			if len(es) != 2 || es[1].Total != fl(150) || es[0].Total != fl(165) {
				t.Fatalf("epochs %+v", es)
			}
		})
	}
}
