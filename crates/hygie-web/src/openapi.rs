//! The OpenAPI 3.1 description of `/api/v1`, written by hand and kept in step with the router
//! by a test (`api::ROUTES` must all be documented and routed).

use axum::Json;
use serde_json::{Value, json};

fn param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": { "type": "string" } })
}

fn op(summary: &str, tag: &str, params: Vec<Value>, ok: &str, extra: Value) -> Value {
    let mut o = json!({
        "summary": summary,
        "tags": [tag],
        "parameters": params,
        "responses": {
            ok: { "description": "success" },
            "401": { "description": "no valid session or token", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
            "403": { "description": "the caller's role may not do this", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
            "404": { "description": "not found, or outside the caller's scope", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        },
        "security": [{ "bearer": [] }, { "session": [] }]
    });
    if let (Some(o), Some(e)) = (o.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    o
}

/// `op` with more answers documented (a 409, a 400 of a refused value).
fn answers(mut o: Value, more: &[(&str, &str)]) -> Value {
    if let Some(r) = o.get_mut("responses").and_then(Value::as_object_mut) {
        for (code, description) in more {
            r.insert(
                (*code).to_owned(),
                json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }),
            );
        }
    }
    o
}

/// The document itself.
pub fn spec() -> Value {
    let f = || param("finess", "FINESS number of the facility (9 characters)");
    let m = || param("measure", "catalogue measure id, e.g. IAM-04");
    let as_of = json!({ "name": "as_of", "in": "query", "required": false, "description": "date YYYY-MM-DD (default: today, Europe/Paris)", "schema": { "type": "string", "format": "date" } });
    let csrf = json!({ "name": "X-CSRF-Token", "in": "header", "required": false, "description": "required when authenticated by session cookie (value from GET /api/v1/me)", "schema": { "type": "string" } });
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Hygie API",
            "version": "1",
            "description": "Security plan of health-care facilities: facilities, statuses, declarations, evidence, audits and their findings, alerts, incidents with their legal clocks and notification drafts, regional views, journal, API tokens, user accounts and sessions. Every answer is limited to the caller's scope (facilities or region); a facility outside it answers 404."
        },
        "servers": [{ "url": "/" }],
        "paths": {
            "/api/v1/openapi.json": { "get": { "summary": "This document", "tags": ["meta"], "security": [], "responses": { "200": { "description": "the OpenAPI document" } } } },
            "/api/v1/me": { "get": op("The caller: user or token, binding, rights, CSRF token", "meta", vec![], "200", json!({})) },
            "/api/v1/facilities": { "get": op("Facilities in the caller's scope", "facilities", vec![], "200", json!({})) },
            "/api/v1/facilities/{finess}": { "get": op("One facility", "facilities", vec![f()], "200", json!({})) },
            "/api/v1/facilities/{finess}/status": { "get": op("Where a facility stands: levels, due dates, overdue measures, scores per PGSSI-S principle", "facilities", vec![f(), as_of.clone()], "200", json!({})) },
            "/api/v1/facilities/{finess}/measures/{measure}": { "get": op("One measure at a facility: catalogue entry, effective status, declaration history, evidence", "measures", vec![f(), m()], "200", json!({})) },
            "/api/v1/facilities/{finess}/measures/{measure}/declarations": { "post": op("Declare a measure's status (journalled)", "measures", vec![f(), m(), csrf.clone()], "201", json!({
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Declaration" } } } }
            })) },
            "/api/v1/facilities/{finess}/measures/{measure}/evidence": {
                "get": op("Evidence of a measure", "evidence", vec![f(), m()], "200", json!({})),
                "post": op("Upload an evidence file (raw body; journalled)", "evidence", vec![f(), m(), csrf.clone(),
                    json!({ "name": "file_name", "in": "query", "required": true, "schema": { "type": "string" } })], "201", json!({
                    "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } }
                }))
            },
            "/api/v1/facilities/{finess}/evidence/{sha256}": { "get": op("Download an evidence file held by this facility", "evidence", vec![f(), param("sha256", "SHA-256 of the content, hex")], "200", json!({})) },
            "/api/v1/facilities/{finess}/audits": { "get": op("Audits (automated check runs) of a facility, newest first, with their rule and failure counts", "audits", vec![f()], "200", json!({})) },
            "/api/v1/facilities/{finess}/audits/{run}": { "get": op("One audit with its findings: every rule's outcome, severity, measures and affected objects (failures first)", "audits", vec![f(), param("run", "check run id")], "200", json!({})) },
            "/api/v1/facilities/{finess}/alerts": { "get": op("Detection alerts of a facility, newest first (at most 500)", "alerts", vec![f()], "200", json!({})) },
            "/api/v1/facilities/{finess}/incidents": { "get": op("Incidents of a facility with their clocks now: unmet and late obligations, next deadline and time remaining", "incidents", vec![f()], "200", json!({})) },
            "/api/v1/facilities/{finess}/incidents/{incident}": { "get": op("One incident: facts, every obligation with its start, deadline, status, elapsed and remaining time, and the drafts available", "incidents", vec![f(), param("incident", "incident id, e.g. INC-00001"),
                json!({ "name": "lang", "in": "query", "required": false, "description": "en or fr, for labels and reasons (default: the caller's language)", "schema": { "type": "string", "enum": ["en", "fr"] } })], "200", json!({})) },
            "/api/v1/facilities/{finess}/incidents/{incident}/drafts/{duty}": { "get": op("The draft of one notification as of now (sections of labelled fields)", "incidents", vec![f(), param("incident", "incident id"), param("duty", "duty, e.g. cnil, cert_sante, nis2_early_warning"),
                json!({ "name": "lang", "in": "query", "required": false, "description": "en or fr (default: the caller's language)", "schema": { "type": "string", "enum": ["en", "fr"] } })], "200", json!({})) },
            "/api/v1/regions/{region}/status": { "get": op("Regional view: facilities × levels, overdue counts (limited to the caller's scope)", "regions", vec![param("region", "ARS region code, e.g. BRE or DEMO"), as_of], "200", json!({})) },
            "/api/v1/journal/verify": { "get": op("Verify the hash chain of the journal", "journal", vec![], "200", json!({})) },
            "/api/v1/tokens": {
                "get": op("API tokens of the facilities in scope (administrators and CISOs)", "tokens", vec![], "200", json!({})),
                "post": answers(op("Create an API token for one facility, read or write, expiring in 1 to 365 days (90 by default); the secret is returned once", "tokens", vec![csrf.clone()], "201", json!({
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewToken" } } } }
                })), &[("400", "a name, facility, access or lifetime refused")])
            },
            "/api/v1/tokens/{id}": { "delete": op("Revoke an API token", "tokens", vec![param("id", "token id"), csrf.clone()], "204", json!({})) }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "API token (hyg_...) scoped to one facility, read or write" },
                "session": { "type": "apiKey", "in": "cookie", "name": "hygie_session" }
            },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "string" } }, "required": ["error"] },
                "Declaration": { "type": "object", "required": ["status"], "properties": {
                    "status": { "type": "string", "enum": ["not_started", "in_progress", "implemented", "not_applicable"] },
                    "justification": { "type": "string", "description": "required for not_applicable" },
                    "owner": { "type": "string" }, "note": { "type": "string" } } },
                "NewToken": { "type": "object", "required": ["name", "facility", "access"], "properties": {
                    "name": { "type": "string" }, "facility": { "type": "string" },
                    "access": { "type": "string", "enum": ["read", "write"] },
                    "expires_in_days": { "type": "integer", "minimum": 1, "maximum": 365, "default": 90, "description": "days until the token expires" } } }
            }
        }
    });
    if let (Some(paths), Value::Object(more)) = (
        doc.get_mut("paths").and_then(Value::as_object_mut),
        account_paths(&csrf),
    ) {
        paths.extend(more);
    }
    // The alert and incident workflow: methods merged into the paths above.
    if let (Some(paths), Value::Object(more)) = (
        doc.get_mut("paths").and_then(Value::as_object_mut),
        incident_paths(&csrf),
    ) {
        for (path, methods) in more {
            match (paths.get_mut(&path).and_then(Value::as_object_mut), methods) {
                (Some(existing), Value::Object(m)) => existing.extend(m),
                (_, methods) => {
                    paths.insert(path, methods);
                }
            }
        }
    }
    doc
}

/// The paths of user accounts and sessions (apart: one `json!` for the whole document would
/// pass the macro's recursion limit).
fn account_paths(csrf: &Value) -> Value {
    let u = || param("id", "user id (a number, from GET /api/v1/users)");
    let action = |summary: &str| json!({ "post": op(summary, "users", vec![u(), csrf.clone()], "200", json!({})) });
    let last_admin = [(
        "409",
        "refused: the last enabled administrator (of the whole installation) stays",
    )];
    json!({
            "/api/v1/users": { "get": op("Users within the caller's binding, with their status: active, disabled or locked (administrators)", "users", vec![], "200", json!({})) },
            "/api/v1/users/{id}": {
                "get": op("One user with their status and live sessions (created, last seen, end, address class; never an id)", "users", vec![u()], "200", json!({})),
                "delete": answers(op("Delete a user: sessions end, the API tokens they created are revoked, the journal keeps the name (journalled)", "users", vec![u(), csrf.clone()], "204", json!({})), &last_admin)
            },
            "/api/v1/users/{id}/disable": { "post": answers(op("Disable a user: no login, sessions end, the API tokens they created are revoked (journalled)", "users", vec![u(), csrf.clone()], "200", json!({})), &last_admin) },
            "/api/v1/users/{id}/enable": action("Enable a disabled user again (journalled)"),
            "/api/v1/users/{id}/unlock": action("Lift the locks of the password and of the second factor and clear both counts of failures (journalled)"),
            "/api/v1/users/{id}/reset-password": action("Give the user a temporary password, returned once as temporary_password; they choose their own at the next login; sessions end (journalled)"),
            "/api/v1/users/{id}/reset-totp": action("Forget the user's second factor: a new enrolment at the next login; sessions end (journalled)"),
            "/api/v1/users/{id}/end-sessions": action("End every session of a user (journalled)"),
            "/api/v1/me/sessions": { "get": op("The caller's live sessions (created, last seen, end, address class, current; never an id)", "users", vec![], "200", json!({})) },
            "/api/v1/me/sessions/end-others": { "post": op("End every session of the caller but the current one (journalled)", "users", vec![csrf.clone()], "200", json!({})) },
            "/api/v1/security-events": { "get": op("Journalled account events (logins, lockouts, lifecycle changes) of the users the caller manages, oldest first", "users", vec![
                json!({ "name": "user", "in": "query", "required": false, "description": "only this username's events", "schema": { "type": "string" } }),
                json!({ "name": "limit", "in": "query", "required": false, "description": "at most this many (default and most: 500)", "schema": { "type": "integer", "minimum": 1, "maximum": 500 } })
            ], "200", json!({})) }
    })
}

/// The alerts' filters and triage, and the incident's workflow (issue 18).
fn incident_paths(csrf: &Value) -> Value {
    let f = || param("finess", "FINESS number of the facility (9 characters)");
    let a = || param("alert", "alert id (from the alerts list)");
    let i = || param("incident", "incident id, e.g. INC-00001");
    let q = |name: &str, description: &str| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } });
    let body = |schema: Value| json!({ "requestBody": { "required": true, "content": { "application/json": { "schema": schema } } } });
    let facts = json!({ "type": "object", "description": "any fact of the incident (as `hygie incident open --from FILE`): title, description, awareness (RFC 3339), serious, personal_data_breach (none, unlikely, risk, high), nis2_significant, categories, affected_systems, alert_ids...; lists add to the ones kept" });
    let invalid = [(
        "400",
        "refused value or transition (the message names the field)",
    )];
    json!({
        "/api/v1/facilities/{finess}/alerts": { "get": op("Detection alerts of a facility, newest recorded first, filtered; the next page's address is in the Link header (rel=\"next\")", "alerts", vec![f(),
            q("level", "only this level (informational, low, medium, high, critical)"), q("rule", "only this rule id"), q("host", "only this host"),
            q("status", "only this triage status: new, acknowledged, false_positive, incident"),
            q("from", "recorded on or after this day (YYYY-MM-DD, Paris)"), q("to", "recorded on or before this day (YYYY-MM-DD, Paris)"),
            q("after", "the cursor of the page before (from the Link header)"),
            json!({ "name": "limit", "in": "query", "required": false, "description": "alerts on the page (default 100, at most 500)", "schema": { "type": "integer", "minimum": 1, "maximum": 500 } })
        ], "200", json!({})) },
        "/api/v1/facilities/{finess}/alerts/{alert}": { "get": op("One alert: matched fields, ATT&CK tags, source, triage (status, reason, who and when) and the incident it is linked to", "alerts", vec![f(), a()], "200", json!({})) },
        "/api/v1/facilities/{finess}/alerts/{alert}/triage": { "post": answers(op("Triage an alert: new, acknowledged or false_positive (with a reason); an alert linked to an incident is triaged by it (journalled)", "alerts", vec![f(), a(), csrf.clone()], "200",
            body(json!({ "type": "object", "required": ["status"], "properties": { "status": { "type": "string", "enum": ["new", "acknowledged", "false_positive"] }, "reason": { "type": "string" } } }))), &invalid) },
        "/api/v1/facilities/{finess}/incidents": { "post": answers(op("Open an incident, blank or from alerts (`alerts`: their ids; the facts left empty are pre-filled from them and they are linked to it); awareness is now unless given (journalled)", "incidents", vec![f(), csrf.clone()], "201",
            body(json!({ "allOf": [facts.clone(), { "type": "object", "properties": { "alerts": { "type": "array", "items": { "type": "string" } } } }] }))), &invalid) },
        "/api/v1/facilities/{finess}/incidents/{incident}/facts": { "post": answers(op("Update an incident's facts and, optionally, its status (contained, resolved: forward only); obligations are recomputed (journalled)", "incidents", vec![f(), i(), csrf.clone()], "200",
            body(json!({ "allOf": [facts, { "type": "object", "properties": { "status": { "type": "string", "enum": ["contained", "resolved"] } } }] }))), &invalid) },
        "/api/v1/facilities/{finess}/incidents/{incident}/sendings": { "post": answers(op("Record a sending of a duty: its obligation becomes sent and its clock stops (journalled; the text is kept)", "incidents", vec![f(), i(), csrf.clone()], "201",
            body(json!({ "type": "object", "required": ["duty"], "properties": {
                "duty": { "type": "string", "description": "cert_sante, cnil, data_subjects, breach_register, nis2_early_warning, nis2_notification, nis2_intermediate, nis2_final, nis2_progress, internal_dpo, internal_ciso" },
                "text": { "type": "string", "description": "the exact text sent (default: the draft of the moment)" },
                "channel": { "type": "string", "description": "portal, e-mail, letter..." },
                "sent_at": { "type": "string", "description": "RFC 3339 (default: now)" },
                "reference": { "type": "string" }, "phase": { "type": "string", "enum": ["initial", "complement"] },
                "late_reason": { "type": "string", "description": "required for the CNIL after 72 h" },
                "lang": { "type": "string", "enum": ["fr", "en"] } } }))), &invalid) },
        "/api/v1/facilities/{finess}/incidents/{incident}/close": { "post": answers(op("Close an incident; unmet obligations need a justification (journalled)", "incidents", vec![f(), i(), csrf.clone()], "200",
            body(json!({ "type": "object", "properties": { "justification": { "type": "string" } } }))), &invalid) }
    })
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
