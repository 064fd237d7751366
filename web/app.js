// Tessera contributor page: loads the browser client (Go compiled to
// WebAssembly, see ../wasm) and shows its progress. The client exposes
// globalThis.tessera with start({hub, slots, backend}), stop() and stats(),
// all returning promises. Query parameters override the defaults:
// ?hub=wss://host/ws, ?slots=N, ?backend=auto|webgpu|cpu.
//
// The Training section polls the hub's GET api/v1/jobs every 2 s, whether
// or not this tab contributes, and shows each job's progress.
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

  // Training progress.

  const trainingMillis = 2000;
  // The live region repeats a job's evaluations at most this often; a job
  // appearing, changing state or failing to load is announced at once.
  const announceMillis = 30000;
  const jobStateWords = { running: "Running", paused: "Paused", done: "Done", failed: "Failed" };
  const jobCards = new Map(); // job id -> {root, fields}
  let jobSeq = 0; // element ids
  let trainingTimer = 0;
  let trainingBusy = false;
  let lastAnnounced = { key: "", at: 0 };

  const count = (n) => (Number.isFinite(n) ? n : 0).toLocaleString("en-US");
  const percent = (x) => `${Number((100 * (Number.isFinite(x) ? x : 0)).toFixed(1))}%`;

  function jobCard(job) {
    let card = jobCards.get(job.id);
    if (card) return card;
    const n = ++jobSeq;
    const el = (tag, props) => Object.assign(document.createElement(tag), props);
    const root = el("article", { className: "job" });
    root.dataset.jobId = job.id;
    const title = el("h3", { id: `job-${n}-name` });
    root.setAttribute("aria-labelledby", title.id);
    const list = el("dl", { className: "stats" });
    const fields = { name: title };
    const row = (key, label, wide) => {
      const div = el("div", wide ? { className: "wide" } : {});
      const dt = el("dt", { id: `job-${n}-${key}-label`, textContent: label });
      const dd = el("dd");
      div.append(dt, dd);
      list.append(div);
      return { dt, dd };
    };
    const steps = row("steps", "Steps", true);
    fields.steps = el("span");
    fields.bar = el("progress");
    fields.bar.setAttribute("aria-labelledby", steps.dt.id);
    steps.dd.append(fields.steps, fields.bar);
    fields.state = row("state", "State").dd;
    fields.accuracy = row("accuracy", "Test accuracy").dd;
    fields.loss = row("loss", "Last training loss").dd;
    fields.speed = row("speed", "Time per step").dd;
    fields.exposure = row("exposure", "Exposure (largest share of the weights held by one contributor)", true).dd;
    fields.error = el("p", { className: "error", hidden: true });
    root.append(title, list, fields.error);
    card = { root, fields };
    jobCards.set(job.id, card);
    return card;
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function renderJob(job) {
    const { root, fields: f } = jobCard(job);
    const max = job.max_steps > 0 ? job.max_steps : 0;
    const step = Math.max(0, job.step || 0);
    root.dataset.step = String(step);
    setText(f.name, job.name || job.id);
    setText(f.steps, max ? `${count(step)} of ${count(max)} (${percent(step / max)})` : count(step));
    if (max) {
      f.bar.max = max;
      f.bar.value = Math.min(step, max);
      f.bar.setAttribute("aria-valuetext", `${count(step)} of ${count(max)} steps`);
    }
    setText(f.state, jobStateWords[job.state] || job.state || "Unknown");
    const target = job.target_accuracy > 0 ? `target ${percent(job.target_accuracy)}` : "no target";
    setText(f.accuracy, job.latest
      ? `${percent(job.latest.test_accuracy)} at step ${count(job.latest.step)} (${target})`
      : `Not evaluated yet (${target})`);
    setText(f.loss, step > 0 && Number.isFinite(job.last_loss) ? job.last_loss.toFixed(4) : "–");
    const ms = job.step_ms;
    setText(f.speed, ms > 0 ? `${ms < 10 ? ms.toFixed(1) : count(Math.round(ms))} ms` : "–");
    setText(f.exposure, `${percent(job.max_exposure_non_exempt)} of the weights (cap ${percent(job.exposure_cap)})`);
    f.error.hidden = !job.error;
    setText(f.error, job.error ? `The job stopped: ${job.error}` : "");
    return root;
  }

  // announce sets the live region's text. key holds what must be announced
  // at once when it changes; other changes wait for announceMillis.
  // The line is shown when there is nothing else to see (no job, an
  // error); beside the jobs' cards it is only read by screen readers.
  function announce(text, key, visible) {
    $("training-status").classList.toggle("visually-hidden", !visible);
    const now = Date.now();
    if (key === lastAnnounced.key && now - lastAnnounced.at < announceMillis) return;
    lastAnnounced = { key, at: now };
    setText($("training-status"), text);
  }

  function renderJobs(jobs) {
    const list = $("jobs");
    const seen = new Set();
    jobs.forEach((job, i) => {
      seen.add(job.id);
      const root = renderJob(job);
      if (list.children[i] !== root) list.insertBefore(root, list.children[i] || null);
    });
    for (const [id, card] of jobCards) {
      if (!seen.has(id)) {
        card.root.remove();
        jobCards.delete(id);
      }
    }
    if (jobs.length === 0) {
      announce("No training job yet.", "none", true);
      return;
    }
    const summary = jobs.map((j) => {
      const state = (jobStateWords[j.state] || j.state || "unknown").toLowerCase();
      const acc = j.latest ? `, ${percent(j.latest.test_accuracy)} test accuracy at step ${count(j.latest.step)}` : "";
      return `${j.name || j.id}: ${state}${acc}.`;
    });
    announce(summary.join(" "), jobs.map((j) => `${j.id}:${j.state}`).join(" "), false);
  }

  async function pollTraining() {
    if (trainingBusy) return; // the poll in flight schedules the next
    trainingBusy = true;
    clearTimeout(trainingTimer);
    try {
      const signal = AbortSignal.timeout ? AbortSignal.timeout(10000) : undefined;
      const resp = await fetch("api/v1/jobs", { cache: "no-store", signal });
      if (resp.status === 404) {
        renderJobs([]); // a hub that runs no training at all
      } else if (!resp.ok) {
        throw new Error(`HTTP ${resp.status}`);
      } else {
        const body = await resp.json();
        renderJobs(Array.isArray(body.jobs) ? body.jobs : []);
      }
    } catch (err) {
      const why = err.name === "TimeoutError" ? "no answer in 10 s" : err.message || String(err);
      announce(`Could not read training progress from the hub (${why}). Retrying…`, "error", true);
    } finally {
      trainingBusy = false;
      // Hidden tabs do not poll; becoming visible polls at once.
      if (!document.hidden) trainingTimer = setTimeout(pollTraining, trainingMillis);
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) pollTraining();
  });
  pollTraining();

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
