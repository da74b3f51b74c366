-- 001: core state (owned by src/state). See docs/STATE.md.
-- Amounts are INTEGER credits (<= 2^63-1) and can never go negative.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE accounts (
  account_id TEXT PRIMARY KEY,                 -- kray_ + 32 hex of SHA-256(l1_address)
  l1_address TEXT NOT NULL UNIQUE,
  pubkey     TEXT,                             -- x-only hex, NULL until bound (immutable once bound)
  nonce      INTEGER NOT NULL DEFAULT 0 CHECK (nonce >= 0),
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE balances (
  account_id TEXT NOT NULL REFERENCES accounts(account_id),
  asset      TEXT NOT NULL,
  available  INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
  staked     INTEGER NOT NULL DEFAULT 0 CHECK (staked >= 0),
  locked     INTEGER NOT NULL DEFAULT 0 CHECK (locked >= 0),
  PRIMARY KEY (account_id, asset)
) WITHOUT ROWID;

-- seq is the rowid: the global apply order, strictly increasing.
CREATE TABLE transactions (
  seq          INTEGER PRIMARY KEY,
  tx_hash      TEXT NOT NULL UNIQUE,
  type         TEXT NOT NULL,
  from_id      TEXT,
  to_id        TEXT,
  to_address   TEXT NOT NULL DEFAULT '',
  signed_from  TEXT NOT NULL DEFAULT '',   -- legacy scheme: from/to exactly as signed
  signed_to    TEXT NOT NULL DEFAULT '',
  asset        TEXT NOT NULL,
  amount       INTEGER NOT NULL CHECK (amount >= 0),
  gas_fee      INTEGER NOT NULL DEFAULT 0 CHECK (gas_fee >= 0),
  nonce        INTEGER NOT NULL DEFAULT 0,
  signature    TEXT NOT NULL DEFAULT '',
  sig_scheme   TEXT NOT NULL DEFAULT '',
  data         TEXT NOT NULL DEFAULT '',
  status       TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  confirmed_at INTEGER,
  batch_id     INTEGER
);
CREATE INDEX transactions_from ON transactions (from_id, seq);
CREATE INDEX transactions_to ON transactions (to_id, seq);
-- No index on batch_id: nothing looks transactions up by it (a batch's txs
-- are its seq range, batches.first_seq..last_seq), and maintaining one cost
-- an index entry move per tx at every batch close.

-- Supply ledger per asset. Invariant (Ledger::CheckConservation):
--   SUM(available + staked + locked) + fee_pool + burned + module pools
--     == genesis_total + minted
CREATE TABLE supply (
  asset         TEXT PRIMARY KEY,
  genesis_total INTEGER NOT NULL DEFAULT 0 CHECK (genesis_total >= 0),
  minted        INTEGER NOT NULL DEFAULT 0 CHECK (minted >= 0),
  burned        INTEGER NOT NULL DEFAULT 0 CHECK (burned >= 0),
  fee_pool      INTEGER NOT NULL DEFAULT 0 CHECK (fee_pool >= 0)   -- validator fee pool (real balance)
) WITHOUT ROWID;
