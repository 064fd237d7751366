// Checks a contributor's proof against the TesseraCredits contract without
// trusting the hub's word for it: the page encodes the contract's view
// verify(bytes32 model, uint64 epoch, address account, uint256 amount,
// bytes32[] proof) itself and runs it with eth_call through the hub's
// read-only JSON-RPC proxy (POST api/v1/chain/rpc), which only forwards
// reads to the chain. The proof is what GET api/v1/proof returns.

import { loadVendor, vendorMissing } from "./api.js";

const verifySignature = "verify(bytes32,uint64,address,uint256,bytes32[])";
const rpcPath = "api/v1/chain/rpc";

// word returns a 32-byte ABI word for a non-negative BigInt, in hex.
function word(n) {
  if (n < 0n || n >= 1n << 256n) throw new Error(`${n} does not fit in 256 bits`);
  return n.toString(16).padStart(64, "0");
}

// hexBytes checks that h is 0x-hex of exactly size bytes and returns its
// digits, lower case.
function hexBytes(h, size, what) {
  if (typeof h !== "string" || !/^0x[0-9a-fA-F]*$/.test(h) || h.length !== 2 + 2 * size) {
    throw new Error(`${what} must be ${size} bytes of 0x-hex, got ${JSON.stringify(h)}`);
  }
  return h.slice(2).toLowerCase();
}

function uint(v, bits, what) {
  let n;
  try {
    n = BigInt(v);
  } catch {
    throw new Error(`${what} must be a whole number, got ${JSON.stringify(v)}`);
  }
  if (n < 0n || n >= 1n << BigInt(bits)) throw new Error(`${what} must fit in uint${bits}, got ${v}`);
  return n;
}

// encodeVerify returns the calldata of verify(...) for proof p, as 0x-hex.
// The arguments are four static words, then the offset of the dynamic
// bytes32[] (five words in: 0xa0), then its length and elements.
export async function encodeVerify(p) {
  const v = await loadVendor();
  if (!v) throw new Error(vendorMissing);
  const digest = v.keccak_256(new TextEncoder().encode(verifySignature));
  const selector = [...digest.slice(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("");
  if (!Array.isArray(p.proof)) throw new Error("the proof must be a list of 32-byte hashes");
  const parts = [
    selector,
    hexBytes(p.modelId, 32, "modelId"),
    word(uint(p.epoch, 64, "epoch")),
    hexBytes(p.address, 20, "address").padStart(64, "0"),
    word(uint(p.amount, 256, "amount")),
    word(5n * 32n),
    word(BigInt(p.proof.length)),
    ...p.proof.map((h, i) => hexBytes(h, 32, `proof[${i}]`)),
  ];
  return `0x${parts.join("")}`;
}

// rpc makes one JSON-RPC call through the hub's proxy.
async function rpc(method, params) {
  const signal = AbortSignal.timeout ? AbortSignal.timeout(15000) : undefined;
  const resp = await fetch(rpcPath, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal,
  });
  if (!resp.ok) throw new Error(`the hub's chain proxy answered HTTP ${resp.status}`);
  const body = await resp.json();
  if (body.error) throw new Error(`${method}: ${body.error.message} (code ${body.error.code})`);
  return body.result;
}

// checkProof asks the contract whether p holds. It resolves to
// {valid, block}: valid is the contract's answer, block the chain's height
// when it answered. It rejects, with words, when the question cannot be
// asked: the library missing, a chain of another ID, no contract there.
export async function checkProof(p) {
  const data = await encodeVerify(p);
  const chainId = BigInt(await rpc("eth_chainId", []));
  if (p.chainId !== undefined && chainId !== BigInt(p.chainId)) {
    throw new Error(`the hub's chain has ID ${chainId}, the proof names chain ${p.chainId}`);
  }
  const to = `0x${hexBytes(p.contract, 20, "contract")}`;
  const [result, block] = await Promise.all([
    rpc("eth_call", [{ to, data }, "latest"]),
    rpc("eth_blockNumber", []),
  ]);
  if (typeof result !== "string" || !/^0x[0-9a-fA-F]*$/.test(result)) {
    throw new Error(`eth_call returned ${JSON.stringify(result)}`);
  }
  if (result === "0x") throw new Error(`there is no contract at ${to} on this chain`);
  if (result.length !== 66) throw new Error(`verify returned ${result.length / 2 - 1} bytes, want one 32-byte bool`);
  return { valid: BigInt(result) === 1n, block: Number(BigInt(block)) };
}
