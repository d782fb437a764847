#!/usr/bin/env python3
# Why: issue 10 point 5 sets RSS targets for the gateway process (with the model after a cold index of the 9,614-tool
# pool, keyword-only, 13 tools without the model); this starts the real `ucp serve` in each configuration, behind
# real MCP servers, and reads the process's memory from /proc once the index is complete.
"""Usage:
    memory.py [--bin UCP] [--baseline UCP_OLD] [--servers S] [--page-size P] [--only NAME ...] [--queries N]

Scenarios (each a fresh `ucp serve` with its own temp dir, RocksDB session store and tool store):
  - pool-hybrid-cold: the 9,614-tool pool (benches/data/scale) split over S fixture servers
    (tests/fixtures/many_tools_server.py --offset/--count, `tools/list` paginated P per page, real input schemas),
    `router.mode: hybrid`, `exposure: search`, empty tool store: every tool is embedded;
  - pool-hybrid-warm: the same, restarted on the store the cold run filled;
  - pool-keyword: the same pool, `mode: keyword`, empty tool store;
  - small-13: 13 tools of the pool from one fixture server, `exposure: all` (mode left at its default, hybrid), no
    selection request: what a gateway that only proxies holds;
  - small-everything: the same with server-everything + mcp-server-time (18 tools) instead.
Each run waits until /health reports the whole catalog indexed (`tool_zoo` not `indexing`, `tools_indexed` equal to
the catalog), then makes N `POST /v1/select` requests with dev-set queries (not in small-all), waits 5 s and reads
VmRSS and VmHWM (peak) from /proc/PID/status, and whether libonnxruntime is mapped (/proc/PID/maps).
It also reads the gateway's own log (JSON, level info) for issue 10 point 7: the seconds from the last
"downstream connected" (the last server has listed its tools) to the "tool index built" that covers the whole
catalog ("after last listing"; in pool-hybrid-warm that is the warm restart with every tool already embedded).
Prints a Markdown table, one JSON object per run on stderr. Needs scripts/setup.sh (venv, Node servers, the model).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOME = Path(os.environ.get("UCP_HOME", Path.home() / ".ucp"))
PYTHON = HOME / "tools/venv/bin/python"
EVERYTHING = HOME / "tools/node/node_modules/.bin/mcp-server-everything"
TIME = HOME / "tools/venv/bin/mcp-server-time"
FIXTURE = ROOT / "tests/fixtures/many_tools_server.py"
POOL = ROOT / "benches/data/scale/scale-tools.jsonl"
QUERIES = ROOT / "benches/data/toolret-dev/queries.jsonl"


def server(name: str, command: Path, args: list[str]) -> str:
    return (
        f"  - name: {name}\n    transport: stdio\n    command: {json.dumps(str(command))}\n"
        f"    args: {json.dumps(args)}\n    timeout: 120\n"
    )


def pool_servers(count: int, page_size: int) -> list[str]:
    total = sum(1 for _ in POOL.open())
    per = -(-total // count)
    return [
        server(f"pool{i}", PYTHON, [str(FIXTURE), str(per), "--offset", str(i * per), "--page-size",
                                    str(page_size), "--schemas"])
        for i in range(count)
    ]


def write_config(dir: Path, zoo: Path, mode: str | None, exposure: str, servers: list[str]) -> Path:
    mode_line = f"  mode: {mode}\n" if mode else ""
    path = dir / "ucp.yaml"
    path.write_text(
        "server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\n  log_level: info\n  log_format: json\n  ready_timeout: 300\n"
        f"router:\n  exposure: {exposure}\n{mode_line}"
        f"tool_zoo:\n  persist_dir: {json.dumps(str(zoo))}\n"
        f"session:\n  backend: rocksdb\n  persist_dir: {json.dumps(str(dir / 'sessions'))}\n"
        f"downstream_servers:\n{''.join(servers)}"
    )
    return path


def start(bin: Path, config: Path, log: Path) -> tuple[subprocess.Popen, str]:
    err = log.open("w")
    proc = subprocess.Popen([str(bin), "serve", "-c", str(config)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, "UCP_HOME": str(HOME)})
    deadline = time.time() + 120
    while time.time() < deadline:
        found = re.search(r"ucp: listening on (https?://[^/\s]+)", log.read_text())
        if found:
            return proc, found.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gateway did not start:\n{log.read_text()[-3000:]}")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.loads(reply.read())


def wait_indexed(base: str, tools: int | None, limit: float) -> tuple[dict, float]:
    """Waits until the index covers the whole catalog (of `tools` tools when given); returns /health and seconds."""
    started = time.time()
    health: dict = {}
    while time.time() - started < limit:
        try:
            health = get_json(f"{base}/health")
        except OSError:
            time.sleep(1)
            continue
        metrics = health.get("metrics", {})
        catalog = metrics.get("tools_in_catalog", 0)
        settled = all(s == "connected" for s in health["components"]["downstream_servers"].values())
        if (settled and health["components"]["tool_zoo"] != "indexing" and metrics.get("tools_indexed") == catalog
                and catalog > 0 and (tools is None or catalog == tools)):
            return health, time.time() - started
        time.sleep(1)
    raise SystemExit(f"the index was never complete: {health}")


def select(base: str, queries: list[str]) -> None:
    for query in queries:
        body = json.dumps({"context": query, "k": 5}).encode()
        request = urllib.request.Request(f"{base}/v1/select", data=body, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            reply.read()


def status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) // 1024  # MiB
    return out


def log_events(log: Path) -> list[tuple[float, str, dict]]:
    """(seconds since the epoch, message, fields) of each JSON line of the gateway's log."""
    from datetime import datetime

    events = []
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        # The gateway's record: {"timestamp", "level", "component", "message", "context": {fields}}.
        fields = record.get("context", {})
        stamp = record.get("timestamp")
        if not stamp:
            continue
        # RFC 3339 with nanoseconds: Python reads at most microseconds.
        stamp = re.sub(r"(\.\d{6})\d+", r"\1", stamp).replace("Z", "+00:00")
        events.append((datetime.fromisoformat(stamp).timestamp(), record.get("message", ""), fields))
    return events


def after_last_listing(log: Path, catalog: int) -> float | None:
    """Seconds from the last downstream listing to the first index build that covers `catalog` tools after it."""
    events = log_events(log)
    listed = [t for t, message, _ in events if message == "downstream connected"]
    if not listed:
        return None
    last = max(listed)
    built = [t for t, message, f in events if message == "tool index built" and f.get("tools") == catalog and t >= last]
    return round(min(built) - last, 3) if built else None


def ort_mapped(pid: int) -> bool:
    return "libonnxruntime" in Path(f"/proc/{pid}/maps").read_text()


def run(bin: Path, name: str, dir: Path, zoo: Path, mode: str | None, exposure: str, servers: list[str],
        tools: int | None, queries: list[str]) -> dict:
    config = write_config(dir, zoo, mode, exposure, servers)
    proc, base = start(bin, config, dir / f"{name}.log")
    try:
        health, took = wait_indexed(base, tools, 1800)
        select(base, queries)
        time.sleep(5)
        memory = status(proc.pid)
        catalog = health["metrics"]["tools_in_catalog"]
        return {"after_last_listing_s": after_last_listing(dir / f"{name}.log", catalog),"build": str(bin), "scenario": name, "tools": health["metrics"]["tools_in_catalog"],
                "index_s": round(took, 1), "rss_mib": memory["VmRSS"], "peak_mib": memory["VmHWM"],
                "anon_mib": memory.get("RssAnon"), "file_mib": memory.get("RssFile"), "ort_mapped": ort_mapped(proc.pid),
                "tool_zoo": health["components"]["tool_zoo"]}
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument("--bin", type=Path, default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/ucp")
    args.add_argument("--baseline", type=Path)
    args.add_argument("--servers", type=int, default=4)
    args.add_argument("--page-size", type=int, default=500)
    args.add_argument("--queries", type=int, default=50)
    args.add_argument("--only", nargs="*", default=None)
    opts = args.parse_args()
    pool_size = sum(1 for _ in POOL.open())
    queries = [json.loads(line)["query"] for line in QUERIES.open()][: opts.queries]
    pool = pool_servers(opts.servers, opts.page_size)
    small = [server("everything", EVERYTHING, ["stdio"]), server("time", TIME, [])]
    thirteen = [server("few", PYTHON, [str(FIXTURE), "13"])]
    wanted = lambda name: opts.only is None or name in opts.only  # noqa: E731
    rows = []
    for bin in [b for b in (opts.baseline, opts.bin) if b]:
        with tempfile.TemporaryDirectory(prefix="ucp-memory-") as tmp:
            tmp = Path(tmp)
            zoo = tmp / "zoo-hybrid"
            plan = [
                ("pool-hybrid-cold", zoo, "hybrid", "search", pool, pool_size, queries),
                ("pool-hybrid-warm", zoo, "hybrid", "search", pool, pool_size, queries),
                ("pool-keyword", tmp / "zoo-keyword", "keyword", "search", pool, pool_size, queries),
                ("small-13", tmp / "zoo-13", None, "all", thirteen, 13, []),
                ("small-everything", tmp / "zoo-small", None, "all", small, None, []),
            ]
            for name, zoo_dir, mode, exposure, servers, tools, asked in plan:
                if not wanted(name) and not (name == "pool-hybrid-cold" and wanted("pool-hybrid-warm")):
                    continue
                dir = tmp / name
                dir.mkdir()
                row = run(bin, name, dir, zoo_dir, mode, exposure, servers, tools, asked)
                print(json.dumps(row), file=sys.stderr, flush=True)
                if wanted(name):
                    rows.append(row)
    print("| build | scenario | tools | index complete after (s) | after last listing (s) | VmRSS (MiB) | VmHWM peak (MiB) | RssAnon | RssFile | ONNX Runtime mapped |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        print(f"| {Path(r['build']).name} | {r['scenario']} | {r['tools']} | {r['index_s']} | {r['after_last_listing_s']} | {r['rss_mib']} | "
              f"{r['peak_mib']} | {r['anon_mib']} | {r['file_mib']} | {'yes' if r['ort_mapped'] else 'no'} |")


if __name__ == "__main__":
    main()
