package hub

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func gzipBytes(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		tb.Fatal(err)
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// serveStatic sends one request to staticHandler(fsys) and returns the
// response with its body read.
func serveStatic(tb testing.TB, fsys fs.FS, method, target string, header http.Header) (*http.Response, []byte) {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	staticHandler(fsys).ServeHTTP(rec, req)
	resp := rec.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, body
}

func TestStaticHandler(t *testing.T) {
	wasm := bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00 the client "), 500)
	page := []byte("<!doctype html><title>Tessera</title>")
	built := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	// The page is web/ inside a larger tree: nothing outside web/ may be
	// reached.
	tree := fstest.MapFS{
		"secret.txt":                {Data: []byte("secret")},
		"secret.txt.gz":             {Data: gzipBytes(t, []byte("secret"))},
		"web/index.html":            {Data: page},
		"web/app.js":                {Data: []byte(`"use strict";`)},
		"web/dist/tessera.wasm":     {Data: wasm, ModTime: built},
		"web/dist/tessera.wasm.gz":  {Data: gzipBytes(t, wasm), ModTime: built},
		"web/dist/wasm_exec.js":     {Data: []byte("// loader"), ModTime: built},
		"web/dist/stale.wasm":       {Data: []byte("new"), ModTime: built},
		"web/dist/stale.wasm.gz":    {Data: gzipBytes(t, []byte("old")), ModTime: built.Add(-time.Hour)},
		"web/dist/orphan.js.gz":     {Data: gzipBytes(t, []byte("no original"))},
		"web/dist/notes/readme.txt": {Data: []byte("notes")},
	}
	fsys, err := fs.Sub(tree, "web")
	if err != nil {
		t.Fatal(err)
	}
	gzSize := len(tree["web/dist/tessera.wasm.gz"].Data)
	gzipOK := http.Header{"Accept-Encoding": {"gzip, deflate, br"}}

	tests := []struct {
		name     string
		method   string
		target   string
		header   http.Header
		code     int    // 0: any error status
		gzipped  bool   // Content-Encoding: gzip
		body     []byte // after decompression; nil: not checked
		ctype    string // prefix; "" not checked
		vary     bool   // Vary: Accept-Encoding
		location string // redirect target; "" not checked
	}{
		{name: "GzipRequested", method: "GET", target: "/dist/tessera.wasm", header: gzipOK,
			code: 200, gzipped: true, body: wasm, ctype: "application/wasm", vary: true},
		{name: "GzipWeighted", method: "GET", target: "/dist/tessera.wasm", header: http.Header{"Accept-Encoding": {"br;q=1.0, gzip;q=0.5"}},
			code: 200, gzipped: true, body: wasm, ctype: "application/wasm", vary: true},
		{name: "GzipHead", method: "HEAD", target: "/dist/tessera.wasm", header: gzipOK,
			code: 200, gzipped: true, body: []byte{}, ctype: "application/wasm", vary: true},
		{name: "NotRequested", method: "GET", target: "/dist/tessera.wasm",
			code: 200, body: wasm, ctype: "application/wasm", vary: true},
		{name: "GzipRefused", method: "GET", target: "/dist/tessera.wasm", header: http.Header{"Accept-Encoding": {"gzip;q=0, identity"}},
			code: 200, body: wasm, ctype: "application/wasm", vary: true},
		{name: "RangeServedPlain", method: "GET", target: "/dist/tessera.wasm",
			header: http.Header{"Accept-Encoding": {"gzip"}, "Range": {"bytes=0-3"}},
			code:   206, body: wasm[:4], vary: true},
		{name: "MissingGz", method: "GET", target: "/dist/wasm_exec.js", header: gzipOK,
			code: 200, body: []byte("// loader"), ctype: "text/javascript"},
		{name: "StaleGzIgnored", method: "GET", target: "/dist/stale.wasm", header: gzipOK,
			code: 200, body: []byte("new"), ctype: "application/wasm"},
		{name: "GzWithoutOriginal", method: "GET", target: "/dist/orphan.js", header: gzipOK, code: 404},
		{name: "Index", method: "GET", target: "/", header: gzipOK,
			code: 200, body: page, ctype: "text/html"},
		{name: "IndexRedirect", method: "GET", target: "/index.html", header: gzipOK,
			code: 301, location: "./"},
		{name: "DirRedirect", method: "GET", target: "/dist", header: gzipOK,
			code: 301, location: "dist/"},
		{name: "TraversalDotDot", method: "GET", target: "/dist/../../secret.txt", header: gzipOK},
		{name: "TraversalRoot", method: "GET", target: "/../secret.txt", header: gzipOK},
		{name: "TraversalEncoded", method: "GET", target: "/dist/%2e%2e/%2e%2e/secret.txt", header: gzipOK},
		{name: "TraversalBackslash", method: "GET", target: "/dist/..%5c..%5csecret.txt", header: gzipOK},
		{name: "TraversalPlain", method: "GET", target: "/../secret.txt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := serveStatic(t, fsys, tc.method, tc.target, tc.header)
			if tc.code == 0 {
				if resp.StatusCode < 400 || bytes.Contains(body, []byte("secret")) {
					t.Fatalf("%s %s: HTTP %d %.80q, want it refused", tc.method, tc.target, resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != tc.code {
				t.Fatalf("%s %s: HTTP %d, want %d (body %.80q)", tc.method, tc.target, resp.StatusCode, tc.code, body)
			}
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
				t.Errorf("Content-Encoding %q, want gzip: %v", resp.Header.Get("Content-Encoding"), tc.gzipped)
			}
			if tc.gzipped && tc.method == "GET" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatalf("gzip body: %v", err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatalf("gunzip body: %v", err)
				}
				if n := resp.Header.Get("Content-Length"); n != "" && n != "0" && len(body) <= gzSize {
					t.Errorf("decompressed body (%d bytes) not larger than the .gz", len(body))
				}
			}
			if tc.body != nil && !bytes.Equal(body, tc.body) {
				t.Errorf("body %d bytes %.40q, want %d bytes %.40q", len(body), body, len(tc.body), tc.body)
			}
			if ct := resp.Header.Get("Content-Type"); tc.ctype != "" && !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if got := strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding"); got != tc.vary {
				t.Errorf("Vary %q, want Accept-Encoding: %v", resp.Header.Values("Vary"), tc.vary)
			}
			if tc.location != "" && resp.Header.Get("Location") != tc.location {
				t.Errorf("Location %q, want %q", resp.Header.Get("Location"), tc.location)
			}
			if tc.code == 200 {
				if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
					t.Errorf("Cache-Control %q, want no-cache", cc)
				}
				if resp.Header.Get("ETag") == "" {
					t.Error("no ETag: the browser cannot revalidate")
				}
			}
		})
	}
}

// TestStaticHandlerRevalidates checks that a browser holding the current
// version gets 304 Not Modified, for the compressed and the plain file,
// and that the two representations have different ETags.
func TestStaticHandlerRevalidates(t *testing.T) {
	wasm := bytes.Repeat([]byte("client "), 1000)
	fsys := fstest.MapFS{
		"app.js":                 {Data: []byte(`"use strict";`)},
		"dist/tessera.wasm":      {Data: wasm},
		"dist/tessera.wasm.gz":   {Data: gzipBytes(t, wasm)},
		"dist/other/index.html":  {Data: []byte("other")},
		"dist/other/index.html~": {Data: []byte("backup")},
	}
	tags := map[string]bool{}
	for _, tc := range []struct{ name, target, encoding string }{
		{"Gzip", "/dist/tessera.wasm", "gzip"},
		{"Plain", "/dist/tessera.wasm", ""},
		{"AppJS", "/app.js", "gzip"},
		{"DirIndex", "/dist/other/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.encoding != "" {
				h.Set("Accept-Encoding", tc.encoding)
			}
			resp, _ := serveStatic(t, fsys, "GET", tc.target, h)
			tag := resp.Header.Get("ETag")
			if resp.StatusCode != 200 || tag == "" {
				t.Fatalf("HTTP %d, ETag %q", resp.StatusCode, tag)
			}
			if tags[tag] {
				t.Errorf("ETag %s already used by another representation", tag)
			}
			tags[tag] = true
			h.Set("If-None-Match", tag)
			resp, body := serveStatic(t, fsys, "GET", tc.target, h)
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("revalidation: HTTP %d with %d bytes, want 304", resp.StatusCode, len(body))
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"deflate, gzip;q=0.8"}, true},
		{[]string{"br", "x-gzip"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"gzipped"}, false},
		{[]string{"identity, *;q=0"}, false},
	} {
		if got := acceptsGzip(tc.values); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}

// TestSecurityHeaders checks the headers of the hub's real site (web.FS
// through the hub's handler): the pages carry the Content-Security-Policy
// and every response says nosniff and no-referrer.
func TestSecurityHeaders(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	for _, tc := range []struct{ name, path string }{
		{"ContributorPage", "/"},
		{"Dashboard", "/dashboard.html"},
		{"Script", "/app.js"},
		{"Missing", "/no-such-page.html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			checkSecurityHeaders(t, resp.Header)
			csp := resp.Header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self'",
				"object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'"} {
				if !strings.Contains(csp, d+";") && !strings.HasSuffix(csp, d) {
					t.Errorf("GET %s: Content-Security-Policy %q lacks %q", tc.path, csp, d)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") || strings.Contains(csp, "*") {
				t.Errorf("GET %s: Content-Security-Policy %q allows inline code, eval or any host", tc.path, csp)
			}
		})
	}
	t.Run("Middleware", func(t *testing.T) {
		api := securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"echo": "<script>alert(1)</script>"}`)
		}))
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/anything", nil))
		checkSecurityHeaders(t, rec.Result().Header)
	})
	t.Run("API", func(t *testing.T) {
		// The hub's own API responses carry the headers too.
		resp, err := http.Get(srv.URL + "/api/v1/status")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		checkSecurityHeaders(t, resp.Header)
	})
}

func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", got)
	}
	if got := h.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q, want no-referrer", got)
	}
}
