#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser: builds the cargo-fuzz targets of fuzz/ (libFuzzer,
# AddressSanitizer unless told otherwise, overflow checks) and runs each for a bounded time. Exits non-zero on any
# crash, timeout (> 10 s for one input) or out-of-memory (> 2 GiB), and prints the path of the
# input that caused it. `scripts/test.sh` runs it after the tests.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   default: 10 s, every target
#
#   HYGIE_FUZZ_JOBS=2        targets run at the same time (default 1)
#   HYGIE_FUZZ_SHARED=0|1    add the public samples of the shared test data (read where they
#                            are, never copied) as extra seeds; default: on for runs of 60 s or
#                            more when the data is there ($HYGIE_TEST_DATA or ../shared/data)
#   HYGIE_FUZZ_NICE=10       niceness of the fuzzers (default 0)
#   HYGIE_FUZZ_SANITIZER=none  cargo-fuzz's sanitizer (default address). CI's 10-second runs
#                            use none: they are there for panics, overflows and hangs that the
#                            seeds and a few seconds reach, and the AddressSanitizer build costs
#                            minutes of CI's budget; the long runs keep it (the workspace forbids
#                            unsafe code except hygie-passwords' memory maps and SIMD, which the
#                            breach_index and pwdump targets exercise)
#   HYGIE_FUZZ_PROFILE=dev   build with fuzz/'s dev profile (opt-level 1, debug assertions)
#                            instead of release (opt-level 3): half the build for CI's short runs
#   HYGIE_FUZZ_STAGE=build|run  only build the targets, or only run them (already built with the
#                            same sanitizer and profile); default: both. scripts/test.sh builds
#                            them in the background while the workspace's tests run.
#   HYGIE_FUZZ_SEED=N        libFuzzer's random seed (default: a new one each run); CI passes a
#                            fixed one so that the same commit fuzzes the same inputs, and a
#                            failure is the code's, not the luck of the draw
#
# Seeds: fuzz/corpus/TARGET (committed, read only). What a run finds goes to fuzz/grown/TARGET
# (ignored by git), which later runs start from; a crash, timeout or OOM input goes to
# fuzz/artifacts/TARGET/. Full logs: fuzz/logs/TARGET.log. Reproduce one input with
# `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-…` (in fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-10}
shift || true
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;; esac
jobs=${HYGIE_FUZZ_JOBS:-1}
sanitizer=${HYGIE_FUZZ_SANITIZER:-address}
profile=${HYGIE_FUZZ_PROFILE:-release}
case $profile in release | dev) ;; *) echo "HYGIE_FUZZ_PROFILE must be release or dev, not '$profile'" >&2; exit 2 ;; esac
case $sanitizer in address | none) ;; *) echo "HYGIE_FUZZ_SANITIZER must be address or none, not '$sanitizer'" >&2; exit 2 ;; esac
niceness=${HYGIE_FUZZ_NICE:-0}
stage=${HYGIE_FUZZ_STAGE:-all}
case $stage in all | build | run) ;; *) echo "HYGIE_FUZZ_STAGE must be build or run, not '$stage'" >&2; exit 2 ;; esac
seed=${HYGIE_FUZZ_SEED:-}
case $seed in *[!0-9]*) echo "HYGIE_FUZZ_SEED must be a number, not '$seed'" >&2; exit 2 ;; esac
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

log() { printf '\n==> %s\n' "$*"; }

# Tools: the nightly toolchain (sanitizers, -Z flags) and cargo-fuzz, installed when missing.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "Installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "Installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

all_targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^hygie-fuzz$')
targets=${*:-$all_targets}
for t in $targets; do
  grep -qx "$t" <<<"$all_targets" || { echo "unknown fuzz target '$t' (known: $(echo $all_targets))" >&2; exit 2; }
done

bin_dir=fuzz/target/x86_64-unknown-linux-gnu/$( [ "$profile" = dev ] && echo debug || echo release )
if [ "$stage" != run ]; then
  log "Building the fuzz targets"
  build_start=$(date +%s)
  if [ "$profile" = dev ]; then
    (cd fuzz && cargo +nightly fuzz build --dev -s "$sanitizer")
  else
    (cd fuzz && cargo +nightly fuzz build -O --debug-assertions -s "$sanitizer")
  fi
  echo "built in $(($(date +%s) - build_start)) s"
  [ "$stage" = build ] && exit 0
fi
for t in $targets; do
  [ -x "$bin_dir/$t" ] || { echo "fuzz target $t is not built in $bin_dir (HYGIE_FUZZ_STAGE=build first)" >&2; exit 2; }
done

shared_dir=${HYGIE_TEST_DATA:-$root/../shared/data}
use_shared=${HYGIE_FUZZ_SHARED:-}
if [ -z "$use_shared" ]; then
  if [ "$seconds" -ge 60 ] && [ -d "$shared_dir/sigma/regression_data" ]; then use_shared=1; else use_shared=0; fi
fi

# Extra seeds from the shared data, as symbolic links in a folder of their own (libFuzzer reads
# folders): the SigmaHQ regression events (EVTX and JSON) and the SigmaHQ rules.
shared_seeds() {
  local t=$1 dir=fuzz/grown/shared-$1 pattern root_dir
  case $t in
    logs_evtx) root_dir=$shared_dir/sigma/regression_data pattern='*.evtx' ;;
    logs_json) root_dir=$shared_dir/sigma/regression_data pattern='*.json' ;;
    sigma_rule) root_dir=$shared_dir/sigma/rules pattern='*.yml' ;;
    *) return 0 ;;
  esac
  [ -d "$root_dir" ] || return 0
  rm -rf "$dir" && mkdir -p "$dir"
  local n=0
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    ln -s "$f" "$dir/$n${f##*/}"
  done < <(find "$root_dir" -name "$pattern" -type f -print0 | sort -z)
  echo "$dir"
}

# Inputs longer than this are not generated (seeds longer are cut): an EVTX file header and two
# 64 KiB chunks; libFuzzer's own choice (4 KiB, or the longest seed) elsewhere.
max_len() {
  case $1 in
    logs_evtx) echo 135168 ;;
    *) echo "" ;;
  esac
}

run_target() {
  local t=$1 grown=fuzz/grown/$1 artifacts=fuzz/artifacts/$1/ logf=fuzz/logs/$1.log
  mkdir -p "$grown" "$artifacts" fuzz/logs
  local dict=fuzz/grown/$t.dict
  cat fuzz/dict/files.dict >"$dict"
  [ -f "fuzz/dict/$t.dict" ] && cat "fuzz/dict/$t.dict" >>"$dict"
  local extra=()
  if [ "$use_shared" = 1 ]; then
    local s
    s=$(shared_seeds "$t")
    [ -n "$s" ] && extra+=("$s")
  fi
  local ml
  ml=$(max_len "$t")
  local args=(
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
    -artifact_prefix="$artifacts" -dict="$dict"
  )
  [ -n "$ml" ] && args+=(-max_len="$ml")
  # breach_list runs the import's reader and parser threads (std::thread::scope) on every input.
  # The scope returns once their closures end, before their thread-locals are freed, and
  # libFuzzer's leak check after each input races with that teardown: a 2026-12-07 long run
  # reported std's channel context of a worker as leaked, which 1,500 runs of the same input
  # alone never did (LeakSanitizer's recoverable check with threads still running:
  # google/sanitizers#757). The other checks of AddressSanitizer stay on.
  [ "$t" = breach_list ] && args+=(-detect_leaks=0)
  [ -n "$seed" ] && args+=(-seed="$seed")
  local rc=0
  nice -n "$niceness" "$bin_dir/$t" "${args[@]}" "$grown" "fuzz/corpus/$t" "${extra[@]}" >"$logf" 2>&1 || rc=$?
  summarise "$t" "$rc" "$logf"
  return "$rc"
}

# One line per target: its figures from libFuzzer's last status line and final statistics; on
# failure, the cause and the input that caused it.
summarise() {
  local t=$1 rc=$2 logf=$3 last execs rate peak
  last=$(grep -E '^#[0-9]+' "$logf" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logf" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logf" | tail -n 1)
  peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$logf" | tail -n 1)
  local cov ft corp
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  if [ "$rc" = 0 ]; then
    printf '%-18s ok    %6s s %11s execs %8s exec/s  corpus %-12s cov %-6s ft %-7s rss %s MB\n' \
      "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${corp:-?}" "${cov:-?}" "${ft:-?}" "${peak:-?}"
  else
    local what artifact
    what=$(grep -m1 -E 'ERROR: libFuzzer: (deadly signal|timeout|out-of-memory|fuzz target exited)|ERROR: AddressSanitizer|panicked at' "$logf" || echo "exit code $rc")
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$logf" | tail -n 1)
    printf '%-18s FAIL  %s\n                   input: %s\n                   log:   %s\n' \
      "$t" "$what" "${artifact:-none written}" "$logf"
  fi
}

log "Fuzzing $(wc -w <<<"$targets") target(s), ${seconds} s each, $jobs at a time"
failed=()
running=()
for t in $targets; do
  run_target "$t" &
  running+=("$!:$t")
  if [ "${#running[@]}" -ge "$jobs" ]; then
    entry=${running[0]}
    running=("${running[@]:1}")
    wait "${entry%%:*}" || failed+=("${entry#*:}")
  fi
done
for entry in "${running[@]}"; do
  wait "${entry%%:*}" || failed+=("${entry#*:}")
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: no crash, timeout or out-of-memory"
