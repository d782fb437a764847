//! Binding the listener ourselves and handing the socket to pingora, so that port 0 works (tests)
//! and the real address is known before the first request, while pingora still runs the accept loop
//! (and the TLS handshakes, when the listener has TLS settings).

use std::net::{SocketAddr, TcpListener};
use std::os::fd::IntoRawFd;
use std::sync::Arc;

use pingora_core::apps::HttpServerApp;
use pingora_core::listeners::tls::TlsSettings;
use pingora_core::listeners::{L4BufferSettings, ListenerConfig};
use pingora_core::server::{Fds, ListenFds};
use pingora_core::services::Service as _;
use pingora_core::services::listening::Service;
use tokio::sync::watch;

/// Read buffer per connection. pingora's default is 64 KiB, allocated zeroed at every accept: that
/// memset was the largest single cost of a call from a client that opens a connection per request
/// (the Python SDK does; BENCHMARKS.md, issue 10 point 6). MCP requests are far smaller, and TLS
/// reads one 16 KiB record at a time, so 16 KiB loses no batching. Larger bodies still stream.
const READ_BUFFER: usize = 16 * 1024;
/// pingora's default (one MSS): replies are flushed as they are produced anyway.
const WRITE_BUFFER: usize = 1460;

/// A bound, not yet serving, HTTP listener.
pub struct HttpListener {
    pub local_addr: SocketAddr,
    fds: ListenFds,
    tls: Option<TlsSettings>,
}

/// Binds `host:port` (port 0 picks a free port).
pub fn bind(host: &str, port: u16) -> std::io::Result<HttpListener> {
    let listener = TcpListener::bind((host, port))?;
    listener.set_nonblocking(true)?;
    let local_addr = listener.local_addr()?;
    let mut fds = Fds::new();
    fds.add(local_addr.to_string(), listener.into_raw_fd());
    Ok(HttpListener {
        local_addr,
        fds: Arc::new(parking_lot::Mutex::new(fds)),
        tls: None,
    })
}

impl HttpListener {
    /// Terminates TLS on this listener (see [`super::tls::settings`]).
    pub fn with_tls(mut self, settings: TlsSettings) -> Self {
        self.tls = Some(settings);
        self
    }

    /// Serves `app` on this listener until `shutdown` turns true; returns after the accept loop ends.
    pub async fn serve<A>(self, app: A, shutdown: watch::Receiver<bool>)
    where
        A: HttpServerApp + Send + Sync + 'static,
    {
        let mut service = Service::new("ucp-http".to_string(), app);
        let addr = self.local_addr.to_string();
        let endpoint =
            ListenerConfig::tcp(addr).l4_buffer(L4BufferSettings::new(READ_BUFFER, WRITE_BUFFER));
        service.add_listener(match self.tls {
            Some(settings) => endpoint.tls(settings),
            None => endpoint,
        });
        service.start_service(Some(self.fds), shutdown, 1).await;
    }
}
