#!/usr/bin/env bash
# Sets up everything Hygie's tests need on this machine, then runs every check and test.
# Idempotent; needs root for apt-get (Samba, tools) on a fresh machine. `.ci/run` calls exactly this.
#
#   bash scripts/test.sh            format check, clippy, the whole test suite, then a short
#                                   run of the API fuzzer (HYGIE_API_FUZZ_SECONDS, 60 s) and
#                                   of every fuzz target (HYGIE_FUZZ_SECONDS each, 10 s; 0
#                                   skips either)
#
# Services: PostgreSQL on 127.0.0.1:5432 (started or installed here), a Samba AD DC on loopback
# (scripts/samba-dc.sh). With CI=true a service that cannot be had fails the run; the tests
# themselves also fail (never skip) in CI when a service is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# A cold build from an empty target directory gains nothing from incremental compilation and
# pays for its bookkeeping (CI's case); a developer's warm tree keeps it.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}; fi

# Each stage's start is printed with the seconds since the run began, so a CI log shows where
# the time goes (CI's budget is 30 minutes from an empty target directory).
run_start=$(date +%s)
log() { printf '\n==> [%4d s] %s\n' "$(($(date +%s) - run_start))" "$*"; }
trap 'log "Done (exit $?)"' EXIT

apt_updated=""
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages ${missing[*]}: run as root, or install them first" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  [ -n "$apt_updated" ] || { apt-get update -qq >/dev/null; apt_updated=1; }
  log "Installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_postgres() {
  if ! port_open 5432; then
    if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
    if [ -z "$version" ]; then echo "PostgreSQL is installed but has no cluster" >&2; return 1; fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do port_open 5432 && break; sleep 0.5; done
  fi
  port_open 5432 || { echo "PostgreSQL does not listen on 127.0.0.1:5432" >&2; return 1; }
  # The tests connect as the current user over TCP with the `test` database as maintenance db.
  local me
  me=$(id -un)
  if ! psql -h 127.0.0.1 -d test -Atc 'select 1' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      su postgres -c "psql -Atc \"select 1 from pg_roles where rolname='$me'\"" | grep -q 1 \
        || su postgres -c "createuser -s $me"
      su postgres -c "psql -Atc \"select 1 from pg_database where datname='test'\"" | grep -q 1 \
        || su postgres -c "createdb -O $me test"
    fi
  fi
  export HYGIE_TEST_POSTGRES_URL=${HYGIE_TEST_POSTGRES_URL:-postgres://$me@127.0.0.1:5432/test}
}

ensure_samba() {
  bash scripts/samba-dc.sh start
  eval "$(bash scripts/samba-dc.sh env)"
}

log "Setting up services and tools"
# Real tools the collectors' tests drive: restic, borg, nftables/iptables/ipset in a network namespace,
# ClamAV's sigtool.
apt_install ca-certificates restic borgbackup nftables iptables ipset iproute2 clamav
# Browser end-to-end tests (hygie-web) and the dashboard benchmark's load generator.
apt_install chromium chromium-driver wrk
# NATS JetStream for the detection workers' tests (hygie-cli/tests/nats_workers.rs): each test
# starts its own `nats-server -js` on a free port, never the one on 4222.
apt_install nats-server
# The inventory's real agents and scanner (hygie-cli/tests/inventory.rs): each inventories this
# machine, nmap scans hosts the test makes in network namespaces (iproute2 above, python3 below).
apt_install fusioninventory-agent ocsinventory-agent nmap
# The API fuzzer's Python (schemathesis itself comes from PyPI into a venv, scripts/api-fuzz.sh).
command -v python3 >/dev/null || apt_install python3 python3-venv
# PDF reports (hygie-cli/tests/reports_reminders.rs): Chromium prints them (above), pdftotext
# reads them back. The reminders' SMTP server in the same tests: aiosmtpd from PyPI, pinned, each
# test starting its own on a free loopback port.
apt_install poppler-utils
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  log "Installing aiosmtpd"
  python3 -m pip install --quiet 'aiosmtpd==1.4.6' \
    || python3 -m pip install --quiet --break-system-packages 'aiosmtpd==1.4.6'
fi
# The OpenID Connect provider of the single sign-on test (hygie-web/tests/sso.rs): LemonLDAP::NG's
# portal run by Starman on a free port, with the Perl modules its portal and issuer load.
apt_install lemonldap-ng starman openssl libgd-securityimage-perl libimage-magick-perl libstring-random-perl libcrypt-openssl-bignum-perl libcrypt-openssl-x509-perl libconvert-base32-perl libio-string-perl libipc-run-perl libmime-tools-perl libnet-ldap-perl libio-socket-timeout-perl libunicode-string-perl
ensure_postgres
ensure_samba

# mold links the workspace's ~80 test binaries in a fraction of GNU ld's time (gcc 12 takes
# -fuse-ld=mold); where it cannot be had, the default linker is used.
if [ "${HYGIE_LINKER:-mold}" = mold ] && { command -v mold >/dev/null || apt_install mold; }; then
  export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold"
fi

log "Format"
cargo fmt --all -- --check

log "Dependencies (licences, bans, sources)"
# Advisories need the network: checked by hand with `cargo deny check advisories`.
if ! cargo deny --version >/dev/null 2>&1; then
  log "Installing cargo-deny"
  cargo install cargo-deny --locked
fi
cargo deny check licenses bans sources

log "Clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "Tests"
cargo test --workspace --locked --no-fail-fast

# The JSON API fuzzed against its OpenAPI document (scripts/api-fuzz.sh: schemathesis, pinned,
# in a venv under target/; HYGIE_API_FUZZ_SECONDS, 60 s; 0 skips it). In CI a missing Python
# or pip fails the run.
api_fuzz_seconds=${HYGIE_API_FUZZ_SECONDS:-60}
if [ "$api_fuzz_seconds" != 0 ]; then
  log "API fuzzing"
  HYGIE_API_FUZZ_SEED=${HYGIE_API_FUZZ_SEED:-1} HYGIE_API_FUZZ_SECONDS=$api_fuzz_seconds \
    bash scripts/api-fuzz.sh
fi

# Every parser fuzzed for a few seconds from its seed corpus (scripts/fuzz.sh; the long runs are
# in BENCHMARKS.md). cargo-fuzz and the nightly toolchain it needs are installed when missing.
fuzz_seconds=${HYGIE_FUZZ_SECONDS:-10}
if [ "$fuzz_seconds" != 0 ]; then
  if ! cargo fuzz --version >/dev/null 2>&1; then
    log "Installing cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
  # A fixed seed: the same commit fuzzes the same way here and in CI; two targets at a time,
  # without AddressSanitizer and at opt-level 1 (the optimised, sanitized build costs minutes;
  # the long runs keep it: scripts/fuzz.sh).
  HYGIE_FUZZ_SEED=${HYGIE_FUZZ_SEED:-1} HYGIE_FUZZ_JOBS=${HYGIE_FUZZ_JOBS:-2} \
    HYGIE_FUZZ_SANITIZER=${HYGIE_FUZZ_SANITIZER:-none} HYGIE_FUZZ_PROFILE=${HYGIE_FUZZ_PROFILE:-dev} \
    bash scripts/fuzz.sh "$fuzz_seconds"
fi
