package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is a node of the command tree: a group with subs, or a leaf
// that runs.
type command struct {
	name    string
	args    []string // the leaf's positional arguments, by name
	summary string   // one line, for the parent's list
	details string   // paragraphs for the command's own --help
	subs    []*command
	// setup registers the command's own flags on fs and returns what
	// runs it (nil for groups).
	setup func(fs *flag.FlagSet) runFunc
}

// runFunc runs a leaf command with its positional arguments.
type runFunc func(ctx context.Context, a *app, args []string) error

func (c *command) find(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// usage prints c's help: synopsis, details, subcommands, flags.
func (c *command) usage(w io.Writer, path []string, fs *flag.FlagSet) {
	name := strings.Join(path, " ")
	if c.subs != nil {
		fmt.Fprintf(w, "Usage: %s [flags] <command> ...\n\n", name)
	} else {
		fmt.Fprintf(w, "Usage: %s [flags] %s\n\n", name, strings.Join(c.args, " "))
	}
	fmt.Fprintln(w, c.summary)
	if c.details != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.details))
	}
	if c.subs != nil {
		fmt.Fprintln(w, "\nCommands:")
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		for _, s := range c.subs {
			fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(s.name+" "+strings.Join(s.args, " ")), s.summary)
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "\nFlags (before or after the command):")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	if c.subs != nil {
		fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's own help.\n", name)
	}
	if len(path) == 1 {
		fmt.Fprintf(w, "\n%s\n%s", environment, exitCodes)
	}
}

// parseInterspersed parses fs from args, allowing flags after positional
// arguments ("jobs show ID --json"); "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// rootCommand is the whole command tree.
func rootCommand() *command {
	return &command{
		name:    "tessera-admin",
		summary: "Operate a Tessera hub through its admin API.",
		details: `Reads the admin token the hub writes (mode 0600) to DATA/admin.token on
first start. Prints tables; --json prints JSON for scripts.`,
		subs: []*command{
			statusCommand(),
			jobsCommand(),
			workersCommand(),
			contributorsCommand(),
			creditsCommand(),
			epochsCommand(),
			verifyProofCommand(),
			keysCommand(),
			revenueCommand(),
		},
	}
}
