-- history 003: accounts' histories keyed by generation too, so a pass writes
-- into a bounded part of the table however long the log grows.
--
-- Why: account_ops (key, seq) put each pass's rows next to each account's
-- older ones, all over a table growing with the log. Once the table was
-- larger than a pass, each row dirtied a page of its own: over a 120-s run
-- at 100k accounts the history thread went from 4.6 to 8-10 µs per transfer
-- (docs/BENCHMARKS.md, thirty-fifth and thirty-sixth rounds), the pattern
-- history/002 removed from the id lookup. Keyed (gen = seq >> bits, key,
-- seq), a pass's rows fall in the newest generation or two, as op_ids' do.
-- A read of an account's history walks the generations newest first and
-- stops once it has what it asked for; a complete generation is skipped
-- unless its filter of account keys (op_id_filters.accounts) may hold the
-- account.
--
-- The index is derived from the log: it is emptied and rebuilt from the log
-- by the thread at the next start (reads past 100,000 operations of tail
-- answer 503 history_catching_up meanwhile), as after history/002.
DROP TABLE account_ops;
CREATE TABLE account_ops (
  gen INTEGER NOT NULL,
  key BLOB NOT NULL,   -- AccountKey(account_id)
  seq INTEGER NOT NULL,
  PRIMARY KEY (gen, key, seq)
) WITHOUT ROWID;
-- A Bloom filter of the prefixes of the account keys a complete generation
-- touched, written with its id filter (same hashing; sized for the number
-- of distinct keys). NULL or of an impossible size: built again at start-up.
ALTER TABLE op_id_filters ADD COLUMN accounts BLOB;
DELETE FROM op_ids;
DELETE FROM op_id_filters;
UPDATE history_state SET indexed_seq = 0, indexed_hash = NULL WHERE id = 1;
