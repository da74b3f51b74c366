-- core 005: keys bound before core/004 have no stored point. This marks the
-- store for the one-time fill that writes them (state::FillKeyPoints, at
-- the next start, before the genesis is checked or applied: on a new store
-- there is nothing to fill and the mark just goes).
CREATE TABLE key_points_fill (id INTEGER PRIMARY KEY CHECK (id = 1));
INSERT INTO key_points_fill (id) VALUES (1);
