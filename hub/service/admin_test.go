package service_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// adminHub is a hub process (service.Run) on loopback, chain off.
type adminHub struct {
	base, token string
	stop        func()
}

func startAdminHub(t *testing.T, dir string) *adminHub {
	t.Helper()
	cfg := service.DefaultConfig()
	cfg.DefaultJob = false
	cfg.Chain.Off = true
	cfg.Hub.DataDir = dir
	cfg.Hub.Matmul.Shape = kernel.Shape{M: 16, K: 24, N: 8}
	cfg.Hub.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	cfg.Ready = func(net.Addr) { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, ln, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("service.Run: %v", err)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	h := &adminHub{base: "http://" + ln.Addr().String(), token: strings.TrimSpace(string(tok))}
	var once bool
	h.stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service.Run: %v", err)
		}
	}
	t.Cleanup(h.stop)
	return h
}

// do sends an admin request and decodes the JSON answer into v (if not
// nil); it returns the status code.
func (h *adminHub) do(t *testing.T, method, path, token, body string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// contributor is a CPU contributor running until the test ends.
type contributor struct {
	*client.Client
	done chan struct{} // closed when Run returns
	err  error         // what Run returned, once done is closed
}

// stopped waits for Run to return and returns its error.
func (c *contributor) stopped(t *testing.T) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(10 * time.Second):
		t.Fatal("the contributor is still running")
		return nil
	}
}

func contribute(t *testing.T, h *adminHub, key *identity.Key) *contributor {
	t.Helper()
	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device = "ws"+strings.TrimPrefix(h.base, "http")+"/ws", key, device.CPU{}
	cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &contributor{Client: c, done: make(chan struct{})}
	go func() { r.err = c.Run(ctx); close(r.done) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAdminBanSurvivesRestart bans a working contributor through the
// admin API and checks what the ban does (disconnects it, revokes its
// uncommitted credit, logs why), that it holds after a restart, and that
// an unban lets the contributor back in, also after a restart.
func TestAdminBanSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	h := startAdminHub(t, dir)
	key, _ := identity.Generate()
	addr := key.Address().Hex()
	c := contribute(t, h, key)
	waitUntil(t, "verified credit", func() bool { return c.Stats().Accepted > 0 })

	t.Run("RefusedWithoutToken", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/v1/admin/workers"}, {"POST", "/api/v1/admin/workers/1/disconnect"},
			{"GET", "/api/v1/admin/contributors"}, {"GET", "/api/v1/admin/contributors/" + addr},
			{"POST", "/api/v1/admin/contributors/" + addr + "/ban"}, {"POST", "/api/v1/admin/contributors/" + addr + "/unban"},
			{"GET", "/api/v1/admin/credits"},
		} {
			if code := h.do(t, r.method, r.path, "wrong", "", nil); code != http.StatusUnauthorized {
				t.Errorf("%s %s with a wrong token: HTTP %d", r.method, r.path, code)
			}
		}
		if c.Stats().State != client.StateWorking {
			t.Error("a refused ban still reached the contributor")
		}
	})
	t.Run("BadRequests", func(t *testing.T) {
		var e struct{ Error string }
		for _, r := range []struct {
			method, path, body string
			want               int
		}{
			{"GET", "/api/v1/admin/contributors/0x12", "", http.StatusBadRequest},
			{"GET", "/api/v1/admin/contributors/0x000000000000000000000000000000000000dEaD", "", http.StatusNotFound},
			{"POST", "/api/v1/admin/workers/nope/disconnect", "", http.StatusBadRequest},
			{"POST", "/api/v1/admin/workers/999999999/disconnect", "", http.StatusNotFound},
			{"POST", "/api/v1/admin/contributors/" + addr + "/ban", `{"reason": 5}`, http.StatusBadRequest},
			{"POST", "/api/v1/admin/contributors/" + addr + "/ban", `{"reason": "` + strings.Repeat("x", 2000) + `"}`, http.StatusBadRequest},
		} {
			e.Error = ""
			if code := h.do(t, r.method, r.path, h.token, r.body, &e); code != r.want || e.Error == "" {
				t.Errorf("%s %s: HTTP %d %q, want %d with an error message", r.method, r.path, code, e.Error, r.want)
			}
		}
	})

	var ws struct{ Workers []hub.Worker }
	if h.do(t, "GET", "/api/v1/admin/workers", h.token, "", &ws); len(ws.Workers) != 1 || ws.Workers[0].Address != addr || ws.Workers[0].Slots != 2 {
		t.Fatalf("workers: %+v", ws)
	}

	var banned struct {
		Address string
		hub.Reputation
	}
	if code := h.do(t, "POST", "/api/v1/admin/contributors/"+addr+"/ban", h.token, `{"reason": "test ban"}`, &banned); code != 200 || !banned.Banned || banned.Address != addr {
		t.Fatalf("ban: HTTP %d %+v", code, banned)
	}
	if err := c.stopped(t); err == nil || !strings.Contains(err.Error(), "banned") {
		t.Errorf("the banned contributor stopped with %v", err)
	}
	checkBanned := func(t *testing.T, h *adminHub) {
		t.Helper()
		var d service.ContributorDetail
		if code := h.do(t, "GET", "/api/v1/admin/contributors/"+addr, h.token, "", &d); code != 200 {
			t.Fatalf("contributor: HTTP %d", code)
		}
		if !d.Banned || !d.Verified.IsZero() || !d.Pending.IsZero() || d.Rejected.IsZero() || len(d.Workers) != 0 {
			t.Errorf("after the ban (no epoch committed, so everything revoked): %+v", d)
		}
		if len(d.Decisions) == 0 || d.Decisions[0].Kind != "banned" || !strings.Contains(d.Decisions[0].Reason, "test ban") {
			t.Errorf("decisions: %+v", d.Decisions)
		}
	}
	checkBanned(t, h)

	h.stop()
	h = startAdminHub(t, dir)
	checkBanned(t, h)
	if err := contribute(t, h, key).stopped(t); err == nil || !strings.Contains(err.Error(), "banned") {
		t.Errorf("after a restart the banned contributor was told %v", err)
	}

	var unbanned struct {
		Address string
		hub.Reputation
	}
	if code := h.do(t, "POST", "/api/v1/admin/contributors/"+addr+"/unban", h.token, "", &unbanned); code != 200 || unbanned.Banned || unbanned.Strikes != 0 || unbanned.Replication != 1 {
		t.Fatalf("unban: HTTP %d %+v", code, unbanned)
	}
	back := contribute(t, h, key)
	waitUntil(t, "credit after the unban", func() bool { return back.Stats().Accepted > 0 })

	h.stop()
	h = startAdminHub(t, dir)
	var d service.ContributorDetail
	if h.do(t, "GET", "/api/v1/admin/contributors/"+addr, h.token, "", &d); d.Banned || d.Verified.IsZero() || len(d.Decisions) == 0 || d.Decisions[0].Kind != "unbanned" {
		t.Errorf("after the unban and a restart: %+v", d)
	}
}
