//! A stdio server as a transport whose stdout is read one bounded line at a time, so a message
//! over `max_result_bytes` fails its call at once.
//!
//! rmcp's child-process transport drops a line over its 16 MiB cap and logs it, and the call it
//! answered waits out the server's timeout. Here `receive` reads the child's stdout itself: a line
//! within the limit is parsed as rmcp would; a longer one is discarded as it arrives (never held
//! whole) and becomes a JSON-RPC error for the id its first bytes name. Sending goes through
//! rmcp's own writer. The child is killed when the transport drops; `close` lets it exit first,
//! as rmcp's does.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// How much of an oversized line is kept to find its id.
const HEAD: usize = 4096;
/// How long `close` waits for the child to exit on its own before killing it.
const EXIT_WAIT: Duration = Duration::from_secs(3);

pub(super) struct StdioChild {
    child: Child,
    lines: LineReader<ChildStdout>,
    server: Arc<str>,
    /// rmcp's writer for the child's stdin (its read side is never used).
    writer: AsyncRwTransport<RoleClient, tokio::io::Empty, ChildStdin>,
}

impl StdioChild {
    /// Takes over a child spawned with piped stdin and stdout (and `kill_on_drop`).
    pub(super) fn new(mut child: Child, limit: usize, server: Arc<str>) -> std::io::Result<Self> {
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("the child's stdin is not piped"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("the child's stdout is not piped"))?;
        Ok(StdioChild {
            child,
            lines: LineReader::new(stdout, limit),
            server,
            writer: AsyncRwTransport::new(tokio::io::empty(), stdin),
        })
    }
}

impl Transport<RoleClient> for StdioChild {
    type Error = std::io::Error;

    fn name() -> Cow<'static, str> {
        "stdio-child".into()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.writer.send(item)
    }

    /// Cancel-safe (rmcp polls it inside a `select!`): a partial line stays in the reader.
    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let read = self.lines.next().await.ok()??;
            let message = match read {
                Read::Whole => parse(&self.lines.line),
                Read::Oversized => {
                    let (len, limit) = (self.lines.len, self.lines.limit);
                    tracing::warn!(
                        server = &*self.server,
                        bytes = len,
                        limit,
                        "a message over its max_result_bytes was discarded"
                    );
                    oversized_error(&self.lines.line, len, limit, &self.server)
                }
            };
            self.lines.reset();
            if let Some(message) = message {
                return Some(message);
            }
        }
    }

    /// The MCP stdio shutdown: close its stdin, give it a moment to exit, then kill it.
    async fn close(&mut self) -> Result<(), Self::Error> {
        let _ = self.writer.close().await;
        if tokio::time::timeout(EXIT_WAIT, self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        Ok(())
    }
}

/// A line-at-a-time reader that holds at most `limit` bytes of a line (the first [`HEAD`] of a
/// longer one). Its state lives in the struct, so a cancelled `next` resumes the same line.
struct LineReader<R> {
    reader: BufReader<R>,
    limit: usize,
    /// The line so far (with its newline once whole), or the head of an oversized one.
    line: Vec<u8>,
    /// The line's length so far, kept or not.
    len: usize,
    over: bool,
}

enum Read {
    Whole,
    Oversized,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(reader: R, limit: usize) -> Self {
        LineReader {
            reader: BufReader::with_capacity(64 * 1024, reader),
            limit,
            line: Vec::new(),
            len: 0,
            over: false,
        }
    }

    /// The next line is complete in `self.line`; `None` at the end of the stream.
    async fn next(&mut self) -> std::io::Result<Option<Read>> {
        loop {
            let buf = self.reader.fill_buf().await?;
            if buf.is_empty() {
                return Ok(None);
            }
            let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..=i], true),
                None => (buf, false),
            };
            let taken = chunk.len();
            self.len += taken;
            if !self.over && self.len > self.limit {
                self.over = true;
                self.line.truncate(HEAD);
            }
            if self.over {
                let room = HEAD.saturating_sub(self.line.len());
                self.line.extend_from_slice(&chunk[..room.min(taken)]);
            } else {
                self.line.extend_from_slice(chunk);
            }
            self.reader.consume(taken);
            if done {
                return Ok(Some(if self.over {
                    Read::Oversized
                } else {
                    Read::Whole
                }));
            }
        }
    }

    fn reset(&mut self) {
        self.line.clear();
        self.len = 0;
        self.over = false;
    }
}

/// One message as rmcp's stdio transport parses it; a line that is none is logged and skipped.
fn parse(line: &[u8]) -> Option<RxJsonRpcMessage<RoleClient>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Some(message) = super::fast_parse::call_tool_response(line) {
        return Some(message);
    }
    match serde_json::from_slice(line) {
        Ok(message) => Some(message),
        Err(error) => {
            tracing::debug!(%error, "a line from the server that is no JSON-RPC message was skipped");
            None
        }
    }
}

/// The error that answers the request an oversized message was for, if its head names one (a
/// notification or a request from the server has no id of ours to fail).
fn oversized_error(
    head: &[u8],
    len: usize,
    limit: usize,
    server: &str,
) -> Option<RxJsonRpcMessage<RoleClient>> {
    let id = first_id(head)?;
    let error = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": -32603,
            "message": format!(
                "the server's answer is {len} bytes, over the gateway's limit of {limit} (downstream_servers[].max_result_bytes)"
            ),
            "data": {"server": server, "limit": limit, "bytes": len},
        },
    });
    serde_json::from_value(error).ok()
}

/// The value of the first `"id"` key in the head of a JSON-RPC message (a number or a string).
/// Serializers put the envelope's `id` before the `result`, so the first one is the envelope's.
fn first_id(head: &[u8]) -> Option<Value> {
    let text = String::from_utf8_lossy(head);
    let mut rest = &text[..];
    while let Some(at) = rest.find("\"id\"") {
        let after = rest[at + 4..].trim_start();
        rest = &rest[at + 4..];
        let Some(value) = after.strip_prefix(':') else {
            continue;
        };
        // One value, whatever follows it (`12, "result": ...`).
        let mut value = serde_json::Deserializer::from_str(value);
        if let Ok(id @ (Value::Number(_) | Value::String(_))) = Value::deserialize(&mut value) {
            return Some(id);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_within_the_limit_pass_and_longer_ones_keep_only_their_head() {
        let big = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"{}\"}}\n",
            "x".repeat(100_000)
        );
        let input = format!("{{\"a\":1}}\n{big}{{\"b\":2}}\n");
        let mut lines = LineReader::new(input.as_bytes(), 1000);
        assert!(matches!(lines.next().await.unwrap(), Some(Read::Whole)));
        assert_eq!(lines.line, b"{\"a\":1}\n");
        lines.reset();
        assert!(matches!(lines.next().await.unwrap(), Some(Read::Oversized)));
        assert_eq!(lines.len, big.len());
        assert!(lines.line.len() <= HEAD);
        assert_eq!(first_id(&lines.line), Some(json!(7)));
        lines.reset();
        assert!(matches!(lines.next().await.unwrap(), Some(Read::Whole)));
        assert_eq!(lines.line, b"{\"b\":2}\n");
        lines.reset();
        assert!(lines.next().await.unwrap().is_none());
    }

    #[test]
    fn the_envelope_id_is_found_in_a_head() {
        assert_eq!(
            first_id(br#"{"jsonrpc":"2.0","id":"abc","result":{"#),
            Some(json!("abc"))
        );
        assert_eq!(
            first_id(br#"{"jsonrpc": "2.0", "id" : 12, "result""#),
            Some(json!(12))
        );
        assert_eq!(
            first_id(br#"{"jsonrpc":"2.0","method":"notifications/message""#),
            None
        );
        let error = oversized_error(br#"{"id":3,"result":"#, 20_000_000, 1000, "big").unwrap();
        let error = serde_json::to_value(&error).unwrap();
        assert_eq!(error["id"], 3);
        assert_eq!(error["error"]["code"], -32603);
        assert_eq!(error["error"]["data"]["server"], "big");
    }

    #[test]
    fn lines_parse_as_rmcp_parses_them() {
        assert!(parse(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\r\n").is_some());
        assert!(parse(b"not json\n").is_none());
        assert!(parse(b"\n").is_none());
    }
}
