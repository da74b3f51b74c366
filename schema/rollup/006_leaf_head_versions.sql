-- rollup 006: each key's head (rollup_leaf_head) keeps the version of its
-- newest row only; the data and `prev` are that row's in
-- rollup_leaf_versions already. Four times fewer pages: at a million
-- accounts the heads fit the index's page cache again, and a persist dirties
-- fewer of them (leaf_rows.h).
CREATE TABLE rollup_leaf_head_006 (
  key     BLOB PRIMARY KEY,
  version INTEGER NOT NULL  -- the key's newest row in rollup_leaf_versions
) WITHOUT ROWID;

INSERT INTO rollup_leaf_head_006 (key, version) SELECT key, version FROM rollup_leaf_head ORDER BY key;

DROP TABLE rollup_leaf_head;
ALTER TABLE rollup_leaf_head_006 RENAME TO rollup_leaf_head;
