-- Revenue: each epoch also splits the model's revenue among its owners
-- (ledger/revenue.go has the rule). A model's revenue in epoch e is the
-- wei of its usage rows (migration 4) and of its revenue rows (below)
-- stamped with e by the epoch's snapshot, in the same transaction that
-- stamps its credit.
--
-- Revenue recorded directly, by the operator or by tests: income that did
-- not come through the metered API (a grant, a licence fee). Stamped like
-- usage rows.
CREATE TABLE revenue (
    id     INTEGER PRIMARY KEY,
    model  TEXT    NOT NULL CHECK (model <> ''),
    wei    TEXT    NOT NULL CHECK (wei <> '' AND wei NOT GLOB '*[^0-9]*' AND length(wei) <= 78),
    note   TEXT    NOT NULL DEFAULT '',
    at     INTEGER NOT NULL,                -- unix milliseconds
    epoch  INTEGER CHECK (epoch IS NULL OR epoch >= 1)
);
CREATE INDEX revenue_model_epoch ON revenue (model, epoch);

-- Per epoch: the revenue stamped with it, the dust it carries into the
-- next epoch, and its earnings tree's root and total (the sum of every
-- owner's cumulative earnings). Invariant, per model and prepared epoch e:
-- earnings_total(e) + dust(e) = the revenue stamped with e or earlier.
-- An epoch prepared before this migration has no earnings tree
-- (earnings_root ''), no revenue and no dust.
ALTER TABLE epochs ADD COLUMN revenue TEXT NOT NULL DEFAULT '0'
    CHECK (revenue <> '' AND revenue NOT GLOB '*[^0-9]*' AND length(revenue) <= 78);
ALTER TABLE epochs ADD COLUMN dust TEXT NOT NULL DEFAULT '0'
    CHECK (dust <> '' AND dust NOT GLOB '*[^0-9]*' AND length(dust) <= 78);
ALTER TABLE epochs ADD COLUMN earnings_root TEXT NOT NULL DEFAULT '';
ALTER TABLE epochs ADD COLUMN earnings_total TEXT NOT NULL DEFAULT '0'
    CHECK (earnings_total <> '' AND earnings_total NOT GLOB '*[^0-9]*' AND length(earnings_total) <= 78);

-- Each leaf's cumulative earnings in wei, beside its cumulative credit:
-- the earnings tree's leaf is (address, earnings).
ALTER TABLE epoch_leaves ADD COLUMN earnings TEXT NOT NULL DEFAULT '0'
    CHECK (earnings <> '' AND earnings NOT GLOB '*[^0-9]*' AND length(earnings) <= 78);
