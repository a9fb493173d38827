//! Errors of the web layer and their HTTP answers. Internal details (database messages) are
//! logged, never sent to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hygie_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("authentication required")]
    Unauthorized,
    /// A bearer token that opens nothing: unknown, revoked or expired (`reason`); `token` is
    /// its public id when it exists.
    #[error("authentication required")]
    TokenRefused {
        token: Option<String>,
        reason: &'static str,
    },
    /// A session cookie that names no live session.
    #[error("authentication required")]
    SessionRefused,
    /// A state-changing request without the session's (or the login form's) CSRF token.
    #[error("forbidden: missing or wrong CSRF token")]
    Csrf,
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
    /// A feature the server cannot offer as installed (the PDF without Chromium), said in
    /// both languages.
    #[error("unavailable: {en}")]
    Unavailable { en: String, fr: String },
    #[error("internal error")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Unauthorized | WebError::TokenRefused { .. } | WebError::SessionRefused => {
                StatusCode::UNAUTHORIZED
            }
            WebError::Csrf => StatusCode::FORBIDDEN,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Invalid(_) => StatusCode::BAD_REQUEST,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooMany => StatusCode::TOO_MANY_REQUESTS,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether this is a refused authentication (an answer of 401).
    pub fn unauthenticated(&self) -> bool {
        self.status() == StatusCode::UNAUTHORIZED
    }

    /// Attach the security event this error stands for, if any, to its response.
    pub(crate) fn mark(&self, res: Response) -> Response {
        use crate::events::{Event, refuse};
        match self {
            WebError::TokenRefused { token, reason } => {
                let who = token.as_ref().map(|t| format!("token:{t}"));
                refuse(res, Event::TokenRefused, who.as_deref(), reason)
            }
            WebError::SessionRefused => {
                refuse(res, Event::SessionRefused, None, "unknown or ended")
            }
            WebError::Csrf => refuse(res, Event::CsrfRejected, None, "csrf"),
            WebError::Forbidden(_) => refuse(res, Event::AccessDenied, None, "role"),
            _ => res,
        }
    }

    /// The message safe to show to the client.
    pub fn public_message(&self) -> String {
        match self {
            WebError::Internal(_) => "internal error".into(),
            e => e.to_string(),
        }
    }

    /// The message safe to show to the client, in the reader's language (error pages). A detail
    /// written in both languages ("english / français") gives the reader's half; in French, the
    /// object a detail names ("facility 350009999") is named in French.
    pub fn public_message_in(&self, lang: hygie_core::Lang) -> String {
        let d = |m: &str| detail_in(m, lang);
        if lang == hygie_core::Lang::En {
            return match self {
                WebError::Forbidden(m) => format!("forbidden: {}", d(m)),
                WebError::NotFound(m) => format!("not found: {}", d(m)),
                WebError::Invalid(m) => format!("invalid request: {}", d(m)),
                WebError::Conflict(m) => format!("conflict: {}", d(m)),
                e => e.public_message(),
            };
        }
        match self {
            WebError::Unauthorized | WebError::TokenRefused { .. } | WebError::SessionRefused => {
                "authentification requise".into()
            }
            WebError::Csrf => "refusé : jeton CSRF absent ou faux".into(),
            WebError::Forbidden(m) => format!("accès refusé : {}", d(m)),
            WebError::NotFound(m) => format!("introuvable : {}", d(m)),
            WebError::Invalid(m) => format!("requête invalide : {}", d(m)),
            WebError::Conflict(m) => format!("conflit : {}", d(m)),
            WebError::TooMany => "trop de tentatives, réessayez plus tard".into(),
            WebError::TooLarge => "la requête est trop volumineuse".into(),
            WebError::Unavailable { fr, .. } => format!("indisponible : {fr}"),
            WebError::Internal(_) => "erreur interne".into(),
        }
    }
}

/// The objects an error names, in French (`NotFound`'s "facility 350009999", a conflict's
/// "user alice already exists"), longest first so that "check run" wins over a shorter noun.
const OBJECTS_FR: &[(&str, &str)] = &[
    ("identity provider ", "fournisseur d'identité "),
    ("evidence file ", "fichier de preuve "),
    ("check run ", "passage d'audit "),
    (
        "single sign-on is not configured",
        "l'authentification unique n'est pas configurée",
    ),
    ("setup is done", "la première configuration est déjà faite"),
    ("campaign ", "campagne "),
    ("facility ", "établissement "),
    ("incident ", "incident "),
    ("measure ", "mesure "),
    ("region ", "région "),
    ("asset ", "équipement "),
    ("alert ", "alerte "),
    ("token ", "jeton "),
    ("user ", "utilisateur "),
    ("duty ", "obligation "),
];

/// A detail in `lang`: the reader's half of an "english / français" detail; in French, a
/// leading object named in French and "already exists" said in French.
fn detail_in(m: &str, lang: hygie_core::Lang) -> String {
    if let Some((en, fr)) = m.split_once(" / ") {
        return match lang {
            hygie_core::Lang::En => en.to_owned(),
            hygie_core::Lang::Fr => fr.to_owned(),
        };
    }
    if lang == hygie_core::Lang::En {
        return m.to_owned();
    }
    let mut out = m.to_owned();
    if let Some((en, fr)) = OBJECTS_FR.iter().find(|(en, _)| m.starts_with(en)) {
        out = format!("{fr}{}", &m[en.len()..]);
    }
    if let Some(what) = out.strip_suffix(" already exists") {
        out = format!("{what} existe déjà");
    }
    out
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => WebError::NotFound(m),
            StoreError::Forbidden(m) => WebError::Forbidden(m),
            StoreError::Conflict(m) => WebError::Conflict(format!("{m} already exists")),
            StoreError::Invalid(m) => WebError::Invalid(m),
            e @ (StoreError::LastAdministrator(..) | StoreError::AlreadyAttached(_)) => {
                WebError::Conflict(e.to_string())
            }
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

impl From<hygie_store::IncidentChangeError> for WebError {
    fn from(e: hygie_store::IncidentChangeError) -> Self {
        match e {
            hygie_store::IncidentChangeError::Store(e) => e.into(),
            hygie_store::IncidentChangeError::Incident(e) => e.into(),
        }
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
        let res = (
            self.status(),
            axum::Json(serde_json::json!({ "error": self.public_message() })),
        )
            .into_response();
        let mut res = self.mark(res);
        if self.unauthenticated() {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"hygie\""),
            );
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hygie_core::Lang;

    #[test]
    fn details_are_given_in_the_readers_language() {
        let e = WebError::NotFound("facility 350009999".into());
        assert_eq!(
            e.public_message_in(Lang::Fr),
            "introuvable : établissement 350009999"
        );
        assert_eq!(
            e.public_message_in(Lang::En),
            "not found: facility 350009999"
        );
        let e = WebError::NotFound("check run r-1".into());
        assert_eq!(
            e.public_message_in(Lang::Fr),
            "introuvable : passage d'audit r-1"
        );
        let e = WebError::from(StoreError::Conflict("user alice".into()));
        assert_eq!(
            e.public_message_in(Lang::Fr),
            "conflit : utilisateur alice existe déjà"
        );
        let e = WebError::Invalid("name: too long / nom : trop long".into());
        assert_eq!(
            e.public_message_in(Lang::Fr),
            "requête invalide : nom : trop long"
        );
        assert_eq!(
            e.public_message_in(Lang::En),
            "invalid request: name: too long"
        );
        // An identifier that merely starts like a noun is left alone.
        let e = WebError::NotFound("facilityX".into());
        assert_eq!(e.public_message_in(Lang::Fr), "introuvable : facilityX");
    }
}
