#!/usr/bin/env python3
# Why: measures what TLS termination costs in throughput: wrk drives stateless 2026-07-28 `tools/list` POSTs at two
# gateways of the same build, one over HTTPS and one over plain HTTP, in interleaved rounds of the same run.
"""Usage:
    load_tls.py [--bin UCP] [--seconds S] [--rounds R] [--connections C] [--threads T]

Starts two `ucp serve` (log_level warning, `exposure: all`, server-everything over stdio behind each): one with
`server.ssl` on a certificate made here by the `openssl` CLI (RSA 2048, signed by a throwaway CA, the seed's
`ciphers: HIGH:!aNULL:!MD5`, `min_tls_version: "1.2"`), one without. First checks with curl (verifying the CA)
that each answers the request with the tool list, then runs `wrk` (HTTP/1.1, keep-alive; over TLS a handshake per
connection, then one session) R rounds of S seconds per gateway, alternating, and prints requests/s per round, the
median of each mode and the ratio HTTPS/HTTP. A second pair of rows sends `Connection: close`, so every request
pays a TCP connect and, over TLS, a full handshake. Needs scripts/setup.sh (server-everything, wrk, curl, openssl).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

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


def sh(*args: str, cwd: Path) -> str:
    out = subprocess.run(["timeout", "60", *args], cwd=cwd, capture_output=True, text=True)
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


def config(dir: Path, tls: bool) -> Path:
    ssl = (
        f"  ssl:\n    enabled: true\n    cert_path: {json.dumps(str(dir / 'cert.pem'))}\n"
        f"    key_path: {json.dumps(str(dir / 'key.pem'))}\n    min_tls_version: \"1.2\"\n"
        f"    ciphers: \"HIGH:!aNULL:!MD5\"\n"
        if tls
        else ""
    )
    name = "https" if tls else "http"
    path = dir / f"{name}.yaml"
    path.write_text(
        f"server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\n  log_level: warning\n{ssl}"
        f"router:\n  exposure: all\n"
        f"tool_zoo:\n  persist_dir: {json.dumps(str(dir / (name + '-zoo')))}\n"
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


def wait_ready(dir: Path, base: str) -> None:
    """Until server-everything is connected and a stateless tools/list returns its tools."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        health = json.loads(curl(dir, f"{base}/health"))
        if health.get("components", {}).get("downstream_servers", {}).get("everything") == "connected":
            break
        time.sleep(0.5)
    headers = [arg for k, v in HEADERS.items() for arg in ("-H", f"{k}: {v}")]
    answer = curl(dir, f"{base}/mcp", "--http1.1", *headers, "-d", BODY)
    events = [json.loads(l[5:]) for l in answer.splitlines() if l.startswith("data:")]
    tools = [t["name"] for e in events for t in e.get("result", {}).get("tools", [])]
    if "everything__echo" not in tools:
        sys.exit(f"{base}: tools/list did not list everything's tools: {answer[:300]}")
    print(f"# {base}: tools/list answers {len(tools)} tools ({len(answer)} bytes per response)", file=sys.stderr)


def cpu_ns(pid: int) -> int:
    """The on-CPU time of the process's threads so far (/proc/PID/task/*/schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that just ended
    return total


def wrk(dir: Path, url: str, seconds: int, connections: int, threads: int, close: bool) -> tuple[float, int]:
    """Requests/s, and how many requests wrk completed."""
    lua = dir / ("close.lua" if close else "keepalive.lua")
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(BODY)}"]
    headers = dict(HEADERS, **({"Connection": "close"} if close else {}))
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
        sys.exit(f"wrk saw errors against {url}:\n{out.stdout}")
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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ucp-load-tls-") as tmp:
        dir = Path(tmp)
        make_certificates(dir)
        gateways = {}
        try:
            for mode, tls in (("https", True), ("http", False)):
                proc, base = start(args.bin, config(dir, tls))
                gateways[mode] = (proc, base)
                wait_ready(dir, base)
            rows = []
            for close in (False, True):
                rates = {"https": [], "http": []}
                cpu = {"https": [], "http": []}
                for round in range(args.rounds):
                    for mode in ("http", "https") if round % 2 == 0 else ("https", "http"):
                        proc, base = gateways[mode]
                        before = cpu_ns(proc.pid)
                        rate, count = wrk(dir, f"{base}/mcp", args.seconds, args.connections, args.threads, close)
                        us = (cpu_ns(proc.pid) - before) / 1000 / count
                        rates[mode].append(rate)
                        cpu[mode].append(us)
                        print(json.dumps({"mode": mode, "close": close, "round": round, "rps": rate,
                                          "gateway_cpu_us_per_request": round_to(us)}), file=sys.stderr)
                rows.append((close, rates, cpu))
        finally:
            for proc, _ in gateways.values():
                proc.terminate()
                proc.wait(timeout=15)

    print(f"wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, {args.rounds} rounds per mode, interleaved\n")
    print("| connections | HTTP req/s | HTTPS req/s | HTTPS/HTTP | gateway CPU µs/req HTTP | HTTPS | "
          "rounds HTTP req/s | rounds HTTPS req/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for close, rates, cpu in rows:
        http, https = statistics.median(rates["http"]), statistics.median(rates["https"])
        each = lambda xs: ", ".join(f"{x:.0f}" for x in xs)
        kind = "new per request (`Connection: close`)" if close else "keep-alive"
        print(f"| {kind} | {http:.0f} | {https:.0f} | {https / http:.2f} | {statistics.median(cpu['http']):.0f} | "
              f"{statistics.median(cpu['https']):.0f} | {each(rates['http'])} | {each(rates['https'])} |")
    print("\n(req/s and CPU: medians over the rounds; CPU is the gateway process only, wrk runs on the same cores)")


if __name__ == "__main__":
    main()
