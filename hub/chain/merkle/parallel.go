package merkle

import (
	"runtime"
	"slices"
	"sync"
)

// minChunk is the least work worth a goroutine: a few thousand hashes.
const minChunk = 4096

// parallel calls f on disjoint chunks [lo, hi) covering [0, n), one per
// CPU, and returns the first error by chunk order.
func parallel(n int, f func(lo, hi int) error) error {
	workers := max(1, min(runtime.GOMAXPROCS(0), n/minChunk))
	if workers == 1 {
		return f(0, n)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() { errs[w] = f(lo, hi) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parallelSort sorts s by cmp: each CPU sorts a chunk, then pairs of
// sorted runs are merged, in parallel, until one run is left.
func parallelSort[T any](s []T, cmp func(a, b T) int) {
	workers := max(1, min(runtime.GOMAXPROCS(0), len(s)/minChunk))
	if workers == 1 {
		slices.SortFunc(s, cmp)
		return
	}
	bounds := make([]int, workers+1)
	for w := range bounds {
		bounds[w] = len(s) * w / workers
	}
	var wg sync.WaitGroup
	for w := range workers {
		run := s[bounds[w]:bounds[w+1]]
		wg.Go(func() { slices.SortFunc(run, cmp) })
	}
	wg.Wait()

	src, dst := s, make([]T, len(s))
	for len(bounds) > 2 {
		next := []int{0}
		for i := 0; i+1 < len(bounds); i += 2 {
			lo, mid := bounds[i], bounds[i+1]
			if i+2 == len(bounds) { // odd run out: carried over as is
				copy(dst[lo:mid], src[lo:mid])
				next = append(next, mid)
				continue
			}
			hi := bounds[i+2]
			wg.Go(func() { merge(dst[lo:hi], src[lo:mid], src[mid:hi], cmp) })
			next = append(next, hi)
		}
		wg.Wait()
		bounds, src, dst = next, dst, src
	}
	if &src[0] != &s[0] {
		copy(s, src)
	}
}

// merge merges the sorted runs a and b into dst (len(a)+len(b) long).
func merge[T any](dst, a, b []T, cmp func(a, b T) int) {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		if cmp(b[j], a[i]) < 0 {
			dst[k] = b[j]
			j++
		} else {
			dst[k] = a[i]
			i++
		}
		k++
	}
	k += copy(dst[k:], a[i:])
	copy(dst[k:], b[j:])
}
