//go:build !js

package hubapi

import "testing"

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080"},
		{"wss://hub.example.org/ws", "https://hub.example.org"},
		{"http://hub:8080/", "http://hub:8080"},
		{"https://hub", "https://hub"},
	} {
		got, err := BaseURL(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("BaseURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"ftp://hub/ws", "ws:///ws", "127.0.0.1:8080", "://"} {
		if got, err := BaseURL(bad); err == nil {
			t.Errorf("BaseURL(%q) = %q, want an error", bad, got)
		}
	}
}
