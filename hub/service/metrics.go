package service

import (
	"context"
	"net/http"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/chain"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/internal/httpjson"
)

// healthTimeout bounds the ledger query of one health check: a database
// that takes longer is reported unhealthy rather than hanging the probe.
const healthTimeout = 2 * time.Second

// Health is the body of GET /healthz.
type Health struct {
	Status string `json:"status"` // "ok" or "unavailable"
	Error  string `json:"error,omitempty"`
}

// routeMetrics serves GET /metrics (Prometheus) and GET /healthz.
func routeMetrics(handle func(string, http.Handler), m *metrics.Metrics, h *hub.Hub, led *ledger.Ledger) {
	handle("GET /metrics", m.Handler())
	handle("GET /healthz", healthHandler(h, led))
}

// healthHandler answers 200 while the hub serves and its ledger works
// (its writer commits and it answers a query), 503 with the reason
// otherwise. The chain is left out on purpose: a chain outage delays
// commits, which the committer retries, but the hub still serves and
// credits work (tessera_chain_commit_failures_total shows it).
func healthHandler(h *hub.Hub, led *ledger.Ledger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Closing() {
			httpjson.Write(w, http.StatusServiceUnavailable, Health{Status: "unavailable", Error: "the hub is shutting down"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		if err := led.Health(ctx); err != nil {
			httpjson.Write(w, http.StatusServiceUnavailable, Health{Status: "unavailable", Error: err.Error()})
			return
		}
		httpjson.Write(w, http.StatusOK, Health{Status: "ok"})
	})
}

// watchCommits makes the metrics report the committer's progress.
func watchCommits(m *metrics.Metrics, c *chain.Committer) {
	m.WatchCommits(func() metrics.Commits {
		st := c.Status()
		out := metrics.Commits{Models: make(map[string]metrics.Committed, len(st.Committed)), Failures: st.Failures, Pending: st.Pending}
		for model, e := range st.Committed {
			out.Models[model] = metrics.Committed{Epoch: e.Epoch, At: e.CommittedAt}
		}
		return out
	})
}
