package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tessera-ai/tessera/hub/train/tile"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// stageTimer is an Executor that times every batch of tiles another
// executor computes, from Start until the batch completes. A batch is one
// stage of a step's DAG: one layer's forward, input gradient or weight
// gradient.
type stageTimer struct {
	inner tile.Executor

	mu     sync.Mutex
	wg     sync.WaitGroup
	stages map[string]*stageStat
	order  []string
}

type stageStat struct {
	n     int
	total time.Duration
	tiles int
	flops float64
}

func newStageTimer(inner tile.Executor) *stageTimer {
	return &stageTimer{inner: inner, stages: map[string]*stageStat{}}
}

// Start implements tile.Executor.
func (st *stageTimer) Start(ctx context.Context, tiles []*tile.Tile) *tile.Batch {
	began := time.Now()
	b := st.inner.Start(ctx, tiles)
	key := stageName(tiles)
	var flops float64
	for _, t := range tiles {
		flops += 2 * float64(t.Shape.M) * float64(t.Shape.K) * float64(t.Shape.N)
	}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		if b.Wait(ctx) != nil {
			return
		}
		took := time.Since(began)
		st.mu.Lock()
		defer st.mu.Unlock()
		s := st.stages[key]
		if s == nil {
			s = &stageStat{tiles: len(tiles), flops: flops}
			st.stages[key] = s
			st.order = append(st.order, key)
		}
		s.n++
		s.total += took
	}()
	return b
}

// stageName names a batch by its role and tile shape, e.g.
// "fwd 128x784x32 ×8".
func stageName(tiles []*tile.Tile) string {
	role := "?"
	switch tiles[0].Op {
	case kernel.MatMulNN:
		role = "fwd"
	case kernel.MatMulNT:
		role = "dX"
	case kernel.MatMulTN:
		role = "dW"
	}
	s := tiles[0].Shape
	return fmt.Sprintf("%s %dx%dx%d ×%d", role, s.M, s.K, s.N, len(tiles))
}

// stageMeans returns the mean latency of each stage, by name.
func (st *stageTimer) stageMeans() map[string]time.Duration {
	st.wg.Wait()
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]time.Duration{}
	for k, s := range st.stages {
		out[k] = s.total / time.Duration(s.n)
	}
	return out
}

// stageTable formats the mean stage latencies of several runs side by
// side, in the first run's order of first appearance; critical marks the
// stages a step waits for in sequence (forward and input gradient).
func stageTable(names []string, runs []*stageTimer) string {
	means := make([]map[string]time.Duration, len(runs))
	for i, r := range runs {
		means[i] = r.stageMeans()
	}
	first := runs[0]
	first.mu.Lock()
	keys := append([]string(nil), first.order...)
	flops := map[string]float64{}
	for k, s := range first.stages {
		flops[k] = s.flops
	}
	first.mu.Unlock()
	sort.SliceStable(keys, func(i, j int) bool { return stageRank(keys[i]) < stageRank(keys[j]) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-24s %9s", "stage (mean latency)", "MFLOP")
	for _, n := range names {
		fmt.Fprintf(&sb, " %12s", n)
	}
	sb.WriteString("\n")
	crit := make([]time.Duration, len(runs))
	for _, k := range keys {
		fmt.Fprintf(&sb, "%-24s %9.1f", k, flops[k]/1e6)
		for i := range runs {
			fmt.Fprintf(&sb, " %10.1fms", float64(means[i][k].Microseconds())/1000)
			if !strings.HasPrefix(k, "dW") {
				crit[i] += means[i][k]
			}
		}
		sb.WriteString("\n")
	}
	fmt.Fprintf(&sb, "%-24s %9s", "Σ fwd+dX (critical path)", "")
	for i := range runs {
		fmt.Fprintf(&sb, " %10.1fms", float64(crit[i].Microseconds())/1000)
	}
	sb.WriteString("\n")
	return sb.String()
}

// stageRank orders forward stages before input gradients before weight
// gradients.
func stageRank(k string) int {
	switch {
	case strings.HasPrefix(k, "fwd"):
		return 0
	case strings.HasPrefix(k, "dX"):
		return 1
	}
	return 2
}
