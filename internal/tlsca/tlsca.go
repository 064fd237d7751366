// Package tlsca loads the extra certificate authority a command trusts
// for a self-hosted hub (the --ca-cert flag of tessera-edge and
// tessera-admin).
package tlsca

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// Usage documents the --ca-cert flag.
const Usage = "PEM file of a CA to trust, besides the system's, for a wss:// or https:// hub (a self-hosted hub's private CA)"

// Load returns the TLS configuration that trusts the system's CAs and the
// PEM certificates in path, or nil (Go's defaults) when path is "".
func Load(path string) (*tls.Config, error) {
	if path == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the CA certificate: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
