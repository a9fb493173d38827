#!/usr/bin/env bash
# Detection benchmark (issue 5): batch detection from EVTX on the "big" corpus, Hygie and, when
# their binaries are given, the peers run back to back in the same loop so that they see the same
# machine load; then streaming JSON over loopback TCP.
#
#   benches/detect_bench.sh [RUNS]          default 3
#
# Environment (all optional):
#   DATA=../shared/data          the shared data folder (EVTX samples and SigmaHQ rules)
#   WORK=/tmp/hygie-detect-bench generated corpora and outputs (deleted at the end unless KEEP=1)
#   THREADS=2                    Hygie worker threads
#   RSIGMA=path/to/rsigma        RSigma CLI 0.23 (built outside this repository)
#   HYGIE_BIN=target/release/hygie  time the CLI instead of the detect_bench example
#   HAYABUSA=path/to/hayabusa    Hayabusa binary; run from its folder (it reads ./rules, ./config)
#   CHAINSAW=path/to/chainsaw    Chainsaw binary; CHAINSAW_MAPPING=its sigma-event-logs-all.yml
#   SKIP_STREAM=1                skip the streaming run
#
# Corpora: "1x" = the six largest files of evtx-attack-samples (largest first, ties by path),
# "15x" = fifteen copies of each (90 files), the "big" corpus of the issue. Each line of
# $WORK/results.tsv: tool, corpus, run, wall s, user s, sys s, peak RSS KiB, load average.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
DATA=${DATA:-../shared/data}
DATA=$(cd "$DATA" && pwd)
WORK=${WORK:-/tmp/hygie-detect-bench}
THREADS=${THREADS:-2}
RULES=$DATA/sigma/rules
mkdir -p "$WORK"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK/1x" "$WORK/15x" "$WORK"/*.ndjson "$WORK"/out.*; }
trap cleanup EXIT

cargo build -q --release -p hygie-logs --example detect_bench
BENCH=$PWD/target/release/examples/detect_bench
# HYGIE_BIN=target/release/hygie times the full CLI (`hygie detect ... --format json`); without it
# the detect_bench example runs the same loader, reader, detector and aggregation without printing.
if [ -n "${HYGIE_BIN:-}" ]; then
  hygie_cmd() { "$HYGIE_BIN" detect --rules "$RULES" --logs "$1" --threads "$THREADS" --format json; }
else
  hygie_cmd() { "$BENCH" batch "$THREADS" "$RULES" -- "$1"; }
fi
export -f hygie_cmd
export HYGIE_BIN BENCH THREADS

# --- corpora ----------------------------------------------------------------------------------
rm -rf "$WORK/1x" "$WORK/15x"
mkdir -p "$WORK/1x" "$WORK/15x"
i=0
while IFS=$'\t' read -r _size path; do
  cp "$path" "$WORK/1x/f${i}.evtx"
  for c in $(seq 1 15); do cp "$path" "$WORK/15x/f${i}_c${c}.evtx"; done
  echo "corpus file f$i: ${path#"$DATA"/}"
  i=$((i + 1))
done < <(find "$DATA/evtx-attack-samples" -name '*.evtx' -printf '%s\t%p\n' | sort -t$'\t' -k1,1nr -k2,2 | head -6)
"$BENCH" ndjson "$WORK/15x.ndjson" "$WORK/15x" > "$WORK/ndjson.json"
cat "$WORK/ndjson.json"

RES=$WORK/results.tsv
: > "$RES"
# timed TOOL CORPUS RUN CMD...: one line of results.tsv; the command's stdout goes to $WORK/out.TOOL.
timed() {
  local tool=$1 corpus=$2 run=$3; shift 3
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f '%e\t%U\t%S\t%M' -o "$WORK/time.txt" "$@" > "$WORK/out.$tool" 2> "$WORK/err.$tool" || {
    echo "$tool failed:"; tail -5 "$WORK/err.$tool"; }
  printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$corpus" "$run" "$(tail -1 "$WORK/time.txt")" "$load" | tee -a "$RES"
}

# rsigma's `engine eval` reads one EVTX file per process (-e @FILE), as nested records whose field
# paths SigmaHQ rules do not name; its own --jq option lifts EventData and the System fields the
# rules use to the top level. It is timed (a) over each EVTX file, as a user has to run it, and
# (b) once over the flat NDJSON that Hygie's reader writes (conversion not counted: the most
# favourable case for it).
RSIGMA_JQ='.Event as $e | ($e.System) as $s | (($e.EventData // {}) | if type=="object" then . else {} end) + {Channel: $s.Channel, Computer: $s.Computer, EventID: ($s.EventID | if type=="object" then .["#text"] else . end), Provider_Name: $s.Provider["#attributes"].Name}'
rsigma_each() { for f in "$1"/*.evtx; do "$RSIGMA" engine eval -r "$RULES" -p sysmon --logsource-routing -e "@$f" --jq "$RSIGMA_JQ" --output-format ndjson; done; }
export -f rsigma_each
export RSIGMA RULES RSIGMA_JQ

for run in $(seq 1 "$RUNS"); do
  for corpus in 1x 15x; do
    timed hygie "$corpus" "$run" bash -c 'hygie_cmd "$1"' _ "$WORK/$corpus"
    tail -1 "$WORK/out.hygie"; grep -h 'events' "$WORK/err.hygie" | tail -1 || true
    if [ -n "${RSIGMA:-}" ]; then
      timed rsigma-evtx-per-file "$corpus" "$run" bash -c 'rsigma_each "$1"' _ "$WORK/$corpus"
    fi
    if [ -n "${HAYABUSA:-}" ]; then
      rm -f "$WORK/out.hayabusa.jsonl"
      (cd "$(dirname "$HAYABUSA")" && timed hayabusa "$corpus" "$run" "$HAYABUSA" dfir-timeline -d "$WORK/$corpus" -w -q -Q -K -C -t jsonl -o "$WORK/out.hayabusa.jsonl")
    fi
    if [ -n "${CHAINSAW:-}" ]; then
      rm -rf "$WORK/out.chainsaw.jsonl"
      timed chainsaw "$corpus" "$run" "$CHAINSAW" --no-banner hunt "$WORK/$corpus" -s "$RULES" --mapping "$CHAINSAW_MAPPING" --jsonl -o "$WORK/out.chainsaw.jsonl"
    fi
  done
  if [ -n "${RSIGMA:-}" ]; then
    timed rsigma-flat-ndjson 15x "$run" "$RSIGMA" engine eval -r "$RULES" -p sysmon --logsource-routing --event-logsource product=windows -e "@$WORK/15x.ndjson" --output-format ndjson
  fi
done

# --- streaming JSON over loopback TCP -----------------------------------------------------------
if [ "${SKIP_STREAM:-0}" != 1 ]; then
  # Fifteen copies of the flat corpus make a stream long enough to be sustained (≈ 560 k events).
  for c in $(seq 1 15); do cat "$WORK/15x.ndjson"; done > "$WORK/stream.ndjson"
  for run in $(seq 1 "$RUNS"); do
    echo "load $(cut -d' ' -f1 /proc/loadavg)"
    "$BENCH" stream "$THREADS" "$WORK/stream.ndjson" "$DATA/sigma/rules"
  done
fi
echo "results: $RES"
