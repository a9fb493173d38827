#!/usr/bin/env bash
# AD audit benchmark: `hygie audit ad` against the ldapsearch floor on a large Samba domain.
#   benches/ad_bench.sh [USERS COMPUTERS GROUPS]     default 50000 5000 2000
# Run as root (network namespace, Samba, ldb-tools). Steps:
# 1. a dedicated Samba AD DC in its own network namespace `hyad` ($BENCH_DC_DIR, default
#    /tmp/hygie-bench-dc), so that the shared test DC and its fixed ports are left alone;
# 2. the objects (benches/ad_gen_ldif.py) are loaded OFFLINE with ldbadd while that DC is stopped,
#    in transactions of 1,000 records (Samba's index cache makes one huge transaction quadratic,
#    and an online load would block other writers); skipped when the OU is already there;
# 3. the DC is started in the namespace, and three commands are timed, 3 runs each, median wall
#    time and peak RSS (/usr/bin/time):
#    - floor A: ldapsearch dumping the main search's attributes (users, computers, groups, policy),
#    - floor B: scripts/ad-ldif-export.sh, i.e. every search the auditor makes, LDIF to /dev/null,
#    - hygie: `hygie audit ad ... --format json` with its SQLite store ($HYGIE_BIN, default
#      target/release/hygie).
# The bench DC is kept for the next run (`bash scripts/samba-dc.sh stop` with HYGIE_TEST_DC_DIR set,
# then `ip netns del hyad` and `rm -rf $BENCH_DC_DIR` remove it).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-50000}; C=${2:-5000}; G=${3:-2000}
export HYGIE_TEST_DC_DIR=${BENCH_DC_DIR:-/tmp/hygie-bench-dc}
NS=hyad
command -v ldbadd >/dev/null || apt-get install -y -qq ldb-tools >/dev/null
ip netns list | grep -qw "$NS" || { ip netns add "$NS"; ip netns exec "$NS" ip link set lo up; }
in_ns() { ip netns exec "$NS" "$@"; }

# Provision (first run) and make sure the DC is stopped for the offline load.
in_ns bash scripts/samba-dc.sh start
eval "$(bash scripts/samba-dc.sh env)"
SAM=$HYGIE_TEST_DC_DIR/private/sam.ldb
OU="OU=hygie-bench3,$HYGIE_TEST_DC_BASE"
if ! ldbsearch -H "$SAM" -b "$OU" -s base dn 2>/dev/null | grep -q '^dn'; then
  bash scripts/samba-dc.sh stop
  for _ in $(seq 1 50); do [ -f "$HYGIE_TEST_DC_DIR/run/samba.pid" ] && kill -0 "$(cat "$HYGIE_TEST_DC_DIR/run/samba.pid")" 2>/dev/null || break; sleep 0.2; done
  chunks=$(mktemp -d)
  python3 benches/ad_gen_ldif.py "$HYGIE_TEST_DC_BASE" "$N" "$C" "$G" \
    | python3 -c 'import sys; r=sys.stdin.read().strip().split("\n\n"); [open(f"{sys.argv[1]}/c{i//1000:05d}.ldif","w").write("\n\n".join(r[i:i+1000])+"\n\n") for i in range(0,len(r),1000)]' "$chunks"
  t0=$(date +%s)
  for f in "$chunks"/c*.ldif; do ldbadd --nosync -H "$SAM" "$f" >/dev/null; done
  echo "offline load: $(( $(date +%s) - t0 )) s"
  rm -rf "$chunks"
  in_ns bash scripts/samba-dc.sh start
fi

name=$(openssl x509 -in "$HYGIE_TEST_DC_DIR/private/tls/cert.pem" -noout -subject | sed 's/.*CN *= *//')
export LDAPTLS_CACERT=$HYGIE_TEST_DC_CA LDAPTLS_REQCERT=allow

HYGIE_BIN=${HYGIE_BIN:-target/release/hygie}
[ -x "$HYGIE_BIN" ] || cargo build -q --release -p hygie-cli
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
# A valid FINESS (Luhn check digit) for the benchmark facility.
finess=$(python3 -c 'b="75000000"
for d in range(10):
    s=b+str(d); t=0
    for i,c in enumerate(reversed(s)):
        v=int(c)*(2 if i%2 else 1); t+=v-9 if v>9 else v
    if t%10==0: print(s); break')
"$HYGIE_BIN" --data-dir "$data" init >/dev/null
"$HYGIE_BIN" --data-dir "$data" facility add --finess "$finess" --name Bench --kind hospital --region IDF --plan-start 2026-01-01 >/dev/null
hygie_cmd=(ip netns exec "$NS" "$HYGIE_BIN" --data-dir "$data" audit ad --facility "$finess" --url "$HYGIE_TEST_DC_URL"
  --bind-dn "$HYGIE_TEST_DC_ADMIN" --password-file "$HYGIE_TEST_DC_PASSWORD_FILE" --ca-cert "$HYGIE_TEST_DC_CA"
  --tls-server-name "$name" --format json)
attrs=$(sed -n '/^pub const MAIN_ATTRS/,/^];/p' crates/hygie-ad/src/collect.rs | grep -o '"[^"]*"' | tr -d '"' | tr '\n' ' ')
# shellcheck disable=SC2206
floor_a=(ip netns exec "$NS" ldapsearch -LLL -o ldif-wrap=no -x -H "$HYGIE_TEST_DC_URL" -D "$HYGIE_TEST_DC_ADMIN" -y "$HYGIE_TEST_DC_PASSWORD_FILE"
  -E pr=1000/noprompt -b "$HYGIE_TEST_DC_BASE"
  '(|(objectClass=user)(objectClass=group)(objectClass=msDS-PasswordSettings)(objectClass=domainDNS))' $attrs)
floor_b=(ip netns exec "$NS" bash scripts/ad-ldif-export.sh "$HYGIE_TEST_DC_URL" "$HYGIE_TEST_DC_ADMIN" "$HYGIE_TEST_DC_PASSWORD_FILE")

measure() { # label cmd...
  local label=$1; shift
  local runs=() rc
  for _ in 1 2 3; do
    rc=0
    /usr/bin/time -f "%e %M" -o /tmp/hygie-bench3.time "$@" > /tmp/hygie-bench3.out || rc=$?
    # `hygie audit ad` exits 5 when it has findings: that is a successful run.
    if [ "$rc" != 0 ] && [ "$rc" != 5 ]; then echo "$label failed (exit $rc)" >&2; exit 1; fi
    runs+=("$(tail -n1 /tmp/hygie-bench3.time)")
  done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p | awk -v l="$label" '{printf "%-10s median wall %6.2f s   peak RSS %7.1f MB\n", l, $1, $2/1024}'
}
objects=$(ldbsearch -H "$SAM" -b "$HYGIE_TEST_DC_BASE" '(|(objectClass=user)(objectClass=group))' dn | grep -c '^dn')
echo "objects read (users+computers+groups): $objects   load: $(cut -d' ' -f1-3 /proc/loadavg)"
measure floor-A "${floor_a[@]}"
measure floor-B "${floor_b[@]}"
measure hygie "${hygie_cmd[@]}"
echo "hygie report: $(python3 -c 'import json,sys; d=json.load(open("/tmp/hygie-bench3.out")); print(len(d["findings"]), "findings, level", d["level"])' 2>/dev/null || echo unreadable)"
