package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client/hubapi"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/tlsca/tlscatest"
)

var httpsLine = regexp.MustCompile(`open (https://[0-9.:]+)/`)

// TestEdgeOverTLS runs the real tessera-hub binary with a certificate
// (--tls-cert, --tls-key) and the real tessera-edge with --ca-cert: the
// edge contributes over wss:// and `tessera-edge proof --ca-cert` checks
// its credit through the hub's https RPC proxy. Without --ca-cert the
// edge says the certificate is not trusted, and proof fails.
func TestEdgeOverTLS(t *testing.T) {
	bins := edgeBinaries(t)
	certFile, keyFile := tlscatest.WriteSelfSigned(t, t.TempDir(), "hub")
	data := t.TempDir()
	urls := make(chan string, 1)
	start(t, filepath.Join(bins, "tessera-hub"), []string{"--addr", "127.0.0.1:0", "--data", data,
		"--matmul-shape", "64x96x32", "--default-job=false", "--epoch", "1h", "--tls-cert", certFile, "--tls-key", keyFile},
		func(line string) {
			if m := httpsLine.FindStringSubmatch(line); m != nil {
				urls <- m[1]
			}
		})
	var base string
	select {
	case base = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatal("the hub printed no https URL")
	}
	ws := "wss" + strings.TrimPrefix(base, "https") + "/ws"

	untrusting := start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", ws, "--key", filepath.Join(t.TempDir(), "edge.key"),
		"--backend", "cpu", "--progress", "0"}, nil)
	keyPath := filepath.Join(t.TempDir(), "edge.key")
	key, _, err := identity.LoadOrCreate(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	edge := start(t, filepath.Join(bins, "tessera-edge"), []string{"--hub", ws, "--key", keyPath, "--ca-cert", certFile,
		"--backend", "cpu", "--slots", "1", "--progress", "0"}, nil)

	caPEM, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	api, err := hubapi.New(ws)
	if err != nil {
		t.Fatal(err)
	}
	api.UseTLS(&tls.Config{RootCAs: pool})
	ctx := context.Background()
	waitFor(t, 60*time.Second, "the edge's credit over wss", func() error {
		c, err := api.Credit(ctx, "matmul", key.Address().Hex())
		if err == nil && c.Verified.IsZero() {
			err = fmt.Errorf("no verified credit yet: %+v", c)
		}
		return err
	})
	if err := edge.stop(t); err != nil {
		t.Errorf("edge exit: %v", err)
	}
	waitFor(t, 20*time.Second, "the edge without --ca-cert reports the certificate", func() error {
		if out := untrusting.output(); !strings.Contains(out, "not signed by a CA this client trusts") {
			return fmt.Errorf("output so far:\n%s", out)
		}
		return nil
	})

	token, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/admin/commit", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := api.HTTP.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("commit over https: %v, %v", resp, err)
	}
	resp.Body.Close()

	out, errOut, code := runEdge(t, bins, "proof", "--hub", ws, "--key", keyPath, "--ca-cert", certFile)
	if code != 0 || !strings.Contains(out, "on-chain      VALID") {
		t.Errorf("proof --ca-cert exited %d:\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = runEdge(t, bins, "proof", "--hub", ws, "--key", keyPath)
	if code != 1 || !strings.Contains(errOut, "certificate") {
		t.Errorf("proof without --ca-cert exited %d, want 1 with a certificate error:\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = runEdge(t, bins, "proof", "--hub", ws, "--key", keyPath, "--ca-cert", keyFile)
	if code != 2 || !strings.Contains(errOut, "holds no PEM certificate") {
		t.Errorf("proof --ca-cert with a key file exited %d, want 2 with a clear error:\n%s\n%s", code, out, errOut)
	}

	// The operator's CLI trusts the same CA with the same flag.
	admin := func(args ...string) (string, int) {
		cmd := exec.Command(filepath.Join(bins, "tessera-admin"), append([]string{"--hub", base, "--token-file", filepath.Join(data, "admin.token")}, args...)...)
		outb, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(outb), exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(outb), 0
	}
	if out, code := admin("--ca-cert", certFile, "verify-proof", "matmul", key.Address().Hex()); code != 0 || !strings.Contains(out, "VALID") {
		t.Errorf("tessera-admin --ca-cert verify-proof exited %d:\n%s", code, out)
	}
	if out, code := admin("status"); code != 1 || !strings.Contains(out, "certificate") {
		t.Errorf("tessera-admin without --ca-cert exited %d, want 1 with a certificate error:\n%s", code, out)
	}
}
