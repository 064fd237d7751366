// The contributor page's "Try the model" box: shown only when the hub
// publishes a demo key (GET api/v1/demo, tessera-hub --demo-key). It asks
// the hub's OpenAI-compatible API, with that key, for the language models
// that can be tried (GET v1/models) and streams a completion
// (POST v1/completions with "stream": true): server-sent events, each
// "data: {json}" line carrying the next piece of text in
// choices[0].text, the last one "data: [DONE]". The pieces are appended
// as text as they arrive; Stop aborts the request.

import { $, setText, getJSON } from "./api.js";

// modelsRetryMillis is how often the box asks again for the models while
// none can be tried yet. Every request counts against the shared key's
// rate limit, so the box asks rarely.
const modelsRetryMillis = 20000;

let key = "";
let controller = null; // aborts the completion in flight

// apiMessage turns an OpenAI-shaped error ({"error": {"message", "type",
// "code"}}) and its HTTP status into a sentence for people.
function apiMessage(status, body) {
  const e = (body && body.error) || {};
  const msg = typeof e === "string" ? e : e.message || `HTTP ${status}`;
  if (status === 429) return `Too many requests on the shared demo key: ${msg}`;
  // A stream's error event carries no status, only the code.
  if ((status === 503 || status === 0) && e.code === "no_contributors") return `No contributor is computing right now, so the model cannot answer: ${msg}`;
  if (status === 503) return `The hub cannot answer now: ${msg}`;
  if (status === 401) return `The demo key was refused (the operator may have revoked it; reload the page): ${msg}`;
  return status ? `The hub refused the request (HTTP ${status}): ${msg}` : msg;
}

// api calls the OpenAI-compatible API with the demo key.
function api(path, init = {}) {
  return fetch(path, {
    ...init,
    cache: "no-store",
    headers: { ...init.headers, Authorization: `Bearer ${key}` },
  });
}

async function errorOf(resp) {
  let body = null;
  try {
    body = await resp.json();
  } catch {
    // not JSON: the status says enough
  }
  return new Error(apiMessage(resp.status, body));
}

function showError(text) {
  $("try-error").hidden = !text;
  setText($("try-error"), text);
}

function setBusy(busy) {
  $("try-generate").disabled = busy || $("try-model").options.length === 0;
  $("try-stop").disabled = !busy;
  $("try").dataset.state = busy ? "generating" : "idle";
}

// loadModels fills the model choice; it tries again later while the hub
// has no model to try.
async function loadModels() {
  let models = [];
  try {
    const resp = await api("v1/models");
    if (!resp.ok) throw await errorOf(resp);
    const body = await resp.json();
    models = Array.isArray(body.data) ? body.data.map((m) => String(m.id)) : [];
  } catch (err) {
    setText($("try-status"), `Could not list the models: ${err.message || err}. Trying again soon.`);
    setTimeout(loadModels, modelsRetryMillis);
    return;
  }
  const select = $("try-model");
  select.replaceChildren(...models.map((id) => new Option(id, id)));
  select.disabled = models.length === 0;
  setBusy(false);
  if (models.length === 0) {
    setText($("try-status"), "No language model on this hub has a checkpoint to try yet. Trying again soon.");
    setTimeout(loadModels, modelsRetryMillis);
    return;
  }
  setText($("try-status"), "");
}

// readEvents calls onData with the data of each server-sent event of the
// response body, until the body ends.
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { done, value } = await reader.read();
    buf += decoder.decode(value, { stream: !done });
    // Events end with a blank line; their lines may end in \n or \r\n.
    const events = buf.split(/\r?\n\r?\n/);
    buf = done ? "" : events.pop();
    for (const ev of events) {
      const data = ev.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (data && onData(data) === false) {
        reader.cancel().catch(() => {});
        return;
      }
    }
    if (done) return;
  }
}

async function generate(event) {
  event.preventDefault();
  if (controller) return;
  const model = $("try-model").value;
  const prompt = $("try-prompt").value;
  const maxTokens = Math.round(Number($("try-max-tokens").value));
  const temperature = Number($("try-temperature").value);
  if (!model || !prompt) {
    showError(model ? "Write a prompt first." : "There is no model to try yet.");
    return;
  }
  if (!(maxTokens >= 1) || !(temperature >= 0 && temperature <= 2)) {
    showError("Choose at least 1 token and a temperature from 0 to 2.");
    return;
  }
  showError("");
  const out = $("try-output");
  const text = out.querySelector(".completion");
  setText(out.querySelector(".prompt"), prompt);
  text.textContent = "";
  out.hidden = false;
  controller = new AbortController();
  setBusy(true);
  setText($("try-status"), `Generating with ${model}…`);
  let finish = "";
  let pieces = 0;
  try {
    const resp = await api("v1/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model, prompt, max_tokens: maxTokens, temperature, stream: true }),
      signal: controller.signal,
    });
    if (!resp.ok) throw await errorOf(resp);
    let ended = false;
    await readEvents(resp.body, (data) => {
      if (data === "[DONE]") {
        ended = true;
        return false;
      }
      const chunk = JSON.parse(data);
      // An error after the first piece arrives as an event of its own.
      if (chunk.error) throw new Error(apiMessage(0, chunk));
      const c = (chunk.choices || [])[0] || {};
      if (c.text) {
        text.append(c.text);
        pieces++;
      }
      if (c.finish_reason) finish = c.finish_reason;
      return true;
    });
    if (!ended) throw new Error("The answer ended early: the connection to the hub was lost.");
    const why = finish === "length" ? "the token limit was reached" : finish === "stop" ? "the model ended the text" : finish || "done";
    setText($("try-status"), `Done: ${why}.`);
  } catch (err) {
    if (err.name === "AbortError") {
      setText($("try-status"), pieces ? "Stopped." : "Stopped before the model wrote anything.");
    } else {
      setText($("try-status"), "The request failed.");
      showError(err.message || String(err));
      if (pieces === 0) out.hidden = true;
    }
  } finally {
    controller.abort(); // ends the request if an error left it open
    controller = null;
    setBusy(false);
  }
}

// startTry shows the box if the hub publishes a demo key.
// Its data-demo attribute says what the hub answered: "on", "off" or
// "unknown" (no answer).
export async function startTry() {
  const box = $("try");
  let demo;
  try {
    demo = await getJSON("api/v1/demo", { allow404: true });
  } catch {
    box.dataset.demo = "unknown";
    return; // the box stays hidden: trying is an extra
  }
  if (!demo || !demo.enabled || !demo.key) {
    box.dataset.demo = "off";
    return;
  }
  box.dataset.demo = "on";
  key = demo.key;
  if (demo.rate_limit_per_minute > 0) setText($("try-rate"), String(demo.rate_limit_per_minute));
  box.hidden = false;
  $("try-form").addEventListener("submit", generate);
  $("try-stop").addEventListener("click", () => {
    if (controller) controller.abort();
  });
  setBusy(false);
  loadModels();
}
