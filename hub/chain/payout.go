package chain

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/internal/ethaddr"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// Payouts: what the hub serves around the vault so that a contributor
// can see and claim its earnings without running an Ethereum node.
//
//	GET  /api/v1/earnings?address=0x…  every model's owed, claimed and claimable wei
//	POST /api/v1/claim {model, address}  the hub sends the claim and pays its gas
//
// The claim pays the address in the proof, never the caller, so anyone
// may ask the hub to relay anyone's claim. A claim is sent only when the
// contract would pay something (it is simulated first), so relaying costs
// the hub at most one transaction per owner, model and epoch; with a
// relay minimum it relays only claims that pay at least that much (an
// owner of less claims through its own node, tessera-edge claim
// --chain-rpc). The proofs are the proof endpoint's
// (Proofs.LatestEarnings).

// Models lists the models that have epochs (hub/ledger's EpochModels).
type Models interface {
	EpochModels(ctx context.Context) ([]string, error)
}

// Payouts serves the earnings and relay endpoints.
type Payouts struct {
	proofs *Proofs
	models Models
	vault  *Vault
	key    *ecdsa.PrivateKey // pays the relayed claims' gas
	// RelayMinWei, if positive, is the least claim the hub relays: below
	// it the gas would cost the hub more than the claim is worth.
	RelayMinWei *big.Int

	// The vaults' totals at the latest block read: every earnings request
	// needs them for every model, and they change only with a block.
	mu     sync.Mutex
	totals map[[32]byte]vaultTotals
}

// vaultTotals is one model's vault as of one block.
type vaultTotals struct {
	block              uint64
	deposited, claimed *big.Int
}

// relayWait bounds how long a relayed claim waits to be mined.
const relayWait = 2 * time.Minute

// NewPayouts returns the payout endpoints over the proofs, the
// ledger's models and the vault; key sends relayed claims.
func NewPayouts(proofs *Proofs, models Models, vault *Vault, key *ecdsa.PrivateKey) *Payouts {
	return &Payouts{proofs: proofs, models: models, vault: vault, key: key}
}

// Routes registers the endpoints.
func (p *Payouts) Routes(handle func(string, http.Handler)) {
	handle("GET /api/v1/earnings", http.HandlerFunc(p.serveEarnings))
	handle("POST /api/v1/claim", http.HandlerFunc(p.serveClaim))
}

// ModelEarnings is one model's line of GET /api/v1/earnings.
type ModelEarnings struct {
	Model        string `json:"model"`
	Epoch        uint64 `json:"epoch"`
	OwedWei      string `json:"owed_wei"`      // cumulative earnings as of the latest committed epoch
	ClaimedWei   string `json:"claimed_wei"`   // paid to the address so far
	ClaimableWei string `json:"claimable_wei"` // owed − claimed
	// VaultWei is what the model's vault holds for claims; a claim larger
	// than it waits for deposits.
	VaultWei     string `json:"vault_wei"`
	DepositedWei string `json:"deposited_wei"`
}

func (p *Payouts) serveEarnings(w http.ResponseWriter, r *http.Request) {
	account, err := ethaddr.Parse(r.URL.Query().Get("address"))
	if err != nil {
		httpjson.Errorf(w, http.StatusBadRequest, "%v", err)
		return
	}
	models, err := p.models.EpochModels(r.Context())
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
		return
	}
	// Every figure is read as of one block, so that they agree with each
	// other: the account's claimed per model, and the vaults' totals
	// (cached per block).
	head, err := p.vault.Head(r.Context())
	if err != nil {
		httpjson.Errorf(w, http.StatusBadGateway, "%v", err)
		return
	}
	out := []ModelEarnings{}
	for _, m := range models {
		ep, err := p.proofs.LatestEarnings(r.Context(), m, account)
		if errors.Is(err, ErrNoProof) {
			continue
		}
		if err != nil {
			httpjson.Errorf(w, http.StatusInternalServerError, "%v", err)
			return
		}
		id := ModelID(m)
		claimed, err := p.vault.ClaimedAt(r.Context(), id, account.Common(), head)
		if err != nil {
			httpjson.Errorf(w, http.StatusBadGateway, "%v", err)
			return
		}
		t, err := p.vaultTotals(r.Context(), id, head)
		if err != nil {
			httpjson.Errorf(w, http.StatusBadGateway, "%v", err)
			return
		}
		owed := ep.CumulativeEarnings.Big()
		claimable := new(big.Int).Sub(owed, claimed)
		if claimable.Sign() < 0 {
			claimable.SetInt64(0)
		}
		out = append(out, ModelEarnings{Model: m, Epoch: ep.Epoch, OwedWei: owed.String(), ClaimedWei: claimed.String(),
			ClaimableWei: claimable.String(), VaultWei: new(big.Int).Sub(t.deposited, t.claimed).String(), DepositedWei: t.deposited.String()})
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"address": account, "models": out})
}

// vaultTotals returns model's vault totals as of block, read once per
// block and model. An older block's request reads the chain (the cache
// only moves forward).
func (p *Payouts) vaultTotals(ctx context.Context, model [32]byte, block *big.Int) (vaultTotals, error) {
	p.mu.Lock()
	t, ok := p.totals[model]
	p.mu.Unlock()
	if ok && t.block == block.Uint64() {
		return t, nil
	}
	d, c, err := p.vault.Totals(ctx, model, block)
	if err != nil {
		return vaultTotals{}, err
	}
	fresh := vaultTotals{block: block.Uint64(), deposited: d, claimed: c}
	p.mu.Lock()
	if p.totals == nil {
		p.totals = map[[32]byte]vaultTotals{}
	}
	if cur, ok := p.totals[model]; !ok || cur.block < fresh.block {
		p.totals[model] = fresh
	}
	p.mu.Unlock()
	return fresh, nil
}

// ClaimResult is the answer to POST /api/v1/claim.
type ClaimResult struct {
	Model   string          `json:"model"`
	Address ethaddr.Address `json:"address"`
	PaidWei string          `json:"paid_wei"`
	TxHash  string          `json:"tx_hash"`
	Block   uint64          `json:"block"`
}

func (p *Payouts) serveClaim(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Model   string `json:"model"`
		Address string `json:"address"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Model == "" {
		httpjson.Errorf(w, http.StatusBadRequest, "want {\"model\": \"job ID\", \"address\": \"0x…\"}")
		return
	}
	account, err := ethaddr.Parse(body.Address)
	if err != nil {
		httpjson.Errorf(w, http.StatusBadRequest, "%v", err)
		return
	}
	ep, err := p.proofs.LatestEarnings(r.Context(), body.Model, account)
	if errors.Is(err, ErrNoProof) {
		httpjson.Errorf(w, http.StatusNotFound, "%v", err)
		return
	} else if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "%v", err)
		return
	}
	c, err := ClaimOf(ep)
	if err != nil {
		httpjson.Errorf(w, http.StatusInternalServerError, "%v", err)
		return
	}
	// Sending is serialized with the hub's other transactions (sendMu);
	// the receipt is awaited for at most relayWait, holding no lock.
	ctx, cancel := context.WithTimeout(r.Context(), relayWait)
	defer cancel()
	if p.RelayMinWei != nil && p.RelayMinWei.Sign() > 0 {
		amount, err := p.vault.Claimable(ctx, c)
		if err != nil && !errors.Is(err, ErrInvalidProof) {
			httpjson.Errorf(w, http.StatusBadGateway, "claim: %v", err)
			return
		}
		if err == nil && amount.Sign() > 0 && amount.Cmp(p.RelayMinWei) < 0 {
			httpjson.Errorf(w, http.StatusConflict, "%s wei is claimable, less than the %s wei this hub relays at the least: "+
				"wait until more accrues, or send the claim through your own node (tessera-edge claim --chain-rpc URL)", amount, p.RelayMinWei)
			return
		}
	}
	paid, rcpt, err := p.vault.Claim(ctx, p.key, c)
	switch {
	case errors.Is(err, ErrNothingToClaim), errors.Is(err, ErrVaultShort), errors.Is(err, ErrInvalidProof):
		httpjson.Errorf(w, http.StatusConflict, "%v", err)
		return
	case err != nil:
		httpjson.Errorf(w, http.StatusBadGateway, "claim: %v", err)
		return
	}
	httpjson.Write(w, http.StatusOK, ClaimResult{Model: body.Model, Address: account, PaidWei: paid.String(),
		TxHash: rcpt.TxHash.Hex(), Block: rcpt.BlockNumber.Uint64()})
}

// ErrUnknownModel is what a deposit's known check returns, wrapped, for a
// model the hub knows nothing of.
var ErrUnknownModel = errors.New("unknown model")

// DepositHandler serves the operator's POST /api/v1/admin/deposit
// {model, wei}: the hub's key funds the model's vault (on the embedded
// chain the operator's ether; on a real chain the operator may as well
// call deposit from any wallet). known, when not nil, refuses a model the
// hub knows nothing of (404): ether in a misspelt model's vault could
// never be claimed.
func DepositHandler(vault *Vault, key *ecdsa.PrivateKey, known func(ctx context.Context, model string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model string `json:"model"`
			Wei   string `json:"wei"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.Model == "" {
			httpjson.Errorf(w, http.StatusBadRequest, "want {\"model\": \"job ID\", \"wei\": \"decimal\"}")
			return
		}
		wei, ok := new(big.Int).SetString(body.Wei, 10)
		if !ok || wei.Sign() <= 0 {
			httpjson.Errorf(w, http.StatusBadRequest, "wei %q is not a positive whole number", body.Wei)
			return
		}
		if known != nil {
			if err := known(r.Context(), body.Model); errors.Is(err, ErrUnknownModel) {
				httpjson.Errorf(w, http.StatusNotFound, "%v", err)
				return
			} else if err != nil {
				httpjson.Errorf(w, http.StatusInternalServerError, "%v", err)
				return
			}
		}
		rcpt, err := vault.Deposit(r.Context(), key, ModelID(body.Model), wei)
		if err != nil {
			httpjson.Errorf(w, http.StatusBadGateway, "%v", err)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"model": body.Model, "deposited_wei": wei.String(), "tx_hash": rcpt.TxHash.Hex()})
	})
}
