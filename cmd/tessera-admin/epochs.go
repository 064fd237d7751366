package main

import (
	"context"
	"flag"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// epoch is one on-chain epoch as GET /api/v1/epochs shows it
// (hub/chain.EpochJSON).
type epoch struct {
	Model        string     `json:"model"`
	ModelID      string     `json:"modelId"`
	Epoch        uint64     `json:"epoch"`
	Root         string     `json:"root"`
	Total        string     `json:"total"` // decimal FLOPs
	Contributors int        `json:"contributors"`
	State        string     `json:"state"`
	TxHash       string     `json:"txHash"`
	Block        uint64     `json:"block"`
	PreparedAt   *time.Time `json:"preparedAt"`
	SentAt       *time.Time `json:"sentAt"`
	CommittedAt  *time.Time `json:"committedAt"`
}

// epochList is GET /api/v1/epochs.
type epochList struct {
	Contract string  `json:"contract"`
	ChainID  string  `json:"chainId"`
	Epochs   []epoch `json:"epochs"`
}

func epochsCommand() *command {
	return &command{
		name:    "epochs",
		summary: "On-chain epochs of credit: list, show, commit now.",
		subs: []*command{
			{name: "list", summary: "List epochs, newest first (needs no token).", setup: epochsList},
			{name: "show", args: []string{"MODEL", "EPOCH"}, summary: "Show one epoch (needs no token).", setup: leaf(epochsShow)},
			{name: "commit", summary: "Commit every model's new verified credit on-chain now, then show each model's latest epoch.",
				setup: leaf(epochsCommit)},
		},
	}
}

func epochsList(fs *flag.FlagSet) runFunc {
	model := fs.String("model", "", "only this model's epochs")
	limit := fs.Int("limit", 20, "at most this many epochs per model (1 to 1000)")
	return func(ctx context.Context, a *app, _ []string) error {
		if *limit < 1 || *limit > 1000 {
			return usageErrorf("--limit %d: want 1 to 1000", *limit)
		}
		q := url.Values{"limit": {strconv.Itoa(*limit)}}
		if *model != "" {
			m, err := modelOf(ctx, a, *model)
			if err != nil {
				return err
			}
			q.Set("model", m)
		}
		return a.listEpochs(ctx, q)
	}
}

func (a *app) listEpochs(ctx context.Context, q url.Values) error {
	var l epochList
	raw, err := a.getJSON(ctx, "/api/v1/epochs?"+q.Encode(), false, &l)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	fmt.Fprintf(a.stdout, "contract %s on chain %s\n\n", l.Contract, l.ChainID)
	if len(l.Epochs) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no epochs yet")
		return err
	}
	names := jobNames(ctx, a)
	t := newTable(a.stdout, "MODEL", "NAME", "EPOCH", "STATE", "TOTAL", "CONTRIBUTORS", "BLOCK", "TX", "ROOT", "COMMITTED")
	for _, e := range l.Epochs {
		block, committed := "-", "-"
		if e.Block > 0 {
			block = strconv.FormatUint(e.Block, 10)
		}
		if e.CommittedAt != nil {
			committed = ago(*e.CommittedAt)
		}
		t.row(e.Model, nameOf(names, e.Model), e.Epoch, e.State, totalFLOPs(e.Total), e.Contributors, block, orDash(short(e.TxHash)), short(e.Root), committed)
	}
	return t.flush()
}

// totalFLOPs formats a decimal amount of FLOPs as the API gives it.
func totalFLOPs(s string) string {
	n, ok := new(big.Float).SetString(s)
	if !ok {
		return s
	}
	f, _ := n.Float64()
	return flops(f)
}

func epochsShow(ctx context.Context, a *app, args []string) error {
	n, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil || n == 0 {
		return usageErrorf("epoch %q: want a positive integer", args[1])
	}
	model, err := modelOf(ctx, a, args[0])
	if err != nil {
		return err
	}
	var e epoch
	raw, err := a.getJSON(ctx, "/api/v1/epochs/"+url.PathEscape(model)+"/"+strconv.FormatUint(n, 10), false, &e)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	t := newTable(a.stdout)
	t.row("model", e.Model+" (id "+e.ModelID+")")
	t.row("epoch", e.Epoch)
	t.row("state", e.State)
	t.row("total", e.Total+" FLOP ("+totalFLOPs(e.Total)+")")
	t.row("contributors", e.Contributors)
	t.row("root", e.Root)
	t.row("transaction", orDash(e.TxHash))
	if e.Block > 0 {
		t.row("block", e.Block)
	}
	for _, x := range []struct {
		name string
		at   *time.Time
	}{{"prepared", e.PreparedAt}, {"sent", e.SentAt}, {"committed", e.CommittedAt}} {
		if x.at != nil {
			t.row(x.name, x.at.Local().Format(time.DateTime)+" ("+ago(*x.at)+")")
		}
	}
	return t.flush()
}

func epochsCommit(ctx context.Context, a *app, _ []string) error {
	if _, err := a.call(ctx, http.MethodPost, "/api/v1/admin/commit", nil, true); err != nil {
		return err
	}
	if !a.opts.json {
		fmt.Fprintln(a.stdout, "committed; each model's latest epoch:")
	}
	return a.listEpochs(ctx, url.Values{"limit": {"1"}})
}
