#!/usr/bin/env bash
# kray-loadgen --active=K: the transfers move between K of the funded
# accounts only, so a curve over --accounts with K fixed separates a cost of
# the accounts stored from a cost of the accounts a run touches (issue 9;
# docs/BENCHMARKS.md, fortieth round). Every transfer is accepted (each active
# sender's nonces in order), and the kept store shows that exactly K accounts
# sent and no other account's balance moved.
# Usage: loadgen_active_test.sh <kray-loadgen>
set -eu
LOADGEN=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
TMPDIR=$tmp "$LOADGEN" --accounts=200 --active=10 --txs=3000 --connections=4 --duration=5 --keep >"$tmp/out.json" 2>"$tmp/err"
jq -c '{accepted, errors, active_accounts, conservation_ok}' "$tmp/out.json"
jq -e '.accepted == 3000 and .errors == 0 and .active_accounts == 10 and .conservation_ok == true' "$tmp/out.json" >/dev/null
kept=$(tail -1 "$tmp/err" | sed -n 's/^kept //p')
test -f "$kept/data/krayd.sqlite"
python3 - "$kept/data/krayd.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
senders = db.execute("SELECT COUNT(*) FROM account_rows WHERE asset = '' AND nonce > 0").fetchone()[0]
moved = db.execute("SELECT COUNT(*) FROM account_rows WHERE asset = 'KRAY' AND available <> 1000000000").fetchone()[0]
print(f"senders {senders}, balances moved {moved}")
assert senders == 10, senders
assert moved <= 10, moved
PY
for bad in "--active=1" "--active=201" "--mode=balance --active=10"; do
  # shellcheck disable=SC2086
  if "$LOADGEN" --accounts=200 $bad >/dev/null 2>&1; then
    echo "$bad was accepted" >&2
    exit 1
  fi
done
