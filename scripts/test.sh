#!/usr/bin/env bash
# Why: the one test entry point (CI runs it through .ci/run): installs the test peers, then fmt, clippy and the test suite.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export OPENSSL_NO_VENDOR=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ucp-target}"
# No RUSTFLAGS=-D warnings here: it would invalidate the build cache; clippy -D warnings covers it.

declare -a SUMMARY=()
phase() { # phase NAME CMD... : run CMD, print and record its elapsed time, stop on failure
  local name="$1" t0 rc=0
  shift
  printf '\n==> %s: %s\n' "$name" "$*"
  t0=$(date +%s)
  "$@" || rc=$?
  SUMMARY+=("$(printf '%-8s %4ss  %s' "$name" "$(($(date +%s) - t0))" "$([[ $rc -eq 0 ]] && echo ok || echo "FAILED (exit $rc)")")")
  if ((rc != 0)); then
    report
    exit "$rc"
  fi
}
report() {
  printf '\n==> phase times\n'
  printf '  %s\n' "${SUMMARY[@]}"
}

phase setup bash scripts/setup.sh
# shellcheck disable=SC1091
source "${UCP_HOME:-$HOME/.ucp}/tools/env.sh"

phase fmt cargo fmt --all -- --check
phase clippy cargo clippy --release --workspace --all-targets -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  phase test cargo nextest run --release --workspace --no-fail-fast
else
  phase test cargo test --release --workspace --no-fail-fast
fi
# scripts/run.sh builds with `cargo build --release`, which resolves features without the dev
# dependencies: build that variant too, then check that the README's run command starts at once.
phase run-build cargo build --release
run_ready() {
  local out
  out=$(cargo build --release 2>&1)
  if grep -q 'Compiling' <<<"$out"; then
    printf '%s\n' "$out" >&2
    echo "scripts/run.sh would rebuild right after scripts/test.sh" >&2
    return 1
  fi
}
phase run-ready run_ready
report
