// Package store is the hub's SQLite database (github.com/mattn/go-sqlite3):
// training jobs, their progress and evaluation history, checkpoints, and
// the exposure record of which contributor has received which weight tile.
//
// Open applies the embedded schema migrations (internal/sqlite). Entry
// point: Open.
package store

import (
	"context"
	"database/sql"
	"embed"
	"sync"

	"github.com/tessera-ai/tessera/internal/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the hub's database.
type DB struct {
	db *sql.DB

	// The jobs table, cached: every completion request reads it, and it
	// changes only through this type's methods (only the hub opens the
	// file). jobsGen counts writes; a read caches its rows only if no write
	// ended while it ran.
	jobsMu  sync.Mutex
	jobsGen uint64
	jobs    []Job // nil: nothing cached
	jobsAt  uint64
}

// Open opens (creating if needed) the database file at path and migrates
// it to the current schema.
func Open(ctx context.Context, path string) (*DB, error) {
	db, err := sqlite.Open(ctx, path, migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return &DB{db: db}, nil
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// SQL returns the underlying handle. Writes to the jobs table must go
// through DB's methods, which keep Jobs' cache right.
func (s *DB) SQL() *sql.DB { return s.db }

// jobsWritten marks the cached jobs stale. Writers call it once their
// statement has ended: a read that overlapped the write sees the count
// move and caches nothing, and rows cached before it are dropped.
func (s *DB) jobsWritten() {
	s.jobsMu.Lock()
	s.jobsGen++
	s.jobs = nil
	s.jobsMu.Unlock()
}
