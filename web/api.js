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
  if (!resp.ok) throw await hubError(resp);
  return resp.json();
}

// postJSON posts body as JSON to a hub API path and returns the answer's
// body; a refusal becomes an Error as in getJSON.
export async function postJSON(path, body) {
  const signal = AbortSignal.timeout ? AbortSignal.timeout(60000) : undefined;
  let resp;
  try {
    resp = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
      signal,
    });
  } catch (err) {
    throw new Error(err.name === "TimeoutError" ? "no answer in 60 s" : err.message || String(err));
  }
  if (!resp.ok) throw await hubError(resp);
  return resp.json();
}

// hubError turns a refused answer ({"error": "message"}) into an Error
// with the HTTP status (err.status) and the hub's message.
async function hubError(resp) {
  let why = `HTTP ${resp.status}`;
  try {
    const body = await resp.json();
    if (body && body.error) why += `: ${body.error}`;
  } catch {
    // not JSON: the status says enough
  }
  const err = new Error(why);
  err.status = resp.status;
  return err;
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

// amount reads an exact amount (FLOPs, wei) as the hub gives it (a decimal
// string: amounts pass 2^53, where numbers stop being exact; older hubs
// sent numbers) into a BigInt, 0n if it is missing or malformed.
export function amount(v) {
  try {
    return typeof v === "bigint" ? v : BigInt(typeof v === "number" ? Math.trunc(v) : (v ?? 0));
  } catch {
    return 0n;
  }
}

// sumAmounts adds exact amounts.
export const sumAmounts = (vs) => vs.reduce((sum, v) => sum + amount(v), 0n);

// ratio returns a / b as a number from exact amounts, 0 when b is 0.
export function ratio(a, b) {
  const x = amount(a), y = amount(b);
  return y > 0n ? Number((x * 1000000000000n) / y) / 1e12 : 0;
}

// flops formats an amount of floating-point operations (a number, a
// BigInt, or a decimal string as the API gives) with an SI prefix.
export function flops(v) {
  const n = Number(typeof v === "string" ? amount(v) : v);
  if (!Number.isFinite(n) || n <= 0) return "0 FLOP";
  const units = [[1e24, "YFLOP"], [1e21, "ZFLOP"], [1e18, "EFLOP"], [1e15, "PFLOP"], [1e12, "TFLOP"], [1e9, "GFLOP"], [1e6, "MFLOP"], [1e3, "kFLOP"]];
  for (const [scale, unit] of units) {
    if (n >= scale) return `${(n / scale).toPrecision(3)} ${unit}`;
  }
  return `${n} FLOP`;
}

const weiPerEther = 10n ** 18n;

// ether formats an exact amount of wei (a decimal string, a number or a
// BigInt) for people: ether with up to 6 decimals, rounded down so that
// it never shows more than there is; amounts below a millionth of an
// ether in wei. The exact amount belongs in a title (see weiTitle).
export function ether(v) {
  const wei = amount(v);
  if (wei === 0n) return "0 ETH";
  if (wei < weiPerEther / 1000000n) return `${wei.toLocaleString("en-US")} wei`;
  const whole = wei / weiPerEther;
  const micro = (wei % weiPerEther) / (weiPerEther / 1000000n);
  const frac = micro.toString().padStart(6, "0").replace(/0+$/, "");
  return `${whole.toLocaleString("en-US")}${frac ? `.${frac}` : ""} ETH`;
}

// weiTitle is the exact amount behind ether(v), for a title attribute.
export const weiTitle = (v) => `${amount(v).toString()} wei`;

// tableRow returns a <tr> of <td>s holding each cell (a node or text).
export function tableRow(cells) {
  const tr = el("tr");
  for (const c of cells) {
    const td = el("td");
    td.append(c instanceof Node ? c : String(c));
    tr.append(td);
  }
  return tr;
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
