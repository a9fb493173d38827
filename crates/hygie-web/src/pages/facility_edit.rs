//! Registering a facility and changing its record, for administrators and regional officers
//! within their binding (`Scoped::add_facility`, `update_facility`: the store decides). The
//! fields are parsed by `hygie_core::FacilityInput::parse`, as the command line's `facility add`
//! and the API parse them; a refused form comes back with what was typed and each field's
//! reason beside it, in the reader's language (status 400).

use super::{FacilityPage, PageResult, PageUser, see_other};
use crate::AppState;
use crate::html::t;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use hygie_core::{FacilityInput, FieldError, Lang, Region};
use hygie_report::Translate;
use hygie_store::Binding;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/facilities/new", get(new_form).post(create))
        .route("/facilities/{finess}/edit", get(edit_form).post(update))
}

/// The form of a facility: empty to register one, filled to change one (`finess` is then fixed).
#[derive(askama::Template)]
#[template(path = "facility_form.html")]
struct FormBody<'a> {
    lang: Lang,
    csrf: &'a str,
    /// The facility changed, or None for a new one.
    editing: Option<&'a str>,
    input: &'a FacilityInput,
    errors: &'a [FieldError],
    /// The regions the caller may choose.
    regions: Vec<Region>,
}

hygie_report::translate_by_lang_field!(FormBody);

impl FormBody<'_> {
    /// The reason a field was refused, in the reader's language.
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.get(self.lang))
    }
}

/// The form, with `errors` beside the fields they name (400 when there are any).
fn form_page(
    p: &PageUser,
    editing: Option<&str>,
    input: &FacilityInput,
    errors: &[FieldError],
) -> PageResult {
    let lang = p.lang();
    let mut regions: Vec<Region> = match &p.user.binding {
        Binding::Region { region } => vec![*region],
        _ => Region::all().collect(),
    };
    // A demo facility keeps its region; the list offers it so that the form shows it.
    if let Ok(r) = Region::parse(&input.region)
        && r.is_demo()
    {
        regions = vec![r];
    }
    let body = hygie_report::render(&FormBody {
        lang,
        csrf: p.c.csrf(),
        editing,
        input,
        errors,
        regions,
    });
    let title = match editing {
        Some(id) => format!(
            "{} {id}",
            t(lang, "Edit facility", "Modifier l'établissement")
        ),
        None => t(lang, "New facility", "Nouvel établissement").to_owned(),
    };
    let page = p.page(&title, &body);
    Ok(if errors.is_empty() {
        page
    } else {
        (StatusCode::BAD_REQUEST, page).into_response()
    })
}

/// A refusal by the store about one field, shown beside it; None for any other error.
fn store_refusal(e: &hygie_store::StoreError, input: &FacilityInput) -> Option<FieldError> {
    use hygie_store::StoreError as E;
    match e {
        E::Conflict(_) => Some(FieldError {
            field: "finess",
            message: hygie_core::Localized::new(
                format!("facility {} is already registered", input.finess.trim()),
                format!(
                    "l'établissement {} est déjà enregistré",
                    input.finess.trim()
                ),
            ),
        }),
        E::Invalid(m) if m.starts_with("region:") => Some(FieldError {
            field: "region",
            message: hygie_core::Localized::new(
                "a facility of the demo region stays there, and no other enters it",
                "un établissement de la région de démonstration y reste, et aucun autre n'y entre",
            ),
        }),
        _ => None,
    }
}

async fn new_form(State(st): State<AppState>, p: PageUser) -> PageResult {
    crate::api::may_manage_facilities(&st.scoped(&p.c))?;
    let input = FacilityInput {
        region: match &p.user.binding {
            Binding::Region { region } => region.code().to_owned(),
            _ => String::new(),
        },
        nis2: "unknown".into(),
        ..FacilityInput::default()
    };
    form_page(&p, None, &input, &[])
}

#[derive(serde::Deserialize)]
struct FacilityForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    input: FacilityInput,
}

async fn create(
    State(st): State<AppState>,
    p: PageUser,
    Form(f): Form<FacilityForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    crate::api::may_manage_facilities(&st.scoped(&p.c))?;
    let facility = match f.input.parse() {
        Ok(x) => x,
        Err(errors) => return form_page(&p, None, &f.input, &errors),
    };
    match st.scoped(&p.c).add_facility(&facility).await {
        Ok(()) => Ok(see_other(&format!("/facilities/{}", facility.id))),
        Err(e) => match store_refusal(&e, &f.input) {
            Some(err) => form_page(&p, None, &f.input, &[err]),
            None => Err(e.into()),
        },
    }
}

async fn edit_form(at: FacilityPage) -> PageResult {
    let f = at.facility().await?;
    crate::api::may_manage_facilities(&at.scoped())?;
    form_page(&at.who, Some(at.id.as_str()), &FacilityInput::of(&f), &[])
}

async fn update(at: FacilityPage, Form(f): Form<FacilityForm>) -> PageResult {
    at.caller().check_csrf(Some(&f.csrf))?;
    // Out of scope stays "not found", and a read-only role "forbidden", before any word about
    // the fields.
    at.facility().await?;
    crate::api::may_manage_facilities(&at.scoped())?;
    // The FINESS number is the facility's id: the path's, whatever the form says.
    let input = FacilityInput {
        finess: at.id.to_string(),
        ..f.input
    };
    let facility = match input.parse() {
        Ok(x) => x,
        Err(errors) => return form_page(&at.who, Some(at.id.as_str()), &input, &errors),
    };
    match at.scoped().update_facility(&facility).await {
        Ok(()) => Ok(see_other(&format!("/facilities/{}", facility.id))),
        Err(e) => match store_refusal(&e, &input) {
            Some(err) => form_page(&at.who, Some(at.id.as_str()), &input, &[err]),
            None => Err(e.into()),
        },
    }
}
