package chain

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/tessera-ai/tessera/hub/chain/merkle"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// ProofStore is the ledger's side of serving proofs (hub/ledger).
type ProofStore interface {
	LatestCommitted(ctx context.Context, model string) (ledger.Epoch, bool, error)
	Leaves(ctx context.Context, model string, epoch uint64) ([]ledger.Leaf, error)
}

// Proof is the body of GET /api/v1/proof: everything a contributor needs
// to check their credit against the contract, verify(modelId, epoch,
// address, amount, proof), without trusting the hub.
type Proof struct {
	Model        string          `json:"model"`
	ModelID      hexutil.Bytes   `json:"modelId"` // keccak256 of model
	Epoch        uint64          `json:"epoch"`
	Address      common.Address  `json:"address"`
	Amount       string          `json:"amount"` // cumulative verified credit, decimal FLOPs
	Unit         string          `json:"unit"`
	Proof        []hexutil.Bytes `json:"proof"`
	Root         hexutil.Bytes   `json:"root"`
	Total        string          `json:"total"` // the model's total, decimal FLOPs
	Contributors int             `json:"contributors"`
	Contract     common.Address  `json:"contract"`
	ChainID      string          `json:"chainId"` // decimal
	TxHash       hexutil.Bytes   `json:"txHash"`
	Block        uint64          `json:"block"`
}

// ProofHandler serves GET /api/v1/proof?model=ID&address=0x...: the
// contributor's proof in model's latest committed epoch. It keeps the
// tree of each model's latest committed epoch, so a request costs a
// lookup, not a build.
func ProofHandler(store ProofStore, contract common.Address, chainID *big.Int) http.Handler {
	return &proofHandler{store: store, contract: contract, chainID: new(big.Int).Set(chainID), trees: map[string]*epochTree{}}
}

type proofHandler struct {
	store    ProofStore
	contract common.Address
	chainID  *big.Int

	mu    sync.Mutex
	trees map[string]*epochTree // model → its latest committed epoch's tree
}

type epochTree struct {
	epoch  ledger.Epoch
	once   sync.Once
	tree   *merkle.Tree
	leaves []ledger.Leaf // as given to the tree: the tree's entry i is leaves[i]
	err    error
}

func (h *proofHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	model, addr := r.URL.Query().Get("model"), r.URL.Query().Get("address")
	if model == "" {
		httpjson.Errorf(w, http.StatusBadRequest, "missing model: /api/v1/proof?model=ID&address=0x...")
		return
	}
	if !common.IsHexAddress(addr) {
		httpjson.Errorf(w, http.StatusBadRequest, "not an Ethereum address: %q", addr)
		return
	}
	account := common.HexToAddress(addr)
	e, ok, err := h.store.LatestCommitted(r.Context(), model)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
		return
	}
	if !ok {
		httpjson.Errorf(w, http.StatusNotFound, "model %q has no epoch committed on-chain yet", model)
		return
	}
	t, err := h.tree(r.Context(), e)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot build the tree of epoch %d", e.Epoch)
		return
	}
	i, ok := t.tree.Index(account)
	if !ok {
		httpjson.Errorf(w, http.StatusNotFound, "%s has no verified credit in %q as of epoch %d", account.Hex(), model, e.Epoch)
		return
	}
	proof := t.tree.ProofAt(i)
	id := ModelID(model)
	p := Proof{
		Model: model, ModelID: id[:], Epoch: e.Epoch, Address: account, Unit: "FLOP",
		Proof: make([]hexutil.Bytes, len(proof)), Root: e.Root[:], Total: strconv.FormatInt(e.Total, 10),
		Contributors: e.Contributors, Contract: h.contract, ChainID: h.chainID.String(), TxHash: e.TxHash[:], Block: e.Block,
	}
	for k := range proof {
		p.Proof[k] = proof[k][:]
	}
	p.Amount = strconv.FormatInt(t.leaves[i].Amount, 10)
	httpjson.Write(w, http.StatusOK, p)
}

// tree returns the tree of e, building it once per epoch.
func (h *proofHandler) tree(ctx context.Context, e ledger.Epoch) (*epochTree, error) {
	h.mu.Lock()
	et := h.trees[e.Model]
	if et == nil || et.epoch.Epoch < e.Epoch {
		et = &epochTree{epoch: e}
		h.trees[e.Model] = et
	}
	h.mu.Unlock()
	et.once.Do(func() {
		leaves, err := h.store.Leaves(ctx, e.Model, e.Epoch)
		if err != nil {
			et.err = err
			return
		}
		et.leaves = leaves
		et.tree, et.err = Tree(leaves)
		if et.err == nil && et.tree.Root() != e.Root {
			et.err = errors.New("the stored leaves do not make the committed root")
		}
	})
	if et.err != nil {
		h.mu.Lock()
		if h.trees[e.Model] == et {
			delete(h.trees, e.Model) // try again on the next request
		}
		h.mu.Unlock()
	}
	return et, et.err
}
