-- rollup 002: tree nodes stored in pages of four levels (one row per page
-- and version instead of one per node and version), so a leaf's path is
-- ~log2(N)/4 rows. A page is rooted at a depth divisible by 4; page =
-- u16be(depth) || prefix bytes of that root (as positions were encoded);
-- nodes = u16be(bitmap of present slots) || per present slot, in slot order,
-- kind (1 = leaf, 2 = internal) || a || b (65 bytes). Slot of a position at
-- depth root+r whose r path bits below the root read p: 2^r - 1 + p. The
-- tree as of batch N is the newest row with version <= N per page; a row
-- with no slot present is an emptied page. krayd rewrites the rows of
-- rollup_smt_nodes (001) into this table with the same history, then drops
-- that table (src/rollup/node_store.cpp, ConvertNodeRowsToPages).
CREATE TABLE rollup_smt_pages (
  page    BLOB NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 0),
  nodes   BLOB NOT NULL,
  PRIMARY KEY (page, version)
) WITHOUT ROWID;
