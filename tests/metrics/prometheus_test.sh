#!/usr/bin/env bash
# /metrics against real Prometheus tools: starts krayd on a free loopback
# port, makes a transfer, checks the exposition with `promtool check
# metrics`, then has a real Prometheus scrape the node and queries krayd
# metrics through Prometheus' HTTP API (/api/v1/query).
#
# Usage: prometheus_test.sh <krayd> <kray-cli> <source dir>
# Without promtool/prometheus (Debian package `prometheus`) the test is
# skipped (exit 77), unless KRAY_REQUIRE_PROMETHEUS=1 (set by .ci/run): then
# it fails.
set -euo pipefail
KRAYD=$1
CLI=$2
SRC=$3
TOKEN=metrics-test-token

for tool in promtool prometheus curl python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if [ "${KRAY_REQUIRE_PROMETHEUS:-0}" = 1 ]; then
      echo "FAIL: $tool not found (apt-get install prometheus); KRAY_REQUIRE_PROMETHEUS=1" >&2
      exit 1
    fi
    echo "SKIP: $tool not found (apt-get install prometheus)"
    exit 77
  fi
done

TMP=$(mktemp -d)
KRAYD_PID=
PROM_PID=
cleanup() {
  [ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null || true
  [ -n "$KRAYD_PID" ] && kill "$KRAYD_PID" 2>/dev/null && wait "$KRAYD_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for log in "$TMP"/krayd.log "$TMP"/prometheus.log; do
    [ -f "$log" ] && { echo "--- $log (tail)" >&2; tail -n 30 "$log" >&2; }
  done
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$KRAYD" -datadir="$TMP/data" -genesis="$SRC/config/genesis.regtest.json" -port=0 -portfile="$TMP/port" \
  -rpctoken="$TOKEN" -loglevel=warn >"$TMP/krayd.log" 2>&1 &
KRAYD_PID=$!
for _ in $(seq 1 200); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || fail "krayd did not start"
PORT=$(cat "$TMP/port")
URL="http://127.0.0.1:$PORT"

# One transfer, so operation counters and histograms have samples.
(umask 077 && printf %s krayd-dev-account-1 | sha256sum | cut -d' ' -f1 >"$TMP/dev1.key")
"$CLI" -rpcconnect=127.0.0.1 -rpcport="$PORT" -keyfile="$TMP/dev1.key" \
  send bcrt1p7vj0cv366fkpahwzunnmslxu3nxk827tyxp9cyylmnmwuwdvtq4swmmrvf 2500 >"$TMP/send.json" ||
  fail "kray-cli send: $(cat "$TMP/send.json")"

code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")
[ "$code" = 401 ] || fail "GET /metrics without the token answered $code, expected 401"
curl -sf -H "Authorization: Bearer $TOKEN" "$URL/metrics" >"$TMP/metrics.txt" || fail "GET /metrics"
if ! promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.txt" 2>&1; then
  cat "$TMP/promtool.txt" >&2
  fail "promtool check metrics reported problems"
fi
echo "promtool check metrics: OK ($(grep -vc '^#' "$TMP/metrics.txt") samples)"

PROM_PORT=$(free_port)
cat >"$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: krayd
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials: $TOKEN
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YML
promtool check config "$TMP/prometheus.yml" >/dev/null || fail "promtool check config"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!

# value of the first result of an instant query, or "" while there is none.
query() {
  curl -sf --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' \
      2>/dev/null || true
}
value=
for _ in $(seq 1 60); do
  value=$(query 'krayd_operations_total{job="krayd",type="transfer"}')
  [ -n "$value" ] && break
  sleep 1
done
[ "$value" = 1 ] || fail "Prometheus query krayd_operations_total{type=\"transfer\"} gave '$value', expected 1"
[ "$(query 'up{job="krayd"}')" = 1 ] || fail "up{job=\"krayd\"} is not 1"
[ "$(query 'krayd_sequencer_commit_duration_seconds_count{job="krayd"}')" = 1 ] ||
  fail "the commit histogram's count is not 1"
echo "Prometheus scraped krayd: krayd_operations_total{type=\"transfer\"} = $value"
