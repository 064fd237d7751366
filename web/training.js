// The contributor page's Training section: every job's progress from
// GET api/v1/jobs, polled every 2 s while the tab is visible, whether or
// not this tab contributes.

import { $, el, setText, count, percent, getJSON, poll } from "./api.js";

const trainingMillis = 2000;
// The live region repeats a job's evaluations at most this often; a job
// appearing, changing state or failing to load is announced at once.
const announceMillis = 30000;

export const jobStateWords = { running: "Running", paused: "Paused", done: "Done", failed: "Failed" };

const jobCards = new Map(); // job id -> {root, fields}
let jobSeq = 0; // element ids
let lastAnnounced = { key: "", at: 0 };

function jobCard(job) {
  let card = jobCards.get(job.id);
  if (card) return card;
  const n = ++jobSeq;
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
  fields.accuracy = row("accuracy", job.model === "gpt2" ? "Validation (bits per byte; lower is better)" : "Test accuracy").dd;
  fields.loss = row("loss", "Last training loss").dd;
  fields.speed = row("speed", "Time per step").dd;
  fields.exposure = row("exposure", "Exposure (largest share of the weights held by one contributor)", true).dd;
  fields.error = el("p", { className: "error", hidden: true });
  root.append(title, list, fields.error);
  card = { root, fields };
  jobCards.set(job.id, card);
  return card;
}

// jobSummary is the text of a job's fields, shared with the dashboard.
export function jobSummary(job) {
  const max = job.max_steps > 0 ? job.max_steps : 0;
  const step = Math.max(0, job.step || 0);
  const target = job.target_accuracy > 0 ? `target ${percent(job.target_accuracy)}` : "no target";
  const ms = job.step_ms;
  return {
    max,
    step,
    steps: max ? `${count(step)} of ${count(max)} (${percent(step / max)})` : count(step),
    state: jobStateWords[job.state] || job.state || "Unknown",
    accuracy: job.model === "gpt2"
      ? (job.latest && job.latest.bits_per_byte > 0
        ? `${job.latest.bits_per_byte.toFixed(3)} bits per byte at step ${count(job.latest.step)}${job.latest.full ? " (whole split)" : ""}`
        : "Not evaluated yet")
      : job.latest
        ? `${percent(job.latest.test_accuracy)} at step ${count(job.latest.step)} (${target})`
        : `Not evaluated yet (${target})`,
    loss: step > 0 && Number.isFinite(job.last_loss) ? job.last_loss.toFixed(4) : "–",
    speed: ms > 0 ? `${ms < 10 ? ms.toFixed(1) : count(Math.round(ms))} ms` : "–",
    exposure: `${percent(job.max_exposure_non_exempt)} of the weights (cap ${percent(job.exposure_cap)})`,
    error: job.error ? `The job stopped: ${job.error}` : "",
  };
}

function renderJob(job) {
  const { root, fields: f } = jobCard(job);
  const s = jobSummary(job);
  root.dataset.step = String(s.step);
  setText(f.name, job.name || job.id);
  setText(f.steps, s.steps);
  if (s.max) {
    f.bar.max = s.max;
    f.bar.value = Math.min(s.step, s.max);
    f.bar.setAttribute("aria-valuetext", `${count(s.step)} of ${count(s.max)} steps`);
  }
  setText(f.state, s.state);
  setText(f.accuracy, s.accuracy);
  setText(f.loss, s.loss);
  setText(f.speed, s.speed);
  setText(f.exposure, s.exposure);
  f.error.hidden = !s.error;
  setText(f.error, s.error);
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
    const acc = !j.latest ? "" : j.model === "gpt2"
      ? `, ${Number(j.latest.bits_per_byte || 0).toFixed(3)} bits per byte at step ${count(j.latest.step)}`
      : `, ${percent(j.latest.test_accuracy)} test accuracy at step ${count(j.latest.step)}`;
    return `${j.name || j.id}: ${state}${acc}.`;
  });
  announce(summary.join(" "), jobs.map((j) => `${j.id}:${j.state}`).join(" "), false);
}

// startTraining polls the jobs; onJobs, if given, also receives each list.
export function startTraining(onJobs) {
  poll(async () => {
    try {
      const body = await getJSON("api/v1/jobs", { allow404: true }); // 404: a hub that runs no training
      const jobs = body && Array.isArray(body.jobs) ? body.jobs : [];
      renderJobs(jobs);
      if (onJobs) onJobs(jobs);
    } catch (err) {
      announce(`Could not read training progress from the hub (${err.message}). Retrying…`, "error", true);
    }
  }, trainingMillis);
}
