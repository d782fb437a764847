//! The stdio front: MCP over stdin/stdout for desktop clients (Claude Desktop, Cursor).
//!
//! Each line from the client is checked first ([`crate::jsonrpc::check_message`]): a line that is not
//! a JSON-RPC message is answered with a JSON-RPC error and never reaches rmcp, and an oversized line
//! is discarded without being buffered whole. A valid message then passes the admission stages with
//! the local identity, as an HTTP request does: a stage that answers it gets the matching JSON-RPC
//! error back to the client. Admitted lines go to the rmcp server through an in-memory pipe; the
//! handler takes their exchange over by request id. One writer task owns stdout, so error lines and
//! rmcp's output never interleave.

use std::sync::Arc;

use rmcp::ServiceExt;
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use http::StatusCode;

use crate::error::{ProxyError, Refusal};
use crate::exchange::{Exchange, Outcome, Transport};
use crate::gateway::Gateway;
use crate::gateway::handoff::{Admitted, MAX_PENDING_STDIO, StdioHandoffs, request_id};
use crate::jsonrpc::check_message;
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
    let shared = gateway.shared().clone();
    let handoffs = Arc::new(StdioHandoffs::default());
    let gateway = gateway.with_stdio_handoffs(handoffs.clone());

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
        let answer = match read_bounded_line(&mut input, &mut line, max_message_bytes).await? {
            Line::Eof => break,
            Line::TooLong => Some(
                ProxyError::TooLarge {
                    limit: max_message_bytes,
                }
                .jsonrpc_body(&Value::Null),
            ),
            Line::Complete => {
                let trimmed = line.trim_ascii();
                if trimmed.is_empty() {
                    continue;
                }
                match check_message(trimmed) {
                    Err(bad) => {
                        tracing::debug!(code = bad.error.code(), reason = %bad.error, "rejected stdio message");
                        Some(bad.to_json())
                    }
                    Ok(head) => {
                        let snap = shared.snapshot.load_full();
                        let mut ex = Exchange::new(Transport::Stdio, head.method);
                        ex.target = head.target;
                        let id = head.id.unwrap_or(Value::Null);
                        match snap.pipeline.admit(&mut ex).await {
                            Err(error) => {
                                snap.pipeline.finish(&mut ex).await;
                                Some(error.jsonrpc_body(&id))
                            }
                            Ok(()) => match hand_off(&handoffs, &id, Admitted { ex, snap }) {
                                Handed::Full(mut left) => {
                                    let error = ProxyError::Refused(Refusal::new(
                                        StatusCode::SERVICE_UNAVAILABLE,
                                        format!("more than {MAX_PENDING_STDIO} requests in flight"),
                                    ));
                                    left.ex.answered(Outcome::Failed {
                                        code: error.code(),
                                        message: error.to_string(),
                                    });
                                    left.snap.pipeline.finish(&mut left.ex).await;
                                    Some(error.jsonrpc_body(&id))
                                }
                                handed => {
                                    // Handed over before rmcp can see the line, so the handler finds it.
                                    to_rmcp.write_all(trimmed).await?;
                                    to_rmcp.write_all(b"\n").await?;
                                    if let Handed::Front(mut left) = handed {
                                        // Not the handler's: rmcp answers it itself.
                                        left.ex.answered(Outcome::Ok);
                                        left.snap.pipeline.finish(&mut left.ex).await;
                                    }
                                    None
                                }
                            },
                        }
                    }
                }
            }
        };
        if let Some(answer) = answer {
            let _ = lines_tx.send(answer).await;
        }
    }
    // The client closed stdin: let rmcp see EOF, finish, and flush what it still has to say.
    to_rmcp.shutdown().await.ok();
    drop(to_rmcp);
    let _ = server.await;
    drop(lines_tx);
    let _ = writer.await;
    for mut left in handoffs.drain() {
        left.ex.answered(Outcome::Failed {
            code: crate::error::code::INTERNAL_ERROR,
            message: "the client closed the connection first".into(),
        });
        left.snap.pipeline.finish(&mut left.ex).await;
    }
    Ok(())
}

/// Where an admitted stdio request goes.
enum Handed<S> {
    /// Waiting for the handler, which finishes it.
    Handler,
    /// rmcp answers it itself (initialize, ping, notifications): the front finishes it.
    Front(Admitted<S>),
    /// Too many requests wait already: refused.
    Full(Admitted<S>),
}

/// Keeps a request the handler serves for it; gives back what the front must finish itself.
fn hand_off<S>(handoffs: &StdioHandoffs<S>, id: &Value, admitted: Admitted<S>) -> Handed<S> {
    if !admitted.ex.method.handled_by_router() {
        return Handed::Front(admitted);
    }
    match request_id(id) {
        Some(id) => match handoffs.insert(id, admitted) {
            None => Handed::Handler,
            Some(admitted) => Handed::Full(admitted),
        },
        None => Handed::Front(admitted),
    }
}

pub enum Line {
    Complete,
    TooLong,
    Eof,
}

/// Reads one `\n`-terminated line into `buf`, never holding more than `limit` bytes of it.
pub async fn read_bounded_line<R: AsyncBufRead + Unpin>(
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
#[cfg(test)]
mod tests;
