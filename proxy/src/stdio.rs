//! The stdio front: MCP over stdin/stdout for desktop clients (Claude Desktop, Cursor).
//!
//! Each line from the client is checked first ([`crate::jsonrpc::check_message`]): a line that is not
//! a JSON-RPC message is answered with a JSON-RPC error and never reaches rmcp, and an oversized line
//! is discarded without being buffered whole. Valid lines go to the rmcp server through an in-memory
//! pipe. One writer task owns stdout, so error lines and rmcp's output never interleave.

use rmcp::ServiceExt;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::gateway::Gateway;
use crate::jsonrpc::{Rejection, check_message};
use crate::pipeline::Stage;

/// Serves one client on `input`/`output` until the client closes its input.
pub async fn serve<S, R, W>(
    gateway: Gateway<S>,
    input: R,
    output: W,
    max_message_bytes: usize,
) -> std::io::Result<()>
where
    S: Stage,
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (client_side, server_side) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_side);
    let (from_rmcp, mut to_rmcp) = tokio::io::split(client_side);
    let (lines_tx, lines_rx) = mpsc::channel::<Vec<u8>>(64);

    let server = tokio::spawn(async move {
        match gateway.serve((server_read, server_write)).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => tracing::warn!(error = %e, "stdio client session ended before initialize"),
        }
    });
    let writer = tokio::spawn(write_out(BufReader::new(from_rmcp), lines_rx, output));

    let mut input = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        match read_bounded_line(&mut input, &mut line, max_message_bytes).await? {
            Line::Eof => break,
            Line::TooLong => {
                let _ = lines_tx
                    .send(Rejection::too_large(max_message_bytes).to_json())
                    .await;
            }
            Line::Complete => {
                let trimmed = line.trim_ascii();
                if trimmed.is_empty() {
                    continue;
                }
                match check_message(trimmed) {
                    Ok(()) => {
                        to_rmcp.write_all(trimmed).await?;
                        to_rmcp.write_all(b"\n").await?;
                    }
                    Err(rejection) => {
                        tracing::debug!(code = rejection.code, reason = %rejection.message, "rejected stdio message");
                        let _ = lines_tx.send(rejection.to_json()).await;
                    }
                }
            }
        }
    }
    // The client closed stdin: let rmcp see EOF, finish, and flush what it still has to say.
    to_rmcp.shutdown().await.ok();
    drop(to_rmcp);
    let _ = server.await;
    drop(lines_tx);
    let _ = writer.await;
    Ok(())
}

enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads one `\n`-terminated line into `buf`, never holding more than `limit` bytes of it.
async fn read_bounded_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(if too_long {
                Line::TooLong
            } else if buf.is_empty() {
                Line::Eof
            } else {
                Line::Complete
            });
        }
        let newline = chunk.iter().position(|&b| b == b'\n');
        let part = &chunk[..newline.unwrap_or(chunk.len())];
        let used = part.len() + usize::from(newline.is_some());
        if !too_long {
            if buf.len() + part.len() > limit {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(part);
            }
        }
        reader.consume(used);
        if newline.is_some() {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}

/// Owns the output: forwards rmcp's lines and the gateway's own error lines, one whole line at a time.
async fn write_out<R, W>(mut from_rmcp: R, mut errors: mpsc::Receiver<Vec<u8>>, mut output: W)
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = Vec::new();
    let mut rmcp_open = true;
    let mut errors_open = true;
    while rmcp_open || errors_open {
        tokio::select! {
            read = from_rmcp.read_until(b'\n', &mut line), if rmcp_open => {
                match read {
                    Ok(0) | Err(_) => rmcp_open = false,
                    Ok(_) => {
                        if output.write_all(&line).await.is_err() { return; }
                        line.clear();
                        if output.flush().await.is_err() { return; }
                    }
                }
            }
            error = errors.recv(), if errors_open => {
                match error {
                    None => errors_open = false,
                    Some(mut bytes) => {
                        bytes.push(b'\n');
                        if output.write_all(&bytes).await.is_err() { return; }
                        if output.flush().await.is_err() { return; }
                    }
                }
            }
        }
    }
}
