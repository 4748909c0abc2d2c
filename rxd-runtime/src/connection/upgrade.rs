//! The WebSocket opening handshake (RFC 6455, section 4.2) over HTTP/1.1:
//! checks the request, answers `101 Switching Protocols`, and hands over
//! the connection once hyper has upgraded it.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, StatusCode, Version};
use hyper::upgrade::OnUpgrade;

/// A request to open a WebSocket, checked.
pub(crate) struct WebSocketRequest {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
}

/// Why a request cannot be upgraded: its status and a reason.
#[derive(Debug)]
pub(crate) struct Refused(StatusCode, &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketRequest {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Refused> {
        let bad = |reason| Refused(StatusCode::BAD_REQUEST, reason);
        if parts.version != Version::HTTP_11 {
            return Err(Refused(
                StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                "WebSockets are served over HTTP/1.1",
            ));
        }
        if parts.method != Method::GET {
            return Err(Refused(
                StatusCode::METHOD_NOT_ALLOWED,
                "a WebSocket opens with GET",
            ));
        }
        if !lists_token(&parts.headers, header::CONNECTION, "upgrade") {
            return Err(Refused(
                StatusCode::UPGRADE_REQUIRED,
                "`Connection` must include `upgrade`",
            ));
        }
        if !lists_token(&parts.headers, header::UPGRADE, "websocket") {
            return Err(Refused(
                StatusCode::UPGRADE_REQUIRED,
                "`Upgrade` must include `websocket`",
            ));
        }
        if parts.headers.get(header::SEC_WEBSOCKET_VERSION) != Some(&HeaderValue::from_static("13"))
        {
            return Err(bad("`Sec-WebSocket-Version` must be 13"));
        }
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .ok_or_else(|| bad("`Sec-WebSocket-Key` is missing"))?;
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        let accept = HeaderValue::try_from(accept)
            .map_err(|_| bad("`Sec-WebSocket-Key` is not a header value"))?;
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or(Refused(
            StatusCode::UPGRADE_REQUIRED,
            "this connection cannot be upgraded",
        ))?;
        Ok(WebSocketRequest { accept, on_upgrade })
    }
}

impl WebSocketRequest {
    /// The `101` answer, and the upgrade that completes once it is sent.
    pub(crate) fn accept(self) -> (Response, OnUpgrade) {
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, self.accept);
        (response, self.on_upgrade)
    }
}

/// Whether a comma-separated header lists `token` (case-insensitive).
fn lists_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}
