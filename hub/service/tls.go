package service

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// TLSConfig chooses how the hub serves HTTPS and WSS: browsers open
// websockets from an https page only over wss://, and outside localhost
// only an https page has the features the client needs. The zero value
// serves plain HTTP.
//
// Either a certificate from files (CertFile and KeyFile), or certificates
// obtained automatically from an ACME CA (Let's Encrypt by default) for
// Domains. ACME validation uses the tls-alpn-01 challenge, answered on the
// hub's own listener: nothing else needs to listen (no port 80), but the
// CA connects to port 443 of each domain, so the hub must listen there or
// behind a forward from it.
type TLSConfig struct {
	// CertFile holds the PEM certificate, followed by any intermediates.
	CertFile string
	// KeyFile holds the certificate's PEM private key.
	KeyFile string
	// Domains are the names to get ACME certificates for; the hub asks
	// for none other, whatever name a client sends.
	Domains []string
	// Email is given to the ACME CA for notices about the certificates
	// (optional).
	Email string
	// ACMEDirectory is the CA's directory URL; "" means Let's Encrypt's
	// production directory. Let's Encrypt's staging directory is useful
	// to try a setup without its rate limits.
	ACMEDirectory string
}

// Enabled reports whether the hub serves TLS.
func (c TLSConfig) Enabled() bool {
	return c.CertFile != "" || c.KeyFile != "" || len(c.Domains) > 0
}

// acmeCacheDir is where, in the data directory, the ACME account key and
// the certificates with their private keys are kept.
const acmeCacheDir = "acme"

// serverTLS returns the TLS configuration the hub serves with, or nil
// when TLS is off. A certificate that cannot serve (unreadable, key not
// matching, expired) is an error here, before anything starts.
func serverTLS(dataDir string, c TLSConfig) (*tls.Config, error) {
	switch {
	case !c.Enabled():
		return nil, nil
	case len(c.Domains) > 0 && (c.CertFile != "" || c.KeyFile != ""):
		return nil, errors.New("TLS: use either a certificate file and key or ACME domains, not both")
	case len(c.Domains) > 0:
		return acmeTLS(dataDir, c)
	case c.CertFile == "" || c.KeyFile == "":
		return nil, errors.New("TLS: a certificate needs both its certificate file and its key file")
	}
	pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", c.CertFile, c.KeyFile, err)
	}
	if leaf := pair.Leaf; leaf != nil && time.Now().After(leaf.NotAfter) {
		return nil, fmt.Errorf("TLS certificate %s expired on %s", c.CertFile, leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	cfg := baseTLS()
	cfg.Certificates = []tls.Certificate{pair}
	return cfg, nil
}

// baseTLS is what every TLS listener of the hub shares. HTTP/2 is not
// offered: the websocket upgrade is an HTTP/1.1 request, and browsers
// that reach a server over h2 may try websockets over h2 too.
func baseTLS() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}

// acmeTLS configures automatic certificates for c.Domains, cached (with
// their private keys, hence mode 0700) in DATA/acme so that a restart
// does not ask the CA again.
func acmeTLS(dataDir string, c TLSConfig) (*tls.Config, error) {
	var names []string
	for _, d := range c.Domains {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		switch {
		case d == "":
			continue
		case net.ParseIP(d) != nil:
			return nil, fmt.Errorf("TLS domain %q: ACME certificates are for domain names, not IP addresses", d)
		case strings.ContainsAny(d, ":/ *") || !strings.Contains(d, "."):
			return nil, fmt.Errorf("TLS domain %q is not a fully qualified domain name", d)
		}
		names = append(names, d)
	}
	if len(names) == 0 {
		return nil, errors.New("TLS: no ACME domain given")
	}
	dir := filepath.Join(dataDir, acmeCacheDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("TLS: create the ACME cache: %w", err)
	}
	// An existing directory keeps its mode under MkdirAll.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("TLS: restrict the ACME cache: %w", err)
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(dir),
		HostPolicy: autocert.HostWhitelist(names...),
		Email:      c.Email,
	}
	if c.ACMEDirectory != "" {
		m.Client = &acme.Client{DirectoryURL: c.ACMEDirectory}
	}
	cfg := baseTLS()
	cfg.GetCertificate = m.GetCertificate
	// The CA's tls-alpn-01 validation connects with this protocol, and
	// GetCertificate answers it.
	cfg.NextProtos = append(cfg.NextProtos, acme.ALPNProto)
	return cfg, nil
}

// listenTLS wraps ln to serve TLS as c says, or returns ln as it is when
// TLS is off.
func listenTLS(ln net.Listener, dataDir string, c TLSConfig, log *slog.Logger) (net.Listener, error) {
	cfg, err := serverTLS(dataDir, c)
	if err != nil || cfg == nil {
		return ln, err
	}
	if len(c.Domains) > 0 {
		if a, ok := ln.Addr().(*net.TCPAddr); ok && a.Port != 443 {
			log.Warn("ACME validation (tls-alpn-01) connects to port 443: forward it to this port", "port", a.Port, "domains", c.Domains)
		}
	}
	return tls.NewListener(ln, cfg), nil
}
