-- core 002: accounts' histories and the operation-id lookup leave this file
-- for the history index (<datadir>/history.sqlite, schema/history/). Both
-- were B-tree inserts at random places on every commit: at 50 connections
-- they were 58 % of the pages a group commit wrote (docs/BENCHMARKS.md,
-- ninth round). The index follows the log and is rebuilt from it.
--
-- The id's UNIQUE constraint goes with its index. Ids are unique by
-- construction: a signed operation's id is the hash of its signing message,
-- which binds (signer, nonce), and the executor accepts each nonce once; an
-- unsigned operation's id binds its seq (UnsignedOperationId).
CREATE TABLE operations_v2 (
  seq       INTEGER PRIMARY KEY,
  hash      BLOB NOT NULL,                  -- 32 bytes, the operation id ("tx_hash")
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
INSERT INTO operations_v2 (seq, hash, type, auth, signer, nonce, scheme, signature, fields, evidence, timestamp,
                           gas_fee, touched)
  SELECT seq, hash, type, auth, signer, nonce, scheme, signature, fields, evidence, timestamp, gas_fee, touched
  FROM operations;
DROP TABLE operations;
ALTER TABLE operations_v2 RENAME TO operations;

-- op_index keeps module entities' histories only. Rows of account keys from
-- before this migration are removed by Ledger::Open (the key is a hash of the
-- leaf id, so SQL cannot tell them apart): op_index_purge marks that work.
CREATE TABLE op_index_purge (id INTEGER PRIMARY KEY CHECK (id = 1));
INSERT INTO op_index_purge (id) VALUES (1);
