package merkle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/tessera-ai/tessera/contracts"
)

// contractsDir holds merkle-oracle.mjs and its node_modules.
var contractsDir = filepath.Join("..", "..", "..", "contracts")

// maxUint256 is 2^256-1, the largest amount.
var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// randomEntries returns n entries with distinct random accounts and
// amounts of every size, 0 and 2^256-1 included.
func randomEntries(tb testing.TB, seed uint64, n int) []Entry {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, 0x7e55e7a))
	seen := make(map[common.Address]bool, n)
	entries := make([]Entry, 0, n)
	for len(entries) < n {
		var a common.Address
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		if seen[a] {
			continue
		}
		seen[a] = true
		var amount *big.Int
		switch i := len(entries); {
		case i%17 == 3:
			amount = new(big.Int)
		case i%17 == 5:
			amount = new(big.Int).Set(maxUint256)
		default:
			bits := 1 + r.IntN(256)
			var raw [32]byte
			for j := range raw {
				raw[j] = byte(r.Uint32())
			}
			amount = new(big.Int).Rsh(new(big.Int).SetBytes(raw[:]), uint(256-bits))
		}
		entries = append(entries, Entry{Account: a, Amount: amount})
	}
	return entries
}

type oracleOutput struct {
	Root   hexutil.Bytes     `json:"root"`
	Tree   []hexutil.Bytes   `json:"tree"`
	Proofs [][]hexutil.Bytes `json:"proofs"`
}

// oracle runs contracts/merkle-oracle.mjs, @openzeppelin/merkle-tree itself,
// on entries.
func oracle(tb testing.TB, entries []Entry) oracleOutput {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := contracts.InstallNodeModules(ctx, contractsDir); err != nil {
		tb.Fatalf("the JS reference needs contracts/node_modules: %v", err)
	}
	in := make([][2]string, len(entries))
	for i, e := range entries {
		in[i] = [2]string{e.Account.Hex(), e.Amount.String()}
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join(contractsDir, "merkle-oracle.mjs"))
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		tb.Fatalf("merkle-oracle.mjs: %v\n%s", err, stderr.Bytes())
	}
	var out oracleOutput
	if err := json.Unmarshal(stdout, &out); err != nil {
		tb.Fatalf("merkle-oracle.mjs output: %v", err)
	}
	return out
}

func hashesEqual(got [][32]byte, want []hexutil.Bytes) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !bytes.Equal(got[i][:], want[i]) {
			return false
		}
	}
	return true
}

// TestMatchesJS compares root, array layout and every proof with
// StandardMerkleTree.of(entries, ["address", "uint256"]).
func TestMatchesJS(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8, 100, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			entries := randomEntries(t, uint64(n), n)
			want := oracle(t, entries)
			tree, err := Build(entries)
			if err != nil {
				t.Fatal(err)
			}
			root := tree.Root()
			if !bytes.Equal(root[:], want.Root) {
				t.Fatalf("root %x, JS %x", root, want.Root)
			}
			if !hashesEqual(tree.nodes, want.Tree) {
				t.Fatalf("tree layout differs from JS")
			}
			if len(want.Proofs) != n {
				t.Fatalf("JS gave %d proofs for %d entries", len(want.Proofs), n)
			}
			for i, e := range entries {
				proof, err := tree.Proof(e.Account)
				if err != nil {
					t.Fatal(err)
				}
				if !hashesEqual(proof, want.Proofs[i]) {
					t.Fatalf("proof of entry %d: %x, JS %x", i, proof, want.Proofs[i])
				}
				if !Verify(root, e, proof) {
					t.Fatalf("proof of entry %d does not verify", i)
				}
			}
			if total := sum(entries); tree.Total().Cmp(total) != 0 {
				t.Fatalf("total %s, want %s", tree.Total(), total)
			}
		})
	}
}

func sum(entries []Entry) *big.Int {
	s := new(big.Int)
	for _, e := range entries {
		s.Add(s, e.Amount)
	}
	return s
}

func TestVerifyRejects(t *testing.T) {
	entries := randomEntries(t, 42, 100)
	tree, err := Build(entries)
	if err != nil {
		t.Fatal(err)
	}
	root := tree.Root()
	e := entries[7]
	proof := tree.ProofAt(7)
	if !Verify(root, e, proof) {
		t.Fatal("genuine proof does not verify")
	}
	tampered := func(f func(p [][32]byte) [][32]byte) [][32]byte {
		return f(append([][32]byte(nil), proof...))
	}
	plus1 := new(big.Int).Add(e.Amount, big.NewInt(1))
	for _, tc := range []struct {
		name  string
		root  [32]byte
		entry Entry
		proof [][32]byte
	}{
		{"FlippedBit", root, e, tampered(func(p [][32]byte) [][32]byte { p[2][31] ^= 1; return p })},
		{"Truncated", root, e, proof[:len(proof)-1]},
		{"Extended", root, e, append(append([][32]byte(nil), proof...), root)},
		{"Empty", root, e, nil},
		{"Swapped", root, e, tampered(func(p [][32]byte) [][32]byte { p[0], p[1] = p[1], p[0]; return p })},
		{"AmountPlus1", root, Entry{e.Account, plus1}, proof},
		{"OtherAccount", root, Entry{entries[8].Account, e.Amount}, proof},
		{"OtherRoot", tree.nodes[1], e, proof},
		{"NilAmount", root, Entry{e.Account, nil}, proof},
		{"NegativeAmount", root, Entry{e.Account, big.NewInt(-1)}, proof},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if Verify(tc.root, tc.entry, tc.proof) {
				t.Fatal("verified")
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	a, b := common.Address{1}, common.Address{2}
	tooBig := new(big.Int).Lsh(big.NewInt(1), 256)
	for _, tc := range []struct {
		name    string
		entries []Entry
		want    error
	}{
		{"ErrEmpty", nil, ErrEmpty},
		{"ErrDuplicate", []Entry{{a, big.NewInt(1)}, {b, big.NewInt(2)}, {a, big.NewInt(3)}}, ErrDuplicate},
		{"ErrAmountNil", []Entry{{a, big.NewInt(1)}, {b, nil}}, ErrAmount},
		{"ErrAmountNegative", []Entry{{a, big.NewInt(-1)}}, ErrAmount},
		{"ErrAmountTooBig", []Entry{{a, tooBig}}, ErrAmount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Build(tc.entries); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("ErrNotFound", func(t *testing.T) {
		tree, err := Build([]Entry{{a, big.NewInt(1)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tree.Proof(b); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err %v, want ErrNotFound", err)
		}
	})
}

// TestLeafHash pins the leaf encoding to a value computed by hand from
// the definition (and by the JS library in TestMatchesJS).
func TestLeafHash(t *testing.T) {
	e := Entry{common.HexToAddress("0x1111111111111111111111111111111111111111"), big.NewInt(5)}
	got, err := LeafHash(e)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Build([]Entry{e})
	if err != nil {
		t.Fatal(err)
	}
	if got != tree.Root() {
		t.Fatalf("LeafHash %x, single-leaf root %x", got, tree.Root())
	}
	enc := make([]byte, 64)
	copy(enc[12:32], e.Account[:])
	enc[63] = 5
	want := keccak(keccak(enc))
	if !bytes.Equal(got[:], want) {
		t.Fatalf("LeafHash %x, want %x", got, want)
	}
}

func keccak(b []byte) []byte {
	h := newHasher()
	s := h.sum(b)
	return s[:]
}

// BenchmarkBuildAndProve builds a tree and produces every entry's proof,
// the hub's work at the end of an epoch.
func BenchmarkBuildAndProve(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		entries := randomEntries(b, 1, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tree, err := Build(entries)
				if err != nil {
					b.Fatal(err)
				}
				var proof [][32]byte
				for i := range entries {
					proof = tree.AppendProofAt(proof[:0], i)
				}
			}
		})
	}
}

// BenchmarkBuild builds a tree without proofs.
func BenchmarkBuild(b *testing.B) {
	entries := randomEntries(b, 1, 1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(entries); err != nil {
			b.Fatal(err)
		}
	}
}
