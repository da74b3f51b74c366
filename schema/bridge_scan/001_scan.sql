-- bridge_scan 001: the L1 deposit scanner's own store, <datadir>/bridge.sqlite
-- (docs/BRIDGE.md, "Scanner"). Nothing here is replayed state: it is what
-- the scanner has seen on Bitcoin, its position, and the runes index. It can
-- be deleted and rebuilt by rescanning; credits are exactly-once because the
-- operations check krayd.sqlite, not because of anything stored here.

-- What this file follows. A different federation, start height, network or
-- rune set needs a rescan (delete the file).
CREATE TABLE scan_state (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  genesis_hash TEXT NOT NULL,   -- the krayd.sqlite it belongs to
  network      TEXT NOT NULL,
  descriptor   TEXT NOT NULL,   -- the federation's ranged descriptor
  start_height INTEGER NOT NULL,
  runes        TEXT NOT NULL    -- tracked runes, "ASSET:block:tx[:NAME]" comma separated
);

-- Every processed block (height, hash), from the first scanned height to the tip.
CREATE TABLE scan_blocks (
  height INTEGER PRIMARY KEY,
  hash   BLOB NOT NULL          -- internal byte order
);

-- Outputs paying a bridge address, as seen in a processed block.
CREATE TABLE scan_deposits (
  txid          TEXT NOT NULL,  -- display hex
  vout          INTEGER NOT NULL,
  height        INTEGER NOT NULL,
  block_hash    TEXT NOT NULL,  -- display hex
  address_index INTEGER NOT NULL,
  sats          INTEGER NOT NULL,
  runes         TEXT NOT NULL DEFAULT '',  -- "block:tx=amount,..." (u128 decimal) per the runes index
  assets        TEXT NOT NULL DEFAULT '',  -- what it credits, canonical "BTC:1000,DOG:5" ('' if nothing)
  required      INTEGER NOT NULL,          -- confirmations needed (coinbase outputs: at least 100)
  inputs        TEXT NOT NULL DEFAULT '',  -- the deposit tx's first inputs, "txid:n,..." (for claims)
  status        TEXT NOT NULL,  -- confirming | credited | unattributed | not_creditable | failed | orphaned | reconfirming
  detail        TEXT NOT NULL DEFAULT '',  -- why not creditable / failed
  operation     TEXT NOT NULL DEFAULT '',  -- hash of the operation that credited or recorded it
  PRIMARY KEY (txid, vout)
) WITHOUT ROWID;
CREATE INDEX scan_deposits_by_height ON scan_deposits (height);
CREATE INDEX scan_deposits_by_index ON scan_deposits (address_index, height);

-- A reorg removed a block holding a deposit that was already credited (or
-- recorded). Open alarms freeze withdrawals until resolved.
CREATE TABLE scan_alarms (
  id          INTEGER PRIMARY KEY,
  txid        TEXT NOT NULL,
  vout        INTEGER NOT NULL,
  block_hash  TEXT NOT NULL,   -- the orphaned block
  height      INTEGER NOT NULL,
  operation   TEXT NOT NULL DEFAULT '',
  detected_at INTEGER NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('open', 'reconfirmed', 'resolved')),
  note        TEXT NOT NULL DEFAULT ''
);

-- The runes index (bridge/runes_store.h, SqliteRunesStore).
CREATE TABLE runes_tip (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  height INTEGER NOT NULL,
  hash   BLOB NOT NULL
);
CREATE TABLE runes_entries (
  rune_block INTEGER NOT NULL,
  rune_tx    INTEGER NOT NULL,
  entry      BLOB NOT NULL,     -- SerializeRuneEntry
  PRIMARY KEY (rune_block, rune_tx)
) WITHOUT ROWID;
CREATE TABLE runes_balances (
  txid       BLOB NOT NULL,     -- internal byte order
  vout       INTEGER NOT NULL,
  rune_block INTEGER NOT NULL,
  rune_tx    INTEGER NOT NULL,
  amount     BLOB NOT NULL,     -- u128, 16 bytes big-endian
  PRIMARY KEY (txid, vout, rune_block, rune_tx)
) WITHOUT ROWID;
CREATE INDEX runes_balances_by_rune ON runes_balances (rune_block, rune_tx, txid, vout);
CREATE TABLE runes_undo (
  height INTEGER PRIMARY KEY,
  undo   BLOB NOT NULL          -- SerializeRunesBlockUndo
);
