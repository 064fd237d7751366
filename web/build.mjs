// Bundles vendor/index.js (uPlot and @noble/hashes' keccak, pinned in
// package-lock.json) into dist/vendor.js and dist/vendor.css with esbuild.
// Run by `make web` after `npm ci`.
import { build } from "esbuild";

await build({
  entryPoints: { vendor: "vendor/index.js" },
  outdir: "dist",
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2020"],
  legalComments: "eof",
  logLevel: "warning",
});
