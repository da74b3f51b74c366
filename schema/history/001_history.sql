-- history 001: the history index (owned by src/state/history_index), in its
-- own file <datadir>/history.sqlite. It follows the operation log of
-- krayd.sqlite from its own position (history_state.indexed_seq), like the
-- rollup index: everything here is derived from the log and is rebuilt from
-- it when the file is deleted or does not match the log (docs/STATE.md).

-- Which operations changed an account's leaf. key = AccountKey(account_id).
-- (Module entities' histories stay in krayd.sqlite's op_index, written with
-- the operations: modules read them in the same snapshot as their state.)
CREATE TABLE account_ops (
  key BLOB NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (key, seq)
) WITHOUT ROWID;

-- Operation id (32 bytes, "tx_hash") -> seq.
CREATE TABLE op_hash (
  hash BLOB PRIMARY KEY,
  seq  INTEGER NOT NULL
) WITHOUT ROWID;

-- The index's position (one row): every operation with seq <= indexed_seq is
-- in the tables above and none after it; indexed_hash is that operation's id,
-- checked against the log at start-up.
CREATE TABLE history_state (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_seq  INTEGER NOT NULL,
  indexed_hash BLOB
);
INSERT INTO history_state (id, indexed_seq, indexed_hash) VALUES (1, 0, NULL);
