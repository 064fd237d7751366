-- Training jobs: one row per separately owned model.
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    spec            TEXT NOT NULL,            -- the job's JSON spec
    state           TEXT NOT NULL CHECK (state IN ('running', 'paused', 'done', 'failed')),
    step            INTEGER NOT NULL DEFAULT 0, -- steps applied in the latest checkpoint
    checkpoint      TEXT,                     -- checkpoint file, relative to the data directory
    error           TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,         -- unix milliseconds
    updated_at      INTEGER NOT NULL
);

-- Evaluation history: test loss and accuracy at a step, plus the mean
-- training loss since the previous row.
CREATE TABLE history (
    job_id          TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    step            INTEGER NOT NULL,
    at              INTEGER NOT NULL,         -- unix milliseconds
    train_loss      REAL NOT NULL,
    test_loss       REAL NOT NULL,
    test_accuracy   REAL NOT NULL,
    PRIMARY KEY (job_id, step)
);

-- Exposure: which contributor has ever received which weight tile.
CREATE TABLE exposure (
    job_id          TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    address         TEXT NOT NULL,
    tile            INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    PRIMARY KEY (job_id, address, tile)
);
