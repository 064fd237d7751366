// Tessera contributor page: loads the browser client (Go compiled to
// WebAssembly, see ../wasm) and shows its progress. The client exposes
// globalThis.tessera (start, stop, stats, setThrottle, setPaused, setJobs,
// identity, exportKey, importKey; all return promises). Query parameters
// override the defaults: ?hub=wss://host/ws (this page's own host only:
// the hub's Content-Security-Policy allows no other), ?slots=N,
// ?backend=auto|webgpu|cpu.
//
// The page also shows training progress (training.js), the visitor's
// credit, proofs, checks and key (account.js), their earnings with a
// Claim button (earnings.js), a box to try the hub's language models when
// it publishes a demo key (try.js), and lets the visitor choose the
// models (jobs) the device works for.

import { $, el, setText, percent, getJSON } from "./api.js";
import { startTraining } from "./training.js";
import { startAccount, setClient, setJobs } from "./account.js";
import { startEarnings, setEarningsJobs } from "./earnings.js";
import { startTry } from "./try.js";

const params = new URLSearchParams(location.search);
const options = {
  hub: params.get("hub") || `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`,
  slots: Number(params.get("slots")) || 2,
  backend: params.get("backend") || "auto",
};
const pollMillis = 500;
const notBuilt = "The browser client is not built on this hub, so this page cannot contribute yet. " +
  "Whoever runs the hub should run \"make wasm\" and restart it; then reload this page.";
// Settings the visitor chose, kept in this browser.
const settingsKey = "tessera.settings";

const button = $("contribute");
let tessera = null; // the client's bridge, once loaded
let running = false;
let busy = false; // a start or stop is in progress

const stateWords = {
  stopped: "Stopped",
  starting: "Starting: opening the device…",
  connecting: "Connecting to the hub…",
  working: "Working",
  "waiting to reconnect": "Connection lost: retrying soon",
  failed: "Stopped by an error",
};

const adapterWords = {
  cpu: "software adapter on the CPU",
  "discrete-gpu": "discrete GPU",
  "integrated-gpu": "integrated GPU",
  "virtual-gpu": "virtual GPU",
};

function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}

function setButton() {
  button.disabled = busy || !tessera;
  button.classList.toggle("running", running);
  if (!tessera) return;
  if (busy) button.textContent = running ? "Stopping…" : "Starting…";
  else button.textContent = running ? "Stop contributing" : "Contribute";
}

function fmt(x, digits) {
  return Number.isFinite(x) ? x.toFixed(digits) : "0";
}

// Settings: the throttle and whether a hidden tab pauses.

function loadSettings() {
  let s = {};
  try {
    s = JSON.parse(localStorage.getItem(settingsKey) || "{}") || {};
  } catch {
    // unreadable or no storage: the defaults
  }
  const share = [0.25, 0.5, 0.75, 1].includes(s.throttle) ? s.throttle : 1;
  // The unchecked jobs are kept, not the checked ones, so that jobs the
  // hub adds later start checked.
  const excluded = Array.isArray(s.excludedJobs) ? s.excludedJobs.filter((id) => typeof id === "string") : [];
  return { throttle: share, pauseHidden: s.pauseHidden !== false, excludedJobs: excluded };
}

function saveSettings() {
  try {
    localStorage.setItem(settingsKey, JSON.stringify(settings));
  } catch {
    // no storage: the settings last as long as the page
  }
}

const settings = loadSettings();

// hiddenPause reports whether the page wants the client paused because
// the tab is hidden; wantPaused whether it wants it paused at all.
const hiddenPause = () => settings.pauseHidden && document.hidden;
const wantPaused = () => hiddenPause() || jobChoice() === null;

async function applySettings() {
  if (!tessera) return;
  try {
    await tessera.setThrottle(settings.throttle);
    render(await tessera.setPaused(wantPaused()));
  } catch (err) {
    showError(`Could not apply the setting: ${err.message || err}`);
  }
}

function initSettings() {
  for (const radio of document.querySelectorAll('input[name="throttle"]')) {
    radio.checked = Number(radio.value) === settings.throttle;
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      settings.throttle = Number(radio.value);
      saveSettings();
      applySettings();
    });
  }
  const box = $("pause-hidden");
  box.checked = settings.pauseHidden;
  box.addEventListener("change", () => {
    settings.pauseHidden = box.checked;
    saveSettings();
    applySettings();
  });
  // Pausing stops taking new tasks; the tasks already held are finished.
  document.addEventListener("visibilitychange", applySettings);
}

// Models to train: a checkbox per job the hub runs (its training jobs
// from api/v1/jobs, which training.js polls, and its built-in jobs from
// api/v1/status). The choice goes to the client, which sends it to the
// hub in its hello, or at once while contributing (no reconnect).

const modelWords = { mlp: "MLP", gpt2: "language model", benchmark: "benchmark tasks" };
let trainingJobs = []; // {id, name, model} from api/v1/jobs
let builtinJobs = []; // the same, from api/v1/status
let hubJobs = []; // both: the checkboxes, in this order
let appliedChoice; // the choice last given to the client, as JSON
let lastStats = null; // the client's latest stats, for the hub's note

// jobChoice returns the IDs of the checked jobs, [] when every job is
// checked (the hub then also leases jobs it adds later), or null when
// none is.
function jobChoice() {
  const ids = hubJobs.map((j) => j.id);
  const chosen = ids.filter((id) => !settings.excludedJobs.includes(id));
  if (ids.length > 0 && chosen.length === 0) return null;
  return chosen.length === ids.length ? [] : chosen;
}

const jobLabel = (job) => {
  const model = modelWords[job.model] || job.model;
  return model ? `${job.name || job.id} (${model})` : job.name || job.id;
};

function jobChoiceText(s) {
  const choice = jobChoice();
  if (hubJobs.length === 0) return "The hub lists no model yet; your device works for any it runs.";
  if (choice === null) return "No model is checked: the client takes no new tasks until you check one.";
  if (choice.length === 0) return "Working for every model on this hub.";
  const names = hubJobs.filter((j) => choice.includes(j.id)).map((j) => j.name || j.id);
  const note = s && s.jobsNote ? ` The hub says: ${s.jobsNote}.` : "";
  return `Working for ${names.join(", ")} only.${note}`;
}

function renderJobChoice() {
  const box = $("job-choices");
  const labels = new Map([...box.querySelectorAll("label")].map((l) => [l.dataset.jobId, l]));
  hubJobs.forEach((job, i) => {
    let label = labels.get(job.id);
    if (!label) {
      const input = el("input", { type: "checkbox", name: "job", value: job.id });
      input.addEventListener("change", () => {
        const rest = settings.excludedJobs.filter((id) => id !== job.id);
        settings.excludedJobs = input.checked ? rest : [...rest, job.id];
        saveSettings();
        applyJobs();
      });
      label = el("label");
      label.dataset.jobId = job.id;
      label.append(input, el("span"));
    }
    labels.delete(job.id);
    setText(label.querySelector("span"), jobLabel(job));
    label.querySelector("input").checked = !settings.excludedJobs.includes(job.id);
    if (box.children[i] !== label) box.insertBefore(label, box.children[i] || null);
  });
  for (const gone of labels.values()) gone.remove();
  setText($("job-choice-status"), jobChoiceText(lastStats));
}

function setHubJobs() {
  const ref = (j) => ({ id: String(j.id), name: String(j.name || ""), model: String(j.model || "") });
  hubJobs = [...trainingJobs, ...builtinJobs].filter((j) => j && j.id).map(ref);
  renderJobChoice();
  applyJobs();
}

// applyJobs gives the client the current choice when it changed, and
// pauses it while no job is checked.
async function applyJobs() {
  if (!tessera) return;
  const choice = jobChoice();
  const key = JSON.stringify(choice);
  if (key === appliedChoice) return;
  appliedChoice = key;
  try {
    if (choice !== null) await tessera.setJobs(choice);
    render(await tessera.setPaused(wantPaused()));
  } catch (err) {
    appliedChoice = undefined;
    showError(`Could not apply the choice of models: ${err.message || err}`);
  }
}

async function loadBuiltinJobs() {
  try {
    const st = await getJSON("api/v1/status");
    builtinJobs = Array.isArray(st.builtin_jobs) ? st.builtin_jobs : [];
    setHubJobs();
  } catch {
    // the training jobs are still shown; built-in ones stay chosen
  }
}

function stateText(s) {
  const words = stateWords[s.state] || s.state || "Stopped";
  if (s.paused && s.running && s.state === "working" && jobChoice() === null) return "Paused: no model is checked";
  if (s.paused && s.running && s.state === "working") return "Paused while this tab is hidden (held tasks finish first)";
  return words;
}

function render(s) {
  const words = stateText(s);
  setText($("state"), words);
  setText($("state-line"), words);
  document.body.dataset.state = s.state || "";
  document.body.dataset.paused = s.paused ? "true" : "false";
  document.body.dataset.backend = s.backend || "";
  if (s.backend === "webgpu") {
    setText($("backend"), "WebGPU");
    const kind = adapterWords[s.adapterType];
    setText($("device"), `${s.adapter || "WebGPU adapter"}${kind ? ` (${kind})` : ""}`);
  } else if (s.backend === "cpu") {
    setText($("backend"), options.backend === "cpu" ? "CPU (as requested)" : "CPU fallback (WebGPU unavailable)");
    setText($("device"), s.adapter || "CPU");
  }
  const fb = $("fallback");
  fb.hidden = !(s.backend === "cpu" && s.fallback);
  if (!fb.hidden) setText(fb, `Running on the CPU, which is much slower than a GPU: ${s.fallback}.`);
  setText($("tasks"), String(s.tasksDone || 0));
  if (s.seconds > 0) {
    setText($("throughput"), `${fmt(s.tasksPerSec, 2)} tasks/s · ${fmt(s.gflops, 2)} GFLOP/s`);
  }
  if (s.running && Number.isFinite(s.dutyCycle)) {
    setText($("duty"), `${percent(s.dutyCycle, 0)} of the time (limit ${percent(s.throttle, 0)})`);
  }
  if (s.tasksDone > 0 || s.accepted > 0 || s.refused > 0) {
    setText($("verdicts"), `${s.accepted || 0} accepted · ${s.refused || 0} refused`);
  }
  if (s.address) setText($("address"), s.address);
  lastStats = s;
  if (hubJobs.length > 0) setText($("job-choice-status"), jobChoiceText(s));
  const problems = [s.lastError, s.lastRefusal && `Last refused result: ${s.lastRefusal}`, s.keyNote]
    .filter(Boolean);
  showError(problems.join(" — "));
  if (!busy && running !== Boolean(s.running)) {
    running = Boolean(s.running);
    setButton();
  }
  setClient(s);
}

async function pollStats() {
  try {
    render(await tessera.stats());
  } catch (err) {
    showError(`Could not read the client's progress: ${err.message || err}`);
  }
}

async function toggle() {
  if (!tessera || busy) return;
  busy = true;
  setButton();
  showError("");
  try {
    if (running) {
      render(await tessera.stop());
    } else {
      await tessera.setThrottle(settings.throttle);
      await tessera.setPaused(wantPaused());
      const choice = jobChoice();
      appliedChoice = JSON.stringify(choice);
      render(await tessera.start({ ...options, jobs: choice || [] }));
    }
    running = !running;
  } catch (err) {
    showError(`Could not ${running ? "stop" : "start"}: ${err.message || err}`);
  } finally {
    busy = false;
    setButton();
    button.focus();
  }
}

async function load() {
  if (typeof Go !== "function") throw new Error(notBuilt);
  if (typeof WebAssembly !== "object") {
    throw new Error("This browser cannot run WebAssembly, which the client needs.");
  }
  const resp = await fetch("dist/tessera.wasm");
  if (resp.status === 404) throw new Error(notBuilt);
  if (!resp.ok) throw new Error(`Could not download the client: HTTP ${resp.status}.`);
  const go = new Go();
  let result;
  if (WebAssembly.instantiateStreaming && resp.headers.get("Content-Type") === "application/wasm") {
    result = await WebAssembly.instantiateStreaming(resp, go.importObject);
  } else {
    result = await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
  }
  // The WebGPU library reads wasm memory through globalThis.wasm: it
  // must be set before the Go program runs.
  globalThis.wasm = result;
  const ready = new Promise((resolve) => { globalThis.tesseraReady = resolve; });
  go.run(result.instance).then(() => {
    tessera = null;
    running = false;
    setButton();
    showError("The client stopped unexpectedly (see the browser console). Reload the page to start again.");
  });
  return ready;
}

startTraining((jobs) => {
  setJobs(jobs);
  setEarningsJobs(jobs);
  trainingJobs = jobs;
  setHubJobs();
});
loadBuiltinJobs();
startTry();
initSettings();
button.addEventListener("click", toggle);
load().then(async (bridge) => {
  tessera = bridge;
  setText($("state-line"), "Ready. Press Contribute to start.");
  setButton();
  applyJobs();
  setInterval(pollStats, pollMillis);
  startAccount(bridge);
  startEarnings(bridge);
}, (err) => {
  button.textContent = "Unavailable";
  setText($("state-line"), "The client could not be loaded.");
  showError(err.message || String(err));
  startAccount(null);
  startEarnings(null);
});
