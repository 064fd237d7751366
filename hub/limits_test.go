package hub_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/identity"
	"github.com/tessera-ai/tessera/internal/kernel"
	"github.com/tessera-ai/tessera/internal/protocol"
)

// dialFrom opens a websocket as if from ip (the test hub trusts loopback
// as a proxy, so X-Forwarded-For names the client), with extra headers.
func dialFrom(tb testing.TB, th *testHub, ip string, extra http.Header) (*rawPeer, *http.Response, error) {
	tb.Helper()
	h := http.Header{}
	for k, v := range extra {
		h[k] = v
	}
	if ip != "" {
		h.Set("X-Forwarded-For", ip)
	}
	conn, resp, err := websocket.DefaultDialer.Dial(th.ws, h)
	if err != nil {
		return nil, resp, err
	}
	tb.Cleanup(func() { conn.Close() })
	key, _ := identity.Generate()
	return &rawPeer{tb: tb, conn: conn, key: key}, resp, nil
}

// refusal checks an HTTP refusal's status and JSON message.
func refusal(tb testing.TB, resp *http.Response, err error, status int, mentions string) {
	tb.Helper()
	if err == nil || resp == nil {
		tb.Fatalf("dial succeeded (%v), want HTTP %d", err, status)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Error string }
	if resp.StatusCode != status || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, mentions) {
		tb.Fatalf("HTTP %d %s, want %d mentioning %q", resp.StatusCode, body, status, mentions)
	}
}

func limitedHub(t *testing.T, l hub.Limits) *testHub {
	l.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	return startHub(t, func(c *hub.Config) { c.Limits = l })
}

// TestLimits checks each per-address limit against a real hub: the peer
// over it gets a clear refusal, while an honest client on another address
// keeps working.
func TestLimits(t *testing.T) {
	t.Run("ConnectionsPerIP", func(t *testing.T) {
		th := limitedHub(t, hub.Limits{ConnsPerIP: 3})
		var open []*rawPeer
		for range 3 {
			p, _, err := dialFrom(t, th, "203.0.113.1", nil)
			if err != nil {
				t.Fatal(err)
			}
			open = append(open, p)
		}
		_, resp, err := dialFrom(t, th, "203.0.113.1", nil)
		refusal(t, resp, err, http.StatusTooManyRequests, "3 connections open")
		if resp.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		if _, _, err := dialFrom(t, th, "203.0.113.2", nil); err != nil {
			t.Fatalf("another address refused: %v", err)
		}
		// IPv6 peers count by /64: another host of the same /64 is the same subscriber.
		for range 3 {
			if _, _, err := dialFrom(t, th, "2001:db8:1:2::a", nil); err != nil {
				t.Fatal(err)
			}
		}
		_, resp, err = dialFrom(t, th, "2001:db8:1:2::b", nil)
		refusal(t, resp, err, http.StatusTooManyRequests, "2001:db8:1:2::/64")
		// A closed connection frees its place.
		open[0].conn.Close()
		waitFor(t, "a place to free", 5*time.Second, func() bool {
			p, _, err := dialFrom(t, th, "203.0.113.1", nil)
			if err == nil {
				p.conn.Close()
			}
			return err == nil
		})
	})
	t.Run("ConnectRate", func(t *testing.T) {
		th := limitedHub(t, hub.Limits{ConnectRate: 2}) // bursts of 4
		for range 4 {
			p, _, err := dialFrom(t, th, "198.51.100.9", nil)
			if err != nil {
				t.Fatal(err)
			}
			p.conn.Close()
		}
		_, resp, err := dialFrom(t, th, "198.51.100.9", nil)
		refusal(t, resp, err, http.StatusTooManyRequests, "faster than 2 per second")
		time.Sleep(600 * time.Millisecond) // one token back
		if _, _, err := dialFrom(t, th, "198.51.100.9", nil); err != nil {
			t.Fatalf("refused after waiting: %v", err)
		}
	})
	t.Run("MessageRate", func(t *testing.T) {
		th := limitedHub(t, hub.Limits{MessageRate: 50})
		// On 127.0.0.1, its own address; at most 2 results per 50 ms.
		good := startClient(t, th, paced{device.CPU{}, 50 * time.Millisecond}, 2)
		waitFor(t, "the honest client to start", 10*time.Second, func() bool { return good.Stats().Accepted > 0 })
		p, _, err := dialFrom(t, th, "192.0.2.66", nil)
		if err != nil {
			t.Fatal(err)
		}
		p.login(1)
		for range 200 {
			if p.conn.WriteMessage(websocket.BinaryMessage, protocol.Encode(nil, &protocol.Capacity{Slots: 0})) != nil {
				break
			}
		}
		p.expectError(protocol.CodeRateLimited, "more than 50 messages per second")
		before := good.Stats().Accepted
		waitFor(t, "the honest client to keep working", 10*time.Second, func() bool { return good.Stats().Accepted >= before+10 })
		if s := good.Stats(); s.Refused != 0 {
			t.Errorf("honest client refused: %s", s.LastRefusal)
		}
	})
	t.Run("Origin", func(t *testing.T) {
		th := limitedHub(t, hub.Limits{AllowedOrigins: []string{"https://friends.example"}})
		_, resp, err := dialFrom(t, th, "", http.Header{"Origin": {"https://evil.example"}})
		refusal(t, resp, err, http.StatusForbidden, `"https://evil.example" may not contribute`)
		own := "http" + strings.TrimPrefix(strings.TrimSuffix(th.ws, "/ws"), "ws")
		for _, origin := range []string{own, "https://friends.example", ""} {
			h := http.Header{}
			if origin != "" {
				h.Set("Origin", origin)
			}
			p, _, err := dialFrom(t, th, "", h)
			if err != nil {
				t.Fatalf("origin %q refused: %v", origin, err)
			}
			p.login(1)
		}
	})
	t.Run("RequestRate", func(t *testing.T) {
		th := limitedHub(t, hub.Limits{RequestRate: 5})
		get := func(ip string) *http.Response {
			req, _ := http.NewRequest("GET", th.srv.URL+"/api/v1/status", nil)
			req.Header.Set("X-Forwarded-For", ip)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return resp
		}
		var last *http.Response
		for range 11 {
			last = get("203.0.113.50")
			if last.StatusCode != http.StatusOK {
				break
			}
			last.Body.Close()
		}
		refusal(t, last, errRefused, http.StatusTooManyRequests, "more than 5 requests per second")
		if resp := get("203.0.113.51"); resp.StatusCode != http.StatusOK {
			t.Errorf("another address got HTTP %d", resp.StatusCode)
		}
		// The page itself is not rate limited.
		resp, err := http.Get(th.srv.URL + "/")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("page: %v %v", resp.Status, err)
		}
	})
	t.Run("LoginHosts", func(t *testing.T) {
		// Behind a proxy the contributor dials a public name the hub does
		// not see as Host: a configured public host, or X-Forwarded-Host
		// from a trusted proxy, is accepted in the login signature; any
		// other host is not.
		th := startHub(t, func(c *hub.Config) {
			c.PublicHosts = []string{"Hub.Example:443"}
			c.Limits.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		login := func(fwdHost, signed string) protocol.Message {
			h := http.Header{}
			if fwdHost != "" {
				h.Set("X-Forwarded-Host", fwdHost)
			}
			p, _, err := dialFrom(t, th, "", h)
			if err != nil {
				t.Fatal(err)
			}
			ch := p.challenge()
			hello := p.hello(ch, 1)
			if hello.Signature, err = p.key.Sign(protocol.LoginText(ch.Hub, signed, ch.Nonce)); err != nil {
				t.Fatal(err)
			}
			p.send(hello)
			m, err := p.recv()
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		for _, tc := range []struct{ fwd, signed string }{{"", "hub.example"}, {"", "HUB.example:443"}, {"contrib.example", "contrib.example"}} {
			if m := login(tc.fwd, tc.signed); m.Kind() != protocol.KindWelcome {
				t.Errorf("signed for %q (forwarded host %q): %+v", tc.signed, tc.fwd, m)
			}
		}
		if m := login("contrib.example", "other.example"); m.Kind() != protocol.KindError {
			t.Errorf("signed for another host: %+v", m)
		}
	})
	t.Run("UntrustedForwardedFor", func(t *testing.T) {
		// Without trusted proxies X-Forwarded-For is ignored: a peer cannot
		// escape its limit by naming other addresses.
		th := startHub(t, func(c *hub.Config) { c.Limits = hub.Limits{ConnsPerIP: 2} })
		for i := range 2 {
			if _, _, err := dialFrom(t, th, "203.0.113."+string(rune('1'+i)), nil); err != nil {
				t.Fatal(err)
			}
		}
		_, resp, err := dialFrom(t, th, "203.0.113.9", nil)
		refusal(t, resp, err, http.StatusTooManyRequests, "127.0.0.1")
	})
}

// paced is a device that takes at least d per task.
type paced struct {
	device.CPU
	d time.Duration
}

func (p paced) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	time.Sleep(p.d)
	return p.CPU.Run(ctx, op, s, a, b, c)
}

// errRefused stands for the error a refused dial would return, for
// refusal's plain HTTP use.
var errRefused = io.ErrUnexpectedEOF
