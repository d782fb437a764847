#!/usr/bin/env bash
# Why: installs the gateway as one stripped binary under a prefix (and, with --with-kit, the ops/deploy files), built with the same release profile and environment as scripts/test.sh and scripts/run.sh, so a warm build cache makes the build step a no-op.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install.sh [--prefix DIR] [--bin PATH] [--with-kit]

Builds the release binary (cargo build --release --bin ucp, build cache in $CARGO_TARGET_DIR,
default ~/.cache/ucp-target), strips it and installs it as DIR/bin/ucp.

  --prefix DIR  where to install (default /usr/local, or $PREFIX): DIR/bin/ucp
  --bin PATH    install this already built `ucp` instead of building one
  --with-kit    also copy ops/deploy/ to DIR/share/ucp/deploy (ucp.service's paths rewritten
                to DIR/bin/ucp when DIR is not /usr/local) and print where each file goes
  -h, --help    this text

No root needed when DIR is writable; otherwise the copy (only) runs under sudo.
EOF
}

log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

PREFIX="${PREFIX:-/usr/local}"
BIN=""
WITH_KIT=0
while (($#)); do
  case "$1" in
    --prefix) (($# >= 2)) || die "--prefix needs a directory"; PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#--prefix=}"; shift ;;
    --bin) (($# >= 2)) || die "--bin needs a path"; BIN="$2"; shift 2 ;;
    --bin=*) BIN="${1#--bin=}"; shift ;;
    --with-kit) WITH_KIT=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ -n "$PREFIX" ]] || die "--prefix must not be empty"
PREFIX="${PREFIX%/}"
PREFIX="${PREFIX:-/}"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v strip >/dev/null || die "strip not found (Debian package binutils)"

# ---- 1. the binary ---------------------------------------------------------
if [[ -z "$BIN" ]]; then
  # The environment scripts/test.sh and scripts/run.sh build in: any difference (OPENSSL_NO_VENDOR, the target
  # directory, the profile) would rebuild RocksDB and everything else from scratch instead of reusing the cache.
  export OPENSSL_NO_VENDOR=1
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ucp-target}"
  env_sh="${UCP_HOME:-$HOME/.ucp}/tools/env.sh"
  # shellcheck disable=SC1090
  [[ -f "$env_sh" ]] && source "$env_sh"
  command -v cargo >/dev/null || die "cargo not found (or pass --bin PATH to install a binary built elsewhere)"
  log "building: cargo build --release --bin ucp (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
  (cd "$REPO" && cargo build --release --bin ucp)
  BIN="$CARGO_TARGET_DIR/release/ucp"
fi
[[ -f "$BIN" && -x "$BIN" ]] || die "$BIN is not an executable file"
"$BIN" --version >/dev/null || die "$BIN --version failed"

# ---- 2. root only when the prefix is not writable ----------------------------
writable_dir() { # the first existing ancestor of $1 is writable
  local d="$1"
  while [[ ! -e "$d" ]]; do d="$(dirname "$d")"; done
  [[ -d "$d" && -w "$d" ]]
}
SUDO=""
if ! writable_dir "$PREFIX/bin" || { ((WITH_KIT)) && ! writable_dir "$PREFIX/share/ucp/deploy"; }; then
  [[ $(id -u) -eq 0 ]] && die "$PREFIX is not writable, even as root"
  command -v sudo >/dev/null || die "$PREFIX is not writable and sudo is not installed (use --prefix DIR)"
  SUDO="sudo"
  log "$PREFIX is not writable by $(id -un): copying with sudo"
fi

# ---- 3. strip into place -----------------------------------------------------
# Stripped into a temporary name in the target directory, then renamed over the old binary: a running gateway
# keeps its (unlinked) file, and no reader ever sees a half-written one.
dest="$PREFIX/bin/ucp"
tmp="$PREFIX/bin/.ucp.install.$$"
$SUDO install -d -m 0755 "$PREFIX/bin"
trap '$SUDO rm -f "$tmp"' EXIT
$SUDO strip --strip-all -o "$tmp" "$BIN"
$SUDO chmod 0755 "$tmp"
$SUDO mv -f "$tmp" "$dest"
trap - EXIT
built=$(stat -L -c %s "$BIN")
installed=$(stat -L -c %s "$dest")
log "installed $dest: $("$dest" --version), $(mib "$installed") stripped (the build output $BIN is $(mib "$built"))"

# ---- 4. the deploy kit ---------------------------------------------------------
if ((WITH_KIT)); then
  kit="$PREFIX/share/ucp/deploy"
  $SUDO install -d -m 0755 "$kit"
  for f in "$REPO"/ops/deploy/*; do
    [[ -f "$f" ]] || continue
    mode=0644
    [[ "$f" == *.py ]] && mode=0755
    $SUDO install -m "$mode" "$f" "$kit/"
  done
  if [[ "$dest" != /usr/local/bin/ucp ]]; then
    # The unit names the binary by absolute path; this copy names the one just installed.
    $SUDO sed -i "s#/usr/local/bin/ucp #$dest #g" "$kit/ucp.service"
    log "$kit/ucp.service: ExecStart/ExecReload rewritten to $dest"
  fi
  log "deploy kit in $kit (ops/deploy/README.md says how to install each file):"
  log "  systemd unit:  $kit/ucp.service -> /etc/systemd/system/ucp.service"
  log "  nginx site:    $kit/nginx-ucp.conf -> /etc/nginx/sites-available/ucp"
  log "  logrotate:     $kit/logrotate-ucp -> /etc/logrotate.d/ucp"
  log "  alert rules:   $kit/prometheus-alerts.yml -> /etc/prometheus/rules/ucp-alerts.yml"
  log "  dashboard:     $kit/grafana-dashboard.json -> Grafana: Dashboards > New > Import"
fi
