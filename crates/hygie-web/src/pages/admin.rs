//! Administration: the journal, API tokens and the webhook deliveries (user accounts are in
//! `users`).

use super::{ClientIp, CsrfForm, PageResult, PageUser, see_other};
use crate::api::{self};
use crate::html::t;
use crate::{AppState, WebError};
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use hygie_core::Lang;
use hygie_report::Translate;
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/journal", get(journal_page))
        .route("/tokens", get(tokens_page).post(token_create))
        .route("/tokens/{id}/revoke", post(token_revoke))
        .route("/admin/webhooks", get(webhooks_page))
        .route("/facilities/{finess}/webhooks", get(facility_webhooks_page))
}

/// The webhook deliveries (template `webhooks.html`): every facility's for an
/// installation-wide account, one facility's under `/facilities/{finess}/webhooks`.
#[derive(askama::Template)]
#[template(path = "webhooks.html")]
struct WebhooksBody<'a> {
    lang: Lang,
    facility: Option<&'a hygie_core::Finess>,
    rows: &'a [hygie_store::DeliveryRecord],
    failed: usize,
    /// This server's e-mail schedule (`hygie serve --notify-every`): the next pass of the
    /// reminders and the pass that sends the next weekly digests, when scheduled.
    next_pass: Option<jiff::Timestamp>,
    next_digests: Option<jiff::Timestamp>,
}

/// A schedule's instant from its gauge (seconds since the epoch, 0: none).
fn scheduled(gauge: &std::sync::atomic::AtomicU64) -> Option<jiff::Timestamp> {
    let s = gauge.load(std::sync::atomic::Ordering::Relaxed);
    match i64::try_from(s) {
        Ok(s) if s > 0 => jiff::Timestamp::from_second(s).ok(),
        _ => None,
    }
}

impl WebhooksBody<'_> {
    fn state(&self, s: &str) -> &'static str {
        let (en, fr) = match s {
            "pending" => ("waiting for a retry", "en attente d'une nouvelle tentative"),
            "sending" => ("sending", "en cours d'envoi"),
            "delivered" => ("delivered", "remis"),
            _ => ("failed", "en échec"),
        };
        t(self.lang, en, fr)
    }
}

#[derive(Deserialize)]
struct WebhooksQuery {
    #[serde(default)]
    failed: Option<String>,
}

/// Deliveries shown on a page.
const WEBHOOKS_SHOWN: i64 = 200;

async fn webhooks_page(
    State(st): State<AppState>,
    p: PageUser,
    axum::extract::Query(q): axum::extract::Query<WebhooksQuery>,
) -> PageResult {
    let failed_only = q.failed.is_some_and(|f| !f.is_empty() && f != "0");
    let rows = st
        .scoped(&p.c)
        .webhook_deliveries(None, failed_only, WEBHOOKS_SHOWN)
        .await?;
    let lang = p.lang();
    let m = st.metrics();
    let b = hygie_report::render(&WebhooksBody {
        lang,
        facility: None,
        failed: rows.iter().filter(|d| d.state == "failed").count(),
        rows: &rows,
        next_pass: scheduled(&m.reminders_next_run),
        next_digests: scheduled(&m.digests_next_run),
    });
    Ok(p.page(t(lang, "Webhooks", "Webhooks"), &b))
}

async fn facility_webhooks_page(
    at: super::FacilityPage,
    axum::extract::Query(q): axum::extract::Query<WebhooksQuery>,
) -> PageResult {
    let failed_only = q.failed.is_some_and(|f| !f.is_empty() && f != "0");
    let rows = at
        .scoped()
        .webhook_deliveries(Some(&at.id), failed_only, WEBHOOKS_SHOWN)
        .await?;
    let lang = at.lang();
    let fac = at.scoped().facility(&at.id).await?;
    let body = WebhooksBody {
        lang,
        facility: Some(&at.id),
        failed: rows.iter().filter(|d| d.state == "failed").count(),
        rows: &rows,
        next_pass: None,
        next_digests: None,
    };
    Ok(at.titled(&fac, t(lang, "Webhooks", "Webhooks"), &body))
}

/// A page of the journal, newest first, under the verdict on its hash chain: the filters, the
/// entries with their details as fields, times in the reader's zone, links to the older and
/// newer pages (sealed cursors: `AppState::seal_cursor`).
#[derive(askama::Template)]
#[template(path = "journal.html")]
struct JournalBody<'a> {
    lang: Lang,
    check: &'a hygie_store::JournalCheck,
    rows: Vec<JournalRow>,
    /// Sequence numbers are installation-wide: shown to installation-wide accounts only.
    show_seq: bool,
    /// The filters as typed, and why they were refused.
    q: &'a JournalQuery,
    error: Option<String>,
    zone: &'a str,
    older: Option<String>,
    newer: Option<String>,
}

/// One entry as the page shows it.
pub(crate) struct JournalRow {
    pub(crate) seq: i64,
    pub(crate) when: String,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) subject: String,
    pub(crate) fields: Vec<(String, String)>,
}

/// The API tokens in scope and the form to create one; `created` is a new token's secret, shown
/// once right after its creation.
#[derive(askama::Template)]
#[template(path = "tokens.html")]
struct TokensBody<'a> {
    lang: Lang,
    csrf: &'a str,
    created: Option<&'a str>,
    tokens: &'a [hygie_store::ApiToken],
    facilities: &'a [hygie_core::Facility],
    default_days: i64,
    max_days: i64,
    access_kinds: [hygie_store::TokenAccess; 2],
}

hygie_report::translate_by_lang_field!(JournalBody, TokensBody, WebhooksBody);

/// The zones a reader may see times in: France's, UTC and the overseas regions'.
const ZONES: [&str; 7] = [
    "Europe/Paris",
    "UTC",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "Indian/Reunion",
    "Indian/Mayotte",
];

/// Entries on a page.
const JOURNAL_PAGE: i64 = 100;

/// The journal page's query: filters, zone and cursor, all as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JournalQuery {
    actor: String,
    action: String,
    facility: String,
    from: String,
    to: String,
    tz: String,
    before: String,
    after: String,
}

impl JournalQuery {
    /// The query string of these filters (for the paging links), without the cursor.
    fn filters(&self) -> String {
        let enc = crate::auth::percent_encode;
        [
            ("actor", &self.actor),
            ("action", &self.action),
            ("facility", &self.facility),
            ("from", &self.from),
            ("to", &self.to),
            ("tz", &self.tz),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// The filters of `q` in the zone `tz`; a refusal in the reader's language.
fn journal_filter(
    q: &JournalQuery,
    tz: &jiff::tz::TimeZone,
    lang: Lang,
) -> Result<hygie_store::JournalFilter, String> {
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let facility = match q.facility.trim() {
        "" => None,
        f => Some(hygie_core::Finess::parse_localized(f).map_err(|e| e.get(lang).to_owned())?),
    };
    // A day of the reader's zone, from its first instant.
    let day = |field: &str, s: &str, next: bool| -> Result<Option<jiff::Timestamp>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let bad = || {
            format!(
                "{field}: {} « {s} »",
                t(
                    lang,
                    "not a date (YYYY-MM-DD):",
                    "pas une date (AAAA-MM-JJ) :"
                )
            )
        };
        let d: jiff::civil::Date = s.parse().map_err(|_| bad())?;
        let d = if next {
            d.tomorrow().map_err(|_| bad())?
        } else {
            d
        };
        let start = d.to_zoned(tz.clone()).map_err(|_| bad())?;
        Ok(Some(start.timestamp()))
    };
    Ok(hygie_store::JournalFilter {
        actor: text(&q.actor),
        action: text(&q.action),
        facility,
        from: day(t(lang, "from", "du"), &q.from, false)?,
        to: day(t(lang, "to", "au"), &q.to, true)?,
    })
}

/// A journal entry's details (a JSON object) as fields to read: nested objects give dotted
/// names, lists are joined, nulls are a dash; details that are not an object are one field.
pub(crate) fn detail_fields(details: &str) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        use serde_json::Value as V;
        match v {
            V::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&name, v, out);
                }
            }
            V::Object(_) => {}
            V::Array(items) => {
                let scalar = items.iter().all(|i| !i.is_object() && !i.is_array());
                if scalar {
                    let parts: Vec<String> = items.iter().map(scalar_text).collect();
                    out.push((prefix.to_owned(), parts.join(", ")));
                } else {
                    for (i, item) in items.iter().enumerate() {
                        walk(&format!("{prefix}[{}]", i + 1), item, out);
                    }
                }
            }
            v => out.push((prefix.to_owned(), scalar_text(v))),
        }
    }
    fn scalar_text(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "—".into(),
            v => v.to_string(),
        }
    }
    match serde_json::from_str::<serde_json::Value>(details) {
        Ok(v) => {
            let mut out = Vec::new();
            walk("", &v, &mut out);
            out
        }
        Err(_) if details.trim().is_empty() => Vec::new(),
        Err(_) => vec![(String::new(), details.to_owned())],
    }
}

impl JournalRow {
    /// An entry as the journal's table shows it: its time in `tz`, its details as fields.
    pub(crate) fn of(e: &hygie_core::journal::JournalEntry, tz: &jiff::tz::TimeZone) -> JournalRow {
        JournalRow {
            seq: e.seq,
            when: journal_time(&e.at, tz),
            actor: e.actor.clone(),
            action: e.action.clone(),
            subject: e.subject.clone(),
            fields: detail_fields(&e.details),
        }
    }
}

/// A journal time (RFC 3339) in `tz`, to the second, with its offset; as stored if unreadable.
fn journal_time(at: &str, tz: &jiff::tz::TimeZone) -> String {
    match at.parse::<jiff::Timestamp>() {
        Ok(ts) => ts
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        Err(_) => at.to_owned(),
    }
}

async fn journal_page(
    State(st): State<AppState>,
    p: PageUser,
    axum::extract::Query(q): axum::extract::Query<JournalQuery>,
) -> PageResult {
    let lang = p.lang();
    let scoped = st.scoped(&p.c);
    let check = scoped.verify_journal().await?;
    let zone = ZONES
        .iter()
        .copied()
        .find(|z| *z == q.tz.trim())
        .unwrap_or(ZONES[0]);
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let cursor = match (q.before.trim(), q.after.trim()) {
        ("", "") => hygie_store::JournalCursor::Newest,
        (b, "") => hygie_store::JournalCursor::Before(st.open_cursor(p.user.id, b)?),
        (_, a) => hygie_store::JournalCursor::After(st.open_cursor(p.user.id, a)?),
    };
    let (page, error) = match journal_filter(&q, &tz, lang) {
        Ok(filter) => (
            Some(scoped.journal_page(&filter, cursor, JOURNAL_PAGE).await?),
            None,
        ),
        Err(e) => (None, Some(e)),
    };
    let rows = page
        .as_ref()
        .map(|pg| pg.entries.iter().map(|e| JournalRow::of(e, &tz)).collect())
        .unwrap_or_default();
    let link = |key: &str, seq: Option<i64>| -> Result<Option<String>, WebError> {
        let Some(seq) = seq else { return Ok(None) };
        let filters = q.filters();
        let sep = if filters.is_empty() { "" } else { "&" };
        Ok(Some(format!(
            "/journal?{filters}{sep}{key}={}",
            st.seal_cursor(p.user.id, seq)?
        )))
    };
    let older = link("before", page.as_ref().and_then(|pg| pg.older))?;
    let newer = link("after", page.as_ref().and_then(|pg| pg.newer))?;
    let refused = error.is_some();
    let b = hygie_report::render(&JournalBody {
        lang,
        check: &check,
        rows,
        show_seq: scoped.sees_journal_sequence(),
        q: &q,
        error,
        zone,
        older,
        newer,
    });
    let mut res = p.page(t(lang, "Journal", "Journal"), &b);
    if refused {
        *res.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(res)
}

// --- API tokens ------------------------------------------------------------------------------

async fn tokens_view(st: &AppState, p: &PageUser, created: Option<&str>) -> PageResult {
    let lang = p.lang();
    let scoped = st.scoped(&p.c);
    let tokens = scoped.tokens().await?;
    let facilities = scoped.facilities().await?;
    let b = hygie_report::render(&TokensBody {
        lang,
        csrf: p.c.csrf(),
        created,
        tokens: &tokens,
        facilities: &facilities,
        default_days: hygie_store::TOKEN_DEFAULT_DAYS,
        max_days: hygie_store::TOKEN_MAX_DAYS,
        access_kinds: hygie_store::TokenAccess::ALL,
    });
    Ok(p.page(t(lang, "API tokens", "Jetons d'API"), &b))
}

async fn tokens_page(State(st): State<AppState>, p: PageUser) -> PageResult {
    tokens_view(&st, &p, None).await
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
    name: String,
    facility: String,
    access: String,
    /// Days until the token expires (the form offers 90, at most 365).
    expires_in_days: Option<String>,
}

async fn token_create(
    State(st): State<AppState>,
    p: PageUser,
    ClientIp(ip): ClientIp,
    Form(f): Form<TokenForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let days = match f.expires_in_days.as_deref().map(str::trim) {
        None | Some("") => hygie_store::TOKEN_DEFAULT_DAYS,
        Some(d) => d.parse().map_err(|_| {
            WebError::Invalid(format!("expires_in_days: '{d}' is not a number of days"))
        })?,
    };
    let (secret, _) =
        api::create_token(&st, &p.c, ip, &f.name, &f.facility, &f.access, days).await?;
    tokens_view(&st, &p, Some(&secret)).await
}

async fn token_revoke(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    st.scoped(&p.c).revoke_token(&id).await?;
    Ok(see_other("/tokens"))
}
