// Package web is the site the hub serves at "/": the contributor page
// (index.html, app.js and the modules it imports), the dashboard
// (dashboard.html, dashboard.js), style.css, and the build outputs in
// dist/: the browser client (tessera.wasm, built from ../wasm by
// `make wasm`, and Go's wasm_exec.js) and the bundled chart and hash
// libraries (vendor.js and vendor.css, built from vendor/ by `make web`).
// Before those builds dist/ holds only a README, and the pages say in
// words what is missing.
//
// The pages' own JavaScript is served as written (ES modules); only the
// third-party code goes through the bundler.
//
// Entry point: FS, to be served as the root of the hub's web handler.
package web

import "embed"

// FS holds the site's files at its root ("index.html", "app.js",
// "dist/...", ...); the hub serves dist/*.gz precompressed copies to
// browsers that accept gzip.
//
//go:embed *.html *.js *.css all:dist
var FS embed.FS
