-- One row per (task, contributor): the credit for one verified execution.
-- A row moves forward only: pending -> verified or pending -> rejected.
-- Balances and shares are sums over verified rows; nothing is stored twice.
CREATE TABLE credits (
    id          INTEGER PRIMARY KEY,
    task        TEXT    NOT NULL,           -- the hub's unique task key
    model       TEXT    NOT NULL,           -- the job (model) the work was for
    address     TEXT    NOT NULL,           -- the contributor, 0x-hex checksummed
    amount      INTEGER NOT NULL CHECK (amount >= 0), -- floating-point operations
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'verified', 'rejected')),
    epoch       INTEGER,                    -- the on-chain epoch that committed it
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,           -- unix milliseconds
    decided_at  INTEGER,
    UNIQUE (task, address)
);
-- Pending credit by address, for voiding it on a strike. Partial: most
-- credit is verified on arrival and never enters this index, which keeps
-- the insert path cheap (a ban's revoke of verified credit scans; bans are
-- rare).
CREATE INDEX credits_pending ON credits (address) WHERE state = 'pending';
CREATE INDEX credits_by_model ON credits (model, state, address);

-- Every verification decision, with its reason, append-only.
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    address     TEXT    NOT NULL,
    task        TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,           -- verified, rejected, voided, strike, quarantined, banned, ...
    reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX decisions_by_address ON decisions (address, id);

-- Contributors' standing, kept across restarts.
CREATE TABLE contributors (
    address     TEXT PRIMARY KEY,
    strikes     INTEGER NOT NULL DEFAULT 0,
    clean       INTEGER NOT NULL DEFAULT 0, -- results verified since the last strike
    banned      INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);
