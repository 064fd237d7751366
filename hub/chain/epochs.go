package chain

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/ethaddr"
	"github.com/tessera-ai/tessera/internal/flop"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// EpochStore is what the epoch listings read (a *ledger.Ledger).
type EpochStore interface {
	EpochModels(ctx context.Context) ([]string, error)
	Epochs(ctx context.Context, model string, limit int) ([]ledger.Epoch, error)
	EpochAt(ctx context.Context, model string, n uint64) (ledger.Epoch, error)
}

// EpochJSON is one epoch as the API shows it.
type EpochJSON struct {
	Model        string         `json:"model"`
	ModelID      hexutil.Bytes  `json:"modelId"`
	Epoch        uint64         `json:"epoch"`
	Root         hexutil.Bytes  `json:"root"`
	Total        flop.Amount    `json:"total"` // decimal FLOPs
	Contributors int            `json:"contributors"`
	State        string         `json:"state"`            // prepared, sent or committed
	TxHash       *hexutil.Bytes `json:"txHash,omitempty"` // once sent
	Block        uint64         `json:"block,omitempty"`  // once committed
	PreparedAt   *time.Time     `json:"preparedAt,omitempty"`
	SentAt       *time.Time     `json:"sentAt,omitempty"`
	CommittedAt  *time.Time     `json:"committedAt,omitempty"`
	// Revenue stamped with the epoch, dust carried into the next, and
	// the earnings tree (decimal wei); no earningsRoot for an epoch
	// prepared before revenue was metered.
	Revenue       ledger.Wei     `json:"revenue"`
	Dust          ledger.Wei     `json:"dust"`
	EarningsRoot  *hexutil.Bytes `json:"earningsRoot,omitempty"`
	EarningsTotal ledger.Wei     `json:"earningsTotal"`
}

// NewEpochJSON converts a stored epoch for the API.
func NewEpochJSON(e ledger.Epoch) EpochJSON {
	id := ModelID(e.Model)
	out := EpochJSON{
		Model: e.Model, ModelID: id[:], Epoch: e.Epoch, Root: e.Root[:], Total: e.Total,
		Contributors: e.Contributors, State: string(e.State), Block: e.Block,
		PreparedAt: optTime(e.PreparedAt), SentAt: optTime(e.SentAt), CommittedAt: optTime(e.CommittedAt),
	}
	if e.TxHash != ([32]byte{}) {
		h := hexutil.Bytes(e.TxHash[:])
		out.TxHash = &h
	}
	out.Revenue, out.Dust, out.EarningsTotal = e.Revenue, e.Dust, e.EarningsTotal
	if e.EarningsRoot != ([32]byte{}) {
		h := hexutil.Bytes(e.EarningsRoot[:])
		out.EarningsRoot = &h
	}
	return out
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// maxEpochList bounds one listing.
const maxEpochList = 1000

// EpochsHandler serves
//
//	GET /api/v1/epochs?model=ID&limit=N   epochs newest first (every model's without model)
//	GET /api/v1/epochs/{model}/{epoch}    one epoch
//
// with the contract's address and chain ID, so a reader can look each
// commit up on-chain.
func EpochsHandler(store EpochStore, contract common.Address, chainID *big.Int) (list, one http.Handler) {
	chainIDs, addr := chainID.String(), ethaddr.Address(contract)
	list = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k := range r.URL.Query() {
			if k != "model" && k != "limit" {
				httpjson.Errorf(w, http.StatusBadRequest, "unknown parameter %q: /api/v1/epochs takes model, limit", truncate(k))
				return
			}
		}
		limit := 50
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > maxEpochList {
				httpjson.Errorf(w, http.StatusBadRequest, "limit must be an integer from 1 to %d, got %q", maxEpochList, s)
				return
			}
			limit = n
		}
		models := []string{r.URL.Query().Get("model")}
		if models[0] == "" {
			var err error
			if models, err = store.EpochModels(r.Context()); err != nil {
				httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
				return
			}
		}
		out := []EpochJSON{}
		for _, m := range models {
			es, err := store.Epochs(r.Context(), m, limit)
			if err != nil {
				httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
				return
			}
			for _, e := range es {
				out = append(out, NewEpochJSON(e))
			}
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"contract": addr, "chainId": chainIDs, "epochs": out})
	})
	one = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseUint(r.PathValue("epoch"), 10, 63) // SQLite integers: at most 2^63-1
		if err != nil || n == 0 {
			httpjson.Errorf(w, http.StatusBadRequest, "epoch must be a positive integer below 2^63, got %q", r.PathValue("epoch"))
			return
		}
		e, err := store.EpochAt(r.Context(), r.PathValue("model"), n)
		if errors.Is(err, ledger.ErrNoEpoch) {
			httpjson.Errorf(w, http.StatusNotFound, "model %q has no epoch %d", r.PathValue("model"), n)
			return
		}
		if err != nil {
			httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
			return
		}
		httpjson.Write(w, http.StatusOK, NewEpochJSON(e))
	})
	return list, one
}
