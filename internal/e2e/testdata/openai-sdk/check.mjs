// Runs OpenAI's official Node SDK, unchanged, against a Tessera hub:
// node check.mjs BASE_URL KEY MODEL PROMPT MAX_TOKENS. Prints one JSON
// object with what each call returned, for the Go test to judge.
import OpenAI from "openai";

const [baseURL, apiKey, model, prompt, maxTokens] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const out = {};

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

const c = await client.completions.create({ model, prompt, max_tokens: Number(maxTokens), temperature: 0 });
out.completion = { text: c.choices[0].text, finish: c.choices[0].finish_reason, usage: c.usage, object: c.object };

let streamed = "";
let streamUsage = null;
const stream = await client.completions.create({
  model, prompt, max_tokens: Number(maxTokens), temperature: 0, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  for (const ch of chunk.choices) streamed += ch.text;
  if (chunk.usage) streamUsage = chunk.usage;
}
out.stream = { text: streamed, usage: streamUsage };

const chat = await client.chat.completions.create({ model, messages: [{ role: "user", content: prompt }], max_tokens: 8, temperature: 0 });
out.chat = { role: chat.choices[0].message.role, content: chat.choices[0].message.content, object: chat.object };

let chatStreamed = "";
const chatStream = await client.chat.completions.create({ model, messages: [{ role: "user", content: prompt }], max_tokens: 8, temperature: 0, stream: true });
for await (const chunk of chatStream) chatStreamed += chunk.choices[0]?.delta?.content ?? "";
out.chatStream = { text: chatStreamed };

// Errors come back as the SDK's own error classes.
async function errorOf(f) {
  try {
    await f();
    return "none";
  } catch (err) {
    return `${err.constructor.name} ${err.status}`;
  }
}
out.errors = {
  badKey: await errorOf(() => new OpenAI({ baseURL, apiKey: "tsk-wrong", maxRetries: 0 }).models.list()),
  unknownModel: await errorOf(() => client.completions.create({ model: "no-such-model", prompt })),
  badParameter: await errorOf(() => client.completions.create({ model, prompt, temperature: 5 })),
};
console.log(JSON.stringify(out));
