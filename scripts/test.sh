#!/usr/bin/env bash
# Sets up everything Hygie's tests need on this machine, then runs every check and test.
# Idempotent; needs root for apt-get (Samba, tools) on a fresh machine. `.ci/run` calls exactly this.
#
#   bash scripts/test.sh            format check, build and clippy, the whole test suite, cargo
#                                   deny, then a short run of the API fuzzer
#                                   (HYGIE_API_FUZZ_SECONDS, 60 s) and of every fuzz target
#                                   (HYGIE_FUZZ_SECONDS each, 10 s; 0 skips either)
#
# Services: PostgreSQL on 127.0.0.1:5432 (started or installed here), a Samba AD DC on loopback
# (scripts/samba-dc.sh). With CI=true a service that cannot be had fails the run; the tests
# themselves also fail (never skip) in CI when a service is missing.
#
# Time (CI's budget: 30 minutes from an empty target directory on 2 cores). The stages overlap
# where one waits and another computes: the services (apt-get, pip, the DC's provisioning) are set
# up in the background while the workspace builds; cargo-deny, cargo-fuzz and the fuzz targets'
# own build run in the background at the lowest priority, on the CPU the build and the tests
# leave idle; clippy lints during the one build instead of checking everything a second time;
# cargo-nextest runs the tests of all binaries side by side. Each stage's start is printed with
# the seconds since the run began; the background stages log to target/ci/.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# A cold build from an empty target directory gains nothing from incremental compilation and
# pays for its bookkeeping (CI's case); a developer's warm tree keeps it.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}; fi

run_start=$(date +%s)
log() { printf '\n==> [%4d s] %s\n' "$(($(date +%s) - run_start))" "$*"; }
tools_pid=""
# A run that stops early stops the background build of the tools with it (never an apt-get
# half-way: the services' job is left to finish).
trap 'rc=$?; [ -z "$tools_pid" ] || kill -- -"$tools_pid" 2>/dev/null || true; log "Done (exit $rc)"' EXIT

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
mkdir -p target/ci
# mold links the workspace's ~80 test binaries in a fraction of GNU ld's time (gcc 12 takes
# -fuse-ld=mold); where it cannot be had, the default linker is used. First, since build scripts
# link too.
if [ "${HYGIE_LINKER:-mold}" = mold ] && { command -v mold >/dev/null || apt_install mold; }; then
  export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold"
fi

# The passkeys' WebAuthn crates check signatures with OpenSSL (openssl-sys): its headers and
# pkg-config are needed by the build itself, so they are installed before it, not in services().
pkg-config --exists openssl 2>/dev/null || apt_install pkg-config libssl-dev

# What the tests need is installed and started in the background while the workspace builds
# (downloads and a domain provisioning cost minutes of waiting, little CPU); its log is
# target/ci/services.log, and the tests wait for it.
services() {
  # Real tools the collectors' tests drive: restic, borg, nftables/iptables/ipset in a network
  # namespace, ClamAV's sigtool.
  apt_install ca-certificates restic borgbackup nftables iptables ipset iproute2 clamav
  # Browser end-to-end tests (hygie-web) and the dashboard benchmark's load generator.
  apt_install chromium chromium-driver wrk
  # NATS JetStream for the detection workers' tests (hygie-cli/tests/nats_*.rs): each test
  # starts its own `nats-server -js` on a free port, never the one on 4222.
  apt_install nats-server
  # The inventory's real agents and scanner (hygie-cli/tests/inventory.rs): each inventories
  # this machine, nmap scans hosts the test makes in network namespaces (iproute2 above).
  apt_install fusioninventory-agent ocsinventory-agent nmap
  # The API fuzzer's Python (schemathesis itself comes from PyPI into a venv, below).
  command -v python3 >/dev/null || apt_install python3 python3-venv
  # PDF reports (hygie-cli/tests/reports_reminders.rs): Chromium prints them (above), pdftotext
  # reads them back. The reminders' SMTP server in the same tests: aiosmtpd from PyPI, pinned,
  # each test starting its own on a free loopback port.
  apt_install poppler-utils
  # The test CA and server certificate of the federation push tests
  # (hygie-cli/tests/federation_push.rs).
  apt_install openssl
  if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    log "Installing aiosmtpd"
    python3 -m pip install --quiet 'aiosmtpd==1.4.6' \
      || python3 -m pip install --quiet --break-system-packages 'aiosmtpd==1.4.6'
  fi
  # The OpenID Connect provider of the single sign-on test (hygie-web/tests/sso.rs): LemonLDAP::NG's
  # portal run by Starman on a free port, with the Perl modules its portal and issuer load.
  apt_install lemonldap-ng lemonldap-ng-fastcgi-server nginx-light starman libgd-securityimage-perl libimage-magick-perl libstring-random-perl libcrypt-openssl-bignum-perl libcrypt-openssl-x509-perl libconvert-base32-perl libio-string-perl libipc-run-perl libmime-tools-perl libnet-ldap-perl libio-socket-timeout-perl libunicode-string-perl libcrypt-openssl-rsa-perl
  ensure_postgres
  bash scripts/samba-dc.sh start
  if [ "$api_fuzz_seconds" != 0 ]; then bash scripts/api-fuzz.sh install; fi
}

# The tools of the later stages (cargo-deny, cargo-fuzz, the nightly toolchain) and the fuzz
# targets' own build (another toolchain and instrumentation: nothing shared with the workspace's
# build) are built in the background at the lowest priority, on the CPU the workspace's build and
# the tests leave idle (linking, single-crate stretches, tests waiting on a browser or a DC).
# Their log is target/ci/tools.log.
tools() {
  if ! cargo deny --version >/dev/null 2>&1; then
    log "Installing cargo-deny"
    cargo install cargo-deny --locked --quiet
  fi
  touch target/ci/deny-ready
  if [ "$fuzz_seconds" != 0 ]; then
    HYGIE_FUZZ_STAGE=build HYGIE_FUZZ_SANITIZER=$fuzz_sanitizer HYGIE_FUZZ_PROFILE=$fuzz_profile \
      bash scripts/fuzz.sh
  fi
}

# A background stage's failure is reported when its result is needed, with the end of its log.
wait_for() {
  local pid=$1 name=$2 logf=$3
  if ! wait "$pid"; then
    echo "$name failed; the end of $logf:" >&2
    tail -n 30 "$logf" >&2
    exit 1
  fi
}

api_fuzz_seconds=${HYGIE_API_FUZZ_SECONDS:-60}
fuzz_seconds=${HYGIE_FUZZ_SECONDS:-10}
# CI's fuzzing: without AddressSanitizer and at opt-level 1 (the optimised, sanitized build
# costs minutes; the long runs keep it: scripts/fuzz.sh).
fuzz_sanitizer=${HYGIE_FUZZ_SANITIZER:-none}
fuzz_profile=${HYGIE_FUZZ_PROFILE:-dev}
services >target/ci/services.log 2>&1 &
services_pid=$!
rm -f target/ci/deny-ready
# Its own process group (job control on while it starts), so that an early exit stops all of it.
set -m
(renice -n 19 -p "$BASHPID" >/dev/null; tools) >target/ci/tools.log 2>&1 &
tools_pid=$!
set +m

log "Format"
cargo fmt --all -- --check

log "Build and clippy"
# One build does both: clippy's driver compiles the workspace's crates (codegen included) and
# lints them with -D warnings, as `cargo clippy --all-targets -- -D warnings` would, so the
# dependencies are not compiled a second time in check mode for a separate clippy pass. The
# tests below run with the same variables, so they reuse this build. (clippy.toml bans
# `process::exit` and `env::set_var`.)
export RUSTC_WORKSPACE_WRAPPER
RUSTC_WORKSPACE_WRAPPER=$(rustc --print sysroot)/bin/clippy-driver
export CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
cargo test --workspace --all-targets --locked --no-run

log "Waiting for the services"
wait_for "$services_pid" "Setting up the services" target/ci/services.log
export HYGIE_TEST_POSTGRES_URL=${HYGIE_TEST_POSTGRES_URL:-postgres://$(id -un)@127.0.0.1:5432/test}
eval "$(bash scripts/samba-dc.sh env)"

log "Tests"
if cargo nextest --version >/dev/null 2>&1; then
  # cargo-nextest (on CI's machines) runs the tests of every binary side by side, each in its own
  # process, more at once than there are cores: most of the run is tests waiting on a DC, a
  # browser, PostgreSQL or a child `hygie`, and cargo test runs the ~80 binaries one after the
  # other (profile `ci` in .config/nextest.toml). Then the doc tests, which nextest does not run.
  cargo nextest run --workspace --locked --profile ci
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi

log "Dependencies (licences, bans, sources)"
# Advisories need the network: checked by hand with `cargo deny check advisories`.
while [ ! -f target/ci/deny-ready ] && kill -0 "$tools_pid" 2>/dev/null; do sleep 2; done
[ -f target/ci/deny-ready ] || wait_for "$tools_pid" "Installing cargo-deny" target/ci/tools.log
cargo deny check licenses bans sources

# The JSON API fuzzed against its OpenAPI document (scripts/api-fuzz.sh: schemathesis, pinned,
# in a venv under target/, installed with the services; HYGIE_API_FUZZ_SECONDS, 60 s; 0 skips
# it) on the binary the tests used. In CI a missing Python or pip fails the run.
if [ "$api_fuzz_seconds" != 0 ]; then
  log "API fuzzing"
  HYGIE_BIN=target/debug/hygie HYGIE_API_FUZZ_SEED=${HYGIE_API_FUZZ_SEED:-1} \
    HYGIE_API_FUZZ_SECONDS=$api_fuzz_seconds bash scripts/api-fuzz.sh
fi

# Every parser fuzzed for a few seconds from its seed corpus (scripts/fuzz.sh; the long runs are
# in BENCHMARKS.md), built in the background above. A fixed seed: the same commit fuzzes the same
# way here and in CI; two targets at a time.
if [ "$fuzz_seconds" != 0 ]; then
  log "Waiting for the fuzz targets' build"
  wait_for "$tools_pid" "Building the fuzz targets" target/ci/tools.log
  log "Fuzzing"
  HYGIE_FUZZ_STAGE=run HYGIE_FUZZ_SEED=${HYGIE_FUZZ_SEED:-1} HYGIE_FUZZ_JOBS=${HYGIE_FUZZ_JOBS:-2} \
    HYGIE_FUZZ_SANITIZER=$fuzz_sanitizer HYGIE_FUZZ_PROFILE=$fuzz_profile \
    bash scripts/fuzz.sh "$fuzz_seconds"
else
  wait_for "$tools_pid" "Installing the tools" target/ci/tools.log
fi
