//! The JSON API under `/api/v1`. Every handler reads and writes through `Store::scoped`.
//! Cookie-authenticated state changes need the `X-CSRF-Token` header (the `Changing` extractor);
//! bearer tokens do not. Handlers about one facility take `AtFacility` (`crate::scope`).

use crate::scope::{AtFacility, finess};
use crate::{AppState, Caller, WebError, auth};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use hygie_core::{DeclaredStatus, MeasureId, Region};
use hygie_store::{JournalCheck, TokenAccess};
use serde::Deserialize;

/// Declares every route of the API once: `ROUTES` (method, path as in the OpenAPI document; a
/// test checks that each is routed and documented) and the router, from the same lines.
/// A route marked `[upload]` takes bodies up to the upload limit; every other one keeps the
/// router's small default (`MAX_FORM_BYTES`).
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path $([$upload:ident])?;)*) => {
        /// Every route of the API (method, path as in the OpenAPI document).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), concat!("/api/v1", $path))),*];

        pub fn routes(upload_limit: usize) -> Router<AppState> {
            Router::new()$(.route($path, api_routes!(@one $method $handler, $([$upload])? upload_limit)))*
        }
    };
    (@one $method:ident $handler:path, $limit:ident) => { $method($handler) };
    (@one $method:ident $handler:path, [upload] $limit:ident) => {
        $method($handler).layer(axum::extract::DefaultBodyLimit::max($limit))
    };
}

api_routes! {
    get "/openapi.json" => crate::openapi::document;
    get "/me" => me;
    get "/facilities" => facilities;
    post "/facilities" => facility_add;
    get "/facilities/{finess}" => facility;
    patch "/facilities/{finess}" => facility_update;
    get "/facilities/{finess}/status" => status;
    get "/facilities/{finess}/measures/{measure}" => measure;
    post "/facilities/{finess}/measures/{measure}/declarations" => declare;
    get "/facilities/{finess}/measures/{measure}/evidence" => evidence_list;
    post "/facilities/{finess}/measures/{measure}/evidence" => evidence_upload [upload];
    post "/facilities/{finess}/measures/{measure}/links" => evidence_link;
    get "/facilities/{finess}/evidence/{sha256}" => evidence_download;
    get "/facilities/{finess}/audits" => audits;
    get "/facilities/{finess}/audits/{run}" => audit;
    get "/facilities/{finess}/assets" => crate::asset_api::assets;
    get "/facilities/{finess}/assets/{asset}" => crate::asset_api::asset;
    get "/facilities/{finess}/map" => crate::asset_api::map;
    get "/facilities/{finess}/alerts" => crate::incident_api::alerts;
    get "/facilities/{finess}/alerts/{alert}" => crate::incident_api::alert;
    post "/facilities/{finess}/alerts/{alert}/triage" => crate::incident_api::triage;
    get "/facilities/{finess}/incidents" => incidents;
    post "/facilities/{finess}/incidents" => crate::incident_api::open;
    get "/facilities/{finess}/incidents/{incident}" => incident;
    post "/facilities/{finess}/incidents/{incident}/facts" => crate::incident_api::update;
    post "/facilities/{finess}/incidents/{incident}/sendings" => crate::incident_api::sending;
    post "/facilities/{finess}/incidents/{incident}/close" => crate::incident_api::close;
    get "/facilities/{finess}/incidents/{incident}/drafts/{duty}" => incident_draft;
    get "/regions/{region}/status" => region_status;
    get "/journal/verify" => journal_verify;
    get "/tokens" => tokens;
    post "/tokens" => token_create;
    delete "/tokens/{id}" => token_revoke;
    get "/users" => crate::accounts::users;
    get "/users/{id}" => crate::accounts::user;
    post "/users/{id}/disable" => crate::accounts::disable;
    post "/users/{id}/enable" => crate::accounts::enable;
    post "/users/{id}/unlock" => crate::accounts::unlock;
    post "/users/{id}/reset-password" => crate::accounts::reset_password;
    post "/users/{id}/reset-totp" => crate::accounts::reset_totp;
    post "/users/{id}/end-sessions" => crate::accounts::end_sessions;
    delete "/users/{id}" => crate::accounts::delete;
    get "/me/sessions" => crate::accounts::my_sessions;
    post "/me/sessions/end-others" => crate::accounts::end_my_other_sessions;
    get "/security-events" => crate::accounts::security_events;
    post "/sync/packages" => crate::sync_api::receive [upload];
    get "/sync/requests" => crate::sync_api::requests;
}

/// Today in France's calendar.
pub fn today() -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::now().to_zoned(tz).date()
}

pub(crate) fn measure_id(st: &AppState, s: &str) -> Result<MeasureId, WebError> {
    st.catalog()
        .resolve(s)
        .map(|m| m.id.clone())
        .map_err(|_| WebError::NotFound(format!("measure {s}")))
}

pub(crate) fn region(s: &str) -> Result<Region, WebError> {
    Region::parse(s).map_err(|_| WebError::NotFound(format!("region {s}")))
}

/// A caller whose state-changing request passed the CSRF check: a session must send its token in
/// the `X-CSRF-Token` header; a bearer token carries no ambient credential and needs none.
pub(crate) struct Changing(pub(crate) Caller);

impl FromRequestParts<AppState> for Changing {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, WebError> {
        let c = Caller::from_request_parts(parts, st).await?;
        let header = parts.headers.get("x-csrf-token");
        c.check_csrf(header.and_then(|v| v.to_str().ok()))?;
        Ok(Changing(c))
    }
}

impl AsRef<Caller> for Changing {
    fn as_ref(&self) -> &Caller {
        &self.0
    }
}

async fn me(c: Caller) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "actor": c.access.actor,
        "user": c.user,
        "binding": c.access.binding,
        "can_write": c.access.write,
        "csrf_token": c.session.as_ref().map(|(_, t)| t),
    }))
}

async fn facilities(State(st): State<AppState>, c: Caller) -> Result<Response, WebError> {
    let list = st.scoped(&c).facilities().await?;
    Ok(Json(list).into_response())
}

async fn facility(at: AtFacility<Caller>) -> Result<Response, WebError> {
    Ok(Json(at.facility().await?).into_response())
}

/// The fields refused by a parse (`FacilityInput`, `EvidenceLink`), in one message in the
/// caller's language.
fn refused_fields(errors: &[hygie_core::FieldError], lang: hygie_core::Lang) -> WebError {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message.get(lang)))
        .collect();
    WebError::Invalid(parts.join("; "))
}

/// A read-only role is refused before a word about the fields it sent.
pub(crate) fn may_manage_facilities(scoped: &hygie_store::Scoped<'_>) -> Result<(), WebError> {
    if scoped.manages_facilities() {
        Ok(())
    } else {
        Err(WebError::Forbidden(
            "only administrators and regional officers register and change facilities".into(),
        ))
    }
}

/// Register a facility (administrators, regional officers within their region), parsed as the
/// command line's `facility add` parses it.
async fn facility_add(
    State(st): State<AppState>,
    Changing(c): Changing,
    Json(b): Json<hygie_core::FacilityInput>,
) -> Result<Response, WebError> {
    let scoped = st.scoped(&c);
    may_manage_facilities(&scoped)?;
    let f = b.parse().map_err(|e| refused_fields(&e, c.lang))?;
    scoped.add_facility(&f).await?;
    Ok((StatusCode::CREATED, Json(scoped.facility(&f.id).await?)).into_response())
}

/// The fields a change of a facility gives; those left out keep their value.
#[derive(Deserialize)]
struct FacilityPatch {
    legal_entity: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    region: Option<String>,
    nis2: Option<String>,
    plan_start: Option<String>,
}

async fn facility_update(
    at: AtFacility<Changing>,
    Json(b): Json<FacilityPatch>,
) -> Result<Response, WebError> {
    let now = hygie_core::FacilityInput::of(&at.facility().await?);
    may_manage_facilities(&at.scoped())?;
    let input = hygie_core::FacilityInput {
        finess: now.finess,
        legal_entity: b.legal_entity.unwrap_or(now.legal_entity),
        name: b.name.unwrap_or(now.name),
        kind: b.kind.unwrap_or(now.kind),
        region: b.region.unwrap_or(now.region),
        nis2: b.nis2.unwrap_or(now.nis2),
        plan_start: b.plan_start.unwrap_or(now.plan_start),
    };
    let f = input.parse().map_err(|e| refused_fields(&e, at.lang()))?;
    let scoped = at.scoped();
    scoped.update_facility(&f).await?;
    Ok(Json(scoped.facility(&f.id).await?).into_response())
}

#[derive(Deserialize)]
pub(crate) struct AsOf {
    pub as_of: Option<String>,
}

pub(crate) fn as_of(q: &AsOf) -> Result<jiff::civil::Date, WebError> {
    match q.as_of.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Ok(hygie_core::parse_date("as_of", s)?),
        None => Ok(today()),
    }
}

async fn status(at: AtFacility<Caller>, Query(q): Query<AsOf>) -> Result<Response, WebError> {
    let s = at
        .scoped()
        .facility_status(at.catalog(), &at.id, as_of(&q)?)
        .await?;
    Ok(Json(s).into_response())
}

async fn measure(
    at: AtFacility<Caller>,
    Path((_, m)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (id, m) = (&at.id, measure_id(&at.st, &m)?);
    let scoped = at.scoped();
    let status = scoped.facility_status(at.catalog(), id, today()).await?;
    let state = status.measures.iter().find(|s| s.id == m);
    let history = scoped.declaration_history(id, Some(&m)).await?;
    let evidence = scoped.evidence(id, Some(&m)).await?;
    let history: Vec<_> = history
        .iter()
        .map(|r| {
            serde_json::json!({ "seq": r.seq, "status": r.declaration.status, "owner": r.declaration.owner,
                "note": r.declaration.note, "at": r.declaration.at, "by": r.declaration.by })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "facility": id, "measure": at.catalog().measure(&m), "state": state,
        "history": history, "evidence": evidence,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct DeclareBody {
    status: String,
    justification: Option<String>,
    owner: Option<String>,
    note: Option<String>,
}

async fn declare(
    at: AtFacility<Changing>,
    Path((_, m)): Path<(String, String)>,
    Json(b): Json<DeclareBody>,
) -> Result<Response, WebError> {
    let m = measure_id(&at.st, &m)?;
    let status = DeclaredStatus::parse(&b.status, b.justification.as_deref())?;
    let seq = at
        .scoped()
        .declare(&at.id, &m, &status, b.owner.as_deref(), b.note.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "seq": seq }))).into_response())
}

async fn evidence_list(
    at: AtFacility<Caller>,
    Path((_, m)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let m = measure_id(&at.st, &m)?;
    let e = at.scoped().evidence(&at.id, Some(&m)).await?;
    Ok(Json(e).into_response())
}

#[derive(Deserialize)]
struct Upload {
    file_name: Option<String>,
}

/// The base name of an uploaded file (browsers may send a path), trimmed and at most 200
/// characters. Characters that could disguise it are refused by the store, not removed here, so
/// that the web and the command line accept the same names.
pub(crate) fn clean_file_name(s: &str) -> Result<String, WebError> {
    let base = s.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let clean: String = base.chars().take(200).collect();
    if clean.is_empty() || clean == "." || clean == ".." {
        return Err(WebError::Invalid(
            "file_name: give the evidence file a name".into(),
        ));
    }
    Ok(clean)
}

async fn evidence_upload(
    at: AtFacility<Changing>,
    Path((_, m)): Path<(String, String)>,
    Query(q): Query<Upload>,
    body: Bytes,
) -> Result<Response, WebError> {
    let m = measure_id(&at.st, &m)?;
    let name = clean_file_name(q.file_name.as_deref().unwrap_or(""))?;
    if body.is_empty() {
        return Err(WebError::Invalid("the evidence file is empty".into()));
    }
    let item = at
        .scoped()
        .add_evidence_file(&at.id, &m, &name, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(item)).into_response())
}

#[derive(Deserialize)]
struct LinkBody {
    url: String,
    #[serde(default)]
    title: String,
}

/// A link as evidence of a measure, checked as the page and the command line check it.
async fn evidence_link(
    at: AtFacility<Changing>,
    Path((_, m)): Path<(String, String)>,
    Json(b): Json<LinkBody>,
) -> Result<Response, WebError> {
    let m = measure_id(&at.st, &m)?;
    let link = hygie_core::EvidenceLink::parse(&b.url, &b.title)
        .map_err(|e| refused_fields(&e, at.lang()))?;
    let item = at.scoped().add_evidence_link(&at.id, &m, &link).await?;
    Ok((StatusCode::CREATED, Json(item)).into_response())
}

async fn evidence_download(
    at: AtFacility<Caller>,
    Path((_, sha)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let (name, content) = at.scoped().evidence_file(&at.id, &sha).await?;
    Ok(crate::download::attachment(&name, content))
}

async fn audits(at: AtFacility<Caller>) -> Result<Response, WebError> {
    let list = at.scoped().check_run_list(&at.id).await?;
    Ok(Json(list).into_response())
}

/// One audit with its findings (the failed rules first).
async fn audit(
    at: AtFacility<Caller>,
    Path((_, run)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let mut run = at.scoped().check_run(&at.id, &run).await?;
    failed_first(&mut run);
    Ok(Json(run).into_response())
}

/// Order a run's results for reading: the failed rules first, the most severe first.
pub(crate) fn failed_first(run: &mut hygie_core::CheckRun) {
    run.results.sort_by_key(|r| {
        (
            r.outcome != hygie_core::RuleOutcome::Fail,
            std::cmp::Reverse(r.severity),
        )
    });
}

/// The next unmet deadline among an incident's obligations: when, and which duty.
pub(crate) fn next_due(
    obligations: &[hygie_incident::Obligation],
) -> Option<(jiff::Timestamp, hygie_incident::Duty)> {
    obligations
        .iter()
        .filter(|o| o.unmet())
        .filter_map(|o| o.due.as_ref().map(|d| (d.timestamp(), o.duty)))
        .min()
}

/// An incident's summary line: status, awareness, and its clocks now.
pub(crate) fn incident_line(
    inc: &hygie_incident::Incident,
    now: jiff::Timestamp,
) -> Result<serde_json::Value, WebError> {
    let obligations = inc.obligations(now)?;
    let next = next_due(&obligations);
    Ok(serde_json::json!({
        "id": inc.id,
        "title": inc.facts.title,
        "status": inc.status.as_str(),
        "awareness": hygie_incident::clock::rfc3339(&inc.facts.awareness),
        "unmet": obligations.iter().filter(|o| o.unmet()).count(),
        "late": obligations.iter().filter(|o| o.status == hygie_incident::ObligationStatus::Late).count(),
        "next_due": next.map(|(at, duty)| serde_json::json!({
            "duty": duty.as_str(), "due": at.to_string(), "remaining_seconds": at.duration_since(now).as_secs(),
        })),
    }))
}

async fn incidents(at: AtFacility<Caller>) -> Result<Response, WebError> {
    let list = at.scoped().incidents(&at.id).await?;
    let now = jiff::Timestamp::now();
    let lines = list
        .iter()
        .map(|i| incident_line(i, now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(lines).into_response())
}

/// An incident with its obligations (deadlines, remaining time) and the drafts available.
async fn incident(
    at: AtFacility<Caller>,
    Path((_, inc)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
) -> Result<Response, WebError> {
    let inc = at.scoped().incident(&at.id, &inc).await?;
    let now = jiff::Timestamp::now();
    let lang = lang_of(&q, at.lang())?;
    let obligations: Vec<serde_json::Value> = inc
        .obligations(now)?
        .iter()
        .map(|o| o.to_json(lang, now))
        .collect();
    Ok(Json(serde_json::json!({
        "incident": incident_line(&inc, now)?,
        "facts": inc.facts,
        "obligations": obligations,
        "sendings": crate::incident_api::sendings_json(&inc),
        "alerts": inc.facts.detection.alert_ids,
        "closure": inc.closure,
        "drafts": hygie_incident::Duty::ALL.map(|d| d.as_str()),
        "now": now.to_string(),
    }))
    .into_response())
}

#[derive(Deserialize)]
pub(crate) struct LangQuery {
    pub lang: Option<String>,
}

/// The language asked in `?lang=` (`en` or `fr`), else the caller's; another value is refused
/// rather than ignored, as the OpenAPI document says.
pub(crate) fn lang_of(
    q: &LangQuery,
    default: hygie_core::Lang,
) -> Result<hygie_core::Lang, WebError> {
    match q.lang.as_deref() {
        None | Some("") => Ok(default),
        Some(l) => hygie_core::Lang::ALL
            .into_iter()
            .find(|x| x.code() == l)
            .ok_or_else(|| WebError::Invalid(format!("lang: '{l}' is not a language (en, fr)"))),
    }
}

pub(crate) fn duty(s: &str) -> Result<hygie_incident::Duty, WebError> {
    s.parse::<hygie_incident::Duty>()
        .map_err(|_| WebError::NotFound(format!("duty {s}")))
}

/// The draft of one notification of an incident, as of now.
async fn incident_draft(
    at: AtFacility<Caller>,
    Path((_, inc, d)): Path<(String, String, String)>,
    Query(q): Query<LangQuery>,
) -> Result<Response, WebError> {
    let inc = at.scoped().incident(&at.id, &inc).await?;
    let lang = lang_of(&q, at.lang())?;
    let draft = hygie_incident::draft::draft(&inc, duty(&d)?, lang, jiff::Timestamp::now())?;
    Ok(Json(draft).into_response())
}

async fn region_status(
    State(st): State<AppState>,
    c: Caller,
    Path(r): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Response, WebError> {
    let r = st.region_status(&c.access, region(&r)?, as_of(&q)?).await?;
    Ok(Json(&r).into_response())
}

async fn journal_verify(State(st): State<AppState>, c: Caller) -> Result<Response, WebError> {
    let v = st.scoped(&c).verify_journal().await?;
    Ok(Json(match v {
        JournalCheck::Intact { entries } => {
            serde_json::json!({ "intact": true, "entries": entries })
        }
        JournalCheck::Broken(b) => serde_json::json!({ "intact": false, "break": b.to_string() }),
    })
    .into_response())
}

async fn tokens(State(st): State<AppState>, c: Caller) -> Result<Response, WebError> {
    Ok(Json(st.scoped(&c).tokens().await?).into_response())
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
    facility: String,
    access: String,
    /// Days until the token expires (default 90, at most 365).
    expires_in_days: Option<i64>,
}

async fn token_create(
    State(st): State<AppState>,
    Changing(c): Changing,
    crate::client::ClientIp(ip): crate::client::ClientIp,
    Json(b): Json<NewToken>,
) -> Result<Response, WebError> {
    let days = b.expires_in_days.unwrap_or(hygie_store::TOKEN_DEFAULT_DAYS);
    let (secret, t) = create_token(&st, &c, ip, &b.name, &b.facility, &b.access, days).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "token": secret, "id": t.id, "name": t.name, "facility": t.facility, "access": t.access,
            "expires_at": t.expires_at,
        })),
    )
        .into_response())
}

/// Create an API token that expires in `days` days; returns the secret (shown once) and the
/// stored record. Creations count against the client's address and the caller's account, like
/// login attempts: a stolen session cannot mint tokens in bulk.
pub(crate) async fn create_token(
    st: &AppState,
    c: &Caller,
    ip: Option<std::net::IpAddr>,
    name: &str,
    facility: &str,
    access: &str,
    days: i64,
) -> Result<(String, hygie_store::ApiToken), WebError> {
    if !st.allow_from(crate::Attempt::Token, ip) || !st.allow_account_attempt(&c.access.actor) {
        return Err(WebError::TooMany);
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.contains('\0') {
        return Err(WebError::Invalid("name: 1 to 80 characters, no NUL".into()));
    }
    let f = finess(facility)?;
    let access = TokenAccess::parse(access)?;
    let secret = format!("hyg_{}", auth::random_hex(32)?);
    let t = st
        .scoped(c)
        .create_token(name, &f, access, &auth::digest(&secret), days)
        .await?;
    Ok((secret, t))
}

async fn token_revoke(
    State(st): State<AppState>,
    Changing(c): Changing,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    st.scoped(&c).revoke_token(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
