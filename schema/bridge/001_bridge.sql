-- bridge 001: the bridge module's replayed state in krayd.sqlite (component
-- "bridge"), written only by its operations' Apply (docs/BRIDGE.md,
-- "Deposits"). What the L1 scanner sees but has not credited yet lives in
-- bridge.sqlite (schema/bridge_scan), not here.

-- Deposit address index of each account (bridge_address_assign). Index 0 is
-- the bridge's own address and is never assigned.
CREATE TABLE bridge_addresses (
  account_id    TEXT PRIMARY KEY,
  address_index INTEGER NOT NULL UNIQUE CHECK (address_index > 0 AND address_index < 2147483648)
) WITHOUT ROWID;

-- Every L1 output the node has acted on, once: credited to the account that
-- owns its address (deposit_credit), recorded as unattributed
-- (deposit_unattributed) and later claimed (deposit_claim). The primary key
-- is what makes crediting exactly-once.
CREATE TABLE bridge_deposits (
  txid          TEXT NOT NULL,              -- display hex (lower case)
  vout          INTEGER NOT NULL CHECK (vout >= 0),
  status        TEXT NOT NULL CHECK (status IN ('credited', 'unattributed', 'claimed')),
  account_id    TEXT,                       -- NULL while unattributed
  address_index INTEGER NOT NULL CHECK (address_index >= 0),
  block_hash    TEXT NOT NULL,              -- display hex of the block that confirmed it
  height        INTEGER NOT NULL CHECK (height >= 0),
  assets        TEXT NOT NULL,              -- canonical "BTC:1000,DOG:5"
  reason        TEXT NOT NULL DEFAULT '',   -- unattributed: bridge_address | unassigned_index
  funding       TEXT NOT NULL DEFAULT '',   -- unattributed: scripts the deposit's inputs spent (hex, comma separated)
  claim_key     TEXT NOT NULL DEFAULT '',   -- claimed: the x-only key that signed the claim
  PRIMARY KEY (txid, vout)
) WITHOUT ROWID;

CREATE INDEX bridge_deposits_by_account ON bridge_deposits (account_id, height);
