package main

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the hub process that Run starts
// by re-executing its own binary.
func TestMain(m *testing.M) {
	if settings, ok := os.LookupEnv(hubEnv); ok {
		os.Exit(hubMain(settings, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestRun runs a small load against a real hub process: every contributor
// must connect, the active ones must get tasks that the hub accepts, and
// the hub's memory and runtime figures must have been read.
func TestRun(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Idle, cfg.Active, cfg.Slots = 40, 10, 2
	cfg.Think = time.Millisecond
	cfg.SourceIPs = 3
	cfg.Warmup, cfg.Window = 200*time.Millisecond, time.Second
	cfg.Chain = false
	cfg.ProfileDir = t.TempDir()
	var progress bytes.Buffer
	rep, err := Run(context.Background(), cfg, &progress)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, progress.String())
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log(out.String())
	if rep.Connected != 50 {
		t.Errorf("the hub counted %d sessions, want 50", rep.Connected)
	}
	if rep.Dropped != 0 || rep.Refused != 0 || rep.Unanswered != 0 {
		t.Errorf("%d dropped (%v), %d refused (%s), %d unanswered; want none", rep.Dropped, rep.DropErrors, rep.Refused, rep.LastRefusal, rep.Unanswered)
	}
	if rep.Sent == 0 || rep.Verified == 0 || len(rep.Latencies) == 0 {
		t.Errorf("%d results sent, %d accepted, %d leases timed; want some of each", rep.Sent, rep.Verified, len(rep.Latencies))
	}
	// Every result sent in the window is a request for work made in it,
	// answered by a task (and timed) or counted as unanswered.
	if got := int64(len(rep.Latencies) + rep.Unanswered); got != rep.Sent {
		t.Errorf("%d leases timed and %d unanswered for %d results sent", len(rep.Latencies), rep.Unanswered, rep.Sent)
	}
	if !slices.IsSorted(rep.Latencies) || rep.Lease(0) <= 0 {
		t.Errorf("latencies not sorted or not positive: min %v", rep.Lease(0))
	}
	if rep.HubRSSPeak < rep.HubRSSEnd || rep.HubRSSEnd <= 0 || rep.HubHeapInuse <= 0 || rep.HubGoroutines < 100 {
		t.Errorf("hub memory: peak %d, end %d, heap %d, %d goroutines; want positive, peak ≥ end, ≥ 2 goroutines a contributor",
			rep.HubRSSPeak, rep.HubRSSEnd, rep.HubHeapInuse, rep.HubGoroutines)
	}
	if rep.HubCPU <= 0 || rep.HubNoFile != rep.FDSoft {
		t.Errorf("hub CPU %.2f cores, its fd limit %d (here %d); want positive and inherited", rep.HubCPU, rep.HubNoFile, rep.FDSoft)
	}
	for _, name := range []string{"hub-cpu.pprof", "hub-heap.pprof"} {
		if fi, err := os.Stat(cfg.ProfileDir + "/" + name); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s: %v", name, err)
		}
	}
}

// TestRunTooFewDescriptors checks that a load beyond RLIMIT_NOFILE is
// refused up front with a clear error, before any hub starts.
func TestRunTooFewDescriptors(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max > 1<<24 {
		t.Skipf("hard RLIMIT_NOFILE %d is too large to exceed", lim.Max)
	}
	cfg := DefaultConfig()
	cfg.Idle = int(lim.Max)
	_, err := Run(context.Background(), cfg, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "RLIMIT_NOFILE") {
		t.Fatalf("Run with %d contributors: %v, want an RLIMIT_NOFILE error", cfg.Idle, err)
	}
}

func TestDoMainBadFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"NoActive":        {"--active", "0"},
		"NegativeIdle":    {"--idle", "-1"},
		"BadShape":        {"--shape", "0x16x16"},
		"NoWindow":        {"--window", "0s"},
		"NegativeThink":   {"--think", "-1ms"},
		"TooManySlots":    {"--slots", "65"},
		"NegativeSources": {"--source-ips", "-1"},
		"Argument":        {"extra"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := doMain(context.Background(), args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2; stderr: %s", code, stderr.String())
			}
			if stderr.Len() == 0 {
				t.Error("no message on stderr")
			}
		})
	}
}

func TestLease(t *testing.T) {
	r := &Report{}
	for i := 1; i <= 200; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0, time.Millisecond}, {0.5, 100 * time.Millisecond}, {0.99, 198 * time.Millisecond}, {1, 200 * time.Millisecond}} {
		if got := r.Lease(tc.q); got != tc.want {
			t.Errorf("Lease(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := (&Report{}).Lease(0.99); got != 0 {
		t.Errorf("Lease of no latencies = %v, want 0", got)
	}
}

func TestSourceIP(t *testing.T) {
	for i, want := range map[int]string{0: "127.0.0.1", 249: "127.0.0.250", 250: "127.0.1.1", maxSourceIPs - 1: "127.0.249.250"} {
		if got := sourceIP(i).String(); got != want {
			t.Errorf("sourceIP(%d) = %s, want %s", i, got, want)
		}
	}
}
