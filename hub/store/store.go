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

	"github.com/tessera-ai/tessera/internal/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the hub's database.
type DB struct {
	db *sql.DB
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

// SQL returns the underlying handle.
func (s *DB) SQL() *sql.DB { return s.db }
