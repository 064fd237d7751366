package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/tessera-ai/tessera/internal/flop"
)

// Revenue: what a model earns is split among its owners, epoch by epoch,
// and committed on-chain beside the credit tree as a second tree of
// (address, cumulative earnings) leaves, from which owners claim their
// wei out of the contract's vault.
//
// The revenue of a model in epoch e, R_e, is the wei of its usage rows
// (one per metered API request, migration 4) and of its revenue rows
// (RecordRevenue) that the epoch's Snapshot stamps with e, in the same
// transaction that stamps its credit. The split:
//
//	R'_e       = R_e + dust_{e-1}                    (dust_0 = 0)
//	earn_{a,e} = floor(R'_e · credit_{a,e} / total_e)
//	dust_e     = R'_e − Σ_a earn_{a,e}               (0 ≤ dust_e < number of owners)
//	E_{a,e}    = E_{a,e-1} + earn_{a,e}              (the earnings leaf)
//
// where credit_{a,e} is a's cumulative verified credit at e (the credit
// leaf) and total_e their sum. Rounding is always down, so no owner is
// ever paid wei that was not metered: for every epoch,
// Σ_a E_{a,e} + dust_e = Σ_{k≤e} R_k exactly, and the dust is never lost,
// only paid in a later epoch. If total_e is 0 (every owner's credit is
// 0), nobody earns and all of R'_e carries. Cumulative earnings never
// decrease, which is what lets the contract pay a claim as "cumulative
// earnings minus what was already paid" against the latest tree.
//
// An epoch is taken when there is new verified credit or new revenue
// (R_e > 0); revenue alone makes an epoch with the same credit leaves.
// Revenue of a model with no credit at all waits, unstamped, for its
// first owner.

// Wei is an exact amount of wei, 0 to 2^256-1: the representation of
// flop.Amount (exact, decimal TEXT in SQLite, decimal strings in JSON),
// for money rather than work.
type Wei = flop.Amount

// HasCredit reports whether any contributor has credit, in any state, in
// model.
func (l *Ledger) HasCredit(ctx context.Context, model string) (bool, error) {
	var one int
	err := l.db.QueryRowContext(ctx, `SELECT 1 FROM credits WHERE model = ? LIMIT 1`, model).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("ledger: %w", err)
	}
	return true, nil
}

// RecordRevenue records wei of revenue for model that did not come
// through the metered API (a grant, a licence fee); the model's next
// epoch splits it among the owners like metered usage. note says what it
// is.
func (l *Ledger) RecordRevenue(ctx context.Context, model string, wei Wei, note string) error {
	if model == "" {
		return errors.New("ledger record revenue: no model")
	}
	if wei.IsZero() {
		return fmt.Errorf("ledger record revenue for %s: zero wei", model)
	}
	if _, err := l.db.ExecContext(ctx, `INSERT INTO revenue (model, wei, note, at) VALUES (?, ?, ?, ?)`,
		model, wei, note, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("ledger record revenue: %w", err)
	}
	return nil
}

// RevenueTotals returns model's revenue stamped into an epoch (prepared
// or not) and its revenue waiting for the next epoch.
func (l *Ledger) RevenueTotals(ctx context.Context, model string) (stamped, unstamped Wei, err error) {
	if stamped, err = revenueSum(ctx, l.db, model, `epoch IS NOT NULL`); err != nil {
		return stamped, unstamped, fmt.Errorf("ledger revenue totals: %w", err)
	}
	if unstamped, err = revenueSum(ctx, l.db, model, `epoch IS NULL`); err != nil {
		return stamped, unstamped, fmt.Errorf("ledger revenue totals: %w", err)
	}
	return stamped, unstamped, nil
}

// revenueSources are the tables whose rows are a model's revenue.
var revenueSources = []string{"usage", "revenue"}

// stampRevenue stamps model's unstamped revenue rows with epoch and
// returns the revenue stamped with it (rows stamped by an earlier,
// unprepared snapshot of the same epoch included).
func stampRevenue(ctx context.Context, tx *sql.Tx, model string, epoch uint64) (Wei, error) {
	for _, table := range revenueSources {
		var later int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE model = ? AND epoch > ?`, model, epoch).Scan(&later); err != nil {
			return Wei{}, fmt.Errorf("stamp %s: %w", table, err)
		}
		if later > 0 {
			return Wei{}, fmt.Errorf("%w: %s has %d %s rows stamped after epoch %d", ErrEpochConflict, model, later, table, epoch)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET epoch = ? WHERE model = ? AND epoch IS NULL`, epoch, model); err != nil {
			return Wei{}, fmt.Errorf("stamp %s: %w", table, err)
		}
	}
	return revenueSum(ctx, tx, model, `epoch = ?`, epoch)
}

// revenueSum adds up the wei of model's revenue rows where cond holds,
// exactly (SQLite's SUM is 64-bit; wei are decimal TEXT up to 2^256-1).
func revenueSum(ctx context.Context, q querier, model, cond string, args ...any) (Wei, error) {
	sum := new(big.Int)
	var n big.Int
	for _, table := range revenueSources {
		rows, err := q.QueryContext(ctx, `SELECT wei FROM `+table+` WHERE model = ? AND `+cond, append([]any{model}, args...)...)
		if err != nil {
			return Wei{}, err
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return Wei{}, err
			}
			if _, ok := n.SetString(s, 10); !ok {
				rows.Close()
				return Wei{}, fmt.Errorf("%s row of %s: wei %q is not a decimal", table, model, s)
			}
			sum.Add(sum, &n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Wei{}, err
		}
	}
	w, err := flop.FromBig(sum)
	if err != nil {
		return Wei{}, fmt.Errorf("%s revenue: %w", model, err)
	}
	return w, nil
}

// earn computes s's earnings: it reads the dust and the cumulative
// earnings of the epoch before s.Epoch and splits s.Revenue plus that
// dust over s.Leaves (the rule above), setting every leaf's Earnings,
// s.CarriedIn, s.Dust and s.EarningsTotal.
func earn(ctx context.Context, q querier, s *Snapshot) error {
	prev := map[string]Wei{}
	if s.Epoch > 1 {
		var dust string
		err := q.QueryRowContext(ctx, `SELECT dust FROM epochs WHERE model = ? AND epoch = ?`, s.Model, s.Epoch-1).Scan(&dust)
		if err != nil {
			return fmt.Errorf("dust of epoch %d: %w", s.Epoch-1, err)
		}
		if s.CarriedIn, err = flop.Parse(dust); err != nil {
			return fmt.Errorf("dust of epoch %d: %w", s.Epoch-1, err)
		}
		rows, err := q.QueryContext(ctx, `SELECT address, earnings FROM epoch_leaves WHERE model = ? AND epoch = ?`, s.Model, s.Epoch-1)
		if err != nil {
			return fmt.Errorf("earnings of epoch %d: %w", s.Epoch-1, err)
		}
		defer rows.Close()
		for rows.Next() {
			var a string
			var w Wei
			if err := rows.Scan(&a, &w); err != nil {
				return fmt.Errorf("earnings of epoch %d: %w", s.Epoch-1, err)
			}
			prev[a] = w
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("earnings of epoch %d: %w", s.Epoch-1, err)
		}
	}
	pool := new(big.Int).Add(s.Revenue.Big(), s.CarriedIn.Big())
	var err error
	s.EarningsTotal, s.Dust, err = Split(s.Leaves, s.Total, prev, pool)
	if err != nil {
		return fmt.Errorf("%s epoch %d: %w", s.Model, s.Epoch, err)
	}
	return nil
}

// Split sets each leaf's Earnings to prev[leaf.Address] plus
// floor(pool · leaf.Amount / total), total being the sum of the leaves'
// amounts, and returns the sum of the leaves' Earnings and the dust,
// pool minus what it gave out. Every address of prev must have a leaf:
// cumulative earnings are never dropped.
func Split(leaves []Leaf, total flop.Amount, prev map[string]Wei, pool *big.Int) (earnings, dust Wei, err error) {
	t := total.Big()
	rest := new(big.Int).Set(pool)
	sum := new(big.Int)
	share := new(big.Int)
	seen := 0
	for i := range leaves {
		e := new(big.Int)
		if p, ok := prev[leaves[i].Address]; ok {
			e.Set(p.Big())
			seen++
		}
		if t.Sign() > 0 {
			share.Mul(pool, leaves[i].Amount.Big())
			share.Quo(share, t)
			rest.Sub(rest, share)
			e.Add(e, share)
		}
		if leaves[i].Earnings, err = flop.FromBig(e); err != nil {
			return Wei{}, Wei{}, fmt.Errorf("earnings of %s: %w", leaves[i].Address, err)
		}
		sum.Add(sum, e)
	}
	if seen != len(prev) {
		return Wei{}, Wei{}, fmt.Errorf("%w: %d owners with earnings have no leaf", ErrEpochConflict, len(prev)-seen)
	}
	if rest.Sign() < 0 {
		return Wei{}, Wei{}, fmt.Errorf("split of %s wei gave out %s more: the leaves' amounts exceed the total", pool, new(big.Int).Neg(rest))
	}
	if earnings, err = flop.FromBig(sum); err != nil {
		return Wei{}, Wei{}, fmt.Errorf("earnings total: %w", err)
	}
	if dust, err = flop.FromBig(rest); err != nil {
		return Wei{}, Wei{}, fmt.Errorf("dust: %w", err)
	}
	return earnings, dust, nil
}

// checkRevenue checks, for every epoch with an earnings tree, that its
// stored revenue is what is stamped with it, that its leaves' earnings
// add up to its earnings total, and that the earnings total plus the
// dust is all the revenue stamped with it or earlier.
func (l *Ledger) checkRevenue(ctx context.Context) error {
	rows, err := l.db.QueryContext(ctx, `SELECT model, epoch, revenue, dust, earnings_total FROM epochs
		WHERE earnings_root <> '' ORDER BY model, epoch`)
	if err != nil {
		return err
	}
	type row struct {
		model                   string
		epoch                   uint64
		revenue, dust, earnings Wei
	}
	var es []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.model, &r.epoch, &r.revenue, &r.dust, &r.earnings); err != nil {
			rows.Close()
			return err
		}
		es = append(es, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range es {
		stamped, err := revenueSum(ctx, l.db, r.model, `epoch = ?`, r.epoch)
		if err != nil {
			return err
		}
		if stamped != r.revenue {
			return fmt.Errorf("ledger invariant: %s epoch %d records revenue %s, %s is stamped with it", r.model, r.epoch, r.revenue, stamped)
		}
		upTo, err := revenueSum(ctx, l.db, r.model, `epoch <= ?`, r.epoch)
		if err != nil {
			return err
		}
		if got := new(big.Int).Add(r.earnings.Big(), r.dust.Big()); got.Cmp(upTo.Big()) != 0 {
			return fmt.Errorf("ledger invariant: %s epoch %d: earnings %s + dust %s, but revenue %s", r.model, r.epoch, r.earnings, r.dust, upTo)
		}
		leaves, err := l.Leaves(ctx, r.model, r.epoch)
		if err != nil {
			return err
		}
		sum := new(big.Int)
		for _, lf := range leaves {
			sum.Add(sum, lf.Earnings.Big())
		}
		if sum.Cmp(r.earnings.Big()) != 0 {
			return fmt.Errorf("ledger invariant: %s epoch %d: leaves earn %s, earnings total %s", r.model, r.epoch, sum, r.earnings)
		}
	}
	return nil
}
