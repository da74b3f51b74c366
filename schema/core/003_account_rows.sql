-- core 003: an account's own row and its balance rows in one B-tree, keyed
-- (account_id, asset), the account's row under asset ''. A transfer changes
-- the sender's nonce and balance and the recipient's balance: in two tables
-- that was three B-tree pages at random places per transfer once accounts
-- outnumber what a group touches (a million of them), each written to the
-- WAL, copied back by the checkpoint and flushed; side by side the sender's
-- two rows share a page, so it is two (docs/BENCHMARKS.md, twenty-sixth
-- round). `accounts` and `balances` stay as read-only views with the old
-- columns, for every reader; writes go to account_rows (src/state/
-- state_cache.cpp). No asset is named '' (assets are registered symbols).
-- What balances' foreign key to accounts said (a balance row belongs to an
-- account) the state cache checks as it writes a new balance row: a trigger
-- doing it cost 10 µs per row, 34 s more start-up on a million-account
-- genesis.
CREATE TABLE account_rows (
  account_id TEXT NOT NULL,
  asset      TEXT NOT NULL,   -- '': the account's own row; otherwise one balance row
  -- The account's own row ('' only):
  l1_address TEXT,            -- canonical (lower case), unique (account_rows_l1_address)
  pubkey     TEXT,            -- x-only hex, NULL until bound (immutable once bound)
  nonce      INTEGER,
  created_at INTEGER,
  gas_spent  INTEGER,         -- statistic (not committed state)
  -- A balance row (asset <> '' only):
  available  INTEGER,
  staked     INTEGER,
  locked     INTEGER,
  PRIMARY KEY (account_id, asset),
  -- (x IS NOT NULL AND x >= 0: a CHECK that is NULL passes.)
  CHECK (CASE WHEN asset = ''
              THEN l1_address IS NOT NULL AND created_at IS NOT NULL AND nonce IS NOT NULL AND nonce >= 0
                   AND gas_spent IS NOT NULL AND gas_spent >= 0
                   AND available IS NULL AND staked IS NULL AND locked IS NULL
              ELSE available IS NOT NULL AND available >= 0 AND staked IS NOT NULL AND staked >= 0
                   AND locked IS NOT NULL AND locked >= 0
                   AND l1_address IS NULL AND pubkey IS NULL AND nonce IS NULL AND created_at IS NULL
                   AND gas_spent IS NULL END)
) WITHOUT ROWID;
CREATE UNIQUE INDEX account_rows_l1_address ON account_rows (l1_address) WHERE asset = '';

INSERT INTO account_rows (account_id, asset, l1_address, pubkey, nonce, created_at, gas_spent)
  SELECT account_id, '', l1_address, pubkey, nonce, created_at, gas_spent FROM accounts;
INSERT INTO account_rows (account_id, asset, available, staked, locked)
  SELECT account_id, asset, available, staked, locked FROM balances;
DROP TABLE balances;
DROP TABLE accounts;

CREATE VIEW accounts AS
  SELECT account_id, l1_address, pubkey, nonce, created_at, gas_spent FROM account_rows WHERE asset = '';
CREATE VIEW balances AS
  SELECT account_id, asset, available, staked, locked FROM account_rows WHERE asset <> '';

