package service

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/contracts"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// lockedBuffer collects a hub's log while the hub writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// secretHub is a hub process (Run) logging JSON, at debug level, into log.
type secretHub struct {
	base string
	dir  string
	log  *lockedBuffer
	stop func() error
}

func startSecretHub(t *testing.T, mutate func(*Config)) *secretHub {
	t.Helper()
	h := &secretHub{dir: t.TempDir(), log: &lockedBuffer{}}
	cfg := DefaultConfig()
	cfg.DefaultJob = false
	cfg.Hub.DataDir = h.dir
	cfg.Hub.Matmul.Shape = kernel.Shape{M: 16, K: 24, N: 8}
	cfg.Hub.Logger = slog.New(slog.NewJSONHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Chain.Interval = time.Hour
	mutate(&cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, ln, cfg) }()
	h.base = "http://" + ln.Addr().String()
	h.stop = sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() { h.stop() })
	eventually(t, "the hub serves", func() error {
		select {
		case err := <-done:
			t.Fatalf("Run: %v\nlog:\n%s", err, h.log)
		default:
		}
		_, err := h.request("GET", "/api/v1/status", "", "")
		return err
	})
	return h
}

// request sends a request and returns the answer's status and body.
func (h *secretHub) request(method, path, token, body string) (string, error) {
	req, err := http.NewRequest(method, h.base+path, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b), err
}

// contribute runs a CPU contributor until the hub has verified some of
// its work.
func (h *secretHub) contribute(t *testing.T) {
	t.Helper()
	key, _ := identity.Generate()
	ccfg := client.DefaultConfig()
	ccfg.HubURL, ccfg.Key, ccfg.Device = "ws"+strings.TrimPrefix(h.base, "http")+"/ws", key, device.CPU{}
	ccfg.Logger = slog.New(slog.DiscardHandler)
	c, err := client.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "verified work", func() error {
		ans, err := h.request("GET", "/api/v1/credits/matmul", "", "")
		if err == nil && !strings.Contains(ans, key.Address().Hex()) {
			err = fmt.Errorf("credits: %s", ans)
		}
		return err
	})
}

// assertHidden fails if any secret appears in what.
func assertHidden(t *testing.T, name, what string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(what, s) {
			t.Errorf("%s reveals %q:\n%s", name, s, what)
		}
	}
}

// TestNoSecretInLogs runs the hub with a JSON log at debug level and
// checks that neither the admin token, nor the committer's key, nor the
// API key in a chain RPC URL appears in the log, in errors, or in answers
// to the API: through startup, admin requests and a commit; with RPC URLs
// that are wrong; and with a chain node that goes away after startup.
func TestNoSecretInLogs(t *testing.T) {
	t.Run("AdminAndCommit", func(t *testing.T) {
		h := startSecretHub(t, func(*Config) {})
		tokenBytes, err := os.ReadFile(filepath.Join(h.dir, tokenFile))
		if err != nil {
			t.Fatal(err)
		}
		token := strings.TrimSpace(string(tokenBytes))
		wrong := "0123456789abcdef0123456789abcdef-wrong-token"
		h.contribute(t)
		spec := `{"name": "secret-test", "model": {"type": "mlp", "layers": [784, 16, 10]}, "tile_cols": 4, "exposure_cap": 0.6, "max_steps": 1}`
		for _, r := range []struct{ method, path, token, body, want string }{
			{"POST", "/api/v1/admin/jobs", wrong, spec, "401 "},
			{"POST", "/api/v1/admin/jobs", token, spec, "201 "},
			{"POST", "/api/v1/admin/jobs", token, `{"name": `, "400 "},
			{"POST", "/api/v1/admin/commit", token, "", "200 "},
		} {
			ans, err := h.request(r.method, r.path, r.token, r.body)
			if err != nil || !strings.HasPrefix(ans, r.want) {
				t.Fatalf("%s %s: %q, %v; want %s", r.method, r.path, ans, err, r.want)
			}
			assertHidden(t, "the answer to "+r.path, ans, token, wrong)
		}
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		log := h.log.String()
		for _, want := range []string{`"msg":"job created"`, `"msg":"epoch committed"`} {
			if !strings.Contains(log, want) {
				t.Errorf("the log lacks %s: the test did not go through what it checks", want)
			}
		}
		assertHidden(t, "the log", log, token, wrong)
	})

	t.Run("BadRPCURL", func(t *testing.T) {
		dir := t.TempDir()
		key, _ := identity.Generate()
		keyHex := strings.TrimPrefix(key.Hex(), "0x")
		keyFile := filepath.Join(dir, "committer.key")
		os.WriteFile(keyFile, []byte(keyHex+"\n"), 0o600)
		badKeyFile := filepath.Join(dir, "bad.key")
		badKey := "zz" + keyHex[2:]
		os.WriteFile(badKeyFile, []byte(badKey+"\n"), 0o600)
		secrets := []string{"PATHSECRET", "QUERYSECRET", "PASSSECRET", keyHex, keyHex[2:]}
		for _, tc := range []struct{ name, rpc, key, want string }{
			{"Unreachable", "http://me:PASSSECRET@127.0.0.1:1/v3/PATHSECRET?apikey=QUERYSECRET", keyFile, "http://127.0.0.1:1"},
			{"Unparsable", "http://127.0.0.1:1/v3/%zzPATHSECRET", keyFile, "does not parse"},
			{"UnknownScheme", "ftp://node.example.org/PATHSECRET", keyFile, "ftp://node.example.org"},
			{"BadKeyFile", "http://127.0.0.1:1/v3/PATHSECRET", badKeyFile, "chain key"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				log := &lockedBuffer{}
				cfg := DefaultConfig()
				cfg.Hub.DataDir = t.TempDir()
				cfg.Hub.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
				cfg.Chain = ChainConfig{RPC: tc.rpc, KeyFile: tc.key}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				err = Run(ctx, ln, cfg)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Run: %v, want an error saying %q", err, tc.want)
				}
				assertHidden(t, "Run's error", err.Error(), append(secrets, badKey)...)
				assertHidden(t, "the log", log.String(), append(secrets, badKey)...)
			})
		}
	})

	t.Run("RPCDown", func(t *testing.T) {
		node := startAnvil(t)
		keyFile := filepath.Join(t.TempDir(), "committer.key")
		os.WriteFile(keyFile, []byte(anvilKey+"\n"), 0o600)
		rpcURL := fmt.Sprintf("http://me:PASSSECRET@127.0.0.1:%d/?apikey=QUERYSECRET", node.port)
		secrets := []string{"PASSSECRET", "QUERYSECRET", anvilKey}
		h := startSecretHub(t, func(cfg *Config) { cfg.Chain = ChainConfig{RPC: rpcURL, KeyFile: keyFile, Interval: time.Hour} })
		tokenBytes, _ := os.ReadFile(filepath.Join(h.dir, tokenFile))
		token := strings.TrimSpace(string(tokenBytes))
		h.contribute(t)
		if ans, err := h.request("POST", "/api/v1/admin/commit", token, ""); err != nil || !strings.HasPrefix(ans, "200 ") {
			t.Fatalf("commit while the node is up: %q, %v\nlog:\n%s", ans, err, h.log)
		}

		node.kill()
		rpcCall := `{"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}`
		ans, err := h.request("POST", "/api/v1/chain/rpc", "", rpcCall)
		if err != nil || !strings.Contains(ans, `"error"`) {
			t.Fatalf("the RPC proxy with the node down: %q, %v", ans, err)
		}
		assertHidden(t, "the public RPC proxy's answer", ans, secrets...)
		ans, err = h.request("POST", "/api/v1/admin/commit", token, "")
		if err != nil || !strings.HasPrefix(ans, "502 ") {
			t.Fatalf("commit with the node down: %q, %v", ans, err)
		}
		assertHidden(t, "the commit's answer", ans, secrets...)
		eventually(t, "the committer logs the failure", func() error {
			if !strings.Contains(h.log.String(), "commit round failed") {
				return fmt.Errorf("no failure logged")
			}
			return nil
		})
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		log := h.log.String()
		if !strings.Contains(log, fmt.Sprintf("127.0.0.1:%d", node.port)) {
			t.Errorf("the log never names the node 127.0.0.1:%d: the failures lost their cause", node.port)
		}
		assertHidden(t, "the log", log, append(secrets, token)...)
	})
}

// anvilKey is the first of anvil's well-known development accounts,
// funded on every fresh anvil chain.
const anvilKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

// anvil is a local anvil node (Foundry's, from the npm package pinned in
// contracts/package.json) that a test can take away.
type anvil struct {
	port int
	cmd  *exec.Cmd
	exit chan error
}

func startAnvil(t *testing.T) *anvil {
	t.Helper()
	dir := filepath.Join("..", "..", "contracts")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := contracts.InstallNodeModules(ctx, dir); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "node_modules", "@foundry-rs", "anvil-"+runtime.GOOS+"-"+runtime.GOARCH, "bin", "anvil")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &anvil{port: ln.Addr().(*net.TCPAddr).Port, exit: make(chan error, 1)}
	ln.Close()
	a.cmd = exec.Command(bin, "--port", fmt.Sprint(a.port), "--host", "127.0.0.1", "--silent")
	a.cmd.Stdout, a.cmd.Stderr = os.Stderr, os.Stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start anvil: %v", err)
	}
	go func() { a.exit <- a.cmd.Wait() }()
	t.Cleanup(a.kill)
	c, err := ethclient.Dial(fmt.Sprintf("http://127.0.0.1:%d", a.port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eventually(t, "anvil answers", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.ChainID(ctx)
		return err
	})
	return a
}

// kill stops the node at once and waits for it; a second call does
// nothing.
func (a *anvil) kill() {
	if a.cmd == nil {
		return
	}
	a.cmd.Process.Kill()
	<-a.exit
	a.cmd = nil
}
