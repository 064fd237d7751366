// Command tessera-admin is the hub operator's CLI over the hub's admin API:
// status, training jobs, connected workers, contributors (bans included),
// credit and shares, on-chain epochs, and checking a contributor's proof
// against the contract.
//
//	tessera-admin --hub http://127.0.0.1:8080 --token-file data/admin.token workers list
//	tessera-admin jobs create job.json
//	tessera-admin credits export job-0123456789ab --format csv --out shares.csv
//	tessera-admin verify-proof job-0123456789ab 0xAbC...
//
// Output is a table by default and JSON with --json. Every command and
// group has --help. Exit codes are listed in exitCodes below and printed
// by `tessera-admin --help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/tessera-ai/tessera/internal/tlsca"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := doMain(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes, so that scripts can tell failures apart.
const (
	exitOK       = 0 // done
	exitFailed   = 1 // the hub or the operation failed, or the hub could not be reached
	exitUsage    = 2 // bad command line
	exitAuth     = 3 // no admin token, or the hub refused it
	exitNotFound = 4 // the job, worker, contributor, model or epoch does not exist
	exitInvalid  = 5 // verify-proof: the contract does not accept the proof
)

const exitCodes = `Exit codes:
  0  done
  1  the hub or the operation failed, or the hub could not be reached
  2  bad command line
  3  no admin token, or the hub refused it
  4  the job, worker, contributor, model or epoch does not exist
  5  verify-proof: the contract does not accept the proof
`

const environment = `Environment:
  TESSERA_HUB          the hub's URL when --hub is not given
  TESSERA_ADMIN_TOKEN  the admin token when --token-file is not given
`

// Defaults of the global flags.
const (
	defaultHub       = "http://127.0.0.1:8080"
	defaultTokenFile = "data/admin.token"
	defaultTimeout   = 60 * time.Second
)

// options are the flags every command accepts, before or after its name.
type options struct {
	hub       string
	tokenFile string // "" means TESSERA_ADMIN_TOKEN, else defaultTokenFile
	json      bool
	timeout   time.Duration
	caCert    string // --ca-cert: a private CA for an https hub
}

// register adds the global flags to fs, with their current values as
// defaults, so that parsing a command's flags keeps what was set before
// the command's name.
func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.hub, "hub", o.hub, "the hub's URL (or $TESSERA_HUB)")
	fs.StringVar(&o.tokenFile, "token-file", o.tokenFile,
		"file holding the admin token, written by the hub on first start (default $TESSERA_ADMIN_TOKEN, else "+defaultTokenFile+")")
	fs.BoolVar(&o.json, "json", o.json, "print JSON instead of tables")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "time limit for the command")
	fs.StringVar(&o.caCert, "ca-cert", o.caCert, tlsca.Usage)
}

// app is one invocation: options, output and the hub's API.
type app struct {
	opts   options
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// doMain runs the command line args and returns the exit code.
func doMain(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr,
		opts: options{hub: defaultHub, timeout: defaultTimeout}}
	if h := getenv("TESSERA_HUB"); h != "" {
		a.opts.hub = h
	}
	return a.dispatch(ctx, []string{"tessera-admin"}, rootCommand(), args)
}

// dispatch parses args for c (path names it) and runs it, or descends
// into the subcommand args name.
func (a *app) dispatch(ctx context.Context, path []string, c *command, args []string) int {
	fs := flag.NewFlagSet(strings.Join(path, " "), flag.ContinueOnError)
	fs.SetOutput(io.Discard) // usage is printed below, once
	a.opts.register(fs)
	var run runFunc
	if c.setup != nil {
		run = c.setup(fs)
	}
	if c.subs != nil {
		if err := fs.Parse(args); err != nil {
			return a.flagError(path, c, fs, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			fmt.Fprintf(a.stderr, "%s: which command?\n\n", strings.Join(path, " "))
			c.usage(a.stderr, path, fs)
			return exitUsage
		}
		if rest[0] == "help" {
			return a.help(path, c, rest[1:])
		}
		sub := c.find(rest[0])
		if sub == nil {
			fmt.Fprintf(a.stderr, "%s: unknown command %q (try --help)\n", strings.Join(path, " "), rest[0])
			return exitUsage
		}
		return a.dispatch(ctx, append(path, sub.name), sub, rest[1:])
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return a.flagError(path, c, fs, err)
	}
	if len(pos) != len(c.args) {
		fmt.Fprintf(a.stderr, "%s: want %d argument(s) (%s), got %d\n\n", strings.Join(path, " "), len(c.args), strings.Join(c.args, " "), len(pos))
		c.usage(a.stderr, path, fs)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, a.opts.timeout)
	defer cancel()
	return a.report(path, run(ctx, a, pos))
}

// help prints the help of the command that names walks to from c.
func (a *app) help(path []string, c *command, names []string) int {
	for _, n := range names {
		sub := c.find(n)
		if sub == nil {
			fmt.Fprintf(a.stderr, "%s: unknown command %q\n", strings.Join(path, " "), n)
			return exitUsage
		}
		path, c = append(path, sub.name), sub
	}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	a.opts.register(fs)
	if c.setup != nil {
		c.setup(fs)
	}
	c.usage(a.stdout, path, fs)
	return exitOK
}

// flagError reports a bad flag, or prints the help asked for with -h.
func (a *app) flagError(path []string, c *command, fs *flag.FlagSet, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		c.usage(a.stdout, path, fs)
		return exitOK
	}
	fmt.Fprintf(a.stderr, "%s: %v\n\n", strings.Join(path, " "), err)
	c.usage(a.stderr, path, fs)
	return exitUsage
}

// report prints a command's error, if any, and returns its exit code.
func (a *app) report(path []string, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(a.stderr, "%s: %v\n", strings.Join(path, " "), err)
	var ce interface{ exitCode() int }
	if errors.As(err, &ce) {
		return ce.exitCode()
	}
	return exitFailed
}

// cliError is an error with its exit code.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }
func (e *cliError) exitCode() int { return e.code }

func usageErrorf(format string, args ...any) error {
	return &cliError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &cliError{code: exitNotFound, msg: fmt.Sprintf(format, args...)}
}
