// check-proofs.mjs checks a Tessera hub's credit proofs the way an outside
// contributor would, with standard Ethereum tools only (ethers v6 and
// @openzeppelin/merkle-tree, pinned in package.json) and no Tessera code:
//
//   node check-proofs.mjs HUB_URL MODEL EPOCH[,EPOCH...] < addresses.json
//
// For every address (a JSON array on stdin) and epoch (0: the latest) it
// fetches GET HUB/api/v1/proof, then checks
//   - the addresses are EIP-55 checksummed and the amounts decimal strings;
//   - modelId = keccak256(utf8 bytes of MODEL) and the leaf encoding is
//     ["address", "uint256"], with the leaf as OpenZeppelin hashes it;
//   - StandardMerkleTree.verify(root, ["address", "uint256"], [address,
//     amount], proof) holds;
//   - through the hub's read-only RPC proxy, with an ethers provider at
//     its default settings (it batches up to 100 calls), the contract's
//     epochInfo holds that root and verify(...) accepts the proof, and
//     refuses the amount plus one.
// Its last line of output is {"checked": N, "batches": [...sizes],
// "failures": [...]} (ethers may log warnings before it).

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const { AbiCoder, Contract, JsonRpcProvider, getAddress, id, keccak256 } = require('ethers');

const abi = [
  'function verify(bytes32 model, uint64 epoch, address account, uint256 amount, bytes32[] proof) view returns (bool)',
  'function epochInfo(bytes32 model, uint64 epoch) view returns (tuple(bytes32 root, uint256 total, uint64 contributors, uint64 committedAt))',
];

const [hub, model, epochsArg] = process.argv.slice(2);
if (!hub || !model || !epochsArg) {
  console.error('usage: node check-proofs.mjs HUB_URL MODEL EPOCH[,EPOCH...] < addresses.json');
  process.exit(2);
}
const epochs = epochsArg.split(',').map(Number);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const addresses = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const failures = [];
const fail = (what) => failures.push(what);
const checksummed = (a) => typeof a === 'string' && a === getAddress(a);

async function fetchProof(address, epoch) {
  const q = new URLSearchParams({ model, address });
  if (epoch > 0) q.set('epoch', String(epoch));
  const resp = await fetch(`${hub}/api/v1/proof?${q}`);
  const body = await resp.json();
  if (!resp.ok) throw new Error(`proof of ${address} epoch ${epoch}: HTTP ${resp.status}: ${body.error}`);
  return body;
}

// Every proof, fetched at once.
const jobs = addresses.flatMap((address) => epochs.map((epoch) => ({ address, epoch })));
const proofs = await Promise.all(jobs.map(({ address, epoch }) => fetchProof(address, epoch).catch((err) => { fail(err.message); return null; })));

// The checks that need no chain.
for (const [i, p] of proofs.entries()) {
  if (!p) continue;
  const { address, epoch } = jobs[i];
  const where = `${address} epoch ${p.epoch}`;
  if (epoch > 0 && p.epoch !== epoch) fail(`${where}: asked for epoch ${epoch}`);
  if (!checksummed(p.address) || !checksummed(p.contract)) fail(`${where}: addresses not checksummed: ${p.address}, ${p.contract}`);
  if (p.address !== getAddress(address)) fail(`${where}: the proof is of ${p.address}`);
  if (typeof p.amount !== 'string' || !/^[0-9]+$/.test(p.amount) || typeof p.total !== 'string') fail(`${where}: amount ${p.amount}, total ${p.total} are not decimal strings`);
  if (p.modelId !== id(model)) fail(`${where}: modelId ${p.modelId}, keccak256(${model}) is ${id(model)}`);
  if (JSON.stringify(p.leafEncoding) !== '["address","uint256"]') fail(`${where}: leaf encoding ${JSON.stringify(p.leafEncoding)}`);
  const leaf = keccak256(keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'uint256'], [p.address, BigInt(p.amount)])));
  if (p.leaf !== leaf) fail(`${where}: leaf ${p.leaf}, OpenZeppelin's is ${leaf}`);
  if (!StandardMerkleTree.verify(p.root, ['address', 'uint256'], [p.address, BigInt(p.amount)], p.proof)) {
    fail(`${where}: StandardMerkleTree.verify refuses the proof`);
  }
}

// The contract, through the hub's proxy, every call at once: ethers
// batches them (up to 100 per request by default).
const provider = new JsonRpcProvider(`${hub}/api/v1/chain/rpc`);
const batches = [];
provider.on('debug', (e) => {
  if (e.action === 'sendRpcPayload') batches.push(Array.isArray(e.payload) ? e.payload.length : 1);
  if (e.action === 'receiveRpcError') fail(`RPC error: ${e.error?.message || JSON.stringify(e.error)}`);
});
const calls = [];
for (const p of proofs) {
  if (!p) continue;
  const c = new Contract(p.contract, abi, provider);
  const where = `${p.address} epoch ${p.epoch}`;
  calls.push(c.epochInfo(p.modelId, p.epoch).then((info) => {
    if (info.root !== p.root) fail(`${where}: the contract's root ${info.root}, the hub's ${p.root}`);
  }));
  calls.push(c.verify(p.modelId, p.epoch, p.address, BigInt(p.amount), p.proof).then((ok) => {
    if (!ok) fail(`${where}: the contract refuses the proof of ${p.amount}`);
  }));
  calls.push(c.verify(p.modelId, p.epoch, p.address, BigInt(p.amount) + 1n, p.proof).then((ok) => {
    if (ok) fail(`${where}: the contract accepts ${p.amount} + 1`);
  }));
}
const settled = await Promise.allSettled(calls);
for (const s of settled) if (s.status === 'rejected') fail(`call failed: ${s.reason?.shortMessage || s.reason?.message || s.reason}`);
provider.destroy();

// Failures, each once with its count, at most 50 kinds.
const counts = new Map();
for (const f of failures) counts.set(f, (counts.get(f) || 0) + 1);
const kinds = [...counts].slice(0, 50).map(([f, n]) => (n > 1 ? `${f} (${n} times)` : f));
process.stdout.write(JSON.stringify({ checked: proofs.filter(Boolean).length, batches, failures: kinds }) + '\n');
