-- Inference: the API keys that may call the hub's OpenAI-compatible API,
-- and one metered row per completed request.
--
-- A key is stored as the hex SHA-256 of its bearer token, never the token
-- itself. Its price is wei per 1,000 tokens (prompt and completion alike),
-- decimal TEXT as wide as a uint256; a request costs
-- floor((prompt + completion) · price / 1000) wei.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 64),
    hash         TEXT    NOT NULL UNIQUE,   -- hex SHA-256 of the bearer token
    price_wei    TEXT    NOT NULL CHECK (price_wei <> '' AND price_wei NOT GLOB '*[^0-9]*' AND length(price_wei) <= 78),
    rate_limit   INTEGER NOT NULL CHECK (rate_limit >= 0), -- requests per minute, 0: unlimited
    created_at   INTEGER NOT NULL,          -- unix milliseconds
    revoked_at   INTEGER                    -- unix milliseconds; NULL while valid
);

-- One row per request served, written before the response's last byte
-- (the usage object) leaves the hub. request is the response's id, so a
-- retried write cannot count a request twice. epoch is stamped by the
-- model's epoch snapshot, as credits.epoch is: NULL until the request's
-- revenue is in an epoch.
CREATE TABLE usage (
    id                INTEGER PRIMARY KEY,
    request           TEXT    NOT NULL UNIQUE,
    key_id            INTEGER NOT NULL REFERENCES api_keys (id),
    model             TEXT    NOT NULL,
    prompt_tokens     INTEGER NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER NOT NULL CHECK (completion_tokens >= 0),
    wei               TEXT    NOT NULL CHECK (wei <> '' AND wei NOT GLOB '*[^0-9]*' AND length(wei) <= 78),
    at                INTEGER NOT NULL,     -- unix milliseconds
    epoch             INTEGER CHECK (epoch IS NULL OR epoch >= 1)
);
CREATE INDEX usage_model_epoch ON usage (model, epoch);
CREATE INDEX usage_key ON usage (key_id, at);
