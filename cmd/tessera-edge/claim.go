package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"strings"

	"github.com/tessera-ai/tessera/client/hubapi"
	"github.com/tessera-ai/tessera/internal/tlsca"
)

// claimReport is one model's claim, as printed by `tessera-edge claim --json`.
type claimReport struct {
	Model string `json:"model"`
	// Name is the model's job name at the hub ("" when unknown).
	Name    string `json:"name,omitempty"`
	PaidWei string `json:"paid_wei"`
	TxHash  string `json:"tx_hash,omitempty"`
	Note    string `json:"note,omitempty"`
}

// runClaim claims the key's earnings in each model (or --model): through
// the hub, which sends the claim and pays its gas, or with --chain-rpc
// through any Ethereum node, signed and paid for by the key itself. Either
// way the vault pays the key's address. It exits 0 when every claim was
// paid or had nothing left to pay.
func runClaim(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	fl := flag.NewFlagSet("tessera-edge claim", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: tessera-edge claim [flags]\n\nClaims the key's share of each model's revenue from the contract's vault: what its\nlatest earnings proof states minus what was already paid.\n\nFlags:")
		fl.PrintDefaults()
	}
	hub := fl.String("hub", "ws://127.0.0.1:8080/ws", "hub websocket URL (as given to the contributor); its HTTP API serves the earnings")
	keyPath := fl.String("key", defaultKeyPath(), "key file whose earnings to claim")
	model := fl.String("model", "", "model (job ID) to claim in; default every model with earnings")
	rpc := fl.String("chain-rpc", "", "send the claim through this Ethereum JSON-RPC node, signed and paid for by the key (default: the hub relays it and pays the gas)")
	jsonOut := fl.Bool("json", false, "print JSON")
	caCert := fl.String("ca-cert", "", tlsca.Usage)
	if code := parseFlags(fl, args); code >= 0 {
		return code
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "tessera-edge claim: "+format+"\n", args...)
		return code
	}
	api, _, err := hubAPI(*hub, *caCert)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	key, err := loadKey(*keyPath)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	addr := key.Address().Hex()
	ctx, cancel := cancelOnSignal(signals)
	defer cancel()
	earnings, err := api.Earnings(ctx, addr)
	if err != nil {
		return fail(exitFailure, "earnings of %s: %v", addr, err)
	}
	names := jobNames(ctx, api)
	var reports []claimReport
	failed := false
	for _, e := range earnings {
		if *model != "" && e.Model != *model {
			continue
		}
		r := claimReport{Model: e.Model, Name: names[e.Model], PaidWei: "0"}
		if c, ok := new(big.Int).SetString(e.ClaimableWei, 10); ok && c.Sign() == 0 {
			r.Note = "nothing to claim: " + e.ClaimedWei + " wei already paid of " + e.OwedWei
		} else if *rpc == "" {
			res, err := api.RelayClaim(ctx, e.Model, addr)
			var herr *hubapi.Error
			switch {
			case errors.As(err, &herr) && herr.Status == http.StatusConflict:
				// Nothing left to pay is fine; a vault short of deposits
				// or a stale proof is a failure, as with --chain-rpc.
				r.Note = herr.Message
				failed = failed || !strings.Contains(herr.Message, "nothing to claim")
			case err != nil:
				return fail(exitFailure, "claim in %q: %v", e.Model, err)
			default:
				r.PaidWei, r.TxHash = res.PaidWei, res.TxHash
			}
		} else {
			p, err := api.EarningsProofOf(ctx, e.Model, addr)
			if err != nil {
				return fail(exitFailure, "earnings proof in %q: %v", e.Model, err)
			}
			paid, tx, err := hubapi.SendClaim(ctx, api.HTTP, *rpc, key.PrivateKey(), p)
			switch {
			case errors.Is(err, hubapi.ErrNothingToClaim):
				r.Note = err.Error()
			case err != nil:
				r.Note, failed = err.Error(), true
			default:
				r.PaidWei, r.TxHash = paid.String(), tx.Hex()
			}
		}
		reports = append(reports, r)
		if !*jsonOut {
			if r.TxHash != "" {
				fmt.Fprintf(stdout, "%s: paid %s wei to %s (transaction %s)\n", label(r.Model, r.Name), r.PaidWei, addr, r.TxHash)
			} else {
				fmt.Fprintf(stdout, "%s: %s\n", label(r.Model, r.Name), r.Note)
			}
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"address": addr, "claims": reports})
	} else if len(reports) == 0 {
		fmt.Fprintf(stdout, "%s has no earnings committed on-chain yet\n", addr)
	}
	if failed {
		return exitFailure
	}
	return exitOK
}
