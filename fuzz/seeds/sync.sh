#!/usr/bin/env bash
# Write the seeds of the `sync_package` fuzz target with Hygie itself: the demo region's first
# facility exported as a package file (`hygie sync export`: gzip, signed), and that package's
# JSON cut to a few declarations, runs and obligations (the input an enrolled instance signs).
#
#   bash fuzz/seeds/sync.sh     (HYGIE_BIN, else target/debug/hygie: `cargo build -p hygie-cli`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${HYGIE_BIN:-../target/debug/hygie}
out=corpus/sync_package
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HYGIE_DATA_DIR=$tmp/data XDG_CONFIG_HOME=$tmp/config HOME=$tmp
unset HYGIE_DATABASE_URL
"$bin" demo >/dev/null
facility=$("$bin" --format json facility list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
"$bin" sync export --facility "$facility" -o "$out/package.gz" >/dev/null
python3 - "$out/package.gz" "$out/package.json" <<'PY'
import gzip, json, sys
envelope = json.loads(gzip.open(sys.argv[1]).read())
package = envelope["package"]
facts = package["facts"]
for key, keep in (("declarations", 3), ("check_runs", 1), ("evidence", 2), ("obligations", 2)):
    if isinstance(facts.get(key), list):
        facts[key] = facts[key][:keep]
json.dump(package, open(sys.argv[2], "w"), indent=1, sort_keys=True)
PY
ls -l "$out"
