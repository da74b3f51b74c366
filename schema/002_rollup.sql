-- 002: rollup (owned by src/rollup). See docs/ROLLUP.md.

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

-- The rollup's running state (one row).
CREATE TABLE rollup_state (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  genesis_root TEXT NOT NULL,     -- hex, tree root of the genesis state (version 0)
  state_root   TEXT NOT NULL,     -- hex, current root (including the open batch)
  open_batch   INTEGER NOT NULL,  -- number the next closed batch gets
  open_since   INTEGER NOT NULL,  -- unix seconds the open interval started
  last_seq     INTEGER NOT NULL,  -- highest transactions.seq already in a closed batch
  base_seq     INTEGER NOT NULL   -- highest seq already in the state when the rollup started (genesis)
);

-- Leaf preimages per version (same versioning as the nodes; data NULL = leaf
-- removed), so proofs at past batches can show the account's data.
CREATE TABLE rollup_leaf_data (
  key     BLOB NOT NULL,
  version INTEGER NOT NULL,
  data    BLOB,
  PRIMARY KEY (key, version)
) WITHOUT ROWID;

-- Accounts changed since the tree was last updated (filled by triggers).
CREATE TABLE rollup_dirty (
  account_id TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Account creations and key bindings, in order. These are state changes that
-- are not transactions; `krayd verify` replays them: an event with
-- (batch = N, after_seq = S) is applied after tx S, and is part of batch N's
-- state root (stamped by the rollup in the group or tick that saw it; batch 0
-- = already in the genesis tree).
CREATE TABLE rollup_account_events (
  id         INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  l1_address TEXT NOT NULL,
  pubkey     TEXT,
  after_seq  INTEGER,
  batch      INTEGER
);
CREATE INDEX rollup_account_events_unstamped ON rollup_account_events (after_seq);

CREATE TRIGGER rollup_accounts_ins AFTER INSERT ON accounts BEGIN
  INSERT OR IGNORE INTO rollup_dirty (account_id) VALUES (NEW.account_id);
  INSERT INTO rollup_account_events (account_id, l1_address, pubkey) VALUES (NEW.account_id, NEW.l1_address, NEW.pubkey);
END;
CREATE TRIGGER rollup_accounts_upd AFTER UPDATE ON accounts BEGIN
  INSERT OR IGNORE INTO rollup_dirty (account_id) VALUES (NEW.account_id);
END;
CREATE TRIGGER rollup_accounts_key AFTER UPDATE OF pubkey ON accounts WHEN OLD.pubkey IS NOT NEW.pubkey BEGIN
  INSERT INTO rollup_account_events (account_id, l1_address, pubkey) VALUES (NEW.account_id, NEW.l1_address, NEW.pubkey);
END;
CREATE TRIGGER rollup_balances_ins AFTER INSERT ON balances BEGIN
  INSERT OR IGNORE INTO rollup_dirty (account_id) VALUES (NEW.account_id);
END;
CREATE TRIGGER rollup_balances_upd AFTER UPDATE ON balances BEGIN
  INSERT OR IGNORE INTO rollup_dirty (account_id) VALUES (NEW.account_id);
END;
CREATE TRIGGER rollup_balances_del AFTER DELETE ON balances BEGIN
  INSERT OR IGNORE INTO rollup_dirty (account_id) VALUES (OLD.account_id);
END;

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
  gas_distributed INTEGER NOT NULL DEFAULT 0 CHECK (gas_distributed >= 0),  -- paid to validators
  gas_retained    INTEGER NOT NULL DEFAULT 0 CHECK (gas_retained >= 0),     -- validators' half kept in the fee pool
  created_at      INTEGER NOT NULL,
  anchor_status   TEXT NOT NULL DEFAULT 'built' CHECK (anchor_status IN ('built', 'anchored', 'finalized')),
  anchor_txid     TEXT,
  anchor_height   INTEGER
);
