package ledger

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-ai/tessera/internal/flop"
)

// Epochs: the snapshots of cumulative verified credit that the committer
// (hub/chain) puts on-chain, one model at a time.
//
// The life of an epoch:
//
//	Snapshot      stamps every verified, unstamped credit row and every
//	              unstamped revenue row of the model with the next epoch
//	              and returns the per-address sums of the credit stamped
//	              so far (the tree's leaves) with each address's
//	              cumulative earnings (revenue.go);
//	PrepareEpoch  stores the epoch's root and leaves, before any
//	              transaction is sent;
//	MarkSent      records the hash of the transaction carrying it;
//	MarkCommitted records the block that included it.
//
// Stamped rows never change again (a ban's revoke touches only rows with
// no epoch), so an epoch's leaves stay exactly the credit stamped with it
// or earlier, and what a ban spares is what is, or is about to be, on-chain.
// At most one epoch per model is not committed, always the latest; the
// next Snapshot waits for it (ErrEpochOpen), so epochs are never skipped.
//
// These transactions run directly on the database rather than through the
// writer: the ledger has a single connection (internal/sqlite) and takes
// write locks at BEGIN, so each one runs between two of the writer's
// batches, never inside one, and sees every batch committed before it. A
// caller that needs everything submitted so far in a snapshot calls Flush
// first.

// EpochState is where an epoch stands.
type EpochState string

// Epoch states.
const (
	EpochPrepared  EpochState = "prepared"
	EpochSent      EpochState = "sent"
	EpochCommitted EpochState = "committed"
)

// Errors of the epoch functions.
var (
	// ErrNoNewCredit: no verified credit and no revenue since the latest
	// epoch (or revenue, but no credit at all to split it over).
	ErrNoNewCredit = errors.New("ledger: no new verified credit or revenue")
	// ErrEpochOpen: the model's latest epoch is not committed yet.
	ErrEpochOpen = errors.New("ledger: an epoch is not committed yet")
	// ErrEpochConflict: the operation contradicts the stored epoch.
	ErrEpochConflict = errors.New("ledger: epoch conflict")
	// ErrNoEpoch: no such epoch.
	ErrNoEpoch = errors.New("ledger: no such epoch")
)

// Leaf is one contributor's cumulative verified credit in an epoch, and
// their cumulative earnings from the model's revenue.
type Leaf struct {
	Address  string
	Amount   flop.Amount
	Earnings Wei
}

// Snapshot is an epoch's content before it is prepared.
type Snapshot struct {
	Model  string
	Epoch  uint64
	Leaves []Leaf      // by address
	Total  flop.Amount // the sum of the leaves' amounts
	// Revenue is the revenue stamped with this epoch; CarriedIn the dust
	// of the epoch before; Dust what this epoch carries into the next;
	// EarningsTotal the sum of the leaves' Earnings (revenue.go).
	Revenue, CarriedIn, Dust, EarningsTotal Wei
}

// Epoch is a stored epoch.
type Epoch struct {
	Model        string
	Epoch        uint64
	Root         [32]byte
	Total        flop.Amount
	Contributors int
	State        EpochState
	TxHash       [32]byte // zero until sent; the including transaction once committed
	Block        uint64   // 0 until committed
	PreparedAt   time.Time
	SentAt       time.Time // zero until sent
	CommittedAt  time.Time // zero until committed
	// Revenue stamped with the epoch, Dust carried into the next, and the
	// earnings tree's root and total: zero for an epoch prepared before
	// revenue was metered.
	Revenue, Dust, EarningsTotal Wei
	EarningsRoot                 [32]byte
}

// Snapshot stamps the verified credit and the revenue of model not yet in
// an epoch with the next epoch and returns that epoch's leaves: every
// contributor's cumulative verified credit and cumulative earnings. It
// returns ErrNoNewCredit if there is neither new credit nor new revenue
// (revenue alone makes an epoch, with the same credit), and ErrEpochOpen
// while the latest epoch is not committed. A snapshot that was never
// prepared (a crash, a failed tree build) is not lost: the next Snapshot
// returns the same epoch, with anything verified or metered since.
func (l *Ledger) Snapshot(ctx context.Context, model string) (Snapshot, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return Snapshot{}, fmt.Errorf("ledger snapshot: %w", err)
	}
	defer tx.Rollback()
	last, err := latestEpoch(ctx, tx, model)
	if err != nil {
		return Snapshot{}, fmt.Errorf("ledger snapshot: %w", err)
	}
	if last.Epoch > 0 && last.State != EpochCommitted {
		return Snapshot{}, fmt.Errorf("%w: %s epoch %d is %s", ErrEpochOpen, model, last.Epoch, last.State)
	}
	next := last.Epoch + 1
	stamped, err := stampedEpoch(ctx, tx, model)
	if err != nil {
		return Snapshot{}, fmt.Errorf("ledger snapshot: %w", err)
	}
	if stamped > next {
		return Snapshot{}, fmt.Errorf("%w: %s credit stamped with epoch %d, but the latest epoch is %d", ErrEpochConflict, model, stamped, last.Epoch)
	}
	res, err := tx.ExecContext(ctx, `UPDATE credits SET epoch = ? WHERE model = ? AND state = 'verified' AND epoch IS NULL`, next, model)
	if err != nil {
		return Snapshot{}, fmt.Errorf("ledger snapshot: stamp: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Snapshot{}, fmt.Errorf("ledger snapshot: stamp: %w", err)
	}
	revenue, err := stampRevenue(ctx, tx, model, next)
	if err != nil {
		return Snapshot{}, fmt.Errorf("ledger snapshot: %w", err)
	}
	if n == 0 && stamped < next && revenue.IsZero() {
		return Snapshot{}, ErrNoNewCredit
	}
	s, err := snapshotOf(ctx, tx, model, next)
	if err != nil {
		return Snapshot{}, fmt.Errorf("ledger snapshot: %w", err)
	}
	if len(s.Leaves) == 0 {
		// Revenue, but nobody to split it over: it stays unstamped (the
		// rollback) until the model has credit.
		return Snapshot{}, ErrNoNewCredit
	}
	if err := tx.Commit(); err != nil {
		return Snapshot{}, fmt.Errorf("ledger snapshot: %w", err)
	}
	return s, nil
}

// snapshotOf computes the snapshot of model's epoch from what is stamped
// with it or earlier and from the epoch before.
func snapshotOf(ctx context.Context, q querier, model string, epoch uint64) (Snapshot, error) {
	s := Snapshot{Model: model, Epoch: epoch}
	var err error
	if s.Leaves, s.Total, err = stampedLeaves(ctx, q, model, epoch); err != nil {
		return Snapshot{}, err
	}
	if s.Revenue, err = revenueSum(ctx, q, model, `epoch = ?`, epoch); err != nil {
		return Snapshot{}, err
	}
	if err := earn(ctx, q, &s); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// PrepareEpoch stores the snapshot s with its credit tree's root and its
// earnings tree's root, as "prepared": this must happen before any
// transaction carrying it is sent. It checks that s is the model's latest
// snapshot, unchanged. Preparing the same epoch again with the same roots
// does nothing.
func (l *Ledger) PrepareEpoch(ctx context.Context, s Snapshot, root, earningsRoot [32]byte) error {
	if root == ([32]byte{}) || earningsRoot == ([32]byte{}) {
		return fmt.Errorf("ledger prepare %s epoch %d: zero root", s.Model, s.Epoch)
	}
	if len(s.Leaves) == 0 {
		return fmt.Errorf("ledger prepare %s epoch %d: no leaves", s.Model, s.Epoch)
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger prepare: %w", err)
	}
	defer tx.Rollback()
	last, err := latestEpoch(ctx, tx, s.Model)
	if err != nil {
		return fmt.Errorf("ledger prepare: %w", err)
	}
	if last.Epoch == s.Epoch {
		if last.Root != root || last.EarningsRoot != earningsRoot || last.Total != s.Total || last.Contributors != len(s.Leaves) ||
			last.EarningsTotal != s.EarningsTotal || last.Dust != s.Dust {
			return fmt.Errorf("%w: %s epoch %d is already prepared with root %x", ErrEpochConflict, s.Model, s.Epoch, last.Root)
		}
		return nil
	}
	if last.Epoch+1 != s.Epoch || (last.Epoch > 0 && last.State != EpochCommitted) {
		return fmt.Errorf("%w: %s epoch %d after epoch %d (%s)", ErrEpochConflict, s.Model, s.Epoch, last.Epoch, last.State)
	}
	// The snapshot must be what is stamped: nothing stamped later, and
	// the same leaves, revenue and earnings.
	stamped, err := stampedEpoch(ctx, tx, s.Model)
	if err != nil {
		return fmt.Errorf("ledger prepare: %w", err)
	}
	want, err := snapshotOf(ctx, tx, s.Model, s.Epoch)
	if err != nil {
		return fmt.Errorf("ledger prepare: %w", err)
	}
	if stamped > s.Epoch || !sameSnapshot(s, want) {
		return fmt.Errorf("%w: %s epoch %d is not the stamped snapshot (stamped epoch %d, %d contributors, total %d, revenue %s)",
			ErrEpochConflict, s.Model, s.Epoch, stamped, len(want.Leaves), want.Total, want.Revenue)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO epochs (model, epoch, root, total, contributors, state, prepared_at,
		revenue, dust, earnings_root, earnings_total) VALUES (?, ?, ?, ?, ?, 'prepared', ?, ?, ?, ?, ?)`,
		s.Model, s.Epoch, hex32(root), s.Total, len(s.Leaves), time.Now().UnixMilli(),
		s.Revenue, s.Dust, hex32(earningsRoot), s.EarningsTotal); err != nil {
		return fmt.Errorf("ledger prepare: %w", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO epoch_leaves (model, epoch, address, amount, earnings) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("ledger prepare: %w", err)
	}
	defer ins.Close()
	for _, lf := range s.Leaves {
		if _, err := ins.ExecContext(ctx, s.Model, s.Epoch, lf.Address, lf.Amount, lf.Earnings); err != nil {
			return fmt.Errorf("ledger prepare: leaf %s: %w", lf.Address, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger prepare: %w", err)
	}
	return nil
}

// MarkSent records that a transaction with hash txHash carrying the
// prepared epoch was signed and is about to be sent (record it before
// sending, so a crash never leaves a sent transaction unknown). Sending
// again records the new hash.
func (l *Ledger) MarkSent(ctx context.Context, model string, epoch uint64, txHash [32]byte) error {
	res, err := l.db.ExecContext(ctx, `UPDATE epochs SET state = 'sent', tx_hash = ?, sent_at = ?
		WHERE model = ? AND epoch = ? AND state IN ('prepared', 'sent')`, hex32(txHash), time.Now().UnixMilli(), model, epoch)
	if err != nil {
		return fmt.Errorf("ledger mark sent: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s epoch %d is not prepared or sent", ErrEpochConflict, model, epoch)
	}
	return nil
}

// MarkCommitted records that the epoch is on-chain, included by
// transaction txHash in block. Marking it again with the same transaction
// does nothing.
func (l *Ledger) MarkCommitted(ctx context.Context, model string, epoch uint64, txHash [32]byte, block uint64) error {
	res, err := l.db.ExecContext(ctx, `UPDATE epochs SET state = 'committed', tx_hash = ?, block = ?, committed_at = ?
		WHERE model = ? AND epoch = ? AND (state IN ('prepared', 'sent') OR (tx_hash = ? AND block = ?))`,
		hex32(txHash), block, time.Now().UnixMilli(), model, epoch, hex32(txHash), block)
	if err != nil {
		return fmt.Errorf("ledger mark committed: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s epoch %d is unknown or committed by another transaction", ErrEpochConflict, model, epoch)
	}
	return nil
}

// EpochModels returns every model that has verified credit or an epoch.
func (l *Ledger) EpochModels(ctx context.Context) ([]string, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT DISTINCT model FROM credits WHERE state = 'verified'
		UNION SELECT DISTINCT model FROM epochs ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("ledger epoch models: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

const epochColumns = `model, epoch, root, total, contributors, state, tx_hash, COALESCE(block, 0), prepared_at, COALESCE(sent_at, 0), COALESCE(committed_at, 0),
	revenue, dust, earnings_root, earnings_total`

// Epochs returns model's epochs, newest first, at most limit (≤ 0: all).
func (l *Ledger) Epochs(ctx context.Context, model string, limit int) ([]Epoch, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := l.db.QueryContext(ctx, `SELECT `+epochColumns+` FROM epochs WHERE model = ? ORDER BY epoch DESC LIMIT ?`, model, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger epochs: %w", err)
	}
	defer rows.Close()
	out := []Epoch{}
	for rows.Next() {
		e, err := scanEpoch(rows)
		if err != nil {
			return nil, fmt.Errorf("ledger epochs: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// LatestEpoch returns model's latest epoch, in whatever state; ok is false
// if there is none.
func (l *Ledger) LatestEpoch(ctx context.Context, model string) (e Epoch, ok bool, err error) {
	e, err = latestEpoch(ctx, l.db, model)
	if err != nil {
		return Epoch{}, false, fmt.Errorf("ledger latest epoch: %w", err)
	}
	return e, e.Epoch > 0, nil
}

// LatestCommitted returns model's latest committed epoch; ok is false if
// none is committed.
func (l *Ledger) LatestCommitted(ctx context.Context, model string) (e Epoch, ok bool, err error) {
	e, err = scanEpoch(l.db.QueryRowContext(ctx, `SELECT `+epochColumns+` FROM epochs
		WHERE model = ? AND state = 'committed' ORDER BY epoch DESC LIMIT 1`, model))
	if errors.Is(err, sql.ErrNoRows) {
		return Epoch{}, false, nil
	}
	if err != nil {
		return Epoch{}, false, fmt.Errorf("ledger latest committed: %w", err)
	}
	return e, true, nil
}

// Leaves returns the leaves stored for model's epoch, by address, or
// ErrNoEpoch if the epoch is not prepared.
func (l *Ledger) Leaves(ctx context.Context, model string, epoch uint64) ([]Leaf, error) {
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM epochs WHERE model = ? AND epoch = ?`, model, epoch).Scan(&n); err != nil {
		return nil, fmt.Errorf("ledger leaves: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: %s epoch %d", ErrNoEpoch, model, epoch)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT address, amount, earnings FROM epoch_leaves WHERE model = ? AND epoch = ? ORDER BY address`, model, epoch)
	if err != nil {
		return nil, fmt.Errorf("ledger leaves: %w", err)
	}
	defer rows.Close()
	out := []Leaf{}
	for rows.Next() {
		var lf Leaf
		if err := rows.Scan(&lf.Address, &lf.Amount, &lf.Earnings); err != nil {
			return nil, err
		}
		out = append(out, lf)
	}
	return out, rows.Err()
}

// sameSnapshot reports whether a and b have the same content.
func sameSnapshot(a, b Snapshot) bool {
	return a.Model == b.Model && a.Epoch == b.Epoch && a.Total == b.Total && a.Revenue == b.Revenue &&
		a.CarriedIn == b.CarriedIn && a.Dust == b.Dust && a.EarningsTotal == b.EarningsTotal && slices.Equal(a.Leaves, b.Leaves)
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// latestEpoch returns model's latest epoch, or a zero Epoch if none.
func latestEpoch(ctx context.Context, q querier, model string) (Epoch, error) {
	e, err := scanEpoch(q.QueryRowContext(ctx, `SELECT `+epochColumns+` FROM epochs WHERE model = ? ORDER BY epoch DESC LIMIT 1`, model))
	if errors.Is(err, sql.ErrNoRows) {
		return Epoch{}, nil
	}
	return e, err
}

// stampedEpoch returns the highest epoch any credit of model is stamped
// with, 0 if none.
func stampedEpoch(ctx context.Context, q querier, model string) (uint64, error) {
	var n sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT MAX(epoch) FROM credits WHERE model = ? AND epoch IS NOT NULL`, model).Scan(&n); err != nil {
		return 0, err
	}
	return uint64(n.Int64), nil
}

// stampedLeaves sums model's verified credit stamped with epoch or earlier
// per address.
func stampedLeaves(ctx context.Context, q querier, model string, epoch uint64) ([]Leaf, flop.Amount, error) {
	var total flop.Amount
	rows, err := q.QueryContext(ctx, `SELECT address, `+sumOf("")+` FROM credits
		WHERE model = ? AND state = 'verified' AND epoch IS NOT NULL AND epoch <= ?
		GROUP BY address ORDER BY address`, model, epoch)
	if err != nil {
		return nil, total, err
	}
	defer rows.Close()
	var out []Leaf
	ps := make([]parts, 1)
	for rows.Next() {
		var lf Leaf
		if err := rows.Scan(scanDest(ps, &lf.Address)...); err != nil {
			return nil, total, err
		}
		if err := sums(ps, &lf.Amount); err != nil {
			return nil, total, fmt.Errorf("%s: %w", lf.Address, err)
		}
		if total, err = total.Add(lf.Amount); err != nil {
			return nil, total, fmt.Errorf("%s total: %w", model, err)
		}
		out = append(out, lf)
	}
	return out, total, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanEpoch(r scanner) (Epoch, error) {
	var e Epoch
	var root, txHash, state, earningsRoot string
	var prepared, sent, committed int64
	if err := r.Scan(&e.Model, &e.Epoch, &root, &e.Total, &e.Contributors, &state, &txHash, &e.Block, &prepared, &sent, &committed,
		&e.Revenue, &e.Dust, &earningsRoot, &e.EarningsTotal); err != nil {
		return Epoch{}, err
	}
	var err error
	if e.Root, err = parseHex32(root); err != nil {
		return Epoch{}, fmt.Errorf("%s epoch %d root: %w", e.Model, e.Epoch, err)
	}
	if earningsRoot != "" {
		if e.EarningsRoot, err = parseHex32(earningsRoot); err != nil {
			return Epoch{}, fmt.Errorf("%s epoch %d earnings root: %w", e.Model, e.Epoch, err)
		}
	}
	if txHash != "" {
		if e.TxHash, err = parseHex32(txHash); err != nil {
			return Epoch{}, fmt.Errorf("%s epoch %d transaction: %w", e.Model, e.Epoch, err)
		}
	}
	e.State = EpochState(state)
	e.PreparedAt = millis(prepared)
	e.SentAt = millis(sent)
	e.CommittedAt = millis(committed)
	return e, nil
}

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func hex32(b [32]byte) string { return "0x" + hex.EncodeToString(b[:]) }

func parseHex32(s string) (out [32]byte, err error) {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 32 {
		return out, fmt.Errorf("not a 32-byte hex value: %q", s)
	}
	copy(out[:], b)
	return out, nil
}

// EpochAt returns model's epoch number n, or ErrNoEpoch.
func (l *Ledger) EpochAt(ctx context.Context, model string, n uint64) (Epoch, error) {
	e, err := scanEpoch(l.db.QueryRowContext(ctx, `SELECT `+epochColumns+` FROM epochs WHERE model = ? AND epoch = ?`, model, n))
	if errors.Is(err, sql.ErrNoRows) {
		return Epoch{}, fmt.Errorf("%w: %s epoch %d", ErrNoEpoch, model, n)
	}
	if err != nil {
		return Epoch{}, fmt.Errorf("ledger epoch: %w", err)
	}
	return e, nil
}
