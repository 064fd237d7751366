// merkle-oracle.mjs is the reference the Go credit tree (hub/chain/merkle)
// is tested against: it reads entries as JSON on stdin,
//   [["0xAccount", "decimal amount"], ...]
// builds @openzeppelin/merkle-tree's StandardMerkleTree.of(entries,
// ["address", "uint256"]) with default options, and prints
//   {"root": "0x..", "tree": ["0x..", ...], "proofs": [["0x..", ...], ...]}
// where tree is the array layout and proofs[i] is the proof of entries[i].

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const entries = JSON.parse(await readStdin()).map(([account, amount]) => [account, BigInt(amount)]);
const tree = StandardMerkleTree.of(entries, ['address', 'uint256']);
const { tree: nodes } = tree.dump();
const proofs = entries.map((_, i) => tree.getProof(i));
process.stdout.write(JSON.stringify({ root: tree.root, tree: nodes, proofs }) + '\n');
