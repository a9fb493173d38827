//! Administration: the journal, API tokens and user accounts.

use super::{CsrfForm, PageResult, PageUser, see_other};
use crate::api::{self};
use crate::html::{t, table_head};
use crate::{AppState, WebError, auth};
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use hygie_core::Lang;
use hygie_report::esc;
use hygie_store::{Binding, NewUser, Role, StoreError};
use serde::Deserialize;
use std::fmt::Write as _;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/journal", get(journal_page))
        .route("/tokens", get(tokens_page).post(token_create))
        .route("/tokens/{id}/revoke", post(token_revoke))
        .route("/admin/users", get(users_page).post(user_create))
}

async fn journal_page(State(st): State<AppState>, p: PageUser) -> PageResult {
    let lang = p.lang();
    let scoped = st.store().scoped(&p.c.access);
    let check = scoped.verify_journal().await?;
    let entries = scoped.journal_entries(200).await?;
    let mut b = match check {
        hygie_store::JournalCheck::Intact { entries } => format!(
            "<p class=\"card ok\" id=\"journal-status\">{} ({entries} {})</p>",
            t(
                lang,
                "The journal's hash chain is intact",
                "La chaîne de hachage du journal est intacte"
            ),
            t(lang, "entries", "entrées")
        ),
        hygie_store::JournalCheck::Broken(br) => format!(
            "<p class=\"err\" id=\"journal-status\">{}: {}</p>",
            t(lang, "The journal is BROKEN", "Le journal est ROMPU"),
            esc(&br.to_string())
        ),
    };
    b.push_str(&table_head(&[
        "#",
        t(lang, "When", "Date"),
        t(lang, "Who", "Qui"),
        t(lang, "Action", "Action"),
        t(lang, "Subject", "Objet"),
        t(lang, "Details", "Détails"),
    ]));
    for e in entries.iter().rev() {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            e.seq,
            esc(&e.at),
            esc(&e.actor),
            esc(&e.action),
            esc(&e.subject),
            esc(&e.details)
        );
    }
    b.push_str("</table>");
    Ok(p.page(t(lang, "Journal", "Journal"), &b))
}

// --- API tokens and users --------------------------------------------------------------------

async fn tokens_view(st: &AppState, p: &PageUser, created: Option<&str>) -> PageResult {
    let lang = p.lang();
    let scoped = st.store().scoped(&p.c.access);
    let tokens = scoped.tokens().await?;
    let facilities = scoped.facilities().await?;
    let csrf = esc(p.c.csrf());
    let mut b = String::new();
    if let Some(secret) = created {
        let _ = write!(
            b,
            "<p class=\"card\">{} <code id=\"new-token\">{}</code></p>",
            t(
                lang,
                "New token (shown once, copy it now):",
                "Nouveau jeton (affiché une seule fois, copiez-le maintenant) :"
            ),
            esc(secret)
        );
    }
    b.push_str(&table_head(&[
        "Id",
        t(lang, "Name", "Nom"),
        "FINESS",
        t(lang, "Access", "Accès"),
        t(lang, "Created", "Créé"),
        t(lang, "Revoked", "Révoqué"),
        "",
    ]));
    for tk in &tokens {
        let revoke = if tk.revoked_at.is_none() {
            format!(
                "<form method=\"post\" action=\"/tokens/{}/revoke\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">{}</button></form>",
                esc(&tk.id),
                t(lang, "Revoke", "Révoquer")
            )
        } else {
            String::new()
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{revoke}</td></tr>",
            esc(&tk.id),
            esc(&tk.name),
            tk.facility,
            tk.access.as_str(),
            tk.created_at.strftime("%Y-%m-%d"),
            tk.revoked_at
                .map(|r| r.strftime("%Y-%m-%d").to_string())
                .unwrap_or_default()
        );
    }
    b.push_str("</table>");
    let opts: String = facilities
        .iter()
        .take(2000)
        .map(|f| {
            format!(
                "<option value=\"{}\">{} — {}</option>",
                f.id,
                f.id,
                esc(&f.name)
            )
        })
        .collect();
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/tokens\" class=\"card\"><h2>{}</h2><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>{} <input name=\"name\" required></label><label>FINESS <select name=\"facility\">{opts}</select></label>\
<label>{} <select name=\"access\"><option value=\"read\">read</option><option value=\"write\">write</option></select></label><button type=\"submit\">{}</button></form>",
        t(lang, "New token", "Nouveau jeton"),
        t(lang, "Name", "Nom"),
        t(lang, "Access", "Accès"),
        t(lang, "Create", "Créer")
    );
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
}

async fn token_create(
    State(st): State<AppState>,
    p: PageUser,
    Form(f): Form<TokenForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let (secret, _) = api::create_token(&st, &p.c, &f.name, &f.facility, &f.access).await?;
    tokens_view(&st, &p, Some(&secret)).await
}

async fn token_revoke(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    st.store().scoped(&p.c.access).revoke_token(&id).await?;
    Ok(see_other("/tokens"))
}

async fn users_view(st: &AppState, p: &PageUser, msg: Option<&str>) -> PageResult {
    let lang = p.lang();
    let users = st.store().scoped(&p.c.access).users().await?;
    let csrf = esc(p.c.csrf());
    let mut b = String::new();
    if let Some(m) = msg {
        let _ = write!(b, "<p class=\"err\">{}</p>", esc(m));
    }
    b.push_str(&table_head(&[
        t(lang, "Username", "Identifiant"),
        t(lang, "Name", "Nom"),
        t(lang, "Role", "Rôle"),
        t(lang, "Scope", "Périmètre"),
        "TOTP",
    ]));
    for u in &users {
        let scope = match &u.binding {
            Binding::Installation => t(lang, "installation", "installation").to_owned(),
            Binding::Region { region } => region.code().to_owned(),
            Binding::Facilities { facilities } => facilities
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.username),
            esc(&u.display_name),
            esc(u.role.label().get(lang)),
            esc(&scope),
            if u.totp_enrolled { "✓" } else { "" }
        );
    }
    b.push_str("</table>");
    let roles: String = Role::ALL
        .iter()
        .map(|r| {
            format!(
                "<option value=\"{}\">{}</option>",
                r.as_str(),
                esc(r.label().get(lang))
            )
        })
        .collect();
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/admin/users\" class=\"card\"><h2>{}</h2><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>{} <input name=\"username\" required></label><label>{} <input name=\"display_name\" required></label>\
<label>{} <select name=\"role\">{roles}</select></label>\
<label>{} <input name=\"region\" size=\"5\"></label><label>{} <input name=\"facilities\" size=\"40\"></label>\
<label>{} <input type=\"password\" name=\"password\" required minlength=\"12\" autocomplete=\"new-password\"></label><button type=\"submit\">{}</button></form>",
        t(lang, "New user", "Nouvel utilisateur"),
        t(lang, "Username", "Identifiant"),
        t(lang, "Full name", "Nom complet"),
        t(lang, "Role", "Rôle"),
        t(
            lang,
            "Region code (regional roles)",
            "Code région (rôles régionaux)"
        ),
        t(
            lang,
            "FINESS numbers, comma-separated (facility roles)",
            "Numéros FINESS séparés par des virgules (rôles d'établissement)"
        ),
        t(lang, "Initial password", "Mot de passe initial"),
        t(lang, "Create", "Créer")
    );
    Ok(p.page(t(lang, "Users", "Utilisateurs"), &b))
}

async fn users_page(State(st): State<AppState>, p: PageUser) -> PageResult {
    users_view(&st, &p, None).await
}

#[derive(Deserialize)]
struct UserForm {
    #[serde(default)]
    csrf: String,
    username: String,
    display_name: String,
    role: String,
    region: Option<String>,
    facilities: Option<String>,
    password: String,
}

/// Build a binding from the form's region or FINESS list.
pub(crate) fn binding_of(
    region: Option<&str>,
    facilities: Option<&str>,
) -> Result<Binding, WebError> {
    let region = region.map(str::trim).filter(|r| !r.is_empty());
    let list: Vec<&str> = facilities
        .unwrap_or("")
        .split([',', ' ', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    match (region, list.is_empty()) {
        (Some(r), true) => Ok(Binding::Region {
            region: hygie_core::Region::parse(r)?,
        }),
        (None, false) => Ok(Binding::Facilities {
            facilities: list
                .iter()
                .map(|f| hygie_core::Finess::parse(f))
                .collect::<Result<_, _>>()?,
        }),
        _ => Err(WebError::Invalid(
            "give either a region or a list of FINESS numbers".into(),
        )),
    }
}

async fn user_create(
    State(st): State<AppState>,
    p: PageUser,
    Form(f): Form<UserForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let lang = p.lang();
    let role = Role::parse(&f.role)?;
    let binding = match binding_of(f.region.as_deref(), f.facilities.as_deref()) {
        Ok(b) => b,
        Err(e) => return users_view(&st, &p, Some(&e.public_message())).await,
    };
    if let Err(e) = auth::check_password(
        &f.password,
        &f.username,
        st.config().breach_index.as_deref(),
    ) {
        return users_view(&st, &p, Some(if lang == Lang::Fr { &e.fr } else { &e.en })).await;
    }
    let pw = f.password.clone();
    let phc = tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await??;
    let u = NewUser {
        username: f.username.trim().to_owned(),
        display_name: f.display_name.trim().to_owned(),
        role,
        binding,
        password_hash: phc,
        lang: None,
    };
    match st.store().scoped(&p.c.access).create_user(&u).await {
        Ok(_) => Ok(see_other("/admin/users")),
        Err(StoreError::Invalid(m)) | Err(StoreError::Conflict(m)) => {
            users_view(&st, &p, Some(&m)).await
        }
        Err(e) => Err(e.into()),
    }
}
