-- core 006: the account rows' write-back (src/state/unwritten_rows.h). A
-- group does not UPDATE the account rows it changes that the store already
-- has: it appends their new images, as one record, here, in its own
-- transaction; the sequencer writes the rows back in key order, a slice of
-- the key space per group, and deletes the records a finished sweep made
-- redundant. The committed state in any snapshot is therefore account_rows
-- with these records applied in seq order (state::ApplyRedo does it at
-- open; exact readers read them, state::ReadRedo). A row per group, appended
-- at the end of the table: a transfer's two rows cost ~60 bytes here instead
-- of two B-tree pages at random places once accounts number a million
-- (docs/BENCHMARKS.md, forty-first and forty-fourth rounds).
CREATE TABLE account_redo (
  seq  INTEGER PRIMARY KEY,
  rows BLOB NOT NULL
);
-- Moved by every group that writes rows back: a reader's snapshot older
-- than a write-back whose rows the node no longer holds in memory is
-- refused and read again (src/state/unwritten_rows.h, FindIn).
INSERT INTO counters (name, value) VALUES ('write_back_seq', 0);
