// Helpers shared by the contributor page and the dashboard: reading the
// hub's JSON API, polling that pauses while the tab is hidden, and
// number formatting.

export const $ = (id) => document.getElementById(id);

// el creates an element with properties, e.g. el("p", {className: "note"}).
export const el = (tag, props) => Object.assign(document.createElement(tag), props);

// setText changes a node's text only when it differs, so that live regions
// announce real changes only.
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// getJSON fetches a hub API path (relative to the page) and returns its
// body. A refusal becomes an Error carrying the hub's own message and the
// HTTP status (err.status); 404 is returned as null when allow404 is set.
export async function getJSON(path, { allow404 = false } = {}) {
  const signal = AbortSignal.timeout ? AbortSignal.timeout(10000) : undefined;
  let resp;
  try {
    resp = await fetch(path, { cache: "no-store", signal });
  } catch (err) {
    throw new Error(err.name === "TimeoutError" ? "no answer in 10 s" : err.message || String(err));
  }
  if (resp.status === 404 && allow404) return null;
  if (!resp.ok) {
    let why = `HTTP ${resp.status}`;
    try {
      const body = await resp.json();
      if (body && body.error) why += `: ${body.error}`;
    } catch {
      // not JSON: the status says enough
    }
    const err = new Error(why);
    err.status = resp.status;
    throw err;
  }
  return resp.json();
}

// poll calls fn now and then every millis while the tab is visible; a
// hidden tab does not poll, and becoming visible polls at once. A call
// never overlaps the previous one.
export function poll(fn, millis) {
  let timer = 0;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    clearTimeout(timer);
    try {
      await fn();
    } finally {
      busy = false;
      if (!document.hidden) timer = setTimeout(tick, millis);
    }
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) tick();
  });
  tick();
}

export const count = (n) => (Number.isFinite(n) ? n : 0).toLocaleString("en-US");

export const percent = (x, digits = 1) => `${Number((100 * (Number.isFinite(x) ? x : 0)).toFixed(digits))}%`;

// flops formats an amount of floating-point operations (a number, or a
// decimal string as the chain endpoints give) with an SI prefix.
export function flops(v) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) return "0 FLOP";
  const units = [[1e18, "EFLOP"], [1e15, "PFLOP"], [1e12, "TFLOP"], [1e9, "GFLOP"], [1e6, "MFLOP"], [1e3, "kFLOP"]];
  for (const [scale, unit] of units) {
    if (n >= scale) return `${(n / scale).toPrecision(3)} ${unit}`;
  }
  return `${n} FLOP`;
}

// hexCell returns a <code> holding a whole 0x-hex value (an address, a
// hash), which wraps anywhere on narrow screens.
export function hexCell(h) {
  return el("code", { className: "hex", textContent: h || "–" });
}

// loadVendor imports the bundled third-party code (dist/vendor.js, built by
// `make web`), or returns null when it is not built.
let vendor;
export function loadVendor() {
  vendor ??= import("./dist/vendor.js").catch((err) => {
    console.warn("dist/vendor.js is not available:", err);
    return null;
  });
  return vendor;
}

export const vendorMissing = "The page's chart and hash libraries are not built on this hub (dist/vendor.js): " +
  "whoever runs the hub should run \"make web\" and restart it.";
