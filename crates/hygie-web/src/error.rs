//! Errors of the web layer and their HTTP answers. Internal details (database messages) are
//! logged, never sent to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hygie_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too many attempts, retry later")]
    TooMany,
    #[error("the request body is too large")]
    TooLarge,
    #[error("internal error")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Invalid(_) => StatusCode::BAD_REQUEST,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message safe to show to the client.
    pub fn public_message(&self) -> String {
        match self {
            WebError::Internal(_) => "internal error".into(),
            e => e.to_string(),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => WebError::NotFound(m),
            StoreError::Forbidden(m) => WebError::Forbidden(m),
            StoreError::Conflict(m) => WebError::Conflict(format!("{m} already exists")),
            StoreError::Invalid(m) => WebError::Invalid(m),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<hygie_core::InvalidValue> for WebError {
    fn from(e: hygie_core::InvalidValue) -> Self {
        WebError::Invalid(e.to_string())
    }
}

/// An incident whose facts cannot give its obligations or drafts (a local time in a DST gap, say).
impl From<hygie_incident::IncidentError> for WebError {
    fn from(e: hygie_incident::IncidentError) -> Self {
        WebError::Invalid(e.to_string())
    }
}

impl From<crate::seal::SealError> for WebError {
    fn from(e: crate::seal::SealError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl From<crate::auth::AuthError> for WebError {
    fn from(e: crate::auth::AuthError) -> Self {
        WebError::Internal(e.to_string())
    }
}

/// A multipart body that cannot be read: too large (413, as for any other body), or malformed.
impl From<axum::extract::multipart::MultipartError> for WebError {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::TooLarge
        } else {
            WebError::Invalid(e.body_text())
        }
    }
}

impl From<tokio::task::JoinError> for WebError {
    fn from(e: tokio::task::JoinError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::Internal(m) = &self {
            tracing::error!("internal error: {m}");
        }
        let mut res = (
            self.status(),
            axum::Json(serde_json::json!({ "error": self.public_message() })),
        )
            .into_response();
        if matches!(self, WebError::Unauthorized) {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"hygie\""),
            );
        }
        res
    }
}
