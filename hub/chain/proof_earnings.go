package chain

import (
	"context"
	"errors"

	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/tessera-ai/tessera/hub/chain/merkle"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/ethaddr"
)

// ClaimSignature is the contract function an EarningsProof is for.
const ClaimSignature = "claim(bytes32 model, address account, uint256 cumulativeEarnings, bytes32[] proof)"

// EarningsProof is the body of GET /api/v1/proof?kind=earnings: an owner's
// cumulative earnings from a model's revenue in a committed epoch, with
// everything needed to check it (verifyEarnings) or to claim it: the
// contract's claim(modelId, address, cumulativeEarnings, proof) pays
// cumulativeEarnings minus what the address was already paid, and accepts
// only a proof of the model's latest committed epoch (Latest).
type EarningsProof struct {
	Kind    string        `json:"kind"` // "earnings"
	Model   string        `json:"model"`
	ModelID hexutil.Bytes `json:"modelId"` // keccak256 of model's UTF-8 bytes
	// ModelIDOf is ModelIDDerivation.
	ModelIDOf string          `json:"modelIdOf"`
	Epoch     uint64          `json:"epoch"`
	Latest    bool            `json:"latest"`  // the model's latest committed epoch: claim accepts it
	Address   ethaddr.Address `json:"address"` // EIP-55 checksummed; claim pays this address
	// CumulativeEarnings is the address's share of the model's revenue up
	// to this epoch, in wei (decimal): claim's cumulativeEarnings.
	CumulativeEarnings ledger.Wei `json:"cumulativeEarnings"`
	Unit               string     `json:"unit"` // "wei"
	// LeafEncoding is ["address", "uint256"], as for credit proofs.
	LeafEncoding  []string        `json:"leafEncoding"`
	Leaf          hexutil.Bytes   `json:"leaf"`
	Proof         []hexutil.Bytes `json:"proof"`
	EarningsRoot  hexutil.Bytes   `json:"earningsRoot"`
	EarningsTotal ledger.Wei      `json:"earningsTotal"` // every owner's cumulative earnings, wei
	Contract      ethaddr.Address `json:"contract"`
	ChainID       string          `json:"chainId"` // decimal
	Claim         string          `json:"claim"`   // ClaimSignature
	TxHash        hexutil.Bytes   `json:"txHash"`
	Block         uint64          `json:"block"`
}

// earningsProof returns the earnings proof of the leaf i of t; latest
// says whether t's epoch is the model's latest committed one.
func (h *Proofs) earningsProof(t *epochTree, i int, account ethaddr.Address, latest bool) (EarningsProof, error) {
	e := t.epoch
	if e.EarningsRoot == ([32]byte{}) {
		return EarningsProof{}, notFound("epoch %d of %q has no earnings tree (it predates revenue)", e.Epoch, e.Model)
	}
	tree, err := h.earningsTree(t)
	if err != nil {
		return EarningsProof{}, internal("cannot build the earnings tree of epoch %d", e.Epoch)
	}
	amount := t.leaves[i].Earnings
	leaf, err := merkle.LeafHash(merkle.Entry{Account: account.Common(), Amount: amount.Big()})
	if err != nil {
		return EarningsProof{}, internal("cannot hash the leaf of %s", account)
	}
	proof := tree.ProofAt(i)
	id := ModelID(e.Model)
	p := EarningsProof{
		Kind: KindEarnings, Model: e.Model, ModelID: id[:], ModelIDOf: ModelIDDerivation, Epoch: e.Epoch, Latest: latest,
		Address: account, CumulativeEarnings: amount, Unit: "wei", LeafEncoding: LeafEncoding, Leaf: leaf[:],
		Proof: make([]hexutil.Bytes, len(proof)), EarningsRoot: e.EarningsRoot[:], EarningsTotal: e.EarningsTotal,
		Contract: h.contract, ChainID: h.chainID.String(), Claim: ClaimSignature, TxHash: e.TxHash[:], Block: e.Block,
	}
	for k := range proof {
		p.Proof[k] = proof[k][:]
	}
	return p, nil
}

// LatestEarnings returns account's earnings proof in model's latest
// committed epoch: what GET /api/v1/proof?kind=earnings serves. It fails
// with an error matching ErrNoProof when there is none.
func (h *Proofs) LatestEarnings(ctx context.Context, model string, account ethaddr.Address) (EarningsProof, error) {
	e, err := h.epoch(ctx, model, 0)
	if err != nil {
		return EarningsProof{}, err
	}
	t, err := h.tree(ctx, e)
	if err != nil {
		return EarningsProof{}, internal("cannot build the tree of epoch %d", e.Epoch)
	}
	i, ok := t.tree.Index(account.Common())
	if !ok {
		return EarningsProof{}, notFound("%s has no verified credit in %q as of epoch %d", account, model, e.Epoch)
	}
	return h.earningsProof(t, i, account, true)
}

// earningsTree returns the earnings tree of t's epoch, building it once
// from the leaves the credit tree was built from.
func (h *Proofs) earningsTree(t *epochTree) (*merkle.Tree, error) {
	t.earnOnce.Do(func() {
		t.earnings, t.earnErr = EarningsTree(t.leaves)
		if t.earnErr == nil && t.earnings.Root() != t.epoch.EarningsRoot {
			t.earnErr = errors.New("the stored leaves do not make the committed earnings root")
		}
	})
	if t.earnErr != nil {
		h.forget(t) // try again on the next request
	}
	return t.earnings, t.earnErr
}
