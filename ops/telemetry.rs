//! Logging setup: level, text or JSON (the seed's record: `timestamp`, `level`, `component`,
//! `message`, `context`), to stderr, stdout and/or files that SIGHUP reopens (logrotate). Never
//! stdout in stdio mode, where stdout belongs to the MCP protocol.
//!
//! Every record, the dependencies' included, passes one writer on its way out: with
//! `server.sanitize_logs` it redacts secrets there (the shapes of `ucp_filters::redact` and the
//! literal secret values of the config), and text records escape control characters, so a value
//! with a newline in it (a tool name, an error message) cannot forge a log line.

mod record;

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwapOption;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};
use ucp_config::{Config, DownstreamTransport, LogFormat, LogLevel, LogOutput};
use ucp_filters::Redactor;

/// The open log files, for SIGHUP to reopen after logrotate moved them.
#[derive(Default)]
pub struct LogFiles(Vec<Arc<ReopenFile>>);

impl LogFiles {
    /// Reopens every `file:` output at its path; says which one failed (the old one stays open).
    pub fn reopen(&self) -> Result<usize, String> {
        for file in &self.0 {
            file.reopen()?;
        }
        Ok(self.0.len())
    }
}

/// The logging a reload can change: the files (reopened), the level, the redacted values.
pub struct Logging {
    pub files: LogFiles,
    level: reload::Handle<EnvFilter, Registry>,
    /// RUST_LOG was set: it keeps deciding the level.
    level_from_env: bool,
    redactor: Arc<ArcSwapOption<Redactor>>,
    /// Every literal secret any config loaded so far held: a value a reload removed may still be
    /// in flight (a stopping server's output), so it stays redacted.
    secrets: parking_lot::Mutex<BTreeSet<String>>,
}

impl Logging {
    /// Applies `config`'s `log_level` (unless RUST_LOG decides) and `sanitize_logs`, and redacts
    /// its secret values from now on.
    pub fn reconfigure(&self, config: &Config) -> Result<(), String> {
        if !self.level_from_env {
            self.level
                .reload(EnvFilter::new(directives(config.server.log_level)))
                .map_err(|e| format!("server.log_level: {e}"))?;
        }
        let mut secrets = self.secrets.lock();
        secrets.extend(secret_values(config));
        self.redactor.store(
            config
                .server
                .sanitize_logs
                .then(|| Arc::new(Redactor::new(secrets.iter()))),
        );
        Ok(())
    }

    /// `text` as a log line shows it: with `sanitize_logs`, secret shapes and the configs' secret
    /// values redacted (the operator page shows reload errors through it).
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        match &*self.redactor.load() {
            Some(redactor) => redactor.redact(text),
            None => std::borrow::Cow::Borrowed(text),
        }
    }
}

/// The filter for `level`. Below debug, rmcp only speaks up for warnings: at info it logs each
/// peer's whole `initialize` exchange, kilobytes per line.
fn directives(level: LogLevel) -> String {
    let name = match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warning => "warn",
        LogLevel::Error => "error",
    };
    if level == LogLevel::Info {
        format!("{name},rmcp=warn")
    } else {
        name.to_string()
    }
}

pub fn init(config: &Config, stdio: bool) -> Result<Logging, String> {
    let server = &config.server;
    // RUST_LOG, when set, wins (for debugging one module).
    let from_env = EnvFilter::try_from_default_env().ok();
    let level_from_env = from_env.is_some();
    let filter = from_env.unwrap_or_else(|| EnvFilter::new(directives(server.log_level)));
    let (filter, level) = reload::Layer::new(filter);
    let mut writer: Option<BoxMakeWriter> = None;
    let mut files = LogFiles::default();
    for output in &server.log_output {
        let next = match output {
            LogOutput::Stdout if stdio => BoxMakeWriter::new(std::io::stderr),
            LogOutput::Stdout => BoxMakeWriter::new(std::io::stdout),
            LogOutput::Stderr => BoxMakeWriter::new(std::io::stderr),
            LogOutput::File(path) => {
                let file = Arc::new(ReopenFile::open(path.clone())?);
                files.0.push(file.clone());
                BoxMakeWriter::new(FileOutput(file))
            }
        };
        writer = Some(match writer {
            None => next,
            Some(w) => BoxMakeWriter::new(w.and(next)),
        });
    }
    let writer = writer.unwrap_or_else(|| BoxMakeWriter::new(std::io::stderr));
    let secrets: BTreeSet<String> = secret_values(config).into_iter().collect();
    let redactor = Arc::new(ArcSwapOption::new(
        server
            .sanitize_logs
            .then(|| Arc::new(Redactor::new(secrets.iter()))),
    ));
    let sanitizing = |escape| Sanitizing {
        inner: writer,
        redactor: redactor.clone(),
        escape,
    };
    let registry = tracing_subscriber::registry().with(filter);
    let result = match server.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(record::SeedJson)
                    .with_writer(sanitizing(false)),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(sanitizing(true)),
            )
            .try_init(),
    };
    result.map_err(|e| format!("cannot initialise logging: {e}"))?;
    Ok(Logging {
        files,
        level,
        level_from_env,
        redactor,
        secrets: parking_lot::Mutex::new(secrets),
    })
}

/// The config's secret values that have no recognisable shape: downstream `env` and `headers`
/// values (and a header's token without its scheme), the JWT secret, the Redis password.
fn secret_values(config: &Config) -> Vec<String> {
    let mut values = Vec::new();
    for server in &config.downstream_servers {
        match &server.transport {
            DownstreamTransport::Stdio { env, .. } => values.extend(env.values().cloned()),
            DownstreamTransport::Http { headers, .. } => {
                for value in headers.values() {
                    values.push(value.clone());
                    if let Some((_, token)) = value.split_once(' ') {
                        values.push(token.trim().to_string());
                    }
                }
            }
        }
    }
    values.extend(config.server.auth.secret.clone());
    values.extend(config.session.redis.password.clone());
    values
}

/// A log file that can be reopened at its path.
pub struct ReopenFile {
    path: PathBuf,
    file: RwLock<Arc<File>>,
}

impl ReopenFile {
    fn open(path: PathBuf) -> Result<ReopenFile, String> {
        let file = Self::open_file(&path)?;
        Ok(ReopenFile {
            path,
            file: RwLock::new(Arc::new(file)),
        })
    }

    fn open_file(path: &std::path::Path) -> Result<File, String> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("server.log_output: cannot open {}: {e}", path.display()))
    }

    fn reopen(&self) -> Result<(), String> {
        let file = Self::open_file(&self.path)?;
        *self.file.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(file);
        Ok(())
    }
}

/// A `file:` output as the log writer sees it (shared with [`LogFiles`]).
struct FileOutput(Arc<ReopenFile>);

impl<'a> MakeWriter<'a> for FileOutput {
    type Writer = FileWriter;

    fn make_writer(&'a self) -> FileWriter {
        FileWriter(
            self.0
                .file
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// One record's write to the log file current when it started.
pub struct FileWriter(Arc<File>);

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.0).flush()
    }
}

/// The writer factory every record passes: redaction (when on), then escaping (text records).
struct Sanitizing<W> {
    inner: W,
    /// Swapped by a reload (new secret values, `sanitize_logs` turned on or off).
    redactor: Arc<ArcSwapOption<Redactor>>,
    escape: bool,
}

impl<'a, W: MakeWriter<'a>> MakeWriter<'a> for Sanitizing<W> {
    type Writer = SanitizingWriter<W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        SanitizingWriter {
            inner: self.inner.make_writer(),
            redactor: self.redactor.load_full(),
            escape: self.escape,
        }
    }
}

/// The fmt layer writes one whole record (ending in `\n`) per `write_all`.
struct SanitizingWriter<W> {
    inner: W,
    redactor: Option<Arc<Redactor>>,
    escape: bool,
}

impl<W: Write> Write for SanitizingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.redactor.is_none() && !self.escape {
            self.inner.write_all(buf)?;
            return Ok(buf.len());
        }
        let text = String::from_utf8_lossy(buf);
        let redacted = match &self.redactor {
            Some(redactor) => redactor.redact(&text),
            None => std::borrow::Cow::Borrowed(&*text),
        };
        if self.escape {
            self.inner.write_all(&escape_record(redacted.as_bytes()))?;
        } else {
            self.inner.write_all(redacted.as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `record` with its control characters escaped, its final newline kept.
fn escape_record(record: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let body = record.strip_suffix(b"\n").unwrap_or(record);
    if !body.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
        return std::borrow::Cow::Borrowed(record);
    }
    let mut out = Vec::with_capacity(record.len() + 16);
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.push(b),
            c if c.is_ascii_control() => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
            c => out.push(c),
        }
    }
    if body.len() < record.len() {
        out.push(b'\n');
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape_record;

    #[test]
    fn a_newline_inside_a_record_cannot_start_a_new_line() {
        let forged = b"WARN unknown tool 'x\n2026-12-01T00:00:00Z  INFO forged'\n";
        let out = escape_record(forged);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(out.ends_with(b"forged'\n"));
        assert!(String::from_utf8_lossy(&out).contains("'x\\n2026"));
        assert_eq!(&*escape_record(b"plain\tline\n"), b"plain\tline\n");
        assert_eq!(&*escape_record(b"bell\x07\n"), b"bell\\x07\n");
    }
}
