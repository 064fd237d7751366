package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"github.com/tessera-ai/tessera/internal/tlsca/tlscatest"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTLSFlags checks that contradictory TLS flags and malformed access
// flags are usage errors that say what is wrong.
func TestTLSFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"CertWithoutKey", []string{"--tls-cert", "cert.pem"}, "--tls-cert and --tls-key go together"},
		{"KeyWithoutCert", []string{"--tls-key", "key.pem"}, "--tls-cert and --tls-key go together"},
		{"FilesAndDomain", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-domain", "hub.example.org"}, "do not also pass --tls-cert"},
		{"EmailWithoutDomain", []string{"--acme-email", "ops@example.org"}, "need --tls-domain"},
		{"BadProxy", []string{"--trust-proxy", "10.0.0.0/33"}, "is not a CIDR"},
		{"BadOrigin", []string{"--allow-origin", "example.org"}, "is not an origin"},
		{"OriginWithPath", []string{"--allow-origin", "https://example.org/page"}, "is not an origin"},
		{"NegativeRelayMinimum", []string{"--relay-min-wei", "-1"}, "--relay-min-wei: \"-1\" is not a whole number of wei"},
		{"FractionalRelayMinimum", []string{"--relay-min-wei", "0.5"}, "is not a whole number of wei"},
		{"ZeroDemoRate", []string{"--demo-rate", "0"}, "--demo-rate: 0 is outside 1..6000"},
		{"HugeDemoRate", []string{"--demo-rate", "100000"}, "--demo-rate: 100000 is outside 1..6000"},
		{"ZeroEpoch", []string{"--epoch", "0s"}, "--epoch 0s: the interval between commits must be at least 1s"},
		{"TinyEpoch", []string{"--epoch", "10ms"}, "--epoch 10ms"},
		{"NegativeKeepAfter", []string{"--keep-after", "-1"}, "--keep-after -1: a number of results cannot be negative"},
		{"WordKeepAfter", []string{"--keep-after", "many"}, "invalid value \"many\" for flag -keep-after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := doMain(context.Background(), append([]string{"--data", t.TempDir()}, tc.args...), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}

// syncBuffer is written by the hub's goroutine and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeTLS runs the command with a self-signed certificate: it says
// where to connect with https:// and wss://, and serves there; a key that
// is not the certificate's stops it with a clear error.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir, "hub")
	_, otherKey, _ := selfSigned(t, dir, "other")
	base := []string{"--addr", "127.0.0.1:0", "--default-job=false", "--matmul-shape", "off"}

	t.Run("MismatchedKey", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		args := append(base, "--data", t.TempDir(), "--tls-cert", certFile, "--tls-key", otherKey)
		code := doMain(context.Background(), args, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "private key does not match public key") {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	})

	t.Run("Serves", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		args := append(base, "--data", t.TempDir(), "--tls-cert", certFile, "--tls-key", keyFile)
		go func() { done <- doMain(ctx, args, &stdout, &stderr) }()
		defer func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("exit %d after a stop, stderr:\n%s", code, stderr.String())
			}
		}()
		up := regexp.MustCompile(`open https://(127\.0\.0\.1:\d+)/ .*wss://127\.0\.0\.1:\d+/ws`)
		var addr string
		for deadline := time.Now().Add(60 * time.Second); addr == ""; time.Sleep(50 * time.Millisecond) {
			if m := up.FindStringSubmatch(stdout.String()); m != nil {
				addr = m[1]
			} else if time.Now().After(deadline) {
				t.Fatalf("no https address printed; stdout %q, stderr:\n%s", stdout.String(), stderr.String())
			}
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := hc.Get("https://" + addr + "/api/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /api/v1/status over https: %s", resp.Status)
		}
	})
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key,
// and returns their files and a pool that trusts the certificate.
func selfSigned(tb testing.TB, dir, name string) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	certFile, keyFile = tlscatest.WriteSelfSigned(tb, dir, name)
	data, err := os.ReadFile(certFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool = x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		tb.Fatal("the test certificate does not parse")
	}
	return certFile, keyFile, pool
}

// TestCPUProfile: --cpuprofile writes a profile pprof reads when the hub
// stops, and a path it cannot create is an error that names the flag.
func TestCPUProfile(t *testing.T) {
	var stdout, stderr bytes.Buffer
	bad := doMain(context.Background(), []string{"--data", t.TempDir(), "--cpuprofile", t.TempDir() + "/no/such/dir/cpu.pprof"}, &stdout, &stderr)
	if bad != 1 || !strings.Contains(stderr.String(), "--cpuprofile") {
		t.Errorf("exit %d, stderr %q; want 1 and the flag named", bad, stderr.String())
	}
	path := t.TempDir() + "/cpu.pprof"
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- doMain(ctx, []string{"--data", t.TempDir(), "--addr", "127.0.0.1:0", "--matmul-shape", "off", "--default-job=false", "--cpuprofile", path}, out, out)
	}()
	for !strings.Contains(out.String(), "hub is up") {
		select {
		case code := <-done:
			t.Fatalf("the hub stopped with %d: %s", code, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A CPU profile is a gzipped protocol buffer.
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Errorf("the profile (%d bytes) is not gzip", len(raw))
	}
}
