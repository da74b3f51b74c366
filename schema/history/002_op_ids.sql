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
-- writes stops growing with the log. A lookup probes each generation once.
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
-- The bits the generations were cut with (HistoryIndex::kGenerationBits);
-- a file written with others is rebuilt.
ALTER TABLE history_state ADD COLUMN generation_bits INTEGER NOT NULL DEFAULT 18;
DELETE FROM account_ops;
UPDATE history_state SET indexed_seq = 0, indexed_hash = NULL WHERE id = 1;
