//! The schemas of bodies: requests with the limits the server checks, answers as serde writes
//! them. Every enum is the list of its Rust type (`ALL`, `NAMES`), never typed again here.

use hygie_core::declaration::{MAX_NOTE_CHARS, MAX_OWNER_CHARS};
use hygie_core::{DeclaredStatus, FacilityKind, Lang, Nis2Status};
use hygie_incident::{Duty, IncidentStatus};
use hygie_inventory::Category;
use hygie_inventory::map::{Mark, Verdict, ZoneOrigin};
use hygie_store::{Role, TokenAccess, User};
use serde_json::{Value, json};

/// A reference to a schema of `components`.
pub(crate) fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub(crate) fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

fn one_of(values: impl IntoIterator<Item = &'static str>) -> Value {
    json!({ "type": "string", "enum": values.into_iter().collect::<Vec<_>>() })
}

pub(crate) fn lang() -> Value {
    one_of(Lang::ALL.map(Lang::code))
}

fn category() -> Value {
    one_of(Category::ALL.map(Category::as_str))
}

pub(crate) fn duty() -> Value {
    one_of(Duty::ALL.map(Duty::as_str))
}

fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}

fn time() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

fn nullable_time() -> Value {
    json!({ "oneOf": [time(), { "type": "null" }] })
}

/// The fields of a facility as a body gives them (`hygie_core::FacilityInput`); `finess` only
/// when registering one.
fn facility_fields(with_finess: bool) -> Value {
    let mut fields = json!({
        "legal_entity": { "type": "string", "description": "FINESS of the legal entity, if different (empty: none)" },
        "name": { "type": "string", "minLength": 1, "maxLength": hygie_core::facility::MAX_NAME_CHARS, "pattern": "\\S" },
        "kind": one_of(FacilityKind::ALL.map(FacilityKind::as_str)),
        "region": { "type": "string", "description": "ARS region code (BRE, IDF...), INSEE code or name" },
        "nis2": one_of(Nis2Status::ALL.map(Nis2Status::as_str)),
        "plan_start": { "type": "string", "format": "date" } });
    if with_finess && let Some(o) = fields.as_object_mut() {
        o.insert("finess".into(), json!({ "type": "string", "minLength": 9, "maxLength": 9,
            "description": "9 characters: the département, then 7 digits ending with the Luhn check digit" }));
    }
    fields
}

/// `components.schemas`.
pub(super) fn components() -> Value {
    let mut c = base_components();
    if let Some(o) = c.as_object_mut() {
        o.extend(asset_components());
    }
    c
}

/// The asset register's and the IS map's answers.
fn asset_components() -> Vec<(String, Value)> {
    let zone = json!({ "type": "object", "required": ["name", "kind", "origin", "cidrs", "counts", "assets"], "properties": {
        "name": { "type": "string" },
        "kind": { "type": "string", "description": "the zone model's kind (clinical, biomedical, imaging, servers, admin, guest, partners, internet, dmz, other) or scan" },
        "origin": one_of(ZoneOrigin::NAMES),
        "cidrs": array(json!({ "type": "string" })),
        "counts": { "type": "object", "additionalProperties": { "type": "integer", "minimum": 1 } },
        "assets": array(r("MapAsset")) } });
    let flow = json!({ "type": "object", "required": ["from", "to", "services", "verdict", "rules", "firewalls"], "properties": {
        "from": { "type": "string" }, "to": { "type": "string" },
        "services": array(json!({ "type": "string" })),
        "verdict": one_of(Verdict::NAMES),
        "rules": array(json!({ "type": "string" })),
        "firewalls": array(json!({ "type": "string" })) } });
    let map = json!({
        "type": "object", "required": ["network_run", "zones", "flows", "unzoned", "assets", "marked"],
        "properties": {
            "network_run": { "oneOf": [{ "type": "null" }, { "type": "object", "required": ["id", "at"], "properties": {
                "id": { "type": "string" }, "at": time() } }] },
            "zones": array(r("MapZone")), "flows": array(r("MapFlow")),
            "unzoned": array(r("MapAsset")),
            "assets": { "type": "integer", "minimum": 0 }, "marked": { "type": "integer", "minimum": 0 } } });
    let page = json!({ "type": "object", "required": ["total", "offset", "limit", "assets"], "properties": {
        "total": { "type": "integer", "minimum": 0 }, "offset": { "type": "integer", "minimum": 0 },
        "limit": { "type": "integer", "minimum": 1 },
        "assets": array(r("AssetLine")) } });
    let line = json!({
        "type": "object",
        "required": ["id", "label", "hostname", "category", "os", "zone", "ips", "macs", "software", "vulnerable", "known_exploited", "end_of_life", "first_seen", "last_seen"],
        "properties": {
            "id": { "type": "integer", "minimum": 1 }, "label": { "type": "string" },
            "hostname": nullable("string"), "category": category(), "os": nullable("string"),
            "zone": nullable("string"),
            "ips": array(json!({ "type": "string" })), "macs": array(json!({ "type": "string" })),
            "software": { "type": "integer", "minimum": 0 },
            "vulnerable": { "type": "boolean" },
            "known_exploited": { "type": "integer", "minimum": 0, "description": "known-exploited vulnerabilities (CISA KEV)" },
            "end_of_life": { "type": "boolean" },
            "first_seen": time(), "last_seen": time() } });
    let asset = json!({ "type": "object", "required": ["id", "category", "macs", "ips", "ports", "first_seen", "last_seen", "sources", "described_by", "software"],
        "properties": { "id": { "type": "integer" }, "category": category(),
            "hostname": nullable("string"), "zone": nullable("string"),
            "domain_controller": { "type": "boolean", "description": "the directory says it is a domain controller (server trust account, or under OU=Domain Controllers)" },
            "first_seen": time(), "last_seen": time() } });
    let detail = json!({
        "type": "object",
        "required": ["asset", "label", "vulnerable", "known_exploited", "end_of_life", "vulnerabilities", "sightings"],
        "properties": {
            "asset": asset,
            "label": { "type": "string" }, "vulnerable": { "type": "boolean" },
            "known_exploited": { "type": "integer", "minimum": 0 }, "end_of_life": { "type": "boolean" },
            "vulnerabilities": array(json!({ "type": "object", "description": "a vulnerable software: software, version, cpe, certainty, kev, cves, certfr (the CERT-FR advisories citing its CVEs: reference, kind avis or alerte, title, url)" })),
            "sightings": array(json!({ "type": "object", "required": ["import_id", "imported", "asset", "source", "origin", "seen", "matched_by"] })) } });
    let map_asset = json!({
        "type": "object", "required": ["id", "label", "category", "ips", "marks", "sensitive"],
        "properties": {
            "id": { "type": "integer", "minimum": 1 }, "label": { "type": "string" },
            "category": category(), "ips": array(json!({ "type": "string" })),
            "marks": array(one_of(Mark::ALL.map(Mark::as_str))),
            "sensitive": { "type": "boolean", "description": "medical device, domain controller, or server with a known-exploited vulnerability or at end of life" } } });
    [
        ("AssetPage", page),
        ("AssetLine", line),
        ("AssetDetail", detail),
        ("MapAsset", map_asset),
        ("MapZone", zone),
        ("MapFlow", flow),
        ("IsMap", map),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn base_components() -> Value {
    json!({
        "Error": { "type": "object", "required": ["error"], "properties": {
            "error": { "type": "string", "description": "what went wrong, in the request's language" },
            "detail": { "type": "string", "description": "the framework's own words, when it refused the request" } } },
        "Declaration": {
            "type": "object", "required": ["status"],
            "description": "not_applicable needs a justification that is not blank (else 400)",
            "properties": {
                "status": one_of(DeclaredStatus::NAMES),
                "justification": { "type": "string", "maxLength": MAX_NOTE_CHARS },
                "owner": { "type": "string", "maxLength": MAX_OWNER_CHARS },
                "note": { "type": "string", "maxLength": MAX_NOTE_CHARS } } },
        "Seq": { "type": "object", "required": ["seq"], "properties": { "seq": { "type": "integer" } } },
        "SyncImport": { "type": "object",
            "required": ["facility", "sequence", "hash", "outcome", "new_declarations", "new_check_runs", "evidence", "obligations"],
            "properties": {
                "facility": { "type": "string" },
                "sequence": { "type": "integer", "minimum": 1 },
                "hash": { "type": "string", "description": "SHA-256 of the signed package, hex" },
                "outcome": { "type": "string", "enum": ["imported", "already_imported"] },
                "new_declarations": { "type": "integer", "minimum": 0 },
                "new_check_runs": { "type": "integer", "minimum": 0 },
                "evidence": { "type": "integer", "minimum": 0 },
                "obligations": { "type": "integer", "minimum": 0 } } },
        "SyncRequests": { "type": "object",
            "required": ["format", "version", "public_key", "signature", "requests"],
            "properties": {
                "format": { "type": "string", "enum": ["hygie-sync-requests"] },
                "version": { "type": "integer", "enum": [1] },
                "public_key": { "type": "string", "description": "the region instance's Ed25519 key, hex" },
                "signature": { "type": "string", "description": "Ed25519 over \"hygie-sync-requests/1\\n\" and the canonical JSON of requests, hex" },
                "requests": { "type": "object", "required": ["finess", "region", "issued_at", "requests"],
                    "properties": {
                        "finess": { "type": "string" }, "region": { "type": "string" },
                        "issued_at": { "type": "string", "format": "date-time" },
                        "requests": { "type": "array", "items": { "type": "object",
                            "required": ["campaign", "measures", "due", "message", "created_at"],
                            "properties": {
                                "campaign": { "type": "integer", "minimum": 1 },
                                "measures": { "type": "array", "items": { "type": "string" } },
                                "due": { "type": "string", "format": "date" },
                                "message": { "type": "object", "required": ["en", "fr"],
                                    "properties": { "en": { "type": "string" }, "fr": { "type": "string" } } },
                                "created_at": { "type": "string", "format": "date-time" } } } } } } } },
        "NewToken": {
            "type": "object", "required": ["name", "facility", "access"],
            "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": 80, "pattern": "\\S",
                    "description": "1 to 80 characters once trimmed" },
                "facility": { "type": "string", "description": "FINESS of a facility in the caller's scope (else 404)" },
                "access": one_of(TokenAccess::ALL.map(TokenAccess::as_str)),
                "expires_in_days": { "type": "integer", "minimum": 1, "maximum": 365, "default": 90,
                    "description": "days until the token expires" } } },
        "CreatedToken": {
            "type": "object", "required": ["token", "id", "name", "facility", "access", "expires_at"],
            "properties": {
                "token": { "type": "string", "description": "the secret, shown this once" },
                "id": { "type": "string" }, "name": { "type": "string" }, "facility": { "type": "string" },
                "access": one_of(TokenAccess::ALL.map(TokenAccess::as_str)),
                "expires_at": time() } },
        "Token": {
            "type": "object",
            "required": ["id", "name", "facility", "access", "created_by", "created_at", "revoked_at", "expires_at", "last_used_at"],
            "properties": {
                "id": { "type": "string" }, "name": { "type": "string" }, "facility": { "type": "string" },
                "access": one_of(TokenAccess::ALL.map(TokenAccess::as_str)),
                "created_by": { "type": "string" }, "created_at": time(),
                "revoked_at": nullable_time(), "expires_at": time(), "last_used_at": nullable_time() } },
        "Binding": { "oneOf": [
            { "type": "object", "required": ["kind"], "properties": { "kind": { "const": "installation" } } },
            { "type": "object", "required": ["kind", "region"], "properties": { "kind": { "const": "region" }, "region": { "type": "string" } } },
            { "type": "object", "required": ["kind", "facilities"], "properties": { "kind": { "const": "facilities" }, "facilities": array(json!({ "type": "string" })) } }
        ] },
        "User": {
            "type": "object",
            "required": ["id", "username", "display_name", "role", "binding", "totp_enrolled", "lang", "disabled", "locked_until", "must_change_password", "status"],
            "properties": {
                "id": { "type": "integer" }, "username": { "type": "string" }, "display_name": { "type": "string" },
                "role": one_of(Role::ALL.map(Role::as_str)),
                "binding": r("Binding"), "totp_enrolled": { "type": "boolean" },
                "lang": { "oneOf": [lang(), { "type": "null" }] },
                "disabled": { "type": "boolean" }, "locked_until": nullable_time(),
                "must_change_password": { "type": "boolean" },
                "status": one_of(User::STATUSES) } },
        "UserDetail": { "type": "object", "required": ["user", "sessions"], "properties": {
            "user": r("User"), "sessions": array(json!({ "type": "object" })) } },
        "PasswordReset": { "type": "object", "required": ["user", "temporary_password"], "properties": {
            "user": r("User"), "temporary_password": { "type": "string" } } },
        "SessionsEnded": { "type": "object", "required": ["sessions_ended"], "properties": {
            "sessions_ended": { "type": "integer", "minimum": 0 } } },
        "Me": {
            "type": "object", "required": ["actor", "user", "binding", "can_write", "csrf_token"],
            "properties": {
                "actor": { "type": "string" },
                "user": { "oneOf": [r("User"), { "type": "null" }] },
                "binding": r("Binding"), "can_write": { "type": "boolean" },
                "csrf_token": nullable("string") } },
        "Facility": {
            "type": "object", "required": ["id", "legal_entity", "name", "kind", "region", "nis2", "plan_start"],
            "properties": {
                "id": { "type": "string" }, "legal_entity": nullable("string"), "name": { "type": "string" },
                "kind": one_of(FacilityKind::ALL.map(FacilityKind::as_str)),
                "region": { "type": "string" },
                "nis2": one_of(Nis2Status::ALL.map(Nis2Status::as_str)),
                "plan_start": { "type": "string", "format": "date" } } },
        "NewFacility": {
            "type": "object", "required": ["finess", "name", "kind", "region", "plan_start"],
            "description": "every refused field is named in the 400's message",
            "properties": facility_fields(true) },
        "FacilityChange": {
            "type": "object", "description": "the fields to change; the others keep their value",
            "properties": facility_fields(false) },
        "Evidence": {
            "type": "object", "required": ["seq", "measure", "kind", "added_at", "added_by"],
            "properties": {
                "seq": { "type": "integer" }, "measure": { "type": "string" },
                "kind": { "type": "string", "enum": ["file", "link"] },
                "sha256": { "type": "string" }, "file_name": { "type": "string" },
                "size": { "type": "integer", "minimum": 0 }, "url": { "type": "string" },
                "title": nullable("string"),
                "added_at": time(), "added_by": { "type": "string" } } },
        "IncidentLine": {
            "type": "object", "required": ["id", "title", "status", "awareness", "unmet", "late", "next_due"],
            "properties": {
                "id": { "type": "string" }, "title": { "type": "string" },
                "status": one_of(IncidentStatus::ALL.map(IncidentStatus::as_str)),
                "awareness": { "type": "string" },
                "unmet": { "type": "integer", "minimum": 0 }, "late": { "type": "integer", "minimum": 0 },
                "next_due": { "oneOf": [{ "type": "null" }, { "type": "object", "required": ["duty", "due", "remaining_seconds"], "properties": {
                    "duty": duty(), "due": { "type": "string" }, "remaining_seconds": { "type": "integer" } } }] } } },
        "JournalCheck": { "type": "object", "required": ["intact"], "properties": {
            "intact": { "type": "boolean" }, "entries": { "type": "integer", "minimum": 0 },
            "break": { "type": "string" } } }
    })
}
