package chain

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/tessera-ai/tessera/contracts/bindings"
)

// Errors of claims: the contract's refusals, decoded. A refused claim
// sends no transaction (it is simulated first).
var (
	// ErrInvalidProof: the proof is not of the model's latest committed
	// earnings tree (fetch a fresh one: a newer epoch may have landed).
	ErrInvalidProof = errors.New("chain: proof not in the model's latest earnings tree")
	// ErrNothingToClaim: everything the proof states was already paid.
	ErrNothingToClaim = errors.New("chain: nothing to claim")
	// ErrVaultShort: the model's vault holds less than the claim is owed
	// (nothing is paid until enough is deposited).
	ErrVaultShort = errors.New("chain: the model's vault holds less than is owed")
)

// Claim is one claim's arguments: the contract's claim(model, account,
// cumulativeEarnings, proof).
type Claim struct {
	Model      [32]byte // the model's ID on-chain (ModelID)
	Account    common.Address
	Cumulative *big.Int // cumulative earnings, wei
	Proof      [][32]byte
}

// ClaimOf returns the claim an earnings proof (GET
// /api/v1/proof?kind=earnings) allows.
func ClaimOf(p EarningsProof) (Claim, error) {
	if p.Kind != KindEarnings {
		return Claim{}, fmt.Errorf("claim: a %q proof, not an earnings proof", p.Kind)
	}
	id := ModelID(p.Model)
	if !bytes.Equal(p.ModelID, id[:]) {
		return Claim{}, fmt.Errorf("claim: model ID %x is not keccak256(%q)", []byte(p.ModelID), p.Model)
	}
	c := Claim{Model: id, Account: p.Address.Common(), Cumulative: p.CumulativeEarnings.Big(), Proof: make([][32]byte, len(p.Proof))}
	for i, h := range p.Proof {
		if len(h) != 32 {
			return Claim{}, fmt.Errorf("claim: proof element %d has %d bytes, not 32", i, len(h))
		}
		copy(c.Proof[i][:], h)
	}
	return c, nil
}

// Vault is the payout side of a TesseraCredits contract: deposits of a
// model's revenue, and owners' claims of their cumulative earnings.
// tessera-edge claim and the hub's relay send claims through it.
type Vault struct {
	backend  Backend
	contract common.Address
	credits  *bindings.TesseraCredits
	instance *bind.BoundContract
	// Poll is how often a receipt is polled for.
	Poll time.Duration
}

// NewVault returns the vault of the contract at address.
func NewVault(backend Backend, contract common.Address) *Vault {
	credits := bindings.NewTesseraCredits()
	return &Vault{backend: backend, contract: contract, credits: credits, instance: credits.Instance(backend, contract), Poll: 100 * time.Millisecond}
}

// Deposit sends wei from key into model's vault and waits until it is
// mined.
func (v *Vault) Deposit(ctx context.Context, key *ecdsa.PrivateKey, model [32]byte, wei *big.Int) (*types.Receipt, error) {
	opts, err := v.transactor(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("deposit: %w", err)
	}
	opts.Value = wei
	sendMu.Lock()
	tx, err := bind.Transact(v.instance, opts, v.credits.PackDeposit(model))
	sendMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("deposit: %w", v.decode(err))
	}
	return v.mined(ctx, tx, "deposit")
}

// SendClaim signs c from key (anyone may claim for anyone: the value goes
// to c.Account, key pays the gas) and sends it, without waiting. The call
// is simulated first: a claim the contract would refuse fails with
// ErrInvalidProof, ErrNothingToClaim or ErrVaultShort and sends nothing.
func (v *Vault) SendClaim(ctx context.Context, key *ecdsa.PrivateKey, c Claim) (*types.Transaction, error) {
	opts, err := v.transactor(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	sendMu.Lock()
	tx, err := bind.Transact(v.instance, opts, v.credits.PackClaim(c.Model, c.Account, c.Cumulative, c.Proof))
	sendMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("claim for %s: %w", c.Account, v.decode(err))
	}
	return tx, nil
}

// Claim sends c (SendClaim), waits until it is mined and returns the wei
// paid to c.Account.
func (v *Vault) Claim(ctx context.Context, key *ecdsa.PrivateKey, c Claim) (paid *big.Int, r *types.Receipt, err error) {
	tx, err := v.SendClaim(ctx, key, c)
	if err != nil {
		return nil, nil, err
	}
	if r, err = v.mined(ctx, tx, "claim"); err != nil {
		return nil, r, err
	}
	for _, l := range r.Logs {
		if ev, err := v.credits.UnpackClaimedEvent(l); err == nil && l.Address == v.contract {
			return ev.Amount, r, nil
		}
	}
	return nil, r, fmt.Errorf("claim %s: mined without a Claimed event", tx.Hash())
}

// Claimable returns what c would pay now: its cumulative earnings minus
// what c.Account was already paid (0 if nothing is left), once c's proof
// verifies against the model's latest committed earnings tree
// (ErrInvalidProof otherwise). Whether the vault holds enough is
// Available's question.
func (v *Vault) Claimable(ctx context.Context, c Claim) (*big.Int, error) {
	opts := &bind.CallOpts{Context: ctx}
	latest, err := bind.Call(v.instance, opts, v.credits.PackLatestEpoch(c.Model), v.credits.UnpackLatestEpoch)
	if err != nil {
		return nil, fmt.Errorf("claimable: latest epoch: %w", err)
	}
	ok, err := bind.Call(v.instance, opts, v.credits.PackVerifyEarnings(c.Model, latest, c.Account, c.Cumulative, c.Proof), v.credits.UnpackVerifyEarnings)
	if err != nil {
		return nil, fmt.Errorf("claimable: verify: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("claimable for %s at epoch %d: %w", c.Account, latest, ErrInvalidProof)
	}
	paid, err := v.Claimed(ctx, c.Model, c.Account)
	if err != nil {
		return nil, err
	}
	if paid.Cmp(c.Cumulative) >= 0 {
		return new(big.Int), nil
	}
	return paid.Sub(c.Cumulative, paid), nil
}

// Claimed returns what account has been paid from model's vault, in wei.
func (v *Vault) Claimed(ctx context.Context, model [32]byte, account common.Address) (*big.Int, error) {
	return v.ClaimedAt(ctx, model, account, nil)
}

// ClaimedAt is Claimed as of block (nil: the latest).
func (v *Vault) ClaimedAt(ctx context.Context, model [32]byte, account common.Address, block *big.Int) (*big.Int, error) {
	n, err := bind.Call(v.instance, &bind.CallOpts{Context: ctx, BlockNumber: block}, v.credits.PackClaimed(model, account), v.credits.UnpackClaimed)
	if err != nil {
		return nil, fmt.Errorf("read claimed: %w", err)
	}
	return n, nil
}

// Deposited returns everything ever deposited for model, in wei.
func (v *Vault) Deposited(ctx context.Context, model [32]byte) (*big.Int, error) {
	d, _, err := v.totals(ctx, model, nil, true, false)
	return d, err
}

// TotalClaimed returns everything paid from model's vault, in wei.
func (v *Vault) TotalClaimed(ctx context.Context, model [32]byte) (*big.Int, error) {
	_, c, err := v.totals(ctx, model, nil, false, true)
	return c, err
}

// Totals returns everything deposited to and everything claimed from
// model's vault as of block (nil: the latest); what the vault holds for
// claims is their difference.
func (v *Vault) Totals(ctx context.Context, model [32]byte, block *big.Int) (deposited, claimed *big.Int, err error) {
	return v.totals(ctx, model, block, true, true)
}

func (v *Vault) totals(ctx context.Context, model [32]byte, block *big.Int, dep, cl bool) (deposited, claimed *big.Int, err error) {
	opts := &bind.CallOpts{Context: ctx, BlockNumber: block}
	if dep {
		if deposited, err = bind.Call(v.instance, opts, v.credits.PackDeposited(model), v.credits.UnpackDeposited); err != nil {
			return nil, nil, fmt.Errorf("read deposited: %w", err)
		}
	}
	if cl {
		if claimed, err = bind.Call(v.instance, opts, v.credits.PackTotalClaimed(model), v.credits.UnpackTotalClaimed); err != nil {
			return nil, nil, fmt.Errorf("read total claimed: %w", err)
		}
	}
	return deposited, claimed, nil
}

// Available returns what model's vault holds for claims: deposited minus
// claimed.
func (v *Vault) Available(ctx context.Context, model [32]byte) (*big.Int, error) {
	d, c, err := v.Totals(ctx, model, nil)
	if err != nil {
		return nil, err
	}
	return d.Sub(d, c), nil
}

// Head returns the number of the chain's latest block.
func (v *Vault) Head(ctx context.Context) (*big.Int, error) {
	h, err := v.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("latest block: %w", err)
	}
	return h.Number, nil
}

func (v *Vault) transactor(ctx context.Context, key *ecdsa.PrivateKey) (*bind.TransactOpts, error) {
	chainID, err := v.backend.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain ID: %w", err)
	}
	opts := bind.NewKeyedTransactor(key, chainID)
	opts.Context = ctx
	return opts, nil
}

// mined waits for tx's receipt and fails unless it succeeded.
func (v *Vault) mined(ctx context.Context, tx *types.Transaction, what string) (*types.Receipt, error) {
	r, err := waitReceipt(ctx, v.backend, tx.Hash(), v.Poll)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return r, fmt.Errorf("%s: transaction %s reverted", what, tx.Hash())
	}
	return r, nil
}

// decode turns a revert into the contract's error, wrapping the matching
// Err* where there is one.
func (v *Vault) decode(err error) error {
	raw, ok := ethclient.RevertErrorData(err)
	if !ok || len(raw) < 4 {
		return err
	}
	e, uerr := v.credits.UnpackError(raw)
	if uerr != nil {
		return fmt.Errorf("%w (revert data %x)", err, raw)
	}
	switch e := e.(type) {
	case *bindings.TesseraCreditsInvalidProof:
		return fmt.Errorf("%w (model %x, account %s)", ErrInvalidProof, e.Model, e.Account)
	case *bindings.TesseraCreditsNothingToClaim:
		return fmt.Errorf("%w: %s already paid %s of cumulative earnings %s", ErrNothingToClaim, e.Account, e.AlreadyClaimed, e.CumulativeEarnings)
	case *bindings.TesseraCreditsVaultShort:
		return fmt.Errorf("%w: owed %s, available %s", ErrVaultShort, e.Owed, e.Available)
	default:
		return fmt.Errorf("reverted: %T%+v", e, e)
	}
}
