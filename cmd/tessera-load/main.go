// Command tessera-load is the hub's load benchmark: it starts a hub as a
// separate process (this binary re-executed, running the production
// assembly of hub/service on loopback with a real SQLite ledger), connects
// thousands of contributors to it over real websockets, most of them idle
// and some computing small matmul tasks, and reports the hub's memory, the
// lease latency the busy contributors see and the tasks per second.
//
//	tessera-load --idle 10000 --active 1000 --window 30s
//
// The hub runs in its own process so that its memory (VmRSS, VmHWM) and CPU
// time are read from /proc apart from the load generator's.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tessera-ai/tessera/internal/kernel"
)

func main() {
	if settings, ok := os.LookupEnv(hubEnv); ok {
		os.Exit(hubMain(settings, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := doMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// doMain runs the benchmark and returns the exit code: 0 when it ran (goals
// met or not: the report says), 1 when it could not run, 2 on bad flags.
func doMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("tessera-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Idle, "idle", cfg.Idle, "contributors that connect and then hold no slot")
	fs.IntVar(&cfg.Active, "active", cfg.Active, "contributors that compute tasks without pause")
	fs.IntVar(&cfg.Slots, "slots", cfg.Slots, "tasks each active contributor holds at once")
	fs.DurationVar(&cfg.Think, "think", cfg.Think, "mean time an active contributor adds to each task (device and network); 0 measures the hub's capacity")
	shape := fs.String("shape", cfg.Shape.String(), "shape MxKxN of the hub's matmul tasks")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "time after everyone connected before measuring")
	fs.DurationVar(&cfg.Window, "window", cfg.Window, "time measured")
	fs.IntVar(&cfg.SourceIPs, "source-ips", cfg.SourceIPs, "loopback source addresses the contributors are spread over (127.0.0.1 and up), as seen by the hub's per-IP limits; 0 gives each its own")
	fs.BoolVar(&cfg.Limits, "limits", cfg.Limits, "keep the hub's default per-IP limits (connections, connection and message rates)")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", cfg.DialConcurrency, "handshakes in progress at once while connecting")
	fs.BoolVar(&cfg.Chain, "chain", cfg.Chain, "run the hub's embedded chain and epoch committer, as in production")
	fs.StringVar(&cfg.DataDir, "data", "", "hub data directory, kept afterwards (default: a temporary one, removed)")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "write the hub's CPU profile of the window and a heap profile at its end to this directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tessera-load: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	sh, err := kernel.ParseShape(*shape)
	if err != nil {
		fmt.Fprintf(stderr, "tessera-load: --shape: %v\n", err)
		return 2
	}
	cfg.Shape = sh
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "tessera-load: %v\n", err)
		return 2
	}
	rep, err := Run(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "tessera-load: %v\n", err)
		return 1
	}
	rep.Print(stdout)
	return 0
}
