//! The config commands as a user runs them: init-config, check-config, and serve's config errors.

use std::process::Command;

fn ucp(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ucp"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run ucp");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn init_config_writes_a_template_that_check_config_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ucp.yaml");
    let path = path.to_str().unwrap();
    let (code, out, err) = ucp(&["init-config", "-o", path], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = ucp(&["check-config", "-c", path], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok:"), "{out}");
    // A second init does not overwrite.
    let (code, _, err) = ucp(&["init-config", "-o", path], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("exists"), "{err}");
}

#[test]
fn every_config_problem_is_reported_with_its_yaml_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "server:\n  transport: http\n  prot: 1\ndownstream_servers:\n  - name: a\n    command: \"\"\n  - name: b\n    transport: http\n  - name: a\n    command: x\n",
    )
    .unwrap();
    let (code, out, err) = ucp(&["check-config", "-c", path.to_str().unwrap()], &[]);
    assert_eq!(code, 1, "{out}{err}");
    for expected in [
        "server.prot",
        "downstream_servers[0].command",
        "downstream_servers[1].url",
        "duplicate name \"a\" (also downstream_servers[2])",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
}

#[test]
fn a_missing_variable_is_named_and_dotenv_fills_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ucp.yaml");
    std::fs::write(
        &path,
        "downstream_servers:\n  - name: gh\n    command: npx\n    env:\n      TOKEN: \"${UCP_TEST_SECRET_TOKEN}\"\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let (code, _, err) = ucp(&["check-config", "-c", p], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("UCP_TEST_SECRET_TOKEN"), "{err}");
    let (code, _, err) = ucp(&["serve", "-c", p], &[]);
    assert_eq!(code, 2, "serve refuses too: {err}");
    assert!(err.contains("UCP_TEST_SECRET_TOKEN"), "{err}");
    std::fs::write(dir.path().join(".env"), "UCP_TEST_SECRET_TOKEN=abc\n").unwrap();
    let (code, out, err) = ucp(&["check-config", "-c", p], &[]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn the_seed_production_template_parses_and_names_what_is_not_supported() {
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/seed/production_config.yaml"
    ))
    .expect("tests/fixtures/seed/production_config.yaml");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.yaml");
    std::fs::write(&path, yaml).unwrap();
    let env = [
        ("GITHUB_TOKEN", "x"),
        ("SLACK_TOKEN", "y"),
        ("SLACK_APP_TOKEN", "z"),
    ];
    let (code, out, err) = ucp(&["check-config", "-c", path.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{out}{err}");
    for key in ["tool_zoo.chromadb_server", "tool_zoo.cache_dir"] {
        assert!(out.contains(key), "`{key}` not reported in:\n{out}");
    }
    // serve terminates TLS now; without the seed's certificate it stops before listening rather
    // than quietly serving plain HTTP.
    let (code, _, err) = ucp(&["serve", "-c", path.to_str().unwrap()], &env);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("server.ssl.cert_path: /etc/ucp/ssl/cert.pem: cannot read"),
        "{err}"
    );
}
