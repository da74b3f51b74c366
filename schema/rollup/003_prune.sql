-- rollup 003: pruning the tree's history (config key rollupprune; docs/ROLLUP.md,
-- "Pruning"). Proofs at batches below oldest_proof_batch are no longer served:
-- the page and leaf rows that only those older trees read have been deleted.
-- 0 = every batch since genesis is provable (nothing pruned). While pruning is
-- on, krayd also keeps an index of each table by version (created and dropped
-- at start with the setting, not here).
ALTER TABLE rollup_state ADD COLUMN oldest_proof_batch INTEGER NOT NULL DEFAULT 0 CHECK (oldest_proof_batch >= 0);
