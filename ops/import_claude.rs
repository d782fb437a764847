//! `ucp import-claude-config`: a Claude Desktop or Claude Code server list turned into a UCP config
//! that passes `ucp check-config`, with secrets left out of it for a `.env` beside it.

mod convert;
mod secrets;
mod yaml;

use std::path::Path;
use std::process::ExitCode;

/// What the self-check puts in for every `${VAR}`: a text every string key accepts, URLs included.
const PLACEHOLDER: &str = "http://placeholder.invalid";

pub fn main(file: &Path, output: Option<&Path>, force: bool) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return fail(&format!("{}: cannot read: {e}", file.display())),
    };
    let imported = match convert::import(&text) {
        Ok(imported) => imported,
        Err(errors) => {
            return fail(&format!(
                "{}: cannot import\n{}",
                file.display(),
                errors.join("\n")
            ));
        }
    };
    let source = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let text = yaml::write(&source, &imported.entries);
    // Our own output must load: a failure here is a bug in this import, not in the user's file.
    if let Err(errors) = ucp_config::parse(&text, &|_| Some(PLACEHOLDER.to_string())) {
        return fail(&format!(
            "the converted config does not validate (please report):\n{errors}"
        ));
    }
    for note in &imported.notes {
        eprintln!("note: {note}");
    }
    match output {
        None => print!("{text}"),
        Some(out) => {
            if out.exists() && !force {
                return fail(&format!(
                    "{} exists (use --force to overwrite)",
                    out.display()
                ));
            }
            if let Err(e) = std::fs::write(out, &text) {
                return fail(&format!("cannot write {}: {e}", out.display()));
            }
            eprintln!("wrote {}", out.display());
        }
    }
    let servers = imported.entries.iter().filter(|e| !e.legacy_sse).count();
    eprintln!("{servers} server(s) imported from {}", file.display());
    print_variables(&imported.variables, output);
    let config = output.map_or("FILE".to_string(), |o| o.display().to_string());
    eprintln!("check it with: ucp check-config -c {config}");
    ExitCode::SUCCESS
}

/// The `.env` lines the config needs, without values: those are secrets, and they are where the
/// note says.
fn print_variables(variables: &[convert::Variable], output: Option<&Path>) {
    if variables.is_empty() {
        return;
    }
    let env_file = match output {
        Some(out) => {
            let dir = out.parent().filter(|d| !d.as_os_str().is_empty());
            dir.unwrap_or(Path::new("."))
                .join(".env")
                .display()
                .to_string()
        }
        None => ".env beside the config".to_string(),
    };
    eprintln!(
        "the config references these variables; put them in {env_file} (the gateway reads it) \
         or in the gateway's environment:"
    );
    let width = variables.iter().map(|v| v.name.len()).max().unwrap_or(0) + 1;
    for v in variables {
        let what = match (&v.from, v.commented) {
            (Some(at), _) => format!("the value of {at}"),
            (None, _) => "already a reference in the imported file".to_string(),
        };
        let commented = if v.commented {
            "; only a commented-out entry uses it"
        } else {
            ""
        };
        eprintln!("  {:<width$} # {what}{commented}", format!("{}=", v.name));
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}
