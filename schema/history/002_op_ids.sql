-- history 002: the operation-id lookup keyed by generation, so a pass writes
-- into a bounded part of the table however long the log grows.
--
-- Why: op_hash (32-byte id -> seq) took ids at random places of one B-tree.
-- Once that tree was larger than a pass, each row of a pass dirtied a page
-- of its own and the checkpoint copied it again: over a 120-s run at 10,000
-- transfers/s the history thread's writes went 4 -> 52-64 MB/s and the rate
-- bent by 10-19 % (docs/BENCHMARKS.md, twenty-ninth and thirtieth rounds).
-- Keyed (gen = seq >> 18, prefix, seq), a pass's rows all fall in the newest
-- generation or two (at most 2^18 operations, ~1,300 pages), so what a pass
-- writes stops growing with the log. A lookup probes the generations whose
-- filter (op_id_filters, below) may hold the id.
--
-- prefix is the id's first 8 bytes as a big-endian signed integer: half the
-- size of the id, so twice the rows per page. Two ids can share a prefix (a
-- client could grind a pair with ~2^32 hashes), so a prefix names candidates
-- and readers keep the one whose logged id is the id asked for.
--
-- The index is derived from the log: the old table is dropped and the whole
-- index rebuilt from the log by the thread at the next start (reads past
-- 100,000 operations of tail answer 503 history_catching_up meanwhile).
DROP TABLE op_hash;
CREATE TABLE op_ids (
  gen    INTEGER NOT NULL,
  prefix INTEGER NOT NULL,
  seq    INTEGER NOT NULL,
  PRIMARY KEY (gen, prefix, seq)
) WITHOUT ROWID;
-- A Bloom filter of each complete generation's id prefixes (gen's every seq
-- <= indexed_seq), written with the pass that completes it: a lookup probes
-- a complete generation only if its filter may hold the prefix, so lookups
-- do not cost more as the log grows. Host byte order (the file is the node's
-- own); one missing or of the wrong size is built again at start-up.
CREATE TABLE op_id_filters (
  gen    INTEGER PRIMARY KEY,
  filter BLOB NOT NULL
);
-- The bits the generations were cut with (HistoryIndex::kGenerationBits);
-- a file written with others is rebuilt.
ALTER TABLE history_state ADD COLUMN generation_bits INTEGER NOT NULL DEFAULT 18;
DELETE FROM account_ops;
UPDATE history_state SET indexed_seq = 0, indexed_hash = NULL WHERE id = 1;
