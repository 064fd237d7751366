//go:build !js

package hubapi

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tessera-ai/tessera/contracts/bindings"
	"github.com/tessera-ai/tessera/internal/ethaddr"
	"github.com/tessera-ai/tessera/internal/rpcdial"
)

// Earnings: an owner's share of a model's revenue, and its claim from
// the contract's vault (tessera-edge claim).

// ModelEarnings is one model's line of GET /api/v1/earnings (wei,
// decimal).
type ModelEarnings struct {
	Model        string `json:"model"`
	Epoch        uint64 `json:"epoch"`
	OwedWei      string `json:"owed_wei"`
	ClaimedWei   string `json:"claimed_wei"`
	ClaimableWei string `json:"claimable_wei"`
	VaultWei     string `json:"vault_wei"`
	DepositedWei string `json:"deposited_wei"`
}

// Earnings returns address's earnings in every model with a committed
// earnings epoch.
func (a *API) Earnings(ctx context.Context, address string) ([]ModelEarnings, error) {
	var out struct {
		Models []ModelEarnings `json:"models"`
	}
	err := a.get(ctx, "/api/v1/earnings?address="+url.QueryEscape(address), &out)
	return out.Models, err
}

// ClaimResult is what a relayed claim paid.
type ClaimResult struct {
	Model   string `json:"model"`
	Address string `json:"address"`
	PaidWei string `json:"paid_wei"`
	TxHash  string `json:"tx_hash"`
	Block   uint64 `json:"block"`
}

// RelayClaim asks the hub to send address's claim in model (the hub pays
// the gas; the vault pays address). A claim with nothing left to pay is a
// 409 *Error.
func (a *API) RelayClaim(ctx context.Context, model, address string) (ClaimResult, error) {
	body, _ := json.Marshal(map[string]string{"model": model, "address": address})
	var out ClaimResult
	err := a.do(ctx, http.MethodPost, "/api/v1/claim", body, &out)
	return out, err
}

// EarningsProof is the part of GET /api/v1/proof?kind=earnings a claim
// needs.
type EarningsProof struct {
	Model              string          `json:"model"`
	ModelID            hexutil.Bytes   `json:"modelId"`
	Epoch              uint64          `json:"epoch"`
	Address            ethaddr.Address `json:"address"`
	CumulativeEarnings string          `json:"cumulativeEarnings"`
	Proof              []hexutil.Bytes `json:"proof"`
	Contract           ethaddr.Address `json:"contract"`
	ChainID            string          `json:"chainId"`
}

// EarningsProofOf fetches address's earnings proof in model's latest
// committed epoch.
func (a *API) EarningsProofOf(ctx context.Context, model, address string) (*EarningsProof, error) {
	q := url.Values{"model": {model}, "address": {address}, "kind": {"earnings"}}
	var p EarningsProof
	if err := a.get(ctx, "/api/v1/proof?"+q.Encode(), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ErrNothingToClaim: the vault already paid everything the proof states.
var ErrNothingToClaim = errors.New("nothing to claim")

// SendClaim claims p from its contract through the node at rpcURL,
// signed (and its gas paid) by key, and waits until it is mined. It
// returns the wei paid to p's address. The claim is simulated first: a
// claim the contract would refuse sends nothing.
func SendClaim(ctx context.Context, hc *http.Client, rpcURL string, key *ecdsa.PrivateKey, p *EarningsProof) (*big.Int, common.Hash, error) {
	cum, ok := new(big.Int).SetString(p.CumulativeEarnings, 10)
	if !ok || cum.Sign() < 0 {
		return nil, common.Hash{}, fmt.Errorf("the hub's cumulative earnings %q are not an amount of wei", p.CumulativeEarnings)
	}
	if me := crypto.PubkeyToAddress(key.PublicKey); p.Address.Common() != me {
		return nil, common.Hash{}, fmt.Errorf("the hub's proof is for %s, not this key's address %s", p.Address, me.Hex())
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	id := crypto.Keccak256Hash([]byte(p.Model))
	if string(p.ModelID) != string(id[:]) {
		return nil, common.Hash{}, fmt.Errorf("the hub's model ID %s is not keccak256(%q)", p.ModelID, p.Model)
	}
	proof := make([][32]byte, len(p.Proof))
	for i, h := range p.Proof {
		if len(h) != 32 {
			return nil, common.Hash{}, fmt.Errorf("proof element %d is %d bytes, not 32", i, len(h))
		}
		proof[i] = [32]byte(h)
	}
	client, err := rpcdial.Dial(ctx, rpcURL, hc)
	if err != nil {
		return nil, common.Hash{}, err
	}
	defer client.Close()
	chainID, err := client.ChainID(ctx)
	if err != nil {
		return nil, common.Hash{}, fmt.Errorf("chain ID from %s: %w", rpcdial.Public(rpcURL), err)
	}
	if chainID.String() != p.ChainID {
		return nil, common.Hash{}, fmt.Errorf("%s serves chain %s, the proof is for chain %s", rpcdial.Public(rpcURL), chainID, p.ChainID)
	}
	credits := bindings.NewTesseraCredits()
	inst := credits.Instance(client, p.Contract.Common())
	paid, err := bind.Call(inst, &bind.CallOpts{Context: ctx}, credits.PackClaimed(id, p.Address.Common()), credits.UnpackClaimed)
	if err != nil {
		return nil, common.Hash{}, fmt.Errorf("read what was claimed: %w", err)
	}
	if paid.Cmp(cum) >= 0 {
		return nil, common.Hash{}, fmt.Errorf("%w: %s wei owed, %s wei paid", ErrNothingToClaim, cum, paid)
	}
	opts := bind.NewKeyedTransactor(key, chainID)
	opts.Context = ctx
	tx, err := bind.Transact(inst, opts, credits.PackClaim(id, p.Address.Common(), cum, proof))
	if err != nil {
		return nil, common.Hash{}, fmt.Errorf("claim: %w", err)
	}
	for {
		r, err := client.TransactionReceipt(ctx, tx.Hash())
		if err == nil {
			if r.Status != types.ReceiptStatusSuccessful {
				return nil, tx.Hash(), fmt.Errorf("claim %s reverted", tx.Hash())
			}
			for _, l := range r.Logs {
				if l.Address != p.Contract.Common() {
					continue
				}
				if ev, err := credits.UnpackClaimedEvent(l); err == nil {
					return ev.Amount, tx.Hash(), nil
				}
			}
			return nil, tx.Hash(), fmt.Errorf("claim %s mined without a Claimed event", tx.Hash())
		}
		select {
		case <-ctx.Done():
			return nil, tx.Hash(), ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
