//go:build !js

// Package hubapi reads a hub's public HTTP API for a native contributor:
// the models it trains, a contributor's credit in each, and the Merkle
// proof of that credit, which Check verifies against the TesseraCredits
// contract through any Ethereum JSON-RPC endpoint (by default the hub's
// read-only proxy), so the proof is trusted only as far as the chain is.
//
// Entry points: New (from the hub's websocket or HTTP URL), (*API).Models,
// (*API).Credit, (*API).Proof and Check; (*API).UseTLS and CheckWith for
// a hub whose certificate a private CA signed.
package hubapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tessera-ai/tessera/internal/flop"
)

// API reads one hub's public endpoints.
type API struct {
	// Base is the hub's HTTP root, e.g. http://127.0.0.1:8080.
	Base string
	// HTTP makes the requests.
	HTTP *http.Client
}

// requestTimeout bounds one request to the hub.
const requestTimeout = 15 * time.Second

// New returns an API for the hub at hubURL: its websocket endpoint
// (ws://HOST/ws, wss://HOST/ws, as given to the contributor) or its HTTP
// root.
func New(hubURL string) (*API, error) {
	base, err := BaseURL(hubURL)
	if err != nil {
		return nil, err
	}
	return &API{Base: base, HTTP: &http.Client{Timeout: requestTimeout}}, nil
}

// UseTLS makes a's requests use cfg for https:// hubs, e.g. with RootCAs
// holding the private CA of a self-hosted hub. Pass a.HTTP to CheckWith to
// check proofs through that hub's RPC proxy the same way.
func (a *API) UseTLS(cfg *tls.Config) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	a.HTTP.Transport = t
}

// BaseURL turns the hub's websocket URL into its HTTP root: ws becomes
// http, wss https, and the path (/ws) is dropped. HTTP URLs are accepted
// as they are, without their path.
func BaseURL(hubURL string) (string, error) {
	u, err := url.Parse(hubURL)
	if err != nil {
		return "", fmt.Errorf("hub URL %q: %w", hubURL, err)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("hub URL %q: want ws://, wss://, http:// or https://", hubURL)
	}
	if u.Host == "" {
		return "", fmt.Errorf("hub URL %q has no host", hubURL)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Error is an error response from the hub.
type Error struct {
	// Status is the HTTP status code, e.g. 404.
	Status int
	// Message is the hub's explanation.
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("hub: %s (HTTP %d)", e.Message, e.Status) }

// IsNotFound reports whether err is the hub saying that what was asked
// for does not exist (no such model, no credit for the address).
func IsNotFound(err error) bool {
	var he *Error
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}

// get fetches path (with its query) and decodes the JSON answer into v.
func (a *API) get(ctx context.Context, path string, v any) error {
	return a.do(ctx, http.MethodGet, path, nil, v)
}

// do sends a request with a JSON body (nil: none) and decodes the hub's
// JSON answer into v; a refusal is an *Error.
func (a *API) do(ctx context.Context, method, path string, in []byte, v any) error {
	var rd io.Reader
	if in != nil {
		rd = bytes.NewReader(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, rd)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(body[:min(len(body), 200)]))
		}
		return &Error{Status: resp.StatusCode, Message: e.Error}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s %s: the hub's answer is not the expected JSON: %w", method, path, err)
	}
	return nil
}

// JobNames returns the name of each of the hub's jobs, by job ID (GET
// /api/v1/jobs). Several jobs may share a name.
func (a *API) JobNames(ctx context.Context) (map[string]string, error) {
	var jobs struct {
		Jobs []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"jobs"`
	}
	if err := a.get(ctx, "/api/v1/jobs", &jobs); err != nil {
		return nil, err
	}
	names := make(map[string]string, len(jobs.Jobs))
	for _, j := range jobs.Jobs {
		names[j.ID] = j.Name
	}
	return names, nil
}

// Models returns the IDs of the models the hub trains (GET /api/v1/jobs)
// and of those it has committed credit for (GET /api/v1/epochs, which
// includes the built-in matmul job), sorted, without duplicates.
func (a *API) Models(ctx context.Context) ([]string, error) {
	ids, _, err := a.ModelsNamed(ctx)
	return ids, err
}

// ModelsNamed is Models, with the job names JobNames returns (from the
// same request).
func (a *API) ModelsNamed(ctx context.Context) ([]string, map[string]string, error) {
	names, err := a.JobNames(ctx)
	if err != nil {
		return nil, nil, err
	}
	var epochs struct {
		Epochs []struct {
			Model string `json:"model"`
		} `json:"epochs"`
	}
	if err := a.get(ctx, "/api/v1/epochs?limit=1", &epochs); err != nil && !IsNotFound(err) {
		return nil, nil, err
	}
	var ids []string
	for id := range names {
		ids = append(ids, id)
	}
	for _, e := range epochs.Epochs {
		ids = append(ids, e.Model)
	}
	slices.Sort(ids)
	return slices.Compact(ids), names, nil
}

// Credit is a contributor's credit in one model, in exact FLOPs, as the
// hub's ledger holds it (decimal strings in JSON; older hubs' numbers are
// read too).
type Credit struct {
	Verified flop.Amount `json:"verified"`
	Pending  flop.Amount `json:"pending"`
	Rejected flop.Amount `json:"rejected"`
}

// Credit returns address's credit in model (GET /api/v1/credits/{model});
// an address the ledger does not know has zero credit.
func (a *API) Credit(ctx context.Context, model, address string) (Credit, error) {
	var body struct {
		Balances []struct {
			Address string `json:"address"`
			Credit
		} `json:"balances"`
	}
	if err := a.get(ctx, "/api/v1/credits/"+url.PathEscape(model), &body); err != nil {
		return Credit{}, err
	}
	for _, b := range body.Balances {
		if strings.EqualFold(b.Address, address) {
			return b.Credit, nil
		}
	}
	return Credit{}, nil
}
