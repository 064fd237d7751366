package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/hub"
)

// edgeBuild builds the real commands once per test binary.
var edgeBuild struct {
	once sync.Once
	dir  string
	err  error
}

// edgeBinaries returns a directory holding freshly built tessera-hub and
// tessera-edge binaries.
func edgeBinaries(tb testing.TB) string {
	tb.Helper()
	edgeBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "tessera-e2e-bin")
		if err != nil {
			edgeBuild.err = err
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/tessera-hub", "./cmd/tessera-edge", "./cmd/tessera-admin")
		cmd.Dir = moduleRoot(tb)
		out, err := cmd.CombinedOutput()
		if err != nil {
			edgeBuild.err = &buildError{err: err, out: string(out)}
		}
		edgeBuild.dir = dir
	})
	if edgeBuild.err != nil {
		tb.Fatalf("build commands: %v", edgeBuild.err)
	}
	return edgeBuild.dir
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

func moduleRoot(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		tb.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// proc is a running command whose output is collected.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan error
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// start runs bin with args; onLine, if set, sees each stdout line.
func start(tb testing.TB, bin string, args []string, onLine func(string)) *proc {
	tb.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Stderr = p
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.Write([]byte(sc.Text() + "\n"))
			if onLine != nil {
				onLine(sc.Text())
			}
		}
		io.Copy(io.Discard, stdout)
		p.done <- p.cmd.Wait()
	}()
	tb.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if tb.Failed() {
			tb.Logf("output of %s:\n%s", filepath.Base(bin), p.output())
		}
	})
	return p
}

// stop sends SIGINT and returns the exit error after a clean stop.
func (p *proc) stop(tb testing.TB) error {
	tb.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-p.done:
		p.done <- err // for Cleanup
		return err
	case <-time.After(15 * time.Second):
		tb.Fatalf("%s did not stop within 15 s of SIGINT", p.cmd.Path)
		return nil
	}
}

var urlLine = regexp.MustCompile(`open (http://[0-9.:]+)/`)

// startHubBinary runs the real tessera-hub on a free loopback port and
// returns its base URL.
func startHubBinary(tb testing.TB, bins string, extra ...string) (*proc, string) {
	tb.Helper()
	return startHubOn(tb, bins, "127.0.0.1:0", append([]string{"--data", tb.TempDir()}, extra...))
}

// startHubOn runs the real tessera-hub on addr with args and returns its
// base URL.
func startHubOn(tb testing.TB, bins, addr string, args []string) (*proc, string) {
	tb.Helper()
	urls := make(chan string, 1)
	args = append([]string{"--addr", addr}, args...)
	p := start(tb, filepath.Join(bins, "tessera-hub"), args, func(line string) {
		if m := urlLine.FindStringSubmatch(line); m != nil {
			urls <- m[1]
		}
	})
	// Start-up opens SQLite, compiles the arbitration sandbox and deploys the
	// contract on the embedded chain: on a CI machine busy with other
	// packages' tests it once took over 20 s.
	select {
	case u := <-urls:
		return p, u
	case <-time.After(90 * time.Second):
		tb.Fatalf("the hub printed no URL:\n%s", p.output())
		return nil, ""
	}
}

func edgeStatus(tb testing.TB, base string) hub.Status {
	tb.Helper()
	resp, err := http.Get(base + "/api/v1/status")
	if err != nil {
		tb.Fatalf("GET status: %v", err)
	}
	defer resp.Body.Close()
	var st hub.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		tb.Fatalf("decode status: %v", err)
	}
	return st
}

// TestEdgeOnLavapipe runs the real hub and the real edge client with
// --backend webgpu: the edge must find a WebGPU adapter (lavapipe on a
// CPU-only machine), complete tasks that pass the Freivalds check, and stop
// cleanly on SIGINT.
func TestEdgeOnLavapipe(t *testing.T) {
	bins := edgeBinaries(t)
	hubProc, base := startHubBinary(t, bins, "--matmul-shape", "65x129x33", "--default-job=false")
	ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	keyFile := filepath.Join(t.TempDir(), "keys", "edge.key")
	edge := start(t, filepath.Join(bins, "tessera-edge"),
		[]string{"--hub", ws, "--key", keyFile, "--backend", "webgpu", "--slots", "2", "--progress", "1s"}, nil)

	var row hub.ContributorStatus
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := edgeStatus(t, base)
		if len(st.Contributors) == 1 && st.Contributors[0].TasksCompleted >= 10 {
			row = st.Contributors[0]
			if st.TasksRejected != 0 {
				t.Errorf("honest edge had %d results rejected", st.TasksRejected)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edge client completed no tasks in time; status %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if row.Backend != "webgpu" || row.AdapterType == "" || row.Variant == "" {
		t.Errorf("edge ran on %q/%q/%q, want the WebGPU backend with a named adapter", row.Backend, row.AdapterType, row.Variant)
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}

	for !strings.Contains(edge.output(), "msg=progress") {
		if time.Now().After(deadline) {
			t.Fatal("the edge logged no progress line")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := edge.stop(t); err != nil {
		t.Errorf("edge exit after SIGINT: %v", err)
	}
	if out := edge.output(); !strings.Contains(out, "msg=stopped") {
		t.Errorf("edge log lacks the stop line:\n%s", out)
	}
	// The hub notices the departure and requeues what the edge held.
	deadline = time.Now().Add(10 * time.Second)
	for edgeStatus(t, base).ContributorsConnected != 0 {
		if time.Now().After(deadline) {
			t.Fatal("hub still lists the stopped edge as connected")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := edgeStatus(t, base); st.TasksInFlight != 0 {
		t.Errorf("%d tasks still leased to a departed contributor", st.TasksInFlight)
	}
	if err := hubProc.stop(t); err != nil {
		t.Errorf("hub exit after SIGINT: %v", err)
	}
}
