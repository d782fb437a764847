#!/usr/bin/env python3
# Why: a real third-party MCP client (the Python `mcp` SDK 2.x `Client`) for the integration tests to drive the
# gateway (or any server) with, printing one JSON summary object so the Rust tests can assert on it.
"""Usage:
    mcp_client.py [--mode auto|legacy|2026-07-28] [--timeout S] [--answer NAME] [--log-level LEVEL] [--wait-logs S]
                  [--call NAME --args JSON]... stdio -- CMD [ARGS...]
    mcp_client.py [options as above]... http URL

Connects with `mcp.Client` (mode "auto" by default: `server/discover` first, `initialize` fallback), lists the
tools (all pages), calls each `--call` in order, and prints to stdout ONE JSON object:
    {"protocol_version": str, "server_name": str|null, "tools": [names],
     "calls": [{"name": str, "is_error": bool, "text": str}]}
`--args` applies to the `--call` before it (default {}). With `--answer NAME` the client declares sampling and
elicitation: it answers each sampling request with the text "answer from NAME" and declines each elicitation.
With `--log-level LEVEL` it asks for log messages at that level (`logging/setLevel` on a legacy connection, the
level in every request's `_meta` on a 2026-07-28 one); `--wait-logs S` waits up to S seconds after the calls for
a first one. The JSON object then also has, per call, "progress": [progress values received during it], and
    "sampling": [the text of each sampling request's messages], "elicitation": [each elicitation's message],
    "logs": [each log notification's data].
A call answered with a JSON-RPC error is recorded as
{"name", "is_error": true, "text": message, "error_code": code}. Any other failure (connect, handshake, listing,
transport, timeout): the error on stderr, exit 1 (2 for usage).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import anyio


def parse(argv: list[str]) -> argparse.Namespace:
    # Split off the stdio command first so its own flags are never parsed as ours.
    cmd: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(prog="mcp_client.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mode", default="auto", help="auto (default), legacy, or a modern protocol version")
    ap.add_argument("--timeout", type=float, default=30.0, help="overall timeout in seconds (default 30)")
    ap.add_argument("--call", action="append", default=[], dest="calls", metavar="NAME")
    ap.add_argument("--args", action="append", default=[], dest="call_args", metavar="JSON")
    ap.add_argument("--answer", metavar="NAME", help="declare sampling and elicitation, answer as NAME")
    ap.add_argument("--log-level", metavar="LEVEL", help="ask for log messages at LEVEL")
    ap.add_argument("--wait-logs", type=float, default=0.0, metavar="S", help="wait up to S s for a log message")
    ap.add_argument("transport", choices=["stdio", "http"])
    ap.add_argument("url", nargs="?")
    # Pair each --args with the --call that precedes it.
    calls: list[tuple[str, dict[str, Any]]] = []
    rest: list[str] = []
    j = 0
    while j < len(argv):
        a = argv[j]
        if a == "--call" and j + 1 < len(argv):
            calls.append((argv[j + 1], {}))
            j += 2
            continue
        if a == "--args" and j + 1 < len(argv):
            if not calls:
                ap.error("--args must follow a --call")
            try:
                value = json.loads(argv[j + 1])
            except json.JSONDecodeError as e:
                ap.error(f"--args is not JSON: {e}")
            if not isinstance(value, dict):
                ap.error("--args must be a JSON object")
            calls[-1] = (calls[-1][0], value)
            j += 2
            continue
        rest.append(a)
        j += 1
    ns = ap.parse_args(rest)
    ns.pairs = calls
    ns.cmd = cmd
    if ns.transport == "stdio":
        if not cmd:
            ap.error("stdio needs '-- CMD [ARGS...]'")
        if ns.url:
            ap.error("stdio takes no URL")
    elif not ns.url:
        ap.error("http needs a URL")
    return ns


def text_of(result: Any) -> str:
    parts = []
    for c in getattr(result, "content", None) or []:
        if getattr(c, "type", None) == "text":
            parts.append(c.text)
    return "".join(parts)


async def run(ns: argparse.Namespace) -> dict[str, Any]:
    from mcp import Client, types
    from mcp.client.stdio import StdioServerParameters
    from mcp.shared.exceptions import MCPError

    if ns.transport == "stdio":
        server: Any = StdioServerParameters(command=ns.cmd[0], args=ns.cmd[1:])
    else:
        server = ns.url
    out: dict[str, Any] = {"protocol_version": None, "server_name": None, "tools": [], "calls": [],
                           "sampling": [], "elicitation": [], "logs": []}
    got_log = anyio.Event()

    async def on_sampling(_context: Any, params: Any) -> Any:
        asked = [getattr(m.content, "text", "") for m in params.messages]
        out["sampling"].append(" ".join(t for t in asked if t))
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=f"answer from {ns.answer}"), model="test-model"
        )

    async def on_elicitation(_context: Any, params: Any) -> Any:
        out["elicitation"].append(getattr(params, "message", ""))
        return types.ElicitResult(action="decline")

    async def on_log(params: Any) -> None:
        out["logs"].append(params.data)
        got_log.set()

    options: dict[str, Any] = {"logging_callback": on_log}
    if ns.answer:
        options.update(sampling_callback=on_sampling, elicitation_callback=on_elicitation)
    if ns.log_level:
        options["log_level"] = ns.log_level
    with anyio.fail_after(ns.timeout):
        async with Client(server, mode=ns.mode, read_timeout_seconds=ns.timeout, **options) as client:
            out["protocol_version"] = client.protocol_version
            info = client.server_info
            out["server_name"] = info.name if info is not None else None
            if ns.log_level and not str(client.protocol_version or "") >= "2026-07-28":
                await client.set_logging_level(ns.log_level)
            cursor = None
            for _ in range(100):
                page = await client.list_tools(cursor=cursor)
                out["tools"].extend(t.name for t in page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
            for name, args in ns.pairs:
                progress: list[float] = []

                async def on_progress(value: float, _total: float | None, _message: str | None) -> None:
                    progress.append(value)

                try:
                    r = await client.call_tool(name, args, progress_callback=on_progress)
                except MCPError as e:  # a JSON-RPC error answer (e.g. unknown tool) is a result, not a failure
                    out["calls"].append({"name": name, "is_error": True, "text": e.error.message,
                                         "error_code": e.error.code, "progress": progress})
                    continue
                out["calls"].append({"name": name, "is_error": bool(r.is_error), "text": text_of(r), "progress": progress})
            if ns.wait_logs > 0:
                with anyio.move_on_after(ns.wait_logs):
                    await got_log.wait()
    return out


def describe(e: BaseException) -> str:
    # Unwrap exception groups from anyio task groups so the real cause is printed.
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(describe(x) for x in e.exceptions)
    if isinstance(e, TimeoutError):
        return f"TimeoutError: no complete answer within the timeout ({e})" if str(e) else "TimeoutError: no complete answer within the timeout"
    code = getattr(getattr(e, "error", None), "code", None)
    return f"{type(e).__name__}{f' [{code}]' if code is not None else ''}: {e}"


def main() -> int:
    ns = parse(sys.argv[1:])
    try:
        out = anyio.run(run, ns)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 - report anything, including exception groups
        print(f"mcp_client.py: {describe(e)}", file=sys.stderr)
        return 1
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
