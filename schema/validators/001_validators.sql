-- validators 001: validators, their stake, attested batches, rewards and
-- slashing (owned by src/validators). See docs/VALIDATORS.md.
-- Amounts are INTEGER KRAY credits (<= 2^63-1). Times are the recorded
-- timestamps of the operations that set them (unix seconds).

-- The chain's validator parameters, from the genesis file's "validators"
-- section. One row, absent when the section is (then the documented
-- defaults apply).
CREATE TABLE validator_config (
  id                     INTEGER PRIMARY KEY CHECK (id = 1),
  min_stake              INTEGER NOT NULL CHECK (min_stake > 0),
  unbonding_period       INTEGER NOT NULL CHECK (unbonding_period > 0),
  liveness_window        INTEGER NOT NULL CHECK (liveness_window > 0),
  downtime_slash_bps     INTEGER NOT NULL CHECK (downtime_slash_bps BETWEEN 0 AND 10000),
  equivocation_slash_bps INTEGER NOT NULL CHECK (equivocation_slash_bps BETWEEN 0 AND 10000),
  quorum_bps             INTEGER NOT NULL CHECK (quorum_bps BETWEEN 1 AND 10000),
  uptime_window          INTEGER NOT NULL CHECK (uptime_window > 0)
);

-- One validator per staking account. `stake` is the bonded stake; it and
-- every pending unbonding entry sit in the account's `staked` bucket of KRAY
-- (so the account's staked balance == stake + pending unbonding, an
-- invariant the module checks). Rewards accrued and not claimed are held by
-- the module (a conservation term).
CREATE TABLE validators (
  validator_id        TEXT PRIMARY KEY,            -- val_ + 32 hex of SHA-256(validator key)
  account_id          TEXT NOT NULL UNIQUE,        -- the staking account (kray_ id)
  pubkey              TEXT NOT NULL UNIQUE,        -- validator key, x-only hex
  l1_address          TEXT NOT NULL,
  stake               INTEGER NOT NULL CHECK (stake >= 0),
  rewards_pending     INTEGER NOT NULL DEFAULT 0 CHECK (rewards_pending >= 0),
  rewards_earned      INTEGER NOT NULL DEFAULT 0 CHECK (rewards_earned >= 0),
  rewards_claimed     INTEGER NOT NULL DEFAULT 0 CHECK (rewards_claimed >= 0),
  slashed             INTEGER NOT NULL DEFAULT 0 CHECK (slashed >= 0),
  registered_at       INTEGER NOT NULL,
  last_active         INTEGER NOT NULL,            -- last attestation or heartbeat (registration at first)
  last_heartbeat      INTEGER NOT NULL DEFAULT 0,  -- the signed `at` of the last heartbeat
  liveness_reset_at   INTEGER NOT NULL DEFAULT 0,  -- last downtime slash, or becoming active again
  blocks_validated    INTEGER NOT NULL DEFAULT 0,  -- attested batches
  last_attested_batch INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Batches of the rollup recorded by a validator_batch operation, with the
-- gas share it distributed. range_first_seq..last_seq is the part of the log
-- whose gas it covered (from the end of the previous recorded batch, so
-- batches the node did not record are covered too: no credit is skipped or
-- paid twice).
CREATE TABLE validator_batches (
  number          INTEGER PRIMARY KEY,
  range_first_seq INTEGER NOT NULL,
  first_seq       INTEGER NOT NULL,
  last_seq        INTEGER NOT NULL,
  state_root      TEXT NOT NULL,                   -- hex
  tx_root         TEXT NOT NULL,                   -- hex
  gas_retained    INTEGER NOT NULL CHECK (gas_retained >= 0),
  distributed     INTEGER NOT NULL CHECK (distributed >= 0),
  eligible_stake  INTEGER NOT NULL CHECK (eligible_stake >= 0),
  eligible_count  INTEGER NOT NULL CHECK (eligible_count >= 0),
  recorded_at     INTEGER NOT NULL
);

-- Attestations: a validator's signature over a recorded batch's roots
-- (docs/SIGNING.md, "Validator messages"). At most one per validator and
-- batch, always of the recorded roots.
CREATE TABLE validator_attestations (
  batch        INTEGER NOT NULL,
  validator_id TEXT NOT NULL,
  state_root   TEXT NOT NULL,
  tx_root      TEXT NOT NULL,
  signature    TEXT NOT NULL,                      -- BIP-340, hex
  attested_at  INTEGER NOT NULL,
  PRIMARY KEY (batch, validator_id)
) WITHOUT ROWID;
CREATE INDEX validator_attestations_by_validator ON validator_attestations (validator_id, batch);

-- Slashes, one row per offence. An equivocation is slashed once per
-- validator and batch number.
CREATE TABLE validator_slashes (
  slash_id     INTEGER PRIMARY KEY,                -- 1, 2, … in order
  validator_id TEXT NOT NULL,
  kind         TEXT NOT NULL CHECK (kind IN ('downtime', 'equivocation')),
  batch        INTEGER NOT NULL DEFAULT 0,         -- equivocation: the batch number; downtime: 0
  amount       INTEGER NOT NULL CHECK (amount >= 0),   -- burned
  slashed_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX validator_slashes_once ON validator_slashes (validator_id, batch) WHERE kind = 'equivocation';
CREATE INDEX validator_slashes_by_validator ON validator_slashes (validator_id, slash_id);

-- Unbonding entries: stake leaving the bonded set, still in the account's
-- staked bucket (and still slashable) until ends_at, when a system operation
-- returns what is left to the available balance.
CREATE TABLE validator_unbonding (
  unbonding_id INTEGER PRIMARY KEY,                -- 1, 2, … in order
  validator_id TEXT NOT NULL,
  amount       INTEGER NOT NULL CHECK (amount >= 0),
  started_at   INTEGER NOT NULL,
  ends_at      INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'completed'))
);
CREATE INDEX validator_unbonding_due ON validator_unbonding (status, ends_at);
CREATE INDEX validator_unbonding_by_validator ON validator_unbonding (validator_id, unbonding_id);
