-- defi 001: AMM pools (owned by src/defi). See include/kray/defi/defi.h and
-- docs/API.md "DeFi". Amounts are INTEGER base units (<= 2^63-1).

-- One pool per pair of configured assets; asset_a/asset_b in pool order
-- (KRAY first, otherwise alphabetical). Committed: leaf type 0x10.
CREATE TABLE defi_pools (
  pool_id            TEXT PRIMARY KEY,         -- pool_ + lower-case symbols
  asset_a            TEXT NOT NULL,
  asset_b            TEXT NOT NULL,
  reserve_a          INTEGER NOT NULL CHECK (reserve_a > 0),
  reserve_b          INTEGER NOT NULL CHECK (reserve_b > 0),
  lp_supply          INTEGER NOT NULL CHECK (lp_supply >= 1000),  -- includes the 1000 locked units
  lp_retired         INTEGER NOT NULL CHECK (lp_retired >= 0),    -- removed units held for re-issue
  k_last             BLOB NOT NULL,            -- 16 bytes big-endian (UniswapV2Pair.kLast)
  price_a_cumulative BLOB NOT NULL,            -- 32 bytes big-endian, UQ112x112 * seconds mod 2^256
  price_b_cumulative BLOB NOT NULL,
  timestamp_last     INTEGER NOT NULL,         -- time of the last operation on the pool
  created_at         INTEGER NOT NULL,
  UNIQUE (asset_a, asset_b)
) WITHOUT ROWID;

-- Module settings from the genesis section: 'protocol_fee_account'.
-- Committed: leaf type 0x11.
CREATE TABLE defi_config (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- Read index for TWAPs: the cumulative prices right after each update (the
-- first operation of each second on the pool, and its creation). Derived from
-- the pool's committed history; replay rebuilds it.
CREATE TABLE defi_observations (
  pool_id            TEXT NOT NULL,
  timestamp          INTEGER NOT NULL,
  price_a_cumulative BLOB NOT NULL,
  price_b_cumulative BLOB NOT NULL,
  PRIMARY KEY (pool_id, timestamp)
) WITHOUT ROWID;

-- Read index for volume and swap counts: per swap (each hop of a route),
-- the amounts of a and b that changed hands. Replay rebuilds it.
CREATE TABLE defi_swaps (
  pool_id   TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  amount_a  INTEGER NOT NULL CHECK (amount_a >= 0),
  amount_b  INTEGER NOT NULL CHECK (amount_b >= 0)
);
CREATE INDEX defi_swaps_by_pool ON defi_swaps (pool_id, timestamp);
