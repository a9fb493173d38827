//! The OpenAPI document is faithful to the server: it documents exactly the router's API routes
//! (a new endpoint without its declaration fails here), every error answer with the error
//! schema, closed enums taken from the domain types; and the answers the server gives to bad
//! input (framework refusals included) are JSON errors with a status the document lists.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use hygie_store::{Role, TokenAccess};
use serde_json::Value;
use std::collections::BTreeSet;

fn doc() -> Value {
    hygie_web::openapi::spec()
}

/// The operation `method path` of the document.
fn op<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    doc["paths"][path]
        .get(method)
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_of_the_router() {
    let app = sqlite_app().await;
    let served: Value = app.json(get("/api/v1/openapi.json")).await;
    assert_eq!(served, doc(), "the document served is the one built");
    let documented: BTreeSet<(String, String)> = served["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = hygie_web::api::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes without documentation: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    // The router really serves each documented operation (the framework's 404/405 would say
    // otherwise), and nothing else under the API's paths.
    for (method, path) in &documented {
        let uri = path.replace(['{', '}'], "");
        let res = app
            .send(request(
                &method.to_uppercase(),
                &uri,
                &Cred::None,
                None,
                vec![],
            ))
            .await;
        let want = if path.ends_with("openapi.json") {
            200
        } else {
            401
        };
        assert_eq!(res.status(), want, "{method} {uri}");
    }
    let res = app.send(get("/api/v1/facilities/x/nothing")).await;
    assert_eq!(res.status(), 404);
    let res = app
        .send(request("PUT", "/api/v1/tokens", &Cred::None, None, vec![]))
        .await;
    assert_eq!(res.status(), 405, "a method not documented is not routed");
}

#[test]
fn every_error_answer_is_documented_with_the_error_schema() {
    let doc = doc();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, o) in ops.as_object().unwrap() {
            let responses = o["responses"].as_object().unwrap();
            let codes: BTreeSet<&str> = responses.keys().map(String::as_str).collect();
            for (code, r) in responses {
                if !code.starts_with('2') {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{method} {path} {code}"
                    );
                }
            }
            let public = o["security"].as_array().unwrap().is_empty();
            let params = o["parameters"].as_array().unwrap();
            let has = |kind: &str| params.iter().any(|p| p["in"] == kind);
            let mut want: Vec<&str> = Vec::new();
            if !public {
                want.extend(["401", "403"]);
            }
            if has("path") {
                want.extend(["400", "404"]);
            }
            if has("query") {
                want.push("400");
            }
            if o["requestBody"]["content"]
                .get("application/json")
                .is_some()
            {
                want.extend(["400", "413", "415", "422"]);
            }
            for c in want {
                assert!(codes.contains(c), "{method} {path} does not document {c}");
            }
            assert!(
                !codes.contains("500"),
                "{method} {path}: a 500 is a bug, not a contract"
            );
            // Every path segment is declared, and only those.
            let segments: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            let declared: BTreeSet<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(segments, declared, "{method} {path}");
        }
    }
}

#[test]
fn enums_and_limits_come_from_the_domain() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    let names = |v: &Value| -> Vec<String> {
        v["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let decl = &schemas["Declaration"]["properties"];
    for s in names(&decl["status"]) {
        let d = hygie_core::DeclaredStatus::parse(&s, Some("why")).unwrap();
        assert_eq!(d.as_str(), s);
    }
    assert_eq!(names(&decl["status"]).len(), 4);
    assert_eq!(
        decl["note"]["maxLength"],
        hygie_core::declaration::MAX_NOTE_CHARS
    );
    assert_eq!(
        decl["justification"]["maxLength"],
        hygie_core::declaration::MAX_NOTE_CHARS
    );
    assert_eq!(
        decl["owner"]["maxLength"],
        hygie_core::declaration::MAX_OWNER_CHARS
    );
    let roles = names(&schemas["User"]["properties"]["role"]);
    assert_eq!(roles, Role::ALL.map(|r| r.as_str().to_owned()));
    for a in names(&schemas["NewToken"]["properties"]["access"]) {
        assert_eq!(TokenAccess::parse(&a).unwrap().as_str(), a);
    }
    let lang = &op(
        &doc,
        "get",
        "/api/v1/facilities/{finess}/incidents/{incident}",
    )["parameters"];
    let lang = lang
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "lang")
        .unwrap();
    assert_eq!(names(&lang["schema"]), ["en", "fr"]);
    let duty = &op(
        &doc,
        "get",
        "/api/v1/facilities/{finess}/incidents/{incident}/drafts/{duty}",
    );
    let duty = duty["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "duty")
        .unwrap();
    for d in names(&duty["schema"]) {
        d.parse::<hygie_incident::Duty>().unwrap();
    }
}

/// A bad request and the answer the document promises: (method, path as documented, uri,
/// content type, body, status).
type BadRequest = (
    &'static str,
    &'static str,
    String,
    Option<&'static str>,
    Vec<u8>,
    u16,
);

fn bad_requests(s: &Seed) -> Vec<BadRequest> {
    let f = s.own.as_str();
    let decl = "/api/v1/facilities/{finess}/measures/{measure}/declarations";
    let decl_uri = format!("/api/v1/facilities/{f}/measures/IAM-04/declarations");
    let json = Some("application/json");
    let long = |n: usize| "x".repeat(n);
    vec![
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            b"{not json".to_vec(),
            400,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            Some("text/plain"),
            br#"{"status":"implemented"}"#.to_vec(),
            415,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            br#"{"owner":"x"}"#.to_vec(),
            422,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            br#"{"status":7}"#.to_vec(),
            422,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            br#"{"status":"done-ish"}"#.to_vec(),
            400,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            br#"{"status":"not_applicable"}"#.to_vec(),
            400,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            format!(r#"{{"status":"implemented","note":"{}"}}"#, long(4001)).into_bytes(),
            400,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            format!(r#"{{"status":"implemented","owner":"{}"}}"#, long(201)).into_bytes(),
            400,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            format!(r#"{{"status":"implemented","note":"{}"}}"#, long(70_000)).into_bytes(),
            413,
        ),
        (
            "post",
            decl,
            format!("/api/v1/facilities/{f}/measures/NOPE-99/declarations"),
            json,
            br#"{"status":"implemented"}"#.to_vec(),
            404,
        ),
        (
            "get",
            "/api/v1/facilities/{finess}",
            "/api/v1/facilities/%FF%FE".into(),
            None,
            vec![],
            400,
        ),
        (
            "get",
            "/api/v1/facilities/{finess}/measures/{measure}",
            format!("/api/v1/facilities/{f}/measures/%FF"),
            None,
            vec![],
            400,
        ),
        (
            "get",
            "/api/v1/facilities/{finess}/status",
            format!("/api/v1/facilities/{f}/status?as_of=2025-02-30"),
            None,
            vec![],
            400,
        ),
        (
            "get",
            "/api/v1/facilities/{finess}/incidents/{incident}",
            format!(
                "/api/v1/facilities/{f}/incidents/{}?lang=de",
                s.incidents[0]
            ),
            None,
            vec![],
            400,
        ),
        (
            "get",
            "/api/v1/facilities/{finess}/incidents/{incident}/drafts/{duty}",
            format!(
                "/api/v1/facilities/{f}/incidents/{}/drafts/cnil?lang=xx",
                s.incidents[0]
            ),
            None,
            vec![],
            400,
        ),
        (
            "get",
            "/api/v1/security-events",
            "/api/v1/security-events?limit=many".into(),
            None,
            vec![],
            400,
        ),
        (
            "post",
            "/api/v1/facilities/{finess}/measures/{measure}/evidence",
            format!("/api/v1/facilities/{f}/measures/IAM-04/evidence?file_name=a.txt"),
            None,
            vec![],
            400,
        ),
        (
            "post",
            "/api/v1/facilities/{finess}/measures/{measure}/evidence",
            format!("/api/v1/facilities/{f}/measures/IAM-04/evidence?file_name=%E2%80%AEfdp.exe"),
            None,
            b"x".to_vec(),
            400,
        ),
        (
            "post",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            json,
            format!(
                r#"{{"name":"{}","facility":"{f}","access":"read"}}"#,
                "é".repeat(81)
            )
            .into_bytes(),
            400,
        ),
        (
            "post",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            json,
            format!(r#"{{"name":"t","facility":"{f}","access":"admin"}}"#).into_bytes(),
            400,
        ),
        (
            "post",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            json,
            format!(r#"{{"name":"t","facility":"{f}","access":"read","expires_in_days":"soon"}}"#)
                .into_bytes(),
            422,
        ),
        // A NUL names nothing, and PostgreSQL cannot store one: refused, never a 500.
        (
            "get",
            "/api/v1/security-events",
            "/api/v1/security-events?user=a%00b".into(),
            None,
            vec![],
            400,
        ),
        (
            "get",
            "/api/v1/facilities/{finess}/audits/{run}",
            format!("/api/v1/facilities/{f}/audits/%00"),
            None,
            vec![],
            400,
        ),
        (
            "get",
            "/api/v1/facilities/{finess}/incidents/{incident}",
            format!("/api/v1/facilities/{f}/incidents/INC-%00"),
            None,
            vec![],
            400,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            br#"{"status":"implemented","note":"a\u0000b"}"#.to_vec(),
            400,
        ),
        (
            "post",
            decl,
            decl_uri.clone(),
            json,
            br#"{"status":"implemented","owner":"\u0000"}"#.to_vec(),
            400,
        ),
        (
            "post",
            "/api/v1/tokens",
            "/api/v1/tokens".into(),
            json,
            format!(r#"{{"name":"a\u0000","facility":"{f}","access":"read"}}"#).into_bytes(),
            400,
        ),
    ]
}

async fn bad_input_gets_a_documented_json_error(app: App) {
    let s = seed(&app).await;
    let doc = doc();
    let admin = user(
        &app,
        "fuzz-admin",
        Role::Administrator,
        hygie_store::Binding::Installation,
    )
    .await;
    let (cookie, csrf) = session(&app, &admin).await;
    let cred = Cred::Cookie { cookie, csrf };
    for (method, path, uri, ct, body, want) in bad_requests(&s) {
        let res = app
            .send(request(&method.to_uppercase(), &uri, &cred, ct, body))
            .await;
        let status = res.status().as_u16();
        let is_json = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let text = body_string(res).await;
        assert_eq!(status, want, "{method} {uri}: {text}");
        assert!(is_json, "{method} {uri}: not JSON");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(v["error"].is_string(), "{method} {uri}: {text}");
        assert!(
            op(&doc, method, path)["responses"]
                .get(want.to_string())
                .is_some(),
            "{method} {path} answers {want}, which the document does not list"
        );
    }
    app.cleanup().await;
}

#[tokio::test]
async fn bad_input_gets_a_documented_json_error_sqlite() {
    bad_input_gets_a_documented_json_error(sqlite_app().await).await;
}

#[tokio::test]
async fn bad_input_gets_a_documented_json_error_postgres() {
    let Some(app) = pg_app().await else { return };
    bad_input_gets_a_documented_json_error(app).await;
}
