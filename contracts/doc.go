// Package contracts holds Tessera's Solidity contracts and what is
// generated from them, all committed:
//
//   - src/TesseraCredits.sol: per model and epoch, the Merkle root of every
//     contributor's cumulative verified credit (see hub/chain/merkle);
//   - build/TesseraCredits.abi and .bin: compiled by compile.mjs with the
//     solc-js pinned in package-lock.json, settings pinned in the script;
//   - bindings/: Go bindings generated from them by abigen (v2);
//   - src/test/ReentrantClaimer.sol and its build/ files: a test-only
//     attacker that re-enters the vault while being paid
//     (reentrancy_test.go); never deployed by the hub, no binding.
//
// generate.sh (run by `make contracts`) regenerates the last two;
// contracts_test.go runs it into a temporary directory and fails if
// anything differs from the committed files, then exercises the contract on
// go-ethereum's simulated chain with trees from hub/chain/merkle.
//
// The Go package itself only offers InstallNodeModules, which tests (here
// and in hub/chain/merkle) call before running node.
package contracts
