//! A stdio server's stderr, read into the gateway's log one bounded line at a time: a server that
//! writes megabytes without a newline costs at most one line's buffer, not its whole output.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The longest stderr line kept; the rest of a longer line is dropped up to its newline.
pub const MAX_LINE: usize = 8 * 1024;

/// Logs each line of `stderr` at debug under `server` until it closes.
pub async fn relay(server: std::sync::Arc<str>, stderr: impl AsyncRead + Unpin) {
    read_lines(stderr, MAX_LINE, |line, truncated| {
        tracing::debug!(server = %server, stderr = %line, truncated, "downstream stderr");
    })
    .await;
}

/// Calls `each(line, truncated)` for every line of `input`, each at most `max` bytes.
pub async fn read_lines(
    mut input: impl AsyncRead + Unpin,
    max: usize,
    mut each: impl FnMut(&str, bool),
) {
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut truncated = false;
    let mut chunk = [0u8; 4096];
    loop {
        let n = match input.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &chunk[..n] {
            if byte == b'\n' {
                each(
                    String::from_utf8_lossy(&line).trim_end_matches('\r'),
                    truncated,
                );
                line.clear();
                truncated = false;
            } else if line.len() < max {
                line.push(byte);
            } else {
                truncated = true;
            }
        }
    }
    if !line.is_empty() {
        each(&String::from_utf8_lossy(&line), truncated);
    }
}

#[cfg(test)]
mod tests;
