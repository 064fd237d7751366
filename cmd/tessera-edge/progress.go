package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/tessera-ai/tessera/client"
	"github.com/tessera-ai/tessera/client/hubapi"
)

// creditEvery bounds how often the progress line asks the hub for the
// ledger's credit: the credits endpoint lists every contributor of a
// model, so thousands of edges asking every few seconds would be a load.
const creditEvery = 30 * time.Second

// progressReporter writes a progress line every interval: tasks per
// second over the interval and since the start, GFLOP/s, verdicts, the
// credit the hub's ledger holds for the address (summed over the models)
// and the jobs chosen; it warns when the hub knows some chosen job by no
// name.
type progressReporter struct {
	c       *client.Client
	api     *hubapi.API
	address string
	log     *slog.Logger
	human   bool      // a terminal: one readable line instead of a log record
	out     io.Writer // where human lines go

	credit     hubapi.Credit // summed over the hub's models
	creditOK   bool
	creditAt   time.Time
	creditNote string // why the credit is unknown, logged once per change
}

func (p *progressReporter) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	prev, prevAt := p.c.Stats(), time.Now()
	// What was last warned about starts empty rather than at prev: the
	// hub's answer to the choice of jobs may arrive before this loop
	// starts, and must still be reported once.
	var refusal, note string
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s := p.c.Stats()
			p.refreshCredit(ctx, now)
			p.line(s, prev, now.Sub(prevAt), now)
			if s.LastRefusal != refusal && s.LastRefusal != "" {
				p.log.Warn("last refusal", "reason", s.LastRefusal)
			}
			if s.JobsNote != note && s.JobsNote != "" {
				p.log.Warn("chosen jobs", "note", s.JobsNote)
			}
			refusal, note = s.LastRefusal, s.JobsNote
			prev, prevAt = s, now
		}
	}
}

// refreshCredit asks the hub for the address's credit in every model, at
// most once per creditEvery.
func (p *progressReporter) refreshCredit(ctx context.Context, now time.Time) {
	if !p.creditAt.IsZero() && now.Sub(p.creditAt) < creditEvery {
		return
	}
	p.creditAt = now
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var sum hubapi.Credit
	models, err := p.api.Models(ctx)
	for _, m := range models {
		if err != nil {
			break
		}
		var c hubapi.Credit
		c, err = p.api.Credit(ctx, m, p.address)
		sum.Verified, _ = sum.Verified.Add(c.Verified) // sums below 2^256 FLOP
		sum.Pending, _ = sum.Pending.Add(c.Pending)
		sum.Rejected, _ = sum.Rejected.Add(c.Rejected)
	}
	if err != nil {
		p.creditOK = false
		if note := err.Error(); note != p.creditNote {
			p.creditNote = note
			p.log.Debug("cannot read credit from the hub", "err", err)
		}
		return
	}
	// Until the hub lists a model (the built-in matmul job appears only
	// once an epoch is committed), the ledger's figure would read as zero.
	p.credit, p.creditOK, p.creditNote = sum, len(models) > 0, ""
}

// line writes one progress line for the interval dt ending at now.
func (p *progressReporter) line(s, prev client.Stats, dt time.Duration, now time.Time) {
	sec := max(dt.Seconds(), 1e-9)
	rate := float64(s.TasksDone-prev.TasksDone) / sec
	avg := 0.0
	if up := now.Sub(s.Since).Seconds(); up > 0 {
		avg = float64(s.TasksDone) / up
	}
	gflops := (s.FLOPs - prev.FLOPs) / sec / 1e9
	if p.human {
		credit := "accepted " + flops(s.AcceptedFLOPs)
		if p.creditOK {
			credit += fmt.Sprintf("; ledger %s verified, %s pending", flops(p.credit.Verified.Float64()), flops(p.credit.Pending.Float64()))
		}
		fmt.Fprintf(p.out, "%s  %-9s %6.1f tasks/s (%.1f avg)  %6.2f GFLOP/s  %d done, %d accepted, %d refused, %d held  %s  jobs: %s\n",
			now.Format("15:04:05"), s.State, rate, avg, gflops, s.TasksDone, s.Accepted, s.Refused, s.Held, credit, jobsText(s.Jobs))
		return
	}
	attrs := []any{"state", string(s.State),
		"tasks_per_s", round(rate), "tasks_per_s_avg", round(avg), "gflops", round(gflops),
		"done", s.TasksDone, "accepted", s.Accepted, "refused", s.Refused, "held", s.Held,
		"accepted_gflop", round(s.AcceptedFLOPs / 1e9), "jobs", jobsText(s.Jobs)}
	if p.creditOK {
		attrs = append(attrs, "credit_verified_gflop", round(p.credit.Verified.Float64()/1e9),
			"credit_pending_gflop", round(p.credit.Pending.Float64()/1e9))
	}
	p.log.Info("progress", attrs...)
}

// round keeps three decimals, enough for a log line.
func round(x float64) float64 { return math.Round(x*1000) / 1000 }

// flops formats a FLOP count with a unit a person reads at a glance.
func flops(f float64) string {
	switch {
	case f >= 1e15:
		return fmt.Sprintf("%.2f PFLOP", f/1e15)
	case f >= 1e12:
		return fmt.Sprintf("%.2f TFLOP", f/1e12)
	case f >= 1e9:
		return fmt.Sprintf("%.2f GFLOP", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.2f MFLOP", f/1e6)
	}
	return fmt.Sprintf("%.0f FLOP", f)
}
