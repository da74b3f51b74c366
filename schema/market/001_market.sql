-- market 001: the marketplace (owned by src/market). See docs/MARKET.md.
-- Amounts and prices are INTEGER credits (<= 2^63-1). Times are the
-- recorded timestamps of the operations that set them (unix seconds).

-- The marketplace fee, from the genesis file's "market" section. One row,
-- absent when the section is (then the fee is 0).
CREATE TABLE market_config (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  fee_bps     INTEGER NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
  fee_account TEXT NOT NULL                  -- kray_ id; '' when fee_bps = 0
);

-- The inscription registry: every inscription held on L2 has exactly one
-- owner; while it is listed, listing_id names the active listing that
-- escrows it (the owner can then neither transfer nor list it again).
CREATE TABLE market_inscriptions (
  inscription_id TEXT PRIMARY KEY,           -- ord's <txid>i<index>
  owner          TEXT NOT NULL,              -- kray_ id
  content_type   TEXT NOT NULL,
  origin         TEXT NOT NULL,              -- where it came from ("genesis", …)
  listing_id     INTEGER                     -- escrowed by this listing, else NULL
) WITHOUT ROWID;
CREATE INDEX market_inscriptions_owner ON market_inscriptions (owner, inscription_id);

-- Listings, kept forever (their status is committed state). listing_id is
-- 1, 2, … in creation order, so replay assigns the same ids.
CREATE TABLE market_listings (
  listing_id     INTEGER PRIMARY KEY,
  seller         TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('rune', 'inscription')),
  asset          TEXT NOT NULL DEFAULT '',   -- rune listings
  amount         INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
  inscription_id TEXT NOT NULL DEFAULT '',   -- inscription listings
  price          INTEGER NOT NULL CHECK (price > 0),   -- KRAY credits
  fee_bps        INTEGER NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL DEFAULT 0, -- 0: never
  status         TEXT NOT NULL CHECK (status IN ('active', 'sold', 'cancelled')),
  buyer          TEXT NOT NULL DEFAULT '',   -- sold
  closed_at      INTEGER NOT NULL DEFAULT 0, -- sold or cancelled
  CHECK ((kind = 'rune' AND asset <> '' AND amount > 0 AND inscription_id = '') OR
         (kind = 'inscription' AND asset = '' AND amount = 0 AND inscription_id <> ''))
);
CREATE INDEX market_listings_active ON market_listings (status, kind, listing_id);
CREATE INDEX market_listings_price ON market_listings (status, kind, price, listing_id);
CREATE INDEX market_listings_asset ON market_listings (status, asset, price);
CREATE INDEX market_listings_seller ON market_listings (seller, listing_id);
-- At most one active listing per inscription (the module checks first; this
-- is the store's own guard).
CREATE UNIQUE INDEX market_listings_one_per_inscription ON market_listings (inscription_id)
  WHERE status = 'active' AND kind = 'inscription';

-- Offers: a buyer escrows a price (KRAY credits) for an inscription or a rune
-- amount; the owner accepts. offer_id is 1, 2, … in creation order.
CREATE TABLE market_offers (
  offer_id       INTEGER PRIMARY KEY,
  buyer          TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('rune', 'inscription')),
  asset          TEXT NOT NULL DEFAULT '',
  amount         INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
  inscription_id TEXT NOT NULL DEFAULT '',
  price          INTEGER NOT NULL CHECK (price > 0),
  fee_bps        INTEGER NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL DEFAULT 0,
  status         TEXT NOT NULL CHECK (status IN ('active', 'accepted', 'cancelled')),
  seller         TEXT NOT NULL DEFAULT '',   -- who accepted
  closed_at      INTEGER NOT NULL DEFAULT 0,
  CHECK ((kind = 'rune' AND asset <> '' AND amount > 0 AND inscription_id = '') OR
         (kind = 'inscription' AND asset = '' AND amount = 0 AND inscription_id <> ''))
);
CREATE INDEX market_offers_active ON market_offers (status, kind, offer_id);
CREATE INDEX market_offers_buyer ON market_offers (buyer, offer_id);
CREATE INDEX market_offers_inscription ON market_offers (inscription_id, status);

-- Running traded volume (KRAY credits) per item kind, a read model for
-- /api/marketplace/stats kept in the same unit of work as the trades (not
-- committed state: it is derived from the listings and offers). Decimal
-- text, summed in 128 bits (a volume can exceed 2^63-1).
CREATE TABLE market_volume (
  kind   TEXT PRIMARY KEY CHECK (kind IN ('rune', 'inscription')),
  trades INTEGER NOT NULL DEFAULT 0,
  volume TEXT NOT NULL DEFAULT '0'
) WITHOUT ROWID;
