-- rewards 001: gaming rewards paid from a funded treasury (owned by
-- src/rewards). See docs/REWARDS.md. Amounts are INTEGER KRAY credits
-- (<= 2^63-1); times are the recorded timestamps of the operations that set
-- them (unix seconds).

-- The treasury account and the claim period, from the genesis file's
-- "rewards" section. One row; absent without the section (then awards are
-- unavailable).
CREATE TABLE rewards_config (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  treasury     TEXT NOT NULL,                      -- kray_ id
  claim_period INTEGER NOT NULL CHECK (claim_period > 0)
);

-- Every reward ever awarded, kept (its status is committed state). Its
-- amount left the treasury's available balance when it was awarded; while
-- pending the module holds it (a conservation term).
CREATE TABLE rewards (
  reward_id        INTEGER PRIMARY KEY,            -- 1, 2, … in award order
  account_id       TEXT NOT NULL,
  amount           INTEGER NOT NULL CHECK (amount > 0),
  reward_type      TEXT NOT NULL CHECK (reward_type IN ('daily', 'achievement', 'tournament', 'referral', 'loyalty')),
  achievement_id   TEXT NOT NULL DEFAULT '',
  game_id          TEXT NOT NULL DEFAULT '',
  placement        INTEGER NOT NULL DEFAULT 0,
  referred_account TEXT NOT NULL DEFAULT '',
  memo             TEXT NOT NULL DEFAULT '',
  day              INTEGER NOT NULL,               -- UTC day of the award (awarded_at / 86400)
  awarded_at       INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'claimed', 'expired')),
  closed_at        INTEGER NOT NULL DEFAULT 0
);
-- The once-only rules, also checked (with clear errors) by reward_award.
CREATE UNIQUE INDEX rewards_daily_once ON rewards (account_id, day) WHERE reward_type = 'daily';
CREATE UNIQUE INDEX rewards_achievement_once ON rewards (account_id, achievement_id) WHERE reward_type = 'achievement';
CREATE UNIQUE INDEX rewards_tournament_placement ON rewards (game_id, placement) WHERE reward_type = 'tournament';
CREATE UNIQUE INDEX rewards_tournament_player ON rewards (game_id, account_id) WHERE reward_type = 'tournament';
CREATE UNIQUE INDEX rewards_referral_once ON rewards (referred_account) WHERE reward_type = 'referral';
CREATE INDEX rewards_by_account ON rewards (account_id, reward_id);
CREATE INDEX rewards_due ON rewards (status, expires_at);
