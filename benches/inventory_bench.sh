#!/usr/bin/env bash
# The inventory and vulnerability matching end to end through `hygie` (issue 21): what a CISO
# runs the first time, timed command by command on the embedded SQLite store.
#
#   1. `hygie inventory import --source fusioninventory` of ASSETS FusionInventory XML files
#      (one per machine, SOFTWARE packages each: 2 million by default), a first import;
#   2. `hygie vuln import` of a KEV catalogue and of an NVD CVE API 2.0 file of CVES records;
#   3. `hygie inventory vulns --format json` (the whole register matched, the rule recorded, every
#      match printed) to /dev/null.
#
# The files come from hygie-vuln's matching bench (`--write`): the same deterministic fleet and
# feeds (three versions of each product across the fleet, 1-3 CPE ranges per CVE, 1 % KEV).
# Each step: wall time, CPU (user + system) and peak resident memory (/usr/bin/time).
#
#   HYGIE_BIN=target/release/hygie benches/inventory_bench.sh [CVES [ASSETS [SOFTWARE]]]
#   defaults 250000 20000 100; HYGIE_BENCH_DIR: where the files and the store go (/tmp).
set -euo pipefail
CVES=${1:-250000}
ASSETS=${2:-20000}
PER=${3:-100}
HYGIE_BIN=$(realpath "${HYGIE_BIN:-target/release/hygie}")
DIR=$(mktemp -d "${HYGIE_BENCH_DIR:-/tmp}/hygie-inventory-bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
F=350000014

cargo bench -q -p hygie-vuln --bench matching -- --write "$DIR/files" "$CVES" "$ASSETS" "$PER"
run() {
  env HYGIE_DATA_DIR="$DIR/data" XDG_CONFIG_HOME="$DIR/config" HOME="$DIR" "$HYGIE_BIN" "$@"
}
run facility add --finess $F --name "CHU bench" --kind hospital --region BRE \
  --plan-start 2026-01-01 >/dev/null

total=0
printf '| step | wall | CPU (user + sys) | peak memory |\n| --- | --- | --- | --- |\n'
step() {
  local name=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$DIR/time" \
    env HYGIE_DATA_DIR="$DIR/data" XDG_CONFIG_HOME="$DIR/config" HOME="$DIR" "$HYGIE_BIN" "$@" \
    >"$DIR/out"
  read -r wall user sys kib <"$DIR/time"
  total=$(python3 -c "print(round($total + $wall, 2))")
  printf '| %s | %s s | %s s | %s MiB |\n' "$name" "$wall" \
    "$(python3 -c "print(round($user + $sys, 2))")" "$((kib / 1024))"
}
step "inventory import ($ASSETS assets, $((ASSETS * PER)) software)" \
  inventory import --facility $F --source fusioninventory "$DIR"/files/inventory/*.xml
step "vuln import --feed kev" vuln import --feed kev "$DIR/files/kev.json"
step "vuln import --feed nvd ($CVES CVEs)" vuln import --feed nvd "$DIR/files/nvd.json"
step "inventory vulns --format json" inventory vulns --facility $F --format json
python3 - "$DIR/out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
kev = sum(1 for m in r["matches"] if m["kev"])
print(f"matches: {len(r['matches'])} vulnerable software ({kev} known exploited), "
      f"{len(r['unmatched'])} unmatched; output {round(len(open(sys.argv[1]).read()) / 1e6)} MB")
PY
echo "total: $total s"
