#!/usr/bin/env bash
# A real Samba 4 AD domain controller on loopback, for the AD and password tests.
#   scripts/samba-dc.sh start   install Samba if missing (apt-get, as root), provision once, start; idempotent
#   scripts/samba-dc.sh stop    stop the DC this script started (by its pid file), nothing else
#   scripts/samba-dc.sh env     print the variables tests read (eval "$(scripts/samba-dc.sh env)")
# Samba's ports are fixed (389, 636, 88, 445): one DC per machine, shared by every test.
set -euo pipefail
DIR=${HYGIE_TEST_DC_DIR:-/tmp/hygie-samba-dc}
REALM=CHU.TEST
DOMAIN=CHU
cmd=${1:-start}

install() {
  # ldb-tools: the AD and password tests seed and read the DC's database with ldbadd/ldbsearch.
  # samba-ad-provision: the AD schema files `domain provision` reads (only a recommendation of
  # samba's, so an install without recommends lacks it).
  command -v samba-tool >/dev/null && command -v ldapsearch >/dev/null \
    && command -v ldbsearch >/dev/null && [ -d /usr/share/samba/setup/ad-schema ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq samba samba-ad-provision winbind krb5-user ldap-utils ldb-tools >/dev/null
}

running() {
  [ -f "$DIR/run/samba.pid" ] && kill -0 "$(cat "$DIR/run/samba.pid")" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The LDAPS listener is this DC's only if its certificate chains to this DC's own CA: another DC
# (or any other server) on the fixed ports must never be taken for ours.
ours() {
  openssl s_client -connect 127.0.0.1:636 -CAfile "$DIR/private/tls/ca.pem" \
    -verify_return_error </dev/null >/dev/null 2>&1
}

case "$cmd" in
  start)
    install
    # A provision that did not finish leaves files behind: only the marker written after it says
    # the DC is ready to start.
    if [ ! -f "$DIR/provisioned" ] && ! running; then
      rm -rf "$DIR"; mkdir -p "$DIR"
      # A strong random admin password, kept in a root-only file (never on a command line log).
      umask 077
      pw="Hy$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)!9a"
      printf '%s' "$pw" > "$DIR/admin.pass"
      samba-tool domain provision --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
        --dns-backend=NONE --use-rfc2307 --adminpass="$pw" --targetdir="$DIR" \
        --option="interfaces=lo" --option="bind interfaces only=yes" >"$DIR/provision.log" 2>&1 || {
        echo "samba-dc: provisioning failed; the end of $DIR/provision.log:" >&2
        tail -n 5 "$DIR/provision.log" >&2
        exit 1
      }
      touch "$DIR/provisioned"
    fi
    if ! running; then
      for port in 389 636 88 445; do
        if port_open "$port"; then
          echo "samba-dc: port $port is already taken by another server; the tests need their own DC (stop the other one)" >&2
          exit 1
        fi
      done
      # Own pid directory (in smb.conf, which samba's smbd and winbindd children read too), so that
      # `stop` finds this DC and a second DC (another network namespace, e.g. the AD benchmark's)
      # can run beside it.
      mkdir -p "$DIR/run"
      grep -q '^[[:space:]]*pid directory' "$DIR/etc/smb.conf" \
        || sed -i "s|^\[global\]\$|[global]\n\tpid directory = $DIR/run|" "$DIR/etc/smb.conf"
      samba -s "$DIR/etc/smb.conf" -D
    fi
    for _ in $(seq 1 60); do
      if port_open 636; then
        if running && ours; then exit 0; fi
        echo "samba-dc: the server on port 636 is not this DC (its certificate does not chain to $DIR/private/tls/ca.pem)" >&2
        exit 1
      fi
      sleep 0.5
    done
    echo "samba-dc: LDAPS port 636 did not open within 30 s (see $DIR)" >&2
    exit 1
    ;;
  stop)
    if running; then kill "$(cat "$DIR/run/samba.pid")"; fi
    ;;
  env)
    echo "export HYGIE_TEST_DC_DIR='$DIR'"
    echo "export HYGIE_TEST_DC_URL='ldaps://127.0.0.1:636'"
    echo "export HYGIE_TEST_DC_CA='$DIR/private/tls/ca.pem'"
    echo "export HYGIE_TEST_DC_BASE='DC=chu,DC=test'"
    echo "export HYGIE_TEST_DC_ADMIN='Administrator@chu.test'"
    echo "export HYGIE_TEST_DC_PASSWORD_FILE='$DIR/admin.pass'"
    echo "export HYGIE_TEST_DC_SMBCONF='$DIR/etc/smb.conf'"
    ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
