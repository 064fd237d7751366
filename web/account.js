// The contributor page's account sections: the visitor's ownership share
// and credit per model with its on-chain proof (and a button that checks
// the proof against the contract), how the hub checked their work, and
// the key that owns it all (export and import).
//
// The address comes from the browser client (tessera.identity()); the
// numbers from the hub: GET api/v1/credits/{model},
// api/v1/proof?model=&address=, api/v1/epochs, api/v1/status and
// api/v1/contributors/{address}/decisions.

import { $, el, setText, count, percent, flops, sumAmounts, ratio, getJSON, poll, hexCell } from "./api.js";
import { checkProof } from "./chain.js";

const accountMillis = 2000;
const announceMillis = 30000;

let tessera = null;
let address = "";
let clientStats = {};
let jobNames = new Map(); // model (job id) -> job name
const cards = new Map(); // model -> card
let lastAnnounced = { text: "", at: 0 };

// setClient receives the client's latest stats (app.js polls them).
export function setClient(stats) {
  clientStats = stats || {};
  if (stats && stats.address) address = stats.address;
  renderClientChecks();
}

// setJobs receives the job list that the Training section polls.
export function setJobs(jobs) {
  jobNames = new Map(jobs.map((j) => [j.id, j.name || j.id]));
}

// startAccount begins showing the account; bridge is null when the client
// is not built (there is then no key in this browser to show).
export async function startAccount(bridge) {
  tessera = bridge;
  initKeys();
  if (!tessera) {
    setText($("ownership-status"), "This browser has no contributor key until the client is built and loaded.");
    $("ownership-status").classList.remove("visually-hidden");
    return;
  }
  try {
    const id = await tessera.identity();
    address = id.address;
    setText($("key-address"), address);
    if (!id.persistent) setText($("key-message"), `Careful: ${id.keyNote}.`);
  } catch (err) {
    setText($("key-message"), `Could not read this browser's key: ${err.message || err}`);
  }
  poll(refresh, accountMillis);
}

// Ownership: one card per model that has a job or a committed epoch.

function card(model) {
  let c = cards.get(model);
  if (c) return c;
  const n = cards.size + 1;
  const root = el("article", { className: "model" });
  root.dataset.model = model;
  const title = el("h3", { id: `model-${n}-name` });
  root.setAttribute("aria-labelledby", title.id);
  const list = el("dl", { className: "stats" });
  const row = (label, cls, wide) => {
    const div = el("div", { className: wide ? "wide" : "" });
    const dd = el("dd", { className: cls || "" });
    div.append(el("dt", { textContent: label }), dd);
    list.append(div);
    return dd;
  };
  const f = {
    title,
    share: row("Your ownership share (verified)", "share"),
    verified: row("Verified credit", "verified"),
    pending: row("Pending credit (awaiting checks)", "pending"),
    rejected: row("Refused credit", "rejected"),
  };
  const proof = el("section", { className: "proof" });
  const ph = el("h4", { textContent: "Proof on the chain" });
  f.proofNote = el("p", { className: "note proof-note" });
  const plist = el("dl", { className: "stats" });
  const prow = (label, cls) => {
    const div = el("div", { className: "wide" });
    const dd = el("dd", { className: `mono ${cls}` });
    div.append(el("dt", { textContent: label }), dd);
    plist.append(div);
    return dd;
  };
  f.epoch = prow("Epoch", "epoch");
  f.amount = prow("Amount proven (cumulative verified credit)", "amount");
  f.root = prow("Merkle root", "root");
  f.contract = prow("Contract (chain ID)", "contract");
  f.tx = prow("Commit transaction (block)", "tx");
  f.check = el("button", { type: "button", className: "check secondary", textContent: "Check on chain", disabled: true });
  f.result = el("p", { className: "check-result" });
  f.result.setAttribute("role", "status");
  f.check.addEventListener("click", () => runCheck(model));
  proof.append(ph, f.proofNote, plist, f.check, f.result);
  root.append(title, list, proof);
  c = { root, f, proof: null, epoch: 0 };
  cards.set(model, c);
  $("models").append(root);
  return c;
}

async function runCheck(model) {
  const c = cards.get(model);
  if (!c || !c.proof) return;
  c.f.check.disabled = true;
  c.root.dataset.check = "checking";
  setText(c.f.result, "Asking the contract…");
  try {
    const { valid, block } = await checkProof(c.proof);
    c.root.dataset.check = valid ? "valid" : "invalid";
    setText(c.f.result, valid
      ? `Valid: the contract confirms ${flops(c.proof.amount)} for ${c.proof.address} in epoch ${c.proof.epoch} (checked at block ${block}).`
      : `Invalid: the contract does not accept this proof (checked at block ${block}).`);
  } catch (err) {
    c.root.dataset.check = "error";
    setText(c.f.result, `Could not check: ${err.message || err}`);
  } finally {
    c.f.check.disabled = false;
  }
}

function renderBalance(c, model, balances) {
  const total = sumAmounts(balances.map((b) => b.verified));
  const mine = balances.find((b) => b.address.toLowerCase() === address.toLowerCase()) || {};
  const share = ratio(mine.verified, total);
  c.share = share;
  const name = jobNames.get(model);
  setText(c.f.title, name && name !== model ? `${name} (${model})` : model);
  setText(c.f.share, `${percent(share, 2)} of ${flops(total)} verified by ${count(balances.length)} contributors`);
  setText(c.f.verified, flops(mine.verified));
  setText(c.f.pending, flops(mine.pending));
  setText(c.f.rejected, flops(mine.rejected));
}

function renderProof(c, p, why) {
  c.proof = p;
  c.f.check.disabled = !p;
  for (const k of ["epoch", "amount", "root", "contract", "tx"]) c.f[k].replaceChildren();
  if (!p) {
    setText(c.f.proofNote, why);
    c.f.proofNote.hidden = false;
    for (const k of ["epoch", "amount", "root", "contract", "tx"]) setText(c.f[k], "–");
    return;
  }
  c.f.proofNote.hidden = true;
  setText(c.f.epoch, `${p.epoch} (${count(p.contributors)} contributors, total ${flops(p.total)})`);
  setText(c.f.amount, `${flops(p.amount)} (${p.amount} FLOP)`);
  c.f.root.append(hexCell(p.root));
  c.f.contract.append(hexCell(p.contract), ` (chain ${p.chainId})`);
  c.f.tx.append(hexCell(p.txHash), ` (block ${p.block})`);
  setText(c.f.result, "");
  delete c.root.dataset.check;
}

// refresh reads the hub's view of this address.
async function refresh() {
  if (!address) return;
  const problems = [];
  // Models: the jobs, and whatever has committed epochs.
  let epochs = [];
  try {
    const body = await getJSON("api/v1/epochs?limit=1", { allow404: true });
    epochs = body && Array.isArray(body.epochs) ? body.epochs : [];
  } catch (err) {
    problems.push(`epochs: ${err.message}`);
  }
  const models = new Set([...jobNames.keys(), ...epochs.map((e) => e.model)]);
  for (const model of models) {
    const c = card(model);
    try {
      const body = await getJSON(`api/v1/credits/${encodeURIComponent(model)}`);
      renderBalance(c, model, Array.isArray(body.balances) ? body.balances : []);
    } catch (err) {
      problems.push(`credit in ${model}: ${err.message}`);
    }
    // A proof changes only with a newly committed epoch.
    const latest = epochs.find((e) => e.model === model && e.state === "committed");
    const committed = latest ? latest.epoch : 0;
    if (committed === 0) {
      renderProof(c, null, "No epoch of this model is committed on-chain yet: proofs appear after the next commit.");
    } else if (committed !== c.epoch) {
      try {
        const p = await getJSON(`api/v1/proof?model=${encodeURIComponent(model)}&address=${address}`, { allow404: true });
        renderProof(c, p, `Your address had no verified credit in this model when epoch ${committed} was committed; ` +
          "your proof appears after the next commit.");
        c.epoch = committed;
      } catch (err) {
        problems.push(`proof in ${model}: ${err.message}`);
      }
    }
  }
  const status = $("ownership-status");
  if (models.size === 0) {
    setText(status, "No model to own a share of yet.");
    status.classList.remove("visually-hidden");
  } else {
    status.classList.add("visually-hidden");
    const text = [...cards.entries()].map(([m, c]) => `${jobNames.get(m) || m}: ${percent(c.share || 0, 2)}`).join("; ");
    const now = Date.now();
    if (text !== lastAnnounced.text && now - lastAnnounced.at >= announceMillis) {
      lastAnnounced = { text, at: now };
      setText(status, `Your ownership share. ${text}.`);
    }
  }
  await refreshChecks(problems);
  const box = $("account-error");
  box.hidden = problems.length === 0;
  setText(box, problems.length ? `Could not read everything from the hub (${problems.join("; ")}). Retrying…` : "");
}

// Checks: what the client heard and what the hub recorded.

function renderClientChecks() {
  const s = clientStats;
  setText($("check-client"), s.tasksDone > 0 || s.accepted > 0 || s.refused > 0
    ? `${count(s.accepted || 0)} results accepted, ${count(s.refused || 0)} refused, of ${count(s.tasksDone || 0)} sent in this visit`
    : "No result sent in this visit yet");
}

async function refreshChecks(problems) {
  try {
    const st = await getJSON("api/v1/status");
    const row = (st.contributors || []).find((c) => c.address.toLowerCase() === address.toLowerCase());
    setText($("check-hub"), row
      ? `${count(row.tasks_completed)} tasks verified, ${count(row.tasks_rejected)} failed verification, ` +
        `${count(row.results_refused)} results refused in all, since the hub started`
      : "The hub has no record of this address since it started");
    setText($("check-replicated"), `${count(st.tasks_replicated)} tasks re-run by a second contributor, ` +
      `${count(st.arbitrations)} settled by the hub's exact product (all contributors)`);
  } catch (err) {
    problems.push(`status: ${err.message}`);
  }
  try {
    const body = await getJSON(`api/v1/contributors/${address}/decisions`, { allow404: true }); // 404: no ledger
    const ds = body && Array.isArray(body.decisions) ? body.decisions : [];
    const list = $("decisions");
    list.replaceChildren(...ds.slice(0, 10).map((d) => {
      const when = new Date(d.at).toLocaleString();
      const li = el("li");
      li.append(el("strong", { textContent: d.kind }), ` ${when}${d.task ? `, task ${d.task}` : ""}: ${d.reason || "no reason given"}`);
      return li;
    }));
    setText($("decisions-none"), ds.length ? "" : "None: the hub has refused none of your results.");
  } catch (err) {
    problems.push(`decisions: ${err.message}`);
  }
}

// Keys: export as a file or as hex, import from either.

let keysReady = false;

function initKeys() {
  if (keysReady) return;
  keysReady = true;
  const controls = ["key-download", "key-show", "key-import", "key-file", "key-input"].map($);
  for (const c of controls) c.disabled = !tessera;
  if (!tessera) {
    setText($("key-message"), "The client is not built, so this browser has no key to export or import.");
    return;
  }
  $("key-download").addEventListener("click", async () => {
    try {
      const { key, address: addr } = await tessera.exportKey();
      const url = URL.createObjectURL(new Blob([`${key}\n`], { type: "text/plain" }));
      const a = el("a", { href: url, download: `tessera-key-${addr}.txt` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      setText($("key-message"), `Saved the key of ${addr} as a file. Keep it private and safe.`);
    } catch (err) {
      setText($("key-message"), `Could not export the key: ${err.message || err}`);
    }
  });
  $("key-show").addEventListener("click", async () => {
    const out = $("key-hex");
    const show = out.hidden;
    if (show) {
      try {
        out.value = (await tessera.exportKey()).key;
      } catch (err) {
        setText($("key-message"), `Could not export the key: ${err.message || err}`);
        return;
      }
    } else {
      out.value = "";
    }
    out.hidden = !show;
    $("key-show").setAttribute("aria-expanded", String(show));
    setText($("key-show"), show ? "Hide the key" : "Show the key");
  });
  $("key-file").addEventListener("change", async () => {
    const file = $("key-file").files[0];
    if (!file) return;
    if (file.size > 1024) {
      setText($("key-message"), `${file.name} is too large to be a key file.`);
      return;
    }
    $("key-input").value = (await file.text()).trim();
  });
  $("key-import").addEventListener("click", async () => {
    const text = $("key-input").value.trim();
    if (!text) {
      setText($("key-message"), "Paste a key or choose a key file first.");
      return;
    }
    try {
      const { address: addr } = await tessera.importKey(text);
      address = addr;
      $("key-input").value = "";
      $("key-hex").hidden = true;
      $("key-hex").value = "";
      setText($("key-address"), addr);
      setText($("key-message"), `Imported: this browser now contributes as ${addr}. The previous key is kept in this browser's storage as tessera.key.previous.`);
      for (const c of cards.values()) c.epoch = 0; // proofs of the new address
    } catch (err) {
      setText($("key-message"), `Not imported: ${err.message || err}`);
    }
  });
}
