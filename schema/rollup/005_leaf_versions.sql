-- rollup 005: the leaves' preimages are kept by version, then key
-- (rollup_leaf_versions), plus each key's newest row (rollup_leaf_head),
-- instead of by key, then version (rollup_leaf_data). A batch's rows now go
-- together at the end of the table rather than next to each key's older
-- rows all over a table that grows with every batch: at 100k accounts the
-- pages one batch touched outgrew the page cache and the index's cost per
-- transfer grew with the transfers stored (include/kray/rollup/leaf_rows.h;
-- docs/BENCHMARKS.md, thirty-fifth round). `prev` is the key's version
-- before the row's (NULL: none kept), which a read at a past version
-- follows back from the head.
CREATE TABLE rollup_leaf_versions (
  version INTEGER NOT NULL,
  key     BLOB NOT NULL,
  data    BLOB,             -- the leaf's encoding (state::EncodeLeaf); NULL: no leaf
  prev    INTEGER,          -- the key's previous row's version; NULL: none
  PRIMARY KEY (version, key),
  CHECK (prev IS NULL OR prev < version)
) WITHOUT ROWID;

INSERT INTO rollup_leaf_versions (version, key, data, prev)
  SELECT version, key, data, lag(version) OVER (PARTITION BY key ORDER BY version)
  FROM rollup_leaf_data ORDER BY version, key;

CREATE TABLE rollup_leaf_head (
  key     BLOB PRIMARY KEY,
  version INTEGER NOT NULL,  -- the key's newest row in rollup_leaf_versions
  data    BLOB,
  prev    INTEGER
) WITHOUT ROWID;

INSERT INTO rollup_leaf_head (key, version, data, prev)
  SELECT key, version, data, prev FROM (
    SELECT key, version, data, prev, row_number() OVER (PARTITION BY key ORDER BY version DESC) AS newest
    FROM rollup_leaf_versions)
  WHERE newest = 1 ORDER BY key;

DROP TABLE rollup_leaf_data;
