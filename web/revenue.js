// The dashboard's Revenue section: what the hub's OpenAI-compatible API
// earned per model (GET api/v1/usage: metered requests, tokens and
// revenue, and what each model's inference engine did since the hub
// started), and per epoch the revenue committed with it, the dust carried
// into the next epoch and the earnings tree its owners claim from (the
// revenue fields of GET api/v1/epochs).

import { $, el, setText, count, ether, weiTitle, tableRow, hexCell } from "./api.js";

// weiCell shows an amount in ether, with the exact wei in its title.
function weiCell(wei) {
  return el("span", { className: "wei", textContent: ether(wei), title: weiTitle(wei) });
}

// modelName is a job's name with its ID, or the ID alone.
function modelName(names, model) {
  const name = names.get(model);
  return name && name !== model ? `${name} (${model})` : model;
}

// renderUsage fills the per-model table from api/v1/usage; names maps job
// IDs to names. body is null when the hub serves no inference API.
export function renderUsage(body, names) {
  const none = $("dash-usage-none");
  const models = body && Array.isArray(body.models) ? body.models : [];
  const engines = (body && body.engines) || {};
  none.hidden = models.length > 0;
  setText(none, body
    ? "No metered request yet: revenue appears once someone uses a model through the API with a priced key."
    : "This hub serves no inference API.");
  $("dash-usage").tBodies[0].replaceChildren(...models.map((m) => {
    // The engines are named as the API names models: by job name.
    const e = engines[names.get(m.model)] || engines[m.model];
    const tr = tableRow([
      modelName(names, m.model),
      count(m.requests),
      count(m.prompt_tokens),
      count(m.completion_tokens),
      weiCell(m.revenue_wei),
      e ? `${count(e.tokens)} tokens in ${count(e.steps)} steps (mean batch ${Number(e.mean_batch || 0).toFixed(1)}, max ${count(e.max_batch)})` : "–",
    ]);
    tr.dataset.model = m.model;
    return tr;
  }));
}

// renderEpochRevenue fills the per-epoch table from the epochs that
// api/v1/epochs listed (null when the hub commits nothing on-chain).
export function renderEpochRevenue(epochs, names) {
  const none = $("dash-epoch-revenue-none");
  none.hidden = epochs.length > 0;
  setText(none, "No epoch yet: revenue is committed with the model's next epoch.");
  $("dash-epoch-revenue").tBodies[0].replaceChildren(...epochs.map((e) => {
    const tr = tableRow([
      modelName(names, e.model),
      String(e.epoch),
      weiCell(e.revenue),
      weiCell(e.dust),
      weiCell(e.earningsTotal),
      e.earningsRoot ? hexCell(e.earningsRoot) : "–",
    ]);
    tr.dataset.model = e.model;
    tr.dataset.epoch = String(e.epoch);
    return tr;
  }));
}
