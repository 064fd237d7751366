package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/client/hubapi"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// testCA is a private certificate authority made for one test, as a
// self-hosting operator would make one.
type testCA struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool // trusts only this CA
	file string         // the CA certificate in PEM
}

func newTestCA(tb testing.TB) *testCA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Tessera test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	ca := &testCA{dir: tb.TempDir(), cert: cert, key: key, pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	ca.file = writePEM(tb, ca.dir, "ca.pem", "CERTIFICATE", der)
	return ca
}

// issue signs a certificate for localhost and 127.0.0.1, valid from
// notBefore to notAfter, and returns its certificate and key files.
func (ca *testCA) issue(tb testing.TB, name string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return writePEM(tb, ca.dir, name+".pem", "CERTIFICATE", der), writePEM(tb, ca.dir, name+"-key.pem", "PRIVATE KEY", keyDER)
}

func writePEM(tb testing.TB, dir, name, typ string, der []byte) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestServiceTLS runs the assembled hub with a certificate from a private
// CA on loopback: a contributor that trusts the CA completes tasks over
// wss://, the API answers over https:// (HTTP/1.1, TLS 1.2 or later), and
// the proof of its credit checks against the contract through the hub's
// RPC proxy over https. A contributor without the CA is refused with a
// certificate error, and so are plain HTTP and TLS 1.1.
func TestServiceTLS(t *testing.T) {
	ca := newTestCA(t)
	certFile, keyFile := ca.issue(t, "hub", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	cfg := DefaultConfig()
	cfg.DefaultJob = false
	cfg.Hub.DataDir = t.TempDir()
	cfg.Hub.Matmul.Shape = kernel.Shape{M: 16, K: 24, N: 8}
	cfg.Hub.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg.Chain.Interval = time.Hour // epochs only when the test asks
	cfg.TLS = TLSConfig{CertFile: certFile, KeyFile: keyFile}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, ln, cfg) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	addr := ln.Addr().String()
	base, ws := "https://"+addr, "wss://"+addr+"/ws"
	trust := &tls.Config{RootCAs: ca.pool}

	api, err := hubapi.New(ws)
	if err != nil {
		t.Fatal(err)
	}
	api.UseTLS(trust)
	eventually(t, "the hub serves https", func() error { _, err := api.Models(ctx); return err })

	t.Run("Status", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: trust}}
		resp, err := hc.Get(base + "/api/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct{ Contributors any }
		if err := json.NewDecoder(resp.Body).Decode(&st); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET /api/v1/status over https: HTTP %d, %v", resp.StatusCode, err)
		}
		if v := resp.TLS.Version; v < tls.VersionTLS12 {
			t.Errorf("negotiated %s", tls.VersionName(v))
		}
		if p := resp.TLS.NegotiatedProtocol; p != "" && p != "http/1.1" {
			t.Errorf("negotiated protocol %q: websockets need HTTP/1.1", p)
		}
	})

	t.Run("NoCA", func(t *testing.T) {
		_, err := client.Dial(ctx, ws)
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) || !strings.Contains(err.Error(), "not signed by a CA this client trusts") {
			t.Fatalf("dial without the CA: %v, want a clear certificate error", err)
		}
		plain, _ := hubapi.New(ws)
		if _, err := plain.Models(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("the API without the CA: %v, want a certificate error", err)
		}
	})

	t.Run("PlainHTTP", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + "/api/v1/status")
		if err != nil {
			return // refused outright is fine too
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP to the TLS port answered 200: %.80s", body)
		}
	})

	t.Run("TLS11", func(t *testing.T) {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			c.Close()
			t.Fatal("the hub accepted TLS 1.1")
		}
	})

	t.Run("ContributorWithCA", func(t *testing.T) {
		key, _ := identity.Generate()
		ccfg := client.DefaultConfig()
		ccfg.HubURL, ccfg.Key, ccfg.Device, ccfg.Logger = ws, key, device.CPU{}, cfg.Hub.Logger
		ccfg.Dial = client.DialTLS(trust)
		c, err := client.New(ccfg)
		if err != nil {
			t.Fatal(err)
		}
		cctx, ccancel := context.WithCancel(ctx)
		cdone := make(chan struct{})
		go func() { c.Run(cctx); close(cdone) }()
		defer func() { ccancel(); <-cdone }()
		eventually(t, "verified credit over wss", func() error {
			cr, err := api.Credit(ctx, "matmul", key.Address().Hex())
			if err == nil && cr.Verified.IsZero() {
				err = errors.New("no verified credit yet")
			}
			return err
		})
		if s := c.Stats(); s.Accepted == 0 || s.LastError != "" {
			t.Errorf("client stats %+v", s)
		}

		tok, err := os.ReadFile(filepath.Join(cfg.Hub.DataDir, tokenFile))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/admin/commit", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		resp, err := api.HTTP.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("commit over https: %v %v", resp, err)
		}
		resp.Body.Close()
		p, err := api.Proof(ctx, "matmul", key.Address().Hex())
		if err != nil {
			t.Fatal(err)
		}
		v, err := hubapi.CheckWith(ctx, api.HTTP, base+"/api/v1/chain/rpc", p)
		if err != nil || !v.Valid {
			t.Fatalf("proof through the https RPC proxy: %+v, %v", v, err)
		}
		if _, err := hubapi.Check(ctx, base+"/api/v1/chain/rpc", p); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("proof check without the CA: %v, want a certificate error", err)
		}
	})
}

// eventually polls check until it returns nil, for at most 30 s.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServerTLSRefusesBadCertificates checks that a certificate that
// cannot serve stops the hub before it starts, with a clear error.
func TestServerTLSRefusesBadCertificates(t *testing.T) {
	ca := newTestCA(t)
	now := time.Now()
	good, goodKey := ca.issue(t, "good", now.Add(-time.Hour), now.Add(time.Hour))
	_, otherKey := ca.issue(t, "other", now.Add(-time.Hour), now.Add(time.Hour))
	old, oldKey := ca.issue(t, "old", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	for _, tc := range []struct {
		name string
		cfg  TLSConfig
		want string
	}{
		{"MismatchedKey", TLSConfig{CertFile: good, KeyFile: otherKey}, "private key does not match public key"},
		{"KeyAsCertificate", TLSConfig{CertFile: goodKey, KeyFile: goodKey}, "certificate PEM data"},
		{"MissingFile", TLSConfig{CertFile: good + ".missing", KeyFile: goodKey}, "no such file"},
		{"Expired", TLSConfig{CertFile: old, KeyFile: oldKey}, "expired on"},
		{"CertWithoutKey", TLSConfig{CertFile: good}, "both its certificate file and its key file"},
		{"FilesAndDomains", TLSConfig{CertFile: good, KeyFile: goodKey, Domains: []string{"hub.example.org"}}, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Hub.DataDir = t.TempDir()
			cfg.Hub.Logger = slog.New(slog.DiscardHandler)
			cfg.TLS = tc.cfg
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = Run(ctx, ln, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error saying %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(cfg.Hub.DataDir, "ledger.db")); err == nil {
				t.Error("the hub opened its ledger before refusing the certificate")
			}
		})
	}
	t.Run("Good", func(t *testing.T) {
		cfg, err := serverTLS(t.TempDir(), TLSConfig{CertFile: good, KeyFile: goodKey})
		if err != nil || cfg == nil || len(cfg.Certificates) != 1 || cfg.MinVersion != tls.VersionTLS12 {
			t.Fatalf("serverTLS: %+v, %v", cfg, err)
		}
	})
	t.Run("Off", func(t *testing.T) {
		if cfg, err := serverTLS(t.TempDir(), TLSConfig{}); cfg != nil || err != nil {
			t.Fatalf("serverTLS of the zero config: %v, %v", cfg, err)
		}
	})
}

// TestACMEConfig checks the automatic certificates' configuration without
// reaching Let's Encrypt: the cache directory is private, names outside
// --tls-domain are refused before any request to the CA, and a listed
// name does reach the CA (here a local directory that refuses).
func TestACMEConfig(t *testing.T) {
	var hits atomic.Int64
	acmeCA := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"type": "urn:ietf:params:acme:error:unauthorized", "detail": "test CA refuses"}`)
	}))
	defer acmeCA.Close()
	data := t.TempDir()
	// A cache left readable by others is made private.
	if err := os.Mkdir(filepath.Join(data, acmeCacheDir), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := serverTLS(data, TLSConfig{Domains: []string{"Hub.Example.org.", " www.example.org"}, ACMEDirectory: acmeCA.URL})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(data, acmeCacheDir))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("ACME cache: %v, mode %v, want 0700", err, fi.Mode().Perm())
	}
	if cfg.MinVersion != tls.VersionTLS12 || !strings.Contains(strings.Join(cfg.NextProtos, ","), "acme-tls/1") {
		t.Errorf("min version %x, protocols %q: want TLS 1.2 and acme-tls/1 for tls-alpn-01", cfg.MinVersion, cfg.NextProtos)
	}

	for _, name := range []string{"evil.example.com", "example.org", "hub.example.org.evil.com"} {
		_, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err == nil || !strings.Contains(err.Error(), "not configured") {
			t.Errorf("certificate for %s: %v, want refused by the host policy", name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("names outside the list reached the CA (%d requests)", n)
	}
	for _, name := range []string{"hub.example.org", "www.example.org"} {
		_, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err == nil || strings.Contains(err.Error(), "not configured") {
			t.Errorf("certificate for %s: %v, want it asked of the CA (which refuses)", name, err)
		}
	}
	if hits.Load() == 0 {
		t.Error("listed names never reached the CA")
	}

	for _, tc := range []struct{ name, domain, want string }{
		{"IP", "203.0.113.7", "not IP addresses"},
		{"SingleLabel", "localhost", "not a fully qualified domain name"},
		{"Wildcard", "*.example.org", "not a fully qualified domain name"},
		{"Empty", " ", "no ACME domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := serverTLS(t.TempDir(), TLSConfig{Domains: []string{tc.domain}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("domain %q: %v, want %q", tc.domain, err, tc.want)
			}
		})
	}
}
