package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/tessera-ai/tessera/hub/metrics/metricstest"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// TestMetricsMove runs the assembled hub (ledger, training manager,
// embedded chain) on loopback with two CPU contributors, a small training
// job and one peer that botches its handshake, and reads GET /metrics as
// Prometheus would: the text parses, the families have the right types,
// and the counters move as tasks complete, the ledger commits, the job
// steps and an epoch is committed on-chain. GET /healthz answers 200
// while the hub is up.
func TestMetricsMove(t *testing.T) {
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := service.DefaultConfig()
	cfg.DefaultJob = false
	cfg.Hub.DataDir = dir
	cfg.Hub.Matmul.Shape = kernel.Shape{M: 16, K: 24, N: 8}
	cfg.Hub.Logger = quiet
	ready := make(chan struct{})
	cfg.Ready = func(net.Addr) { close(ready) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, ln, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("service.Run: %v", err)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service.Run: %v", err)
		}
	}()
	base := "http://" + ln.Addr().String()

	var health service.Health
	getJSON(t, base+"/healthz", http.StatusOK, &health)
	if health.Status != "ok" || health.Error != "" {
		t.Errorf("healthz while up: %+v", health)
	}

	before := scrapeHub(t, base)
	for name, typ := range map[string]dto.MetricType{
		"tessera_connections":                  dto.MetricType_GAUGE,
		"tessera_connections_accepted_total":   dto.MetricType_COUNTER,
		"tessera_tasks_leased_total":           dto.MetricType_COUNTER,
		"tessera_tasks_completed_total":        dto.MetricType_COUNTER,
		"tessera_tasks_expired_total":          dto.MetricType_COUNTER,
		"tessera_tasks_requeued_total":         dto.MetricType_COUNTER,
		"tessera_tasks_refused_total":          dto.MetricType_COUNTER,
		"tessera_tasks_queued":                 dto.MetricType_GAUGE,
		"tessera_verifications_total":          dto.MetricType_COUNTER,
		"tessera_lease_wait_seconds":           dto.MetricType_HISTOGRAM,
		"tessera_ledger_batch_seconds":         dto.MetricType_HISTOGRAM,
		"tessera_ledger_batch_ops":             dto.MetricType_HISTOGRAM,
		"tessera_chain_commit_failures_total":  dto.MetricType_COUNTER,
		"tessera_chain_epochs_pending":         dto.MetricType_GAUGE,
		"go_goroutines":                        dto.MetricType_GAUGE,
		"process_resident_memory_bytes":        dto.MetricType_GAUGE,
		"tessera_ledger_commit_failures_total": dto.MetricType_COUNTER,
	} {
		if f, ok := before[name]; !ok || f.GetType() != typ {
			t.Errorf("%s: present %v, type %v, want %v", name, ok, f.GetType(), typ)
		}
	}
	completed0, _ := value(before, "tessera_tasks_completed_total")

	// A small training job, so that step times are recorded.
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + strings.TrimSpace(string(token))
	spec := `{"name": "tiny", "model": {"type": "mlp", "layers": [784, 32, 10]}, "tile_cols": 16,
		"max_steps": 3, "eval_every": 3, "checkpoint_every": 3, "target_accuracy": 0, "exposure_cap": 1}`
	var job struct{ ID string }
	post(t, base+"/api/v1/admin/jobs", auth, spec, http.StatusCreated, &job)

	// A peer that answers the challenge with a text frame is refused.
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.ReadMessage(); err != nil { // the challenge
		t.Fatal(err)
	}
	conn.WriteMessage(websocket.TextMessage, []byte("hello?"))
	conn.Close()

	for range 2 {
		key, _ := identity.Generate()
		ccfg := client.DefaultConfig()
		ccfg.HubURL, ccfg.Key, ccfg.Device, ccfg.Logger = "ws://"+ln.Addr().String()+"/ws", key, device.CPU{}, quiet
		c, err := client.New(ccfg)
		if err != nil {
			t.Fatal(err)
		}
		cctx, ccancel := context.WithCancel(ctx)
		cdone := make(chan struct{})
		go func() { c.Run(cctx); close(cdone) }()
		defer func() { ccancel(); <-cdone }()
	}

	// Every counter an operator watches moves while the contributors work.
	var after map[string]*dto.MetricFamily
	checks := []struct {
		name   string
		labels []string
		min    float64
	}{
		{"tessera_tasks_completed_total", nil, completed0 + 20},
		{"tessera_tasks_leased_total", nil, completed0 + 20},
		{"tessera_connections", nil, 2},
		{"tessera_connections_accepted_total", nil, 2},
		{"tessera_connections_refused_total", []string{"code", "bad_message"}, 1},
		{"tessera_lease_wait_seconds", nil, 1},
		{"tessera_ledger_batch_seconds", nil, 1},
		{"tessera_ledger_batch_ops", nil, 1},
		{"tessera_verifications_total", []string{"outcome", "pass"}, 1},
		// Newcomers' results are all executed twice.
		{"tessera_verifications_total", []string{"outcome", "replica_agree"}, 1},
		{"tessera_train_step_seconds", []string{"job", job.ID}, 3},
		{"tessera_wire_bytes_total", []string{"job", job.ID, "direction", "down"}, 1},
		{"tessera_wire_bytes_total", []string{"job", job.ID, "direction", "up"}, 1},
		{"tessera_useful_flops_total", []string{"job", job.ID}, 1},
		{"tessera_wire_bytes_per_gflop", []string{"job", job.ID}, 1},
	}
	waitFor(t, 90*time.Second, func() string {
		after = scrapeHub(t, base)
		for _, c := range checks {
			if v, ok := value(after, c.name, c.labels...); !ok || v < c.min {
				return fmt.Sprintf("%s%v = %v (present %v), want ≥ %v", c.name, c.labels, v, ok, c.min)
			}
		}
		return ""
	})
	for _, c := range []string{"tessera_tasks_completed_total", "tessera_tasks_leased_total"} {
		if a, _ := value(after, c); a <= completed0 {
			t.Errorf("%s did not grow: %v", c, a)
		}
	}
	if f := after["tessera_train_step_seconds"]; f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("train step seconds is a %v", f.GetType())
	}
	if v, _ := value(after, "tessera_verifications_total", "outcome", "fail"); v != 0 {
		t.Errorf("honest contributors failed %v checks", v)
	}

	// Commit now: the commit gauges report the epoch and its time.
	committing := time.Now()
	post(t, base+"/api/v1/admin/commit", auth, "", http.StatusOK, nil)
	fams := scrapeHub(t, base)
	if f := fams["tessera_chain_last_committed_epoch"]; f.GetType() != dto.MetricType_GAUGE {
		t.Fatalf("last committed epoch: %v", f)
	}
	if e, ok := value(fams, "tessera_chain_last_committed_epoch", "model", "matmul"); !ok || e < 1 {
		t.Errorf("matmul's committed epoch %v (present %v), want ≥ 1", e, ok)
	}
	at, ok := value(fams, "tessera_chain_last_commit_timestamp_seconds", "model", "matmul")
	if sec := float64(committing.Unix()); !ok || at < sec-1 || at > float64(time.Now().Unix())+1 {
		t.Errorf("commit time %v (present %v), want about %v", at, ok, sec)
	}
	if p, _ := value(fams, "tessera_chain_epochs_pending"); p != 0 {
		t.Errorf("%v epochs pending after a successful commit", p)
	}
	if n, _ := value(fams, "tessera_chain_commit_failures_total"); n != 0 {
		t.Errorf("%v failed commit rounds", n)
	}
}

// waitFor polls until pending reports nothing left to wait for, or d
// passes; pending says what is still missing.
func waitFor(tb testing.TB, d time.Duration, pending func() string) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for {
		missing := pending()
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %v still waiting: %s", d, missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// post sends body with the admin token and decodes the reply into v.
func post(tb testing.TB, url, auth, body string, want int, v any) {
	tb.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(resp.Body)
		tb.Fatalf("POST %s: HTTP %d, want %d: %s", url, resp.StatusCode, want, msg)
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			tb.Fatalf("POST %s: %v", url, err)
		}
	}
}

func scrapeHub(tb testing.TB, base string) map[string]*dto.MetricFamily {
	return metricstest.Scrape(tb, base+"/metrics")
}

var value = metricstest.Value
