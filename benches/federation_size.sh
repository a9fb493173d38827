#!/usr/bin/env bash
# Size of one federation package (issue 19): the demo's CHU (350000014, one check run of its
# own) with every measure of the bundled catalogue declared four more times (a year of quarterly
# reviews, owner and note) and 20 evidence files, exported with `hygie sync export`.
# Usage: benches/federation_size.sh [path/to/hygie]   (default target/debug/hygie)
set -euo pipefail
HYGIE=${1:-target/debug/hygie}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
export HYGIE_DATA_DIR=$DIR/data XDG_CONFIG_HOME=$DIR/config
F=350000014
"$HYGIE" demo >/dev/null
MEASURES=$("$HYGIE" catalog list --format json | python3 -c 'import json,sys; print(" ".join(m["id"] for m in json.load(sys.stdin)))')
for status in not_started in_progress in_progress implemented; do
  for m in $MEASURES; do
    "$HYGIE" assess set $F "$m" --status $status --owner RSSI --note "revue trimestrielle du plan" >/dev/null
  done
done
for e in $(seq 1 20); do
  { echo "preuve $e"; printf '%04d' $(seq 1 256); } > "$DIR/preuve-$e.pdf"
  set -- $MEASURES; shift $((e % $#)); "$HYGIE" assess evidence $F "$1" --file "$DIR/preuve-$e.pdf" >/dev/null
done
"$HYGIE" sync export --facility $F -o "$DIR/p.hygie" --format json
python3 - "$DIR/p.hygie" <<'PY'
import gzip, json, sys
raw = open(sys.argv[1], 'rb').read()
text = gzip.decompress(raw)
p = json.loads(text)["package"]["facts"]
print(f"file {len(raw)} bytes, JSON {len(text)} bytes; {len(p['declarations'])} declarations, "
      f"{len(p['check_runs'])} runs, {len(p['evidence'])} evidence, {len(p['obligations'])} obligations")
PY
