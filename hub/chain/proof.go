package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/tessera-ai/tessera/hub/chain/merkle"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/ethaddr"
	"github.com/tessera-ai/tessera/internal/flop"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// ProofStore is the ledger's side of serving proofs (hub/ledger).
type ProofStore interface {
	LatestCommitted(ctx context.Context, model string) (ledger.Epoch, bool, error)
	EpochAt(ctx context.Context, model string, n uint64) (ledger.Epoch, error)
	Leaves(ctx context.Context, model string, epoch uint64) ([]ledger.Leaf, error)
}

// What a proof states about its tree, for checkers that use no Tessera
// code (README: "Check a proof without Tessera").
var (
	// LeafEncoding is the leaf's ABI types, as given to
	// StandardMerkleTree.of(values, LeafEncoding) of @openzeppelin/merkle-tree.
	LeafEncoding = []string{"address", "uint256"}
	// ModelIDDerivation says how the contract's model ID is made from the
	// model's (job's) ID.
	ModelIDDerivation = "keccak256(utf8 bytes of model)"
)

// Proof is the body of GET /api/v1/proof: everything a contributor needs
// to check their credit against the contract, verify(modelId, epoch,
// address, amount, proof), without trusting the hub.
type Proof struct {
	Model   string        `json:"model"`
	ModelID hexutil.Bytes `json:"modelId"` // keccak256 of model's UTF-8 bytes
	// ModelIDOf is ModelIDDerivation.
	ModelIDOf string          `json:"modelIdOf"`
	Epoch     uint64          `json:"epoch"`
	Address   ethaddr.Address `json:"address"` // EIP-55 checksummed
	Amount    flop.Amount     `json:"amount"`  // cumulative verified credit, decimal FLOPs
	Unit      string          `json:"unit"`
	// LeafEncoding is ["address", "uint256"]: the leaf is
	// keccak256(bytes.concat(keccak256(abi.encode(address, amount)))).
	LeafEncoding []string        `json:"leafEncoding"`
	Leaf         hexutil.Bytes   `json:"leaf"` // that leaf hash
	Proof        []hexutil.Bytes `json:"proof"`
	Root         hexutil.Bytes   `json:"root"`
	Total        flop.Amount     `json:"total"` // the model's total, decimal FLOPs
	Contributors int             `json:"contributors"`
	Contract     ethaddr.Address `json:"contract"`
	ChainID      string          `json:"chainId"` // decimal
	TxHash       hexutil.Bytes   `json:"txHash"`
	Block        uint64          `json:"block"`
}

// proofParams are the query parameters GET /api/v1/proof accepts.
var proofParams = []string{"model", "address", "epoch", "kind"}

// Proof kinds: which tree of an epoch a proof is from.
const (
	KindCredit   = "credit"   // (address, cumulative credit): Proof
	KindEarnings = "earnings" // (address, cumulative earnings): EarningsProof
)

// maxOlderTrees bounds the cached trees of epochs older than a model's
// latest committed one: requests for old epochs are rare, and a tree of a
// million contributors takes ~90 MB.
const maxOlderTrees = 4

// ProofHandler serves GET /api/v1/proof?model=ID&address=0x...[&epoch=N][&kind=K]:
// the contributor's proof in model's latest committed epoch, or in
// committed epoch N. kind=credit (the default) proves their cumulative
// credit (the body is a Proof); kind=earnings proves their cumulative
// earnings from the model's revenue (an EarningsProof: everything a
// client needs to call the contract's claim, which accepts only proofs
// of the latest committed epoch, so a claimant asks without epoch=). It
// keeps the trees of each model's latest committed epoch and of a few
// older ones, so a request costs a lookup, not a build.
func ProofHandler(store ProofStore, contract common.Address, chainID *big.Int) *Proofs {
	return &Proofs{store: store, contract: ethaddr.Address(contract), chainID: new(big.Int).Set(chainID), latest: map[string]*epochTree{}}
}

// Proofs serves proofs (ServeHTTP) and gives the hub's own payout
// endpoints the latest earnings proof (LatestEarnings).
type Proofs struct {
	store    ProofStore
	contract ethaddr.Address
	chainID  *big.Int

	mu     sync.Mutex
	latest map[string]*epochTree // model → its latest committed epoch's tree
	older  []*epochTree          // trees of older epochs, least recently used first
}

type epochTree struct {
	epoch  ledger.Epoch
	once   sync.Once
	tree   *merkle.Tree
	leaves []ledger.Leaf // as given to the tree: the tree's entry i is leaves[i]
	err    error

	earnOnce sync.Once
	earnings *merkle.Tree // built from leaves on the first earnings request
	earnErr  error
}

// proofRequest is a checked query of GET /api/v1/proof.
type proofRequest struct {
	model   string
	account ethaddr.Address
	epoch   uint64 // 0: the latest committed
	kind    string // KindCredit or KindEarnings
}

// proofQuery checks the query: known parameters, each at most once.
func proofQuery(q url.Values) (r proofRequest, err error) {
	for k, vs := range q {
		if !slices.Contains(proofParams, k) {
			return r, fmt.Errorf("unknown parameter %q: /api/v1/proof takes %s", truncate(k), strings.Join(proofParams, ", "))
		}
		if len(vs) > 1 {
			return r, fmt.Errorf("parameter %q given %d times", k, len(vs))
		}
	}
	r.model = q.Get("model")
	if r.model == "" {
		return r, errors.New("missing model: /api/v1/proof?model=ID&address=0x...[&epoch=N][&kind=credit|earnings]")
	}
	if r.account, err = ethaddr.Parse(q.Get("address")); err != nil {
		return r, err
	}
	if s, ok := q["epoch"]; ok {
		// Epochs are SQLite integers: at most 2^63-1.
		if r.epoch, err = strconv.ParseUint(s[0], 10, 63); err != nil || r.epoch == 0 {
			return r, fmt.Errorf("epoch must be a positive integer below 2^63, got %q", truncate(s[0]))
		}
	}
	switch r.kind = q.Get("kind"); r.kind {
	case "":
		r.kind = KindCredit
	case KindCredit, KindEarnings:
	default:
		return r, fmt.Errorf("kind must be %s or %s, got %q", KindCredit, KindEarnings, truncate(r.kind))
	}
	return r, nil
}

// proofError is a refusal with the HTTP status it is served with.
type proofError struct {
	status int
	msg    string
}

func (e *proofError) Error() string { return e.msg }

// Is makes every 404 proofError match ErrNoProof.
func (e *proofError) Is(target error) bool {
	return target == ErrNoProof && e.status == http.StatusNotFound
}

// ErrNoProof: no such epoch, or no leaf of the address in it.
var ErrNoProof = errors.New("no proof")

func notFound(format string, args ...any) error {
	return &proofError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

func internal(format string, args ...any) error {
	return &proofError{status: http.StatusInternalServerError, msg: fmt.Sprintf(format, args...)}
}

func writeProofError(w http.ResponseWriter, err error) {
	var pe *proofError
	if errors.As(err, &pe) {
		httpjson.Errorf(w, pe.status, "%s", pe.msg)
		return
	}
	httpjson.Errorf(w, http.StatusInternalServerError, "%v", err)
}

// epoch returns model's committed epoch n, or its latest for n = 0.
func (h *Proofs) epoch(ctx context.Context, model string, n uint64) (ledger.Epoch, error) {
	if n == 0 {
		e, ok, err := h.store.LatestCommitted(ctx, model)
		if err != nil {
			return e, internal("cannot read the ledger")
		}
		if !ok {
			return e, notFound("model %q has no epoch committed on-chain yet", model)
		}
		return e, nil
	}
	e, err := h.store.EpochAt(ctx, model, n)
	if errors.Is(err, ledger.ErrNoEpoch) {
		return e, notFound("model %q has no epoch %d", model, n)
	}
	if err != nil {
		return e, internal("cannot read the ledger")
	}
	if e.State != ledger.EpochCommitted {
		return e, notFound("epoch %d of %q is %s, not committed on-chain yet", n, model, e.State)
	}
	return e, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func (h *Proofs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		httpjson.Errorf(w, http.StatusBadRequest, "malformed query: %v", err)
		return
	}
	req, err := proofQuery(q)
	if err != nil {
		httpjson.Errorf(w, http.StatusBadRequest, "%v", err)
		return
	}
	model, account, n := req.model, req.account, req.epoch
	e, err := h.epoch(r.Context(), model, n)
	if err != nil {
		writeProofError(w, err)
		return
	}
	t, err := h.tree(r.Context(), e)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot build the tree of epoch %d", e.Epoch)
		return
	}
	i, ok := t.tree.Index(account.Common())
	if !ok {
		httpjson.Errorf(w, http.StatusNotFound, "%s has no verified credit in %q as of epoch %d", account, model, e.Epoch)
		return
	}
	if req.kind == KindEarnings {
		latest := n == 0
		if !latest {
			le, ok, err := h.store.LatestCommitted(r.Context(), model)
			if err != nil {
				httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
				return
			}
			latest = ok && le.Epoch == e.Epoch
		}
		p, err := h.earningsProof(t, i, account, latest)
		if err != nil {
			writeProofError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, p)
		return
	}
	amount := t.leaves[i].Amount
	leaf, err := merkle.LeafHash(merkle.Entry{Account: account.Common(), Amount: amount.Big()})
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot hash the leaf of %s", account)
		return
	}
	proof := t.tree.ProofAt(i)
	id := ModelID(model)
	p := Proof{
		Model: model, ModelID: id[:], ModelIDOf: ModelIDDerivation, Epoch: e.Epoch, Address: account, Amount: amount, Unit: "FLOP",
		LeafEncoding: LeafEncoding, Leaf: leaf[:], Proof: make([]hexutil.Bytes, len(proof)), Root: e.Root[:], Total: e.Total,
		Contributors: e.Contributors, Contract: h.contract, ChainID: h.chainID.String(), TxHash: e.TxHash[:], Block: e.Block,
	}
	for k := range proof {
		p.Proof[k] = proof[k][:]
	}
	httpjson.Write(w, http.StatusOK, p)
}

// tree returns the tree of the committed epoch e, building it once.
func (h *Proofs) tree(ctx context.Context, e ledger.Epoch) (*epochTree, error) {
	et := h.cached(e)
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
		h.forget(et) // try again on the next request
	}
	return et, et.err
}

// cached returns the cache's entry for e, adding an empty one if there
// is none: the latest epoch asked for per model stays, and older epochs
// share a small least-recently-used list.
func (h *Proofs) cached(e ledger.Epoch) *epochTree {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.latest[e.Model]
	switch {
	case cur != nil && cur.epoch.Epoch == e.Epoch:
		return cur
	case cur == nil || cur.epoch.Epoch < e.Epoch:
		et := &epochTree{epoch: e}
		h.latest[e.Model] = et
		return et
	}
	for k, et := range h.older {
		if et.epoch.Model == e.Model && et.epoch.Epoch == e.Epoch {
			h.older = append(slices.Delete(h.older, k, k+1), et)
			return et
		}
	}
	et := &epochTree{epoch: e}
	if len(h.older) >= maxOlderTrees {
		h.older = slices.Delete(h.older, 0, 1)
	}
	h.older = append(h.older, et)
	return et
}

// forget drops et from the cache.
func (h *Proofs) forget(et *epochTree) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.latest[et.epoch.Model] == et {
		delete(h.latest, et.epoch.Model)
	}
	h.older = slices.DeleteFunc(h.older, func(o *epochTree) bool { return o == et })
}
