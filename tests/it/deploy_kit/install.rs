//! `scripts/install.sh`: a stripped binary that runs, and the deploy kit with it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::service::{SYSTEMD_SETUP, UNIT_BINARY};
use super::*;

#[test]
fn install_sh_installs_a_stripped_binary_that_runs_and_the_kit_with_it() {
    let script = repo_file("scripts/install.sh");
    let built = PathBuf::from(env!("CARGO_BIN_EXE_ucp"));
    let prefix = tempfile::tempdir().unwrap();

    // The unit runs the binary where install.sh puts it by default.
    let help = success(Command::new("bash").args([&script, "--help"]), "bash");
    assert!(help.contains("default /usr/local"), "{help}");
    assert!(read_kit("ucp.service").contains(&format!("ExecStart={UNIT_BINARY} ")));

    // `--bin`: the binary this suite runs. Building here instead (`cargo build --release --bin
    // ucp`) would relink target/release/ucp without the dev-dependencies' features, under the
    // tests running it (see ops/deploy/README.md).
    let started = Instant::now();
    let out = success(
        Command::new("bash")
            .arg(&script)
            .arg("--prefix")
            .arg(prefix.path())
            .arg("--bin")
            .arg(&built)
            .arg("--with-kit"),
        "bash",
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let installed = prefix.path().join("bin/ucp");
    assert!(out.contains("stripped"), "{out}");

    let version = success(
        Command::new(&installed).arg("--version"),
        "the installed ucp",
    );
    assert_eq!(version.trim(), format!("ucp {}", env!("CARGO_PKG_VERSION")));
    success(
        Command::new(&installed).args(["serve", "--help"]),
        "the installed ucp",
    );
    let size = |p: &Path| fs::metadata(p).unwrap().len();
    let (built_size, installed_size) = (size(&built), size(&installed));
    assert!(
        installed_size * 4 < built_size,
        "installed {installed_size} bytes vs built {built_size}: not stripped"
    );
    let sections = success(
        Command::new("readelf").arg("-S").arg(&installed),
        "readelf comes with binutils",
    );
    for section in [".symtab", ".debug_line"] {
        assert!(
            !sections.contains(section),
            "{section} left in the installed binary"
        );
    }

    // The kit: every file of ops/deploy, the unit naming the installed binary, which systemd
    // then accepts as it is.
    let kit = prefix.path().join("share/ucp/deploy");
    for entry in fs::read_dir(kit_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let copy = fs::read_to_string(kit.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "ucp.service" {
            let here = installed.display().to_string();
            assert_eq!(
                copy,
                read_kit(&name).replace(&format!("{UNIT_BINARY} "), &format!("{here} "))
            );
        } else {
            assert_eq!(copy, read_kit(&name), "{name}");
        }
    }
    let out = run(
        Command::new("systemd-analyze")
            .arg("verify")
            .arg(kit.join("ucp.service")),
        SYSTEMD_SETUP,
    );
    assert!(
        out.status.success() && output_text(&out).trim().is_empty(),
        "{}",
        output_text(&out)
    );
}
