//! A stdio server as a transport whose stdout is read one bounded line at a time, so a message
//! over `server.max_result_bytes` fails its call at once.
//!
//! rmcp's child-process transport drops a line over its 16 MiB cap and logs it, and the call it
//! answered waits out the server's timeout. Here a relay task reads the child's stdout: a line
//! within the limit passes as it is; a longer one is discarded as it arrives (never buffered
//! whole) and replaced by a JSON-RPC error for the id its first bytes name. The child is killed
//! when the transport drops; `close` lets it exit first, as rmcp's does.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader, DuplexStream};
use tokio::process::{Child, ChildStdin};

/// How much of an oversized line is kept to find its id.
const HEAD: usize = 4096;
/// How long `close` waits for the child to exit on its own before killing it.
const EXIT_WAIT: Duration = Duration::from_secs(3);

pub(super) struct StdioChild {
    child: Child,
    inner: AsyncRwTransport<RoleClient, DuplexStream, ChildStdin>,
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
        let (mut relayed, read) = tokio::io::duplex(64 * 1024);
        tokio::spawn(async move {
            let mut lines = BufReader::with_capacity(64 * 1024, stdout);
            loop {
                let line = match read_line(&mut lines, limit).await {
                    Ok(Some(line)) => line,
                    Ok(None) | Err(_) => break,
                };
                let out = match line {
                    Line::Whole(bytes) => bytes,
                    Line::Oversized { head, len } => {
                        tracing::warn!(
                            server = &*server,
                            bytes = len,
                            limit,
                            "a message over server.max_result_bytes was discarded"
                        );
                        match oversized_error(&head, len, limit, &server) {
                            Some(error) => error,
                            None => continue,
                        }
                    }
                };
                if relayed.write_all(&out).await.is_err() {
                    break; // the transport is gone
                }
            }
        });
        Ok(StdioChild {
            child,
            inner: AsyncRwTransport::new(read, stdin).with_max_line_length(usize::MAX),
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
        self.inner.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        self.inner.receive()
    }

    /// The MCP stdio shutdown: close its stdin, give it a moment to exit, then kill it.
    async fn close(&mut self) -> Result<(), Self::Error> {
        let _ = self.inner.close().await;
        if tokio::time::timeout(EXIT_WAIT, self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        Ok(())
    }
}

enum Line {
    /// A line with its newline.
    Whole(Vec<u8>),
    /// A line over the limit: its first bytes and its length.
    Oversized { head: Vec<u8>, len: usize },
}

/// The next line, never holding more than `limit` bytes of it; `None` at the end of the stream.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    limit: usize,
) -> std::io::Result<Option<Line>> {
    let mut line = Vec::new();
    let mut len = 0usize;
    let mut over = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            // End of stream: a last line without its newline still counts.
            return Ok(match (len, over) {
                (0, _) => None,
                (_, true) => Some(Line::Oversized { head: line, len }),
                (_, false) => Some(Line::Whole(line)),
            });
        }
        let (chunk, done) = match memchr(buf) {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let taken = chunk.len();
        len += taken;
        if !over && len > limit {
            over = true;
            line.truncate(HEAD);
        }
        if over {
            let room = HEAD.saturating_sub(line.len());
            line.extend_from_slice(&chunk[..room.min(taken)]);
        } else {
            line.extend_from_slice(chunk);
        }
        reader.consume(taken);
        if done {
            return Ok(Some(if over {
                Line::Oversized { head: line, len }
            } else {
                Line::Whole(line)
            }));
        }
    }
}

fn memchr(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// The error line that answers the request an oversized message was for, if its head names one
/// (a notification or a request from the server has no id of ours to fail).
fn oversized_error(head: &[u8], len: usize, limit: usize, server: &str) -> Option<Vec<u8>> {
    let id = first_id(head)?;
    let error = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            "code": -32603,
            "message": format!(
                "the server's answer is {len} bytes, over the gateway's limit of {limit} (server.max_result_bytes)"
            ),
            "data": {"server": server, "limit": limit, "bytes": len},
        },
    });
    let mut line = serde_json::to_vec(&error).ok()?;
    line.push(b'\n');
    Some(line)
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
        let value = value.trim_start();
        let mut stream = serde_json::Deserializer::from_str(value).into_iter::<Value>();
        if let Some(Ok(id @ (Value::Number(_) | Value::String(_)))) = stream.next() {
            return Some(id);
        }
        // `"id":123,...`: the number ends at the next comma or brace.
        if let Some(end) = value.find([',', '}'])
            && let Ok(id @ (Value::Number(_) | Value::String(_))) =
                serde_json::from_str::<Value>(value[..end].trim())
        {
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
        let mut reader = BufReader::with_capacity(1024, input.as_bytes());
        let Some(Line::Whole(first)) = read_line(&mut reader, 1000).await.unwrap() else {
            panic!("first line")
        };
        assert_eq!(first, b"{\"a\":1}\n");
        let Some(Line::Oversized { head, len }) = read_line(&mut reader, 1000).await.unwrap()
        else {
            panic!("second line")
        };
        assert_eq!(len, big.len());
        assert!(head.len() <= HEAD);
        assert_eq!(first_id(&head), Some(json!(7)));
        let Some(Line::Whole(third)) = read_line(&mut reader, 1000).await.unwrap() else {
            panic!("third line")
        };
        assert_eq!(third, b"{\"b\":2}\n");
        assert!(read_line(&mut reader, 1000).await.unwrap().is_none());
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
        let error: Value = serde_json::from_slice(&error).unwrap();
        assert_eq!(error["id"], 3);
        assert_eq!(error["error"]["code"], -32603);
        assert_eq!(error["error"]["data"]["server"], "big");
    }
}
