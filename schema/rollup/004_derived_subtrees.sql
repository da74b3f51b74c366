-- rollup 004: the tree's pages rooted at depth 16 or deeper are no longer
-- stored. Each subtree rooted at depth 16 is derived, when read, from its
-- leaves' rows in rollup_leaf_data (the newest row <= the version read, per
-- key), which every version already holds; storing those pages as well was
-- two thirds of the index's writes at a million accounts (src/rollup/
-- node_store.cpp, SqliteNodeStore::DeriveBelow; docs/ROLLUP.md). A page key
-- starts with u16be(depth of its root): depth >= 16 is page >= x'0010'.
DELETE FROM rollup_smt_pages WHERE page >= x'0010';
