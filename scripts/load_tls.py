#!/usr/bin/env python3
# Why: measures what TLS termination and authentication cost in throughput: wrk drives stateless 2026-07-28
# `tools/list` POSTs at four gateways of the same build (HTTP, HTTP + auth, HTTPS, HTTPS + auth) in interleaved
# rounds of the same run, and reports each as a ratio to plain HTTP without auth measured in that run.
"""Usage:
    load_tls.py [--bin UCP] [--seconds S] [--rounds R] [--connections C] [--threads T] [--auth apikey|jwt]

Starts four `ucp serve` (log_level warning, `exposure: all`, server-everything over stdio behind each): HTTP
without auth (the baseline), HTTP with auth, HTTPS without auth, HTTPS with auth. HTTPS is `server.ssl` on a
certificate made here by the `openssl` CLI (RSA 2048, signed by a throwaway CA, the seed's
`ciphers: HIGH:!aNULL:!MD5`, `min_tls_version: "1.2"`). Auth is `server.auth` with `--auth apikey` (the default:
one key in `api_keys` by its SHA-256 from `ucp hash-api-key`, sent as `X-API-Key`) or `--auth jwt` (an HS256
`secret`, no issuer or audience, and a token minted here with {"sub", "exp": now + 3600} sent as
`Authorization: Bearer`). First checks with curl (verifying the CA) that each answers the request with the tool
list, and that each auth gateway answers 401 without the credential and with a wrong one; exits otherwise. Then
runs `wrk` (HTTP/1.1, keep-alive; over TLS a handshake per connection, then one session) R rounds of S seconds
per gateway, the order rotated each round, and prints requests/s per round, the median of each mode, the gateway's
CPU per request and the ratio of each median to HTTP without auth. A second set of rows sends `Connection: close`,
so every request pays a TCP connect and, over TLS, a full handshake (ratios there are to HTTP without auth with
`Connection: close`). Needs scripts/setup.sh (server-everything, wrk, curl, openssl).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procfs import cpu_ns  # noqa: E402

HOME = Path(os.environ.get("UCP_HOME", Path.home() / ".ucp"))
EVERYTHING = HOME / "tools/node/node_modules/.bin/mcp-server-everything"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/ucp-target"))

BODY = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/list",
        "params": {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "wrk", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        },
    },
    separators=(",", ":"),
)
# What a stateless 2026-07-28 request needs besides its `_meta`: the version header and the method header.
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2026-07-28",
    "Mcp-Method": "tools/list",
}
# The four gateways: name, TLS, auth. The first is the baseline every ratio is taken to.
MODES = (("http", False, False), ("http+auth", False, True), ("https", True, False), ("https+auth", True, True))


def sh(*args: str, cwd: Path, input: str | None = None) -> str:
    out = subprocess.run(["timeout", "60", *args], cwd=cwd, capture_output=True, text=True, input=input)
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {out.stderr}")
    return out.stdout


def make_certificates(dir: Path) -> None:
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
       "-days", "2", "-subj", "/CN=UCP load CA", cwd=dir)
    (dir / "leaf.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "leaf.csr",
       "-subj", "/CN=localhost", cwd=dir)
    sh("openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "1",
       "-days", "2", "-extfile", "leaf.ext", "-out", "cert.pem", cwd=dir)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_jwt(secret: str, claims: dict) -> str:
    """A compact HS256 JWT (RFC 7519) signed with `secret`."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def make_auth(bin: Path, dir: Path, kind: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The `server.auth` YAML, the header that authenticates, and a header of the same kind that must not."""
    if kind == "apikey":
        key = secrets.token_hex(32)
        hash = sh(str(bin), "hash-api-key", cwd=dir, input=key + "\n").strip()
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", hash):
            sys.exit(f"ucp hash-api-key printed {hash!r}")
        yaml = (f"  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n"
                f"      - {{identity: bench, hash: {json.dumps(hash)}}}\n")
        return yaml, {"X-API-Key": key}, {"X-API-Key": secrets.token_hex(32)}
    secret = secrets.token_hex(32)  # 64 bytes of hex, over the 32 the validator asks for
    claims = {"sub": "bench", "exp": int(time.time()) + 3600}
    yaml = f"  auth:\n    enabled: true\n    provider: jwt\n    secret: {json.dumps(secret)}\n"
    return (yaml, {"Authorization": f"Bearer {hs256_jwt(secret, claims)}"},
            {"Authorization": f"Bearer {hs256_jwt(secrets.token_hex(32), claims)}"})


def config(dir: Path, name: str, tls: bool, auth: str) -> Path:
    ssl = (
        f"  ssl:\n    enabled: true\n    cert_path: {json.dumps(str(dir / 'cert.pem'))}\n"
        f"    key_path: {json.dumps(str(dir / 'key.pem'))}\n    min_tls_version: \"1.2\"\n"
        f"    ciphers: \"HIGH:!aNULL:!MD5\"\n"
        if tls
        else ""
    )
    path = dir / f"{name.replace('+', '-')}.yaml"
    path.write_text(
        f"server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\n  log_level: warning\n{ssl}{auth}"
        f"router:\n  exposure: all\n"
        f"tool_zoo:\n  persist_dir: {json.dumps(str(path.with_suffix('.zoo')))}\n"
        f"downstream_servers:\n  - name: everything\n    command: {json.dumps(str(EVERYTHING))}\n    args: [stdio]\n"
    )
    return path


def start(bin: Path, config: Path) -> tuple[subprocess.Popen, str]:
    """Starts `ucp serve -c config`; returns the process and its base URL (from the listening line)."""
    log = open(config.with_suffix(".log"), "w")
    proc = subprocess.Popen([str(bin), "serve", "-c", str(config)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    assert proc.stderr is not None
    for line in proc.stderr:
        log.write(line)
        found = re.match(r"ucp: listening on (https?://[^/]+)/mcp", line)
        if found:
            # Keep draining stderr so the gateway never blocks on a full pipe.
            threading.Thread(target=lambda: [log.write(l) for l in proc.stderr], daemon=True).start()
            return proc, found.group(1)
        if time.monotonic() > deadline:
            break
    proc.kill()
    sys.exit(f"gateway on {config} did not start; see {config.with_suffix('.log')}")


def curl(dir: Path, url: str, *args: str) -> str:
    return sh("curl", "-sS", "--cacert", "ca.pem", *args, url, cwd=dir)


def curl_headers(headers: dict[str, str]) -> list[str]:
    return [arg for k, v in headers.items() for arg in ("-H", f"{k}: {v}")]


def wait_ready(dir: Path, name: str, base: str, credential: dict[str, str], wrong: dict[str, str] | None) -> None:
    """Until server-everything is connected and a stateless tools/list (with `credential`) returns its tools; on an
    auth gateway (`wrong` given), also that the same request is refused with 401 without a credential and with
    `wrong`."""
    deadline = time.monotonic() + 120
    while True:
        health = json.loads(curl(dir, f"{base}/health", *curl_headers(credential)))
        if health.get("components", {}).get("downstream_servers", {}).get("everything") == "connected":
            break
        if time.monotonic() > deadline:
            sys.exit(f"{name} {base}: server-everything not connected after 120 s: {health}")
        time.sleep(0.5)
    request = ["--http1.1", *curl_headers(HEADERS), "-d", BODY]
    answer = curl(dir, f"{base}/mcp", *request, *curl_headers(credential))
    events = [json.loads(l[5:]) for l in answer.splitlines() if l.startswith("data:")]
    tools = [t["name"] for e in events for t in e.get("result", {}).get("tools", [])]
    if "everything__echo" not in tools:
        sys.exit(f"{name} {base}: tools/list did not list everything's tools: {answer[:300]}")
    refused = ""
    if wrong is not None:
        for what, extra in (("no credential", {}), ("a wrong credential", wrong)):
            status = curl(dir, f"{base}/mcp", *request, *curl_headers(extra), "-o", "/dev/null",
                          "-w", "%{http_code}")
            if status != "401":
                sys.exit(f"{name} {base}: tools/list with {what} answered HTTP {status}, expected 401")
        refused = "; 401 without the credential and with a wrong one"
    print(f"# {name} {base}: tools/list answers {len(tools)} tools ({len(answer)} bytes per response){refused}",
          file=sys.stderr)



def wrk(dir: Path, name: str, url: str, seconds: int, connections: int, threads: int, close: bool,
        credential: dict[str, str]) -> tuple[float, int]:
    """Requests/s, and how many requests wrk completed."""
    lua = dir / f"{name.replace('+', '-')}-{'close' if close else 'keepalive'}.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(BODY)}"]
    headers = dict(HEADERS, **credential, **({"Connection": "close"} if close else {}))
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    lua.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        ["timeout", str(seconds + 30), "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(lua),
         url],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"wrk failed: {out.stderr}{out.stdout}")
    if "Non-2xx" in out.stdout or ("Socket errors" in out.stdout and not close):
        sys.exit(f"wrk saw errors against {name} {url}:\n{out.stdout}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    count = re.search(r"(\d+) requests in", out.stdout)
    if not rate or not count:
        sys.exit(f"no Requests/sec in wrk's output:\n{out.stdout}")
    return float(rate.group(1)), int(count.group(1))


def round_to(x: float) -> float:
    return float(f"{x:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", type=Path, default=TARGET / "release/ucp")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--auth", choices=("apikey", "jwt"), default="apikey")
    args = parser.parse_args()
    names = [name for name, _, _ in MODES]

    with tempfile.TemporaryDirectory(prefix="ucp-load-tls-") as tmp:
        dir = Path(tmp)
        make_certificates(dir)
        auth_yaml, credential, wrong = make_auth(args.bin, dir, args.auth)
        gateways = {}
        try:
            for name, tls, auth in MODES:
                proc, base = start(args.bin, config(dir, name, tls, auth_yaml if auth else ""))
                gateways[name] = (proc, base, credential if auth else {})
                wait_ready(dir, name, base, credential if auth else {}, wrong if auth else None)
            rows = []
            for close in (False, True):
                rates = {name: [] for name in names}
                cpu = {name: [] for name in names}
                for round in range(args.rounds):
                    # Rotate the order so no mode always runs first or right after the same neighbour.
                    for name in names[round % len(names):] + names[:round % len(names)]:
                        proc, base, header = gateways[name]
                        before = cpu_ns(proc.pid)
                        rate, count = wrk(dir, name, f"{base}/mcp", args.seconds, args.connections, args.threads,
                                          close, header)
                        us = (cpu_ns(proc.pid) - before) / 1000 / count
                        rates[name].append(rate)
                        cpu[name].append(us)
                        print(json.dumps({"mode": name, "close": close, "round": round, "rps": rate,
                                          "gateway_cpu_us_per_request": round_to(us)}), file=sys.stderr)
                rows.append((close, rates, cpu))
        finally:
            for proc, _, _ in gateways.values():
                proc.terminate()
                proc.wait(timeout=15)

    print(f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, {args.rounds} rounds per mode, rotated; "
          f"auth: {args.auth}\n")
    print("| connections | mode | median req/s | ratio to HTTP without auth | gateway CPU µs/req | rounds req/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for close, rates, cpu in rows:
        baseline = statistics.median(rates[names[0]])
        kind = "new per request (`Connection: close`)" if close else "keep-alive"
        for name in names:
            median = statistics.median(rates[name])
            label = name.replace("+auth", f" + {args.auth}")
            print(f"| {kind} | {label} | {median:.0f} | {median / baseline:.2f} | "
                  f"{statistics.median(cpu[name]):.0f} | {', '.join(f'{x:.0f}' for x in rates[name])} |")
    print("\n(req/s and CPU: medians over the rounds; CPU is the gateway process only, wrk runs on the same cores; "
          "ratios are to HTTP without auth with the same kind of connections)")


if __name__ == "__main__":
    main()
