//! One declaration per route of `/api/v1` (the order of `api::api_routes!`).

use super::schemas::{array, r};
use super::{Op, params as p};
use serde_json::{Value, json};

pub(super) fn operations() -> Vec<Op> {
    let object = || json!({ "type": "object" });
    let users = account_operations();
    let mut ops = vec![
        Op::get("/openapi.json", "meta", "This document")
            .public()
            .ok(200, Some(object())),
        Op::get(
            "/me",
            "meta",
            "The caller: user or token, binding, rights, CSRF token",
        )
        .ok(200, Some(r("Me"))),
        Op::get("/facilities", "facilities", "Facilities in the caller's scope")
            .ok(200, Some(array(r("Facility")))),
        Op::post(
            "/facilities",
            "facilities",
            "Register a facility (administrators; regional officers within their region): FINESS with its check digit, its département within the region (journalled)",
        )
        .json_body(r("NewFacility"))
        // 409: the FINESS number is already registered.
        .errors(&[409])
        .ok(201, Some(r("Facility"))),
        Op::get("/facilities/{finess}", "facilities", "One facility")
            .path(p::finess())
            .ok(200, Some(r("Facility"))),
        Op::patch(
            "/facilities/{finess}",
            "facilities",
            "Change a facility's record (administrators; regional officers within their region); the fields left out keep their value, the FINESS number is its id (journalled)",
        )
        .path(p::finess())
        .json_body(r("FacilityChange"))
        .ok(200, Some(r("Facility"))),
        Op::get(
            "/facilities/{finess}/status",
            "facilities",
            "Where a facility stands: levels, due dates, overdue measures, scores per PGSSI-S principle",
        )
        .path(p::finess())
        .query(p::as_of()),
        Op::get(
            "/facilities/{finess}/measures/{measure}",
            "measures",
            "One measure at a facility: catalogue entry, effective status, declaration history, evidence",
        )
        .path(p::finess())
        .path(p::measure()),
        Op::post(
            "/facilities/{finess}/measures/{measure}/declarations",
            "measures",
            "Declare a measure's status (journalled)",
        )
        .path(p::finess())
        .path(p::measure())
        .json_body(r("Declaration"))
        .ok(201, Some(r("Seq"))),
        Op::get(
            "/facilities/{finess}/measures/{measure}/evidence",
            "evidence",
            "Evidence of a measure",
        )
        .path(p::finess())
        .path(p::measure())
        .ok(200, Some(array(r("Evidence")))),
        Op::post(
            "/facilities/{finess}/measures/{measure}/evidence",
            "evidence",
            "Upload an evidence file (raw body, not empty; journalled)",
        )
        .path(p::finess())
        .path(p::measure())
        .query(json!({ "name": "file_name", "in": "query", "required": true,
            "description": "the file's name: its base name is kept, trimmed, at most 200 characters; control and text-direction characters are refused",
            "schema": { "type": "string", "minLength": 1 } }))
        .raw_body()
        // 409: the same content is already attached to this measure.
        .errors(&[409])
        .ok(201, Some(r("Evidence"))),
        Op::post(
            "/facilities/{finess}/measures/{measure}/links",
            "evidence",
            "Add a link (an http or https address, with an optional title) as evidence of a measure (journalled)",
        )
        .path(p::finess())
        .path(p::measure())
        .json_body(json!({ "type": "object", "required": ["url"], "properties": {
            "url": { "type": "string", "minLength": 8, "maxLength": hygie_core::evidence::MAX_URL_CHARS,
                "description": "http:// or https:// address, without spaces" },
            "title": { "type": "string", "maxLength": hygie_core::evidence::MAX_TITLE_CHARS } } }))
        .ok(201, Some(r("Evidence"))),
        Op::get(
            "/facilities/{finess}/evidence/{sha256}",
            "evidence",
            "Download an evidence file held by this facility",
        )
        .path(p::finess())
        .path(p::sha256())
        .ok_file(),
        Op::get(
            "/facilities/{finess}/audits",
            "audits",
            "Audits (automated check runs) of a facility, newest first, with their rule and failure counts",
        )
        .path(p::finess())
        .ok(200, Some(array(object()))),
        Op::get(
            "/facilities/{finess}/audits/{run}",
            "audits",
            "One audit with its findings: every rule's outcome, severity, measures and affected objects (failures first)",
        )
        .path(p::finess())
        .path(p::run()),
        Op::get(
            "/facilities/{finess}/assets",
            "assets",
            "The facility's asset register, filtered as its page is (known exploited, then vulnerable, then end of life first) and paged; `total` counts the assets selected",
        )
        .path(p::finess())
        .query(json!({ "name": "category", "in": "query", "required": false,
            "description": "only this category",
            "schema": { "type": "string", "enum": hygie_inventory::Category::ALL.map(hygie_inventory::Category::as_str) } }))
        .query(json!({ "name": "zone", "in": "query", "required": false,
            "description": "only the assets the facility's list puts in this zone", "schema": { "type": "string" } }))
        .query(json!({ "name": "os", "in": "query", "required": false,
            "description": "only operating systems containing this text (any case)", "schema": { "type": "string" } }))
        .query(json!({ "name": "vulnerable", "in": "query", "required": false,
            "description": "only the assets with vulnerable software (latest `hygie inventory vulns`)", "schema": { "type": "boolean" } }))
        .query(json!({ "name": "eol", "in": "query", "required": false,
            "description": "only the assets whose operating system is at end of life (latest import)", "schema": { "type": "boolean" } }))
        .query(json!({ "name": "offset", "in": "query", "required": false,
            "description": "assets skipped (default 0)",
            "schema": { "type": "integer", "minimum": 0, "maximum": i32::MAX } }))
        .query(json!({ "name": "limit", "in": "query", "required": false,
            "description": "assets on the page (default 100)",
            "schema": { "type": "integer", "minimum": 1, "maximum": crate::asset_api::ASSETS_PAGE_MAX } }))
        .ok(200, Some(r("AssetPage"))),
        Op::get(
            "/facilities/{finess}/assets/{asset}",
            "assets",
            "One asset: as the register holds it (addresses, ports, software, sources), its flags, its vulnerable software and its sightings",
        )
        .path(p::finess())
        .path(p::asset())
        .ok(200, Some(r("AssetDetail"))),
        Op::get(
            "/facilities/{finess}/map",
            "assets",
            "The IS map: zones (latest network collector run, ranges scanned by nmap imports), the assets in each with their marks, the flows allowed between zones with their verdict, the assets in no zone",
        )
        .path(p::finess())
        .ok(200, Some(r("IsMap"))),
        Op::get(
            "/facilities/{finess}/alerts",
            "alerts",
            "Detection alerts of a facility, newest recorded first, filtered; the next page's address is in the Link header (rel=\"next\")",
        )
        .path(p::finess())
        .query(alert_filter("level", "only this level (informational, low, medium, high, critical)"))
        .query(alert_filter("rule", "only this rule id"))
        .query(alert_filter("host", "only this host"))
        .query(json!({ "name": "status", "in": "query", "required": false,
            "description": "only this triage status",
            "schema": { "type": "string", "enum": hygie_store::AlertStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>() } }))
        .query(json!({ "name": "from", "in": "query", "required": false,
            "description": "recorded on or after this day (YYYY-MM-DD, Paris)",
            "schema": { "type": "string", "format": "date" } }))
        .query(json!({ "name": "to", "in": "query", "required": false,
            "description": "recorded on or before this day (YYYY-MM-DD, Paris)",
            "schema": { "type": "string", "format": "date" } }))
        .query(alert_filter("after", "the cursor of the page before (from the Link header)"))
        .query(json!({ "name": "limit", "in": "query", "required": false,
            "description": "alerts on the page (default 100)",
            "schema": { "type": "integer", "minimum": 1, "maximum": hygie_store::ALERT_PAGE_MAX } }))
        .ok(200, Some(array(object()))),
        Op::get(
            "/facilities/{finess}/alerts/{alert}",
            "alerts",
            "One alert: matched fields, ATT&CK tags, source, triage (status, reason, who and when) and the incident it is linked to",
        )
        .path(p::finess())
        .path(p::alert()),
        Op::post(
            "/facilities/{finess}/alerts/{alert}/triage",
            "alerts",
            "Triage an alert: new, acknowledged or false_positive (with a reason); an alert linked to an incident is triaged by it (journalled)",
        )
        .path(p::finess())
        .path(p::alert())
        .json_body(json!({ "type": "object", "required": ["status"], "properties": {
            "status": { "type": "string", "enum": ["new", "acknowledged", "false_positive"] },
            "reason": { "type": "string" } } }))
        .errors(&[409]),
        Op::get(
            "/facilities/{finess}/incidents",
            "incidents",
            "Incidents of a facility with their clocks now: unmet and late obligations, next deadline and time remaining",
        )
        .path(p::finess())
        .ok(200, Some(array(r("IncidentLine")))),
        Op::post(
            "/facilities/{finess}/incidents",
            "incidents",
            "Open an incident, blank or from alerts (`alerts`: their ids; the facts left empty are pre-filled from them and they are linked to it); awareness is now unless given (journalled)",
        )
        .path(p::finess())
        .query(p::lang())
        .json_body(json!({ "allOf": [incident_facts(), { "type": "object", "properties": {
            "alerts": { "type": "array", "items": { "type": "string" } } } }] }))
        .errors(&[404, 409])
        .ok(201, Some(object())),
        Op::get(
            "/facilities/{finess}/incidents/{incident}",
            "incidents",
            "One incident: facts, every obligation with its start, deadline, status, elapsed and remaining time, and the drafts available",
        )
        .path(p::finess())
        .path(p::incident())
        .query(p::lang()),
        Op::get(
            "/facilities/{finess}/incidents/{incident}/drafts/{duty}",
            "incidents",
            "The draft of one notification as of now (sections of labelled fields)",
        )
        .path(p::finess())
        .path(p::incident())
        .path(p::duty())
        .query(p::lang()),
        Op::post(
            "/facilities/{finess}/incidents/{incident}/facts",
            "incidents",
            "Update an incident's facts and, optionally, its status (contained, resolved: forward only); obligations are recomputed (journalled)",
        )
        .path(p::finess())
        .path(p::incident())
        .query(p::lang())
        .json_body(json!({ "allOf": [incident_facts(), { "type": "object", "properties": {
            "status": { "type": "string", "enum": ["contained", "resolved"] } } }] }))
        .errors(&[409]),
        Op::post(
            "/facilities/{finess}/incidents/{incident}/sendings",
            "incidents",
            "Record a sending of a duty: its obligation becomes sent and its clock stops (journalled; the text is kept)",
        )
        .path(p::finess())
        .path(p::incident())
        .query(p::lang())
        .json_body(json!({ "type": "object", "required": ["duty"], "properties": {
            "duty": super::schemas::duty(),
            "text": { "type": "string", "description": "the exact text sent (default: the draft of the moment)" },
            "channel": { "type": "string", "description": "portal, e-mail, letter..." },
            "sent_at": { "type": "string", "description": "RFC 3339 (default: now)" },
            "reference": { "type": "string" },
            "phase": { "type": "string", "enum": ["initial", "complement"] },
            "late_reason": { "type": "string", "description": "required for the CNIL after 72 h" },
            "lang": super::schemas::lang() } }))
        .errors(&[409])
        .ok(201, Some(object())),
        Op::post(
            "/facilities/{finess}/incidents/{incident}/close",
            "incidents",
            "Close an incident; unmet obligations need a justification (journalled)",
        )
        .path(p::finess())
        .path(p::incident())
        .query(p::lang())
        .json_body(json!({ "type": "object", "properties": {
            "justification": { "type": "string" } } }))
        .errors(&[409]),
        Op::get(
            "/regions/{region}/status",
            "regions",
            "Regional view: facilities × levels, overdue counts (limited to the caller's scope)",
        )
        .path(p::region())
        .query(p::as_of()),
        Op::get("/journal/verify", "journal", "Verify the hash chain of the journal")
            .ok(200, Some(r("JournalCheck"))),
        Op::get(
            "/tokens",
            "tokens",
            "API tokens of the facilities in scope (administrators and CISOs)",
        )
        .ok(200, Some(array(r("Token")))),
        Op::post(
            "/tokens",
            "tokens",
            "Create an API token for one facility, read or write, expiring in 1 to 365 days (90 by default); the secret is returned once",
        )
        .json_body(r("NewToken"))
        // 404: the facility named is not in the caller's scope; 429: too many creations.
        .errors(&[404, 429])
        .ok(201, Some(r("CreatedToken"))),
        Op::delete("/tokens/{id}", "tokens", "Revoke an API token")
            .path(p::token())
            .ok(204, None),
    ];
    ops.extend(users);
    ops.push(
        Op::new(
            "post",
            "/sync/packages",
            "federation",
            "Import a federation package pushed by a facility (`hygie sync push`): the same checks and one transaction as `hygie sync import`; a package already imported answers already_imported. Push token of the facility's enrolment only (`hygie region push-token`)",
        )
        .push_token()
        .raw_body()
        // 403: a package about another facility than the token's; 409: not next in the
        // region's sequence (replay, rollback, gap, fork); 422: any other refusal. Each with
        // `outcome`, `code` and `reason` {en, fr} besides `error`.
        .errors(&[409, 422])
        .ok(200, Some(r("SyncImport"))),
    );
    ops.push(
        Op::get(
            "/sync/requests",
            "federation",
            "The requests of the token's facility, in the signed requests file format (hygie-sync-requests, signed by the region instance's key; `hygie sync push` fetches it after pushing and keeps it only if the key is trusted). Push token only",
        )
        .push_token()
        // 404: the facility never reported, or this instance has no identity key.
        .errors(&[404])
        .ok(200, Some(r("SyncRequests"))),
    );
    ops
}

/// User accounts and sessions.
fn account_operations() -> Vec<Op> {
    let action = |path: &'static str, summary: &str| {
        Op::post(path, "users", summary)
            .path(p::user())
            .ok(200, Some(r("User")))
    };
    // The last enabled administrator of the whole installation stays.
    let last_admin = [409];
    vec![
        Op::get(
            "/users",
            "users",
            "Users within the caller's binding, with their status: active, disabled or locked (administrators)",
        )
        .ok(200, Some(array(r("User")))),
        Op::get(
            "/users/{id}",
            "users",
            "One user with their status and live sessions (created, last seen, end, address class; never an id)",
        )
        .path(p::user())
        .ok(200, Some(r("UserDetail"))),
        action(
            "/users/{id}/disable",
            "Disable a user: no login, sessions end, the API tokens they created are revoked (journalled)",
        )
        .errors(&last_admin),
        action("/users/{id}/enable", "Enable a disabled user again (journalled)"),
        action(
            "/users/{id}/unlock",
            "Lift the locks of the password and of the second factor and clear both counts of failures (journalled)",
        ),
        action(
            "/users/{id}/reset-password",
            "Give the user a temporary password, returned once as temporary_password; they choose their own at the next login; sessions end (journalled)",
        )
        .ok(200, Some(r("PasswordReset"))),
        action(
            "/users/{id}/reset-totp",
            "Forget the user's second factor: a new enrolment at the next login; sessions end (journalled)",
        ),
        action(
            "/users/{id}/end-sessions",
            "End every session of a user (journalled)",
        ),
        Op::delete(
            "/users/{id}",
            "users",
            "Delete a user: sessions end, the API tokens they created are revoked, the journal keeps the name (journalled)",
        )
        .path(p::user())
        .errors(&last_admin)
        .ok(204, None),
        Op::get(
            "/me/sessions",
            "users",
            "The caller's live sessions (created, last seen, end, address class, current; never an id)",
        )
        .ok(200, Some(array(object_schema()))),
        Op::post(
            "/me/sessions/end-others",
            "users",
            "End every session of the caller but the current one (journalled); an API token has none (403)",
        )
        .ok(200, Some(r("SessionsEnded"))),
        Op::get(
            "/security-events",
            "users",
            "Journalled account events (logins, lockouts, lifecycle changes) of the users the caller manages, oldest first",
        )
        .query(json!({ "name": "user", "in": "query", "required": false,
            "description": "only this username's events", "schema": { "type": "string" } }))
        .query(json!({ "name": "limit", "in": "query", "required": false,
            "description": "at most this many (default and most: 500; a number out of 1 to 500 is brought within)",
            "schema": { "type": "integer", "minimum": 1, "maximum": 500 } }))
        .ok(200, Some(array(object_schema()))),
    ]
}

fn object_schema() -> Value {
    json!({ "type": "object" })
}

/// A free-text filter of the alerts list.
fn alert_filter(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description,
        "schema": { "type": "string" } })
}

/// The facts of an incident as a body gives them (as `hygie incident open --from FILE`).
fn incident_facts() -> Value {
    json!({ "type": "object", "description": "any fact of the incident: title, description, awareness (RFC 3339), serious, personal_data_breach (none, unlikely, risk, high), nis2_significant, categories, affected_systems, alert_ids...; lists add to the ones kept" })
}
