package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// worker is one connected session (hub.Worker).
type worker struct {
	ID          uint64    `json:"id"`
	Address     string    `json:"address"`
	Remote      string    `json:"remote"`
	Agent       string    `json:"agent"`
	Backend     string    `json:"backend"`
	Adapter     string    `json:"adapter"`
	ConnectedAt time.Time `json:"connected_at"`
	Slots       int       `json:"slots"`
	Leases      int       `json:"leases"`
}

func workersCommand() *command {
	return &command{
		name:    "workers",
		summary: "Connected contributor sessions: list, disconnect.",
		subs: []*command{
			{name: "list", summary: "List the connected sessions and the tasks each holds.", setup: leaf(workersList)},
			{name: "disconnect", args: []string{"ID|ADDRESS"}, summary: "Close one session, or every session of an address.",
				details: `Its tasks go back to the queue. The contributor may reconnect: use
'contributors ban' to keep it out.`,
				setup: leaf(workersDisconnect)},
		},
	}
}

func workersList(ctx context.Context, a *app, _ []string) error {
	var out struct {
		Workers []worker `json:"workers"`
	}
	raw, err := a.getJSON(ctx, "/api/v1/admin/workers", true, &out)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	if len(out.Workers) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no worker connected")
		return err
	}
	printWorkers(newTable(a.stdout, "ID", "ADDRESS", "REMOTE", "AGENT", "BACKEND", "SLOTS", "LEASES", "CONNECTED"), out.Workers)
	return nil
}

func printWorkers(t *table, ws []worker) {
	for _, w := range ws {
		backend := w.Backend
		if w.Adapter != "" {
			backend += " (" + w.Adapter + ")"
		}
		t.row(w.ID, w.Address, w.Remote, orDash(w.Agent), orDash(backend), w.Slots, w.Leases, ago(w.ConnectedAt))
	}
	t.flush()
}

func workersDisconnect(ctx context.Context, a *app, args []string) error {
	id := args[0]
	if _, err := strconv.ParseUint(id, 10, 64); err != nil && !common.IsHexAddress(id) {
		return usageErrorf("%q is neither a worker ID (see 'workers list') nor an Ethereum address", id)
	}
	var out struct {
		Disconnected int `json:"disconnected"`
	}
	raw, err := a.doJSON(ctx, http.MethodPost, "/api/v1/admin/workers/"+url.PathEscape(id)+"/disconnect", nil, true, &out)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	_, err = fmt.Fprintf(a.stdout, "disconnected %d session(s) of %s\n", out.Disconnected, id)
	return err
}
