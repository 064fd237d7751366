package hub

import (
	"sync"
	"sync/atomic"

	"github.com/tessera-ai/tessera/hub/metrics"
)

// Wire accounting: how many bytes a job's tasks cost on contributors'
// websockets for the arithmetic it gets out of them.
//
// Bytes are websocket frames as they go over the connection, payload and
// frame header (a contributor's frames also carry a 4-byte mask), for
// every frame that belongs to one of the job's tasks: the task leased, the
// result returned (passing or not) and the verdict. Replicas, requeued
// leases and refused results all count. TCP, TLS and IP headers do not,
// nor do frames that belong to no task (handshake, capacity, pings).
//
// Useful FLOP is the arithmetic of each task counted once, when its first
// passing result reaches the job; a verification replica's execution
// costs bytes and yields no useful FLOP. RATIONALE.md explains the choice.

// WireStats are one job's wire totals since the hub started.
type WireStats struct {
	// BytesDown went from the hub to contributors, BytesUp back.
	BytesDown int64 `json:"bytes_down"`
	BytesUp   int64 `json:"bytes_up"`
	// UsefulFLOPs is the arithmetic of the job's tasks whose results it
	// received, each counted once.
	UsefulFLOPs uint64 `json:"useful_flops"`
}

// BytesPerGFLOP is (BytesDown+BytesUp) per useful GFLOP, or 0 before the
// first result.
func (w WireStats) BytesPerGFLOP() float64 {
	if w.UsefulFLOPs == 0 {
		return 0
	}
	return float64(w.BytesDown+w.BytesUp) / (float64(w.UsefulFLOPs) / 1e9)
}

// jobWire is a job's live counters.
type jobWire struct {
	down, up atomic.Int64
	useful   atomic.Uint64
}

// wireBook holds every job's counters, by job (Task.Job).
type wireBook struct{ jobs sync.Map }

// of returns job's counters, creating them on first use.
func (b *wireBook) of(job string) *jobWire {
	if w, ok := b.jobs.Load(job); ok {
		return w.(*jobWire)
	}
	w, _ := b.jobs.LoadOrStore(job, new(jobWire))
	return w.(*jobWire)
}

// sent counts a frame of payload n to a contributor for job.
func (b *wireBook) sent(job string, n int) { b.of(job).down.Add(int64(wsFrameSize(n, false))) }

// received counts a frame of payload n from a contributor for job.
func (b *wireBook) received(job string, n int) { b.of(job).up.Add(int64(wsFrameSize(n, true))) }

// delivered counts flops of useful arithmetic for job.
func (b *wireBook) delivered(job string, flops int64) { b.of(job).useful.Add(uint64(flops)) }

// stats returns job's totals.
func (b *wireBook) stats(job string) WireStats {
	w, ok := b.jobs.Load(job)
	if !ok {
		return WireStats{}
	}
	jw := w.(*jobWire)
	return WireStats{BytesDown: jw.down.Load(), BytesUp: jw.up.Load(), UsefulFLOPs: jw.useful.Load()}
}

// snapshot returns every job's totals for the metrics.
func (b *wireBook) snapshot() map[string]metrics.Wire {
	out := map[string]metrics.Wire{}
	b.jobs.Range(func(k, v any) bool {
		w := v.(*jobWire)
		out[k.(string)] = metrics.Wire{Down: w.down.Load(), Up: w.up.Load(), UsefulFLOPs: w.useful.Load()}
		return true
	})
	return out
}

// forget drops job's counters.
func (b *wireBook) forget(job string) { b.jobs.Delete(job) }

// wsFrameSize is the size on the connection of a websocket frame with n
// bytes of payload (RFC 6455 §5.2): 2 header bytes, 2 or 8 more for a
// longer length, and a 4-byte mask on frames a client sends.
func wsFrameSize(n int, masked bool) int {
	size := n + 2
	switch {
	case n > 0xffff:
		size += 8
	case n > 125:
		size += 2
	}
	if masked {
		size += 4
	}
	return size
}

// Wire returns job's wire totals since the hub started (zero for a job
// with no task leased yet).
func (h *Hub) Wire(job string) WireStats { return h.wire.stats(job) }

// ForgetWire drops a removed job's wire totals.
func (h *Hub) ForgetWire(job string) { h.wire.forget(job) }
