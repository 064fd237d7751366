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

// statements are the prepared statements of one transaction.
type statements struct {
	insert, insertVerified, verify, reject, void, revoke, decide, standing *sql.Stmt
}

func prepare(tx *sql.Tx) (*statements, error) {
	var st statements
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&st.insert, `INSERT OR IGNORE INTO credits (task, model, address, amount, state, created_at) VALUES (?, ?, ?, ?, 'pending', ?)`},
		{&st.insertVerified, `INSERT OR IGNORE INTO credits (task, model, address, amount, state, reason, created_at, decided_at) VALUES (?, ?, ?, ?, 'verified', ?, ?, ?)`},
		{&st.verify, `UPDATE credits SET state = 'verified', decided_at = ?, reason = ? WHERE task = ? AND address = ? AND state = 'pending'`},
		{&st.reject, `UPDATE credits SET state = 'rejected', decided_at = ?, reason = ? WHERE task = ? AND address = ? AND state = 'pending'`},
		{&st.void, `UPDATE credits SET state = 'rejected', decided_at = ?, reason = ? WHERE address = ? AND state = 'pending'`},
		{&st.revoke, `UPDATE credits SET state = 'rejected', decided_at = ?, reason = ? WHERE address = ? AND epoch IS NULL AND state IN ('pending', 'verified')`},
		{&st.decide, `INSERT INTO decisions (at, address, task, kind, reason) VALUES (?, ?, ?, ?, ?)`},
		{&st.standing, `INSERT INTO contributors (address, strikes, clean, banned, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (address) DO UPDATE SET strikes = excluded.strikes, clean = excluded.clean, banned = excluded.banned, updated_at = excluded.updated_at`},
	} {
		s, err := tx.Prepare(p.sql)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		*p.dst = s
	}
	return &st, nil
}

func (st *statements) close() {
	for _, s := range []*sql.Stmt{st.insert, st.insertVerified, st.verify, st.reject, st.void, st.revoke, st.decide, st.standing} {
		if s != nil {
			s.Close()
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
