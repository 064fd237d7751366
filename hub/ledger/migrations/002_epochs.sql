-- On-chain epochs. A snapshot stamps every verified, unstamped credit row
-- of a model with the next epoch (credits.epoch); the epoch's tree is the
-- sum per address of the verified rows stamped with it or earlier. Stamped
-- rows never change again (a ban's revoke spares them), so the snapshot
-- stays exactly what goes on-chain.
--
-- A row here is written before any transaction is sent ('prepared'), gets
-- the hash of the transaction carrying it ('sent') and then the block that
-- included it ('committed'). Per model, at most one epoch is not committed,
-- and it is the latest.
CREATE TABLE epochs (
    model        TEXT    NOT NULL,
    epoch        INTEGER NOT NULL CHECK (epoch >= 1),
    root         TEXT    NOT NULL,          -- 0x-hex Merkle root
    total        INTEGER NOT NULL CHECK (total >= 0),
    contributors INTEGER NOT NULL CHECK (contributors >= 1),
    state        TEXT    NOT NULL CHECK (state IN ('prepared', 'sent', 'committed')),
    tx_hash      TEXT    NOT NULL DEFAULT '', -- 0x-hex, the latest sent (or the including) transaction
    block        INTEGER,                   -- the block that included it
    prepared_at  INTEGER NOT NULL,          -- unix milliseconds
    sent_at      INTEGER,
    committed_at INTEGER,
    PRIMARY KEY (model, epoch)
);

-- The leaves of each epoch's tree, so proofs can be served later.
CREATE TABLE epoch_leaves (
    model    TEXT    NOT NULL,
    epoch    INTEGER NOT NULL,
    address  TEXT    NOT NULL,              -- 0x-hex checksummed, as in credits
    amount   INTEGER NOT NULL CHECK (amount >= 0), -- cumulative verified credit
    PRIMARY KEY (model, epoch, address),
    FOREIGN KEY (model, epoch) REFERENCES epochs (model, epoch)
) WITHOUT ROWID;

-- The latest stamp without a scan. Maintained only when rows are stamped,
-- never on the insert path. (No index of unstamped rows: it cost ~10% of
-- verified inserts, and a snapshot sums all of a model's verified rows
-- through credits_by_model anyway.)
CREATE INDEX credits_by_epoch ON credits (model, epoch) WHERE epoch IS NOT NULL;
