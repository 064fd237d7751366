package service

import (
	"net/http"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/internal/flop"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// routeCredits serves the ledger's public reads:
//
//	GET /api/v1/credits                      every model's credit totals
//	GET /api/v1/credits/{model}              balances per contributor, in FLOPs
//
// Amounts are exact FLOP counts as JSON decimal strings (they pass 2^53,
// where JavaScript numbers stop being exact); addresses are checksummed.
//
//	GET /api/v1/contributors/{address}/credits     one contributor's credit and share per model
//	GET /api/v1/contributors/{address}/decisions   why results were refused, strikes, bans
func routeCredits(handle func(string, http.Handler), led *ledger.Ledger) {
	handle("GET /api/v1/credits", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ms, err := led.ModelCredits(r.Context())
		if err != nil {
			httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"unit": "FLOP", "models": ms})
	}))
	handle("GET /api/v1/contributors/{address}/credits", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := r.PathValue("address")
		if !common.IsHexAddress(a) {
			httpjson.Errorf(w, http.StatusBadRequest, "not an Ethereum address: %q", a)
			return
		}
		addr := common.HexToAddress(a).Hex()
		cs, err := led.ContributorCredits(r.Context(), addr)
		if err != nil {
			httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
			return
		}
		type modelShare struct {
			ledger.ContributorCredit
			Share float64 `json:"share"` // verified over the model's verified total
		}
		out := make([]modelShare, len(cs))
		for i, c := range cs {
			out[i] = modelShare{c, flop.Ratio(c.Verified, c.ModelVerified)}
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"address": addr, "unit": "FLOP", "models": out})
	}))
	handle("GET /api/v1/credits/{model}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bs, err := led.Balances(r.Context(), r.PathValue("model"))
		if err != nil {
			httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"model": r.PathValue("model"), "unit": "FLOP", "balances": bs})
	}))
	handle("GET /api/v1/contributors/{address}/decisions", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := r.PathValue("address")
		if !common.IsHexAddress(a) {
			httpjson.Errorf(w, http.StatusBadRequest, "not an Ethereum address: %q", a)
			return
		}
		ds, err := led.Decisions(r.Context(), common.HexToAddress(a).Hex(), 100)
		if err != nil {
			httpjson.Errorf(w, http.StatusInternalServerError, "cannot read the ledger")
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"address": common.HexToAddress(a).Hex(), "decisions": ds})
	}))
}
