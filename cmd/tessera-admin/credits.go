package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/tessera-ai/tessera/internal/flop"
)

// modelShares is a model's ownership: every contributor's credit and
// share, share = verified / the model's verified total. It is what
// `credits show --json` and `credits export --format json` print.
type modelShares struct {
	Model         string      `json:"model"`
	Unit          string      `json:"unit"`
	TotalVerified flop.Amount `json:"total_verified"`
	Contributors  []share     `json:"contributors"` // largest verified first
}

type share struct {
	Address  string      `json:"address"`
	Verified flop.Amount `json:"verified"`
	Pending  flop.Amount `json:"pending"`
	Rejected flop.Amount `json:"rejected"`
	Share    float64     `json:"share"`
}

// csvHeader is the first row of `credits export --format csv`.
var csvHeader = []string{"address", "verified_flop", "pending_flop", "rejected_flop", "share"}

func creditsCommand() *command {
	return &command{
		name:    "credits",
		summary: "Credit and ownership shares: list models, show or export a model's shares.",
		subs: []*command{
			{name: "list", summary: "List the models with credit and their totals.", setup: leaf(creditsList)},
			{name: "show", args: []string{"MODEL"}, summary: "Show each contributor's credit and share of a model (needs no token).", setup: leaf(creditsShow)},
			{name: "export", args: []string{"MODEL"}, summary: "Export a model's shares as CSV or JSON (needs no token).",
				details: `CSV columns: ` + fmt.Sprint(csvHeader) + `; amounts are exact FLOPs,
share is the fraction of the model's verified credit. Verified credit
includes what is not yet committed on-chain.`,
				setup: creditsExport},
		},
	}
}

func creditsList(ctx context.Context, a *app, _ []string) error {
	var out struct {
		Models []struct {
			Model        string      `json:"model"`
			Verified     flop.Amount `json:"verified"`
			Pending      flop.Amount `json:"pending"`
			Rejected     flop.Amount `json:"rejected"`
			InEpoch      flop.Amount `json:"in_epoch"`
			Contributors int         `json:"contributors"`
		} `json:"models"`
	}
	raw, err := a.getJSON(ctx, "/api/v1/admin/credits", true, &out)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	if len(out.Models) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no credit yet")
		return err
	}
	names := jobNames(ctx, a)
	t := newTable(a.stdout, "MODEL", "NAME", "CONTRIBUTORS", "VERIFIED", "IN_EPOCH", "PENDING", "REJECTED")
	for _, m := range out.Models {
		t.row(m.Model, nameOf(names, m.Model), m.Contributors, amount(m.Verified), amount(m.InEpoch), amount(m.Pending), amount(m.Rejected))
	}
	return t.flush()
}

// fetchShares reads model's balances from the hub's public credit API
// and computes the shares.
func fetchShares(ctx context.Context, a *app, model string) (modelShares, error) {
	var out struct {
		Unit     string `json:"unit"`
		Balances []struct {
			Address  string      `json:"address"`
			Verified flop.Amount `json:"verified"`
			Pending  flop.Amount `json:"pending"`
			Rejected flop.Amount `json:"rejected"`
		} `json:"balances"`
	}
	if _, err := a.getJSON(ctx, "/api/v1/credits/"+url.PathEscape(model), false, &out); err != nil {
		return modelShares{}, err
	}
	if len(out.Balances) == 0 {
		return modelShares{}, notFoundf("model %q has no credit (see 'credits list')", model)
	}
	ms := modelShares{Model: model, Unit: out.Unit, Contributors: make([]share, 0, len(out.Balances))}
	for _, b := range out.Balances {
		var err error
		if ms.TotalVerified, err = ms.TotalVerified.Add(b.Verified); err != nil {
			return modelShares{}, fmt.Errorf("the hub's balances of %q: %w", model, err)
		}
	}
	for _, b := range out.Balances {
		s := share{Address: b.Address, Verified: b.Verified, Pending: b.Pending, Rejected: b.Rejected}
		s.Share = flop.Ratio(b.Verified, ms.TotalVerified)
		ms.Contributors = append(ms.Contributors, s)
	}
	return ms, nil
}

func creditsShow(ctx context.Context, a *app, args []string) error {
	model, err := modelOf(ctx, a, args[0])
	if err != nil {
		return err
	}
	ms, err := fetchShares(ctx, a, model)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printJSON(ms)
	}
	fmt.Fprintf(a.stdout, "model %s: %s verified in all, %d contributor(s)\n\n", ms.Model, amount(ms.TotalVerified), len(ms.Contributors))
	t := newTable(a.stdout, "ADDRESS", "SHARE", "VERIFIED", "PENDING", "REJECTED")
	for _, s := range ms.Contributors {
		t.row(s.Address, percent(s.Share), amount(s.Verified), amount(s.Pending), amount(s.Rejected))
	}
	return t.flush()
}

func creditsExport(fs *flag.FlagSet) runFunc {
	format := fs.String("format", "csv", "csv or json (--json means json)")
	out := fs.String("out", "", "write to this file instead of standard output")
	return func(ctx context.Context, a *app, args []string) error {
		if a.opts.json {
			*format = "json"
		}
		if *format != "csv" && *format != "json" {
			return usageErrorf("--format %q: want csv or json", *format)
		}
		model, err := modelOf(ctx, a, args[0])
		if err != nil {
			return err
		}
		ms, err := fetchShares(ctx, a, model)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if *format == "json" {
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			enc.Encode(ms)
		} else {
			w := csv.NewWriter(&buf)
			w.Write(csvHeader)
			for _, s := range ms.Contributors {
				w.Write([]string{s.Address, s.Verified.String(), s.Pending.String(),
					s.Rejected.String(), strconv.FormatFloat(s.Share, 'f', -1, 64)})
			}
			w.Flush()
		}
		if *out == "" {
			_, err := a.stdout.Write(buf.Bytes())
			return err
		}
		if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write the export: %w", err)
		}
		fmt.Fprintf(a.stderr, "wrote %d contributor(s) of %s to %s\n", len(ms.Contributors), ms.Model, *out)
		return nil
	}
}
