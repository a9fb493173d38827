//! The opening every handler about one facility shares, pages and API alike: who calls, and the
//! facility the path's `{finess}` segment names, parsed once. A FINESS that does not parse is
//! "not found", as is a facility outside the caller's binding, which `Scoped` refuses on the
//! first read or write; parsing reads nothing, so a handler that needs no facility record (the
//! status pages read it with the status) pays no query for it.

use crate::{AppState, Caller, WebError};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use hygie_core::{Catalog, Facility, Finess, Lang};
use hygie_store::Scoped;

/// A request about one facility: `who` is `Caller` for the API, `PageUser` for pages.
pub struct AtFacility<U> {
    pub who: U,
    pub st: AppState,
    pub id: Finess,
}

/// The path segment that names a facility, as written; "not found" when it is not a FINESS.
pub(crate) fn finess(s: &str) -> Result<Finess, WebError> {
    Finess::parse(s).map_err(|_| WebError::NotFound(format!("facility {s}")))
}

impl<U> FromRequestParts<AppState> for AtFacility<U>
where
    U: FromRequestParts<AppState> + AsRef<Caller> + Send,
    U::Rejection: From<WebError>,
{
    type Rejection = U::Rejection;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let who = U::from_request_parts(parts, st).await?;
        // Only a route with `{finess}` takes this extractor: a miss is a routing mistake.
        use axum::extract::rejection::RawPathParamsRejection as Refused;
        let params = RawPathParams::from_request_parts(parts, st)
            .await
            .map_err(|e| match e {
                // Bytes that are not text, decoded from the path: the client's mistake.
                Refused::InvalidUtf8InPathParam(e) => WebError::Invalid(e.body_text()),
                e => WebError::Internal(format!("path parameters: {e}")),
            })?;
        let raw = params
            .iter()
            .find(|(name, _)| *name == "finess")
            .map(|(_, value)| value)
            .ok_or_else(|| WebError::Internal("route without {finess}".into()))?;
        let id = finess(raw)?;
        Ok(AtFacility {
            who,
            st: st.clone(),
            id,
        })
    }
}

impl<U: AsRef<Caller>> AtFacility<U> {
    pub(crate) fn caller(&self) -> &Caller {
        self.who.as_ref()
    }
    /// The store as the caller may see it.
    pub(crate) fn scoped(&self) -> Scoped<'_> {
        self.st.scoped(self.caller())
    }
    pub(crate) fn lang(&self) -> Lang {
        self.caller().lang
    }
    pub(crate) fn catalog(&self) -> &Catalog {
        self.st.catalog()
    }
    /// The facility's record (pages head with its name).
    pub(crate) async fn facility(&self) -> Result<Facility, WebError> {
        Ok(self.scoped().facility(&self.id).await?)
    }
}

impl AsRef<Caller> for Caller {
    fn as_ref(&self) -> &Caller {
        self
    }
}
