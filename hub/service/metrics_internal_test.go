package service

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/ledger"
)

// TestHealth checks GET /healthz against a real hub and a real SQLite
// ledger: 200 while both work, 503 with the reason when the ledger is
// gone or the hub is shutting down.
func TestHealth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(closeLedger, stopHub func())
		code  int
		error string
	}{
		{"OK", func(func(), func()) {}, http.StatusOK, ""},
		{"LedgerClosed", func(closeLedger, _ func()) { closeLedger() }, http.StatusServiceUnavailable, "ledger query"},
		{"HubShuttingDown", func(_, stopHub func()) { stopHub() }, http.StatusServiceUnavailable, "shutting down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			quiet := slog.New(slog.DiscardHandler)
			led, err := ledger.Open(context.Background(), filepath.Join(dir, "ledger.db"), ledger.Config{Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			cfg := hub.DefaultConfig()
			cfg.DataDir, cfg.Matmul, cfg.Logger = dir, hub.MatmulConfig{}, quiet
			h, err := hub.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan struct{})
			go func() { h.Run(ctx); close(ran) }()
			stopHub := sync.OnceFunc(func() { cancel(); <-ran })
			closeLedger := sync.OnceFunc(func() { led.Close() })
			t.Cleanup(func() { stopHub(); closeLedger() })
			srv := httptest.NewServer(healthHandler(h, led))
			defer srv.Close()

			tc.fault(closeLedger, stopHub)
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body Health
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code || !strings.Contains(body.Error, tc.error) || (tc.code == http.StatusOK) != (body.Status == "ok") {
				t.Errorf("HTTP %d %+v, want %d with an error containing %q", resp.StatusCode, body, tc.code, tc.error)
			}
		})
	}
}
