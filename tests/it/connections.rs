//! Connection hardening from outside, over raw TCP (issue 8, point 7): one deadline for the whole
//! request head (slowloris), a body deadline, the idle keep-alive time, 431 for oversized or too
//! many headers, caps on open connections overall and per peer address, and idle MCP sessions
//! expiring. Every case ends with the gateway still serving.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::*;

fn gateway(limits: &str, session: &str) -> GatewayProcess {
    let config = http_config(
        &[stdio_server("time", &time_bin(), &[])],
        &format!("  limits:\n{limits}"),
    );
    GatewayProcess::start(&format!("{config}{session}"))
}

/// Everything the server sends until it closes the connection (or `limit` passes).
async fn read_all(stream: &mut TcpStream, limit: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn still_serving(gw: &GatewayProcess) {
    assert_eq!(
        get_json(&gw.url("/health")).await.0,
        200,
        "{}",
        gw.log_text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_sent_one_byte_at_a_time_is_cut_off_at_the_deadline() {
    let gw = gateway("    header_timeout: 1\n", "");
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    let head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let started = Instant::now();
    let mut sent = 0;
    // A byte every 100 ms would take 8 s; the gateway answers 408 after its 1 s deadline.
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut probe = [0u8; 1];
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::ZERO, stream.peek(&mut probe)).await {
            break;
        }
    }
    let answer = read_all(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("server.limits.header_timeout"), "{answer}");
    assert!(
        sent < head.len(),
        "the whole head went through ({sent} bytes in {:?})",
        started.elapsed()
    );
    still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_stops_arriving_gets_408() {
    let gw = gateway("    body_timeout: 1\n", "");
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream
        .write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 200\r\n\r\n{\"jsonrpc\":")
        .await
        .unwrap();
    let answer = read_all(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("server.limits.body_timeout"), "{answer}");
    still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_keep_alive_connection_is_closed() {
    let gw = gateway("    keepalive_timeout: 1\n", "");
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    // The answer comes, then (no second request) the gateway closes the connection.
    let answer = read_all(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("connection: keep-alive"),
        "{answer}"
    );
    let mut more = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut more)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "the connection was still open: {closed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_or_too_many_headers_get_431() {
    let gw = gateway("    max_header_bytes: 65536\n    max_headers: 100\n", "");
    let many: String = (0..300).map(|i| format!("X-H{i}: v\r\n")).collect();
    let big = format!("X-Big: {}\r\n", "a".repeat(100 * 1024));
    let huge = format!("X-Huge: {}\r\n", "a".repeat(1_000_000));
    for (what, headers) in [
        ("300 headers", &many),
        ("a 100 KiB header", &big),
        ("a 1 MB header", &huge),
    ] {
        let mut stream = TcpStream::connect(gw.addr).await.unwrap();
        let request = format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let answer = read_all(&mut stream, Duration::from_secs(10)).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{what}: {answer:?}");
    }
    // Within the limits, the same request is answered.
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    let few: String = (0..50).map(|i| format!("X-H{i}: v\r\n")).collect();
    let request =
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{few}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_all(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    still_serving(&gw).await;
}

async fn connect_from(source: &str, to: std::net::SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the gateway closed `stream` at once (a refused connection) rather than keeping it.
async fn closed_at_once(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(2), stream.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn open_connections_are_capped_per_peer_and_overall() {
    let gw = gateway(
        "    header_timeout: 30\n    max_connections: 6\n    max_connections_per_peer: 4\n",
        "",
    );
    // Four idle connections from 127.0.0.1 are held; a fifth from it is closed at once.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from("127.0.0.1", gw.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut fifth = connect_from("127.0.0.1", gw.addr).await;
    assert!(
        closed_at_once(&mut fifth).await,
        "a fifth connection from one peer was kept"
    );
    // Another address gets the two slots left overall, then it is refused too.
    for _ in 0..2 {
        held.push(connect_from("127.0.0.2", gw.addr).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seventh = connect_from("127.0.0.2", gw.addr).await;
    assert!(
        closed_at_once(&mut seventh).await,
        "a seventh connection overall was kept"
    );
    // The held ones are still served, and a slot freed is a slot taken.
    let first = &mut held[0];
    first
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(
        read_all(first, Duration::from_secs(10))
            .await
            .starts_with("HTTP/1.1 200")
    );
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_session_expires() {
    // Without a store: an idle session leaves memory and is gone (with one it comes back until
    // its TTL: sessions::an_idle_session_comes_back_from_the_store_until_its_ttl).
    let gw = gateway(
        "    header_timeout: 10\n",
        "session:\n  backend: memory\n  idle_timeout: 1\n",
    );
    let url = gw.mcp_url();
    let (status, headers, body) = post(&url, initialize_body(), &[]).await;
    assert_eq!(status, 200, "{body}");
    let id = headers["mcp-session-id"].to_str().unwrap().to_string();
    let list = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    let (status, _, body) = post(&url, list.clone(), &[("mcp-session-id", &id)]).await;
    assert_eq!(status, 200, "the fresh session: {body}");
    let expired = eventually(
        Duration::from_secs(15),
        "the idle session to expire",
        || {
            let (url, list, id) = (url.clone(), list.clone(), id.clone());
            async move {
                // Longer than the idle timeout: a request in between would keep it alive.
                tokio::time::sleep(Duration::from_millis(2500)).await;
                let (status, _, _) = post(&url, list, &[("mcp-session-id", &id)]).await;
                (status == 404).then_some(status)
            }
        },
    )
    .await;
    assert_eq!(expired, 404);
}
