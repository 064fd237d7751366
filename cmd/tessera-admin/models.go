package main

import (
	"context"
	"slices"
	"strings"
)

// Models (what credit, epochs, revenue and vaults are keyed by) are job
// IDs, and "matmul" for the hub's benchmark. The commands that read a
// MODEL's credit or epochs also take a job's name when only one job has
// it, as the jobs commands do, and the tables show each model's job name
// beside its ID. Revenue and deposits do not: money goes to exactly the
// model named, and the hub refuses one it does not know.

// jobNames returns the hub's jobs' names by ID, from its public jobs list.
// Names are a convenience: a hub that cannot list its jobs gives none.
func jobNames(ctx context.Context, a *app) map[string]string {
	var out struct {
		Jobs []jobStatus `json:"jobs"`
	}
	names := map[string]string{}
	if _, err := a.getJSON(ctx, "/api/v1/jobs", false, &out); err != nil {
		return names
	}
	for _, j := range out.Jobs {
		names[j.ID] = j.Name
	}
	return names
}

// modelOf returns the model ref names: ref itself when it is a job's ID
// or no job's name, the job's ID when exactly one job has that name. A
// name several jobs share is a usage error naming their IDs.
func modelOf(ctx context.Context, a *app, ref string) (string, error) {
	names := jobNames(ctx, a)
	if _, isID := names[ref]; isID {
		return ref, nil
	}
	var ids []string
	for id, name := range names {
		if name == ref {
			ids = append(ids, id)
		}
	}
	switch len(ids) {
	case 0:
		return ref, nil
	case 1:
		return ids[0], nil
	}
	slices.Sort(ids)
	return "", usageErrorf("%d jobs are named %q (%s); give the model's ID", len(ids), ref, strings.Join(ids, ", "))
}

// nameOf is the job name shown beside model in tables ("-" for none).
func nameOf(names map[string]string, model string) string {
	if n := names[model]; n != "" {
		return n
	}
	return "-"
}
