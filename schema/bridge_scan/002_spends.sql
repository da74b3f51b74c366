-- bridge_scan 002: the federation's outputs (what the bridge can spend), the
-- bridge's own transactions seen in blocks, and the node-local signing state
-- of withdrawals and anchors (docs/BRIDGE.md, "Spends"). Nothing here is
-- replayed state: the operations in krayd.sqlite (withdrawal_batch,
-- anchor_publish, bridge_spend_confirmed) are what changes balances.

-- Every output paying a watched address (a deposit, or the change of one of
-- the bridge's own transactions) until a block spends it; spent rows are
-- kept for the reorg window.
CREATE TABLE scan_utxos (
  txid          TEXT NOT NULL,      -- display hex
  vout          INTEGER NOT NULL,
  height        INTEGER NOT NULL,
  block_hash    TEXT NOT NULL,      -- display hex
  address_index INTEGER NOT NULL,
  sats          INTEGER NOT NULL,
  required      INTEGER NOT NULL,   -- confirmations before it may be spent
  kind          TEXT NOT NULL CHECK (kind IN ('deposit', 'change')),
  spent_txid    TEXT,               -- NULL while unspent
  spent_height  INTEGER,
  PRIMARY KEY (txid, vout)
) WITHOUT ROWID;
CREATE INDEX scan_utxos_by_height ON scan_utxos (height);
CREATE INDEX scan_utxos_by_spent ON scan_utxos (spent_height);

-- Outputs promised to one spend before it is signed: the primary key is
-- what guarantees that no two of the bridge's transactions ever spend the
-- same output. Kept independent of scan_utxos, so a reorg that removes and
-- re-adds an output cannot free it.
CREATE TABLE scan_reservations (
  txid     TEXT NOT NULL,
  vout     INTEGER NOT NULL,
  spend_id TEXT NOT NULL,
  PRIMARY KEY (txid, vout)
) WITHOUT ROWID;
CREATE INDEX scan_reservations_by_spend ON scan_reservations (spend_id);

-- Transactions in processed blocks that spend a federation output: the
-- bridge's own (withdrawal batches, anchors). anchor_batch: the batch its
-- OP_RETURN anchors, if any.
CREATE TABLE scan_bridge_txs (
  txid         TEXT PRIMARY KEY,
  height       INTEGER NOT NULL,
  block_hash   TEXT NOT NULL,
  anchor_batch INTEGER
) WITHOUT ROWID;
CREATE INDEX scan_bridge_txs_by_height ON scan_bridge_txs (height);

-- Before this version no output of the federation was ever spent, so every
-- deposit still in the chain is unspent.
INSERT INTO scan_utxos (txid, vout, height, block_hash, address_index, sats, required, kind)
  SELECT txid, vout, height, block_hash, address_index, sats, required, 'deposit'
  FROM scan_deposits WHERE status != 'orphaned';

-- The spends this node coordinates (id = the operation's spend id).
-- state: reserving (inputs reserved, operation not committed yet), signing
-- (collecting signatures, broadcast, confirming), done (confirmed in L2).
CREATE TABLE spend_local (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('withdrawals', 'anchor')),
  batch       INTEGER NOT NULL DEFAULT 0,
  state       TEXT NOT NULL CHECK (state IN ('reserving', 'signing', 'done')),
  fee_reserve INTEGER NOT NULL,
  inputs      TEXT NOT NULL,      -- "txid:vout:address_index:sats,..." in input order
  detail      TEXT NOT NULL DEFAULT '',  -- why it is not moving (a rejection, the fee cap, ...)
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Every version of a spend: the original and its RBF replacements.
CREATE TABLE spend_versions (
  spend_id      TEXT NOT NULL,
  version       INTEGER NOT NULL,
  txid          TEXT NOT NULL UNIQUE,
  fee           INTEGER NOT NULL,
  feerate       INTEGER NOT NULL,   -- sat/kvB
  vsize         INTEGER NOT NULL,
  psbt          BLOB NOT NULL,      -- with every verified signature so far
  signers       TEXT NOT NULL DEFAULT '',  -- members with a verified signature on every input, "1,2"
  final_tx      BLOB,               -- the finalized transaction (two signatures)
  created_at    INTEGER NOT NULL,
  broadcast_at  INTEGER,            -- when Bitcoin Core accepted it
  reject_reason TEXT NOT NULL DEFAULT '',
  l1_seen       TEXT NOT NULL DEFAULT '',  -- '' | mempool | block | missing (last check)
  PRIMARY KEY (spend_id, version)
) WITHOUT ROWID;
