package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/chain"
	"github.com/tessera-ai/tessera/hub/ledger"
	"github.com/tessera-ai/tessera/hub/service"
	"github.com/tessera-ai/tessera/hub/train"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// cli runs the real tessera-admin binary against one hub.
type cli struct {
	t         *testing.T
	bin       string
	hub       string // http://host:port
	tokenFile string
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary with args after --hub and --token-file.
func (c *cli) run(args ...string) result {
	c.t.Helper()
	return c.runEnv(nil, append([]string{"--hub", c.hub, "--token-file", c.tokenFile}, args...)...)
}

// runEnv runs the binary with exactly args and extra environment.
func (c *cli) runEnv(env []string, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("run tessera-admin %v: %v", args, err)
	}
	return r
}

// ok runs args, fails the test unless the exit code is 0, and returns
// standard output.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != exitOK {
		c.t.Fatalf("tessera-admin %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs args and checks the exit code and that standard error
// contains want.
func (c *cli) fails(code int, want string, args ...string) {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		c.t.Errorf("tessera-admin %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
}

// okJSON runs args with --json and decodes standard output into v.
func (c *cli) okJSON(v any, args ...string) {
	c.t.Helper()
	out := c.ok(append(args, "--json")...)
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		c.t.Fatalf("tessera-admin %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// cleanEnv is the environment without the CLI's own variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TESSERA_") {
			env = append(env, kv)
		}
	}
	return env
}

func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tessera-admin")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startHub runs a whole hub process (service.Run) on loopback with its
// embedded chain and a small matmul job, and returns its URL and data
// directory.
func startHub(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := service.DefaultConfig()
	cfg.DefaultJob = false
	cfg.Hub.DataDir = dir
	cfg.Hub.Matmul.Shape = kernel.Shape{M: 16, K: 24, N: 8}
	cfg.Hub.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	cfg.Ready = func(net.Addr) { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, ln, cfg) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("service.Run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service.Run: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), dir
}

// runner is a CPU contributor running until the test ends.
type runner struct {
	*client.Client
	cancel context.CancelFunc
	done   chan struct{}
	err    error // what Run returned, once done is closed
}

func contribute(t *testing.T, base string, key *identity.Key) *runner {
	t.Helper()
	cfg := client.DefaultConfig()
	cfg.HubURL, cfg.Key, cfg.Device = "ws"+strings.TrimPrefix(base, "http")+"/ws", key, device.CPU{}
	cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{Client: c, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = c.Run(ctx); close(r.done) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAdminCLI builds tessera-admin and runs every command against a real
// hub with an embedded chain and a real contributor.
func TestAdminCLI(t *testing.T) {
	c := &cli{t: t, bin: buildCLI(t)}
	var dir string
	c.hub, dir = startHub(t)
	c.tokenFile = filepath.Join(dir, "admin.token")
	key, _ := identity.Generate()
	addr := key.Address().Hex()
	worker := contribute(t, c.hub, key)
	waitUntil(t, "verified credit", func() bool { return worker.Stats().Accepted > 0 })

	t.Run("Help", func(t *testing.T) { testHelp(t, c) })
	t.Run("Auth", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "wrong.token")
		os.WriteFile(bad, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
		for _, args := range [][]string{
			{"--hub", c.hub, "--token-file", bad, "workers", "list"},
			{"--hub", c.hub, "--token-file", filepath.Join(t.TempDir(), "missing"), "contributors", "list"},
		} {
			if r := c.runEnv(nil, args...); r.code != exitAuth || !strings.Contains(r.stderr, "token") {
				t.Errorf("%v: exit %d %q, want %d", args, r.code, r.stderr, exitAuth)
			}
		}
		if r := c.runEnv([]string{"TESSERA_ADMIN_TOKEN=nope"}, "--hub", c.hub, "jobs", "pause", "job-x"); r.code != exitAuth {
			t.Errorf("wrong token from the environment: exit %d %q", r.code, r.stderr)
		}
		tok, _ := os.ReadFile(c.tokenFile)
		env := []string{"TESSERA_ADMIN_TOKEN=" + strings.TrimSpace(string(tok)), "TESSERA_HUB=" + c.hub}
		if r := c.runEnv(env, "workers", "list"); r.code != exitOK || !strings.Contains(r.stdout, addr) {
			t.Errorf("token and hub from the environment: exit %d %q %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("Usage", func(t *testing.T) {
		c.fails(exitUsage, "unknown command", "nonsense")
		c.fails(exitUsage, "want 1 argument", "jobs", "show")
		c.fails(exitUsage, "not an Ethereum address", "contributors", "show", "0x12")
		c.fails(exitUsage, "flag provided but not defined", "status", "--nope")
		c.fails(exitUsage, "positive integer", "epochs", "show", "matmul", "zero")
		c.fails(exitUsage, "csv or json", "credits", "export", "matmul", "--format", "xml")
		c.fails(exitUsage, "not an http(s) URL", "--hub", "ftp://x", "status")
		c.fails(exitFailed, "cannot reach the hub", "--hub", "http://127.0.0.1:1", "status")
	})
	t.Run("Status", func(t *testing.T) {
		var st hub.Status
		c.okJSON(&st, "status")
		if st.Hub != "tessera-hub" || st.ContributorsConnected != 1 || st.TasksCompleted == 0 {
			t.Errorf("status: %+v", st)
		}
		if out := c.ok("status"); !strings.Contains(out, "1 connected") || !strings.Contains(out, "no jobs") {
			t.Errorf("status table:\n%s", out)
		}
	})
	t.Run("Jobs", func(t *testing.T) { testJobs(t, c) })
	t.Run("CompletionKeys", func(t *testing.T) {
		out := c.ok("keys", "create", "--name", "alice", "--price-per-1k-tokens", "1000", "--rate-limit", "5")
		if !strings.Contains(out, "tsk-") || !strings.Contains(out, "5 requests/min") {
			t.Errorf("keys create:\n%s", out)
		}
		c.fails(exitUsage, "--name is required", "keys", "create")
		c.fails(exitUsage, "not a whole number", "keys", "create", "--name", "b", "--price-per-1k-tokens", "1.5")
		c.fails(exitFailed, "exists", "keys", "create", "--name", "alice")
		var ks struct{ Keys []apiKey }
		c.okJSON(&ks, "keys", "list")
		if len(ks.Keys) != 1 || ks.Keys[0].Name != "alice" || ks.Keys[0].PricePer1KWei != "1000" || ks.Keys[0].Key != "" {
			t.Errorf("keys list: %+v", ks)
		}
		c.ok("keys", "revoke", "alice")
		c.okJSON(&ks, "keys", "list")
		if ks.Keys[0].RevokedAt == nil {
			t.Errorf("revoked key listed as valid: %+v", ks)
		}
		c.fails(exitNotFound, "no API key", "keys", "revoke", "bob")
		if out := c.ok("revenue", "list"); !strings.Contains(out, "no metered usage") {
			t.Errorf("revenue list:\n%s", out)
		}
		if out := c.ok("revenue", "record", "--model", "matmul", "--wei", "1000", "--note", "a grant"); !strings.Contains(out, "recorded 1000 wei of revenue for matmul") {
			t.Errorf("revenue record:\n%s", out)
		}
		if out := c.ok("revenue", "deposit", "--model", "matmul", "--wei", "1000"); !strings.Contains(out, "deposited 1000 wei for matmul (transaction 0x") {
			t.Errorf("revenue deposit:\n%s", out)
		}
		c.fails(exitUsage, "not a positive whole number", "revenue", "deposit", "--model", "matmul", "--wei", "-5")
		// Money for a model the hub does not know could never reach an
		// owner: refused (hub/service's TestKnownModel has the rest).
		c.fails(exitNotFound, "could never reach an owner", "revenue", "record", "--model", "matmull", "--wei", "1000")
		c.fails(exitNotFound, "could never reach an owner", "revenue", "deposit", "--model", "matmull", "--wei", "1000")
	})
	t.Run("Workers", func(t *testing.T) {
		var ws struct{ Workers []hub.Worker }
		c.okJSON(&ws, "workers", "list")
		if len(ws.Workers) != 1 || ws.Workers[0].Address != addr || ws.Workers[0].Slots != 2 || ws.Workers[0].Backend != "cpu" {
			t.Fatalf("workers: %+v", ws)
		}
		first := ws.Workers[0].ID
		if out := c.ok("workers", "list"); !strings.Contains(out, addr) || !strings.Contains(out, "LEASES") {
			t.Errorf("workers table:\n%s", out)
		}
		c.ok("workers", "disconnect", strconv.FormatUint(first, 10))
		// The contributor reconnects as a new session.
		waitUntil(t, "a new session", func() bool {
			var ws struct{ Workers []hub.Worker }
			c.okJSON(&ws, "workers", "list")
			return len(ws.Workers) == 1 && ws.Workers[0].ID != first
		})
		c.fails(exitNotFound, "no connected worker", "workers", "disconnect", strconv.FormatUint(first, 10))
		c.fails(exitUsage, "neither a worker ID", "workers", "disconnect", "someone")
	})
	t.Run("Credits", func(t *testing.T) {
		var models struct {
			Unit   string
			Models []ledger.ModelCredit
		}
		c.okJSON(&models, "credits", "list")
		// matmul, and the job created above, which earned credit too.
		if len(models.Models) != 2 || models.Models[1].Model != "matmul" || models.Models[1].Contributors != 1 || models.Models[1].Verified.IsZero() {
			t.Errorf("credits list: %+v", models)
		}
		var ms modelShares
		c.okJSON(&ms, "credits", "show", "matmul")
		if len(ms.Contributors) != 1 || ms.Contributors[0].Address != addr || ms.Contributors[0].Share != 1 || ms.TotalVerified.IsZero() {
			t.Errorf("credits show: %+v", ms)
		}
		rows, err := csv.NewReader(strings.NewReader(c.ok("credits", "export", "matmul"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") || rows[1][0] != addr || rows[1][4] != "1" {
			t.Errorf("CSV export: %q", rows)
		}
		if v, err := strconv.ParseInt(rows[1][1], 10, 64); err != nil || v < ms.TotalVerified.Big().Int64() || v%(2*16*24*8) != 0 {
			t.Errorf("CSV verified %q: want whole tasks, at least the %s shown before", rows[1][1], ms.TotalVerified)
		}
		file := filepath.Join(t.TempDir(), "shares.json")
		c.ok("credits", "export", "matmul", "--format", "json", "--out", file)
		var exported modelShares
		if data, err := os.ReadFile(file); err != nil || json.Unmarshal(data, &exported) != nil || exported.Model != "matmul" || len(exported.Contributors) != 1 {
			t.Errorf("JSON export: %v %+v", err, exported)
		}
		c.fails(exitNotFound, "has no credit", "credits", "show", "no-such-model")
	})
	t.Run("Epochs", func(t *testing.T) {
		if out := c.ok("epochs", "commit"); !strings.Contains(out, "committed") || !strings.Contains(out, "matmul") {
			t.Errorf("epochs commit:\n%s", out)
		}
		var l struct {
			Contract string
			ChainID  string
			Epochs   []chain.EpochJSON
		}
		c.okJSON(&l, "epochs", "list", "--model", "matmul")
		if len(l.Epochs) == 0 || l.Epochs[0].State != "committed" || l.Epochs[0].TxHash == nil || l.ChainID != "1337" {
			t.Fatalf("epochs list: %+v", l)
		}
		n := strconv.FormatUint(l.Epochs[0].Epoch, 10)
		var e chain.EpochJSON
		c.okJSON(&e, "epochs", "show", "matmul", n)
		if e.Epoch != l.Epochs[0].Epoch || e.Root.String() != l.Epochs[0].Root.String() || e.Block == 0 {
			t.Errorf("epochs show: %+v, listed %+v", e, l.Epochs[0])
		}
		if out := c.ok("epochs", "list"); !strings.Contains(out, "committed") || !strings.Contains(out, l.Contract) {
			t.Errorf("epochs table:\n%s", out)
		}
		c.fails(exitNotFound, "has no epoch 999", "epochs", "show", "matmul", "999")
	})
	t.Run("VerifyProof", func(t *testing.T) {
		out := c.ok("verify-proof", "matmul", addr)
		if !strings.Contains(out, "VALID") || strings.Contains(out, "INVALID") {
			t.Errorf("verify-proof:\n%s", out)
		}
		var check proofCheck
		c.okJSON(&check, "verify-proof", "matmul", addr, "--rpc", c.hub+"/api/v1/chain/rpc")
		if !check.Valid || check.ChainID != "1337" || check.Address != addr {
			t.Fatalf("verify-proof --json: %+v", check)
		}
		amount, _ := strconv.ParseInt(check.Amount, 10, 64)
		r := c.run("verify-proof", "matmul", addr, "--amount", strconv.FormatInt(amount+1, 10))
		if r.code != exitInvalid || !strings.Contains(r.stdout, "INVALID") || !strings.Contains(r.stderr, "do not lead to the committed root") {
			t.Errorf("tampered amount: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		c.fails(exitFailed, "no contract at", "verify-proof", "matmul", addr, "--contract", "0x000000000000000000000000000000000000dEaD")
		c.fails(exitNotFound, "no verified credit", "verify-proof", "matmul", "0x000000000000000000000000000000000000dEaD")
		c.fails(exitNotFound, "no epoch committed", "verify-proof", "no-such-model", addr)
	})
	t.Run("Contributors", func(t *testing.T) {
		var l struct{ Contributors []service.Contributor }
		c.okJSON(&l, "contributors", "list")
		if len(l.Contributors) != 1 || l.Contributors[0].Address != addr || l.Contributors[0].Verified.IsZero() || l.Contributors[0].InEpoch.IsZero() {
			t.Errorf("contributors list: %+v", l)
		}
		var d service.ContributorDetail
		c.okJSON(&d, "contributors", "show", strings.ToLower(addr))
		if d.Address != addr || len(d.Credits) != 2 || d.Credits[1].Model != "matmul" || d.Credits[1].Share != 1 || len(d.Workers) != 1 || d.Banned {
			t.Errorf("contributors show: %+v", d)
		}
		if out := c.ok("contributors", "show", addr); !strings.Contains(out, "matmul") || !strings.Contains(out, "100.00%") {
			t.Errorf("contributors show table:\n%s", out)
		}
		c.fails(exitNotFound, "knows nothing of", "contributors", "show", "0x000000000000000000000000000000000000dEaD")
	})
	t.Run("BanUnban", func(t *testing.T) {
		if out := c.ok("contributors", "ban", addr, "--reason", "cli test"); !strings.Contains(out, "banned") {
			t.Errorf("ban: %s", out)
		}
		select {
		case <-worker.done:
			if worker.err == nil || !strings.Contains(worker.err.Error(), "banned") {
				t.Errorf("the banned contributor stopped with %v", worker.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the banned contributor is still connected")
		}
		var d service.ContributorDetail
		c.okJSON(&d, "contributors", "show", addr)
		// Credit in the committed epoch stays; everything after it is revoked.
		if !d.Banned || d.Verified != d.InEpoch || !d.Pending.IsZero() || len(d.Workers) != 0 ||
			len(d.Decisions) == 0 || d.Decisions[0].Kind != "banned" || !strings.Contains(d.Decisions[0].Reason, "cli test") {
			t.Errorf("after the ban: %+v", d)
		}
		again := contribute(t, c.hub, key)
		select {
		case <-again.done:
			if again.err == nil || !strings.Contains(again.err.Error(), "banned") {
				t.Errorf("the banned contributor was told %v", again.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the banned contributor was let in again")
		}

		c.ok("contributors", "unban", addr)
		back := contribute(t, c.hub, key)
		waitUntil(t, "credit after the unban", func() bool { return back.Stats().Accepted > 0 })
		c.okJSON(&d, "contributors", "show", addr)
		if d.Banned || d.Strikes != 0 || len(d.Decisions) == 0 || d.Decisions[0].Kind != "unbanned" {
			t.Errorf("after the unban: %+v", d)
		}
	})
}

// testHelp checks that every command and group answers --help with its
// usage on standard output, and that help can be asked for by name.
func testHelp(t *testing.T, c *cli) {
	var walk func(path []string, cmd *command)
	walk = func(path []string, cmd *command) {
		for _, flagName := range []string{"--help", "-h"} {
			r := c.runEnv(nil, append(path[1:], flagName)...)
			if r.code != exitOK || !strings.HasPrefix(r.stdout, "Usage: "+strings.Join(path, " ")) || !strings.Contains(r.stdout, cmd.summary) {
				t.Errorf("%s %s: exit %d\n%s%s", strings.Join(path, " "), flagName, r.code, r.stdout, r.stderr)
			}
		}
		for _, sub := range cmd.subs {
			walk(append(path, sub.name), sub)
		}
	}
	walk([]string{"tessera-admin"}, rootCommand())
	if r := c.runEnv(nil, "--help"); !strings.Contains(r.stdout, "Exit codes:") || !strings.Contains(r.stdout, "TESSERA_ADMIN_TOKEN") {
		t.Errorf("top-level help lacks the exit codes or the environment:\n%s", r.stdout)
	}
	if r := c.runEnv(nil, "help", "jobs", "create"); r.code != exitOK || !strings.Contains(r.stdout, "Usage: tessera-admin jobs create") {
		t.Errorf("help jobs create: exit %d\n%s", r.code, r.stdout)
	}
	if r := c.runEnv(nil, "jobs"); r.code != exitUsage || !strings.Contains(r.stderr, "which command") {
		t.Errorf("a group without a command: exit %d %q", r.code, r.stderr)
	}
}

// testJobs creates a small job from a spec file, then lists, shows,
// pauses, resumes and removes it.
func testJobs(t *testing.T, c *cli) {
	spec := filepath.Join(t.TempDir(), "job.json")
	os.WriteFile(spec, []byte(`{"name": "cli-tiny", "model": {"type": "mlp", "layers": [784, 32, 10]},
		"tile_cols": 16, "max_steps": 100000, "target_accuracy": 0, "exposure_cap": 1}`), 0o600)
	var created train.JobStatus
	c.okJSON(&created, "jobs", "create", spec)
	if created.ID == "" || created.Name != "cli-tiny" {
		t.Fatalf("jobs create: %+v", created)
	}
	id := created.ID
	var paused train.JobStatus
	c.okJSON(&paused, "jobs", "pause", id)
	if paused.State != "paused" {
		t.Errorf("jobs pause: %+v", paused)
	}
	var list struct{ Jobs []train.JobStatus }
	c.okJSON(&list, "jobs", "list")
	if len(list.Jobs) != 1 || list.Jobs[0].ID != id || list.Jobs[0].State != "paused" {
		t.Errorf("jobs list: %+v", list)
	}
	if out := c.ok("jobs", "list"); !strings.Contains(out, id) || !strings.Contains(out, "paused") {
		t.Errorf("jobs table:\n%s", out)
	}
	var d train.JobDetail
	c.okJSON(&d, "jobs", "show", id)
	if d.ID != id || d.Spec.Model.Layers[1] != 32 || d.Spec.TileCols != 16 {
		t.Errorf("jobs show: %+v", d)
	}
	if out := c.ok("jobs", "show", id); !strings.Contains(out, `"tile_cols": 16`) {
		t.Errorf("jobs show table:\n%s", out)
	}
	// A name only one job has names it (hub/train's TestJobNames has
	// the rest), and names its model for the credit commands.
	var byName train.JobDetail
	c.okJSON(&byName, "jobs", "show", "cli-tiny")
	if byName.ID != id {
		t.Errorf("jobs show by name: %+v", byName.JobStatus)
	}
	if out := c.ok("jobs", "resume", "cli-tiny"); !strings.Contains(out, "running") {
		t.Errorf("jobs resume: %s", out)
	}
	c.fails(exitFailed, "", "jobs", "resume", id) // already running: the hub says 409
	// Once the job has credit, the credit commands take its name, and
	// tables show the name beside the ID.
	waitUntil(t, "the job's credit", func() bool {
		time.Sleep(200 * time.Millisecond)
		for _, line := range strings.Split(c.ok("credits", "list"), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == id && f[1] == "cli-tiny" {
				return true
			}
		}
		return false
	})
	var shares modelShares
	c.okJSON(&shares, "credits", "show", "cli-tiny")
	if shares.Model != id {
		t.Errorf("credits show by the job's name: model %q, want %s", shares.Model, id)
	}
	if out := c.ok("jobs", "remove", "cli-tiny"); !strings.Contains(out, "removed job "+id) {
		t.Errorf("jobs remove by name: %s", out)
	}
	c.fails(exitNotFound, "unknown job", "jobs", "show", id)
	c.fails(exitNotFound, "unknown job", "jobs", "pause", "job-nope")

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"exposure_cap": 2}`), 0o600)
	c.fails(exitFailed, "exposure_cap", "jobs", "create", bad)
	os.WriteFile(bad, []byte(`not json`), 0o600)
	c.fails(exitUsage, "not JSON", "jobs", "create", bad)
	c.fails(exitFailed, "no such file", "jobs", "create", filepath.Join(t.TempDir(), "missing.json"))
}
