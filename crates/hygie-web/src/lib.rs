//! Hygie's web application and JSON API: the only crate that knows HTTP.
//!
//! - Server-rendered HTML, FR/EN per user, default from the browser; the one script is the
//!   passkey ceremonies' first-party file ([`passkey`]), on their pages only.
//! - A JSON API under `/api/v1`, described by `/api/v1/openapi.json`.
//! - Authentication: Argon2id passwords, TOTP mandatory for administrators, CISOs, DPOs and
//!   regional officers, lockout after repeated failures, per-address throttling, server-side
//!   sessions (digests only) in HttpOnly SameSite=Strict cookies rotated at login, CSRF tokens.
//! - Authorisation: every data access goes through `hygie_store::Scoped`, built from the caller's
//!   role and binding; a facility outside the binding is "not found".
//!
//! Where things are: the router, pages and `/api/v1` ([`router`]); the OpenAPI document
//! ([`openapi`]: one declaration per route; `tests/openapi.rs` checks it equals the router's
//! routes both ways; `scripts/api-fuzz.sh` runs schemathesis against it); sessions and cookies
//! (`session`); authentication ([`auth`]: Argon2id, TOTP, CSRF tokens derived from the session's
//! id by HMAC and never stored); Active Directory sign-in ([`directory`]: its TOML, groups mapped
//! to roles and bindings, the user created or updated by `Store::sign_in_directory_user`);
//! passkeys ([`passkey`]: WebAuthn relying party, second factor and passwordless sign-in); the
//! account lifecycle (`accounts`: the API and what `pages/users.rs` shares with it); the security
//! event log ([`events`]); the TOTP seeds sealed at rest ([`seal`]); the client address behind
//! trusted proxies ([`client`]); HTTPS ([`tls`]) and the listener's limits ([`server`]);
//! `/metrics` ([`metrics`]).
//!
//! Every page body is an askama template in `templates/` filled from a typed `…Body` struct and
//! wrapped in `layout.html` (which extends hygie-report's `base.html`; see `pages`). A page's
//! language is `?lang=`, else the account's, else the browser's; a page's error is written in it
//! after the handler (`pages::localize_errors` reads the `session::ReaderLang` slot the `Caller`
//! extractor fills).
//!
//! Invariants: every read and write goes through `Scoped` (`AppState::scoped(&caller)`); a
//! handler about one facility takes `scope::AtFacility` (the caller and the path's `{finess}`,
//! parsed once; pages `FacilityPage`, API `AtFacility<Caller>` or `AtFacility<Changing>` for
//! CSRF-checked writes); the API's routes and `ROUTES` come from one table (`api_routes!`; the
//! alert and incident handlers live in `incident_api`, whose filters and inputs the pages
//! share); no HTML is assembled in Rust; no JavaScript but `static/passkeys.js` (the WebAuthn
//! ceremonies need the browser's API), served by Hygie, never inline. Boundary: [`router`], [`Config`],
//! [`seal`], [`tls`]; the binary binds the listener and runs [`server::serve`].
//!
//! To add a page: a handler and a route in its area's module (`src/pages/`: areas never import
//! each other; what several share is in `pages/mod.rs`), its template in `templates/`, an API
//! route beside it in `api` and `openapi`, a test in `tests/`.

mod accounts;
pub mod api;
mod asset_api;
pub mod auth;
mod ceremony;
pub mod client;
pub mod directory;
mod download;
mod error;
pub mod events;
mod framework_errors;
mod html;
mod incident_api;
pub mod mapping;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod outbound;
mod pages;
pub mod passkey;
pub mod pdf;
mod scope;
pub mod seal;
pub mod server;
mod session;
mod sync_api;
pub use pages::requests::campaign_view;
pub mod sync_client;
pub mod tls;

pub use error::WebError;
pub use session::{Caller, SESSION_COOKIE};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use hygie_core::{Catalog, Region, RegionStatus};
use hygie_store::Store;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Settings of the web server.
#[derive(Clone)]
pub struct Config {
    /// Mark cookies `Secure` (set when serving TLS).
    pub secure_cookies: bool,
    /// How wrong passwords lock an account: 5 in a row lock it for 15 minutes, each time.
    pub password_backoff: hygie_store::Backoff,
    /// How wrong second-factor codes lock the second factor (apart from passwords).
    pub totp_backoff: hygie_store::Backoff,
    /// Attempts allowed per client address per minute, for each kind (`Attempt`).
    pub attempts_per_minute: u32,
    /// Attempts allowed per account per minute, from all addresses together: passwords and
    /// second-factor codes for one username, API tokens created by one user.
    pub account_attempts_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`client`).
    pub trusted_proxies: Vec<client::Cidr>,
    /// Digest of the bearer token that may read `/metrics` (besides administrators' API tokens).
    pub metrics_token_digest: Option<String>,
    /// Longest lifetime of a session, however active.
    pub session_ttl: jiff::SignedDuration,
    /// A session unused this long ends.
    pub session_idle: jiff::SignedDuration,
    /// The breach index of the password audit, when one is configured.
    pub breach_index: Option<Arc<dyn auth::BreachIndex>>,
    /// Largest evidence file accepted.
    pub max_upload_bytes: usize,
    /// The key sealing TOTP seeds at rest; a random one (lost at exit) when none is given.
    pub secret_key: Option<seal::SecretKey>,
    /// Sign-in with the hospital's Active Directory, when configured.
    pub directory: Option<Arc<directory::DirectoryLogin>>,
    /// The browser printing the PDF downloads; `None`: `HYGIE_CHROMIUM`, else `chromium` on
    /// `PATH`, looked up at each download (`hygie_pdf::Chromium::find`).
    pub chromium: Option<std::path::PathBuf>,
    /// Single sign-on with OpenID Connect providers, when configured.
    pub oidc: Option<Arc<oidc::Sso>>,
    /// This instance's federation signing key: a region signs the requests its facilities
    /// fetch with it (`GET /api/v1/sync/requests`); `None`, that endpoint answers 404.
    pub identity: Option<Arc<hygie_sync::Identity>>,
    /// Passkeys (WebAuthn), when the server knows its public address.
    pub passkeys: Option<Arc<passkey::Passkeys>>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: false,
            password_backoff: hygie_store::Backoff {
                failures_per_lock: 5,
                first: jiff::SignedDuration::from_mins(15),
                longest: jiff::SignedDuration::from_mins(15),
            },
            totp_backoff: hygie_store::Backoff {
                failures_per_lock: 5,
                first: jiff::SignedDuration::from_mins(1),
                longest: jiff::SignedDuration::from_hours(24),
            },
            attempts_per_minute: 30,
            account_attempts_per_minute: 10,
            trusted_proxies: Vec::new(),
            metrics_token_digest: None,
            session_ttl: jiff::SignedDuration::from_hours(8),
            session_idle: jiff::SignedDuration::from_mins(30),
            breach_index: None,
            max_upload_bytes: 25 * 1024 * 1024,
            secret_key: None,
            directory: None,
            chromium: None,
            oidc: None,
            identity: None,
            passkeys: None,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("secure_cookies", &self.secure_cookies)
            .field("password_backoff", &self.password_backoff)
            .field("totp_backoff", &self.totp_backoff)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_token", &self.metrics_token_digest.is_some())
            .field("breach_index", &self.breach_index.is_some())
            .field("secret_key", &self.secret_key.is_some())
            .finish_non_exhaustive()
    }
}

/// Shared state of every request; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    /// Seals TOTP seeds; None only if the random source failed for a keyless configuration.
    secret_key: Option<seal::SecretKey>,
    catalog: Catalog,
    config: Config,
    metrics: metrics::Metrics,
    by_address: Throttle<(Attempt, IpAddr)>,
    by_account: Throttle<String>,
}

/// What an attempt is, for the per-address budgets: each step has its own, so that a full login
/// (a password, then a code) or an administrator creating tokens does not spend the budget of
/// another step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attempt {
    /// A password (login) or a setup token (first administrator).
    Login,
    /// A second-factor code (login or enrolment).
    Code,
    /// An API token creation.
    Token,
}

/// Attempts counted per key (an address, an account) in one-minute windows.
struct Throttle<K>(Mutex<HashMap<K, (Instant, u32)>>);

impl<K: std::hash::Hash + Eq> Throttle<K> {
    fn new() -> Self {
        Throttle(Mutex::new(HashMap::new()))
    }

    /// Count an attempt for `key`; false when it is over `budget` this minute.
    fn hit(&self, key: K, budget: u32) -> bool {
        let Ok(mut map) = self.0.lock() else {
            return false;
        };
        let now = Instant::now();
        // Bounded memory however many keys an attacker makes up: the stale ones go first.
        if map.len() > 10_000 {
            map.retain(|_, (t, _)| now.duration_since(*t).as_secs() < 60);
        }
        let slot = map.entry(key).or_insert((now, 0));
        if now.duration_since(slot.0).as_secs() >= 60 {
            *slot = (now, 0);
        }
        slot.1 = slot.1.saturating_add(1);
        slot.1 <= budget
    }

    /// Give back one attempt of `key` in the current minute (an attempt that succeeded).
    fn refund(&self, key: &K) {
        if let Ok(mut map) = self.0.lock()
            && let Some(slot) = map.get_mut(key)
        {
            slot.1 = slot.1.saturating_sub(1);
        }
    }
}

impl AppState {
    pub fn new(store: Store, catalog: Catalog, config: Config) -> AppState {
        let secret_key = config
            .secret_key
            .clone()
            .or_else(|| seal::SecretKey::random().ok());
        AppState(Arc::new(Inner {
            store,
            secret_key,
            catalog,
            config,
            metrics: metrics::Metrics::default(),
            by_address: Throttle::new(),
            by_account: Throttle::new(),
        }))
    }
    pub fn store(&self) -> &Store {
        &self.0.store
    }
    pub fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }
    pub fn config(&self) -> &Config {
        &self.0.config
    }
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.0.metrics
    }
    /// The store as `caller` may see it: every read and write of a request goes through here.
    pub(crate) fn scoped<'a>(&'a self, caller: &'a session::Caller) -> hygie_store::Scoped<'a> {
        self.store().scoped(&caller.access)
    }

    /// A region's view for this caller (filtered by `Scoped`; the store reads its precomputed
    /// per-facility summaries, so nothing is cached here).
    pub async fn region_status(
        &self,
        access: &hygie_store::Access,
        region: Region,
        as_of: jiff::civil::Date,
    ) -> Result<RegionStatus, WebError> {
        Ok(self
            .store()
            .scoped(access)
            .region_status(self.catalog(), region, as_of)
            .await?)
    }

    fn secret_key(&self) -> Result<&seal::SecretKey, WebError> {
        self.0
            .secret_key
            .as_ref()
            .ok_or_else(|| WebError::Internal("no key to seal TOTP seeds".into()))
    }

    /// Seal a TOTP seed of `user_id` for storage.
    pub(crate) fn seal_totp(&self, user_id: i64, seed: &str) -> Result<String, WebError> {
        Ok(self.secret_key()?.seal(user_id, seed)?)
    }

    /// The TOTP seed of `user_id` from its stored form; a seed an earlier version stored in clear
    /// is sealed now.
    pub(crate) async fn open_totp(
        &self,
        user_id: i64,
        stored: Option<&str>,
    ) -> Result<Option<String>, WebError> {
        let Some(stored) = stored.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let (seed, clear) = self.secret_key()?.open(user_id, stored)?;
        if clear {
            let sealed = self.seal_totp(user_id, &seed)?;
            self.store().reseal_totp(user_id, stored, &sealed).await?;
        }
        Ok(Some(seed))
    }

    /// A paging cursor (a journal sequence number) as one user may carry it: sealed, so that the
    /// installation-wide numbering stays hidden from accounts bound to a region or facilities.
    pub(crate) fn seal_cursor(&self, user_id: i64, seq: i64) -> Result<String, WebError> {
        Ok(self
            .secret_key()?
            .seal_for("journal-cursor", user_id, &seq.to_string())?)
    }

    /// The sequence number of a cursor `seal_cursor` gave this user; anything else is refused.
    pub(crate) fn open_cursor(&self, user_id: i64, cursor: &str) -> Result<i64, WebError> {
        self.secret_key()?
            .open_for("journal-cursor", user_id, cursor.trim())
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| WebError::Invalid("cursor: not a page of this journal".into()))
    }

    /// Count a login attempt from `ip`; false when the address exceeded its budget this minute.
    pub fn allow_attempt(&self, ip: Option<IpAddr>) -> bool {
        self.allow_from(Attempt::Login, ip)
    }

    /// Count an attempt of `kind` from `ip`; false when the address exceeded its budget for
    /// that kind this minute.
    pub fn allow_from(&self, kind: Attempt, ip: Option<IpAddr>) -> bool {
        let Some(ip) = ip.map(throttle_key) else {
            return true;
        };
        self.0
            .by_address
            .hit((kind, ip), self.0.config.attempts_per_minute)
    }

    /// Count an attempt on `account` (a username, whoever sends it, or a user's token
    /// creations); false when the account exceeded its budget this minute. This slows a guess
    /// spread over many addresses, which the per-address budget does not see.
    pub fn allow_account_attempt(&self, account: &str) -> bool {
        let key = account.trim().to_lowercase();
        self.0
            .by_account
            .hit(key, self.0.config.account_attempts_per_minute)
    }

    /// A correct password or code on `account`: its attempt is given back, so that only
    /// guesses spend the account's budget (a user who logs in often is never slowed).
    pub fn account_succeeded(&self, account: &str) {
        self.0.by_account.refund(&account.trim().to_lowercase());
    }

    /// Print a new one-time bootstrap token when no user exists; returns it (only to show it
    /// once on the console). None when users exist.
    pub async fn bootstrap_token(&self) -> Result<Option<String>, WebError> {
        if self.store().user_count().await? > 0 {
            return Ok(None);
        }
        let token = auth::random_hex(32)?;
        if self
            .store()
            .set_bootstrap_token(&auth::digest(&token))
            .await?
        {
            Ok(Some(token))
        } else {
            Ok(None)
        }
    }
}

/// The address a login attempt counts against: an IPv4 address, or the /64 an IPv6 address is
/// in. One host is usually given a whole /64, so counting each of its 2^64 addresses apart would
/// give it an unlimited number of attempts; an IPv4 address written as IPv6 counts as itself.
pub fn throttle_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
    }
}

/// The whole application: pages, API, health and metrics, with security headers on every answer.
pub fn router(state: AppState) -> Router {
    let limit = state.config().max_upload_bytes;
    Router::new()
        .merge(pages::routes(limit))
        .nest("/api/v1", api::routes(limit))
        .route("/healthz", axum::routing::get(healthz))
        .route(passkey::SCRIPT_PATH, axum::routing::get(passkey_script))
        .route("/metrics", axum::routing::get(metrics::render))
        // Forms and JSON; the upload routes raise it for themselves. Extractors apply it to
        // declared and chunked bodies alike (413).
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(middleware::from_fn(no_nul_in_address))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            framework_errors::render,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// The page script of the passkey ceremonies (`passkey`), the application's only script.
async fn passkey_script() -> Response {
    use axum::response::IntoResponse as _;
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        passkey::SCRIPT,
    )
        .into_response()
}

async fn healthz(State(st): State<AppState>) -> Result<&'static str, WebError> {
    st.store().user_count().await?;
    Ok("ok\n")
}

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if st.config().secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// A NUL character in the path or the query (`%00`, the only way to write one in an address)
/// names nothing: refused here (400, shown as JSON or a page by `framework_errors`) before any
/// handler passes it to the database, where PostgreSQL would fail on it.
async fn no_nul_in_address(req: Request, next: Next) -> Response {
    use axum::response::IntoResponse as _;
    let nul = req
        .uri()
        .path_and_query()
        .is_some_and(|pq| pq.as_str().to_ascii_lowercase().contains("%00"));
    if nul {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "the address holds a NUL character (%00)",
        )
            .into_response();
    }
    next.run(req).await
}

/// The largest body of anything but an evidence upload (forms, JSON): a login or a setup form
/// never needs more, and the server must not buffer megabytes for anonymous requests.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

async fn observe(State(st): State<AppState>, req: Request, next: Next) -> Response {
    use tracing::Instrument as _;
    let start = Instant::now();
    let path = req.uri().path().to_owned();
    let route = metrics::route_class(&path);
    let (mut parts, body) = req.into_parts();
    // The client as the rest of the request sees it (behind a trusted proxy, the forwarded one):
    // every log line of the request names it, and the security log its class.
    let ip = client::of(&parts, &st);
    let client = events::address_class(ip);
    let who = events::Who::default();
    parts.extensions.insert(who.clone());
    let span = match ip {
        Some(ip) => tracing::warn_span!("request", client = %ip),
        None => tracing::Span::none(),
    };
    let res = next
        .run(Request::from_parts(parts, body))
        .instrument(span)
        .await;
    events::log(&res, &who, &client, &path);
    st.metrics()
        .observe(route, res.status().as_u16(), start.elapsed());
    res
}
