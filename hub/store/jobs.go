package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Job states.
const (
	StateRunning = "running"
	StatePaused  = "paused"
	StateDone    = "done"
	StateFailed  = "failed"
)

// Job is a training job's row.
type Job struct {
	ID         string
	Name       string
	Spec       string // JSON
	State      string
	Step       int    // steps applied in Checkpoint
	Checkpoint string // file relative to the data directory; "" before the first
	Error      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// ErrNotFound is returned for a job that does not exist.
var ErrNotFound = errors.New("not found")

func now() int64 { return time.Now().UnixMilli() }

// CreateJob inserts a new job in state running at step 0.
func (s *DB) CreateJob(ctx context.Context, id, name, spec string) error {
	defer s.jobsWritten()
	t := now()
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO jobs (id, name, spec, state, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)`,
		id, name, spec, t, t)
	if err != nil {
		return fmt.Errorf("create job %s: %w", id, err)
	}
	return nil
}

const jobCols = `id, name, spec, state, step, COALESCE(checkpoint, ''), error, created_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var c, u int64
	err := row.Scan(&j.ID, &j.Name, &j.Spec, &j.State, &j.Step, &j.Checkpoint, &j.Error, &c, &u)
	j.CreatedAt, j.UpdatedAt = time.UnixMilli(c), time.UnixMilli(u)
	return j, err
}

// Job returns one job.
func (s *DB) Job(ctx context.Context, id string) (Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("read job %s: %w", id, err)
	}
	return j, nil
}

// Jobs returns every job, oldest first, from a cache that every write to
// the table invalidates. The slice is the caller's.
func (s *DB) Jobs(ctx context.Context) ([]Job, error) {
	s.jobsMu.Lock()
	if s.jobs != nil && s.jobsAt == s.jobsGen {
		out := slices.Clone(s.jobs)
		s.jobsMu.Unlock()
		return out, nil
	}
	gen := s.jobsGen
	s.jobsMu.Unlock()
	out, err := s.readJobs(ctx)
	if err != nil {
		return nil, err
	}
	s.jobsMu.Lock()
	if s.jobsGen == gen {
		s.jobs, s.jobsAt = slices.Clone(out), gen
		if s.jobs == nil {
			s.jobs = []Job{}
		}
	}
	s.jobsMu.Unlock()
	return out, nil
}

func (s *DB) readJobs(ctx context.Context) ([]Job, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+jobCols+` FROM jobs ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// SetState changes a job's state, with an error message for failed.
func (s *DB) SetState(ctx context.Context, id, state, msg string) error {
	defer s.jobsWritten()
	res, err := s.db.ExecContext(ctx, `UPDATE jobs SET state = ?, error = ?, updated_at = ? WHERE id = ?`, state, msg, now(), id)
	if err != nil {
		return fmt.Errorf("set job %s state: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	return nil
}

// ErrStepNotAhead is returned when a checkpoint would not move a job
// forward: steps are applied once, and progress never goes back.
var ErrStepNotAhead = errors.New("checkpoint step is not ahead of the recorded step")

// SetCheckpoint records that the job's state after step steps is in file.
// It refuses a step that is not ahead of the recorded one.
func (s *DB) SetCheckpoint(ctx context.Context, id string, step int, file string) error {
	defer s.jobsWritten()
	res, err := s.db.ExecContext(ctx,
		`UPDATE jobs SET step = ?, checkpoint = ?, updated_at = ? WHERE id = ? AND step < ?`,
		step, file, now(), id, step)
	if err != nil {
		return fmt.Errorf("record checkpoint of job %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Job(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("job %s step %d: %w", id, step, ErrStepNotAhead)
	}
	return nil
}

// DeleteJob removes a job and, by cascade, its history and exposure.
func (s *DB) DeleteJob(ctx context.Context, id string) error {
	defer s.jobsWritten()
	res, err := s.db.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	return nil
}

// Point is one row of a job's evaluation history. For a language model
// TestLoss is the validation loss in nats per byte and TestAccuracy is 0.
type Point struct {
	Step         int       `json:"step"`
	At           time.Time `json:"at"`
	TrainLoss    float64   `json:"train_loss"`
	TestLoss     float64   `json:"test_loss"`
	TestAccuracy float64   `json:"test_accuracy"`
	// BitsPerByte is the language model's validation loss in bits per
	// byte (0 for other models).
	BitsPerByte float64 `json:"bits_per_byte,omitempty"`
	// TokensPerSecond is the training throughput since the previous point
	// (tokens for a language model, examples otherwise).
	TokensPerSecond float64 `json:"tokens_per_second,omitempty"`
	// Full is set when the whole held-out split was scored, not a sample.
	Full bool `json:"full,omitempty"`
}

// AddPoint appends an evaluation to the job's history. A point for a step
// already recorded (a step re-run after a restart) replaces it.
func (s *DB) AddPoint(ctx context.Context, id string, p Point) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT OR REPLACE INTO history (job_id, step, at, train_loss, test_loss, test_accuracy, bits_per_byte, tokens_per_second, full_eval)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, p.Step, p.At.UnixMilli(), p.TrainLoss, p.TestLoss, p.TestAccuracy, p.BitsPerByte, p.TokensPerSecond, p.Full)
	if err != nil {
		return fmt.Errorf("record evaluation of job %s: %w", id, err)
	}
	return nil
}

// History returns the job's evaluations in step order.
func (s *DB) History(ctx context.Context, id string) ([]Point, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT step, at, train_loss, test_loss, test_accuracy, bits_per_byte, tokens_per_second, full_eval
		 FROM history WHERE job_id = ? ORDER BY step`, id)
	if err != nil {
		return nil, fmt.Errorf("read history of job %s: %w", id, err)
	}
	defer rows.Close()
	out := []Point{}
	for rows.Next() {
		var p Point
		var at int64
		if err := rows.Scan(&p.Step, &at, &p.TrainLoss, &p.TestLoss, &p.TestAccuracy, &p.BitsPerByte, &p.TokensPerSecond, &p.Full); err != nil {
			return nil, err
		}
		p.At = time.UnixMilli(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// RecordExposure durably records that address has received weight tile
// of the job. Recording the same pair again is a no-op.
func (s *DB) RecordExposure(ctx context.Context, id, address string, tile int) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT OR IGNORE INTO exposure (job_id, address, tile, at) VALUES (?, ?, ?, ?)`, id, address, tile, now())
	if err != nil {
		return fmt.Errorf("record exposure of job %s: %w", id, err)
	}
	return nil
}

// Exposure returns, per address, the weight tiles it has received.
func (s *DB) Exposure(ctx context.Context, id string) (map[string][]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT address, tile FROM exposure WHERE job_id = ? ORDER BY address, tile`, id)
	if err != nil {
		return nil, fmt.Errorf("read exposure of job %s: %w", id, err)
	}
	defer rows.Close()
	out := map[string][]int{}
	for rows.Next() {
		var a string
		var t int
		if err := rows.Scan(&a, &t); err != nil {
			return nil, err
		}
		out[a] = append(out[a], t)
	}
	return out, rows.Err()
}
