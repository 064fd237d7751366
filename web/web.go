// Package web is the contributor page that the hub serves at "/":
// index.html, app.js and style.css, and the browser client in dist/
// (tessera.wasm, built from ../wasm, and Go's wasm_exec.js), which
// `make wasm` writes there. Before that build dist/ holds only a README and
// the page tells the visitor that the client is not built.
//
// Entry point: FS, to be served as the root of the hub's web handler.
package web

import "embed"

// FS holds the page's files at its root ("index.html", "app.js",
// "style.css", "dist/..."); the hub serves dist/*.gz precompressed copies
// to browsers that accept gzip.
//
//go:embed index.html app.js style.css all:dist
var FS embed.FS
