//! Binding the listener ourselves and handing the socket to pingora, so that port 0 works (tests)
//! and the real address is known before the first request, while pingora still runs the accept loop
//! (and the TLS handshakes, when the listener has TLS settings).

use std::net::{SocketAddr, TcpListener};
use std::os::fd::IntoRawFd;
use std::sync::Arc;

use pingora_core::apps::HttpServerApp;
use pingora_core::listeners::tls::TlsSettings;
use pingora_core::server::{Fds, ListenFds};
use pingora_core::services::Service as _;
use pingora_core::services::listening::Service;
use tokio::sync::watch;

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
        match self.tls {
            Some(settings) => service.add_tls_with_settings(&addr, None, settings),
            None => service.add_tcp(&addr),
        }
        service.start_service(Some(self.fds), shutdown, 1).await;
    }
}
