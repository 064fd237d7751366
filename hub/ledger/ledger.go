// Package ledger records contributors' credit in SQLite
// (github.com/mattn/go-sqlite3): one row per execution of a task, moving
// from pending to verified or rejected with the reason and time of that
// decision; an append-only log of the decisions about a contributor as a
// whole (voided credit, strikes, quarantine, bans); and each contributor's
// standing.
//
// All writes go through one writer goroutine that commits them in batches,
// so thousands of events per second cost a few commits. Submit returns a
// channel that reports when the batch holding the operation is durable;
// the hub tells a contributor "accepted" only after that. Balances and
// shares are derived from the rows by queries, never stored twice.
//
// Entry points: Open, (*Ledger).Submit, Flush, Close, the queries in
// query.go, the epochs in epochs.go and the revenue split in revenue.go.
package ledger

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-ai/tessera/hub"
	"github.com/tessera-ai/tessera/hub/metrics"
	"github.com/tessera-ai/tessera/internal/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Op is one ledger operation; the hub defines the vocabulary
// (hub.CreditOp) and the ledger implements hub.Credits.
type Op = hub.CreditOp

// Kind is what an operation does.
type Kind = hub.CreditKind

// Operation kinds, as the hub names them.
const (
	AddPending  = hub.CreditPending
	AddVerified = hub.CreditVerified
	Verify      = hub.CreditVerify
	Reject      = hub.CreditReject
	Void        = hub.CreditVoid
	Note        = hub.CreditNote
	Standing    = hub.CreditStanding
	Revoke      = hub.CreditRevoke
)

var _ hub.Credits = (*Ledger)(nil)

// Config tunes the writer.
type Config struct {
	// MaxBatch bounds the operations committed in one transaction.
	MaxBatch int
	// Queue bounds operations waiting for the writer; Submit blocks when
	// it is full.
	Queue int
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Metrics receives batch times and sizes; nil records none.
	Metrics *metrics.Metrics
	// Gap is the least time from one commit's start to the next's while
	// operations keep coming: what arrives in between joins the next
	// batch. A commit costs far more than an operation in it, so under
	// load (a credit for every verified task) batches grow instead of
	// commits multiplying; an operation arriving after a quiet spell is
	// committed at once. 0 means DefaultGap; negative, none.
	Gap time.Duration
}

// DefaultGap is Config.Gap's default.
const DefaultGap = 2 * time.Millisecond

// DefaultConfig returns the writer's defaults.
func DefaultConfig() Config { return Config{MaxBatch: 16384, Queue: 65536, Gap: DefaultGap} }

// Ledger is the credit ledger.
type Ledger struct {
	db  *sql.DB
	cfg Config
	log *slog.Logger
	in  chan request
	out chan struct{} // closed when the writer has stopped
	st  *statements   // the writer's, prepared once

	// closing guards in: Submit holds it for reading while it sends, Close
	// for writing while it closes in, so a late Submit gets ErrClosed
	// instead of a send on a closed channel.
	closing sync.RWMutex
	closed  bool

	batches, ops atomic.Uint64
	lastBatchNs  atomic.Int64
	// failing holds the error of the commit the writer is retrying, nil
	// while commits succeed; Health reports it.
	failing atomic.Pointer[string]
}

type request struct {
	ops   []Op
	usage *Usage     // a metered inference request (usage.go), or nil
	done  chan error // buffered; receives the commit's outcome
}

// Open opens the ledger database at path and starts its writer.
func Open(ctx context.Context, path string, cfg Config) (*Ledger, error) {
	def := DefaultConfig()
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = def.MaxBatch
	}
	if cfg.Queue <= 0 {
		cfg.Queue = def.Queue
	}
	if cfg.Gap == 0 {
		cfg.Gap = def.Gap
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	db, err := sqlite.Open(ctx, path, migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	st, err := prepare(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	l := &Ledger{db: db, cfg: cfg, log: log, in: make(chan request, cfg.Queue), out: make(chan struct{}), st: st}
	go l.write()
	return l, nil
}

// Submit queues ops to be committed together, in order, and returns a
// channel that receives nil once they are durable (or the error that
// stopped them). It blocks only when the queue is full.
func (l *Ledger) Submit(ops ...Op) <-chan error {
	done := make(chan error, 1)
	for _, op := range ops {
		if err := validate(&op); err != nil {
			done <- err
			return done
		}
	}
	l.closing.RLock()
	defer l.closing.RUnlock()
	if l.closed {
		done <- ErrClosed
		return done
	}
	l.in <- request{ops: ops, done: done}
	return done
}

// ErrClosed is what Submit reports after Close.
var ErrClosed = errors.New("ledger: closed")

// validate refuses operations that could never commit, so that the
// writer's retries only ever wait out database trouble.
func validate(op *Op) error {
	if op.Kind < AddPending || op.Kind > Revoke {
		return fmt.Errorf("ledger: unknown operation kind %d", op.Kind)
	}
	if op.Address == "" {
		return fmt.Errorf("ledger: %s without an address", kindName(op.Kind))
	}
	if (op.Kind == AddPending || op.Kind == AddVerified || op.Kind == Verify || op.Kind == Reject) && op.Task == "" {
		return fmt.Errorf("ledger: %s without a task", kindName(op.Kind))
	}
	if (op.Kind == AddPending || op.Kind == AddVerified) && (op.Amount < 0 || op.Model == "") {
		return fmt.Errorf("ledger: pending credit needs a model and a non-negative amount")
	}
	return nil
}

// Flush waits until everything submitted before it is durable.
func (l *Ledger) Flush(ctx context.Context) error {
	select {
	case err := <-l.Submit():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close commits what is queued, stops the writer and closes the database.
// Operations submitted after Close fail with ErrClosed.
func (l *Ledger) Close() error {
	l.closing.Lock()
	if l.closed {
		l.closing.Unlock()
		return ErrClosed
	}
	l.closed = true
	close(l.in)
	l.closing.Unlock()
	<-l.out
	l.st.close()
	return l.db.Close()
}

// Stats reports the writer's batches, operations and latest batch time.
func (l *Ledger) Stats() (batches, ops uint64, lastBatch time.Duration) {
	return l.batches.Load(), l.ops.Load(), time.Duration(l.lastBatchNs.Load())
}

// Health reports whether the ledger works: its writer is not stuck
// retrying a failed commit, and the database answers a trivial query.
func (l *Ledger) Health(ctx context.Context) error {
	if msg := l.failing.Load(); msg != nil {
		return fmt.Errorf("ledger writer cannot commit (retrying): %s", *msg)
	}
	var exists bool
	if err := l.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM credits)`).Scan(&exists); err != nil {
		return fmt.Errorf("ledger query: %w", err)
	}
	return nil
}

// write is the single writer: it takes whatever is queued, up to
// MaxBatch operations, and commits it in one transaction. A failed commit
// is retried with backoff; operations are never dropped.
func (l *Ledger) write() {
	defer close(l.out)
	var batch []request
	var last time.Time // the latest commit's start
	gap := time.NewTimer(time.Hour)
	gap.Stop()
	for {
		req, ok := <-l.in
		if !ok {
			return
		}
		batch = append(batch[:0], req)
		n := len(req.ops)
		open := true
		if wait := l.cfg.Gap - time.Since(last); wait > 0 {
			gap.Reset(wait)
		} else {
			open = false
		}
	drain:
		for n < l.cfg.MaxBatch {
			var r request
			var ok bool
			if open {
				select {
				case r, ok = <-l.in:
				case <-gap.C:
					open = false
					continue
				}
			} else {
				select {
				case r, ok = <-l.in:
				default:
					break drain
				}
			}
			if !ok {
				break drain
			}
			batch = append(batch, r)
			n += len(r.ops)
		}
		gap.Stop() // (since Go 1.23 a stopped timer delivers nothing stale)
		backoff := 10 * time.Millisecond
		for {
			start := time.Now()
			last = start
			err := l.commit(batch)
			if err == nil {
				took := time.Since(start)
				l.batches.Add(1)
				l.ops.Add(uint64(n))
				l.lastBatchNs.Store(int64(took))
				if n > 0 { // not a bare Flush
					l.cfg.Metrics.LedgerBatch(took, n)
				}
				l.failing.Store(nil)
				break
			}
			msg := err.Error()
			l.failing.Store(&msg)
			l.cfg.Metrics.LedgerCommitFailed()
			l.log.Error("ledger commit failed; retrying", "ops", n, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
		}
		for _, r := range batch {
			r.done <- nil
		}
	}
}

// commit applies a batch in one transaction.
func (l *Ledger) commit(batch []request) error {
	tx, err := l.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st := l.st.in(tx)
	defer st.close()
	now := time.Now().UnixMilli()
	for _, r := range batch {
		for _, op := range r.ops {
			if err := st.apply(op, now); err != nil {
				return fmt.Errorf("%s %s/%s: %w", kindName(op.Kind), op.Task, op.Address, err)
			}
		}
		if r.usage != nil {
			if err := insertUsage(tx, r.usage); err != nil {
				return fmt.Errorf("usage of %s: %w", r.usage.Request, err)
			}
		}
	}
	return tx.Commit()
}
