// The third-party code the pages use, bundled by build.mjs into
// dist/vendor.js (and uPlot's stylesheet into dist/vendor.css). The pages'
// own modules are served as written; they import this bundle when they
// need a chart or a hash, and say so in words when it is not built.
import "uplot/dist/uPlot.min.css";

export { default as uPlot } from "uplot";
export { keccak_256 } from "@noble/hashes/sha3.js";
