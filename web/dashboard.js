// Tessera dashboard: the hub's jobs with live loss and accuracy (or, for
// language models, bits per byte and throughput) charts, a language
// model's latest sample and weight downloads, contributors and their
// shares per model, the credit epochs committed on-chain, and the
// models' revenue (revenue.js). Everything is polled from the hub's API
// every 2 s while the tab is visible:
//
//	GET api/v1/status              counters and contributors
//	GET api/v1/jobs, jobs/{id}     jobs, and each job's evaluation history
//	GET api/v1/credits/{model}     balances per contributor
//	GET api/v1/epochs              epochs with roots, transactions and revenue
//	GET api/v1/usage               metered requests, tokens and revenue per model

import { $, el, setText, count, percent, flops, sumAmounts, ratio, getJSON, poll, hexCell, tableRow } from "./api.js";
import { jobSummary } from "./training.js";
import { lineChart } from "./charts.js";
import { renderUsage, renderEpochRevenue } from "./revenue.js";

const dashMillis = 2000;

const jobCards = new Map(); // job id -> {root, f, loss, accuracy, points}
const shareTables = new Map(); // model -> {root, title, body}

function renderHub(st) {
  setText($("hub-contributors"), count(st.contributors_connected));
  setText($("hub-completed"), count(st.tasks_completed));
  setText($("hub-rejected"), count(st.tasks_rejected));
  setText($("hub-inflight"), count(st.tasks_in_flight));
  setText($("hub-replicated"), count(st.tasks_replicated));
  const s = Math.round(st.uptime_s || 0);
  setText($("hub-uptime"), s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`);
  const people = (st.contributors || []).map((c) => tableRow([
    hexCell(c.address),
    `${c.backend || "?"}: ${c.adapter || "?"} (${c.agent || "?"})`,
    c.connected ? `yes (${c.connections})` : "no",
    count(c.tasks_completed),
    count(c.results_refused),
    `${Number(c.gflop || 0).toFixed(1)} GFLOP`,
  ]));
  $("dash-contributors").tBodies[0].replaceChildren(...people);
}

function jobCard(job) {
  let card = jobCards.get(job.id);
  if (card) return card;
  const n = jobCards.size + 1;
  const lm = job.model === "gpt2";
  const root = el("article", { className: "job" });
  root.dataset.jobId = job.id;
  root.dataset.model = job.model || "";
  const title = el("h3", { id: `dash-job-${n}` });
  root.setAttribute("aria-labelledby", title.id);
  const list = el("dl", { className: "stats" });
  const field = (label, wide) => {
    const div = el("div", { className: wide ? "wide" : "" });
    const dd = el("dd");
    div.append(el("dt", { textContent: label }), dd);
    list.append(div);
    return dd;
  };
  const f = {
    title,
    state: field("State"),
    steps: field("Steps"),
    accuracy: field(lm ? "Validation (bits per byte; lower is better)" : "Test accuracy", true),
    loss: field("Last training loss"),
    speed: field("Time per step"),
    split: field("Of which the hub computing / waiting for contributors", true),
    throughput: field(lm ? "Tokens per second" : "Examples per second"),
    wire: field("Network: bytes per useful GFLOP (tasks, results and verdicts on contributors' websockets)", true),
    exposure: field("Exposure (largest share of the weights held by one contributor)", true),
    error: el("p", { className: "error", hidden: true }),
  };
  const charts = el("div", { className: "charts" });
  const lossBox = el("div", { className: "chart-box loss" });
  const qualityBox = el("div", { className: lm ? "chart-box bpb" : "chart-box accuracy" });
  charts.append(lossBox, qualityBox);
  root.append(title, list, f.error, charts);
  card = { root, f, points: -1, lm };
  card.loss = lineChart(lossBox, {
    title: "Loss", yLabel: lm ? "nats per byte" : "loss",
    series: [{ label: "training loss", stroke: "#1f4fd1" }, { label: lm ? "validation loss" : "test loss", stroke: "#a3261a", dash: [8, 4] }],
  });
  if (lm) {
    card.quality = lineChart(qualityBox, {
      title: "Validation bits per byte", yLabel: "bits per byte",
      series: [{ label: "validation (bits per byte)", stroke: "#0b6b3a" }],
    });
    const tpsBox = el("div", { className: "chart-box tokens" });
    charts.append(tpsBox);
    card.tokens = lineChart(tpsBox, {
      title: "Throughput", yLabel: "tokens per second",
      series: [{ label: "tokens per second", stroke: "#7a4bc2" }],
    });
    // What the model writes, and its weights in standard formats.
    const sample = el("section", { className: "sample" });
    const sampleTitle = el("h4", { className: "small", id: `dash-job-${n}-sample` });
    sample.setAttribute("aria-labelledby", sampleTitle.id);
    f.sampleTitle = sampleTitle;
    f.sample = el("pre", { className: "sample-text", textContent: "No sample yet: one is written after each evaluation." });
    const base = `api/v1/jobs/${encodeURIComponent(job.id)}`;
    const links = el("p", { className: "note" });
    links.append("Download the latest checkpoint: ",
      el("a", { href: `${base}/weights`, textContent: "weights (safetensors, Hugging Face GPT-2 names)" }), " · ",
      el("a", { href: `${base}/config.json`, textContent: "config.json" }), ".");
    setText(sampleTitle, "Sample");
    sample.append(sampleTitle, f.sample, links);
    root.append(sample);
  } else {
    card.quality = lineChart(qualityBox, {
      title: "Test accuracy", yLabel: "%", yRange: [0, 100],
      series: [{ label: "test accuracy (%)", stroke: "#0b6b3a" }],
    });
  }
  jobCards.set(job.id, card);
  $("dash-jobs").append(root);
  return card;
}

// wireSummary is a job's bytes per useful GFLOP and the totals behind it.
function wireSummary(job) {
  const w = job.wire;
  if (!(job.wire_bytes_per_gflop > 0) || !w) return "–";
  const mb = (b) => (b / 1e6).toFixed(1);
  let s = `${mb(job.wire_bytes_per_gflop)} MB per GFLOP (${mb(w.bytes_down)} MB down, ${mb(w.bytes_up)} MB up for ${Number((w.useful_flops / 1e9).toPrecision(3))} GFLOP)`;
  if (job.resident_weights) {
    const lost = job.resident_rollbacks || 0;
    if (job.weights_kept) s += "; weights kept by the operator's own workers";
    else if (job.state === "running") s += "; weights held by the hub until an own worker connects";
    else s += "; weights kept by the operator's own workers while one is connected";
    if (lost > 0) s += `, lost ${count(lost)} time${lost === 1 ? "" : "s"} and the steps since redone`;
  }
  return s;
}

async function renderJob(job) {
  const card = jobCard(job);
  const { f } = card;
  const s = jobSummary(job);
  card.root.dataset.state = job.state || "";
  setText(f.title, job.name && job.name !== job.id ? `${job.name} (${job.id})` : job.id);
  setText(f.state, s.state);
  setText(f.steps, s.steps);
  setText(f.accuracy, s.accuracy);
  setText(f.loss, s.loss);
  setText(f.speed, s.speed);
  setText(f.split, job.step_ms > 0
    ? `${Number(job.hub_ms || 0).toFixed(1)} ms / ${Number(job.contributors_ms || 0).toFixed(1)} ms (hub ${percent((job.hub_ms || 0) / job.step_ms)})`
    : "–");
  setText(f.throughput, job.tokens_per_second > 0 ? count(Math.round(job.tokens_per_second)) : "–");
  setText(f.wire, wireSummary(job));
  setText(f.exposure, `${s.exposure}; ${percent(job.max_exposure)} counting the operator's own workers`);
  if (card.lm && job.sample) {
    const smp = job.sample;
    setText(f.sampleTitle, `Sample at step ${count(smp.step)} (temperature ${smp.temperature}, top-p ${smp.top_p}, seed ${smp.seed})`);
    setText(f.sample, `${smp.prompt}${smp.text}`);
    card.root.dataset.sampleStep = String(smp.step);
  }
  f.error.hidden = !s.error;
  setText(f.error, s.error);
  // The history grows only with evaluations: fetch it when a new one shows.
  const latest = job.latest ? job.latest.step : 0;
  if (latest === card.points) return;
  const detail = await getJSON(`api/v1/jobs/${encodeURIComponent(job.id)}`);
  const hist = Array.isArray(detail.history) ? detail.history : [];
  const steps = hist.map((p) => p.step);
  (await card.loss).update(steps, hist.map((p) => p.train_loss), hist.map((p) => p.test_loss));
  if (card.lm) {
    (await card.quality).update(steps, hist.map((p) => p.bits_per_byte || null));
    (await card.tokens).update(steps, hist.map((p) => p.tokens_per_second || null));
  } else {
    (await card.quality).update(steps, hist.map((p) => 100 * p.test_accuracy));
  }
  card.points = latest;
}

async function renderJobs(jobs) {
  $("dash-jobs-none").hidden = jobs.length > 0;
  const seen = new Set(jobs.map((j) => j.id));
  for (const [id, card] of jobCards) {
    if (!seen.has(id)) {
      card.root.remove();
      jobCards.delete(id);
    }
  }
  for (const job of jobs) await renderJob(job);
}

function shareTable(model) {
  let t = shareTables.get(model);
  if (t) return t;
  const root = el("div", { className: "share-table" });
  root.dataset.model = model;
  const title = el("h3", { className: "small" });
  const wrap = el("div", { className: "table-wrap" });
  const table = el("table");
  table.append(el("caption", { className: "visually-hidden", textContent: `Shares of ${model}` }));
  const head = el("thead");
  const tr = el("tr");
  for (const label of ["Address", "Share (verified)", "Verified", "Pending", "Refused"]) {
    const th = el("th", { textContent: label });
    th.scope = "col";
    tr.append(th);
  }
  head.append(tr);
  const body = el("tbody");
  table.append(head, body);
  wrap.append(table);
  root.append(title, wrap);
  $("dash-shares").append(root);
  t = { root, title, body };
  shareTables.set(model, t);
  return t;
}

async function renderShares(models, names) {
  for (const model of models) {
    const body = await getJSON(`api/v1/credits/${encodeURIComponent(model)}`);
    const bs = Array.isArray(body.balances) ? body.balances : [];
    const total = sumAmounts(bs.map((b) => b.verified));
    const t = shareTable(model);
    const name = names.get(model);
    setText(t.title, `${name && name !== model ? `${name} (${model})` : model}: ${flops(total)} verified by ${count(bs.length)} contributors`);
    t.body.replaceChildren(...bs.map((b) => tableRow([
      hexCell(b.address),
      percent(ratio(b.verified, total), 2),
      flops(b.verified),
      flops(b.pending),
      flops(b.rejected),
    ])));
  }
}

const epochStateWords = { prepared: "Prepared", sent: "Sent, awaiting its block", committed: "Committed" };

function renderEpochs(body) {
  const none = $("dash-epochs-none");
  if (!body) {
    setText($("dash-contract"), "This hub commits no credit on-chain.");
    $("dash-epochs").tBodies[0].replaceChildren();
    return [];
  }
  const contract = $("dash-contract");
  contract.replaceChildren("Contract ", hexCell(body.contract), ` on chain ${body.chainId}.`);
  const epochs = Array.isArray(body.epochs) ? body.epochs : [];
  none.hidden = epochs.length > 0;
  setText(none, "No epoch yet: the hub commits one every interval, or when the operator asks.");
  $("dash-epochs").tBodies[0].replaceChildren(...epochs.map((e) => {
    const tr = tableRow([
      e.model,
      String(e.epoch),
      epochStateWords[e.state] || e.state,
      count(e.contributors),
      flops(e.total),
      hexCell(e.root),
      e.txHash ? hexCell(e.txHash) : "–",
      e.block ? count(e.block) : "–",
      e.committedAt ? new Date(e.committedAt).toLocaleString() : "–",
    ]);
    tr.dataset.state = e.state;
    return tr;
  }));
  return epochs;
}

// announce tells screen readers what changed that matters: jobs' states
// and new epochs, not every number.
let announced = "";
function announce(jobs, epochs) {
  const committed = epochs.filter((e) => e.state === "committed").length;
  const text = `${jobs.map((j) => `${j.name || j.id}: ${j.state}`).join(", ") || "No job"}. ` +
    `${committed} epochs committed on-chain.`;
  if (text !== announced) {
    announced = text;
    setText($("dash-status"), text);
  }
}

async function refresh() {
  const problems = [];
  const attempt = async (what, fn) => {
    try {
      return await fn();
    } catch (err) {
      problems.push(`${what}: ${err.message || err}`);
      return undefined;
    }
  };
  const st = await attempt("status", () => getJSON("api/v1/status"));
  if (st) renderHub(st);
  const jobsBody = await attempt("jobs", () => getJSON("api/v1/jobs", { allow404: true }));
  const jobs = jobsBody && Array.isArray(jobsBody.jobs) ? jobsBody.jobs : [];
  if (jobsBody !== undefined) await attempt("jobs", () => renderJobs(jobs));
  const epochsBody = await attempt("epochs", () => getJSON("api/v1/epochs?limit=20", { allow404: true }));
  const epochs = epochsBody !== undefined ? renderEpochs(epochsBody) : [];
  const names = new Map(jobs.map((j) => [j.id, j.name || j.id]));
  const models = new Set([...names.keys(), ...epochs.map((e) => e.model)]);
  await attempt("credits", () => renderShares(models, names));
  const usage = await attempt("usage", () => getJSON("api/v1/usage", { allow404: true }));
  if (usage !== undefined) renderUsage(usage, names);
  if (epochsBody !== undefined) renderEpochRevenue(epochs, names);
  announce(jobs, epochs);
  const box = $("dash-error");
  box.hidden = problems.length === 0;
  setText(box, problems.length ? `Could not read everything from the hub (${problems.join("; ")}). Retrying…` : "");
}

poll(refresh, dashMillis);
