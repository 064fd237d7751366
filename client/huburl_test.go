package client

import (
	"strings"
	"testing"
)

// TestCheckHubURL: websocket URLs pass; the hub's web address is refused
// with the websocket URL to give instead, keeping a proxy's prefix; other
// schemes and host-less URLs are refused.
func TestCheckHubURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"ws://127.0.0.1:8080/ws", ""},
		{"wss://hub.example.org/tessera/ws", ""},
		{"http://127.0.0.1:8080/", "ws://127.0.0.1:8080/ws"},
		{"http://127.0.0.1:8080/ws", "ws://127.0.0.1:8080/ws"},
		{"https://example.org/tessera/", "wss://example.org/tessera/ws"},
		{"ftp://x/ws", "want ws://"},
		{"ws:///ws", "no host"},
		{"://", "hub URL"},
	} {
		err := CheckHubURL(tc.url)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: %v, want %q", tc.url, err, tc.want)
		}
	}
}
