#!/usr/bin/env bash
# Fuzzes the JSON API: schemathesis (pinned, from PyPI, into a venv under target/) generates
# requests from the served OpenAPI document and checks every answer against it.
#
#   bash scripts/api-fuzz.sh            HYGIE_API_FUZZ_SECONDS (default 120) of fuzzing
#   bash scripts/api-fuzz.sh install    only install schemathesis (scripts/test.sh does it with
#                                       the services, while the workspace builds)
#
# It starts `hygie serve` (HYGIE_BIN, else the debug build, built here) on a fresh data
# directory with the demo region, seeds alerts and incidents for a demo facility (their ids fed
# to the generator), creates a write API token for that facility (kept in the
# environment of schemathesis only: never printed, never in a file) and runs schemathesis with
# the checks: no server error, status codes, content types and response bodies as documented.
# Exits non-zero on any failure, after printing the failing cases (schemathesis prints each with
# a curl command to reproduce it, the token masked). HYGIE_API_FUZZ_SEED fixes the generator
# (CI passes one). With CI=true a missing Python or pip is a failure; elsewhere it skips.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
seconds=${HYGIE_API_FUZZ_SECONDS:-120}
work=target/api-fuzz
venv=$work/venv
python=${PYTHON:-python3}

skip_or_fail() {
  if [ "${CI:-}" = true ]; then
    echo "api-fuzz: $1 (required in CI)" >&2
    exit 1
  fi
  echo "api-fuzz: $1; skipped" >&2
  exit 0
}

mkdir -p "$work"
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  command -v "$python" >/dev/null || skip_or_fail "no $python"
  "$python" -m venv --clear "$venv" >/dev/null 2>&1 || skip_or_fail "$python cannot create a venv (python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" || skip_or_fail "pip cannot install schemathesis"
fi

[ "${1:-}" = install ] && exit 0

bin=${HYGIE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet -p hygie-cli --locked
  bin=target/debug/hygie
fi

data=$(mktemp -d "$PWD/$work/run.XXXXXX")
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT
# Everything of this run stays in its folder: the store, the sealing key, the config.
export HYGIE_DATA_DIR=$data/data XDG_CONFIG_HOME=$data/config HOME=$data
unset HYGIE_DATABASE_URL HYGIE_SECRET_KEY_FILE

"$bin" demo >/dev/null
facility=$("$bin" --format json facility list | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
# Alerts and incidents to aim at, so that their routes reach a handler: a rule and twelve
# process creations on three hosts become alerts; three incidents, one opened from two alerts.
cat >"$data/whoami.yml" <<'EOF_RULE'
title: Whoami
id: api-fuzz-whoami
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
  condition: sel
level: high
tags: [attack.discovery, attack.t1033]
EOF_RULE
for i in $(seq 0 11); do
  printf '{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"pc%d","Image":"C:\\\\Windows\\\\System32\\\\whoami.exe","EventRecordID":%d,"TimeCreated":"2026-01-05T%02d:00:00Z"}\n' \
    $((i % 3)) $((i + 1)) $((8 + i))
done >"$data/events.jsonl"
"$bin" detect --facility "$facility" --rules "$data/whoami.yml" --logs "$data/events.jsonl" >/dev/null
json_field() { "$venv/bin/python" -c "import json,sys; print(' '.join(str(x[\"$1\"]) for x in json.load(sys.stdin)))"; }
alerts=$("$bin" --format json alerts list --facility "$facility" | json_field id)
[ -n "$alerts" ] || { echo "api-fuzz: the seeding produced no alert" >&2; exit 1; }
set -- $alerts
"$bin" incident open --facility "$facility" --title "Rançongiciel" --awareness 2026-01-05T09:00 \
  --personal-data-breach risk --alert "$1" --alert "$2" >/dev/null
"$bin" incident open --facility "$facility" --title "Hameçonnage" --awareness 2026-01-06T09:00 >/dev/null
"$bin" incident open --facility "$facility" --title "Intrusion" --awareness 2026-01-07T09:00 --serious >/dev/null
incidents=$("$bin" --format json incident list --facility "$facility" | json_field id)
toml_list() { local out="" v; for v in "$@"; do out="$out${out:+, }\"$v\""; done; echo "[$out]"; }
HYGIE_FUZZ_TOKEN=$("$bin" --format json tokens create --name api-fuzz --facility "$facility" \
  --access write --expires-in 1 | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
export HYGIE_FUZZ_TOKEN

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# stdout would carry the one-time setup token (no user exists): not kept.
"$bin" serve --listen "127.0.0.1:$port" >/dev/null 2>"$data/serve.log" &
server=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done

# Known values, so that most requests reach a handler instead of a 404 (the rest stays random).
cat >"$data/schemathesis.toml" <<EOF
[auth.openapi.bearer]
bearer = "\${HYGIE_FUZZ_TOKEN}"

[dictionaries]
finess = { values = ["$facility"] }
measure = { values = ["IAM-04", "IAM-06", "GOV-01", "BCK-06"] }
incident = { values = $(toml_list $incidents) }
alert = { values = $(toml_list $alerts) }
region = { values = ["DEMO", "BRE"] }

[parameters]
"path.finess" = { dictionary = "finess", probability = 0.8 }
"path.measure" = { dictionary = "measure", probability = 0.7 }
"path.incident" = { dictionary = "incident", probability = 0.7 }
"path.alert" = { dictionary = "alert", probability = 0.7 }
"path.region" = { dictionary = "region", probability = 0.7 }
"body.facility" = { dictionary = "finess", probability = 0.8 }
EOF

seed_args=()
if [ -n "${HYGIE_API_FUZZ_SEED:-}" ]; then seed_args=(--seed "$HYGIE_API_FUZZ_SEED"); fi
status=0
schemathesis=$PWD/$venv/bin/schemathesis
# From the run's folder: schemathesis keeps its cache (.schemathesis/) where it runs. One
# worker: with two, hypothesis describes its filters by parsing their source with `ast` in both
# threads at once, and CPython 3.11's parser state is not thread-safe ("AST constructor recursion
# depth mismatch", a runtime error of the fuzzer, not an answer of the API; seen on 2026-12-07).
(cd "$data" && "$schemathesis" --config-file "$data/schemathesis.toml" run \
  "http://127.0.0.1:$port/api/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-time "$seconds" --workers 1 --no-color --generation-database none \
  "${seed_args[@]}" | tee "$data/report.txt") || status=$?
if grep -q "No test cases were generated" "$data/report.txt"; then
  echo "api-fuzz: no case was run in ${seconds} s: give it more time (HYGIE_API_FUZZ_SECONDS)" >&2
  status=1
fi
if grep -q "ERROR\|panicked" "$data/serve.log"; then
  echo "api-fuzz: the server logged errors:" >&2
  grep "ERROR\|panicked" "$data/serve.log" | head -20 >&2
  status=1
fi
exit "$status"
