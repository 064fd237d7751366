package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/tessera-ai/tessera/internal/tlsca"
)

// maxResponse bounds a response body the CLI reads.
const maxResponse = 64 << 20

// apiError is a refusal from the hub, with the HTTP status and the
// hub's message.
type apiError struct {
	method, path string
	status       int
	msg          string
	noRoute      bool // the hub has no such endpoint at all
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d from %s %s)", e.msg, e.status, e.method, e.path)
}

func (e *apiError) exitCode() int {
	if e.noRoute {
		return exitFailed
	}
	switch e.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return exitAuth
	case http.StatusNotFound:
		return exitNotFound
	}
	return exitFailed
}

// baseURL is the hub's URL without a trailing slash; "host:port" means
// http://host:port.
func (a *app) baseURL() (string, error) {
	s := strings.TrimRight(a.opts.hub, "/")
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageErrorf("--hub %q is not an http(s) URL like %s", a.opts.hub, defaultHub)
	}
	return s, nil
}

// token returns the admin token: from --token-file, else from
// TESSERA_ADMIN_TOKEN, else from the default file.
func (a *app) token() (string, error) {
	path := a.opts.tokenFile
	if path == "" {
		if t := strings.TrimSpace(a.getenv("TESSERA_ADMIN_TOKEN")); t != "" {
			return t, nil
		}
		path = defaultTokenFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", &cliError{code: exitAuth, msg: fmt.Sprintf(
			"no admin token: %v (the hub writes it to DATA/admin.token on first start; use --token-file or TESSERA_ADMIN_TOKEN)", err)}
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", &cliError{code: exitAuth, msg: fmt.Sprintf("no admin token: %s is empty", path)}
	}
	return tok, nil
}

// call sends a request to the hub and returns the body of a 2xx
// response. admin requests carry the token. Anything else becomes an
// *apiError with the hub's message.
func (a *app) call(ctx context.Context, method, path string, body []byte, admin bool) ([]byte, error) {
	base, err := a.baseURL()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if admin {
		tok, err := a.token()
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	hc, err := a.httpClient()
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the hub at %s: %w", base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the response: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	return nil, refusal(method, path, resp, data)
}

// refusal makes an *apiError of a response: the hub's {"error": ...}, or
// what a response that is not from the API (a route the hub lacks) means.
func refusal(method, path string, resp *http.Response, data []byte) *apiError {
	e := &apiError{method: method, path: path, status: resp.StatusCode}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/json" {
		var body struct{ Error string }
		if json.Unmarshal(data, &body) == nil && body.Error != "" {
			e.msg = body.Error
			return e
		}
	}
	switch msg := strings.TrimSpace(string(data)); {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		e.msg, e.noRoute = "the hub does not serve this (an older hub, or one running without its chain?)", true
	case msg != "" && len(msg) < 200:
		e.msg = msg
	default:
		e.msg = http.StatusText(resp.StatusCode)
	}
	return e
}

// getJSON GETs path into v and returns the raw body too (what --json
// prints).
func (a *app) getJSON(ctx context.Context, path string, admin bool, v any) ([]byte, error) {
	return a.doJSON(ctx, http.MethodGet, path, nil, admin, v)
}

// doJSON sends a request and decodes a JSON response into v.
func (a *app) doJSON(ctx context.Context, method, path string, body []byte, admin bool, v any) ([]byte, error) {
	data, err := a.call(ctx, method, path, body, admin)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%s %s: the hub's answer is not what this CLI expects: %w", method, path, err)
	}
	return data, nil
}

// printJSON prints v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printRaw prints a JSON body from the hub as it came.
func (a *app) printRaw(data []byte) error {
	data = bytes.TrimSpace(data)
	if _, err := a.stdout.Write(append(data, '\n')); err != nil {
		return err
	}
	return nil
}

// httpClient is the client for the hub and the RPC proxy: Go's default,
// or one that also trusts --ca-cert.
func (a *app) httpClient() (*http.Client, error) {
	cfg, err := tlsca.Load(a.opts.caCert)
	if err != nil {
		return nil, usageErrorf("--ca-cert: %v", err)
	}
	if cfg == nil {
		return http.DefaultClient, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	return &http.Client{Transport: t}, nil
}
