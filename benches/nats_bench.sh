#!/usr/bin/env bash
# NATS JetStream benchmark (issue 20): events per second through `hygie ingest --publish`, then
# through one and two `hygie detect-worker`s (one PostgreSQL store, a fresh database per run),
# against the in-process streaming `hygie ingest` (1 and 2 detection threads) and batch
# `hygie detect` on the same events and rules; the CPU time of each Hygie process while it works
# (events per CPU second: the "per core" comparison); then the latency from JetStream storing an
# event to its alert committed, with one worker fed at half its measured rate; and, when
# RSIGMA is given, RSigma's daemon (`rsigma engine daemon`) on the same stream (one and two in a consumer group).
# Not a test: figures go to BENCHMARKS.md.
#
#   benches/nats_bench.sh [EVENTS]       default 200000
#
# Environment: DATA=../shared/data (SigmaHQ rules in $DATA/sigma/rules/windows),
# WORK=/tmp/hygie-nats-bench (deleted unless KEEP=1), HYGIE_BIN (default: a release build,
# made here), PG=postgres://root@127.0.0.1:5432 (the server; databases hygie_nats_bench_* are
# created and dropped), NATS_SERVER=/usr/sbin/nats-server (started here on free ports, its own
# store in $WORK; never the server on 4222), RSIGMA (an `rsigma` 0.23.0 binary built with
# `--features daemon-nats`; skipped when unset), LATENCY_SECONDS=30 (length of the paced run).
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
# hosts, one a second; SigmaHQ's Windows rules evaluate every one of them and one fires on 1 %.
python3 - "$EVENTS" > "$WORK/events.ndjson" <<'PY'
import sys, json, datetime
n = int(sys.argv[1])
hosts = ["DC01", "pc-1.chu.local", "pc-2.chu.local", "SRV-PACS", "pc-3"]
t0 = datetime.datetime(2026, 3, 2, tzinfo=datetime.timezone.utc)
for i in range(n):
    e = {"Channel": "Security", "Computer": hosts[i % 5], "EventRecordID": i + 1,
         "TimeCreated": (t0 + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "TargetUserName": f"user{i % 37}", "IpAddress": "10.0.0.%d" % (i % 200),
         "LogonType": 10 if i % 4 == 1 else 3,
         # One failed logon in 50 on a disabled account: SigmaHQ's "Suspicious Failed Logon
         # Reasons" fires, so the store's merge is part of what is measured.
         "Status": "0xC0000072" if i % 100 == 0 else "0xc000006d",
         "EventID": 4625 if i % 2 == 0 else 4624}
    print(json.dumps(e))
PY

NATS_PORT=$(free_port); MON_PORT=$(free_port)
"$NATS_SERVER" -js -a 127.0.0.1 -p "$NATS_PORT" -m "$MON_PORT" -sd "$WORK/nats" >"$WORK/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$MON_PORT/healthz" >/dev/null && break; sleep 0.1; done
URL=nats://127.0.0.1:$NATS_PORT
stored() { curl -sf "http://127.0.0.1:$MON_PORT/jsz" | jq '.messages'; }
# Messages carry several events each: a publisher is done once the stream has stopped growing
# for half a second; prints the time of its last growth.
published_at() {
  local last=-1 changed n
  changed=$(now)
  while true; do
    n=$(stored)
    if [ "$n" != "$last" ]; then last=$n; changed=$(now)
    elif [ "$n" -gt 0 ] && python3 -c "import sys; sys.exit(0 if $(now) - $changed > 0.5 else 1)"; then break; fi
    sleep 0.02
  done
  echo "$changed"
}
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
# CPU seconds (user + system) a live process has used.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
rate() { python3 -c "print(f'{$1/($2):,.0f}')"; }

# In-process batch detection.
for threads in 1 2; do
  fresh_db "batch$threads"
  t0=$(now)
  "$HYGIE_BIN" detect --rules "$RULES" --logs "$WORK/events.ndjson" --facility "$FINESS" \
    --threads "$threads" --format json >/dev/null 2>"$WORK/detect$threads.log"
  t1=$(now)
  echo "hygie detect, $threads thread(s): $(rate "$EVENTS" "$t1-$t0") events/s ($(python3 -c "print(f'{$t1-$t0:.2f}')") s, rule loading included)"
done

# In-process streaming: the same events over TCP into `hygie ingest` (spool, detection threads,
# the store), timed from the first byte to the process's exit once every event is evaluated.
# CPU: the process's total (/usr/bin/time) less what it used before listening (rule loading).
for threads in 1 2; do
  fresh_db "ingest$threads"
  /usr/bin/time -f '%U %S' -o "$WORK/ingest$threads.time" \
    "$HYGIE_BIN" ingest --rules "$RULES" --listen json+tcp://127.0.0.1:0 --facility "$FINESS" \
    --workers "$threads" --spool-dir "$WORK/spool$threads" --format json \
    >"$WORK/ingest$threads.json" 2>"$WORK/ingest$threads.log" &
  ING=$!; pids+=($ING)
  until grep -q '^listening tcp' "$WORK/ingest$threads.log"; do sleep 0.05; done
  IPID=$(pgrep -P "$ING" -x hygie || echo "$ING")
  c0=$(cpu "$IPID")
  ADDR=$(sed -n 's/^listening tcp \([^ ]*\).*/\1/p' "$WORK/ingest$threads.log")
  t0=$(now)
  cat "$WORK/events.ndjson" > "/dev/tcp/${ADDR%:*}/${ADDR##*:}"
  # Everything sent is in the spool once the sender's socket is closed and read: stop then.
  sleep 0.2
  kill -TERM "$IPID"; wait "$ING" || true
  t1=$(now)
  c1=$(awk '{print $1 + $2}' "$WORK/ingest$threads.time")
  evaluated=$(jq '.evaluated' "$WORK/ingest$threads.json")
  echo "hygie ingest, $threads detection thread(s): $(rate "$evaluated" "$t1-$t0") events/s, $evaluated evaluated, $(rate "$evaluated" "$c1-$c0") events per CPU second ($(python3 -c "print(f'{$c1-$c0:.1f}')") s CPU); $(tr -d '\n' < "$WORK/ingest$threads.json")"
done

# Publish.
"$HYGIE_BIN" ingest --publish "$URL" --listen json+tcp://127.0.0.1:0 --facility "$FINESS" --format json \
  >"$WORK/publish.json" 2>"$WORK/publish.log" &
PUB=$!; pids+=($PUB)
for _ in $(seq 1 100); do grep -q '^listening tcp' "$WORK/publish.log" && break; sleep 0.1; done
ADDR=$(sed -n 's/^listening tcp \([^ ]*\).*/\1/p' "$WORK/publish.log")
t0=$(now)
cat "$WORK/events.ndjson" > "/dev/tcp/${ADDR%:*}/${ADDR##*:}"
t1=$(published_at)
kill -TERM $PUB; wait $PUB
[ "$(jq '.accepted' "$WORK/publish.json")" = "$EVENTS" ] || { echo "the publisher did not store every event: $(cat "$WORK/publish.json")"; exit 1; }
echo "hygie ingest --publish: $(rate "$EVENTS" "$t1-$t0") events/s ($(python3 -c "print(f'{$t1-$t0:.2f}')") s) in $(stored) messages $(cat "$WORK/publish.json")"

# Workers: N processes on a fresh consumer and a fresh database; timed from the moment every
# worker has its rules ready to the moment the consumer has nothing unacknowledged; CPU over the
# same span.
one_worker_rate=0
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
  c0=0; for p in "${wp[@]}"; do c0=$(python3 -c "print($c0 + $(cpu "$p"))"); done
  t0=$(now)
  sleep 0.2
  while [ "$(unacked "$consumer")" != 0 ]; do sleep 0.05; done
  t1=$(now)
  c1=0; for p in "${wp[@]}"; do c1=$(python3 -c "print($c1 + $(cpu "$p"))"); done
  for p in "${wp[@]}"; do kill -TERM "$p"; wait "$p"; done
  alerts=$("$HYGIE_BIN" alerts list --facility "$FINESS" --limit 1000000 --format json | jq 'length')
  [ "$n" = 1 ] && one_worker_rate=$(python3 -c "print(int($EVENTS/($t1-$t0)))")
  echo "$n detect-worker(s): $(rate "$EVENTS" "$t1-$t0") events/s ($(python3 -c "print(f'{$t1-$t0:.2f}')") s), $(rate "$EVENTS" "$c1-$c0") events per CPU second ($(python3 -c "print(f'{$c1-$c0:.1f}')") s CPU), $alerts alerts; $(cat "$WORK"/worker$n-*.json | jq -c '{events, acknowledged, alert_updates, redelivered, p99_ms: .latency.all.p99_ms}' | tr '\n' ' ')"
done

# Latency: one worker on a stream of its own, fed through `hygie ingest --publish` at half the
# rate one worker sustained above, paced every 10 ms, for LATENCY_SECONDS; the worker reports
# the time from JetStream storing each message to its batch committed (all messages, and those
# that fed an alert).
# A second facility keeps these events apart from the ones above on the same stream (subjects
# are per facility; a second stream's subjects would overlap the first's).
LAT_RATE=$((one_worker_rate / 2)); LAT_SECONDS=${LATENCY_SECONDS:-30}; LAT_FINESS=750712184
fresh_db latency
"$HYGIE_BIN" facility add --finess "$LAT_FINESS" --name "CH latence" --region IDF --kind hospital \
  --plan-start 2026-01-01 >/dev/null
"$HYGIE_BIN" detect-worker --nats "$URL" --facility "$LAT_FINESS" --rules "$RULES" \
  --consumer latency --format json >"$WORK/latency-worker.json" 2>"$WORK/latency-worker.log" &
LW=$!; pids+=($LW)
until grep -q 'rules loaded' "$WORK/latency-worker.log"; do sleep 0.01; done
"$HYGIE_BIN" ingest --publish "$URL" --listen json+tcp://127.0.0.1:0 \
  --facility "$LAT_FINESS" --format json >"$WORK/latency-publish.json" 2>"$WORK/latency-publish.log" &
LP=$!; pids+=($LP)
until grep -q '^listening tcp' "$WORK/latency-publish.log"; do sleep 0.05; done
ADDR=$(sed -n 's/^listening tcp \([^ ]*\).*/\1/p' "$WORK/latency-publish.log")
python3 - "$WORK/events.ndjson" "${ADDR%:*}" "${ADDR##*:}" "$LAT_RATE" "$LAT_SECONDS" <<'PY'
import socket, sys, time
path, host, port, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
lines = open(path, 'rb').read().splitlines(keepends=True)
s = socket.create_connection((host, port))
per_tick, sent, start = max(1, rate // 100), 0, time.monotonic()
while time.monotonic() - start < seconds:
    tick = int((time.monotonic() - start) * 100)
    due = min((tick + 1) * per_tick, len(lines) * 1000)
    if due > sent:
        s.sendall(b''.join(lines[i % len(lines)] for i in range(sent, due)))
        sent = due
    time.sleep(max(0.0, start + (tick + 1) / 100 - time.monotonic()))
s.close()
print(f"paced sender: {sent} events in {time.monotonic() - start:.1f} s")
PY
sleep 1
while [ "$(unacked latency)" != 0 ]; do sleep 0.05; done
kill -TERM $LP; wait $LP || true
kill -TERM $LW; wait $LW
echo "latency at $LAT_RATE events/s (half of one worker's rate): $(jq -c '.latency' "$WORK/latency-worker.json")"

# RSigma's daemon on the same events: RSigma makes (or finds) its stream by a name it derives from
# the subject, `rsigma-<subject>`, and that stream's subjects would overlap Hygie's on one server;
# so a second server of its own, where `hygie ingest --publish --events-per-message 1` fills a
# stream of that name with the same events, one per message (RSigma reads one event a message). A consumer group of 1, then 2 daemons, detections to a file (RSigma has no
# store), timed like the workers.
if [ -n "${RSIGMA:-}" ]; then
  R_PORT=$(free_port); R_MON=$(free_port)
  "$NATS_SERVER" -js -a 127.0.0.1 -p "$R_PORT" -m "$R_MON" -sd "$WORK/nats-rsigma" >"$WORK/nats-rsigma.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$R_MON/healthz" >/dev/null && break; sleep 0.1; done
  R_URL=nats://127.0.0.1:$R_PORT
  R_STREAM=rsigma-hygie-events-$FINESS
  "$HYGIE_BIN" ingest --publish "$R_URL" --stream "$R_STREAM" --events-per-message 1 --listen json+tcp://127.0.0.1:0 --facility "$FINESS" \
    --format json >"$WORK/rsigma-publish.json" 2>"$WORK/rsigma-publish.log" &
  RP=$!; pids+=($RP)
  until grep -q '^listening tcp' "$WORK/rsigma-publish.log"; do sleep 0.05; done
  ADDR=$(sed -n 's/^listening tcp \([^ ]*\).*/\1/p' "$WORK/rsigma-publish.log")
  cat "$WORK/events.ndjson" > "/dev/tcp/${ADDR%:*}/${ADDR##*:}"
  while [ "$(curl -sf "http://127.0.0.1:$R_MON/jsz" | jq '.messages')" -lt "$EVENTS" ]; do sleep 0.05; done
  kill -TERM $RP; wait $RP
  r_unacked() {
    curl -sf "http://127.0.0.1:$R_MON/jsz?consumers=true" |
      jq --arg c "$1" '[.account_details[].stream_detail[].consumer_detail[]? | select(.name == $c) | .num_pending + .num_ack_pending] | add // -1'
  }
  for n in 1 2; do
    group=rsigma-$n
    rp=()
    for w in $(seq 1 "$n"); do
      "$RSIGMA" engine daemon -r "$RULES" --input "$R_URL/hygie.events.$FINESS.>" --consumer-group "$group" \
        --output "file://$WORK/rsigma$n-$w.ndjson" --api-addr "127.0.0.1:$(free_port)" \
        >"$WORK/rsigma$n-$w.out" 2>"$WORK/rsigma$n-$w.log" &
      rp+=($!); pids+=($!)
    done
    # Ready once its consumer exists (named after the group).
    until [ "$(r_unacked "$group")" != -1 ]; do sleep 0.05; done
    c0=0; for p in "${rp[@]}"; do c0=$(python3 -c "print($c0 + $(cpu "$p"))"); done
    t0=$(now)
    sleep 0.2
    while [ "$(r_unacked "$group")" != 0 ]; do sleep 0.05; done
    t1=$(now)
    c1=0; for p in "${rp[@]}"; do c1=$(python3 -c "print($c1 + $(cpu "$p"))"); done
    for p in "${rp[@]}"; do kill -TERM "$p"; wait "$p" || true; done
    echo "$n rsigma daemon(s): $(rate "$EVENTS" "$t1-$t0") events/s ($(python3 -c "print(f'{$t1-$t0:.2f}')") s), $(rate "$EVENTS" "$c1-$c0") events per CPU second ($(python3 -c "print(f'{$c1-$c0:.1f}')") s CPU), $(cat "$WORK"/rsigma$n-*.ndjson 2>/dev/null | wc -l) detections"
  done
fi
