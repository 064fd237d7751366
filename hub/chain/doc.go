// Package chain puts the ledger's credit on-chain: every epoch, per model
// (job), the Merkle root of every contributor's cumulative verified credit
// goes to the TesseraCredits contract (contracts/), so that anyone can
// check their share against the contract without trusting the hub; beside
// it goes the root of every owner's cumulative earnings from the model's
// revenue (hub/ledger's revenue.go), which owners claim from the
// contract's vault.
//
// Entry points:
//
//   - OpenNode starts the embedded chain: a persistent in-process
//     go-ethereum dev chain in the hub's data directory, mining on every
//     transaction, surviving restarts and SIGKILL (node.go).
//   - Deploy and EnsureContract deploy the contract and record its address
//     (deploy.go).
//   - NewCommitter and (*Committer).Run commit epochs every interval and on
//     CommitNow, reconciling with the chain so that no epoch is committed
//     twice or skipped (committer.go).
//   - ProofHandler serves GET /api/v1/proof (proof.go): credit proofs,
//     and with kind=earnings the proofs owners claim their share of the
//     model's revenue with (proof_earnings.go).
//   - NewVault deposits revenue into the contract's per-model vault and
//     sends, relays and checks claims (claim.go).
//
// On-chain, a model is keccak256 of its job ID (ModelID). The trees are
// built by hub/chain/merkle; the epochs and their leaves are stored by
// hub/ledger before anything is sent.
package chain
