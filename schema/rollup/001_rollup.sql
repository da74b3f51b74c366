-- rollup 001: the rollup index (owned by src/rollup), in its own file
-- <datadir>/rollup.sqlite. It follows the operation log of krayd.sqlite from
-- its own position (rollup_state.applied_seq), like Bitcoin Core's indexes
-- follow the chain. See docs/ROLLUP.md.

-- Sparse Merkle tree nodes, versioned by batch number: the row (pos, version)
-- is the node at `pos` written while batch `version` was open (version 0 =
-- genesis). kind: 0 = erased (tombstone), 1 = leaf (a = key, b = value hash),
-- 2 = internal (a = left hash, b = right hash). The tree as of batch N is the
-- newest row with version <= N per position. pos = u16be(depth) || prefix bytes.
CREATE TABLE rollup_smt_nodes (
  pos     BLOB NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 0),
  kind    INTEGER NOT NULL CHECK (kind IN (0, 1, 2)),
  a       BLOB,
  b       BLOB,
  PRIMARY KEY (pos, version)
) WITHOUT ROWID;

-- Leaf preimages per version (same versioning as the nodes; data NULL = leaf
-- removed), so proofs at past batches can show the leaf's data.
CREATE TABLE rollup_leaf_data (
  key     BLOB NOT NULL,
  version INTEGER NOT NULL,
  data    BLOB,
  PRIMARY KEY (key, version)
) WITHOUT ROWID;

-- The index's position (one row).
CREATE TABLE rollup_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  genesis_hash  TEXT NOT NULL,     -- the state store's genesis (refuses another store's index)
  genesis_root  TEXT NOT NULL,     -- hex, tree root of the genesis state (version 0)
  state_root    TEXT NOT NULL,     -- hex, root after applied_seq (the head)
  open_batch    INTEGER NOT NULL,  -- number the next closed batch gets
  open_since    INTEGER NOT NULL,  -- unix seconds the open interval started
  batched_seq   INTEGER NOT NULL,  -- last operation seq inside a closed batch
  applied_seq   INTEGER NOT NULL   -- last operation seq whose changes are in the tree
);

CREATE TABLE batches (
  number          INTEGER PRIMARY KEY CHECK (number >= 1),
  prev_state_root TEXT NOT NULL,
  state_root      TEXT NOT NULL,
  tx_root         TEXT NOT NULL,
  tx_count        INTEGER NOT NULL CHECK (tx_count >= 1),
  first_seq       INTEGER NOT NULL,
  last_seq        INTEGER NOT NULL,
  gas_collected   INTEGER NOT NULL DEFAULT 0 CHECK (gas_collected >= 0),
  gas_burned      INTEGER NOT NULL DEFAULT 0 CHECK (gas_burned >= 0),
  gas_retained    INTEGER NOT NULL DEFAULT 0 CHECK (gas_retained >= 0),     -- validators' half, kept in the fee pool
  created_at      INTEGER NOT NULL,
  anchor_status   TEXT NOT NULL DEFAULT 'built' CHECK (anchor_status IN ('built', 'anchored', 'finalized')),
  anchor_txid     TEXT,
  anchor_height   INTEGER
);
-- The batch of an operation: the one with last_seq >= seq, lowest number.
CREATE UNIQUE INDEX batches_last_seq ON batches (last_seq);
