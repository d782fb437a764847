//! Reading a capped request body and writing whole answers on a pingora session.

use bytes::Bytes;
use http::{StatusCode, header};
use pingora_core::protocols::http::ServerSession;
use pingora_http::ResponseHeader;
use serde_json::Value;

use crate::error::ProxyError;
use crate::exchange::Method;

/// An endpoint's answer: status, content type, body.
pub struct Plain {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Plain {
    pub fn json(status: StatusCode, body: &Value) -> Plain {
        Plain {
            status,
            content_type: "application/json",
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }
}

/// Reads the whole request body, refusing (without reading on) anything over `limit` bytes.
pub(super) async fn read_body(
    session: &mut ServerSession,
    limit: usize,
) -> Result<Bytes, ProxyError> {
    let declared = session
        .req_header()
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ProxyError::TooLarge { limit });
    }
    let mut body = bytes::BytesMut::with_capacity(declared.unwrap_or(0));
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(ProxyError::TooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body.freeze()),
            Err(e) => return Err(ProxyError::BadBody(format!("cannot read the body: {e}"))),
        }
    }
}

/// Writes `error` as the endpoint speaks: a JSON-RPC error on `/mcp`, JSON on `/v1/*`, text
/// elsewhere; with the error's status and headers (`Retry-After`, `WWW-Authenticate`).
pub(super) async fn write_error(
    session: &mut ServerSession,
    method: Method,
    id: &Value,
    error: &ProxyError,
) {
    let (content_type, body) = match method {
        Method::Select | Method::SessionContext | Method::SessionGet => {
            ("application/json", error.rest_body())
        }
        Method::Health | Method::Metrics | Method::Ui | Method::Unknown => {
            ("text/plain; charset=utf-8", error.to_string().into_bytes())
        }
        _ => ("application/json", error.jsonrpc_body(id)),
    };
    write(
        session,
        error.status(),
        content_type,
        &error.headers(),
        body,
    )
    .await;
}

pub(super) async fn write_plain(session: &mut ServerSession, plain: Plain) {
    write(session, plain.status, plain.content_type, &[], plain.body).await;
}

/// Writes an operator page: no script may run, nothing loads from elsewhere, no site may frame
/// it, no cache keeps it.
pub(super) async fn write_page(session: &mut ServerSession, plain: Plain) {
    let headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'"
                .to_string(),
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        (header::CACHE_CONTROL, "no-store".to_string()),
        (header::REFERRER_POLICY, "no-referrer".to_string()),
    ];
    write(
        session,
        plain.status,
        plain.content_type,
        &headers,
        plain.body,
    )
    .await;
}

async fn write(
    session: &mut ServerSession,
    status: StatusCode,
    content_type: &str,
    headers: &[(http::HeaderName, String)],
    body: Vec<u8>,
) {
    let Ok(mut header) = ResponseHeader::build(status, Some(2 + headers.len())) else {
        return;
    };
    let mut ok = header
        .insert_header(header::CONTENT_TYPE, content_type)
        .is_ok()
        && header
            .insert_header(header::CONTENT_LENGTH, body.len().to_string())
            .is_ok();
    for (name, value) in headers {
        ok &= header.insert_header(name.clone(), value.as_str()).is_ok();
    }
    if !ok
        || session
            .write_response_header(Box::new(header))
            .await
            .is_err()
    {
        return;
    }
    let _ = session.write_response_body(Bytes::from(body), true).await;
}
