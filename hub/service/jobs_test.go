package service_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub/service"
)

// TestServiceDefaultJobsWithoutGoSource: on a machine without Go's source
// tree the default language model cannot load its corpus; the hub still
// starts and trains MNIST, and lists gocode-lm as failed with the reason.
func TestServiceDefaultJobsWithoutGoSource(t *testing.T) {
	cfg := service.DefaultConfig()
	cfg.Hub.DataDir = t.TempDir()
	cfg.GoRoot = t.TempDir() // no src/ in it
	cfg.Chain.Off = true
	cfg.Hub.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, ln, cfg) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service.Run: %v", err)
		}
	}()
	var jobs struct {
		Jobs []struct{ Name, State, Error string }
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
			resp.Body.Close()
			jobs.Jobs = nil
			getJSON(t, "http://"+ln.Addr().String()+"/api/v1/jobs", http.StatusOK, &jobs)
		}
		if len(jobs.Jobs) >= 2 || time.Now().After(deadline) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the hub stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	states := map[string]string{}
	for _, j := range jobs.Jobs {
		states[j.Name] = j.State
		if j.Name == "gocode-lm" && !strings.Contains(j.Error, "corpus") {
			t.Errorf("gocode-lm failed for %q, want its corpus named", j.Error)
		}
	}
	if len(jobs.Jobs) != 2 || states["mnist-mlp"] != "running" || states["gocode-lm"] != "failed" {
		t.Fatalf("jobs %+v: want mnist-mlp running and gocode-lm failed", jobs.Jobs)
	}
}
