package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/backend"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

func TestJobsFlagParse(t *testing.T) {
	long := strings.Repeat("x", 129)
	var many []string
	for i := range 17 {
		many = append(many, fmt.Sprint("job-", i))
	}
	for _, tc := range []struct {
		name, list string
		want       []string // nil: every job
		err        string   // in the error; "" for none
	}{
		{"All", "all", nil, ""},
		{"AllSpaced", " all ", nil, ""},
		{"Two", "mnist-mlp,gocode-lm", []string{"mnist-mlp", "gocode-lm"}, ""},
		{"Spaces", " mnist-mlp , job-0123456789ab ", []string{"mnist-mlp", "job-0123456789ab"}, ""},
		{"Duplicates", "gocode-lm,gocode-lm", []string{"gocode-lm"}, ""},
		{"ErrEmpty", "", nil, "empty job"},
		{"ErrEmptyItem", "mnist-mlp,,gocode-lm", nil, "empty job"},
		{"ErrTrailingComma", "mnist-mlp,", nil, "empty job"},
		{"ErrAllAndNames", "all,mnist-mlp", nil, `"all" cannot be combined`},
		{"ErrTooMany", strings.Join(many, ","), nil, "17 jobs chosen, more than the 16"},
		{"ErrTooLong", long, nil, "more than the 128 allowed"},
		{"ErrControl", "gocode\tlm", nil, "control characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseJobs(tc.list)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseJobs(%q) = %v, %v; want an error with %q", tc.list, got, err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("parseJobs(%q) = %q, %v; want %q", tc.list, got, err, tc.want)
			}
		})
	}
}

func TestChooseJobsFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"Help", []string{"--help"}, exitOK, "-jobs string"},
		{"HelpExample", []string{"--help"}, exitOK, "mnist-mlp,gocode-lm"},
		{"Usage", []string{"help"}, exitOK, "--jobs mnist-mlp,gocode-lm"},
		{"ErrEmptyItem", []string{"--jobs", "a,,b"}, exitUsage, "tessera-edge: --jobs:"},
		{"ErrTooMany", []string{"--jobs", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"}, exitUsage, "17 jobs chosen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("tessera-edge %v: exit %d, want %d with %q in the output:\n%s%s", tc.args, code, tc.code, tc.want, out, errOut)
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the edge's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startMatmulHub runs a hub with only its matmul job on loopback and
// returns its websocket URL.
func startMatmulHub(t *testing.T) (*hub.Hub, string) {
	t.Helper()
	cfg := hub.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Matmul = hub.MatmulConfig{Shape: kernel.Shape{M: 8, K: 8, N: 8}, Seed: 1}
	cfg.Logger = slog.New(slog.DiscardHandler)
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	go h.Run(ctx)
	return h, "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// TestProgressWarnsAboutAnEarlyAnswer starts the progress reporter only
// after the hub has answered the choice of jobs (as happens when the
// connection wins the race against the reporter's goroutine): the
// warning about the unknown job must still be logged once.
func TestProgressWarnsAboutAnEarlyAnswer(t *testing.T) {
	_, url := startMatmulHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev, err := backend.Open(ctx, "cpu", 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	key, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device, cfg.Jobs = url, key, dev, []string{"matmul", "gocode-llm"}
	cfg.Logger = slog.New(slog.DiscardHandler)
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go c.Run(ctx)
	deadline := time.Now().Add(20 * time.Second)
	for c.Stats().JobsNote == "" {
		if time.Now().After(deadline) {
			t.Fatal("the hub never answered the choice of jobs")
		}
		time.Sleep(10 * time.Millisecond)
	}
	api, _, err := hubAPI(url, "")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	p := &progressReporter{c: c, api: api, log: newLogger(&logs, true), out: &logs, address: key.Address().Hex()}
	go p.run(ctx, 20*time.Millisecond)
	want := `the hub has no job named \"gocode-llm\"`
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in the reporter's log:\n%s", want, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several more progress lines
	cancel()
	if n := strings.Count(logs.String(), want); n != 1 {
		t.Errorf("the warning was logged %d times, want once:\n%s", n, logs.String())
	}
}

// TestChooseJobsEdge runs the edge with --jobs against a real hub on
// loopback: it says what it chose when it starts and in every progress
// record, warns about the name the hub does not know (with the hub's
// jobs), and works for the one it does.
func TestChooseJobsEdge(t *testing.T) {
	h, url := startMatmulHub(t)
	var out, errOut syncBuffer
	signals := make(chan os.Signal, 2)
	done := make(chan int, 1)
	go func() {
		done <- doMain([]string{"--hub", url, "--key", t.TempDir() + "/edge.key",
			"--backend", "cpu", "--jobs", "matmul,gocode-llm", "--progress", "100ms", "--log-json"}, &out, &errOut, signals)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for _, want := range []string{
		`"msg":"contributing"`, `"jobs":"matmul,gocode-llm"`,
		`the hub has no job named \"gocode-llm\" (its jobs: matmul); working for matmul only`,
		`"msg":"progress"`,
	} {
		for !strings.Contains(errOut.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s in the edge's log:\n%s", want, errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for h.Matmul().Completed() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the edge did no matmul task though it chose the job:\n%s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	signals <- syscall.SIGTERM
	signals <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d:\n%s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the edge did not stop after two signals")
	}
}
