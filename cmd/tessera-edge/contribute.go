package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/backend"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
	"github.com/tessera-ai/tessera/internal/tlsca"
	"github.com/tessera-ai/tessera/shaders"
)

// runContribute runs the contributor until it is stopped: the first
// signal drains (finish what is held, take nothing new), a second one or
// the end of the grace period stops at once.
func runContribute(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	fs := flag.NewFlagSet("tessera-edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		usage(stderr)
		fmt.Fprintln(stderr, "\nFlags of tessera-edge (contribute):")
		fs.PrintDefaults()
	}
	hub := fs.String("hub", "ws://127.0.0.1:8080/ws", "hub websocket URL")
	keyPath := fs.String("key", defaultKeyPath(), "key file (created with mode 0600 on first run); its address earns the credit")
	slots := fs.Int("slots", 2, "tasks held at once (one running, the rest prefetched)")
	cacheMiB := fs.Int("operand-cache", client.DefaultCacheMiB, "MiB of memory for operands the hub sends once and refers to in later tasks (0: none; fewer bytes on the network with it)")
	backendName := fs.String("backend", "auto", "compute backend: auto, webgpu or cpu")
	familyName := fs.String("family", "auto", "WebGPU kernel family: auto (chosen per adapter), "+strings.Join(familyNames(), ", "))
	progress := fs.Duration("progress", 10*time.Second, "interval between progress lines (0 disables)")
	grace := fs.Duration("grace", 30*time.Second, "on SIGINT/SIGTERM, how long to finish the tasks held before stopping anyway")
	printAddr := fs.Bool("print-address", false, "print the key's address (creating the key if needed) and exit")
	kernelList := fs.String("kernels", "all", "kernels to run natively, e.g. matmul_nn,matmul_nt (the hub ships a sandboxed module for the rest)")
	jobList := fs.String("jobs", "all", "jobs (models) to work for, by name or ID, e.g. mnist-mlp,gocode-lm; \"all\" is every job the hub runs, its matmul benchmark included (credit is kept per model either way)")
	jsonLogs := fs.Bool("log-json", false, "log in JSON (progress lines included)")
	caCert := fs.String("ca-cert", "", tlsca.Usage)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	kernels, err := parseKernels(*kernelList)
	if err != nil {
		fmt.Fprintf(stderr, "tessera-edge: --kernels: %v\n", err)
		return exitUsage
	}
	var family shaders.Family
	if *familyName != "auto" {
		if family, err = shaders.ParseFamily(*familyName); err != nil {
			fmt.Fprintf(stderr, "tessera-edge: --family: %v\n", err)
			return exitUsage
		}
	}
	jobs, err := parseJobs(*jobList)
	if err != nil {
		fmt.Fprintf(stderr, "tessera-edge: --jobs: %v\n", err)
		return exitUsage
	}
	if *grace < 0 {
		fmt.Fprintf(stderr, "tessera-edge: --grace %v is negative\n", *grace)
		return exitUsage
	}
	if *cacheMiB < 0 || *cacheMiB > protocol.MaxCacheMiB {
		fmt.Fprintf(stderr, "tessera-edge: --operand-cache %d is not between 0 and %d MiB\n", *cacheMiB, protocol.MaxCacheMiB)
		return exitUsage
	}
	// Checked before the device opens (seconds), with client.New's own
	// checks; a zero --slots would be its default, not what was asked.
	if *slots < 1 || *slots > client.MaxSlots {
		fmt.Fprintf(stderr, "tessera-edge: --slots %d is not between 1 and %d\n", *slots, client.MaxSlots)
		return exitUsage
	}
	if err := client.CheckHubURL(*hub); err != nil {
		fmt.Fprintf(stderr, "tessera-edge: --hub: %v\n", err)
		return exitUsage
	}
	api, tlsCfg, err := hubAPI(*hub, *caCert)
	if err != nil {
		fmt.Fprintf(stderr, "tessera-edge: %v\n", err)
		return exitUsage
	}
	log := newLogger(stderr, *jsonLogs)

	key, created, err := identity.LoadOrCreate(*keyPath)
	if err != nil {
		log.Error("cannot load key", "err", err)
		return exitFailure
	}
	if created {
		log.Info("created a new key; back it up, it is your ownership", "file", *keyPath)
	}
	if *printAddr {
		fmt.Fprintln(stdout, key.Address().Hex())
		return exitOK
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev, err := backend.Open(ctx, *backendName, family, log)
	if err != nil {
		log.Error("cannot open compute backend", "err", err)
		return exitFailure
	}
	info := dev.Info()
	log.Info("device ready", "backend", info.Backend, "adapter", info.Adapter, "type", info.AdapterType, "kernels", info.Variant)

	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device, cfg.Slots, cfg.Logger = *hub, key, dev, *slots, log
	cfg.CacheMiB = *cacheMiB
	if *cacheMiB == 0 {
		cfg.CacheMiB = -1 // none
	}
	cfg.Agent = "tessera-edge/0.1"
	cfg.Kernels = kernels
	cfg.Jobs = jobs
	if tlsCfg != nil {
		cfg.Dial = client.DialTLS(tlsCfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		dev.Close()
		log.Error("bad configuration", "err", err)
		return exitUsage
	}
	log.Info("contributing", "hub", *hub, "address", key.Address().Hex(), "slots", *slots, "jobs", jobsText(jobs))
	go stopOnSignals(ctx, cancel, c, signals, *grace, log)
	if *progress > 0 {
		p := &progressReporter{c: c, api: api, address: key.Address().Hex(), log: log, human: isTerminal(stderr) && !*jsonLogs, out: stderr}
		go p.run(ctx, *progress)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	select {
	case err = <-runErr:
	case <-ctx.Done():
		// Stopping at once: a CPU kernel cannot be interrupted, so do not
		// wait out a long task. Its connection closes with the process,
		// and the hub leases the task to someone else.
		select {
		case err = <-runErr:
		case <-time.After(stopWait):
			log.Warn("stopped while a task was still computing; the hub will lease it to someone else", "unfinished", c.Stats().Held)
			return exitOK
		}
	}
	dev.Close()
	if err != nil {
		log.Error("stopped", "err", err)
		return exitFailure
	}
	s := c.Stats()
	if s.Held > 0 {
		log.Warn("stopped before finishing every task; the hub will lease them to someone else", "unfinished", s.Held)
	}
	log.Info("stopped", "tasks", s.TasksDone, "accepted", s.Accepted, "refused", s.Refused,
		"accepted_gflop", fmt.Sprintf("%.3f", s.AcceptedFLOPs/1e9))
	return exitOK
}

// stopWait is how long a stop that does not finish the tasks held waits
// for the running one to give up before the process exits anyway.
const stopWait = 2 * time.Second

// stopOnSignals drains c at the first signal and cancels the run at the
// second one or when the grace period ends.
func stopOnSignals(ctx context.Context, cancel context.CancelFunc, c *client.Client, signals <-chan os.Signal, grace time.Duration, log *slog.Logger) {
	select {
	case sig := <-signals:
		log.Info("stopping: finishing the tasks held, taking no new ones; signal again to stop now",
			"signal", sig.String(), "held", c.Stats().Held, "grace", grace)
	case <-ctx.Done():
		return
	}
	c.Drain()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case sig := <-signals:
		log.Warn("second signal: stopping now", "signal", sig.String(), "held", c.Stats().Held)
	case <-timer.C:
		log.Warn("grace period over: stopping now", "grace", grace, "held", c.Stats().Held)
	case <-ctx.Done():
		return
	}
	cancel()
}

// parseKernels reads --kernels: "all" (nil) or a comma-separated list.
func parseKernels(list string) ([]kernel.Op, error) {
	if list == "all" {
		return nil, nil
	}
	var ops []kernel.Op
	for _, name := range strings.Split(list, ",") {
		op, err := kernel.ParseOp(strings.TrimSpace(name))
		if err != nil {
			return nil, fmt.Errorf("%v (known: %v)", err, kernel.Ops)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// parseJobs reads --jobs: "all" (nil) or a comma-separated list of job
// names or IDs.
func parseJobs(list string) ([]string, error) {
	if strings.TrimSpace(list) == "all" {
		return nil, nil
	}
	var jobs []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, fmt.Errorf("%q names an empty job: give job names or IDs separated by commas, or \"all\"", list)
		}
		if name == "all" {
			return nil, fmt.Errorf("%q: \"all\" cannot be combined with job names", list)
		}
		jobs = append(jobs, name)
	}
	return client.CheckJobs(jobs)
}

// jobsText is a choice of jobs for people: "all" or the names.
func jobsText(jobs []string) string {
	if len(jobs) == 0 {
		return "all"
	}
	return strings.Join(jobs, ",")
}

func newLogger(w io.Writer, json bool) *slog.Logger {
	if json {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// isTerminal reports whether w is a character device (a terminal), where
// the progress line is written for people rather than for a log parser.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
