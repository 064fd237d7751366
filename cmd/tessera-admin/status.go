package main

import (
	"context"
	"fmt"
	"time"
)

// hubStatus is GET /api/v1/status (hub.Status), as far as the CLI shows it.
type hubStatus struct {
	Hub                   string      `json:"hub"`
	ProtocolVersion       int         `json:"protocol_version"`
	UptimeSeconds         float64     `json:"uptime_s"`
	ContributorsConnected int         `json:"contributors_connected"`
	TasksLeased           uint64      `json:"tasks_leased"`
	TasksCompleted        uint64      `json:"tasks_completed"`
	TasksRejected         uint64      `json:"tasks_rejected"`
	TasksExpired          uint64      `json:"tasks_expired"`
	TasksRequeued         uint64      `json:"tasks_requeued"`
	TasksQueued           int         `json:"tasks_queued"`
	TasksInFlight         int         `json:"tasks_in_flight"`
	TasksReplicated       uint64      `json:"tasks_replicated"`
	Arbitrations          uint64      `json:"arbitrations"`
	Contributors          []struct{}  `json:"contributors"`
	Jobs                  []jobStatus `json:"jobs"`
}

func statusCommand() *command {
	return &command{
		name:    "status",
		summary: "Show the hub's counters and its jobs (needs no token).",
		setup:   leaf(status),
	}
}

func status(ctx context.Context, a *app, _ []string) error {
	var st hubStatus
	raw, err := a.getJSON(ctx, "/api/v1/status", false, &st)
	if err != nil {
		return err
	}
	if a.opts.json {
		return a.printRaw(raw)
	}
	t := newTable(a.stdout)
	t.row("hub", fmt.Sprintf("%s, protocol %d, up %s", st.Hub, st.ProtocolVersion, roundDuration(time.Duration(st.UptimeSeconds*float64(time.Second)))))
	t.row("contributors", fmt.Sprintf("%d connected, %d seen since the hub started", st.ContributorsConnected, len(st.Contributors)))
	t.row("tasks", fmt.Sprintf("%d leased, %d completed, %d rejected, %d expired, %d requeued; %d queued, %d in flight",
		st.TasksLeased, st.TasksCompleted, st.TasksRejected, st.TasksExpired, st.TasksRequeued, st.TasksQueued, st.TasksInFlight))
	t.row("checks", fmt.Sprintf("%d tasks replicated, %d arbitrated by the exact product", st.TasksReplicated, st.Arbitrations))
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	return printJobs(a.stdout, st.Jobs)
}
