package ledger

import (
	"context"
	"io/fs"
	"math"
	"math/big"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/tessera-ai/tessera/internal/flop"
	"github.com/tessera-ai/tessera/internal/sqlite"
)

// bigFL parses a decimal amount.
func bigFL(tb testing.TB, s string) flop.Amount {
	tb.Helper()
	a, err := flop.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// TestSumsPast64Bits credits amounts whose sums sit just below and just
// above 2^64 (and past 2^63, where SQLite's SUM fails): every query must
// give the exact sum, and an epoch must store and return it.
func TestSumsPast64Bits(t *testing.T) {
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	const max = math.MaxInt64 // the largest amount of one row
	// 0xa: 2·(2^63-1) + 1 = 2^64-1, one below the boundary.
	// 0xb: 2·(2^63-1) + 2 = 2^64, on it.
	// 0xc: 3·(2^63-1) + 7, past it.
	must(t, l.Submit(
		Op{Kind: AddVerified, Task: "a1", Model: "m", Address: "0xa", Amount: max},
		Op{Kind: AddVerified, Task: "a2", Model: "m", Address: "0xa", Amount: max},
		Op{Kind: AddVerified, Task: "a3", Model: "m", Address: "0xa", Amount: 1},
		Op{Kind: AddVerified, Task: "b1", Model: "m", Address: "0xb", Amount: max},
		Op{Kind: AddVerified, Task: "b2", Model: "m", Address: "0xb", Amount: max},
		Op{Kind: AddVerified, Task: "b3", Model: "m", Address: "0xb", Amount: 2},
		Op{Kind: AddVerified, Task: "c1", Model: "m", Address: "0xc", Amount: max},
		Op{Kind: AddVerified, Task: "c2", Model: "m", Address: "0xc", Amount: max},
		Op{Kind: AddVerified, Task: "c3", Model: "m", Address: "0xc", Amount: max},
		Op{Kind: AddVerified, Task: "c4", Model: "m", Address: "0xc", Amount: 7},
		Op{Kind: AddPending, Task: "c5", Model: "m", Address: "0xc", Amount: max},
		Op{Kind: AddPending, Task: "c6", Model: "m", Address: "0xc", Amount: max},
	))
	a := bigFL(t, "18446744073709551615")  // 2^64-1
	b := bigFL(t, "18446744073709551616")  // 2^64
	c := bigFL(t, "27670116110564327428")  // 3·(2^63-1)+7
	cp := bigFL(t, "18446744073709551614") // 2·(2^63-1)
	total := bigFL(t, "64563604257983430659")

	bs, err := l.Balances(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := []Balance{{Address: "0xc", Verified: c, Pending: cp}, {Address: "0xb", Verified: b}, {Address: "0xa", Verified: a}}
	if !reflect.DeepEqual(bs, want) {
		t.Fatalf("balances\n got %+v\nwant %+v", bs, want)
	}
	if tot, err := l.Totals(ctx); err != nil || tot["m"] != total {
		t.Fatalf("totals %v, %v; want %s", tot, err, total)
	}
	ms, err := l.ModelCredits(ctx)
	if err != nil || len(ms) != 1 || ms[0].Verified != total || ms[0].Pending != cp {
		t.Fatalf("model credits %+v, %v", ms, err)
	}
	cc, err := l.ContributorCredits(ctx, "0xc")
	if err != nil || len(cc) != 1 || cc[0].Verified != c || cc[0].ModelVerified != total || cc[0].Tasks != 6 {
		t.Fatalf("contributor credits %+v, %v", cc, err)
	}
	if err := l.CheckInvariants(ctx); err != nil {
		t.Fatal(err)
	}

	s := snapshot(t, l, "m")
	wantLeaves := []Leaf{{Address: "0xa", Amount: a}, {Address: "0xb", Amount: b}, {Address: "0xc", Amount: c}}
	if !reflect.DeepEqual(s.Leaves, wantLeaves) || s.Total != total {
		t.Fatalf("snapshot %+v, want leaves %+v total %s", s, wantLeaves, total)
	}
	commitEpoch(t, l, s)
	leaves, err := l.Leaves(ctx, "m", 1)
	if err != nil || !reflect.DeepEqual(leaves, wantLeaves) {
		t.Fatalf("stored leaves %+v, %v", leaves, err)
	}
	e, err := l.EpochAt(ctx, "m", 1)
	if err != nil || e.Total != total {
		t.Fatalf("stored epoch %+v, %v", e, err)
	}
	cc, err = l.ContributorCredits(ctx, "0xc")
	if err != nil || cc[0].InEpoch != c {
		t.Fatalf("in epoch %+v, %v", cc, err)
	}
}

// TestSumPartsRecombine checks the three-part sum against big.Int on
// amounts that exercise every part's carry.
func TestSumPartsRecombine(t *testing.T) {
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	amounts := []int64{math.MaxInt64, 1<<42 - 1, 1 << 42, 1<<21 - 1, 1 << 21, 0, 1, math.MaxInt64 - 1<<21}
	want := new(big.Int)
	for i, n := range amounts {
		must(t, l.Submit(Op{Kind: AddVerified, Task: string(rune('a' + i)), Model: "m", Address: "0xa", Amount: n}))
		want.Add(want, big.NewInt(n))
	}
	bs, err := l.Balances(ctx, "m")
	if err != nil || len(bs) != 1 || bs[0].Verified.Big().Cmp(want) != 0 {
		t.Fatalf("balances %+v, %v; want %s", bs, err, want)
	}
}

// TestMigrateExactAmounts opens a ledger written by the schema before
// amounts became TEXT (migrations 1 and 2 only), with committed epochs,
// and checks that the migration keeps every epoch, leaf and credit, that
// foreign keys still hold, and that the next epoch commits on top.
func TestMigrateExactAmounts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	old := fstest.MapFS{}
	for _, name := range []string{"migrations/001_credits.sql", "migrations/002_epochs.sql"} {
		b, err := fs.ReadFile(migrations, name)
		if err != nil {
			t.Fatal(err)
		}
		old[name] = &fstest.MapFile{Data: b}
	}
	db, err := sqlite.Open(ctx, path, old, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO credits (task, model, address, amount, state, epoch, created_at) VALUES
			('t1', 'm', '0xA', 9000000000000000000, 'verified', 1, 1),
			('t2', 'm', '0xB', 5, 'verified', 1, 1),
			('t3', 'm', '0xB', 6, 'verified', 2, 1),
			('t4', 'm', '0xB', 7, 'verified', NULL, 1)`,
		`INSERT INTO epochs (model, epoch, root, total, contributors, state, tx_hash, block, prepared_at, sent_at, committed_at) VALUES
			('m', 1, '0x` + hexOf(1) + `', 9000000000000000005, 2, 'committed', '0x` + hexOf(0xe1) + `', 10, 1, 2, 3),
			('m', 2, '0x` + hexOf(2) + `', 9000000000000000011, 2, 'committed', '0x` + hexOf(0xe2) + `', 11, 4, 5, 6)`,
		`INSERT INTO epoch_leaves (model, epoch, address, amount) VALUES
			('m', 1, '0xA', 9000000000000000000), ('m', 1, '0xB', 5),
			('m', 2, '0xA', 9000000000000000000), ('m', 2, '0xB', 11)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	l := open(t, path)
	defer l.Close()
	var version int
	if err := l.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version); err != nil || version != latestMigration(t) {
		t.Fatalf("schema version %d, %v", version, err)
	}
	for n, want := range map[uint64][]Leaf{
		1: {{Address: "0xA", Amount: fl(9000000000000000000)}, {Address: "0xB", Amount: fl(5)}},
		2: {{Address: "0xA", Amount: fl(9000000000000000000)}, {Address: "0xB", Amount: fl(11)}},
	} {
		got, err := l.Leaves(ctx, "m", n)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("epoch %d leaves %+v, %v; want %+v", n, got, err, want)
		}
	}
	e, err := l.EpochAt(ctx, "m", 2)
	if err != nil || e.Total != fl(9000000000000000011) || e.State != EpochCommitted || e.Block != 11 || e.TxHash != ([32]byte{0xe2}) {
		t.Fatalf("epoch 2 %+v, %v", e, err)
	}
	var fkProblems int
	if err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&fkProblems); err != nil || fkProblems != 0 {
		t.Fatalf("foreign key check: %d problems, %v", fkProblems, err)
	}
	// The foreign key still refers to the (new) epochs table.
	if _, err := l.db.ExecContext(ctx, `INSERT INTO epoch_leaves (model, epoch, address, amount) VALUES ('m', 9, '0xA', '1')`); err == nil {
		t.Fatal("a leaf of an unknown epoch was stored")
	}
	if _, err := l.db.ExecContext(ctx, `INSERT INTO epochs (model, epoch, root, total, contributors, state, prepared_at) VALUES ('x', 1, '0x00', '1e5', 1, 'prepared', 1)`); err == nil {
		t.Fatal("a total that is not decimal digits was stored")
	}
	s := snapshot(t, l, "m")
	want := Snapshot{Model: "m", Epoch: 3, Leaves: []Leaf{{Address: "0xA", Amount: fl(9000000000000000000)}, {Address: "0xB", Amount: fl(18)}}, Total: fl(9000000000000000018)}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("snapshot after migration %+v, want %+v", s, want)
	}
	commitEpoch(t, l, s)
}

// hexOf returns 32 bytes starting with b, in hex without 0x.
func hexOf(b byte) string {
	var h [32]byte
	h[0] = b
	return hex32(h)[2:]
}

// latestMigration returns the number of the last embedded migration, the
// schema version a fully migrated ledger has.
func latestMigration(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	return len(files)
}
