#!/usr/bin/env bash
# Why: runs one cargo-fuzz target for a bounded time (nightly toolchain), reusing the RocksDB library the release build already compiled so the nightly build does not compile RocksDB's C++ again.
# Usage: scripts/fuzz.sh proxy check_message 300   |   scripts/fuzz.sh config config_load 60
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
crate="${1:?crate dir: proxy or config}" target="${2:?fuzz target}" seconds="${3:-300}"
export OPENSSL_NO_VENDOR=1
export CARGO_TARGET_DIR="${UCP_FUZZ_TARGET_DIR:-$HOME/.cache/ucp-fuzz/target}"
release="${RELEASE_TARGET_DIR:-$HOME/.cache/ucp-target}"
lib=$(ls -t "$release"/release/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -1 || true)
if [[ -n "$lib" ]]; then
  mkdir -p "$HOME/.cache/ucp-fuzz/rocksdb"
  cmp -s "$lib" "$HOME/.cache/ucp-fuzz/rocksdb/librocksdb.a" || cp "$lib" "$HOME/.cache/ucp-fuzz/rocksdb/"
  export ROCKSDB_LIB_DIR="$HOME/.cache/ucp-fuzz/rocksdb" ROCKSDB_STATIC=1
else
  echo "[fuzz] no release librocksdb.a found: RocksDB compiles from source (about 40 min here)" >&2
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$crate"
cargo +nightly fuzz run "$target" -- -max_total_time="$seconds"
cargo +nightly fuzz cmin "$target"
