// Tessera contributor page: loads the browser client (Go compiled to
// WebAssembly, see ../wasm) and shows its progress. The client exposes
// globalThis.tessera with start({hub, slots, backend}), stop() and stats(),
// all returning promises. Query parameters override the defaults:
// ?hub=wss://host/ws, ?slots=N, ?backend=auto|webgpu|cpu.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const options = {
    hub: params.get("hub") || `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`,
    slots: Number(params.get("slots")) || 2,
    backend: params.get("backend") || "auto",
  };
  const pollMillis = 500;
  const notBuilt = "The browser client is not built on this hub, so this page cannot contribute yet. " +
    "Whoever runs the hub should run \"make wasm\" and restart it; then reload this page.";

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

  function render(s) {
    const words = stateWords[s.state] || s.state || "Stopped";
    $("state").textContent = words;
    $("state-line").textContent = words;
    document.body.dataset.state = s.state || "";
    document.body.dataset.backend = s.backend || "";
    if (s.backend === "webgpu") {
      $("backend").textContent = "WebGPU";
      const kind = adapterWords[s.adapterType];
      $("device").textContent = `${s.adapter || "WebGPU adapter"}${kind ? ` (${kind})` : ""}`;
    } else if (s.backend === "cpu") {
      $("backend").textContent = options.backend === "cpu" ? "CPU (as requested)" : "CPU fallback (WebGPU unavailable)";
      $("device").textContent = s.adapter || "CPU";
    }
    const fb = $("fallback");
    fb.hidden = !(s.backend === "cpu" && s.fallback);
    if (!fb.hidden) fb.textContent = `Running on the CPU, which is much slower than a GPU: ${s.fallback}.`;
    $("tasks").textContent = String(s.tasksDone || 0);
    if (s.seconds > 0) {
      $("throughput").textContent = `${fmt(s.tasksPerSec, 2)} tasks/s · ${fmt(s.gflops, 2)} GFLOP/s`;
    }
    if (s.tasksDone > 0 || s.accepted > 0 || s.refused > 0) {
      $("verdicts").textContent = `${s.accepted || 0} accepted · ${s.refused || 0} refused`;
    }
    if (s.address) $("address").textContent = s.address;
    const problems = [s.lastError, s.lastRefusal && `Last refused result: ${s.lastRefusal}`, s.keyNote]
      .filter(Boolean);
    showError(problems.join(" — "));
    if (!busy && running !== Boolean(s.running)) {
      running = Boolean(s.running);
      setButton();
    }
  }

  async function poll() {
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
      render(running ? await tessera.stop() : await tessera.start(options));
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

  button.addEventListener("click", toggle);
  load().then((bridge) => {
    tessera = bridge;
    $("state-line").textContent = "Ready. Press Contribute to start.";
    setButton();
    setInterval(poll, pollMillis);
  }, (err) => {
    button.textContent = "Unavailable";
    $("state-line").textContent = "The client could not be loaded.";
    showError(err.message || String(err));
  });
})();
