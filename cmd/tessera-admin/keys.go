package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"time"
)

// apiKey is an inference API key (hub/service's KeyJSON).
type apiKey struct {
	Name             string     `json:"name"`
	PricePer1KWei    string     `json:"price_per_1k_tokens_wei"`
	RateLimit        int        `json:"rate_limit_per_minute"`
	CreatedAt        time.Time  `json:"created_at"`
	RevokedAt        *time.Time `json:"revoked_at"`
	Requests         int64      `json:"requests"`
	PromptTokens     int64      `json:"prompt_tokens"`
	CompletionTokens int64      `json:"completion_tokens"`
	Wei              string     `json:"wei"`
	Key              string     `json:"key"`
}

func keysCommand() *command {
	return &command{
		name:    "keys",
		summary: "API keys of the OpenAI-compatible completions API: create, list, revoke.",
		details: `Clients send a key as "Authorization: Bearer KEY" to the hub's /v1 API.
Every request is metered in tokens and priced at its key's price; the
revenue of each model is split among its owners (RATIONALE.md).`,
		subs: []*command{
			{name: "create", summary: "Create a key and print its token (shown once: the hub stores only a hash).",
				setup: keysCreate},
			{name: "list", summary: "List the keys with their price, limit and usage.", setup: leaf(keysList)},
			{name: "revoke", args: []string{"NAME"}, summary: "Revoke a key (within seconds, the hub refuses it).", setup: leaf(keysRevoke)},
		},
	}
}

func keysCreate(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the key's name (letters, digits, '.', '_', '-'; required)")
	price := fs.String("price-per-1k-tokens", "0", "price in wei per 1,000 tokens (prompt and completion)")
	rate := fs.Int("rate-limit", 60, "requests per minute (0: unlimited)")
	return func(ctx context.Context, a *app, _ []string) error {
		if *name == "" {
			return usageErrorf("--name is required")
		}
		if p, ok := new(big.Int).SetString(*price, 10); !ok || p.Sign() < 0 {
			return usageErrorf("--price-per-1k-tokens %q is not a whole number of wei", *price)
		}
		if *rate < 0 {
			return usageErrorf("--rate-limit %d is negative", *rate)
		}
		body, _ := json.Marshal(map[string]any{"name": *name, "price_per_1k_tokens_wei": *price, "rate_limit_per_minute": *rate})
		var out apiKey
		raw, err := a.doJSON(ctx, http.MethodPost, "/api/v1/admin/keys", body, true, &out)
		if err != nil {
			return err
		}
		if a.opts.json {
			return a.printRaw(raw)
		}
		_, err = fmt.Fprintf(a.stdout, "created key %s (%s wei per 1k tokens, %s)\n%s\n\nKeep the key: it is not shown again.\n",
			out.Name, out.PricePer1KWei, rateText(out.RateLimit), out.Key)
		return err
	}
}

func rateText(n int) string {
	if n == 0 {
		return "no rate limit"
	}
	return fmt.Sprintf("%d requests/min", n)
}

func keysList(ctx context.Context, a *app, _ []string) error {
	var out struct {
		Keys []apiKey `json:"keys"`
	}
	raw, err := a.getJSON(ctx, "/api/v1/admin/keys", true, &out)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	if len(out.Keys) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no API key; create one with 'keys create --name NAME'")
		return err
	}
	t := newTable(a.stdout, "NAME", "WEI/1K TOKENS", "LIMIT", "REQUESTS", "TOKENS", "WEI", "CREATED", "STATE")
	for _, k := range out.Keys {
		state := "valid"
		if k.RevokedAt != nil {
			state = "revoked " + ago(*k.RevokedAt)
		}
		t.row(k.Name, k.PricePer1KWei, rateText(k.RateLimit), k.Requests, k.PromptTokens+k.CompletionTokens, k.Wei, ago(k.CreatedAt), state)
	}
	return t.flush()
}

func keysRevoke(ctx context.Context, a *app, args []string) error {
	var out struct{}
	raw, err := a.doJSON(ctx, http.MethodPost, "/api/v1/admin/keys/"+url.PathEscape(args[0])+"/revoke", nil, true, &out)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	_, err = fmt.Fprintf(a.stdout, "revoked key %s\n", args[0])
	return err
}
