-- bridge 002: withdrawals and the bridge's own L1 transactions (spends:
-- withdrawal batches and rollup anchors) as replayed state in krayd.sqlite
-- (docs/BRIDGE.md, "Withdrawals", "Anchors"). What the node does to get them
-- signed and mined (PSBTs, reserved inputs, broadcast txids, replacements)
-- is node-local state in bridge.sqlite (schema/bridge_scan).

-- The bridge's consensus parameters (the genesis section "bridge"). Absent
-- (no row) when the genesis has no section: the defaults apply and no fee
-- account exists, so withdrawals and anchors are unavailable.
CREATE TABLE bridge_config (
  id                INTEGER PRIMARY KEY CHECK (id = 1),
  challenge_period  INTEGER NOT NULL CHECK (challenge_period >= 0),
  fee_account       TEXT NOT NULL DEFAULT '',  -- pays L1 miner fees and rune recipients' dust in BTC ('' = none)
  withdrawal_assets TEXT NOT NULL              -- assets that may leave L2, comma separated, sorted
);

-- One row per withdrawal request. The withdrawn amount and the fee stay in
-- the module's books (its conservation terms) while status is pending,
-- challenged or signing; completed burns them (the fee is split like gas),
-- refunded returns them.
CREATE TABLE bridge_withdrawals (
  id               INTEGER PRIMARY KEY CHECK (id >= 1),
  account_id       TEXT NOT NULL,
  asset            TEXT NOT NULL,
  amount           INTEGER NOT NULL CHECK (amount > 0),
  fee              INTEGER NOT NULL CHECK (fee >= 0),          -- KRAY credits
  l1_address       TEXT NOT NULL,                               -- canonical, of the chain's network
  requested_at     INTEGER NOT NULL,
  deadline         INTEGER NOT NULL,                            -- requested_at + challenge_period
  status           TEXT NOT NULL CHECK (status IN ('pending', 'challenged', 'signing', 'completed', 'refunded')),
  challenged_by    TEXT NOT NULL DEFAULT '',                    -- 'operator' or the validator's account id
  challenge_reason TEXT NOT NULL DEFAULT '',
  resolution       TEXT NOT NULL DEFAULT '',                    -- released | refunded, with the operator's note
  spend_id         TEXT NOT NULL DEFAULT ''                     -- the L1 transaction paying it (bridge_spends.id)
);
CREATE INDEX bridge_withdrawals_by_account ON bridge_withdrawals (account_id, id);
CREATE INDEX bridge_withdrawals_by_status ON bridge_withdrawals (status, deadline);
CREATE INDEX bridge_withdrawals_by_spend ON bridge_withdrawals (spend_id);

-- The bridge's own L1 transactions. id = the txid of its first version (an
-- RBF replacement keeps the id). fee_reserve sats of BTC were taken from the
-- fee account when it was created and are held here (a conservation term)
-- until it confirms: then fee + dust are burned and the rest returned.
CREATE TABLE bridge_spends (
  id           TEXT PRIMARY KEY,                -- display hex
  kind         TEXT NOT NULL CHECK (kind IN ('withdrawals', 'anchor')),
  batch        INTEGER NOT NULL DEFAULT 0,      -- anchor: the rollup batch number
  fee_reserve  INTEGER NOT NULL CHECK (fee_reserve >= 0),
  dust         INTEGER NOT NULL CHECK (dust >= 0),
  fee_account  TEXT NOT NULL,                   -- who paid the reserve (gets the rest back)
  status       TEXT NOT NULL CHECK (status IN ('signing', 'confirmed')),
  created_at   INTEGER NOT NULL,
  txid         TEXT NOT NULL DEFAULT '',        -- the version that confirmed
  block_hash   TEXT NOT NULL DEFAULT '',
  height       INTEGER NOT NULL DEFAULT 0,
  fee_paid     INTEGER NOT NULL DEFAULT 0,
  confirmed_at INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE UNIQUE INDEX bridge_spends_anchor ON bridge_spends (batch) WHERE kind = 'anchor';
CREATE INDEX bridge_spends_by_status ON bridge_spends (status);
