-- core 004: the y of each bound key's point. A signature check needs the key
-- as a curve point; from x alone that is a square root (~3.8 µs), paid on
-- the HTTP threads at a signer's first operation after every start, which
-- at a million accounts was 4-6 µs per transfer of a 20-s run (docs/
-- BENCHMARKS.md, thirty-ninth round). With y the key is checked on the
-- curve in ~0.1 µs, so the key preload holds it parsed.
--
-- Derived, not state: never committed, replayed or trusted. The two points
-- with a given x are the one x-only key, so a y read back either forms a
-- point with the account's x (and is that key) or is ignored (state::
-- KeyCache; crypto::VerifyingKey::FromPoint). Written with the account's
-- row when its key is bound (src/state/state_cache.cpp). Keys bound before
-- this schema get theirs at the next start (core/005).
CREATE TABLE key_points (
  account_id TEXT PRIMARY KEY,
  y          BLOB NOT NULL    -- 32 bytes, big-endian (the even y)
) WITHOUT ROWID;
