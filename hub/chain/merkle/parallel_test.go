package merkle

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"testing"
)

// naiveTree lays out the tree serially, line by line as the JS library's
// makeMerkleTree does, and returns its nodes and each entry's node index.
func naiveTree(tb testing.TB, entries []Entry) ([][32]byte, []int) {
	tb.Helper()
	n := len(entries)
	hashes := make([][32]byte, n)
	order := make([]int, n)
	for i, e := range entries {
		h, err := LeafHash(e)
		if err != nil {
			tb.Fatal(err)
		}
		hashes[i], order[i] = h, i
	}
	slices.SortStableFunc(order, func(a, b int) int { return bytes.Compare(hashes[a][:], hashes[b][:]) })
	m := 2*n - 1
	nodes := make([][32]byte, m)
	pos := make([]int, n)
	for k, i := range order {
		nodes[m-1-k] = hashes[i]
		pos[i] = m - 1 - k
	}
	h := newHasher()
	for i := m - 1 - n; i >= 0; i-- {
		nodes[i] = h.node(&nodes[2*i+1], &nodes[2*i+2])
	}
	return nodes, pos
}

// TestParallelMatchesSerial covers the sizes and CPU counts where chunking,
// the merge of sorted runs (odd run counts included) and the depth-by-depth
// hashing change shape; TestMatchesJS ties the serial layout to the JS
// library.
func TestParallelMatchesSerial(t *testing.T) {
	sizes := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
		minChunk - 1, minChunk, 2*minChunk - 1, 2 * minChunk, 2*minChunk + 1, 5*minChunk + 3}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3, 5} {
		runtime.GOMAXPROCS(procs)
		for _, n := range sizes {
			t.Run(fmt.Sprintf("procs=%d/n=%d", procs, n), func(t *testing.T) {
				entries := randomEntries(t, uint64(n), n)
				tree, err := Build(entries)
				if err != nil {
					t.Fatal(err)
				}
				nodes, pos := naiveTree(t, entries)
				if !slices.Equal(tree.nodes, nodes) {
					t.Fatal("nodes differ from the serial layout")
				}
				for i := range entries {
					if int(tree.pos[i]) != pos[i] {
						t.Fatalf("entry %d at node %d, serial layout %d", i, tree.pos[i], pos[i])
					}
					if j, ok := tree.Index(entries[i].Account); !ok || j != i {
						t.Fatalf("Index of entry %d: %d, %v", i, j, ok)
					}
				}
				if total := sum(entries); tree.Total().Cmp(total) != 0 {
					t.Fatalf("total %s, want %s", tree.Total(), total)
				}
			})
		}
	}
}

func TestParallelSort(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3, 4, 7} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2*minChunk - 1, 3*minChunk + 7, 40_000} {
			s := make([]int, n)
			for i := range s {
				s[i] = (i * 7919) % (n/3 + 1) // duplicates included
			}
			want := slices.Clone(s)
			slices.Sort(want)
			parallelSort(s, func(a, b int) int { return a - b })
			if !slices.Equal(s, want) {
				t.Fatalf("procs=%d n=%d: not sorted", procs, n)
			}
		}
	}
}
