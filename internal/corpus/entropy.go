package corpus

import "math"

// UnigramEntropy returns the entropy H(X) in bits per byte of the split's
// byte frequencies: the loss of the best model that ignores context.
func UnigramEntropy(s *Split) float64 {
	var counts [256]int64
	for _, b := range s.Data {
		counts[b]++
	}
	return entropy(counts[:], int64(len(s.Data)))
}

// BigramEntropy returns the conditional entropy H(X[t+1] | X[t]) in bits
// per byte of the split's byte pairs: the loss, on this split, of the best
// model that sees only the previous byte. A language model that does not
// beat it on validation has learnt nothing beyond byte pairs. It is 0 for
// fewer than two bytes.
func BigramEntropy(s *Split) float64 {
	d := s.Data
	if len(d) < 2 {
		return 0
	}
	pairs := make([]int64, 256*256)
	for i := 1; i < len(d); i++ {
		pairs[int(d[i-1])<<8|int(d[i])]++
	}
	// H(next | prev) = H(prev, next) - H(prev), both over the len-1 pairs.
	var prev [256]int64
	for i, c := range pairs {
		prev[i>>8] += c
	}
	n := int64(len(d) - 1)
	return max(0, entropy(pairs, n)-entropy(prev[:], n))
}

// entropy returns -Σ p log2 p for p = counts[i]/n.
func entropy(counts []int64, n int64) float64 {
	if n == 0 {
		return 0
	}
	// Σ (c/n) log2(n/c) = log2 n - (1/n) Σ c log2 c.
	var sum float64
	for _, c := range counts {
		if c > 0 {
			sum += float64(c) * math.Log2(float64(c))
		}
	}
	return math.Log2(float64(n)) - sum/float64(n)
}
