// compile.mjs compiles Tessera's contracts with the pinned solc-js through
// the standard JSON interface and writes build/<Contract>.abi (indented
// JSON) and build/<Contract>.bin (hex, no 0x, no newline: abigen embeds the
// file verbatim). The output depends only on the sources, the pinned
// compiler and the settings below, so `make contracts` is reproducible and
// contracts_test.go can compare a fresh build with the committed one.
//
// Usage: node compile.mjs [--out DIR]   (default DIR: build, beside this file)

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const solc = require('solc');

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = path.join(here, 'node_modules');

// Pinned here as well as in package-lock.json: the bytecode changes with
// the compiler, so a silent upgrade must fail loudly.
const SOLC_VERSION = '0.8.37';

// Contracts to build: source path (relative to this directory) and name.
// src/test/ holds test-only contracts (reentrancy_test.go's attacker): built
// and committed like the others so that the drift test covers them, never
// deployed by the hub, given no Go binding.
const CONTRACTS = [
  { source: 'src/TesseraCredits.sol', name: 'TesseraCredits' },
  { source: 'src/test/ReentrantClaimer.sol', name: 'ReentrantClaimer' },
];

// Settings that change the bytecode, all pinned. evmVersion: cancun is the
// newest fork every major L2 runs (solc's own default, osaka, is not).
const SETTINGS = {
  evmVersion: 'cancun',
  optimizer: { enabled: true, runs: 200 },
  viaIR: false,
  metadata: { bytecodeHash: 'ipfs', appendCBOR: true },
  remappings: [],
};

function parseArgs(argv) {
  let out = path.join(here, 'build');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && i + 1 < argv.length) {
      out = path.resolve(argv[++i]);
    } else {
      throw new Error(`unknown argument ${argv[i]}; usage: node compile.mjs [--out DIR]`);
    }
  }
  return out;
}

// findImports resolves library imports ("@openzeppelin/contracts/...") from
// node_modules, and nothing else.
function findImports(importPath) {
  if (!importPath.startsWith('@openzeppelin/contracts/') || importPath.includes('..')) {
    return { error: `import ${importPath}: only @openzeppelin/contracts is allowed` };
  }
  const file = path.join(nodeModules, importPath);
  try {
    return { contents: fs.readFileSync(file, 'utf8') };
  } catch (err) {
    return { error: `import ${importPath}: ${err.message} (run npm ci in contracts/)` };
  }
}

function main() {
  const out = parseArgs(process.argv.slice(2));
  const version = solc.version();
  if (!version.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`solc ${version}, want ${SOLC_VERSION} (run npm ci in contracts/)`);
  }

  const sources = {};
  const outputSelection = {};
  for (const { source, name } of CONTRACTS) {
    sources[source] = { content: fs.readFileSync(path.join(here, source), 'utf8') };
    outputSelection[source] = { [name]: ['abi', 'evm.bytecode.object'] };
  }
  const input = { language: 'Solidity', sources, settings: { ...SETTINGS, outputSelection } };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

  let failed = false;
  for (const e of output.errors ?? []) {
    process.stderr.write(e.formattedMessage ?? `${e.severity}: ${e.message}\n`);
    if (e.severity === 'error') failed = true;
  }
  if (failed) {
    throw new Error('compilation failed');
  }

  fs.mkdirSync(out, { recursive: true });
  for (const { source, name } of CONTRACTS) {
    const c = output.contracts?.[source]?.[name];
    if (!c || !c.evm?.bytecode?.object) {
      throw new Error(`${source}:${name}: no bytecode in compiler output`);
    }
    fs.writeFileSync(path.join(out, `${name}.abi`), JSON.stringify(c.abi, null, 2) + '\n');
    fs.writeFileSync(path.join(out, `${name}.bin`), c.evm.bytecode.object);
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`compile.mjs: ${err.message}\n`);
  process.exit(1);
}
