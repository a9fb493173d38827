#!/usr/bin/env bash
# Round trip of an incremental push (issue 19): the demo's CHU (350000014) pushes to a regional
# `hygie serve` over HTTPS on loopback (a test CA made with openssl), then N times: one
# declaration changes (`assess set`, not timed) and `hygie sync push` sends it (timed: the whole
# command, process start, snapshot, signature, TLS, the region's import in one transaction and
# its answer, the acknowledgement). The region runs on PostgreSQL when HYGIE_BENCH_POSTGRES_URL
# names a database it may create tables in (fresh: use an empty database), else on SQLite.
# Usage: benches/federation_push.sh [path/to/hygie] [N]   (default target/debug/hygie, 100)
set -euo pipefail
HYGIE=$(realpath "${1:-target/debug/hygie}")
N=${2:-100}
DIR=$(mktemp -d)
REGION_PID=
cleanup() { [ -n "$REGION_PID" ] && kill "$REGION_PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
F=350000014
fac() { HYGIE_DATA_DIR=$DIR/facility XDG_CONFIG_HOME=$DIR/fconfig HOME=$DIR "$HYGIE" "$@"; }
if [ -n "${HYGIE_BENCH_POSTGRES_URL:-}" ]; then
  reg() { HYGIE_DATABASE_URL=$HYGIE_BENCH_POSTGRES_URL HYGIE_DATA_DIR=$DIR/region XDG_CONFIG_HOME=$DIR/rconfig HOME=$DIR "$HYGIE" "$@"; }
  BACKEND=postgres
else
  reg() { HYGIE_DATA_DIR=$DIR/region XDG_CONFIG_HOME=$DIR/rconfig HOME=$DIR "$HYGIE" "$@"; }
  BACKEND=sqlite
fi
cd "$DIR"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days 2 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
  -subj "/CN=localhost" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
  -extfile ext 2>/dev/null
fac demo >/dev/null
KEY=$(fac identity show --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["public_key"])')
reg region enrol --finess $F --key "$KEY" >/dev/null
reg region push-token --finess $F -o "$DIR/push.token" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg serve --listen 127.0.0.1:$PORT --tls-cert server.pem --tls-key server.key >/dev/null 2>&1 &
REGION_PID=$!
for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
push() { fac sync push --facility $F --to "https://localhost:$PORT" --token-file "$DIR/push.token" --ca-cert ca.pem --format json; }
push >/dev/null   # the first, full package
python3 - "$N" "$BACKEND" <<PY
import json, subprocess, sys, time, os
n, backend = int(sys.argv[1]), sys.argv[2]
env = dict(os.environ, HYGIE_DATA_DIR="$DIR/facility", XDG_CONFIG_HOME="$DIR/fconfig", HOME="$DIR")
base = ["$HYGIE"]
push = base + ["sync", "push", "--facility", "$F", "--to", "https://localhost:$PORT",
               "--token-file", "$DIR/push.token", "--ca-cert", "$DIR/ca.pem", "--format", "json"]
times = []
for i in range(n):
    status = "in_progress" if i % 2 == 0 else "implemented"
    subprocess.run(base + ["assess", "set", "$F", "BCK-06", "--status", status, "--owner", "RSSI"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    t = time.perf_counter()
    out = subprocess.run(push, env=env, check=True, capture_output=True).stdout
    times.append((time.perf_counter() - t) * 1000)
    r = json.loads(out)
    assert r["sent"][-1]["outcome"] == "imported", r
# The same command with nothing new: process start, store, snapshot and digest, no connection.
idle = []
for i in range(20):
    t = time.perf_counter()
    out = subprocess.run(push, env=env, check=True, capture_output=True).stdout
    idle.append((time.perf_counter() - t) * 1000)
    assert json.loads(out)["outcome"] == "up_to_date"
times.sort(); idle.sort()
q = lambda xs, p: xs[min(len(xs) - 1, round((len(xs) - 1) * p))]
print(f"region on {backend}: {n} incremental pushes of one declaration: "
      f"p50 {q(times, 0.5):.1f} ms, p99 {q(times, 0.99):.1f} ms, max {times[-1]:.1f} ms (whole hygie sync push command)")
print(f"  the same command with nothing new (no connection): p50 {q(idle, 0.5):.1f} ms, p99 {q(idle, 0.99):.1f} ms")
PY
