// The contributor page's "Your earnings" section: for this browser's
// address, every model's earnings from the API's revenue (owed as of the
// latest committed epoch, claimed, claimable), and a Claim button per
// model that asks the hub to send the claim (the hub pays the gas; the
// contract pays the address in the proof, whoever asks).
//
//	GET  api/v1/earnings?address=0x…   owed, claimed and claimable wei per model
//	POST api/v1/claim {model, address}  the hub relays the claim
//
// The address is read from the client (tessera.identity()) at every poll,
// so that it follows a key imported in the Your key section.

import { $, el, setText, amount, ether, weiTitle, getJSON, postJSON, poll } from "./api.js";

const earningsMillis = 3000;

let tessera = null;
let address = "";
let jobNames = new Map(); // model (job id) -> job name
const rows = new Map(); // model -> {tr, f}
let claiming = ""; // the model whose claim is in flight

// setEarningsJobs receives the job list that the Training section polls,
// for the models' names.
export function setEarningsJobs(jobs) {
  jobNames = new Map(jobs.map((j) => [j.id, j.name || j.id]));
  for (const [model, r] of rows) setText(r.f.name, modelName(model));
}

// startEarnings begins showing the earnings of the client's address;
// bridge is null when the client is not built (there is no key then).
export function startEarnings(bridge) {
  tessera = bridge;
  if (!tessera) {
    setText($("earnings-none"), "This browser has no contributor key until the client is built and loaded.");
    return;
  }
  poll(refresh, earningsMillis);
}

function modelName(model) {
  const name = jobNames.get(model);
  return name && name !== model ? `${name} (${model})` : model;
}

// setWei shows an amount in ether, with the exact wei in the title.
function setWei(node, wei) {
  setText(node, ether(wei));
  node.title = weiTitle(wei);
}

function row(model) {
  let r = rows.get(model);
  if (r) return r;
  const n = rows.size + 1;
  const tr = el("tr");
  tr.dataset.model = model;
  // data-label names the column where a narrow screen stacks the cells.
  const cell = (cls, label) => {
    const td = el("td", { className: cls });
    td.dataset.label = label;
    tr.append(td);
    return td;
  };
  const f = { name: cell("name", "Model"), owed: cell("owed", "Earned"), claimed: cell("claimed", "Claimed"),
    claimable: cell("claimable", "Claimable") };
  f.name.id = `earnings-${n}-name`;
  f.note = el("span", { className: "note-inline", id: `earnings-${n}-note` });
  f.claim = el("button", { type: "button", className: "claim secondary", textContent: "Claim", disabled: true });
  // The button's name says which model it claims: "Claim <model>".
  f.claim.id = `earnings-${n}-claim`;
  f.claim.setAttribute("aria-labelledby", `${f.claim.id} ${f.name.id}`);
  f.claim.setAttribute("aria-describedby", f.note.id);
  f.claim.addEventListener("click", () => claim(model));
  cell("action", "").append(f.claim, f.note);
  setText(f.name, modelName(model));
  r = { tr, f, claimable: 0n };
  rows.set(model, r);
  $("earnings").tBodies[0].append(tr);
  return r;
}

function renderRow(m) {
  const r = row(m.model);
  const claimable = amount(m.claimable_wei);
  const vault = amount(m.vault_wei);
  r.claimable = claimable;
  r.tr.dataset.claimable = claimable.toString();
  setWei(r.f.owed, m.owed_wei);
  setWei(r.f.claimed, m.claimed_wei);
  setWei(r.f.claimable, m.claimable_wei);
  // The contract pays nothing while the vault holds less than is owed.
  const short = claimable > 0n && vault < claimable;
  r.f.claim.disabled = claimable === 0n || short || claiming !== "";
  setText(r.f.claim, claiming === m.model ? "Claiming…" : "Claim");
  setText(r.f.note, short
    ? `Waiting for deposits: the model's vault holds ${ether(vault)}.`
    : claimable === 0n ? "Nothing to claim." : "");
}

// refresh reads the earnings of the client's current address.
async function refresh() {
  try {
    address = (await tessera.identity()).address;
  } catch (err) {
    setText($("earnings-none"), `Could not read this browser's key: ${err.message || err}`);
    return;
  }
  let body;
  try {
    body = await getJSON(`api/v1/earnings?address=${encodeURIComponent(address)}`, { allow404: true });
  } catch (err) {
    setText($("earnings-none"), `Could not read your earnings from the hub (${err.message}). Retrying…`);
    return;
  }
  if (body === null) {
    setText($("earnings-none"), "This hub commits nothing on-chain, so there are no earnings to claim.");
    return;
  }
  // A new address (an imported key) starts a new table.
  if (String(body.address || "").toLowerCase() !== address.toLowerCase()) return;
  const models = Array.isArray(body.models) ? body.models : [];
  const seen = new Set(models.map((m) => m.model));
  for (const [model, r] of rows) {
    if (!seen.has(model)) {
      r.tr.remove();
      rows.delete(model);
    }
  }
  for (const m of models) renderRow(m);
  const none = $("earnings-none");
  none.hidden = models.length > 0;
  setText(none, models.length ? "" : `${address} has no earnings yet: they appear after an epoch commits revenue ` +
    "of a model this address helped train.");
}

// claim asks the hub to send model's claim for this address.
async function claim(model) {
  const r = rows.get(model);
  if (!r || claiming || !address) return;
  claiming = model;
  for (const x of rows.values()) x.f.claim.disabled = true;
  setText(r.f.claim, "Claiming…");
  const status = $("earnings-status");
  delete status.dataset.result;
  setText(status, `Claiming your earnings from ${modelName(model)}…`);
  try {
    const res = await postJSON("api/v1/claim", { model, address });
    status.dataset.result = "paid";
    setText(status, `Paid ${ether(res.paid_wei)} (${res.paid_wei} wei) from ${modelName(model)} to ${res.address}: ` +
      `transaction ${res.tx_hash}, block ${res.block}.`);
  } catch (err) {
    status.dataset.result = "error";
    setText(status, `Not claimed from ${modelName(model)}: ${err.message || err}`);
  } finally {
    claiming = "";
    await refresh();
    if (!r.f.claim.disabled) r.f.claim.focus();
  }
}
