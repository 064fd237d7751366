package service

import (
	"encoding/json"
	"net/http"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub/ledger"
)

// routeCredits serves the ledger's public reads:
//
//	GET /api/v1/credits/{model}              balances per contributor, in FLOPs
//	GET /api/v1/contributors/{address}/decisions   why results were refused, strikes, bans
func routeCredits(handle func(string, http.Handler), led *ledger.Ledger) {
	handle("GET /api/v1/credits/{model}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bs, err := led.Balances(r.Context(), r.PathValue("model"))
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot read the ledger"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"model": r.PathValue("model"), "unit": "FLOP", "balances": bs})
	}))
	handle("GET /api/v1/contributors/{address}/decisions", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := r.PathValue("address")
		if !common.IsHexAddress(a) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "not an Ethereum address: " + a})
			return
		}
		ds, err := led.Decisions(r.Context(), common.HexToAddress(a).Hex(), 100)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot read the ledger"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"address": common.HexToAddress(a).Hex(), "decisions": ds})
	}))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
