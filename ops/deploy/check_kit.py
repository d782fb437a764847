# Why: lists every metric name the deploy kit's alerts and dashboard query, so a test can check them against a live /metrics scrape (a renamed metric silently blinds an alert).
"""List the metric names used by the UCP deploy kit's PromQL.

Reads the `expr:` values of prometheus-alerts.yml and the `targets[].expr` values of
grafana-dashboard.json (both next to this script unless given), extracts every `ucp_*` and
`process_*` identifier with a regex, and prints them sorted and unique, one per line. Only
expressions are read, so names in comments and annotations (the `ucp_alerts` group,
`ucp_config.yaml`) are not picked up. Names are printed as queried: a histogram appears as
its `_bucket` / `_sum` / `_count` series, which is what a scrape shows. Standard library only
(no PyYAML): the alerts file is read line by line (`expr: ...` on one line, or `expr: |` /
`expr: >` followed by a more indented block).

Usage:
    python3 check_kit.py                         # names from both files, one per line
    python3 check_kit.py --families              # histogram series folded to their family name
    python3 check_kit.py --check scrape.txt      # also: exit 1 if a name is absent from a scrape
    curl -s http://127.0.0.1:8765/metrics | python3 check_kit.py --check -
    python3 check_kit.py --alerts PATH --dashboard PATH

With --check, the names are printed as usual, then every name missing from the scrape (a
sample or a `# TYPE` line of the Prometheus text format) is reported on stderr as
`missing: NAME`, and the exit status is 1 if there is any. Exit status 2: a file is unreadable
or the dashboard is not valid JSON. Take the scrape after some traffic: a labelled metric
(`ucp_router_request_duration_seconds{method}`, `ucp_downstream_latency_seconds{server}`...)
has no series at all until its first observation, and `ucp_session_duration_seconds` none
until a session has ended.
"""

import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = re.compile(r"(?<![A-Za-z0-9_:])(?:ucp|process)_[a-z_]+")
HISTOGRAM_SUFFIX = re.compile(r"_(?:bucket|sum|count)$")


def alert_exprs(text):
    """The `expr:` values of a Prometheus rules file, without a YAML parser."""
    exprs = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(?:-\s+)?expr:\s*(.*)$", lines[i])
        i += 1
        if not m:
            continue
        indent, value = len(m.group(1)), m.group(2).strip()
        if value[:1] in ("|", ">"):
            block = []
            while i < len(lines):
                line = lines[i]
                if line.strip() and len(line) - len(line.lstrip()) <= indent:
                    break
                block.append(line.strip())
                i += 1
            exprs.append("\n".join(block))
        else:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            exprs.append(value)
    return exprs


def dashboard_exprs(dashboard):
    """Every `expr` of every panel's targets (rows' nested panels included)."""
    exprs = []

    def walk(panels):
        for panel in panels or []:
            for target in panel.get("targets") or []:
                if isinstance(target.get("expr"), str):
                    exprs.append(target["expr"])
            walk(panel.get("panels"))

    walk(dashboard.get("panels"))
    return exprs


def scrape_names(text):
    """Sample names and `# TYPE` family names of a Prometheus text-format scrape."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 3:
                names.add(parts[2])
        elif line and not line.startswith("#"):
            m = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line)
            if m:
                names.add(m.group(0))
    return names


def read(path):
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        print(f"check_kit: {e}", file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", default=os.path.join(HERE, "prometheus-alerts.yml"))
    parser.add_argument("--dashboard", default=os.path.join(HERE, "grafana-dashboard.json"))
    parser.add_argument("--families", action="store_true",
                        help="fold NAME_bucket / NAME_sum / NAME_count into NAME")
    parser.add_argument("--check", metavar="SCRAPE",
                        help="a /metrics scrape (a file, or - for stdin) every name must appear in")
    args = parser.parse_args(argv)

    exprs = alert_exprs(read(args.alerts))
    try:
        exprs += dashboard_exprs(json.loads(read(args.dashboard)))
    except json.JSONDecodeError as e:
        print(f"check_kit: {args.dashboard}: {e}", file=sys.stderr)
        return 2

    names = {n for e in exprs for n in NAME.findall(e)}
    if args.families:
        names = {HISTOGRAM_SUFFIX.sub("", n) for n in names}
    for name in sorted(names):
        print(name)

    if args.check:
        scraped = scrape_names(read(args.check))
        missing = sorted(n for n in names if n not in scraped)
        for name in missing:
            print(f"missing: {name}", file=sys.stderr)
        return 1 if missing else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
