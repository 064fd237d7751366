// Command tessera-hub runs a Tessera hub: it serves the contributor page,
// leases shard tasks to contributors over websockets and verifies their
// results.
//
//	tessera-hub --addr 127.0.0.1:8080 --data ./data
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/kernel"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := doMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// doMain runs the command and returns its exit code: 0 after a clean stop,
// 1 on a runtime failure, 2 on bad flags.
func doMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	svc := service.DefaultConfig()
	cfg := &svc.Hub
	fs := flag.NewFlagSet("tessera-hub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory")
	fs.StringVar(&cfg.Name, "name", cfg.Name, "hub name, part of the text contributors sign")
	fs.DurationVar(&cfg.LeaseTimeout, "lease", cfg.LeaseTimeout, "time a contributor has to return a task")
	fs.IntVar(&cfg.MaxSlots, "max-slots", cfg.MaxSlots, "most tasks one contributor may hold")
	shape := fs.String("matmul-shape", cfg.Matmul.Shape.String(), "shape MxKxN of the built-in matmul job's tasks (\"off\" disables it)")
	fs.IntVar(&cfg.Verification.KeepAfter, "keep-after", cfg.Verification.KeepAfter, "clean results since its last strike before an ordinary contributor may keep weight blocks of jobs with ordinary_keepers (0: never)")
	ownWorkers := fs.String("own-workers", "", "comma-separated addresses of the operator's own workers, exempt from exposure caps")
	fs.BoolVar(&svc.DefaultJob, "default-job", svc.DefaultJob, "create the default training jobs (--jobs) when there is no job")
	jobs := fs.String("jobs", strings.Join(svc.Jobs, ","), "comma-separated default jobs to run (mnist-mlp, gocode-lm); given explicitly, each one missing is created on start")
	fs.StringVar(&svc.Chain.RPC, "chain-rpc", "", "Ethereum JSON-RPC URL to commit credit to (default: an embedded chain in the data directory)")
	fs.StringVar(&svc.Chain.KeyFile, "chain-key", "", "file with the committer's private key in hex (with --chain-rpc)")
	fs.StringVar(&svc.Chain.Contract, "contract", "", "deployed TesseraCredits address (default: deploy one on first start)")
	fs.DurationVar(&svc.Chain.Interval, "epoch", 10*time.Minute, "interval between on-chain commits of credit")
	relayMin := fs.String("relay-min-wei", "0", "the least claim the hub relays and pays gas for (POST /api/v1/claim); smaller ones are claimed through the owner's own node")
	fs.StringVar(&svc.TLS.CertFile, "tls-cert", "", "PEM certificate (with intermediates) to serve HTTPS and WSS with (needs --tls-key)")
	fs.StringVar(&svc.TLS.KeyFile, "tls-key", "", "PEM private key of --tls-cert")
	tlsDomains := fs.String("tls-domain", "", "comma-separated domain names to get certificates for automatically from Let's Encrypt (ACME tls-alpn-01: the CA connects to port 443; certificates kept in DATA/acme)")
	fs.StringVar(&svc.TLS.Email, "acme-email", "", "contact address given to the ACME CA (with --tls-domain; optional)")
	fs.StringVar(&svc.TLS.ACMEDirectory, "acme-directory", "", "ACME directory URL (with --tls-domain; default Let's Encrypt production)")
	allowOrigins := fs.String("allow-origin", "", "comma-separated web origins (https://example.org) besides the hub's own whose pages may contribute")
	trustProxies := fs.String("trust-proxy", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For and X-Forwarded-Host the hub believes")
	publicHosts := fs.String("public-host", "", "comma-separated host[:port] names contributors dial this hub by, when a proxy rewrites Host")
	fs.BoolVar(&svc.Inference.HubCompute, "inference-hub-compute", false, "let the hub compute completions itself when contributors do not (earns no one credit)")
	fs.BoolVar(&svc.Inference.DemoKey, "demo-key", false, "publish a free key (--demo-rate requests/min, kept in DATA/demo.key) for the page's \"Try the model\" box")
	fs.IntVar(&svc.Inference.DemoRate, "demo-rate", service.DefaultDemoRate, fmt.Sprintf("the demo key's requests per minute, 1..%d (a change replaces the key)", service.MaxDemoRate))
	fs.DurationVar(&svc.Inference.StepTimeout, "inference-timeout", 30*time.Second, "how long a completion waits for contributors before it fails")
	noLimits := fs.Bool("no-limits", false, "turn the per-address connection and rate limits off (load tests on loopback)")
	jsonLogs := fs.Bool("log-json", false, "log in JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof reads it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tessera-hub: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	svc.Jobs = splitList(*jobs)
	for _, name := range svc.Jobs {
		if _, ok := train.DefaultSpec(name); !ok {
			fmt.Fprintf(stderr, "tessera-hub: --jobs: no default job is named %q (there are %s)\n", name, strings.Join(train.DefaultSpecNames(), ", "))
			return 2
		}
	}
	fs.Visit(func(f *flag.Flag) { svc.EnsureJobs = svc.EnsureJobs || f.Name == "jobs" })
	if *shape == "off" {
		cfg.Matmul.Shape = kernel.Shape{}
	} else {
		s, err := kernel.ParseShape(*shape)
		if err != nil {
			fmt.Fprintf(stderr, "tessera-hub: --matmul-shape: %v\n", err)
			return 2
		}
		cfg.Matmul.Shape = s
	}
	if k := cfg.Verification.KeepAfter; k < 0 {
		fmt.Fprintf(stderr, "tessera-hub: --keep-after %d: a number of results cannot be negative\n", k)
		return 2
	}
	if e := svc.Chain.Interval; e < time.Second {
		fmt.Fprintf(stderr, "tessera-hub: --epoch %v: the interval between commits must be at least 1s\n", e)
		return 2
	}
	if svc.Chain.RPC != "" && svc.Chain.KeyFile == "" {
		fmt.Fprintln(stderr, "tessera-hub: --chain-rpc needs --chain-key")
		return 2
	}
	if v, ok := new(big.Int).SetString(*relayMin, 10); !ok || v.Sign() < 0 {
		fmt.Fprintf(stderr, "tessera-hub: --relay-min-wei: %q is not a whole number of wei\n", *relayMin)
		return 2
	} else {
		svc.Chain.RelayMinWei = v
	}
	if r := svc.Inference.DemoRate; r < 1 || r > service.MaxDemoRate {
		fmt.Fprintf(stderr, "tessera-hub: --demo-rate: %d is outside 1..%d requests per minute\n", r, service.MaxDemoRate)
		return 2
	}
	if c := svc.Chain.Contract; c != "" && !common.IsHexAddress(c) {
		fmt.Fprintf(stderr, "tessera-hub: --contract: %q is not an address\n", c)
		return 2
	}
	for _, d := range strings.Split(*tlsDomains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			svc.TLS.Domains = append(svc.TLS.Domains, d)
		}
	}
	switch {
	case len(svc.TLS.Domains) > 0 && (svc.TLS.CertFile != "" || svc.TLS.KeyFile != ""):
		fmt.Fprintln(stderr, "tessera-hub: --tls-domain gets certificates automatically: do not also pass --tls-cert or --tls-key")
		return 2
	case (svc.TLS.CertFile == "") != (svc.TLS.KeyFile == ""):
		fmt.Fprintln(stderr, "tessera-hub: --tls-cert and --tls-key go together")
		return 2
	case (svc.TLS.Email != "" || svc.TLS.ACMEDirectory != "") && len(svc.TLS.Domains) == 0:
		fmt.Fprintln(stderr, "tessera-hub: --acme-email and --acme-directory need --tls-domain")
		return 2
	}
	if *noLimits {
		cfg.Limits = hub.Limits{}
	}
	cfg.Limits.AllowedOrigins = splitList(*allowOrigins)
	cfg.PublicHosts = splitList(*publicHosts)
	for _, c := range splitList(*trustProxies) {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				fmt.Fprintf(stderr, "tessera-hub: --trust-proxy: %q is not a CIDR or an IP address\n", c)
				return 2
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		cfg.Limits.TrustedProxies = append(cfg.Limits.TrustedProxies, p)
	}
	for _, o := range cfg.Limits.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			fmt.Fprintf(stderr, "tessera-hub: --allow-origin: %q is not an origin like https://example.org\n", o)
			return 2
		}
	}
	for _, a := range strings.Split(*ownWorkers, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !common.IsHexAddress(a) {
			fmt.Fprintf(stderr, "tessera-hub: --own-workers: %q is not an Ethereum address\n", a)
			return 2
		}
		svc.OwnWorkers = append(svc.OwnWorkers, common.HexToAddress(a).Hex())
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if *jsonLogs {
		h = slog.NewJSONHandler(stderr, nil)
	}
	cfg.Logger = slog.New(h)
	// What logs through the standard library's log package (net/http's
	// server errors) comes out in the same format.
	slog.SetDefault(cfg.Logger)

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			if f != nil {
				f.Close()
			}
			fmt.Fprintf(stderr, "tessera-hub: --cpuprofile: %v\n", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "tessera-hub: listen: %v\n", err)
		return 1
	}
	svc.Ready = func(a net.Addr) {
		web, ws, host := "http", "ws", a.String()
		if svc.TLS.Enabled() {
			web, ws = "https", "wss"
			if len(svc.TLS.Domains) > 0 {
				// The certificate names the domain, not the address.
				_, port, _ := net.SplitHostPort(host)
				host = net.JoinHostPort(svc.TLS.Domains[0], port)
				if port == "443" {
					host = svc.TLS.Domains[0]
				}
			}
		}
		fmt.Fprintf(stdout, "Tessera hub is up: open %s://%s/ to contribute (websocket %s://%s/ws)\n", web, host, ws, host)
	}
	if err := service.Run(ctx, ln, svc); err != nil {
		fmt.Fprintf(stderr, "tessera-hub: %v\n", err)
		return 1
	}
	return 0
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
