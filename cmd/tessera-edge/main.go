// Command tessera-edge is Tessera's native contributor: it runs the hub's
// shard tasks on the local GPU through wgpu-native (or on the CPU when no
// adapter works) and earns its key's address a share of the model.
//
//	tessera-edge --hub ws://127.0.0.1:8080/ws --key ~/.config/tessera/edge.key [--jobs mnist-mlp,gocode-lm]
//	tessera-edge bench [--backend cpu|webgpu|all] [--json]
//	tessera-edge proof [--model ID] [--rpc URL]
//
// Without a subcommand it contributes, to the jobs (models) --jobs names or
// to every job the hub runs, until stopped: the first SIGINT or
// SIGTERM finishes the tasks it holds (bounded by --grace), a second one
// stops at once. bench measures the device's kernels; proof fetches the
// key's credit proofs from the hub and checks them against the contract.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	os.Exit(doMain(os.Args[1:], os.Stdout, os.Stderr, signals))
}

// Exit codes.
const (
	exitOK      = 0 // clean stop, bench done, every proof valid
	exitFailure = 1 // runtime failure, or a proof that is not valid
	exitUsage   = 2 // bad flags or arguments
)

// doMain runs the command line args and returns the exit code. signals
// delivers SIGINT and SIGTERM; each subcommand decides what they mean.
func doMain(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	if len(args) > 0 {
		switch args[0] {
		case "bench":
			return runBench(args[1:], stdout, stderr, signals)
		case "proof":
			return runProof(args[1:], stdout, stderr, signals)
		case "claim":
			return runClaim(args[1:], stdout, stderr, signals)
		case "help":
			usage(stdout)
			return exitOK
		}
	}
	return runContribute(args, stdout, stderr, signals)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  tessera-edge [flags]            contribute to a hub (tessera-edge --help for the flags);
                                  --jobs mnist-mlp,gocode-lm works for those models only
  tessera-edge bench [flags]      measure GFLOP/s of each kernel on this machine's devices
  tessera-edge proof [flags]      print this key's credit proofs and check them on-chain
  tessera-edge claim [flags]      claim this key's earnings from the models' revenue vaults

Run a subcommand with --help for its flags.
`)
}

// parseFlags parses args into fs and turns the outcome into an exit code:
// -1 to go on, exitOK after --help, exitUsage on bad flags or arguments.
func parseFlags(fs *flag.FlagSet, args []string) int {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		return exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage
	}
	return -1
}

func defaultKeyPath() string {
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "tessera", "edge.key")
	}
	return "tessera-edge.key"
}

// cancelOnSignal returns a context that ends at the first signal.
func cancelOnSignal(signals <-chan os.Signal) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-signals:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
