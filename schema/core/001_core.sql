-- state 001: the core ledger (owned by src/state). See docs/STATE.md.
-- Amounts are INTEGER credits (<= 2^63-1) and can never go negative.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE accounts (
  account_id TEXT PRIMARY KEY,                 -- kray_ + 32 hex of SHA-256(l1_address)
  l1_address TEXT NOT NULL UNIQUE,             -- canonical (lower case)
  pubkey     TEXT,                             -- x-only hex, NULL until bound (immutable once bound)
  nonce      INTEGER NOT NULL DEFAULT 0 CHECK (nonce >= 0),
  created_at INTEGER NOT NULL,
  gas_spent  INTEGER NOT NULL DEFAULT 0 CHECK (gas_spent >= 0)  -- statistic (not committed state)
) WITHOUT ROWID;

CREATE TABLE balances (
  account_id TEXT NOT NULL REFERENCES accounts(account_id),
  asset      TEXT NOT NULL,
  available  INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
  staked     INTEGER NOT NULL DEFAULT 0 CHECK (staked >= 0),
  locked     INTEGER NOT NULL DEFAULT 0 CHECK (locked >= 0),
  PRIMARY KEY (account_id, asset)
) WITHOUT ROWID;

-- Supply ledger per asset. Invariant (state::CheckConservation):
--   SUM(available + staked + locked) + fee_pool + burned + module terms
--     == genesis_total + minted
CREATE TABLE supply (
  asset         TEXT PRIMARY KEY,
  genesis_total INTEGER NOT NULL DEFAULT 0 CHECK (genesis_total >= 0),
  minted        INTEGER NOT NULL DEFAULT 0 CHECK (minted >= 0),
  burned        INTEGER NOT NULL DEFAULT 0 CHECK (burned >= 0),
  fee_pool      INTEGER NOT NULL DEFAULT 0 CHECK (fee_pool >= 0)   -- validator fee pool (real balance)
) WITHOUT ROWID;

-- The operation log: every state change after genesis, in apply order
-- (include/kray/state/operation.h). seq is the rowid.
CREATE TABLE operations (
  seq       INTEGER PRIMARY KEY,
  hash      BLOB NOT NULL UNIQUE,           -- 32 bytes, the operation id ("tx_hash")
  type      TEXT NOT NULL,                  -- registered operation name
  auth      INTEGER NOT NULL,               -- state::Auth
  signer    TEXT,                           -- signing account (signed operations), else NULL
  nonce     INTEGER NOT NULL DEFAULT 0,
  scheme    INTEGER NOT NULL DEFAULT 0,     -- state::SigScheme
  signature BLOB,                           -- 64 bytes (signed operations), else NULL
  fields    BLOB NOT NULL,                  -- EncodeFields(canonical fields)
  evidence  BLOB NOT NULL,                  -- EncodeFields(unsigned evidence)
  timestamp INTEGER NOT NULL,               -- unix seconds, assigned by the sequencer
  gas_fee   INTEGER NOT NULL DEFAULT 0 CHECK (gas_fee >= 0),
  touched   BLOB NOT NULL                   -- EncodeLeafIds(committed leaves it changed, supply excluded)
);

-- History of every committed entity (accounts, and module entities such as
-- pools or listings): which operations changed its leaf. key = leaf key.
CREATE TABLE op_index (
  key BLOB NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (key, seq)
) WITHOUT ROWID;

-- Running totals kept in the same transaction as the operations, so status
-- reads are O(1).
CREATE TABLE op_stats (
  type  TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  gas   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
