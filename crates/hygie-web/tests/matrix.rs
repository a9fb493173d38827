//! The authorisation matrix: every principal (role × binding, API tokens) × every endpoint ×
//! own facility / other facility of the same region / facility of another region → allowed or
//! refused, on SQLite and PostgreSQL. Also checks that nothing of a facility out of scope leaks
//! through lists, regional views, CSV exports or evidence hashes.
#![allow(clippy::unwrap_used, clippy::collapsible_if, clippy::nonminimal_bool)]

mod common;

use common::*;
use hygie_store::{Binding, Role, TokenAccess};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Own,
    Other,
    Far,
}

struct Principal {
    name: &'static str,
    role: Option<Role>,
    /// Installation, region BRE, or the own facility.
    binding: &'static str,
    token: Option<TokenAccess>,
}

const PRINCIPALS: &[Principal] = &[
    Principal {
        name: "admin_all",
        role: Some(Role::Administrator),
        binding: "installation",
        token: None,
    },
    Principal {
        name: "admin_fac",
        role: Some(Role::Administrator),
        binding: "own",
        token: None,
    },
    Principal {
        name: "ciso",
        role: Some(Role::Ciso),
        binding: "own",
        token: None,
    },
    Principal {
        name: "dpo",
        role: Some(Role::Dpo),
        binding: "own",
        token: None,
    },
    Principal {
        name: "it",
        role: Some(Role::ItStaff),
        binding: "own",
        token: None,
    },
    Principal {
        name: "ambassador",
        role: Some(Role::Ambassador),
        binding: "own",
        token: None,
    },
    Principal {
        name: "auditor_fac",
        role: Some(Role::Auditor),
        binding: "own",
        token: None,
    },
    Principal {
        name: "auditor_reg",
        role: Some(Role::Auditor),
        binding: "region",
        token: None,
    },
    Principal {
        name: "officer",
        role: Some(Role::RegionalOfficer),
        binding: "region",
        token: None,
    },
    Principal {
        name: "token_read",
        role: None,
        binding: "own",
        token: Some(TokenAccess::Read),
    },
    Principal {
        name: "token_write",
        role: None,
        binding: "own",
        token: Some(TokenAccess::Write),
    },
];

/// What the principal may see, written from the product rules (not from the code).
fn sees(p: &Principal, t: Target) -> bool {
    match p.binding {
        "installation" => true,
        "region" => t != Target::Far,
        _ => t == Target::Own,
    }
}

fn writes(p: &Principal) -> bool {
    match p.role {
        Some(r) => matches!(
            r,
            Role::Administrator | Role::Ciso | Role::Dpo | Role::ItStaff
        ),
        None => p.token == Some(TokenAccess::Write),
    }
}

fn journal(p: &Principal) -> bool {
    matches!(
        p.role,
        Some(Role::Administrator | Role::Ciso | Role::Dpo | Role::Auditor | Role::RegionalOfficer)
    )
}

fn tokens(p: &Principal) -> bool {
    matches!(p.role, Some(Role::Administrator | Role::Ciso))
}

/// Runs an audit from an uploaded export: the facility's CISO or an administrator.
fn runs_audits(p: &Principal) -> bool {
    matches!(p.role, Some(Role::Administrator | Role::Ciso))
}

fn person(p: &Principal) -> bool {
    p.role.is_some()
}

/// Manages the target user (bound to the target facility): administrators, within their binding.
fn manages(p: &Principal, t: Target) -> bool {
    p.role == Some(Role::Administrator) && sees(p, t)
}

/// Registers and changes facilities (administrators and regional officers), within their
/// binding; a new facility of the target's region is within a binding to facilities only if it
/// is one of them, which a new one never is.
fn manages_facility(p: &Principal, t: Target) -> bool {
    matches!(p.role, Some(Role::Administrator | Role::RegionalOfficer)) && sees(p, t)
}

fn registers_facility(p: &Principal, t: Target) -> bool {
    manages_facility(p, t) && p.binding != "own"
}

/// One endpoint of the matrix.
struct Op {
    name: &'static str,
    method: &'static str,
    /// Path with {f} (target facility), {r} (its region), {sha} (its evidence file), {run} (its
    /// audit), {inc} (its incident), {u} (a user bound to it), {fresh} (a user bound to it,
    /// created for this request: deletions).
    path: &'static str,
    /// "json", "form", "formdata" (the audit upload, multipart), "raw", "token", "confirm" (the deletion form, typing {fresh}'s name) or
    /// "" for no body.
    body: &'static str,
    allowed: fn(&Principal, Target) -> bool,
}

const OPS: &[Op] = &[
    Op {
        name: "api facility",
        method: "GET",
        path: "/api/v1/facilities/{f}",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api facility add",
        method: "POST",
        path: "/api/v1/facilities",
        body: r#"json:{"finess":"{nf}","name":"{who}","kind":"clinic","region":"{r}","plan_start":"2026-01-01"}"#,
        allowed: registers_facility,
    },
    Op {
        name: "api facility change",
        method: "PATCH",
        path: "/api/v1/facilities/{f}",
        body: r#"json:{"name":"{who}","nis2":"essential"}"#,
        allowed: manages_facility,
    },
    Op {
        name: "page facility form",
        method: "GET",
        path: "/facilities/new",
        body: "",
        allowed: |p, _| {
            person(p) && matches!(p.role, Some(Role::Administrator | Role::RegionalOfficer))
        },
    },
    Op {
        name: "page facility add",
        method: "POST",
        path: "/facilities/new",
        body: "form:finess={nf}&name={who}&kind=clinic&region={r}&nis2=unknown&plan_start=2026-01-01",
        allowed: |p, t| person(p) && registers_facility(p, t),
    },
    Op {
        name: "page facility edit form",
        method: "GET",
        path: "/facilities/{f}/edit",
        body: "",
        allowed: |p, t| person(p) && manages_facility(p, t),
    },
    Op {
        name: "page facility edit",
        method: "POST",
        path: "/facilities/{f}/edit",
        body: "form:name={who}&kind=hospital&region={r}&nis2=essential&plan_start=2025-01-01",
        allowed: |p, t| person(p) && manages_facility(p, t),
    },
    Op {
        name: "api status",
        method: "GET",
        path: "/api/v1/facilities/{f}/status",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api measure",
        method: "GET",
        path: "/api/v1/facilities/{f}/measures/IAM-04",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api declare",
        method: "POST",
        path: "/api/v1/facilities/{f}/measures/IAM-05/declarations",
        body: "json",
        allowed: |p, t| sees(p, t) && writes(p),
    },
    Op {
        name: "api evidence list",
        method: "GET",
        path: "/api/v1/facilities/{f}/measures/IAM-04/evidence",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api evidence upload",
        method: "POST",
        path: "/api/v1/facilities/{f}/measures/IAM-04/evidence?file_name=x.txt",
        body: "raw",
        allowed: |p, t| sees(p, t) && writes(p),
    },
    Op {
        name: "api evidence link",
        method: "POST",
        path: "/api/v1/facilities/{f}/measures/IAM-04/links",
        body: r#"json:{"url":"https://ged.example/doc","title":"{who}"}"#,
        allowed: |p, t| sees(p, t) && writes(p),
    },
    Op {
        name: "page evidence link",
        method: "POST",
        path: "/facilities/{f}/measures/IAM-04/links",
        body: "form:url=https://ged.example/doc&title={who}",
        allowed: |p, t| sees(p, t) && writes(p) && person(p),
    },
    Op {
        name: "api evidence download",
        method: "GET",
        path: "/api/v1/facilities/{f}/evidence/{sha}",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api audits",
        method: "GET",
        path: "/api/v1/facilities/{f}/audits",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api audit findings",
        method: "GET",
        path: "/api/v1/facilities/{f}/audits/{run}",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api assets",
        method: "GET",
        path: "/api/v1/facilities/{f}/assets",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api IS map",
        method: "GET",
        path: "/api/v1/facilities/{f}/map",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api alerts",
        method: "GET",
        path: "/api/v1/facilities/{f}/alerts",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api incidents",
        method: "GET",
        path: "/api/v1/facilities/{f}/incidents",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api incident",
        method: "GET",
        path: "/api/v1/facilities/{f}/incidents/{inc}",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api incident draft",
        method: "GET",
        path: "/api/v1/facilities/{f}/incidents/{inc}/drafts/cnil?lang=fr",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api region",
        method: "GET",
        path: "/api/v1/regions/{r}/status",
        body: "",
        allowed: |p, t| sees(p, t) || (p.binding == "own" && t == Target::Other),
    },
    Op {
        name: "api journal verify",
        method: "GET",
        path: "/api/v1/journal/verify",
        body: "",
        allowed: |p, _| journal(p),
    },
    Op {
        name: "api tokens",
        method: "GET",
        path: "/api/v1/tokens",
        body: "",
        allowed: |p, _| tokens(p),
    },
    Op {
        name: "api token create",
        method: "POST",
        path: "/api/v1/tokens",
        body: "token",
        allowed: |p, t| tokens(p) && sees(p, t),
    },
    Op {
        name: "page facility",
        method: "GET",
        path: "/facilities/{f}",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page measure",
        method: "GET",
        path: "/facilities/{f}/measures/IAM-04",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page declare",
        method: "POST",
        path: "/facilities/{f}/measures/IAM-06/declare",
        body: "form",
        allowed: |p, t| person(p) && sees(p, t) && writes(p),
    },
    Op {
        name: "page download",
        method: "GET",
        path: "/facilities/{f}/evidence/{sha}",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page audits",
        method: "GET",
        path: "/facilities/{f}/audits",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page audit findings",
        method: "GET",
        path: "/facilities/{f}/audits/{run}",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page audit upload",
        method: "POST",
        path: "/facilities/{f}/audits",
        body: "formdata",
        allowed: |p, t| person(p) && sees(p, t) && runs_audits(p),
    },
    Op {
        name: "page assets",
        method: "GET",
        path: "/facilities/{f}/assets",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page IS map",
        method: "GET",
        path: "/facilities/{f}/map",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page IS map JSON",
        method: "GET",
        path: "/facilities/{f}/map.json",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page alerts",
        method: "GET",
        path: "/facilities/{f}/alerts",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page incidents",
        method: "GET",
        path: "/facilities/{f}/incidents",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page incident",
        method: "GET",
        path: "/facilities/{f}/incidents/{inc}",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page incident draft",
        method: "GET",
        path: "/facilities/{f}/incidents/{inc}/drafts/cnil",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page region",
        method: "GET",
        path: "/regions/{r}",
        body: "",
        allowed: |p, t| person(p) && (sees(p, t) || (p.binding == "own" && t == Target::Other)),
    },
    Op {
        name: "page region csv",
        method: "GET",
        path: "/regions/{r}/export.csv",
        body: "",
        allowed: |p, t| person(p) && (sees(p, t) || (p.binding == "own" && t == Target::Other)),
    },
    Op {
        name: "page region reports",
        method: "GET",
        path: "/regions/{r}/reports",
        body: "",
        allowed: |p, t| person(p) && (sees(p, t) || (p.binding == "own" && t == Target::Other)),
    },
    Op {
        name: "page region late csv",
        method: "GET",
        path: "/regions/{r}/late.csv",
        body: "",
        allowed: |p, t| person(p) && (sees(p, t) || (p.binding == "own" && t == Target::Other)),
    },
    Op {
        name: "page region incidents",
        method: "GET",
        path: "/regions/{r}/incidents",
        body: "",
        allowed: |p, t| person(p) && (sees(p, t) || (p.binding == "own" && t == Target::Other)),
    },
    Op {
        name: "page region incidents csv",
        method: "GET",
        path: "/regions/{r}/incidents.csv",
        body: "",
        allowed: |p, t| person(p) && (sees(p, t) || (p.binding == "own" && t == Target::Other)),
    },
    Op {
        name: "page region requests",
        method: "GET",
        path: "/regions/{r}/requests",
        body: "",
        // The agency's campaigns: callers bound to the installation or to that region only.
        allowed: |p, t| person(p) && p.binding != "own" && sees(p, t),
    },
    Op {
        name: "page facility requests",
        method: "GET",
        path: "/facilities/{f}/requests",
        body: "",
        allowed: |p, t| person(p) && sees(p, t),
    },
    Op {
        name: "page journal",
        method: "GET",
        path: "/journal",
        body: "",
        allowed: |p, _| journal(p),
    },
    Op {
        name: "page webhook deliveries",
        method: "GET",
        path: "/facilities/{f}/webhooks",
        body: "",
        allowed: |p, t| person(p) && sees(p, t) && journal(p),
    },
    Op {
        name: "page all webhook deliveries",
        method: "GET",
        path: "/admin/webhooks",
        body: "",
        allowed: |p, _| journal(p) && p.binding == "installation",
    },
    Op {
        name: "page tokens",
        method: "GET",
        path: "/tokens",
        body: "",
        allowed: |p, _| tokens(p),
    },
    Op {
        name: "page users",
        method: "GET",
        path: "/admin/users",
        body: "",
        allowed: |p, _| p.role == Some(Role::Administrator),
    },
    Op {
        name: "api users",
        method: "GET",
        path: "/api/v1/users",
        body: "",
        allowed: |p, _| p.role == Some(Role::Administrator),
    },
    Op {
        name: "api user",
        method: "GET",
        path: "/api/v1/users/{u}",
        body: "",
        allowed: manages,
    },
    Op {
        name: "api user disable",
        method: "POST",
        path: "/api/v1/users/{u}/disable",
        body: "",
        allowed: manages,
    },
    Op {
        name: "api user enable",
        method: "POST",
        path: "/api/v1/users/{u}/enable",
        body: "",
        allowed: manages,
    },
    Op {
        name: "api user unlock",
        method: "POST",
        path: "/api/v1/users/{u}/unlock",
        body: "",
        allowed: manages,
    },
    Op {
        name: "api user reset password",
        method: "POST",
        path: "/api/v1/users/{u}/reset-password",
        body: "",
        allowed: manages,
    },
    Op {
        name: "api user reset totp",
        method: "POST",
        path: "/api/v1/users/{u}/reset-totp",
        body: "",
        allowed: manages,
    },
    Op {
        name: "api user end sessions",
        method: "POST",
        path: "/api/v1/users/{u}/end-sessions",
        body: "",
        allowed: manages,
    },
    Op {
        name: "api user delete",
        method: "DELETE",
        path: "/api/v1/users/{fresh}",
        body: "",
        allowed: manages,
    },
    Op {
        name: "api my sessions",
        method: "GET",
        path: "/api/v1/me/sessions",
        body: "",
        allowed: |p, _| person(p),
    },
    Op {
        name: "api end my other sessions",
        method: "POST",
        path: "/api/v1/me/sessions/end-others",
        body: "",
        allowed: |p, _| person(p),
    },
    Op {
        name: "api security events",
        method: "GET",
        path: "/api/v1/security-events",
        body: "",
        allowed: |p, _| p.role == Some(Role::Administrator),
    },
    Op {
        name: "page user",
        method: "GET",
        path: "/admin/users/{u}",
        body: "",
        allowed: manages,
    },
    Op {
        name: "page user disable",
        method: "POST",
        path: "/admin/users/{u}/disable",
        body: "form",
        allowed: manages,
    },
    Op {
        name: "page user enable",
        method: "POST",
        path: "/admin/users/{u}/enable",
        body: "form",
        allowed: manages,
    },
    Op {
        name: "page user unlock",
        method: "POST",
        path: "/admin/users/{u}/unlock",
        body: "form",
        allowed: manages,
    },
    Op {
        name: "page user reset password",
        method: "POST",
        path: "/admin/users/{u}/reset-password",
        body: "form",
        allowed: manages,
    },
    Op {
        name: "page user reset totp",
        method: "POST",
        path: "/admin/users/{u}/reset-totp",
        body: "form",
        allowed: manages,
    },
    Op {
        name: "page user end sessions",
        method: "POST",
        path: "/admin/users/{u}/end-sessions",
        body: "form",
        allowed: manages,
    },
    Op {
        name: "page user delete form",
        method: "GET",
        path: "/admin/users/{u}/delete",
        body: "",
        allowed: manages,
    },
    Op {
        name: "page user delete",
        method: "POST",
        path: "/admin/users/{fresh}/delete",
        body: "confirm",
        allowed: manages,
    },
    Op {
        name: "page security events",
        method: "GET",
        path: "/admin/security",
        body: "",
        allowed: |p, _| p.role == Some(Role::Administrator),
    },
    Op {
        name: "page my sessions",
        method: "GET",
        path: "/account/sessions",
        body: "",
        allowed: |p, _| person(p),
    },
    Op {
        name: "page end my other sessions",
        method: "POST",
        path: "/account/sessions/end-others",
        body: "form",
        allowed: |p, _| person(p),
    },
    Op {
        name: "api alert",
        method: "GET",
        path: "/api/v1/facilities/{f}/alerts/alert-{f}",
        body: "",
        allowed: |p, t| sees(p, t),
    },
    Op {
        name: "api alert triage",
        method: "POST",
        path: "/api/v1/facilities/{f}/alerts/alert-{f}/triage",
        body: r#"json:{"status":"acknowledged"}"#,
        allowed: |p, t| sees(p, t) && writes(p),
    },
    Op {
        name: "api incident open",
        method: "POST",
        path: "/api/v1/facilities/{f}/incidents",
        body: r#"json:{"alerts":["{fa}"]}"#,
        allowed: |p, t| sees(p, t) && writes(p),
    },
    Op {
        name: "api incident facts",
        method: "POST",
        path: "/api/v1/facilities/{f}/incidents/{inc}/facts",
        body: r#"json:{"description":"{who}"}"#,
        allowed: |p, t| sees(p, t) && writes(p),
    },
    Op {
        name: "api incident sending",
        method: "POST",
        path: "/api/v1/facilities/{f}/incidents/{fi}/sendings",
        body: r#"json:{"duty":"cnil","channel":"portal"}"#,
        allowed: |p, t| sees(p, t) && writes(p),
    },
    Op {
        name: "api incident close",
        method: "POST",
        path: "/api/v1/facilities/{f}/incidents/{fi}/close",
        body: r#"json:{"justification":"matrix"}"#,
        allowed: |p, t| sees(p, t) && writes(p),
    },
    Op {
        name: "page alert",
        method: "GET",
        path: "/facilities/{f}/alerts/alert-{f}",
        body: "",
        allowed: |p, t| sees(p, t) && person(p),
    },
    Op {
        name: "page alert triage",
        method: "POST",
        path: "/facilities/{f}/alerts/alert-{f}/triage",
        body: "form:status=acknowledged",
        allowed: |p, t| sees(p, t) && writes(p) && person(p),
    },
    Op {
        name: "page alerts triage",
        method: "POST",
        path: "/facilities/{f}/alerts/triage",
        body: "form:status=new&alert=alert-{f}",
        allowed: |p, t| sees(p, t) && writes(p) && person(p),
    },
    Op {
        name: "page incident from alerts",
        method: "POST",
        path: "/facilities/{f}/alerts/open-incident",
        body: "form:alert={fa}",
        allowed: |p, t| sees(p, t) && writes(p) && person(p),
    },
    Op {
        name: "page incident open",
        method: "POST",
        path: "/facilities/{f}/incidents",
        body: "form:title={who}",
        allowed: |p, t| sees(p, t) && writes(p) && person(p),
    },
    Op {
        name: "page incident facts",
        method: "POST",
        path: "/facilities/{f}/incidents/{inc}/facts",
        body: "form:description={who} page",
        allowed: |p, t| sees(p, t) && writes(p) && person(p),
    },
    Op {
        name: "page incident sending",
        method: "POST",
        path: "/facilities/{f}/incidents/{fi}/sendings",
        body: "form:duty=cnil&channel=portal",
        allowed: |p, t| sees(p, t) && writes(p) && person(p),
    },
    Op {
        name: "page incident close",
        method: "POST",
        path: "/facilities/{f}/incidents/{fi}/close",
        body: "form:justification=matrix",
        allowed: |p, t| sees(p, t) && writes(p) && person(p),
    },
];

/// An alert recorded for one request of the matrix.
fn fresh_alert(id: &str) -> hygie_core::Alert {
    hygie_core::Alert {
        id: id.into(),
        rule_id: "sigma-2".into(),
        title: "Fresh".into(),
        level: "medium".into(),
        tags: vec![],
        time: None,
        last_time: None,
        host: None,
        record_id: 1,
        source: "evtx".into(),
        fields: vec![],
        count: 1,
    }
}

/// How the principals' accounts come to be: made by an administrator, or created at their
/// first single sign-on (the store call the provider's callback makes).
#[derive(Clone, Copy, PartialEq)]
enum Accounts {
    Local,
    SingleSignOn,
}

async fn run_matrix(app: &App) {
    run_matrix_of(app, Accounts::Local).await
}

async fn run_matrix_of(app: &App, accounts: Accounts) {
    let s = seed(app).await;
    // A user bound to each facility, the target of the account actions.
    let mut targets = Vec::new();
    for (i, f) in [&s.own, &s.other, &s.far].into_iter().enumerate() {
        let u = user(
            app,
            &format!("target{i}"),
            Role::ItStaff,
            Binding::Facilities {
                facilities: vec![f.clone()],
            },
        )
        .await;
        targets.push(u.id.to_string());
    }
    let mut fresh_users = 0;
    let mut fresh_objects = 0;
    let mut creds = Vec::new();
    for p in PRINCIPALS {
        let binding = match p.binding {
            "installation" => Binding::Installation,
            "region" => Binding::Region {
                region: hygie_core::Region::parse("BRE").unwrap(),
            },
            _ => Binding::Facilities {
                facilities: vec![s.own.clone()],
            },
        };
        let cred = match (p.role, p.token) {
            (Some(role), _) => {
                let u = match accounts {
                    Accounts::Local => user(app, p.name, role, binding).await,
                    Accounts::SingleSignOn => app
                        .store
                        .sign_in_external_user(&hygie_store::ExternalSignIn {
                            username: p.name,
                            display_name: p.name,
                            role,
                            binding,
                            source: hygie_store::SignIn::Oidc("chu".into()),
                            decided_by: serde_json::json!({ "claim": "groups", "value": p.name }),
                        })
                        .await
                        .unwrap(),
                };
                let (cookie, csrf) = session(app, &u).await;
                Cred::Cookie { cookie, csrf }
            }
            (None, Some(access)) => Cred::Bearer(token(app, &s.own, access).await),
            _ => unreachable!(),
        };
        creds.push(cred);
    }
    let mut checked = 0;
    let mut failures = Vec::new();
    for (p, cred) in PRINCIPALS.iter().zip(&creds) {
        for op in OPS {
            for (i, (t, f)) in [
                (Target::Own, &s.own),
                (Target::Other, &s.other),
                (Target::Far, &s.far),
            ]
            .into_iter()
            .enumerate()
            {
                let region = if t == Target::Far { "IDF" } else { "BRE" };
                let mut fresh = String::new();
                if op.path.contains("{fresh}") {
                    fresh_users += 1;
                    fresh = format!("fresh{fresh_users}");
                    let u = user(
                        app,
                        &fresh,
                        Role::Auditor,
                        Binding::Facilities {
                            facilities: vec![f.clone()],
                        },
                    )
                    .await;
                    fresh = format!("{}:{fresh}", u.id);
                }
                let (fresh_id, fresh_name) = fresh.split_once(':').unwrap_or(("", ""));
                // An alert or an incident of the target made for this request (an incident is
                // opened from one alert only once, and closed only once).
                fresh_objects += 1;
                let fa = format!("fa{fresh_objects}");
                if op.body.contains("{fa}") {
                    let mut a = fresh_alert(&fa);
                    a.host = Some(format!("host{fresh_objects}"));
                    app.store
                        .record_alerts(f, &[a], &hygie_store::Actor("test".into()))
                        .await
                        .unwrap();
                }
                let mut fi = String::new();
                if op.path.contains("{fi}") {
                    let input = hygie_incident::FactsInput {
                        title: Some("fresh".into()),
                        personal_data_breach: Some("risk".into()),
                        awareness: Some(jiff::Timestamp::now().to_string()),
                        ..hygie_incident::FactsInput::default()
                    };
                    fi = app
                        .store
                        .open_incident(
                            f,
                            input,
                            jiff::Timestamp::now(),
                            &hygie_store::Actor("test".into()),
                        )
                        .await
                        .unwrap()
                        .id;
                }
                // A facility not yet registered, in the target's region.
                let nf = hygie_core::Finess::with_check_digit(&format!(
                    "{}{:06}",
                    if t == Target::Far { "75" } else { "35" },
                    900_000 + fresh_objects
                ))
                .unwrap()
                .to_string();
                let who = format!("{} on {t:?}", p.name);
                let uri = op
                    .path
                    .replace("{f}", f.as_str())
                    .replace("{r}", region)
                    .replace("{sha}", &s.sha[i])
                    .replace("{run}", &s.runs[i])
                    .replace("{inc}", &s.incidents[i])
                    .replace("{u}", &targets[i])
                    .replace("{fresh}", fresh_id)
                    .replace("{fi}", &fi);
                let csrf = match cred {
                    Cred::Cookie { csrf, .. } => csrf.clone(),
                    _ => String::new(),
                };
                let (ct, body) = match op.body {
                    "json" => (
                        Some("application/json"),
                        br#"{"status":"in_progress"}"#.to_vec(),
                    ),
                    "raw" => (
                        Some("application/octet-stream"),
                        format!("upload by {}", p.name).into_bytes(),
                    ),
                    "form" => (
                        Some("application/x-www-form-urlencoded"),
                        form_body(&[("csrf", &csrf), ("status", "in_progress")]),
                    ),
                    "token" => (
                        Some("application/json"),
                        format!(r#"{{"name":"t","facility":"{f}","access":"read"}}"#).into_bytes(),
                    ),
                    b if b.starts_with("json:") => (
                        Some("application/json"),
                        b["json:".len()..]
                            .replace("{fa}", &fa)
                            .replace("{nf}", &nf)
                            .replace("{r}", region)
                            .replace("{who}", &who)
                            .into_bytes(),
                    ),
                    b if b.starts_with("form:") => {
                        let extra = b["form:".len()..]
                            .replace("{fa}", &fa)
                            .replace("{who}", &who)
                            .replace("{nf}", &nf)
                            .replace("{r}", region)
                            .replace("{f}", f.as_str());
                        let mut fields = vec![("csrf".to_owned(), csrf.clone())];
                        for kv in extra.split('&') {
                            let (k, v) = kv.split_once('=').unwrap();
                            fields.push((k.to_owned(), v.to_owned()));
                        }
                        let pairs: Vec<(&str, &str)> = fields
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        (Some("application/x-www-form-urlencoded"), form_body(&pairs))
                    }
                    "formdata" => (
                        Some("multipart/form-data; boundary=XbOuNdArYm"),
                        format!(
                            "--XbOuNdArYm\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--XbOuNdArYm\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nad-ldif\r\n--XbOuNdArYm\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.ldif\"\r\n\r\n{}\r\n--XbOuNdArYm--\r\n",
                            include_str!("data/chu-test.ldif")
                        )
                        .into_bytes(),
                    ),
                    "confirm" => (
                        Some("application/x-www-form-urlencoded"),
                        form_body(&[("csrf", &csrf), ("confirm", fresh_name)]),
                    ),
                    _ => (None, Vec::new()),
                };
                let res = app.send(request(op.method, &uri, cred, ct, body)).await;
                let status = res.status();
                let to_login = res.headers().get("location").is_some_and(|l| l == "/login");
                let want = (op.allowed)(p, t);
                let text = body_string(res).await;
                let got = status.is_success()
                    || ((op.body.starts_with("form") || op.body == "confirm")
                        && status.is_redirection()
                        && !to_login);
                if got != want {
                    failures.push(format!(
                        "{} {} on {:?} ({uri}): want {} got {status}",
                        p.name,
                        op.name,
                        t,
                        if want { "allowed" } else { "refused" }
                    ));
                }
                // Refusals are 401/403/404 (pages redirect to the login page); never a 5xx.
                if !got
                    && !(status.as_u16() == 403
                        || status.as_u16() == 404
                        || status.as_u16() == 401
                        || status.is_redirection())
                {
                    failures.push(format!(
                        "{} {} on {:?}: refusal with status {status}",
                        p.name, op.name, t
                    ));
                }
                // A facility out of scope never appears in any answer.
                if got {
                    for (other_t, other_f) in [
                        (Target::Own, &s.own),
                        (Target::Other, &s.other),
                        (Target::Far, &s.far),
                    ] {
                        if !sees(p, other_t) && text.contains(other_f.as_str()) {
                            failures.push(format!(
                                "{} {} on {:?}: leaks {other_f}",
                                p.name, op.name, t
                            ));
                        }
                    }
                }
                checked += 1;
            }
        }
        // Lists hold exactly the facilities in scope.
        let res = app
            .send(request("GET", "/api/v1/facilities", cred, None, Vec::new()))
            .await;
        assert_eq!(res.status(), 200, "{}", p.name);
        let list: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        for (t, f) in [
            (Target::Own, &s.own),
            (Target::Other, &s.other),
            (Target::Far, &s.far),
        ] {
            assert_eq!(ids.contains(&f.as_str()), sees(p, t), "{} list {f}", p.name);
        }
        // An evidence hash of another facility does not open through a facility in scope.
        let res = app
            .send(request(
                "GET",
                &format!("/api/v1/facilities/{}/evidence/{}", s.own, s.sha[2]),
                cred,
                None,
                Vec::new(),
            ))
            .await;
        assert_eq!(res.status(), 404, "{} cross-facility hash", p.name);
        // Nor do another facility's audit, incident or draft ids.
        for path in [
            format!("/api/v1/facilities/{}/audits/{}", s.own, s.runs[2]),
            format!("/api/v1/facilities/{}/incidents/{}", s.own, s.incidents[2]),
            format!(
                "/api/v1/facilities/{}/incidents/{}/drafts/cnil",
                s.own, s.incidents[1]
            ),
            format!("/facilities/{}/audits/{}", s.own, s.runs[1]),
            format!("/facilities/{}/incidents/{}", s.own, s.incidents[2]),
        ] {
            let res = app
                .send(request("GET", &path, cred, None, Vec::new()))
                .await;
            assert!(
                matches!(res.status().as_u16(), 404 | 401 | 303),
                "{} opens {path}: {}",
                p.name,
                res.status()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, PRINCIPALS.len() * OPS.len() * 3);
    // Every write was journalled with its actor.
    let entries = app.store.journal_entries(None, None).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.actor == "web:ciso" && e.action == "assessment.set")
    );
    assert!(
        entries
            .iter()
            .any(|e| e.actor.starts_with("token:") && e.action == "evidence.add")
    );
    for action in [
        "user.disable",
        "user.enable",
        "user.unlock",
        "user.password_reset",
        "user.totp_reset",
        "user.sessions_end",
        "user.delete",
    ] {
        for admin in ["web:admin_all", "web:admin_fac"] {
            assert!(
                entries
                    .iter()
                    .any(|e| e.actor == admin && e.action == action),
                "{admin} {action}"
            );
        }
    }
    for action in ["facility.add", "facility.update"] {
        for who in ["web:admin_all", "web:officer"] {
            assert!(
                entries.iter().any(|e| e.actor == who && e.action == action),
                "{who} {action}"
            );
        }
    }
    assert!(matches!(
        app.store.verify_journal().await.unwrap(),
        hygie_store::JournalCheck::Intact { .. }
    ));
}

#[tokio::test]
async fn authorisation_matrix_sqlite() {
    let app = sqlite_app().await;
    run_matrix(&app).await;
}

/// The same matrix with every person's account created by single sign-on: an account from a
/// provider gets exactly the rights of its role and binding.
#[tokio::test]
async fn authorisation_matrix_with_single_sign_on_accounts_sqlite() {
    let app = sqlite_app().await;
    run_matrix_of(&app, Accounts::SingleSignOn).await;
}

#[tokio::test]
async fn authorisation_matrix_postgres() {
    let Some(app) = pg_app().await else { return };
    run_matrix(&app).await;
    app.cleanup().await;
}
