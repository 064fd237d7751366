// Package sqlite opens the hub's SQLite databases (github.com/mattn/go-sqlite3)
// the same way everywhere: WAL journal, foreign keys on, a busy timeout,
// and the caller's embedded schema migrations applied in order, each in its
// own transaction with the version bump. Entry point: Open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// Open opens (creating if needed) the database at path and applies the
// migrations in dir of migrations: files named N_description.sql, applied
// in order of N, each once.
func Open(ctx context.Context, path string, migrations fs.FS, dir string) (*sql.DB, error) {
	dsn := "file:" + path + "?_journal_mode=WAL&_foreign_keys=on&_busy_timeout=5000&_synchronous=NORMAL&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// One connection: SQLite serializes writers anyway, and a single
	// connection makes every transaction see the previous one's writes.
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db, migrations, dir); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return db, nil
}

type migration struct {
	version int
	name    string
}

func migrate(ctx context.Context, db *sql.DB, migrations fs.FS, dir string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	err := db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	files, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return err
	}
	var ms []migration
	for _, f := range files {
		base := strings.TrimPrefix(f, dir+"/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: the name must start with its version number", f)
		}
		ms = append(ms, migration{v, f})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		body, err := fs.ReadFile(migrations, m.name)
		if err != nil {
			return err
		}
		if err := apply(ctx, db, m, string(body)); err != nil {
			return err
		}
		current = m.version
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, m migration, body string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, m.version); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	return nil
}
