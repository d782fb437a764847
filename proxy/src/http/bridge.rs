//! Streaming rmcp's response back through pingora frame by frame (chunked on HTTP/1.1), which is
//! what makes SSE and the GET notification stream work.

use http::header;
use http_body_util::BodyExt;
use pingora_core::protocols::http::ServerSession;
use pingora_core::server::ShutdownWatch;
use pingora_http::ResponseHeader;

/// What a notification stream's client reads before the gateway ends it at shutdown: reconnect
/// after a second (to another instance behind the load balancer, or this one restarted).
const RECONNECT: &[u8] = b"retry: 1000\n\n";

/// Writes `response` to the client; returns its status. Stops early when the client goes away,
/// and, for a `stream` (the GET notification stream, which never ends by itself), when the
/// gateway shuts down: with an SSE `retry` hint and a clean end, so the client reconnects. Other
/// responses (a tool call's SSE answer) run to their end: that is the drain.
pub(super) async fn stream_back<B>(
    session: &mut ServerSession,
    response: http::Response<B>,
    shutdown: &ShutdownWatch,
    stream: bool,
) -> http::StatusCode
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin,
{
    let (parts, mut body) = response.into_parts();
    let status = parts.status;
    let mut header = ResponseHeader::from(parts);
    let framing = match http_body::Body::size_hint(&body).exact() {
        Some(len) => header.insert_header(header::CONTENT_LENGTH, len.to_string()),
        None if !session.is_http2() => header.insert_header(header::TRANSFER_ENCODING, "chunked"),
        None => Ok(()),
    };
    if framing.is_err()
        || session
            .write_response_header(Box::new(header))
            .await
            .is_err()
    {
        return status;
    }
    let mut shutdown = stream.then(|| shutdown.clone());
    loop {
        let frame = match &mut shutdown {
            Some(watch) => tokio::select! {
                frame = body.frame() => frame,
                // The guard `wait_for` returns is not `Send`: dropped before the write below.
                () = async { drop(watch.wait_for(|stopping| *stopping).await) } => {
                    let _ = session.write_response_body(bytes::Bytes::from_static(RECONNECT), false).await;
                    None
                }
            },
            None => body.frame().await,
        };
        let Some(Ok(frame)) = frame else { break };
        if let Ok(data) = frame.into_data()
            && session.write_response_body(data, false).await.is_err()
        {
            return status; // the client went away
        }
    }
    let _ = session.finish_body().await;
    status
}
