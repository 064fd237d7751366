package ledger

import (
	"context"
	"fmt"

	"github.com/tessera-ai/tessera/internal/flop"
)

// Queries for the operator (the admin API in hub/service/admin.go): credit
// per contributor and model, and per model. Like Balances they are sums
// over the credit rows, computed when asked.

// ContributorCredit is one contributor's credit in one model, by state.
type ContributorCredit struct {
	Address string `json:"address"`
	Model   string `json:"model"`
	// Amounts are exact FLOPs (JSON: decimal strings).
	Verified flop.Amount `json:"verified"`
	Pending  flop.Amount `json:"pending"`
	Rejected flop.Amount `json:"rejected"`
	// InEpoch is the part of Verified already in an on-chain epoch (or in
	// one being committed): a ban cannot revoke it.
	InEpoch flop.Amount `json:"in_epoch"`
	// Tasks counts the executions credited, in any state.
	Tasks int64 `json:"tasks"`
	// ModelVerified is the verified credit of all contributors in the
	// model, read together with the rest, so Verified/ModelVerified is
	// the contributor's share at one instant.
	ModelVerified flop.Amount `json:"model_verified"`
}

// ContributorCredits returns the credit of address in every model it
// worked for, or of every contributor when address is "", ordered by
// address then model. One statement reads it all: SQLite gives it one
// snapshot, even while the writer commits.
func (l *Ledger) ContributorCredits(ctx context.Context, address string) ([]ContributorCredit, error) {
	rows, err := l.db.QueryContext(ctx, `
		WITH per AS (
			SELECT address, model, COUNT(*) AS tasks,
			       `+sumOf("state = 'verified'")+`,
			       `+sumOf("state = 'pending'")+`,
			       `+sumOf("state = 'rejected'")+`,
			       `+sumOf("state = 'verified' AND epoch IS NOT NULL")+`
			FROM credits WHERE ? = '' OR address = ?
			GROUP BY address, model),
		totals AS (
			SELECT model AS total_model, `+sumOf("state = 'verified'")+` FROM credits
			WHERE model IN (SELECT model FROM per) GROUP BY model)
		SELECT per.*, totals.*
		FROM per JOIN totals ON totals.total_model = per.model
		ORDER BY per.address, per.model`, address, address)
	if err != nil {
		return nil, fmt.Errorf("ledger contributor credits: %w", err)
	}
	defer rows.Close()
	out := []ContributorCredit{}
	ps := make([]parts, 5)
	for rows.Next() {
		var c ContributorCredit
		var totalModel string
		dest := scanDest(ps[:4], &c.Address, &c.Model, &c.Tasks)
		dest = append(dest, &totalModel)
		dest = append(dest, ps[4].dest()...)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("ledger contributor credits: %w", err)
		}
		if err := sums(ps, &c.Verified, &c.Pending, &c.Rejected, &c.InEpoch, &c.ModelVerified); err != nil {
			return nil, fmt.Errorf("ledger contributor credits: %s in %s: %w", c.Address, c.Model, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ModelCredit is the credit of all contributors in one model, by state.
type ModelCredit struct {
	Model        string      `json:"model"`
	Verified     flop.Amount `json:"verified"`
	Pending      flop.Amount `json:"pending"`
	Rejected     flop.Amount `json:"rejected"`
	InEpoch      flop.Amount `json:"in_epoch"`
	Contributors int         `json:"contributors"` // addresses with any credit row
}

// ModelCredits returns every model's credit, by model.
func (l *Ledger) ModelCredits(ctx context.Context) ([]ModelCredit, error) {
	rows, err := l.db.QueryContext(ctx, `
		SELECT model, COUNT(DISTINCT address),
		       `+sumOf("state = 'verified'")+`,
		       `+sumOf("state = 'pending'")+`,
		       `+sumOf("state = 'rejected'")+`,
		       `+sumOf("state = 'verified' AND epoch IS NOT NULL")+`
		FROM credits GROUP BY model ORDER BY model`)
	if err != nil {
		return nil, fmt.Errorf("ledger model credits: %w", err)
	}
	defer rows.Close()
	out := []ModelCredit{}
	ps := make([]parts, 4)
	for rows.Next() {
		var m ModelCredit
		if err := rows.Scan(scanDest(ps, &m.Model, &m.Contributors)...); err != nil {
			return nil, fmt.Errorf("ledger model credits: %w", err)
		}
		if err := sums(ps, &m.Verified, &m.Pending, &m.Rejected, &m.InEpoch); err != nil {
			return nil, fmt.Errorf("ledger model credits: %s: %w", m.Model, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
