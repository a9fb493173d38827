//! Test helpers: an app on a temporary SQLite store or a fresh PostgreSQL database, seeded with
//! facilities in two regions, users of every role, sessions and API tokens.
#![allow(dead_code, clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use hygie_core::{Facility, FacilityKind, Finess, Nis2Status, Region};
use hygie_store::{Actor, Binding, NewUser, Role, SessionStage, Store, TokenAccess, User};
use hygie_web::{AppState, Config, auth};
use tower::ServiceExt;

pub struct App {
    pub router: Router,
    pub store: Store,
    pub state: AppState,
    /// The database (dropped, for PostgreSQL, when the app is).
    pub db: hygie_testkit::TestDb,
}

pub const PASSWORD: &str = "correct horse battery staple";

fn password_hash() -> String {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| auth::hash_password(PASSWORD).unwrap())
        .clone()
}

async fn open(db: hygie_testkit::TestDb) -> App {
    open_with(db, Config::default()).await
}

async fn open_with(db: hygie_testkit::TestDb, config: Config) -> App {
    let store = Store::open(&db.url).await.unwrap();
    let catalog = hygie_catalog::bundled().unwrap();
    let state = AppState::new(store.clone(), catalog, config);
    App {
        router: hygie_web::router(state.clone()),
        store,
        state,
        db,
    }
}

pub async fn sqlite_app() -> App {
    open(hygie_testkit::TestDb::sqlite()).await
}

/// An app on a temporary SQLite store with this configuration.
pub async fn sqlite_app_with(config: Config) -> App {
    open_with(hygie_testkit::TestDb::sqlite(), config).await
}

/// An API token for one facility created by `creator` (an actor such as `web:admin`).
pub async fn token_by(app: &App, f: &Finess, access: TokenAccess, creator: &str) -> String {
    let secret = format!("hyg_{}", auth::random_hex(32).unwrap());
    app.store
        .create_token(
            "test",
            f,
            access,
            &auth::digest(&secret),
            hygie_store::TOKEN_DEFAULT_DAYS,
            &Actor(creator.into()),
        )
        .await
        .unwrap();
    secret
}

/// A fresh PostgreSQL database, or None (SKIP) when the server is unreachable outside CI
/// (a failure when CI=true).
pub async fn pg_app() -> Option<App> {
    let db = tokio::task::spawn_blocking(hygie_testkit::TestDb::postgres)
        .await
        .unwrap()?;
    Some(open(db).await)
}

impl App {
    /// Close the pool, then drop the database (PostgreSQL).
    pub async fn cleanup(self) {
        self.store.close().await;
        let db = self.db;
        tokio::task::spawn_blocking(move || drop(db)).await.unwrap();
    }

    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// Send a request and read its answer as JSON.
    pub async fn json(&self, req: Request<Body>) -> serde_json::Value {
        let text = body_string(self.send(req).await).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// Send a request and keep only the status of the answer.
    pub async fn status(&self, req: Request<Body>) -> StatusCode {
        self.send(req).await.status()
    }

    /// The facility's status today, read straight from the store.
    pub async fn status_today(&self, f: &Finess) -> hygie_core::FacilityStatus {
        let catalog = hygie_catalog::bundled().unwrap();
        self.store
            .facility_status(&catalog, f, hygie_web::api::today())
            .await
            .unwrap()
    }
}

/// A level-1 measure not done yet that no failing check holds down (the seed fails a rule of
/// IAM-04): one that a declaration or an evidence upload moves forward.
pub fn undone_level_one(st: &hygie_core::FacilityStatus) -> hygie_core::MeasureId {
    st.measures
        .iter()
        .find(|m| {
            m.level == Some(1)
                && !m.status.is_done()
                && m.status != hygie_core::EffectiveStatus::Failing
        })
        .unwrap()
        .id
        .clone()
}

pub async fn body_string(r: Response<Body>) -> String {
    let b = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8_lossy(&b).into_owned()
}

pub struct Seed {
    /// In region BRE: the facility the facility-bound users hold.
    pub own: Finess,
    /// Also in BRE, not held by facility-bound users.
    pub other: Finess,
    /// In IDF.
    pub far: Finess,
    /// sha256 of one evidence file per facility (own, other, far).
    pub sha: [String; 3],
    /// One audit run id per facility (own, other, far), with a failed rule.
    pub runs: [String; 3],
    /// One incident id per facility (own, other, far).
    pub incidents: [String; 3],
}

pub async fn seed(app: &App) -> Seed {
    let actor = Actor("test".into());
    let mk = |first8: &str, name: &str, region: &str| Facility {
        id: Finess::with_check_digit(first8).unwrap(),
        legal_entity: None,
        name: name.into(),
        kind: FacilityKind::Hospital,
        region: Region::parse(region).unwrap(),
        nis2: Nis2Status::Essential,
        plan_start: jiff::civil::date(2025, 1, 1),
    };
    let fs = [
        mk("35000101", "CH Own", "BRE"),
        mk("35000102", "CH Other", "BRE"),
        mk("75000103", "CH Far", "IDF"),
    ];
    let m = hygie_core::MeasureId::parse("IAM-04").unwrap();
    let mut sha = Vec::new();
    for f in &fs {
        app.store.add_facility(f, false, &actor).await.unwrap();
        let e = app
            .store
            .add_evidence_file(
                &f.id,
                &m,
                "policy.pdf",
                format!("evidence of {}", f.id).as_bytes(),
                &actor,
            )
            .await
            .unwrap();
        if let hygie_store::EvidenceKind::File { sha256, .. } = e.kind {
            sha.push(sha256);
        }
    }
    let mut runs = Vec::new();
    let mut incidents = Vec::new();
    let now = jiff::Timestamp::now();
    for f in &fs {
        let run = hygie_core::CheckRun {
            id: format!("run-{}", f.id),
            source: "ad".into(),
            at: now,
            results: vec![hygie_core::RuleResult {
                rule: "AD-KRBTGT-AGE".into(),
                severity: hygie_core::Severity::High,
                outcome: hygie_core::RuleOutcome::Fail,
                measures: vec![m.clone()],
                objects: vec![format!("krbtgt of {}", f.id)],
            }],
        };
        app.store
            .record_check_run(&f.id, &run, &serde_json::json!({}), &actor)
            .await
            .unwrap();
        runs.push(run.id);
        app.store
            .record_alerts(
                &f.id,
                &[hygie_core::Alert {
                    id: format!("alert-{}", f.id),
                    rule_id: "sigma-1".into(),
                    title: format!("Suspicious logon at {}", f.id),
                    level: "high".into(),
                    tags: vec![],
                    time: Some(now.to_string()),
                    last_time: None,
                    host: Some("srv-1".into()),
                    record_id: 1,
                    source: "evtx".into(),
                    fields: vec![],
                    count: 1,
                }],
                &actor,
            )
            .await
            .unwrap();
        let input = hygie_incident::FactsInput {
            facility: Some(f.id.to_string()),
            title: Some(format!("Ransomware at {}", f.id)),
            awareness: Some(now.to_string()),
            personal_data_breach: Some("risk".into()),
            ..hygie_incident::FactsInput::default()
        };
        let inc = app
            .store
            .create_incident(&f.id, &actor, |id| {
                let facts = input
                    .into_facts(Some(Nis2Status::Essential), now)
                    .map_err(|e| hygie_store::StoreError::Invalid(e.to_string()))?;
                hygie_incident::Incident::open(&id, facts, now)
                    .map_err(|e| hygie_store::StoreError::Invalid(e.to_string()))
            })
            .await
            .unwrap();
        incidents.push(inc.id);
    }
    Seed {
        runs: [runs[0].clone(), runs[1].clone(), runs[2].clone()],
        incidents: [
            incidents[0].clone(),
            incidents[1].clone(),
            incidents[2].clone(),
        ],
        own: fs[0].id.clone(),
        other: fs[1].id.clone(),
        far: fs[2].id.clone(),
        sha: [sha[0].clone(), sha[1].clone(), sha[2].clone()],
    }
}

/// A seeded app with a user of `role` bound to the own facility, logged in: the app, the seed,
/// the session's cookie and CSRF token.
pub async fn signed_in(name: &str, role: Role) -> (App, Seed, String, String) {
    let app = sqlite_app().await;
    let s = seed(&app).await;
    let u = facility_user(&app, name, role, &s.own).await;
    let (cookie, csrf) = session(&app, &u).await;
    (app, s, cookie, csrf)
}

/// A user bound to one facility.
pub async fn facility_user(app: &App, name: &str, role: Role, facility: &Finess) -> User {
    let binding = Binding::Facilities {
        facilities: vec![facility.clone()],
    };
    user(app, name, role, binding).await
}

/// A DPO ("dpo") bound to the seed's two facilities of Brittany, signed in: the user, and the
/// session's cookie and CSRF token.
pub async fn dpo_of_both(app: &App, s: &Seed) -> (User, String, String) {
    let u = user(
        app,
        "dpo",
        Role::Dpo,
        Binding::Facilities {
            facilities: vec![s.own.clone(), s.other.clone()],
        },
    )
    .await;
    let (cookie, csrf) = session(app, &u).await;
    (u, cookie, csrf)
}

pub async fn user(app: &App, name: &str, role: Role, binding: Binding) -> User {
    app.store
        .create_user(
            &NewUser {
                username: name.into(),
                display_name: format!("Test {name}"),
                role,
                binding,
                password_hash: password_hash(),
                lang: None,
            },
            &Actor("test".into()),
        )
        .await
        .unwrap()
}

/// A fully authenticated session straight in the store: (cookie header value, csrf token).
pub async fn session(app: &App, u: &User) -> (String, String) {
    let id = auth::random_hex(32).unwrap();
    let csrf = auth::csrf_token(&id);
    let exp = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    app.store
        .create_session(&auth::digest(&id), u.id, SessionStage::Full, exp, "")
        .await
        .unwrap();
    (format!("{}={id}", hygie_web::SESSION_COOKIE), csrf)
}

/// An API token secret for one facility.
pub async fn token(app: &App, f: &Finess, access: TokenAccess) -> String {
    let secret = format!("hyg_{}", auth::random_hex(32).unwrap());
    app.store
        .create_token(
            "test",
            f,
            access,
            &auth::digest(&secret),
            hygie_store::TOKEN_DEFAULT_DAYS,
            &Actor("test".into()),
        )
        .await
        .unwrap();
    secret
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// A GET carrying a whole `Cookie` header value (`hygie_session=...`).
pub fn get_with(uri: impl AsRef<str>, cookie: &str) -> Request<Body> {
    Request::get(uri.as_ref())
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// A form POST carrying a whole `Cookie` header value, its fields URL-encoded.
pub fn post_form(uri: impl AsRef<str>, cookie: &str, fields: &[(&str, &str)]) -> Request<Body> {
    Request::post(uri.as_ref())
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form_body(fields)))
        .unwrap()
}

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Cred {
    None,
    Cookie { cookie: String, csrf: String },
    Bearer(String),
}

pub fn request(
    method: &str,
    uri: &str,
    cred: &Cred,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    match cred {
        Cred::None => {}
        Cred::Cookie { cookie, csrf } => {
            b = b
                .header(header::COOKIE, cookie)
                .header("x-csrf-token", csrf);
        }
        Cred::Bearer(t) => b = b.header(header::AUTHORIZATION, format!("Bearer {t}")),
    }
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(Body::from(body)).unwrap()
}

/// A GET with these credentials.
pub fn get_as(uri: &str, cred: &Cred) -> Request<Body> {
    request("GET", uri, cred, None, vec![])
}

/// A POST of a JSON body with these credentials.
pub fn post_json(uri: &str, cred: &Cred, json: &str) -> Request<Body> {
    request(
        "POST",
        uri,
        cred,
        Some("application/json"),
        json.as_bytes().to_vec(),
    )
}

pub fn form_body(pairs: &[(&str, &str)]) -> Vec<u8> {
    let enc = auth::percent_encode;
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

pub fn is_success(s: StatusCode) -> bool {
    s.is_success()
}

/// The value a response sets for a cookie, if any.
pub fn set_cookie_value(r: &Response<Body>, name: &str) -> Option<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Fetch the login form and post credentials; returns the response.
pub async fn login(
    app: &App,
    username: &str,
    password: &str,
    extra_cookie: Option<&str>,
) -> Response<Body> {
    let form = app.send(get("/login")).await;
    let pre = set_cookie_value(&form, "hygie_pre").unwrap();
    let mut cookie = format!("hygie_pre={pre}");
    if let Some(c) = extra_cookie {
        cookie.push_str("; ");
        cookie.push_str(c);
    }
    let req = post_form(
        "/login",
        &cookie,
        &[
            ("csrf", &pre),
            ("username", username),
            ("password", password),
        ],
    );
    app.send(req).await
}

/// The CSRF token of a page's form.
pub fn csrf_field(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

pub async fn post_code(app: &App, path: &str, session: &str, code: &str) -> Response<Body> {
    let page = app
        .send(get_with(path, &format!("hygie_session={session}")))
        .await;
    assert_eq!(page.status(), 200, "{path}");
    let html = body_string(page).await;
    let csrf = csrf_field(&html);
    let req = post_form(
        path,
        &format!("hygie_session={session}"),
        &[("csrf", &csrf), ("code", code)],
    );
    app.send(req).await
}
