// Command tessera-edge is Tessera's native contributor: it runs the hub's
// shard tasks on the local GPU through wgpu-native (or on the CPU when no
// adapter works) and earns its key's address a share of the model.
//
//	tessera-edge --hub ws://127.0.0.1:8080/ws --key ~/.config/tessera/edge.key
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/backend"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := doMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func defaultKeyPath() string {
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "tessera", "edge.key")
	}
	return "tessera-edge.key"
}

// doMain runs the command and returns its exit code: 0 after a clean stop,
// 1 on a runtime failure, 2 on bad flags.
func doMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tessera-edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hub := fs.String("hub", "ws://127.0.0.1:8080/ws", "hub websocket URL")
	keyPath := fs.String("key", defaultKeyPath(), "key file (created with mode 0600 on first run); its address earns the credit")
	slots := fs.Int("slots", 2, "tasks held at once (one running, the rest prefetched)")
	backendName := fs.String("backend", "auto", "compute backend: auto, webgpu or cpu")
	progress := fs.Duration("progress", 10*time.Second, "interval between progress lines (0 disables)")
	printAddr := fs.Bool("print-address", false, "print the key's address (creating the key if needed) and exit")
	kernelList := fs.String("kernels", "all", "kernels to run natively, e.g. matmul_nn,matmul_nt (the hub ships a sandboxed module for the rest)")
	jsonLogs := fs.Bool("log-json", false, "log in JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tessera-edge: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var kernels []kernel.Op
	if *kernelList != "all" {
		for _, name := range strings.Split(*kernelList, ",") {
			op, err := kernel.ParseOp(strings.TrimSpace(name))
			if err != nil {
				fmt.Fprintf(stderr, "tessera-edge: --kernels: %v (known: %v)\n", err, kernel.Ops)
				return 2
			}
			kernels = append(kernels, op)
		}
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if *jsonLogs {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)

	key, created, err := identity.LoadOrCreate(*keyPath)
	if err != nil {
		log.Error("cannot load key", "err", err)
		return 1
	}
	if created {
		log.Info("created a new key; back it up, it is your ownership", "file", *keyPath)
	}
	if *printAddr {
		fmt.Fprintln(stdout, key.Address().Hex())
		return 0
	}
	dev, err := backend.Open(ctx, *backendName, log)
	if err != nil {
		log.Error("cannot open compute backend", "err", err)
		return 1
	}
	defer dev.Close()
	info := dev.Info()
	log.Info("device ready", "backend", info.Backend, "adapter", info.Adapter, "type", info.AdapterType, "kernels", info.Variant)

	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device, cfg.Slots, cfg.Logger = *hub, key, dev, *slots, log
	cfg.Agent = "tessera-edge/0.1"
	cfg.Kernels = kernels
	c, err := client.New(cfg)
	if err != nil {
		log.Error("bad configuration", "err", err)
		return 2
	}
	log.Info("contributing", "hub", *hub, "address", key.Address().Hex(), "slots", *slots)
	if *progress > 0 {
		go reportProgress(ctx, c, *progress, log)
	}
	if err := c.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped", "err", err)
		return 1
	}
	s := c.Stats()
	log.Info("stopped", "tasks", s.TasksDone, "accepted", s.Accepted, "refused", s.Refused)
	return 0
}

// reportProgress logs tasks per second and GFLOP/s over each interval.
func reportProgress(ctx context.Context, c *client.Client, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	prev := c.Stats()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := c.Stats()
		sec := every.Seconds()
		log.Info("progress", "state", s.State,
			"tasks_per_s", fmt.Sprintf("%.1f", float64(s.TasksDone-prev.TasksDone)/sec),
			"gflops", fmt.Sprintf("%.2f", (s.FLOPs-prev.FLOPs)/sec/1e9),
			"done", s.TasksDone, "accepted", s.Accepted, "refused", s.Refused)
		if s.LastRefusal != prev.LastRefusal && s.LastRefusal != "" {
			log.Warn("last refusal", "reason", s.LastRefusal)
		}
		prev = s
	}
}
