package main

import (
	"fmt"
	"io"
	"math"
	"time"
)

// Issue 7's goals for this load.
const (
	goalHubMemory = 1 << 30               // bytes of resident memory
	goalLeaseP99  = 50 * time.Millisecond // lease latency, 99th percentile
)

// Report is what one run measured.
type Report struct {
	Config Config

	// FDSoft and FDHard are the load generator's RLIMIT_NOFILE after
	// raising it; HubNoFile is the hub process's soft limit.
	FDSoft, FDHard, HubNoFile uint64
	// ConnectTook is from the first dial until the hub counted everyone.
	ConnectTook time.Duration
	// Connected is the hub's session count at the end of the window.
	Connected int
	// Elapsed is the window's actual length.
	Elapsed time.Duration

	// Latencies are the lease latencies of requests for work made in the
	// window (a hello's slots or a result sent, until the task that fills
	// the slot arrives), sorted.
	Latencies []time.Duration
	// Unanswered counts requests made in the window that no task answered
	// before the connections closed.
	Unanswered int
	// Sent counts results the active contributors sent in the window;
	// Verified counts the hub's accepted results in it.
	Sent, Verified int64
	// Refused counts results the hub did not accept.
	Refused     int64
	LastRefusal string
	// Dropped counts connections that ended before the run closed them;
	// DropErrors gives the first few reasons.
	Dropped    int
	DropErrors error

	// The hub's resident memory: the largest sample in the window, at its
	// end, and the process's peak (VmHWM, connecting included).
	HubRSSMax, HubRSSEnd, HubRSSPeak int64
	// The hub's Go runtime at the window's end.
	HubHeapInuse, HubStackInuse, HubGoSys int64
	HubGoroutines                         int
	// CPU used in the window, in cores: the hub, this load generator and
	// everything else on the machine, which has Cores cores.
	HubCPU, LoadCPU, OtherCPU float64
	Cores                     int
}

// measured fills in the figures read at the window's edges.
func (r *Report) measured(before, after snapshot) {
	r.Elapsed = after.at.Sub(before.at)
	secs := r.Elapsed.Seconds()
	r.Verified = int64(after.metrics["tessera_tasks_completed_total"] - before.metrics["tessera_tasks_completed_total"])
	r.Connected = int(after.metrics["tessera_connections"])
	r.HubHeapInuse = int64(after.metrics["go_memstats_heap_inuse_bytes"])
	r.HubStackInuse = int64(after.metrics["go_memstats_stack_inuse_bytes"])
	r.HubGoSys = int64(after.metrics["go_memstats_sys_bytes"])
	r.HubGoroutines = int(after.metrics["go_goroutines"])
	hub := (after.hubCPU - before.hubCPU).Seconds()
	load := (after.loadCPU - before.loadCPU).Seconds()
	all := (after.machineCPU - before.machineCPU).Seconds()
	r.HubCPU, r.LoadCPU = hub/secs, load/secs
	r.OtherCPU = max(0, all-hub-load) / secs
	r.Cores = after.cores
}

// Lease returns the q-quantile (0 ≤ q ≤ 1) of the lease latencies by the
// nearest-rank method, or 0 when there are none.
func (r *Report) Lease(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	// The rank is ⌈q·n⌉; the epsilon keeps 0.99·200 from rounding up to 199.
	rank := int(math.Ceil(q*float64(n) - 1e-9))
	return r.Latencies[min(max(rank, 1), n)-1]
}

// TasksPerSecond returns the results sent and verified per second.
func (r *Report) TasksPerSecond() (sent, verified float64) {
	s := r.Elapsed.Seconds()
	if s <= 0 {
		return 0, 0
	}
	return float64(r.Sent) / s, float64(r.Verified) / s
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT MET"
}

// Print writes the report for a person.
func (r *Report) Print(w io.Writer) {
	c := r.Config
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
	sources := fmt.Sprint(c.SourceIPs)
	if c.SourceIPs == 0 {
		sources = "one per contributor"
	}
	fmt.Fprintf(w, "\ntessera-load: %d idle + %d active contributors (%d slot(s) each, think %v) on loopback, source addresses: %s; %v tasks; per-IP limits %v; chain %v\n",
		c.Idle, c.Active, c.Slots, c.Think, sources, c.Shape, c.Limits, c.Chain)
	fmt.Fprintf(w, "  connected      %d in %v; measured %v after a %v warm-up\n", r.Connected, r.ConnectTook.Round(time.Millisecond), r.Elapsed.Round(time.Millisecond), c.Warmup)
	fmt.Fprintf(w, "  lease latency  p50 %s  p90 %s  p99 %s  max %s over %d leases, %d unanswered (goal p99 ≤ %v: %s)\n",
		ms(r.Lease(0.5)), ms(r.Lease(0.9)), ms(r.Lease(0.99)), ms(r.Lease(1)), len(r.Latencies), r.Unanswered,
		goalLeaseP99, met(len(r.Latencies) > 0 && r.Lease(0.99) <= goalLeaseP99))
	sent, verified := r.TasksPerSecond()
	fmt.Fprintf(w, "  tasks          %.0f/s computed and sent, %.0f/s accepted by the hub; %d refused\n", sent, verified, r.Refused)
	fmt.Fprintf(w, "  hub memory     RSS %s max in the window, %s at its end, %s peak (VmHWM) (goal ≤ 1 GiB: %s)\n",
		mib(r.HubRSSMax), mib(r.HubRSSEnd), mib(r.HubRSSPeak), met(r.HubRSSPeak <= goalHubMemory))
	fmt.Fprintf(w, "  hub Go runtime heap in use %s, stacks %s, obtained from the OS %s; %d goroutines\n",
		mib(r.HubHeapInuse), mib(r.HubStackInuse), mib(r.HubGoSys), r.HubGoroutines)
	fmt.Fprintf(w, "  CPU            hub %.2f cores, load generator %.2f, everything else %.2f, of %d\n", r.HubCPU, r.LoadCPU, r.OtherCPU, r.Cores)
	fmt.Fprintf(w, "  fd limit       %d here (hard %d), %d in the hub process\n", r.FDSoft, r.FDHard, r.HubNoFile)
	if r.Refused > 0 {
		fmt.Fprintf(w, "  last refusal   %s\n", r.LastRefusal)
	}
	if r.Dropped > 0 {
		fmt.Fprintf(w, "  DROPPED        %d connections ended early: %v\n", r.Dropped, r.DropErrors)
	}
}
