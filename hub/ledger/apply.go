package ledger

import (
	"database/sql"
	"fmt"
)

// kindName names an operation kind in the decision log.
func kindName(k Kind) string {
	switch k {
	case AddPending:
		return "pending"
	case AddVerified, Verify:
		return "verified"
	case Reject:
		return "rejected"
	case Void:
		return "voided"
	case Note:
		return "note"
	case Standing:
		return "standing"
	case Revoke:
		return "revoked"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// statements are the writer's statements: prepared once on the
// database when the ledger opens (statementsSQL), and bound to each
// batch's transaction with in. Preparing them per batch cost more than
// the batch's own inserts.
type statements struct {
	insert, insertVerified, verify, reject, void, revoke, decide, standing *sql.Stmt
}

func (st *statements) all() []**sql.Stmt {
	return []**sql.Stmt{&st.insert, &st.insertVerified, &st.verify, &st.reject, &st.void, &st.revoke, &st.decide, &st.standing}
}

// statementsSQL is the text of each statement, in all()'s order.
var statementsSQL = []string{
	`INSERT OR IGNORE INTO credits (task, model, address, amount, state, created_at) VALUES (?, ?, ?, ?, 'pending', ?)`,
	`INSERT OR IGNORE INTO credits (task, model, address, amount, state, reason, created_at, decided_at) VALUES (?, ?, ?, ?, 'verified', ?, ?, ?)`,
	`UPDATE credits SET state = 'verified', decided_at = ?, reason = ? WHERE task = ? AND address = ? AND state = 'pending'`,
	`UPDATE credits SET state = 'rejected', decided_at = ?, reason = ? WHERE task = ? AND address = ? AND state = 'pending'`,
	`UPDATE credits SET state = 'rejected', decided_at = ?, reason = ? WHERE address = ? AND state = 'pending'`,
	`UPDATE credits SET state = 'rejected', decided_at = ?, reason = ? WHERE address = ? AND epoch IS NULL AND state IN ('pending', 'verified')`,
	`INSERT INTO decisions (at, address, task, kind, reason) VALUES (?, ?, ?, ?, ?)`,
	`INSERT INTO contributors (address, strikes, clean, banned, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (address) DO UPDATE SET strikes = excluded.strikes, clean = excluded.clean, banned = excluded.banned, updated_at = excluded.updated_at`,
}

// prepare prepares the writer's statements on db.
func prepare(db *sql.DB) (*statements, error) {
	var st statements
	for i, dst := range st.all() {
		s, err := db.Prepare(statementsSQL[i])
		if err != nil {
			st.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*dst = s
	}
	return &st, nil
}

// in returns the statements bound to tx. database/sql reuses the
// statement already prepared on tx's connection (the ledger has one).
func (st *statements) in(tx *sql.Tx) *statements {
	var out statements
	mine := st.all()
	for i, dst := range out.all() {
		*dst = tx.Stmt(*mine[i])
	}
	return &out
}

func (st *statements) close() {
	for _, s := range st.all() {
		if *s != nil {
			(*s).Close()
		}
	}
}

// apply executes one operation. Transitions that find no pending row (a
// repeated verify, a reject after a verify) change nothing: a row's state
// only moves forward, once. Decisions about one credit are recorded in its
// row (state, reason, time); the decision log holds the rest.
func (st *statements) apply(op Op, now int64) error {
	var err error
	switch op.Kind {
	case AddPending:
		_, err = st.insert.Exec(op.Task, op.Model, op.Address, op.Amount, now)
		return err
	case AddVerified:
		_, err = st.insertVerified.Exec(op.Task, op.Model, op.Address, op.Amount, op.Reason, now, now)
		return err
	case Verify:
		_, err = st.verify.Exec(now, op.Reason, op.Task, op.Address)
		return err
	case Reject:
		_, err = st.reject.Exec(now, op.Reason, op.Task, op.Address)
		return err
	case Void:
		_, err = st.void.Exec(now, op.Reason, op.Address)
	case Revoke:
		_, err = st.revoke.Exec(now, op.Reason, op.Address)
	case Note:
	case Standing:
		b := 0
		if op.Banned {
			b = 1
		}
		_, err = st.standing.Exec(op.Address, op.Strikes, op.Clean, b, now)
		return err
	default:
		return fmt.Errorf("unknown operation kind %d", op.Kind)
	}
	if err != nil {
		return err
	}
	kind := kindName(op.Kind)
	if op.Kind == Note {
		kind = op.Decision
	}
	_, err = st.decide.Exec(now, op.Address, op.Task, kind, op.Reason)
	return err
}
