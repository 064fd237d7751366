-- Language-model figures in the evaluation history: validation bits per
-- byte, training throughput in tokens per second, and whether the whole
-- validation split was scored (1) or a bounded sample (0). MNIST rows keep
-- 0 in the first two.
ALTER TABLE history ADD COLUMN bits_per_byte     REAL    NOT NULL DEFAULT 0;
ALTER TABLE history ADD COLUMN tokens_per_second REAL    NOT NULL DEFAULT 0;
ALTER TABLE history ADD COLUMN full_eval         INTEGER NOT NULL DEFAULT 0;
