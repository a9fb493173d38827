//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json` and kept faithful
//! to the server: every route the router has is documented (`tests/openapi.rs` compares the
//! operations with `api::ROUTES` both ways), every status a handler or the framework can answer
//! is listed with the error body's schema, enums are closed and come from the Rust types
//! (`schemas`), and request fields carry the limits the server checks. `scripts/api-fuzz.sh`
//! runs schemathesis against it.
//!
//! **To add a route**: its line in `api::api_routes!`, then one declaration in
//! `routes::operations()`: `Op::get` / `Op::post` / `Op::patch` / `Op::delete` with its path (as in
//! `api_routes!`, without `/api/v1`), tag and summary, then what it takes and answers:
//! `.path(name)` for each `{name}` segment (from `params`), `.query(..)`, `.json_body(schema)`
//! or `.raw_body()`, `.ok(status, schema)` and `.errors(&[..])` for the answers beyond those
//! every route has. The builder adds the answers that follow from the declaration (401 and 403
//! for an authenticated route, 400 for a path segment or a query, 400/413/415/422 for a JSON
//! body), so a declaration lists only what its handler adds (404 of a record, 409, 429). A new
//! response shape goes in `schemas`, its enums taken from the domain type's `ALL`.

mod routes;
mod schemas;

use axum::Json;
use serde_json::{Map, Value, json};

/// One operation of the API, built from its declaration in `routes`.
pub(crate) struct Op {
    method: &'static str,
    path: &'static str,
    doc: Map<String, Value>,
    params: Vec<Value>,
    /// Statuses answered with the error body, in addition to the success.
    errors: Vec<u16>,
    ok: (u16, Option<Value>),
}

impl Op {
    fn new(method: &'static str, path: &'static str, tag: &str, summary: &str) -> Op {
        let mut doc = Map::new();
        doc.insert("summary".into(), summary.into());
        doc.insert("tags".into(), json!([tag]));
        doc.insert(
            "security".into(),
            json!([{ "bearer": [] }, { "session": [] }]),
        );
        Op {
            method,
            path,
            doc,
            params: Vec::new(),
            // Every authenticated route: no valid credential, or a role that may not.
            errors: vec![401, 403],
            ok: (200, Some(json!({ "type": "object" }))),
        }
    }

    pub(crate) fn get(path: &'static str, tag: &str, summary: &str) -> Op {
        Op::new("get", path, tag, summary)
    }

    /// A state change: a session must send its CSRF token (a refusal is a 403).
    pub(crate) fn post(path: &'static str, tag: &str, summary: &str) -> Op {
        Op::new("post", path, tag, summary).csrf()
    }

    pub(crate) fn patch(path: &'static str, tag: &str, summary: &str) -> Op {
        Op::new("patch", path, tag, summary).csrf()
    }

    pub(crate) fn delete(path: &'static str, tag: &str, summary: &str) -> Op {
        Op::new("delete", path, tag, summary).csrf()
    }

    fn csrf(mut self) -> Op {
        self.params.push(json!({ "name": "X-CSRF-Token", "in": "header", "required": false,
            "description": "required when authenticated by session cookie (value from GET /api/v1/me)",
            "schema": { "type": "string" } }));
        self
    }

    /// Open to anyone (no credential, so no 401 or 403).
    pub(crate) fn public(mut self) -> Op {
        self.doc.insert("security".into(), json!([]));
        self.errors.retain(|c| *c != 401 && *c != 403);
        self
    }

    /// Opened by an enrolment's push token only (no session, so no CSRF header).
    pub(crate) fn push_token(mut self) -> Op {
        self.doc.insert("security".into(), json!([{ "push": [] }]));
        self
    }

    /// A `{name}` segment of the path. A segment that names nothing in the caller's scope is
    /// a 404; one that is not UTF-8 once decoded, a 400.
    pub(crate) fn path(mut self, p: Value) -> Op {
        self.params.push(p);
        self.errors(&[400, 404])
    }

    /// A query parameter; a value the server cannot read is a 400.
    pub(crate) fn query(mut self, p: Value) -> Op {
        self.params.push(p);
        self.errors(&[400])
    }

    /// A JSON body of `schema`: malformed (400), too large (413), another content type (415),
    /// a field missing or of the wrong type (422); a slow body times out (408).
    pub(crate) fn json_body(mut self, schema: Value) -> Op {
        self.doc.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/json": { "schema": schema } } }),
        );
        self.errors(&[400, 408, 413, 415, 422])
    }

    /// A raw body (a file), up to the upload limit.
    pub(crate) fn raw_body(mut self) -> Op {
        self.doc.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { "application/octet-stream": {
                "schema": { "type": "string", "format": "binary" } } } }),
        );
        self.errors(&[400, 408, 413])
    }

    /// The success: its status and the JSON schema of its body (None: no body).
    pub(crate) fn ok(mut self, status: u16, schema: Option<Value>) -> Op {
        self.ok = (status, schema);
        self
    }

    /// A success whose body is a file, not JSON.
    pub(crate) fn ok_file(mut self) -> Op {
        self.ok = (200, None);
        self.doc.insert("x-file".into(), true.into());
        self
    }

    /// More statuses answered with the error body.
    pub(crate) fn errors(mut self, codes: &[u16]) -> Op {
        for c in codes {
            if !self.errors.contains(c) {
                self.errors.push(*c);
            }
        }
        self
    }

    /// The key of this operation, as `api::ROUTES` writes it.
    pub fn key(&self) -> (&'static str, String) {
        (self.method, format!("/api/v1{}", self.path))
    }

    fn document(mut self) -> Value {
        let mut responses = Map::new();
        let file = self.doc.remove("x-file").is_some();
        let ok = match (self.ok.1, file) {
            (_, true) => json!({ "description": "the file", "content": {
                "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } }),
            (Some(schema), false) => json!({ "description": "success", "content": {
                "application/json": { "schema": schema } } }),
            (None, false) => json!({ "description": "done (no body)" }),
        };
        responses.insert(self.ok.0.to_string(), ok);
        self.errors.sort_unstable();
        for code in self.errors {
            responses.insert(
                code.to_string(),
                json!({ "description": error_description(code), "content": {
                    "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }),
            );
        }
        self.doc
            .insert("parameters".into(), Value::Array(self.params));
        self.doc
            .insert("responses".into(), Value::Object(responses));
        Value::Object(self.doc)
    }
}

/// What each error status means, the same on every route.
fn error_description(code: u16) -> &'static str {
    match code {
        400 => {
            "a value refused (named in the message): a path segment, a query parameter or a field out of its limits, or a body that is not JSON"
        }
        401 => "no valid session or token",
        403 => "the caller's role may not do this, or a session's request without its CSRF token",
        404 => "not found, or outside the caller's scope",
        408 => "the body did not arrive in time",
        409 => "refused by the state of the installation (named in the message)",
        413 => "the body is larger than the limit (64 KiB for JSON, the upload limit for files)",
        415 => "the body is not sent as application/json",
        422 => "a field of the body is missing or of the wrong type",
        429 => "too many attempts from this address or account this minute",
        _ => "error",
    }
}

/// Path parameters, each described once.
pub(crate) mod params {
    use serde_json::{Value, json};

    fn path(name: &str, description: &str, schema: Value) -> Value {
        json!({ "name": name, "in": "path", "required": true, "description": description, "schema": schema })
    }

    pub(crate) fn finess() -> Value {
        path(
            "finess",
            "FINESS number of the facility (9 characters)",
            json!({ "type": "string" }),
        )
    }
    pub(crate) fn measure() -> Value {
        path(
            "measure",
            "catalogue measure id, e.g. IAM-04",
            json!({ "type": "string" }),
        )
    }
    pub(crate) fn sha256() -> Value {
        path(
            "sha256",
            "SHA-256 of the content, hex",
            json!({ "type": "string" }),
        )
    }
    pub(crate) fn asset() -> Value {
        path(
            "asset",
            "asset id in the facility's register (1, 2, ...)",
            json!({ "type": "string" }),
        )
    }
    pub(crate) fn run() -> Value {
        path("run", "check run id", json!({ "type": "string" }))
    }
    pub(crate) fn alert() -> Value {
        path(
            "alert",
            "alert id (from the alerts list)",
            json!({ "type": "string" }),
        )
    }
    pub(crate) fn incident() -> Value {
        path(
            "incident",
            "incident id, e.g. INC-350000014-00001",
            json!({ "type": "string" }),
        )
    }
    pub(crate) fn duty() -> Value {
        path(
            "duty",
            "a duty of the incident (unknown: 404)",
            super::schemas::duty(),
        )
    }
    pub(crate) fn region() -> Value {
        path(
            "region",
            "ARS region code, e.g. BRE or DEMO",
            json!({ "type": "string" }),
        )
    }
    pub(crate) fn token() -> Value {
        path("id", "token id", json!({ "type": "string" }))
    }
    pub(crate) fn user() -> Value {
        path(
            "id",
            "user id (a number, from GET /api/v1/users; anything else: 404)",
            json!({ "type": "string" }),
        )
    }

    pub(crate) fn as_of() -> Value {
        json!({ "name": "as_of", "in": "query", "required": false,
            "description": "date YYYY-MM-DD (default: today, Europe/Paris)",
            "schema": { "type": "string", "format": "date" } })
    }
    pub(crate) fn lang() -> Value {
        json!({ "name": "lang", "in": "query", "required": false,
            "description": "language of labels and reasons (default: the caller's)",
            "schema": super::schemas::lang() })
    }
}

/// The document itself.
pub fn spec() -> Value {
    let mut paths = Map::new();
    for op in routes::operations() {
        let (method, path) = op.key();
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        if let Some(e) = entry.as_object_mut() {
            e.insert(method.to_owned(), op.document());
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Hygie API",
            "version": "1",
            "description": "Security plan of health-care facilities: facilities, statuses, declarations, evidence, audits and their findings, alerts, incidents with their legal clocks and notification drafts, regional views, journal, API tokens, user accounts and sessions. Every answer is limited to the caller's scope (facilities or region); a facility outside it answers 404. Errors are JSON {\"error\", \"detail\"} in the language of Accept-Language (fr or en)."
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "API token (hyg_...) scoped to one facility, read or write" },
                "push": { "type": "http", "scheme": "bearer", "description": "push token of a facility's enrolment at the region (hygie region push-token): opens POST /api/v1/sync/packages only, for that facility" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::SESSION_COOKIE }
            },
            "schemas": schemas::components()
        }
    })
}

/// The operations documented, as (method, path) like `api::ROUTES`.
pub fn operations() -> Vec<(&'static str, String)> {
    routes::operations().iter().map(Op::key).collect()
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
