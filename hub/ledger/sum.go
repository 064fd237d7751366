package ledger

import (
	"fmt"
	"math/big"

	"github.com/tessera-ai/tessera/internal/flop"
)

// Exact sums of credit. A credit row's amount is an INTEGER (one
// execution of one task, far below 2^63 FLOP), but a contributor's or a
// model's sum outgrows 64 bits, where SQLite's SUM fails with "integer
// overflow". So every sum is taken in three 21-bit parts, amount >> 42,
// (amount >> 21) & (2^21-1) and amount & (2^21-1), each summed by SQLite
// as an ordinary integer and joined in Go: a part is below 2^21, so its
// sum overflows only after 2^42 rows (4.4e12 executions) in one group.

// partBits is the width of the two lower parts.
const partBits = 21

// sumOf returns the three SELECT expressions of the exact sum of amount
// over the rows where cond holds ("" for every row).
func sumOf(cond string) string {
	if cond == "" {
		cond = "1"
	}
	return fmt.Sprintf(`COALESCE(SUM(CASE WHEN %[1]s THEN amount >> %[2]d END), 0),
		COALESCE(SUM(CASE WHEN %[1]s THEN (amount >> %[3]d) & %[4]d END), 0),
		COALESCE(SUM(CASE WHEN %[1]s THEN amount & %[4]d END), 0)`, cond, 2*partBits, partBits, 1<<partBits-1)
}

// parts receives the three columns of sumOf.
type parts [3]int64

// dest returns the scan destinations of p's three columns.
func (p *parts) dest() []any { return []any{&p[0], &p[1], &p[2]} }

// amount joins the parts.
func (p *parts) amount() (flop.Amount, error) {
	n := new(big.Int).Lsh(big.NewInt(p[0]), 2*partBits)
	n.Add(n, new(big.Int).Lsh(big.NewInt(p[1]), partBits))
	n.Add(n, big.NewInt(p[2]))
	a, err := flop.FromBig(n)
	if err != nil {
		return flop.Amount{}, fmt.Errorf("credit sum: %w", err)
	}
	return a, nil
}

// sums joins several sums' parts into dst, in order.
func sums(ps []parts, dst ...*flop.Amount) error {
	for i := range dst {
		a, err := ps[i].amount()
		if err != nil {
			return err
		}
		*dst[i] = a
	}
	return nil
}

// scanDest flattens the destinations of ps after the other destinations
// before.
func scanDest(ps []parts, before ...any) []any {
	out := before
	for i := range ps {
		out = append(out, ps[i].dest()...)
	}
	return out
}
