package merkle

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"
)

// Errors returned by Build and Proof.
var (
	ErrEmpty     = errors.New("merkle: no entries")
	ErrDuplicate = errors.New("merkle: duplicate account")
	ErrAmount    = errors.New("merkle: amount out of uint256 range")
	ErrTooMany   = errors.New("merkle: too many entries")
	ErrNotFound  = errors.New("merkle: account not in tree")
)

// maxEntries keeps node indices within int32.
const maxEntries = 1 << 30

// Tree is a built credit tree. It is immutable, so safe for concurrent use.
//
// Layout (as @openzeppelin/merkle-tree's makeMerkleTree): an array of
// 2n-1 nodes, root at 0, the children of node i at 2i+1 and 2i+2, and the
// leaves, sorted ascending by hash, stored from the end backwards: the k-th
// smallest leaf at index 2n-2-k.
type Tree struct {
	nodes    [][32]byte
	pos      []int32       // entry index → node index of its leaf
	accounts []accountSlot // sorted by account, for Proof
	total    *big.Int
}

type sortLeaf struct {
	hash  [32]byte
	entry int32
}

type accountSlot struct {
	account common.Address
	entry   int32
}

// Build builds the tree of entries, which must name distinct accounts. The
// result equals StandardMerkleTree.of(entries, ["address", "uint256"]) of
// @openzeppelin/merkle-tree (default options): same root, same proofs.
// It hashes and sorts on every CPU.
func Build(entries []Entry) (*Tree, error) {
	n := len(entries)
	switch {
	case n == 0:
		return nil, ErrEmpty
	case n > maxEntries:
		return nil, fmt.Errorf("%w: %d, at most %d", ErrTooMany, n, maxEntries)
	}

	leaves := make([]sortLeaf, n)
	accounts := make([]accountSlot, n)
	total := new(big.Int)
	var mu sync.Mutex // guards total
	err := parallel(n, func(lo, hi int) error {
		h := newHasher()
		sum := new(big.Int)
		for i := lo; i < hi; i++ {
			e := &entries[i]
			amount, err := encodeAmount(e.Amount)
			if err != nil {
				return fmt.Errorf("entry %d (%s): %w", i, e.Account, err)
			}
			sum.Add(sum, e.Amount)
			leaves[i] = sortLeaf{h.leaf(e.Account, &amount), int32(i)}
			accounts[i] = accountSlot{e.Account, int32(i)}
		}
		mu.Lock()
		total.Add(total, sum)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}

	parallelSort(accounts, compareAccounts)
	for k := 1; k < n; k++ {
		if a, b := accounts[k-1], accounts[k]; a.account == b.account {
			return nil, fmt.Errorf("%w: %s at %d and %d", ErrDuplicate, a.account, min(a.entry, b.entry), max(a.entry, b.entry))
		}
	}
	// Leaf hashes are distinct because accounts are, so the order is the
	// JS library's whatever its sort's stability.
	parallelSort(leaves, compareLeaves)

	m := 2*n - 1
	t := &Tree{nodes: make([][32]byte, m), pos: make([]int32, n), accounts: accounts, total: total}
	for k, l := range leaves {
		t.nodes[m-1-k] = l.hash
		t.pos[l.entry] = int32(m - 1 - k)
	}
	t.hashInner(n)
	return t, nil
}

// compareLeaves orders by hash as big-endian numbers, the JS library's
// compare; the first 8 bytes almost always decide.
func compareLeaves(a, b sortLeaf) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a.hash[:8]), binary.BigEndian.Uint64(b.hash[:8])); c != 0 {
		return c
	}
	return bytes.Compare(a.hash[8:], b.hash[8:])
}

func compareAccounts(a, b accountSlot) int { return bytes.Compare(a.account[:], b.account[:]) }

// hashInner fills the inner nodes 0..n-2 one depth at a time, deepest first:
// the nodes of one depth depend only on the depth below, so each depth is
// hashed in parallel.
func (t *Tree) hashInner(n int) {
	last := n - 2 // highest inner node index
	if last < 0 {
		return
	}
	first := 1
	for first*2-1 <= last {
		first *= 2
	}
	// first-1 is now the lowest index of the deepest depth holding inner nodes.
	for lo := first - 1; ; lo = (lo+1)/2 - 1 {
		hi := min(2*lo+1, last+1) // exclusive
		_ = parallel(hi-lo, func(a, b int) error {
			h := newHasher()
			for i := lo + a; i < lo+b; i++ {
				t.nodes[i] = h.node(&t.nodes[2*i+1], &t.nodes[2*i+2])
			}
			return nil
		})
		if lo == 0 {
			return
		}
	}
}

// Root returns the root, the value the contract stores.
func (t *Tree) Root() [32]byte { return t.nodes[0] }

// Len returns the number of entries.
func (t *Tree) Len() int { return len(t.pos) }

// Total returns the sum of every entry's amount.
func (t *Tree) Total() *big.Int { return new(big.Int).Set(t.total) }

// Index returns the position of account in the entries given to Build.
func (t *Tree) Index(account common.Address) (int, bool) {
	k, ok := slices.BinarySearchFunc(t.accounts, account, func(s accountSlot, a common.Address) int {
		return bytes.Compare(s.account[:], a[:])
	})
	if !ok {
		return 0, false
	}
	return int(t.accounts[k].entry), true
}

// Proof returns the proof of account's entry: sibling hashes from its leaf
// up to the root, the proof getProof of the JS library returns.
func (t *Tree) Proof(account common.Address) ([][32]byte, error) {
	i, ok := t.Index(account)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, account)
	}
	return t.ProofAt(i), nil
}

// ProofAt returns the proof of entries[i] (as given to Build). It panics if
// i is out of range.
func (t *Tree) ProofAt(i int) [][32]byte {
	return t.AppendProofAt(make([][32]byte, 0, t.depth()), i)
}

// AppendProofAt appends the proof of entries[i] to dst and returns it:
// proving every entry into one reused buffer allocates nothing.
func (t *Tree) AppendProofAt(dst [][32]byte, i int) [][32]byte {
	for j := int(t.pos[i]); j > 0; j = (j - 1) / 2 {
		sibling := j + 1
		if j%2 == 0 {
			sibling = j - 1
		}
		dst = append(dst, t.nodes[sibling])
	}
	return dst
}

// depth returns the length of the longest proof.
func (t *Tree) depth() int {
	d := 0
	for j := len(t.nodes) - 1; j > 0; j = (j - 1) / 2 {
		d++
	}
	return d
}
