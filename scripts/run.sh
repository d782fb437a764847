#!/usr/bin/env bash
# Why: builds and starts the gateway locally with the same environment as the tests: scripts/run.sh [serve args...]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export OPENSSL_NO_VENDOR=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ucp-target}"

bash scripts/setup.sh
# shellcheck disable=SC1091
source "${UCP_HOME:-$HOME/.ucp}/tools/env.sh"
cargo build --release
exec "$CARGO_TARGET_DIR/release/ucp" serve "$@"
