// Package rpcdial connects to Ethereum JSON-RPC endpoints without letting
// the secret parts of their URLs into errors or logs. Hosted nodes put
// the API key in the path (https://host/v3/KEY), the query (?apikey=KEY)
// or the user info (https://user:KEY@host); Go's HTTP client quotes the
// whole URL in every network error, and those errors reach the hub's log,
// the admin API and even the public RPC proxy.
//
// Entry points: Public, what may be shown of a URL, and Dial, which opens
// a client that only ever knows the public part.
package rpcdial

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// Public returns what may be logged of an RPC URL: scheme://host, without
// user info, path or query. An IPC endpoint (a file path, no scheme) is
// returned as it is, a path being no secret; a URL that does not parse
// is not echoed at all.
func Public(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	if u.Scheme == "" && u.Host == "" {
		return u.Path
	}
	return u.Scheme + "://" + u.Host
}

// Dial connects to the endpoint raw. For http(s) URLs the client is built
// on Public(raw) and hc's requests are sent to the full URL by a
// transport underneath, so an error can only ever quote the public part;
// hc (nil: a default client) also chooses the TLS roots. Redirects are
// not followed: they would leave the URL the secret belongs to. Other
// schemes (ws, wss, IPC) are dialed as they are: their errors do not
// quote the URL. Dial's own errors name only Public(raw).
func Dial(ctx context.Context, raw string, hc *http.Client) (*ethclient.Client, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("RPC URL %s does not parse", Public(raw))
	}
	var c *rpc.Client
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("RPC URL %s has no host", Public(raw))
		}
		base := http.DefaultTransport
		if hc != nil && hc.Transport != nil {
			base = hc.Transport
		}
		client := &http.Client{
			Transport:     &secretURL{full: u, next: base},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
		if hc != nil {
			client.Timeout = hc.Timeout
		}
		c, err = rpc.DialOptions(ctx, Public(raw), rpc.WithHTTPClient(client))
	default:
		c, err = rpc.DialContext(ctx, raw)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to the RPC at %s: %w", Public(raw), err)
	}
	return ethclient.NewClient(c), nil
}

// secretURL sends every request to full, the endpoint's complete URL,
// whatever public URL the request was made for.
type secretURL struct {
	full *url.URL
	next http.RoundTripper
}

func (s *secretURL) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	u := *s.full
	r.URL = &u
	r.Host = ""
	// http.Client turns user info into basic auth, but it saw only the
	// public URL.
	if u.User != nil && r.Header.Get("Authorization") == "" {
		pass, _ := u.User.Password()
		r.SetBasicAuth(u.User.Username(), pass)
	}
	r.URL.User = nil
	return s.next.RoundTrip(r)
}
