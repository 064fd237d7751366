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
	"sync"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// fuzzHub is one hub process (service.Run, chain off) shared by every
// input of FuzzAPI, with the directory it lives in.
var fuzzHub struct {
	once        sync.Once
	base, token string
	err         error
}

func startFuzzHub() {
	dir, err := os.MkdirTemp("", "tessera-fuzz-api-")
	if err != nil {
		fuzzHub.err = err
		return
	}
	cfg := service.DefaultConfig()
	cfg.DefaultJob, cfg.Chain.Off = false, true
	cfg.Hub.DataDir = dir
	cfg.Hub.Matmul.Shape = kernel.Shape{M: 8, K: 8, N: 8}
	cfg.Hub.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fuzzHub.err = err
		return
	}
	ready := make(chan struct{})
	cfg.Ready = func(net.Addr) { close(ready) }
	done := make(chan error, 1)
	go func() { done <- service.Run(context.Background(), ln, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		fuzzHub.err = err
		return
	}
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	fuzzHub.base, fuzzHub.token, fuzzHub.err = "http://"+ln.Addr().String(), strings.TrimSpace(string(tok)), err
}

var fuzzMethods = []string{"GET", "POST", "DELETE", "PUT"}

// FuzzAPI sends arbitrary requests (method, path under /api/v1/, body,
// with or without the admin token) to a real hub: the jobs and admin APIs
// (job specs, ban reasons, worker IDs, addresses) and the public reads.
// The hub must answer every request without a server error, with a JSON
// body, and keep serving.
func FuzzAPI(f *testing.F) {
	f.Add(uint8(1), "admin/jobs", []byte(`{"name":"x","model":{"type":"mlp","layers":[784,8192,8192,10]}}`), true)
	f.Add(uint8(1), "admin/jobs/nope/pause", []byte(nil), true)
	f.Add(uint8(2), "admin/jobs/nope", []byte(nil), true)
	f.Add(uint8(1), "admin/contributors/0x00000000000000000000000000000000000000aa/ban", []byte(`{"reason":"test"}`), true)
	f.Add(uint8(1), "admin/contributors/0x00000000000000000000000000000000000000aa/unban", []byte(`{"reason":`), true)
	f.Add(uint8(1), "admin/workers/17/disconnect", []byte(nil), true)
	f.Add(uint8(0), "admin/contributors/not-an-address", []byte(nil), true)
	f.Add(uint8(0), "admin/credits", []byte(nil), false)
	f.Add(uint8(0), "credits/matmul", []byte(nil), false)
	f.Add(uint8(0), "contributors/0xZZ/decisions", []byte(nil), false)
	f.Add(uint8(0), "jobs/%00", []byte(nil), false)
	f.Fuzz(func(t *testing.T, method uint8, path string, body []byte, auth bool) {
		fuzzHub.once.Do(startFuzzHub)
		if fuzzHub.err != nil {
			t.Fatal(fuzzHub.err)
		}
		if strings.IndexFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			return // not a request line: net/http's parser refuses it before any handler
		}
		req, err := http.NewRequest(fuzzMethods[int(method)%len(fuzzMethods)], fuzzHub.base+"/api/v1/"+path, strings.NewReader(string(body)))
		if err != nil {
			return // not a URL a client could send
		}
		if req.Method == "POST" && strings.Trim(req.URL.Path, "/") == "api/v1/admin/jobs" && auth {
			return // a valid spec would start training: FuzzParseSpec covers the body
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+fuzzHub.token)
		}
		client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %q: %v", req.Method, path, err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q %q: HTTP %d %s", req.Method, path, body, resp.StatusCode, data)
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !json.Valid(data) {
			t.Fatalf("%s %q: invalid JSON %s", req.Method, path, data)
		}
		if resp.StatusCode >= 400 && resp.StatusCode != http.StatusMethodNotAllowed && resp.StatusCode != http.StatusNotFound || resp.StatusCode == http.StatusNotFound && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			var e struct{ Error string }
			if json.Unmarshal(data, &e) != nil || e.Error == "" {
				t.Fatalf("%s %q: HTTP %d without an error message: %s", req.Method, path, resp.StatusCode, data)
			}
		}
	})
}
