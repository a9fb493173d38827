#!/usr/bin/env bash
# NATS JetStream benchmark (issue 20): events per second through `hygie ingest --publish`, then
# through one and two `hygie detect-worker`s (one PostgreSQL store, a fresh database per run),
# against in-process batch `hygie detect` (1 and 2 threads) on the same events and rules.
# Not a test: figures go to BENCHMARKS.md.
#
#   benches/nats_bench.sh [EVENTS]       default 200000
#
# Environment: DATA=../shared/data (SigmaHQ rules in $DATA/sigma/rules/windows),
# WORK=/tmp/hygie-nats-bench (deleted unless KEEP=1), HYGIE_BIN (default: a release build,
# made here), PG=postgres://root@127.0.0.1:5432 (the server; databases hygie_nats_bench_* are
# created and dropped), NATS_SERVER=/usr/sbin/nats-server (started here on free ports, its own
# store in $WORK; never the server on 4222).
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-200000}
DATA=$(cd "${DATA:-../shared/data}" && pwd)
WORK=${WORK:-/tmp/hygie-nats-bench}
PG=${PG:-postgres://root@127.0.0.1:5432}
NATS_SERVER=${NATS_SERVER:-/usr/sbin/nats-server}
RULES=$DATA/sigma/rules/windows
FINESS=350000014
mkdir -p "$WORK"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for db in $(psql "$PG/test" -Atc "select datname from pg_database where datname like 'hygie_nats_bench_%'" 2>/dev/null); do
    psql "$PG/test" -qc "drop database $db with (force)" >/dev/null 2>&1 || true
  done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${HYGIE_BIN:-}" ]; then
  cargo build -q --release -p hygie-cli
  HYGIE_BIN=$PWD/target/release/hygie
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

# Windows logons: failed (4625) and successful (4624, network or remote interactive) ones, five
# hosts, one a second; SigmaHQ's Windows rules evaluate every one of them.
python3 - "$EVENTS" > "$WORK/events.ndjson" <<'PY'
import sys, json, datetime
n = int(sys.argv[1])
hosts = ["DC01", "pc-1.chu.local", "pc-2.chu.local", "SRV-PACS", "pc-3"]
t0 = datetime.datetime(2026, 3, 2, tzinfo=datetime.timezone.utc)
for i in range(n):
    e = {"Channel": "Security", "Computer": hosts[i % 5], "EventRecordID": i + 1,
         "TimeCreated": (t0 + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "TargetUserName": f"user{i % 37}", "IpAddress": "10.0.0.%d" % (i % 200),
         "LogonType": 10 if i % 4 == 1 else 3, "Status": "0xc000006d",
         "EventID": 4625 if i % 2 == 0 else 4624}
    print(json.dumps(e))
PY

NATS_PORT=$(free_port); MON_PORT=$(free_port)
"$NATS_SERVER" -js -a 127.0.0.1 -p "$NATS_PORT" -m "$MON_PORT" -sd "$WORK/nats" >"$WORK/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$MON_PORT/healthz" >/dev/null && break; sleep 0.1; done
URL=nats://127.0.0.1:$NATS_PORT
stored() { curl -sf "http://127.0.0.1:$MON_PORT/jsz" | jq '.messages'; }
# Messages of a consumer not yet acknowledged (pending + delivered and not acknowledged).
unacked() {
  curl -sf "http://127.0.0.1:$MON_PORT/jsz?consumers=true" |
    jq --arg c "$1" '[.account_details[].stream_detail[].consumer_detail[]? | select(.name == $c) | .num_pending + .num_ack_pending] | add // -1'
}
fresh_db() {
  local db=hygie_nats_bench_$1
  psql "$PG/test" -qc "drop database if exists $db with (force)" >/dev/null
  psql "$PG/test" -qc "create database $db" >/dev/null
  export HYGIE_DATABASE_URL=$PG/$db
  "$HYGIE_BIN" facility add --finess "$FINESS" --name "CHU bench" --region BRE --kind hospital \
    --plan-start 2026-01-01 >/dev/null
}
export HOME=$WORK

echo "events: $EVENTS Windows logons; rules: $RULES; load $(cut -d' ' -f1 /proc/loadavg); $(nproc) cores"

# In-process batch detection, the reference.
for threads in 1 2; do
  fresh_db "batch$threads"
  t0=$(now)
  "$HYGIE_BIN" detect --rules "$RULES" --logs "$WORK/events.ndjson" --facility "$FINESS" \
    --threads "$threads" --format json >/dev/null 2>"$WORK/detect$threads.log"
  t1=$(now)
  echo "hygie detect, $threads thread(s): $(python3 -c "print(f'{$EVENTS/($t1-$t0):,.0f} events/s ({$t1-$t0:.2f} s, rule loading included)')")"
done

# Publish.
"$HYGIE_BIN" ingest --publish "$URL" --listen json+tcp://127.0.0.1:0 --facility "$FINESS" --format json \
  >"$WORK/publish.json" 2>"$WORK/publish.log" &
PUB=$!; pids+=($PUB)
for _ in $(seq 1 100); do grep -q '^listening tcp' "$WORK/publish.log" && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening tcp \([^ ]*\).*/\1/p' "$WORK/publish.log")
t0=$(now)
cat "$WORK/events.ndjson" > "/dev/tcp/${ADDR%:*}/${ADDR##*:}"
while [ "$(stored)" -lt "$EVENTS" ]; do sleep 0.05; done
t1=$(now)
kill -TERM $PUB; wait $PUB
echo "hygie ingest --publish: $(python3 -c "print(f'{$EVENTS/($t1-$t0):,.0f} events/s ({$t1-$t0:.2f} s)')") $(cat "$WORK/publish.json")"

# Workers: N processes on a fresh consumer and a fresh database; timed from the moment every
# worker has its rules ready to the moment the consumer has nothing unacknowledged.
for n in 1 2; do
  fresh_db "workers$n"
  consumer=bench-$n
  wp=()
  for w in $(seq 1 "$n"); do
    "$HYGIE_BIN" detect-worker --nats "$URL" --facility "$FINESS" --rules "$RULES" \
      --consumer "$consumer" --format json >"$WORK/worker$n-$w.json" 2>"$WORK/worker$n-$w.log" &
    wp+=($!); pids+=($!)
  done
  for w in $(seq 1 "$n"); do
    until grep -q 'rules loaded' "$WORK/worker$n-$w.log"; do sleep 0.01; done
  done
  t0=$(now)
  sleep 0.2
  while [ "$(unacked "$consumer")" != 0 ]; do sleep 0.05; done
  t1=$(now)
  for p in "${wp[@]}"; do kill -TERM "$p"; wait "$p"; done
  alerts=$("$HYGIE_BIN" alerts list --facility "$FINESS" --limit 1000000 --format json | jq 'length')
  echo "$n detect-worker(s): $(python3 -c "print(f'{$EVENTS/($t1-$t0):,.0f} events/s ({$t1-$t0:.2f} s)')"), $alerts alerts; $(cat "$WORK"/worker$n-*.json | tr -d '\n')"
done
