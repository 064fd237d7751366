package e2e

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/tessera-ai/tessera/client/device"
	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/verify"
	"github.com/tessera-ai/tessera/internal/kernel"
)

// float32Roundoff is u for float32 (round to nearest).
const float32Roundoff = 1.0 / (1 << 24)

// errorStats records, per op and shape, how far honest results are from
// the exact product, in the units of the hub's tolerances:
//
//   - sigma: max over elements of |c−exact| / (√K·u·Σ_k|a_ik||b_kj|); the
//     arbiter (verify.Judge) refuses above verify.Lambda;
//   - agree: max over elements of |c−exact| / (Lambda·√K·u·‖A_i‖·‖B_j‖),
//     half of verify.Agree's tolerance: two results that both stay
//     below 1 always agree.
//
// It is safe for concurrent use.
type errorStats struct {
	mu   sync.Mutex
	m    map[string]*opErrors
	errs []string // exact products that could not be computed
}

type opErrors struct {
	n            int
	sigma, agree float64
}

func newErrorStats() *errorStats { return &errorStats{m: map[string]*opErrors{}} }

// add records the result c of task t; it is a MatmulConfig.OnDone.
func (e *errorStats) add(t *hub.Task, c []float32) { e.record(t.Op, t.Shape, t.A, t.B, c) }

func (e *errorStats) record(op kernel.Op, sh kernel.Shape, a, b, c []float32) {
	exact, abs, err := verify.Exact(op, sh, a, b)
	if err != nil {
		e.mu.Lock()
		e.errs = append(e.errs, fmt.Sprintf("%v %v: exact product: %v", op, sh, err))
		e.mu.Unlock()
		return
	}
	rows, cols := verify.Norms(op, sh, a, b)
	rootKu := math.Sqrt(float64(sh.K)) * float32Roundoff
	var sigma, agree float64
	for i := 0; i < sh.M; i++ {
		for j := 0; j < sh.N; j++ {
			idx := i*sh.N + j
			d := math.Abs(float64(c[idx]) - exact[idx])
			if abs[idx] > 0 {
				sigma = max(sigma, d/(rootKu*abs[idx]))
			}
			if n := rows[i] * cols[j]; n > 0 {
				agree = max(agree, d/(verify.Lambda*rootKu*n))
			}
		}
	}
	key := fmt.Sprintf("%v %v", op, sh)
	e.mu.Lock()
	defer e.mu.Unlock()
	o := e.m[key]
	if o == nil {
		o = &opErrors{}
		e.m[key] = o
	}
	o.n++
	o.sigma = max(o.sigma, sigma)
	o.agree = max(o.agree, agree)
}

// problems returns the results that could not be measured.
func (e *errorStats) problems() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.errs...)
}

// String lists the records, one line per op and shape.
func (e *errorStats) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	keys := make([]string, 0, len(e.m))
	for k := range e.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		o := e.m[k]
		fmt.Fprintf(&b, "  %-22s %5d results: max error %5.2f·√K·u·Σ|a||b| (refused above %d), %.3f of half the agreement tolerance\n",
			k, o.n, o.sigma, verify.Lambda, o.agree)
	}
	for _, e := range e.errs {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	return b.String()
}

// measuredDevice is a device whose every result is recorded in stats. It
// sees the blinded operands the hub sent; blinding permutes K and scales
// by powers of two, which changes neither ratio.
type measuredDevice struct {
	device.Device
	stats *errorStats
}

func (d *measuredDevice) Run(ctx context.Context, op kernel.Op, s kernel.Shape, a, b, c []float32) error {
	if err := d.Device.Run(ctx, op, s, a, b, c); err != nil {
		return err
	}
	d.stats.record(op, s, a, b, c)
	return nil
}
