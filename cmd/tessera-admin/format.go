package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tessera-ai/tessera/internal/flop"
)

// table writes aligned columns: a header row, then rows of cells.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(toAny(header)...)
	}
	return t
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// row writes one row; cells are formatted with %v.
func (t *table) row(cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(t.tw, strings.Join(parts, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// flops formats an amount of floating-point operations with an SI prefix.
func flops(n float64) string {
	units := []string{"", "k", "M", "G", "T", "P", "E", "Z", "Y"}
	i := 0
	for math.Abs(n) >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f FLOP", n)
	}
	return fmt.Sprintf("%.3g %sFLOP", n, units[i])
}

// amount formats an exact amount of floating-point operations like flops.
func amount(a flop.Amount) string { return flops(a.Float64()) }

// percent formats a fraction as a percentage.
func percent(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }

// ago formats how long ago t was, or "-" for the zero time.
func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	if d < 0 {
		d = 0
	}
	return roundDuration(d) + " ago"
}

// roundDuration shortens d to the precision a person reads.
func roundDuration(d time.Duration) string {
	if d < time.Hour {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

// short abbreviates a long hex string (hashes, roots) for tables.
func short(s string) string {
	if len(s) <= 14 {
		return s
	}
	return s[:8] + "…" + s[len(s)-4:]
}

// orDash prints "-" for an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
