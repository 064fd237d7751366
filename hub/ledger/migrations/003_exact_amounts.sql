-- Cumulative credit outgrows 64 bits: a model trained for long passes
-- 2^63 FLOP (GPT-2 small alone is ~1e20). An epoch's total and its leaves
-- become exact decimal TEXT, as wide as the contract's uint256. A credit
-- row (one execution of one task) stays an INTEGER: sums over rows are
-- computed exactly (ledger/sum.go), never with SQLite's 64-bit SUM.
--
-- SQLite cannot change a column's type, so both tables are rebuilt and
-- their rows copied; the old INTEGER values become their decimal text.
-- Leaves are rebuilt first so the epochs they reference can be replaced.
CREATE TABLE epochs_v3 (
    model        TEXT    NOT NULL,
    epoch        INTEGER NOT NULL CHECK (epoch >= 1),
    root         TEXT    NOT NULL,          -- 0x-hex Merkle root
    total        TEXT    NOT NULL CHECK (total <> '' AND total NOT GLOB '*[^0-9]*' AND length(total) <= 78), -- decimal FLOPs
    contributors INTEGER NOT NULL CHECK (contributors >= 1),
    state        TEXT    NOT NULL CHECK (state IN ('prepared', 'sent', 'committed')),
    tx_hash      TEXT    NOT NULL DEFAULT '', -- 0x-hex, the latest sent (or the including) transaction
    block        INTEGER,                   -- the block that included it
    prepared_at  INTEGER NOT NULL,          -- unix milliseconds
    sent_at      INTEGER,
    committed_at INTEGER,
    PRIMARY KEY (model, epoch)
);
INSERT INTO epochs_v3 (model, epoch, root, total, contributors, state, tx_hash, block, prepared_at, sent_at, committed_at)
    SELECT model, epoch, root, CAST(total AS TEXT), contributors, state, tx_hash, block, prepared_at, sent_at, committed_at FROM epochs;

CREATE TABLE epoch_leaves_v3 (
    model    TEXT    NOT NULL,
    epoch    INTEGER NOT NULL,
    address  TEXT    NOT NULL,              -- 0x-hex checksummed, as in credits
    amount   TEXT    NOT NULL CHECK (amount <> '' AND amount NOT GLOB '*[^0-9]*' AND length(amount) <= 78), -- cumulative verified credit, decimal FLOPs
    PRIMARY KEY (model, epoch, address),
    FOREIGN KEY (model, epoch) REFERENCES epochs_v3 (model, epoch)
) WITHOUT ROWID;
INSERT INTO epoch_leaves_v3 (model, epoch, address, amount)
    SELECT model, epoch, address, CAST(amount AS TEXT) FROM epoch_leaves;

DROP TABLE epoch_leaves;
DROP TABLE epochs;
-- Renaming rewrites the foreign key of epoch_leaves_v3 to name epochs.
ALTER TABLE epochs_v3 RENAME TO epochs;
ALTER TABLE epoch_leaves_v3 RENAME TO epoch_leaves;
