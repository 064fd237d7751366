package ledger

import (
	"context"
	"fmt"
)

// Queries for the operator (the admin API in hub/service/admin.go): credit
// per contributor and model, and per model. Like Balances they are sums
// over the credit rows, computed when asked.

// ContributorCredit is one contributor's credit in one model, by state.
type ContributorCredit struct {
	Address  string `json:"address"`
	Model    string `json:"model"`
	Verified int64  `json:"verified"`
	Pending  int64  `json:"pending"`
	Rejected int64  `json:"rejected"`
	// InEpoch is the part of Verified already in an on-chain epoch (or in
	// one being committed): a ban cannot revoke it.
	InEpoch int64 `json:"in_epoch"`
	// Tasks counts the executions credited, in any state.
	Tasks int64 `json:"tasks"`
	// ModelVerified is the verified credit of all contributors in the
	// model, read together with the rest, so Verified/ModelVerified is
	// the contributor's share at one instant.
	ModelVerified int64 `json:"model_verified"`
}

// ContributorCredits returns the credit of address in every model it
// worked for, or of every contributor when address is "", ordered by
// address then model. One statement reads it all: SQLite gives it one
// snapshot, even while the writer commits.
func (l *Ledger) ContributorCredits(ctx context.Context, address string) ([]ContributorCredit, error) {
	rows, err := l.db.QueryContext(ctx, `
		WITH per AS (
			SELECT address, model,
			       COALESCE(SUM(CASE WHEN state = 'verified' THEN amount END), 0) AS verified,
			       COALESCE(SUM(CASE WHEN state = 'pending'  THEN amount END), 0) AS pending,
			       COALESCE(SUM(CASE WHEN state = 'rejected' THEN amount END), 0) AS rejected,
			       COALESCE(SUM(CASE WHEN state = 'verified' AND epoch IS NOT NULL THEN amount END), 0) AS in_epoch,
			       COUNT(*) AS tasks
			FROM credits WHERE ? = '' OR address = ?
			GROUP BY address, model),
		totals AS (
			SELECT model, SUM(amount) AS total FROM credits
			WHERE state = 'verified' AND model IN (SELECT model FROM per) GROUP BY model)
		SELECT per.address, per.model, per.verified, per.pending, per.rejected, per.in_epoch, per.tasks, COALESCE(totals.total, 0)
		FROM per LEFT JOIN totals ON totals.model = per.model
		ORDER BY per.address, per.model`, address, address)
	if err != nil {
		return nil, fmt.Errorf("ledger contributor credits: %w", err)
	}
	defer rows.Close()
	out := []ContributorCredit{}
	for rows.Next() {
		var c ContributorCredit
		if err := rows.Scan(&c.Address, &c.Model, &c.Verified, &c.Pending, &c.Rejected, &c.InEpoch, &c.Tasks, &c.ModelVerified); err != nil {
			return nil, fmt.Errorf("ledger contributor credits: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ModelCredit is the credit of all contributors in one model, by state.
type ModelCredit struct {
	Model        string `json:"model"`
	Verified     int64  `json:"verified"`
	Pending      int64  `json:"pending"`
	Rejected     int64  `json:"rejected"`
	InEpoch      int64  `json:"in_epoch"`
	Contributors int    `json:"contributors"` // addresses with any credit row
}

// ModelCredits returns every model's credit, by model.
func (l *Ledger) ModelCredits(ctx context.Context) ([]ModelCredit, error) {
	rows, err := l.db.QueryContext(ctx, `
		SELECT model,
		       COALESCE(SUM(CASE WHEN state = 'verified' THEN amount END), 0),
		       COALESCE(SUM(CASE WHEN state = 'pending'  THEN amount END), 0),
		       COALESCE(SUM(CASE WHEN state = 'rejected' THEN amount END), 0),
		       COALESCE(SUM(CASE WHEN state = 'verified' AND epoch IS NOT NULL THEN amount END), 0),
		       COUNT(DISTINCT address)
		FROM credits GROUP BY model ORDER BY model`)
	if err != nil {
		return nil, fmt.Errorf("ledger model credits: %w", err)
	}
	defer rows.Close()
	out := []ModelCredit{}
	for rows.Next() {
		var m ModelCredit
		if err := rows.Scan(&m.Model, &m.Verified, &m.Pending, &m.Rejected, &m.InEpoch, &m.Contributors); err != nil {
			return nil, fmt.Errorf("ledger model credits: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
