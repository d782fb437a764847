//! Logging setup: level, text or JSON, to stderr and/or files. Never stdout in stdio mode, where
//! stdout belongs to the MCP protocol. Text records escape control characters, so a value with a
//! newline in it (a tool name, an error message) cannot forge a log line; JSON escapes them anyway.

use std::fs::OpenOptions;
use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
use ucp_config::{LogFormat, LogLevel, LogOutput, ServerConfig};

pub fn init(server: &ServerConfig, stdio: bool) -> Result<(), String> {
    let level = match server.log_level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warning => "warn",
        LogLevel::Error => "error",
    };
    // RUST_LOG, when set, wins (for debugging one module). Below debug, rmcp only speaks up for
    // warnings: at info it logs each peer's whole `initialize` exchange, kilobytes per line.
    let quiet_rmcp = server.log_level == LogLevel::Info;
    let directives = if quiet_rmcp {
        format!("{level},rmcp=warn")
    } else {
        level.to_string()
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives));
    let mut writer: Option<BoxMakeWriter> = None;
    for output in &server.log_output {
        let next = match output {
            LogOutput::Stdout if stdio => BoxMakeWriter::new(std::io::stderr),
            LogOutput::Stdout => BoxMakeWriter::new(std::io::stdout),
            LogOutput::Stderr => BoxMakeWriter::new(std::io::stderr),
            LogOutput::File(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        format!("server.log_output: cannot open {}: {e}", path.display())
                    })?;
                BoxMakeWriter::new(std::sync::Arc::new(file))
            }
        };
        writer = Some(match writer {
            None => next,
            Some(w) => BoxMakeWriter::new(w.and(next)),
        });
    }
    let writer = writer.unwrap_or_else(|| BoxMakeWriter::new(std::io::stderr));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match server.log_format {
        LogFormat::Json => builder
            .with_writer(writer)
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder
            .with_ansi(false)
            .with_writer(Escaping(writer))
            .try_init(),
    };
    result.map_err(|e| format!("cannot initialise logging: {e}"))
}

/// A writer factory whose writers escape control characters inside each record.
struct Escaping<W>(W);

impl<'a, W: MakeWriter<'a>> MakeWriter<'a> for Escaping<W> {
    type Writer = EscapingWriter<W::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter(self.0.make_writer())
    }
}

/// The fmt layer writes one whole record (ending in `\n`) per `write_all`; inside it, `\n`, `\r`
/// and other control characters (tab excepted) become visible escapes.
struct EscapingWriter<W>(W);

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(&escape_record(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
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
