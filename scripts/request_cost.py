#!/usr/bin/env python3
# Why: latency on this shared 2-core machine moves more between runs than a request-path change costs, so this
# counts what the gateway process itself spends per proxied `tools/call`: instructions under callgrind
# (repeatable) and CPU time natively, for two builds, over both fronts, in the same run.
"""Usage:
    request_cost.py --bin UCP [--baseline UCP_OLD] [--calls N] [--cpu-calls N] [--rounds R] [--no-callgrind] [--syscalls N]

For each build and each front (`ucp serve --stdio`, `ucp serve` over Streamable HTTP), the gateway runs in front
of server-everything (stdio) with `exposure: all`; the Python SDK client (`mcp.Client`, mode legacy, so both builds
take the same path) makes warm-up calls to `everything__echo`, waits until the gateway is idle, then:
  - callgrind: zeroes the counters (`callgrind_control -z`), makes N calls, dumps (`callgrind_control -d`) and
    reads the instructions executed (Ir, all threads) -> instructions per call;
  - CPU: reads the summed on-CPU time of the gateway's threads (/proc/PID/task/*/schedstat, ns), makes N calls,
    reads it again -> microseconds per call (R rounds, builds interleaved; the median is reported).
  - system calls (`--syscalls N`, stdio front only): under `strace -f -c`, a run with N calls minus a run
    with none.
Only the gateway process is counted (valgrind does not trace its children, server-everything runs natively).
Prints a Markdown table and one JSON object per measurement on stderr. Needs scripts/setup.sh (the venv, Node
servers) and valgrind (apt).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procfs import cpu_ns  # noqa: E402

HOME = Path(os.environ.get("UCP_HOME", Path.home() / ".ucp"))
EVERYTHING = HOME / "tools/node/node_modules/.bin/mcp-server-everything"


def config(dir: Path, transport: str) -> Path:
    server = "  transport: http\n  port: 0\n" if transport == "http" else "  transport: stdio\n"
    path = dir / f"{transport}.yaml"
    path.write_text(
        f"server:\n{server}  log_level: warning\n"
        f"router:\n  exposure: all\n"
        f"downstream_servers:\n  - name: everything\n    command: {json.dumps(str(EVERYTHING))}\n    args: [stdio]\n"
    )
    return path



def task_counters(pid: int) -> tuple[int, int, int]:
    """Summed over the process's threads: user ticks, system ticks, context switches."""
    user = system = switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            user, system = user + int(fields[11]), system + int(fields[12])
            for line in (task / "status").read_text().splitlines():
                if line.endswith("ctxt_switches:") or "ctxt_switches:" in line:
                    switches += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return user, system, switches


def wait_idle(pid: int, timeout: float = 900.0) -> None:
    """Until the process used under 2 ms of CPU over one second (index built, caches warm)."""
    deadline = time.monotonic() + timeout
    before = cpu_ns(pid)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_ns(pid)
        if now - before < 2_000_000:
            return
        before = now
    raise TimeoutError(f"gateway {pid} never went idle")


def find_pid(marker: str) -> int:
    """The gateway started by the SDK's stdio client: the process whose command line names our config."""
    me = os.getpid()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == me:
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(marker.encode() == part for part in cmd) and b"serve" in cmd:
            return int(proc.name)
    raise LookupError(f"no process with {marker} on its command line")


def callgrind_ir(out_dir: Path, pid: int, before: set[Path]) -> int:
    """The instructions of the newest dump of process `pid`."""
    for _ in range(100):
        new = sorted(set(out_dir.glob(f"cg.{pid}*")) - before, key=lambda p: p.stat().st_mtime)
        if new:
            for line in new[-1].read_text().splitlines():
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
        time.sleep(0.1)
    raise LookupError(f"no callgrind dump for {pid} in {out_dir}")


def syscall_counts(path: Path) -> dict[str, int]:
    """`strace -c` summary lines -> calls per syscall."""
    counts = {}
    for line in path.read_text().splitlines():
        f = line.split()
        if len(f) >= 5 and f[0][0].isdigit() and f[-1].isidentifier() and f[-1] != "total":
            counts[f[-1]] = int(f[3])
    return counts


async def measure(bin: str, front: str, work: Path, calls: int, warmup: int, tool: str, callgrind: bool,
                  strace: bool = False) -> dict:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    cfg = config(work, front)
    cg_dir = work / "callgrind"
    cg_dir.mkdir(exist_ok=True)
    prefix = (
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg_dir}/cg.%p", f"--log-file={cg_dir}/log.%p"]
        if callgrind
        else []
    )
    if strace:
        prefix = ["strace", "-f", "-c", "-o", str(work / "strace.txt")]
    cmd = prefix + [bin, "serve"] + (["--stdio"] if front == "stdio" else []) + ["-c", str(cfg)]
    env = {**os.environ, "RUST_LOG": "warn"}
    child = None
    if front == "stdio":
        server: object = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env, cwd=str(work))
    else:
        child = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, cwd=work)
        for line in child.stderr:
            if line.startswith("ucp: listening on "):
                server = line.split()[3]
                break
        else:
            raise RuntimeError(f"{bin} exited before listening")
        # Keep reading its log, or a full pipe would stop the gateway.
        threading.Thread(target=lambda: [None for _ in child.stderr], daemon=True).start()
    timeout = 3600.0 if callgrind else 300.0
    try:
        async with Client(server, mode="legacy", read_timeout_seconds=timeout) as client:
            pid = child.pid if child else find_pid(str(cfg))
            deadline = time.monotonic() + timeout
            while tool not in [t.name for t in (await client.list_tools()).tools]:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{tool} never appeared")
                await anyio.sleep(0.5)  # server-everything still connecting
            for _ in range(warmup):
                await client.call_tool(tool, {"message": "warm-up"})
            await anyio.to_thread.run_sync(wait_idle, pid)
            if callgrind:
                before = set(cg_dir.glob(f"cg.{pid}*"))
                subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
            cpu0, t0, k0 = cpu_ns(pid), time.monotonic(), task_counters(pid)
            for _ in range(calls):
                r = await client.call_tool(tool, {"message": "benchmark"})
                assert not r.is_error, r
            cpu1, t1, k1 = cpu_ns(pid), time.monotonic(), task_counters(pid)
            result = {"bin": bin, "front": front, "calls": calls, "wall_ms_per_call": (t1 - t0) * 1e3 / max(calls, 1)}
            if callgrind:
                subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
                result["instructions_per_call"] = callgrind_ir(cg_dir, pid, before) / max(calls, 1)
            else:
                result["cpu_us_per_call"] = (cpu1 - cpu0) / 1e3 / max(calls, 1)
                tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
                result["user_us_per_call"] = (k1[0] - k0[0]) * tick_us / max(calls, 1)
                result["system_us_per_call"] = (k1[1] - k0[1]) * tick_us / max(calls, 1)
                result["switches_per_call"] = (k1[2] - k0[2]) / max(calls, 1)
            return result
    finally:
        if child:
            if strace:  # stop the traced gateway, not strace, so strace writes its summary
                subprocess.run(["pkill", "-TERM", "-P", str(child.pid)], check=False)
            else:
                child.terminate()
            child.wait(timeout=60)


def syscalls(bin: str, front: str, work: Path, calls: int, tool: str) -> dict:
    """System calls per call: the gateway under `strace -f -c`, once with `calls` calls and once with
    none, so start-up and shutdown cancel out."""
    runs = []
    for n in (0, calls):
        w = work / f"strace-{n}"
        w.mkdir(parents=True)
        anyio.run(measure, bin, front, w, n, 20, tool, False, True)
        for _ in range(50):  # strace writes its summary as the traced process exits
            if (w / "strace.txt").exists() and (w / "strace.txt").stat().st_size:
                break
            time.sleep(0.2)
        runs.append(syscall_counts(w / "strace.txt"))
    base, full = runs
    return {name: (full.get(name, 0) - base.get(name, 0)) / calls for name in set(base) | set(full)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--baseline")
    ap.add_argument("--calls", type=int, default=300, help="calls counted under callgrind (default 300)")
    ap.add_argument("--cpu-calls", type=int, default=3000, help="calls per CPU-time round (default 3000)")
    ap.add_argument("--rounds", type=int, default=3, help="CPU-time rounds per build and front (default 3)")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--syscalls", type=int, default=0, metavar="N",
                    help="also count system calls per call under strace over N calls (default: off)")
    ap.add_argument("--tool", default="everything__echo")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep the callgrind dumps (default: a temporary dir)")
    ns = ap.parse_args()
    builds = [ns.bin] + ([ns.baseline] if ns.baseline else [])
    rows: dict[tuple[str, str], dict] = {}
    with tempfile.TemporaryDirectory(prefix="ucp-cost-") as scratch:
        tmp = ns.keep or scratch
        for i, bin in enumerate(builds):
            for front in ("stdio", "http"):
                work = Path(tmp) / f"b{i}-{front}"
                work.mkdir(parents=True)
                if not ns.no_callgrind:
                    r = anyio.run(measure, bin, front, work, ns.calls, 20, ns.tool, True)
                    print(json.dumps(r), file=sys.stderr, flush=True)
                    rows.setdefault((bin, front), {})["ir"] = r["instructions_per_call"]
        for round in range(ns.rounds):
            for i, bin in enumerate(builds):
                for front in ("stdio", "http"):
                    work = Path(tmp) / f"cpu{round}-b{i}-{front}"
                    work.mkdir(parents=True)
                    r = anyio.run(measure, bin, front, work, ns.cpu_calls, 200, ns.tool, False)
                    print(json.dumps(r), file=sys.stderr, flush=True)
                    rows.setdefault((bin, front), {}).setdefault("cpu", []).append(r["cpu_us_per_call"])
        if ns.syscalls:
            for i, bin in enumerate(builds):
                for front in ("stdio",):  # under strace the HTTP gateway never went idle here
                    per_call = syscalls(bin, front, Path(tmp) / f"sys-b{i}-{front}", ns.syscalls, ns.tool)
                    top = dict(sorted(per_call.items(), key=lambda kv: -kv[1])[:6])
                    print(json.dumps({"bin": bin, "front": front, "syscalls_per_call": top}), file=sys.stderr, flush=True)
                    rows.setdefault((bin, front), {})["sys"] = sum(per_call.values())
    print("| build | front | instructions / call | system calls / call | CPU us / call (median of rounds) | rounds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (bin, front), row in rows.items():
        ir = f"{row['ir']:,.0f}" if "ir" in row else "-"
        sc = f"{row['sys']:.1f}" if "sys" in row else "-"
        cpu = row.get("cpu", [])
        med = f"{statistics.median(cpu):.1f}" if cpu else "-"
        print(f"| {bin} | {front} | {ir} | {sc} | {med} | {', '.join(f'{c:.1f}' for c in cpu)} |")
    if ns.baseline:
        for front in ("stdio", "http"):
            new, old = rows.get((ns.bin, front), {}), rows.get((ns.baseline, front), {})
            if "ir" in new and "ir" in old:
                print(f"\n{front}: instructions/call this/baseline = {new['ir'] / old['ir']:.3f} "
                      f"(delta {new['ir'] - old['ir']:+,.0f})", end="")
            if new.get("cpu") and old.get("cpu"):
                a, b = statistics.median(new["cpu"]), statistics.median(old["cpu"])
                print(f"; CPU/call this/baseline = {a / b:.3f} (delta {a - b:+.1f} us)", end="")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
