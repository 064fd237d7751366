// Package merkle builds the credit trees the hub commits on-chain every
// epoch: one leaf per contributor, (account, cumulative verified credit),
// in the format of @openzeppelin/merkle-tree's StandardMerkleTree with leaf
// encoding ["address", "uint256"], so that the roots and proofs it makes
// are byte for byte those of the JS library and verify in the
// TesseraCredits contract (contracts/) through OpenZeppelin's MerkleProof.
//
// Entry points: Build makes a Tree from entries; Tree.Root is the value to
// commit; Tree.Proof (or ProofAt, AppendProofAt for bulk export) gives a
// contributor's proof; Verify checks one off-chain, as the contract does.
//
// The format: leaf = keccak256(keccak256(abi.encode(account, amount))), an
// inner node hashes its two children in ascending order, the leaves are
// sorted by hash and the tree is the complete binary tree the JS library
// lays out in an array (see Tree). merkle_test.go checks all of it against
// the JS library itself (contracts/merkle-oracle.mjs).
package merkle
