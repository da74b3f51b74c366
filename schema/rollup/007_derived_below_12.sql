-- rollup 007: the tree's pages rooted at depth 12 are no longer stored
-- either (kRollupDerivedDepth 16 -> 12): each subtree rooted at depth 12 is
-- derived, when read, from its leaves' rows, as those rooted at depth 16
-- have been since 004. From 100k accounts on nearly all of the 4,096 pages
-- at depth 12 were rewritten at every persist, a row and a WAL frame each
-- (docs/BENCHMARKS.md, thirty-seventh round). A page key starts with
-- u16be(depth of its root): depth >= 12 is page >= x'000c'.
DELETE FROM rollup_smt_pages WHERE page >= x'000c';
