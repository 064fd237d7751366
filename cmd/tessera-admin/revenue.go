package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"net/http"
)

func revenueCommand() *command {
	return &command{
		name:    "revenue",
		summary: "Models' metered revenue, and deposits into their on-chain vaults.",
		details: `Revenue is what the completions API's keys were charged. Each epoch it is
split among a model's owners by their credit share, and each owner claims its
share from the contract's vault (tessera-edge claim, or the page's Claim button)
once the operator has deposited it.`,
		subs: []*command{
			{name: "list", summary: "Metered requests, tokens and revenue per model (needs no token).", setup: leaf(revenueList)},
			{name: "record", summary: "Record revenue a model earned outside the API (split at the next epoch).", setup: revenueRecord},
			{name: "deposit", summary: "Fund a model's vault from the hub's key (the embedded chain's ether).", setup: revenueDeposit},
		},
	}
}

func revenueList(ctx context.Context, a *app, _ []string) error {
	var out struct {
		Models []struct {
			Model            string `json:"model"`
			Requests         int64  `json:"requests"`
			PromptTokens     int64  `json:"prompt_tokens"`
			CompletionTokens int64  `json:"completion_tokens"`
			RevenueWei       string `json:"revenue_wei"`
		} `json:"models"`
	}
	raw, err := a.getJSON(ctx, "/api/v1/usage", false, &out)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	if len(out.Models) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no metered usage yet")
		return err
	}
	t := newTable(a.stdout, "MODEL", "REQUESTS", "PROMPT TOKENS", "COMPLETION TOKENS", "REVENUE (WEI)")
	for _, m := range out.Models {
		t.row(m.Model, m.Requests, m.PromptTokens, m.CompletionTokens, m.RevenueWei)
	}
	return t.flush()
}

// revenueDeposit funds a model's vault: POST /api/v1/admin/deposit.
func revenueDeposit(fs *flag.FlagSet) runFunc {
	return revenuePost(fs, "/api/v1/admin/deposit", "whose vault to fund", false, func(a *app, model string, out map[string]any) error {
		_, err := fmt.Fprintf(a.stdout, "deposited %v wei for %s (transaction %v)\n", out["deposited_wei"], model, out["tx_hash"])
		return err
	})
}

// revenueRecord records revenue earned outside the API: POST
// /api/v1/admin/revenue.
func revenueRecord(fs *flag.FlagSet) runFunc {
	return revenuePost(fs, "/api/v1/admin/revenue", "that earned it", true, func(a *app, model string, out map[string]any) error {
		_, err := fmt.Fprintf(a.stdout, "recorded %v wei of revenue for %s; it is split among the owners at the next epoch\n", out["recorded_wei"], model)
		return err
	})
}

// revenuePost is a command that posts {model, wei[, note]} to path and
// prints the answer with done (or as JSON with --json).
func revenuePost(fs *flag.FlagSet, path, role string, withNote bool, done func(a *app, model string, out map[string]any) error) runFunc {
	model := fs.String("model", "", "the model (a job's ID) "+role+" (required); the hub refuses a model it does not know, and answers a job's name with its ID")
	wei := fs.String("wei", "", "the amount in wei (required)")
	var note *string
	if withNote {
		note = fs.String("note", "", "where it came from, kept in the ledger")
	}
	return func(ctx context.Context, a *app, _ []string) error {
		if *model == "" {
			return usageErrorf("--model is required")
		}
		if w, ok := new(big.Int).SetString(*wei, 10); !ok || w.Sign() <= 0 {
			return usageErrorf("--wei %q is not a positive whole number of wei", *wei)
		}
		// Money is sent to exactly the model named: a name is not resolved
		// here (job names are free text; one could be "matmul").
		req := map[string]string{"model": *model, "wei": *wei}
		if note != nil {
			req["note"] = *note
		}
		body, _ := json.Marshal(req)
		var out map[string]any
		raw, err := a.doJSON(ctx, http.MethodPost, path, body, true, &out)
		if err != nil {
			return err
		}
		if a.opts.json {
			return a.printRaw(raw)
		}
		return done(a, *model, out)
	}
}
