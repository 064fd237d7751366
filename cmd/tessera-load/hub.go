package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// hubEnv, when set, makes this binary serve as the hub under load instead
// of generating load; its value is the hub's settings as JSON.
const hubEnv = "TESSERA_LOAD_HUB"

// hubName is the hub's name, part of the text contributors sign.
const hubName = "tessera-load"

// hubSettings is what the load generator tells the hub process.
type hubSettings struct {
	DataDir string
	Shape   kernel.Shape
	Chain   bool
	// Limits keeps the default per-IP limits; false disables them.
	Limits bool
	// Debug serves net/http/pprof on a second loopback listener.
	Debug bool
}

// hubAddrs is the line the hub process prints once it serves.
type hubAddrs struct {
	Addr  string // the hub's listener
	Debug string // pprof's listener, "" without Debug
	// NoFile is the hub process's RLIMIT_NOFILE soft limit.
	NoFile uint64
}

// hubMain is the hub process: hub/service as cmd/tessera-hub runs it, with
// the built-in matmul job of the given shape and no training job. It
// serves until SIGTERM.
func hubMain(settings string, stdout, stderr io.Writer) int {
	var s hubSettings
	if err := json.Unmarshal([]byte(settings), &s); err != nil {
		fmt.Fprintf(stderr, "tessera-load hub: %s: %v\n", hubEnv, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serveHub(ctx, s, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "tessera-load hub: %v\n", err)
		return 1
	}
	return 0
}

func serveHub(ctx context.Context, s hubSettings, stdout, stderr io.Writer) error {
	cfg := service.DefaultConfig()
	cfg.Hub.Name = hubName
	cfg.Hub.DataDir = s.DataDir
	cfg.Hub.Matmul.Shape = s.Shape
	cfg.Hub.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	cfg.DefaultJob = false
	cfg.Chain.Off = !s.Chain
	if !s.Limits {
		cfg.Hub.Limits = hub.Limits{}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addrs := hubAddrs{Addr: ln.Addr().String()}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		addrs.NoFile = lim.Cur
	}
	if s.Debug {
		dln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go http.Serve(dln, mux)
		defer dln.Close()
		addrs.Debug = dln.Addr().String()
	}
	cfg.Ready = func(net.Addr) {
		line, _ := json.Marshal(addrs)
		fmt.Fprintf(stdout, "%s\n", line)
	}
	return service.Run(ctx, ln, cfg)
}

// hubProcess is the hub running in a child process.
type hubProcess struct {
	hubAddrs
	cmd  *exec.Cmd
	done chan error // Wait's result
}

// hubStartWait bounds the hub's start (an embedded chain deploys its
// contract on a fresh data directory).
const hubStartWait = 2 * time.Minute

// startHub re-executes this binary as the hub with s; the hub's log goes to
// DataDir/hub.log. The child inherits this process's RLIMIT_NOFILE.
func startHub(ctx context.Context, s hubSettings) (*hubProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary to run the hub: %w", err)
	}
	settings, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(s.DataDir, "hub.log"))
	if err != nil {
		return nil, fmt.Errorf("create the hub's log: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), hubEnv+"="+string(settings))
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the hub: %w", err)
	}
	p := &hubProcess{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
	}()
	select {
	case line, ok := <-lines:
		if ok && json.Unmarshal([]byte(line), &p.hubAddrs) == nil && p.Addr != "" {
			return p, nil
		}
		p.stop()
		return nil, fmt.Errorf("the hub did not start (its log: %s)", logFile.Name())
	case <-time.After(hubStartWait):
		p.stop()
		return nil, fmt.Errorf("the hub did not start within %v (its log: %s)", hubStartWait, logFile.Name())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// hubStopWait is how long the hub has to shut down after SIGTERM.
const hubStopWait = time.Minute

// stop asks the hub to shut down and kills it if it has not within
// hubStopWait. It returns the hub's exit error, if any.
func (p *hubProcess) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(hubStopWait):
		p.cmd.Process.Kill()
		<-p.done
		return errors.New("the hub did not stop within a minute of SIGTERM and was killed")
	}
}

// pid is the hub process's ID.
func (p *hubProcess) pid() int { return p.cmd.Process.Pid }
