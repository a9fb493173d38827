#!/usr/bin/env bash
# Correlation benchmark (issue 20): batch detection throughput with and without Hygie's
# correlation rules (rules/windows/correlation) loaded beside SigmaHQ's rules, on the same EVTX
# corpus as benches/detect_bench.sh; then peak memory over failed logons with 1,000 and 100,000
# distinct group-by keys (accounts).
#
#   benches/correlation_bench.sh [RUNS]     default 3
#
# Environment: DATA=../shared/data, WORK=/tmp/hygie-correlation-bench (deleted unless KEEP=1),
# THREADS=2, EVENTS=200000 (failed logons per memory run).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
DATA=$(cd "${DATA:-../shared/data}" && pwd)
WORK=${WORK:-/tmp/hygie-correlation-bench}
THREADS=${THREADS:-2}
EVENTS=${EVENTS:-200000}
RULES=$DATA/sigma/rules
CORR=$PWD/rules/windows/correlation
mkdir -p "$WORK"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

cargo build -q --release -p hygie-logs --example detect_bench
BENCH=$PWD/target/release/examples/detect_bench

# The "15x" corpus of detect_bench.sh: fifteen copies of the six largest attack samples.
mkdir -p "$WORK/15x"
i=0
while IFS=$'\t' read -r _size path; do
  for c in $(seq 1 15); do cp "$path" "$WORK/15x/f${i}_c${c}.evtx"; done
  i=$((i + 1))
done < <(find "$DATA/evtx-attack-samples" -name '*.evtx' -printf '%s\t%p\n' | sort -t$'\t' -k1,1nr -k2,2 | head -6)

# Failed logons, one every 10 ms from one source, spread over KEYS accounts.
logons() {
  python3 - "$1" "$2" <<'PY'
import sys, json
n, keys = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    ms = i * 10
    s, ms = divmod(ms, 1000); m, s = divmod(s, 60); h, m = divmod(m, 60)
    print(json.dumps({"EventID": 4625, "Channel": "Security", "Computer": "DC01",
        "TimeCreated": f"2026-03-02T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z", "EventRecordID": i,
        "TargetUserName": f"user{i % keys}", "IpAddress": "10.0.0.1", "LogonType": 3,
        "Status": "0xc000006d"}))
PY
}
logons "$EVENTS" 1000 > "$WORK/keys-1k.ndjson"
logons "$EVENTS" 100000 > "$WORK/keys-100k.ndjson"

for run in $(seq 1 "$RUNS"); do
  echo "run $run, load $(cut -d' ' -f1 /proc/loadavg)"
  echo -n "sigmahq alone:        "; "$BENCH" batch "$THREADS" "$RULES" -- "$WORK/15x"
  echo -n "sigmahq+correlation:  "; "$BENCH" batch "$THREADS" "$RULES" "$CORR" -- "$WORK/15x"
  echo -n "1k keys:              "; "$BENCH" batch "$THREADS" "$CORR" -- "$WORK/keys-1k.ndjson"
  echo -n "100k keys:            "; "$BENCH" batch "$THREADS" "$CORR" -- "$WORK/keys-100k.ndjson"
done
