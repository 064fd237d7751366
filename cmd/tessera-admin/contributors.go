package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/internal/flop"
)

// reputation is a contributor's standing (hub.Reputation).
type reputation struct {
	Strikes     int     `json:"strikes"`
	Clean       int     `json:"clean"`
	Banned      bool    `json:"banned"`
	Replication float64 `json:"replication"`
	Trusted     bool    `json:"trusted"`
}

// standing names a reputation in one word.
func (r reputation) standing() string {
	switch {
	case r.Banned:
		return "banned"
	case r.Trusted:
		return "own worker"
	case r.Strikes > 0:
		return fmt.Sprintf("%d strike(s)", r.Strikes)
	}
	return "good"
}

// contributor is a row of GET /api/v1/admin/contributors
// (hub/service.Contributor).
type contributor struct {
	Address     string     `json:"address"`
	Connections int        `json:"connections"`
	Agent       string     `json:"agent"`
	Backend     string     `json:"backend"`
	LastSeen    *time.Time `json:"last_seen"`
	reputation
	Verified flop.Amount `json:"verified"`
	Pending  flop.Amount `json:"pending"`
	Rejected flop.Amount `json:"rejected"`
	InEpoch  flop.Amount `json:"in_epoch"`
}

// contributorDetail is GET /api/v1/admin/contributors/{address}.
type contributorDetail struct {
	contributor
	Credits []struct {
		Model    string      `json:"model"`
		Verified flop.Amount `json:"verified"`
		Pending  flop.Amount `json:"pending"`
		Rejected flop.Amount `json:"rejected"`
		InEpoch  flop.Amount `json:"in_epoch"`
		Tasks    int64       `json:"tasks"`
		Share    float64     `json:"share"`
	} `json:"credits"`
	Workers   []worker `json:"workers"`
	Decisions []struct {
		At     int64  `json:"at"` // unix milliseconds
		Task   string `json:"task"`
		Kind   string `json:"kind"`
		Reason string `json:"reason"`
	} `json:"decisions"`
}

func contributorsCommand() *command {
	return &command{
		name:    "contributors",
		summary: "Contributors: list, show, ban, unban.",
		subs: []*command{
			{name: "list", summary: "List every known contributor: standing and credit over all models.", setup: leaf(contributorsList)},
			{name: "show", args: []string{"ADDRESS"}, summary: "Show a contributor: standing, credit and share per model, sessions, recent decisions.", setup: leaf(contributorsShow)},
			{name: "ban", args: []string{"ADDRESS"}, summary: "Ban a contributor, as the hub does after repeated refused results.",
				details: `The address can no longer connect and its sessions are closed at once.
Like the automatic ban, it revokes the address's credit not yet committed
on-chain (pending and verified); credit already in an epoch stays. The ban
is kept in the ledger and survives a restart.`,
				setup: standingChange("ban")},
			{name: "unban", args: []string{"ADDRESS"}, summary: "Let a banned contributor back in.",
				details: `Its strikes are forgiven and its record starts over, so all its results
are checked twice until it has a clean run again. Credit revoked by the
ban is not restored.`,
				setup: standingChange("unban")},
		},
	}
}

func contributorsList(ctx context.Context, a *app, _ []string) error {
	var out struct {
		Contributors []contributor `json:"contributors"`
	}
	raw, err := a.getJSON(ctx, "/api/v1/admin/contributors", true, &out)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	if len(out.Contributors) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no contributors yet")
		return err
	}
	t := newTable(a.stdout, "ADDRESS", "CONNECTIONS", "STANDING", "REPLICATION", "VERIFIED", "PENDING", "REJECTED", "LAST_SEEN")
	for _, c := range out.Contributors {
		last := "-"
		if c.LastSeen != nil {
			last = ago(*c.LastSeen)
		}
		t.row(c.Address, c.Connections, c.standing(), percent(c.Replication),
			amount(c.Verified), amount(c.Pending), amount(c.Rejected), last)
	}
	return t.flush()
}

// checkAddress refuses an argument that is not an Ethereum address.
func checkAddress(s string) (string, error) {
	if !common.IsHexAddress(s) {
		return "", usageErrorf("%q is not an Ethereum address (0x and 40 hex digits)", s)
	}
	return common.HexToAddress(s).Hex(), nil
}

func contributorsShow(ctx context.Context, a *app, args []string) error {
	addr, err := checkAddress(args[0])
	if err != nil {
		return err
	}
	var d contributorDetail
	raw, err := a.getJSON(ctx, "/api/v1/admin/contributors/"+addr, true, &d)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	t := newTable(a.stdout)
	t.row("address", d.Address)
	t.row("standing", fmt.Sprintf("%s; %d clean results since the last strike; %s of its tasks replicated",
		d.standing(), d.Clean, percent(d.Replication)))
	conn := fmt.Sprintf("%d connection(s)", d.Connections)
	if d.Agent != "" {
		conn += fmt.Sprintf(", %s on %s", d.Agent, orDash(d.Backend))
	}
	if d.LastSeen != nil {
		conn += ", last seen " + ago(*d.LastSeen)
	}
	t.row("connected", conn)
	t.row("credit", fmt.Sprintf("%s verified (%s in on-chain epochs), %s pending, %s rejected",
		amount(d.Verified), amount(d.InEpoch), amount(d.Pending), amount(d.Rejected)))
	if err := t.flush(); err != nil {
		return err
	}
	if len(d.Credits) > 0 {
		fmt.Fprintln(a.stdout, "\ncredit per model:")
		m := newTable(a.stdout, "MODEL", "SHARE", "VERIFIED", "IN_EPOCH", "PENDING", "REJECTED", "TASKS")
		for _, c := range d.Credits {
			m.row(c.Model, percent(c.Share), amount(c.Verified), amount(c.InEpoch),
				amount(c.Pending), amount(c.Rejected), c.Tasks)
		}
		m.flush()
	}
	if len(d.Workers) > 0 {
		fmt.Fprintln(a.stdout, "\nsessions:")
		printWorkers(newTable(a.stdout, "ID", "ADDRESS", "REMOTE", "AGENT", "BACKEND", "SLOTS", "LEASES", "CONNECTED"), d.Workers)
	}
	if len(d.Decisions) > 0 {
		fmt.Fprintln(a.stdout, "\nrecent decisions:")
		dt := newTable(a.stdout, "AT", "DECISION", "TASK", "REASON")
		for _, x := range d.Decisions {
			dt.row(time.UnixMilli(x.At).Local().Format(time.DateTime), x.Kind, orDash(x.Task), x.Reason)
		}
		dt.flush()
	}
	return nil
}

// standingChange bans or unbans the address argument.
func standingChange(action string) func(*flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		reason := fs.String("reason", "", "why, recorded in the contributor's decision log")
		return func(ctx context.Context, a *app, args []string) error {
			addr, err := checkAddress(args[0])
			if err != nil {
				return err
			}
			body, _ := json.Marshal(map[string]string{"reason": *reason})
			var out struct {
				Address string `json:"address"`
				reputation
			}
			raw, err := a.doJSON(ctx, http.MethodPost, "/api/v1/admin/contributors/"+addr+"/"+action, body, true, &out)
			if err != nil {
				return err
			}
			if a.opts.json {
				return a.printRaw(raw)
			}
			if action == "ban" {
				_, err = fmt.Fprintf(a.stdout, "%s is banned: disconnected, and its credit not yet committed on-chain is revoked\n", out.Address)
			} else {
				_, err = fmt.Fprintf(a.stdout, "%s may contribute again; all its results are checked twice until its record is clean\n", out.Address)
			}
			return err
		}
	}
}
