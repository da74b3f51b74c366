-- rollup 008: the heads are folded every few batches (src/rollup/leaf_rows.h,
-- LeafHeads). rollup_leaf_head holds each key's newest version among the rows
-- at versions <= heads_through; a key's rows above it are found by version
-- (at most kFoldHeadsEvery + 1 versions). Every head written so far is
-- current: the fold position is the newest row's version.
ALTER TABLE rollup_state ADD COLUMN heads_through INTEGER NOT NULL DEFAULT -1 CHECK (heads_through >= -1);
UPDATE rollup_state SET heads_through = (SELECT coalesce(max(version), -1) FROM rollup_leaf_versions);
