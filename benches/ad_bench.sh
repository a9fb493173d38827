#!/usr/bin/env bash
# AD audit benchmark against the shared Samba DC (run as root on the DC host, after
# `bash scripts/samba-dc.sh start`).
#   benches/ad_bench.sh [USERS COMPUTERS GROUPS]     default 50000 5000 2000
# 1. bulk-loads the objects under OU=hygie-bench3 with ldbadd (skipped if the OU already exists),
# 2. times, 3 runs each, median wall time and peak RSS (/usr/bin/time):
#    - floor A: ldapsearch dumping the main search's attributes (users, computers, groups, policy),
#    - floor B: scripts/ad-ldif-export.sh (every search the auditor makes, LDIF to /dev/null),
#    - hygie: `hygie audit ad ... --format json` ($HYGIE_BIN, default target/release/hygie; falls
#      back to the hygie-ad example `ad_audit` (same collector and rules, no store) when absent),
# 3. deletes the OU unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/samba-dc.sh env)"
N=${1:-50000}; C=${2:-5000}; G=${3:-2000}
SAM=$HYGIE_TEST_DC_DIR/private/sam.ldb
OU="OU=hygie-bench3,$HYGIE_TEST_DC_BASE"
name=$(openssl x509 -in "$HYGIE_TEST_DC_DIR/private/tls/cert.pem" -noout -subject | sed 's/.*CN *= *//')
export LDAPTLS_CACERT=$HYGIE_TEST_DC_CA LDAPTLS_REQCERT=allow
# The DC is shared: load and delete in chunks of 500 records so that no ldb transaction holds the
# database lock for long (one ldbadd of 57,000 records blocks every other writer for many minutes).
chunks=$(mktemp -d)
if ! ldbsearch -H "$SAM" -b "$OU" -s base dn 2>/dev/null | grep -q '^dn'; then
  python3 benches/ad_gen_ldif.py "$HYGIE_TEST_DC_BASE" "$N" "$C" "$G" \
    | python3 -c 'import sys; r=sys.stdin.read().strip().split("\n\n"); [open(f"{sys.argv[1]}/c{i//500:05d}.ldif","w").write("\n\n".join(r[i:i+500])+"\n\n") for i in range(0,len(r),500)]' "$chunks"
  t0=$(date +%s)
  for f in "$chunks"/c*.ldif; do ldbadd --nosync -H "$SAM" "$f" >/dev/null; done
  echo "load: $(( $(date +%s) - t0 )) s"
fi
cleanup() {
  [ "${KEEP:-0}" = 1 ] && return
  ldbsearch -H "$SAM" -b "$OU" -s one dn | sed -n 's/^dn: //p' | xargs -r -d '\n' -n 500 ldbdel --nosync -H "$SAM" >/dev/null
  ldbdel --nosync -H "$SAM" "$OU" >/dev/null
  rm -rf "$chunks"
}
trap cleanup EXIT

HYGIE_BIN=${HYGIE_BIN:-target/release/hygie}
if [ -x "$HYGIE_BIN" ]; then
  data=$(mktemp -d)
  # A valid FINESS (Luhn check digit) for the benchmark facility.
  finess=$(python3 -c 'b="75000000"
for d in range(10):
    s=b+str(d); t=0
    for i,c in enumerate(reversed(s)):
        v=int(c)*(2 if i%2 else 1); t+=v-9 if v>9 else v
    if t%10==0: print(s); break')
  "$HYGIE_BIN" --data-dir "$data" init >/dev/null
  "$HYGIE_BIN" --data-dir "$data" facility add --finess "$finess" --name Bench --kind hospital --region IDF --plan-start 2026-01-01 >/dev/null
  hygie_cmd=("$HYGIE_BIN" --data-dir "$data" audit ad --facility "$finess" --url "$HYGIE_TEST_DC_URL"
    --bind-dn "$HYGIE_TEST_DC_ADMIN" --password-file "$HYGIE_TEST_DC_PASSWORD_FILE" --ca-cert "$HYGIE_TEST_DC_CA"
    --tls-server-name "$name" --format json)
else
  cargo build -q --release -p hygie-ad --example ad_audit
  hygie_cmd=(target/release/examples/ad_audit "$HYGIE_TEST_DC_URL" "$HYGIE_TEST_DC_ADMIN" "$HYGIE_TEST_DC_PASSWORD_FILE" "$HYGIE_TEST_DC_CA" "$name")
fi
attrs=$(sed -n '/^pub const MAIN_ATTRS/,/^];/p' crates/hygie-ad/src/collect.rs | grep -o '"[^"]*"' | tr -d '"' | tr '\n' ' ')
floor_a=(ldapsearch -LLL -o ldif-wrap=no -x -H "$HYGIE_TEST_DC_URL" -D "$HYGIE_TEST_DC_ADMIN" -y "$HYGIE_TEST_DC_PASSWORD_FILE"
  -E pr=1000/noprompt -b "$HYGIE_TEST_DC_BASE"
  '(|(objectClass=user)(objectClass=group)(objectClass=msDS-PasswordSettings)(objectClass=domainDNS))' $attrs)
floor_b=(bash scripts/ad-ldif-export.sh "$HYGIE_TEST_DC_URL" "$HYGIE_TEST_DC_ADMIN" "$HYGIE_TEST_DC_PASSWORD_FILE")

measure() { # label cmd...
  local label=$1; shift
  local runs=()
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o /tmp/hygie-bench3.time "$@" > /tmp/hygie-bench3.out || true
    runs+=("$(cat /tmp/hygie-bench3.time)")
  done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p | awk -v l="$label" '{printf "%-10s median wall %6.2f s   peak RSS %7.1f MB\n", l, $1, $2/1024}'
}
objects=$(ldbsearch -H "$SAM" -b "$HYGIE_TEST_DC_BASE" '(|(objectClass=user)(objectClass=group))' dn | grep -c '^dn')
echo "objects read (users+computers+groups): $objects"
measure floor-A "${floor_a[@]}"
measure floor-B "${floor_b[@]}"
measure hygie "${hygie_cmd[@]}"
