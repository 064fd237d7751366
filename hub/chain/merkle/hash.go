package merkle

import (
	"bytes"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Entry is one leaf: an account and its cumulative verified credit.
type Entry struct {
	Account common.Address
	Amount  *big.Int // 0 ≤ Amount < 2^256
}

// hasher hashes leaves and nodes with one reusable Keccak-256 state; it is
// not safe for concurrent use (Build gives each worker its own).
type hasher struct {
	k   crypto.KeccakState
	buf [64]byte
	out [32]byte // Read's target: a local would escape and cost an allocation
}

func newHasher() *hasher { return &hasher{k: crypto.NewKeccakState()} }

func (h *hasher) sum(data []byte) [32]byte {
	h.k.Reset()
	h.k.Write(data)
	h.k.Read(h.out[:])
	return h.out
}

// leaf returns keccak256(keccak256(abi.encode(account, amount))) for an
// amount already encoded as 32 big-endian bytes.
func (h *hasher) leaf(account common.Address, amount *[32]byte) [32]byte {
	clear(h.buf[:12])
	copy(h.buf[12:32], account[:])
	copy(h.buf[32:], amount[:])
	h.sum(h.buf[:])
	return h.sum(h.out[:])
}

// node returns keccak256 of the two hashes concatenated in ascending order,
// as OpenZeppelin's Hashes.commutativeKeccak256 and the JS library's
// standardNodeHash do.
func (h *hasher) node(a, b *[32]byte) [32]byte {
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	copy(h.buf[:32], a[:])
	copy(h.buf[32:], b[:])
	return h.sum(h.buf[:])
}

// encodeAmount returns amount as the 32 big-endian bytes of abi.encode's
// uint256, or an error if it is nil, negative or 2^256 or more.
func encodeAmount(amount *big.Int) (out [32]byte, err error) {
	switch {
	case amount == nil:
		return out, fmt.Errorf("%w: nil", ErrAmount)
	case amount.Sign() < 0:
		return out, fmt.Errorf("%w: %s is negative", ErrAmount, amount)
	case amount.BitLen() > 256:
		return out, fmt.Errorf("%w: %s does not fit in uint256", ErrAmount, amount)
	}
	amount.FillBytes(out[:])
	return out, nil
}

// LeafHash returns the leaf of e as StandardMerkleTree and the contract
// compute it: keccak256(bytes.concat(keccak256(abi.encode(account, amount)))).
func LeafHash(e Entry) ([32]byte, error) {
	amount, err := encodeAmount(e.Amount)
	if err != nil {
		return [32]byte{}, err
	}
	return newHasher().leaf(e.Account, &amount), nil
}

// Verify reports whether proof shows that e is a leaf of the tree with
// root. It accepts exactly the proofs the contract's verify accepts.
func Verify(root [32]byte, e Entry, proof [][32]byte) bool {
	amount, err := encodeAmount(e.Amount)
	if err != nil {
		return false
	}
	h := newHasher()
	node := h.leaf(e.Account, &amount)
	for i := range proof {
		node = h.node(&node, &proof[i])
	}
	return node == root
}
