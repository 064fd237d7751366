//go:build !js

package hubapi

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/internal/ethaddr"
	"github.com/tessera-ai/tessera/internal/rpcdial"
)

// Proof is the hub's answer to GET /api/v1/proof: a contributor's
// cumulative verified credit in one model as of one committed epoch (the
// latest unless asked for another), with its Merkle proof and where the
// root was committed. Addresses print EIP-55 checksummed.
type Proof struct {
	Model     string          `json:"model"`
	ModelID   hexutil.Bytes   `json:"modelId"`   // keccak256 of Model's UTF-8 bytes
	ModelIDOf string          `json:"modelIdOf"` // how ModelID is derived, in words
	Epoch     uint64          `json:"epoch"`
	Address   ethaddr.Address `json:"address"`
	Amount    string          `json:"amount"` // decimal FLOPs
	Unit      string          `json:"unit"`
	// LeafEncoding is the leaf's ABI types, ["address", "uint256"]
	// (@openzeppelin/merkle-tree's StandardMerkleTree).
	LeafEncoding []string        `json:"leafEncoding"`
	Leaf         hexutil.Bytes   `json:"leaf"`
	Proof        []hexutil.Bytes `json:"proof"`
	Root         hexutil.Bytes   `json:"root"`
	Total        string          `json:"total"` // the model's total, decimal FLOPs
	Contributors int             `json:"contributors"`
	Contract     ethaddr.Address `json:"contract"`
	ChainID      string          `json:"chainId"` // decimal
	TxHash       hexutil.Bytes   `json:"txHash"`
	Block        uint64          `json:"block"`
}

// Proof fetches address's proof in model's latest committed epoch. The
// hub answers 404 (see IsNotFound) when the model has no committed epoch
// or the address no credit in it.
func (a *API) Proof(ctx context.Context, model, address string) (*Proof, error) {
	return a.ProofAt(ctx, model, address, 0)
}

// ProofAt fetches address's proof in model's committed epoch (0: the
// latest). The hub answers 404 for an epoch it has not committed.
func (a *API) ProofAt(ctx context.Context, model, address string, epoch uint64) (*Proof, error) {
	addr, err := ethaddr.Parse(address)
	if err != nil {
		return nil, err
	}
	q := url.Values{"model": {model}, "address": {addr.Hex()}}
	if epoch > 0 {
		q.Set("epoch", strconv.FormatUint(epoch, 10))
	}
	var p Proof
	if err := a.get(ctx, "/api/v1/proof?"+q.Encode(), &p); err != nil {
		return nil, err
	}
	if p.Model != model || p.Address != addr || (epoch > 0 && p.Epoch != epoch) {
		return nil, fmt.Errorf("the hub answered with the proof of %s in %q epoch %d, not of %s in %q", p.Address, p.Model, p.Epoch, addr, model)
	}
	if _, err := p.amount(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Share is the proof's amount over the model's total, from 0 to 1.
func (p *Proof) Share() float64 {
	a, _ := new(big.Float).SetString(p.Amount)
	t, _ := new(big.Float).SetString(p.Total)
	if a == nil || t == nil || t.Sign() <= 0 {
		return 0
	}
	f, _ := new(big.Float).Quo(a, t).Float64()
	return f
}

func (p *Proof) amount() (*big.Int, error) {
	n, ok := new(big.Int).SetString(p.Amount, 10)
	if !ok || n.Sign() < 0 {
		return nil, fmt.Errorf("the proof's amount %q is not a non-negative decimal integer", p.Amount)
	}
	return n, nil
}

// Verdict is what the contract says about a proof.
type Verdict struct {
	// Valid is the contract's verify(...) answer, and false when the
	// proof cannot be what it claims (another chain, another model ID).
	Valid bool
	// Reason says why a proof is not valid.
	Reason string
	// ChainID is the chain the RPC endpoint serves.
	ChainID *big.Int
	// Root is the root the contract holds for the proof's model and epoch
	// (zero if none).
	Root common.Hash
}

// Check verifies p with the contract's verify view through the Ethereum
// JSON-RPC endpoint rpcURL (the hub's read-only proxy,
// HUB/api/v1/chain/rpc, or any node of the same chain). It recomputes the
// model ID rather than trusting the hub's, and checks that the endpoint
// serves the chain the proof names and that a contract exists at its
// address. The returned error is for failures to ask (unreachable node,
// malformed proof); an answer of "not valid" is a Verdict. Errors and
// reasons name only the endpoint's scheme and host: an RPC URL may hold
// an API key.
func Check(ctx context.Context, rpcURL string, p *Proof) (Verdict, error) {
	return CheckWith(ctx, nil, rpcURL, p)
}

// CheckWith is Check with the HTTP client hc (nil: a default one) for an
// http(s) endpoint, e.g. an API's HTTP to reach a hub whose certificate
// is signed by a private CA.
func CheckWith(ctx context.Context, hc *http.Client, rpcURL string, p *Proof) (Verdict, error) {
	amount, err := p.amount()
	if err != nil {
		return Verdict{}, err
	}
	proof := make([][32]byte, len(p.Proof))
	for i, h := range p.Proof {
		if len(h) != 32 {
			return Verdict{}, fmt.Errorf("proof element %d is %d bytes, not 32", i, len(h))
		}
		proof[i] = [32]byte(h)
	}
	client, err := rpcdial.Dial(ctx, rpcURL, hc)
	if err != nil {
		return Verdict{}, err
	}
	defer client.Close()
	var v Verdict
	if v.ChainID, err = client.ChainID(ctx); err != nil {
		return Verdict{}, fmt.Errorf("chain ID from %s: %w", rpcdial.Public(rpcURL), err)
	}
	if v.ChainID.String() != p.ChainID {
		v.Reason = fmt.Sprintf("%s serves chain %s, the proof is for chain %s", rpcdial.Public(rpcURL), v.ChainID, p.ChainID)
		return v, nil
	}
	code, err := client.CodeAt(ctx, p.Contract.Common(), nil)
	if err != nil {
		return Verdict{}, fmt.Errorf("code at %s: %w", p.Contract.Hex(), err)
	}
	if len(code) == 0 {
		v.Reason = fmt.Sprintf("there is no contract at %s on chain %s", p.Contract.Hex(), v.ChainID)
		return v, nil
	}
	id := crypto.Keccak256Hash([]byte(p.Model))
	if !bytes.Equal(p.ModelID, id[:]) {
		v.Reason = fmt.Sprintf("the hub's model ID %s is not keccak256(%q) = %s", p.ModelID, p.Model, id.Hex())
		return v, nil
	}
	if len(p.LeafEncoding) > 0 && !slices.Equal(p.LeafEncoding, []string{"address", "uint256"}) {
		v.Reason = fmt.Sprintf("the hub names leaf encoding %q; the contract verifies [address uint256] leaves", p.LeafEncoding)
		return v, nil
	}
	credits := bindings.NewTesseraCredits()
	inst := credits.Instance(client, p.Contract.Common())
	opts := &bind.CallOpts{Context: ctx}
	info, err := bind.Call(inst, opts, credits.PackEpochInfo(id, p.Epoch), credits.UnpackEpochInfo)
	if err != nil {
		return Verdict{}, fmt.Errorf("call epochInfo on %s: %w", p.Contract.Hex(), err)
	}
	v.Root = info.Root
	ok, err := bind.Call(inst, opts, credits.PackVerify(id, p.Epoch, p.Address.Common(), amount, proof), credits.UnpackVerify)
	if err != nil {
		return Verdict{}, fmt.Errorf("call verify on %s: %w", p.Contract.Hex(), err)
	}
	switch {
	case ok:
		v.Valid = true
	case v.Root == (common.Hash{}):
		v.Reason = fmt.Sprintf("the contract holds no root for %q epoch %d", p.Model, p.Epoch)
	case !bytes.Equal(v.Root[:], p.Root):
		v.Reason = fmt.Sprintf("the contract's root for epoch %d is %s, the hub's %s", p.Epoch, v.Root.Hex(), p.Root)
	default:
		v.Reason = "the proof does not lead from this address and amount to the committed root"
	}
	return v, nil
}
