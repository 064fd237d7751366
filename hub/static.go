package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pageCSP is the site's Content-Security-Policy: the pages run only the
// hub's own scripts (and compile WebAssembly: the client is Go built for
// wasm), load only its own styles and images (and data: URLs, the
// favicon's), and connect only to their own origin, the API and the
// websocket included. Injected markup can neither run nor send anything
// elsewhere, and nothing may frame the pages.
const pageCSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; " +
	"img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'none'; " +
	"frame-ancestors 'none'; form-action 'none'"

// securityHeaders adds the headers every response of the hub should
// carry: X-Content-Type-Options stops browsers from sniffing a JSON
// answer (which may echo what a visitor sent) into a script or a page,
// and Referrer-Policy keeps page URLs, with their query parameters, from
// other sites.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// staticHandler serves the files of fsys like http.FileServerFS (which
// keeps handling directories, redirects and path traversal), with the
// security headers (pageCSP and securityHeaders) and two additions:
//
//   - When the request accepts gzip and a precompressed "name.gz" exists
//     next to "name" and is not older than it, the .gz is served with
//     Content-Encoding: gzip and name's Content-Type. `make wasm` writes
//     web/dist/tessera.wasm.gz: about 2.3 MB instead of 7 MB.
//   - Every response says Cache-Control: no-cache and carries an ETag (a
//     hash of the bytes sent), so a browser revalidates with a cheap 304
//     and sees a new page or client as soon as the hub has one. No file
//     name carries a version, so nothing may be cached without asking.
func staticHandler(fsys fs.FS) http.Handler {
	return securityHeaders(&static{fsys: fsys, files: http.FileServerFS(fsys), etags: make(map[etagKey]string)})
}

type static struct {
	fsys  fs.FS
	files http.Handler

	mu    sync.Mutex
	etags map[etagKey]string
}

// etagKey identifies one version of a file: embedded files have no
// modification time, but they never change while the hub runs.
type etagKey struct {
	name string
	mod  time.Time
	size int64
}

func (s *static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", pageCSP)
	name, info := s.resolve(r.URL.Path)
	if info == nil {
		s.files.ServeHTTP(w, r)
		return
	}
	gz, gzInfo := s.sibling(name+".gz", info)
	if gzInfo != nil {
		w.Header().Add("Vary", "Accept-Encoding")
	}
	if gzInfo == nil || r.Header.Get("Range") != "" || !acceptsGzip(r.Header.Values("Accept-Encoding")) {
		if tag := s.etag(name, info); tag != "" {
			w.Header().Set("ETag", tag)
		}
		s.files.ServeHTTP(w, r)
		return
	}
	f, err := s.fsys.Open(gz)
	if err != nil {
		s.files.ServeHTTP(w, r)
		return
	}
	defer f.Close()
	body, ok := f.(io.ReadSeeker)
	if !ok {
		s.files.ServeHTTP(w, r)
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = s.sniff(name)
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Encoding", "gzip")
	if tag := s.etag(gz, gzInfo); tag != "" {
		h.Set("ETag", tag)
	}
	http.ServeContent(w, r, name, gzInfo.ModTime(), body)
}

// resolve maps a URL path to the regular file the file server sends for
// it without a redirect: the file itself, or a directory's index.html when
// the path ends in "/". It returns a nil info for anything else
// (redirects, directory listings, missing files, unclean paths such as
// those with ".." elements), which the file server alone handles.
func (s *static) resolve(urlPath string) (string, fs.FileInfo) {
	dir := strings.HasSuffix(urlPath, "/")
	name := strings.TrimPrefix(path.Clean(urlPath), "/")
	want := "/" + name
	if dir && name != "" {
		want += "/"
	}
	if urlPath != want || !fs.ValidPath(name) && name != "" {
		return "", nil
	}
	if dir {
		name = path.Join(name, "index.html")
	} else if name == "index.html" || strings.HasSuffix(name, "/index.html") {
		return "", nil // redirected to "./"
	}
	info, err := fs.Stat(s.fsys, name)
	if err != nil || !info.Mode().IsRegular() {
		return "", nil
	}
	return name, info
}

// sibling returns gz's info if it is a regular file at least as new as the
// original: a .gz left over from an older build is ignored.
func (s *static) sibling(gz string, orig fs.FileInfo) (string, fs.FileInfo) {
	info, err := fs.Stat(s.fsys, gz)
	if err != nil || !info.Mode().IsRegular() || info.ModTime().Before(orig.ModTime()) {
		return "", nil
	}
	return gz, info
}

// etag returns a strong ETag for the file's bytes, computed once per
// version of the file, or "" if the file cannot be read.
func (s *static) etag(name string, info fs.FileInfo) string {
	key := etagKey{name: name, mod: info.ModTime(), size: info.Size()}
	s.mu.Lock()
	tag, ok := s.etags[key]
	s.mu.Unlock()
	if ok {
		return tag
	}
	f, err := s.fsys.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return ""
	}
	tag = strconv.Quote(hex.EncodeToString(sum.Sum(nil)[:12]))
	s.mu.Lock()
	s.etags[key] = tag
	s.mu.Unlock()
	return tag
}

// sniff guesses the Content-Type of a file whose extension mime does not
// know, from its first bytes, as the file server would.
func (s *static) sniff(name string) string {
	f, err := s.fsys.Open(name)
	if err != nil {
		return "application/octet-stream"
	}
	defer f.Close()
	var buf [512]byte
	n, _ := io.ReadFull(f, buf[:])
	return http.DetectContentType(buf[:n])
}

// acceptsGzip reports whether Accept-Encoding values admit gzip: listed
// as gzip or x-gzip without q=0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" {
				continue
			}
			if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(q), 64); err != nil || f <= 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}
