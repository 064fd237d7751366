package ledger

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/internal/flop"
)

// Balance is one contributor's credit in one model, by state, in exact
// FLOPs (JSON: decimal strings).
type Balance struct {
	Address  string      `json:"address"`
	Verified flop.Amount `json:"verified"`
	Pending  flop.Amount `json:"pending"`
	Rejected flop.Amount `json:"rejected"`
}

// Balances returns every contributor's credit in model, largest verified
// first. Everything is summed from the credit rows.
func (l *Ledger) Balances(ctx context.Context, model string) ([]Balance, error) {
	rows, err := l.db.QueryContext(ctx, `
		SELECT address, `+sumOf("state = 'verified'")+`, `+sumOf("state = 'pending'")+`, `+sumOf("state = 'rejected'")+`
		FROM credits WHERE model = ? GROUP BY address`, model)
	if err != nil {
		return nil, fmt.Errorf("ledger balances: %w", err)
	}
	defer rows.Close()
	out := []Balance{}
	ps := make([]parts, 3)
	for rows.Next() {
		var b Balance
		if err := rows.Scan(scanDest(ps, &b.Address)...); err != nil {
			return nil, fmt.Errorf("ledger balances: %w", err)
		}
		if err := sums(ps, &b.Verified, &b.Pending, &b.Rejected); err != nil {
			return nil, fmt.Errorf("ledger balances: %s: %w", b.Address, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger balances: %w", err)
	}
	slices.SortFunc(out, func(a, b Balance) int {
		if c := b.Verified.Cmp(a.Verified); c != 0 {
			return c
		}
		return strings.Compare(a.Address, b.Address)
	})
	return out, nil
}

// Totals returns, per model, the verified credit of all contributors.
func (l *Ledger) Totals(ctx context.Context) (map[string]flop.Amount, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT model, `+sumOf("")+` FROM credits WHERE state = 'verified' GROUP BY model`)
	if err != nil {
		return nil, fmt.Errorf("ledger totals: %w", err)
	}
	defer rows.Close()
	out := map[string]flop.Amount{}
	ps := make([]parts, 1)
	for rows.Next() {
		var m string
		var v flop.Amount
		if err := rows.Scan(scanDest(ps, &m)...); err != nil {
			return nil, fmt.Errorf("ledger totals: %w", err)
		}
		if err := sums(ps, &v); err != nil {
			return nil, fmt.Errorf("ledger totals: %s: %w", m, err)
		}
		out[m] = v
	}
	return out, rows.Err()
}

// Decision is one logged verification decision.
type Decision struct {
	At      int64  `json:"at"`
	Address string `json:"address"`
	Task    string `json:"task,omitempty"`
	Kind    string `json:"kind"`
	Reason  string `json:"reason,omitempty"`
}

// Decisions returns address's latest decisions, newest first.
func (l *Ledger) Decisions(ctx context.Context, address string, limit int) ([]Decision, error) {
	rows, err := l.db.QueryContext(ctx,
		`SELECT at, address, task, kind, reason FROM decisions WHERE address = ? ORDER BY id DESC LIMIT ?`, address, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger decisions: %w", err)
	}
	defer rows.Close()
	out := []Decision{}
	for rows.Next() {
		var d Decision
		if err := rows.Scan(&d.At, &d.Address, &d.Task, &d.Kind, &d.Reason); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Standings returns every stored standing by address.
func (l *Ledger) Standings(ctx context.Context) (map[string]hub.Standing, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT address, strikes, clean, banned FROM contributors`)
	if err != nil {
		return nil, fmt.Errorf("ledger standings: %w", err)
	}
	defer rows.Close()
	out := map[string]hub.Standing{}
	for rows.Next() {
		var a string
		var s hub.Standing
		if err := rows.Scan(&a, &s.Strikes, &s.Clean, &s.Banned); err != nil {
			return nil, err
		}
		out[a] = s
	}
	return out, rows.Err()
}

// CheckInvariants verifies what must always hold: no (task, address)
// credited twice (the schema's UNIQUE), and the sum of per-contributor
// verified balances equal to the sum of verified rows, per model, and
// every epoch's revenue accounted for (checkRevenue).
func (l *Ledger) CheckInvariants(ctx context.Context) error {
	var dup int
	if err := l.db.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM (SELECT task, address FROM credits GROUP BY task, address HAVING COUNT(*) > 1)`).Scan(&dup); err != nil {
		return err
	}
	if dup != 0 {
		return fmt.Errorf("ledger invariant: %d (task, address) pairs credited more than once", dup)
	}
	totals, err := l.Totals(ctx)
	if err != nil {
		return err
	}
	for model, total := range totals {
		bs, err := l.Balances(ctx, model)
		if err != nil {
			return err
		}
		var sum flop.Amount
		for _, b := range bs {
			if sum, err = sum.Add(b.Verified); err != nil {
				return err
			}
		}
		if sum != total {
			return fmt.Errorf("ledger invariant: model %s balances sum to %d, verified rows to %d", model, sum, total)
		}
	}
	return l.checkRevenue(ctx)
}
