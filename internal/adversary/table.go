package adversary

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tessera-ai/tessera/internal/kernel"
)

// Table formats the report for a person.
func (r *Report) Table() string {
	var b strings.Builder
	tile := "training tiles"
	if r.Shape != (kernel.Shape{}) {
		tile = "tile " + r.Shape.String()
	}
	fmt.Fprintf(&b, "%s, %v, %d tasks completed (%d replicas), %d arbitrations (%v)\n",
		tile, r.Duration.Round(time.Millisecond), r.Completed, r.Replicated, r.Arbitrations, r.ArbitrationTime.Round(time.Microsecond))
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "strategy\tclients\tbad\trefused\trej-later\tdropped\tpending\tcredited\tcaught\tbanned\tdetect\tgood\tgood-refused\tgood-voided\tverified MFLOP\t")
	for _, s := range r.Strategies {
		det := "-"
		if s.Bad > 0 {
			det = s.Detected.Round(time.Microsecond).String()
			if s.Undetected > 0 {
				det = fmt.Sprintf("%d never", s.Undetected)
			}
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t%d\t%s\t%d\t%d\t%d\t%.1f\t\n",
			s.Strategy, s.Contributors, s.Bad, s.Refused, s.RejectedLater, s.Dropped, s.Pending, s.Credited,
			100*s.CaughtRate(), s.Banned, det, s.Good, s.GoodRefused, s.GoodVoided, float64(s.Verified)/1e6)
	}
	w.Flush()
	fmt.Fprintf(&b, "replication: %.2f%% of completed tasks over the run", 100*ratio(r.Replicated, r.Completed))
	if r.SteadyCompleted > 0 {
		fmt.Fprintf(&b, ", %.2f%% in steady state (%d of %d)", 100*ratio(r.SteadyReplicated, r.SteadyCompleted), r.SteadyReplicated, r.SteadyCompleted)
	}
	b.WriteString("\n")
	if r.CheckPerTask > 0 && r.ReferencePerTask > 0 {
		fmt.Fprintf(&b, "hub Freivalds check %v per task vs the product %v on one core (%.2f%%); contributors' device time %v per task\n",
			r.CheckPerTask.Round(time.Microsecond), r.ReferencePerTask.Round(time.Microsecond),
			100*float64(r.CheckPerTask)/float64(r.ReferencePerTask), r.ComputePerTask.Round(time.Microsecond))
	}
	for _, p := range r.Inconsistencies {
		fmt.Fprintf(&b, "INCONSISTENT: %s\n", p)
	}
	if r.LedgerErr != nil {
		fmt.Fprintf(&b, "LEDGER INVARIANT: %v\n", r.LedgerErr)
	}
	return b.String()
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// summaryTable formats one row per strategy from several runs.
func summaryTable(rows []StrategyReport) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "strategy\tbad\trefused\trej-later\tdropped\tpending\tcredited\tcaught\tbanned\tdetect\t")
	for _, s := range rows {
		det := "-"
		if s.Bad > 0 {
			det = s.Detected.Round(time.Microsecond).String()
			if s.Undetected > 0 {
				det = fmt.Sprintf("%d never", s.Undetected)
			}
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f%%\t%d/%d\t%s\t\n", s.Strategy, s.Bad, s.Refused, s.RejectedLater,
			s.Dropped, s.Pending, s.Credited, 100*s.CaughtRate(), s.Banned, s.Contributors, det)
	}
	w.Flush()
	return b.String()
}
