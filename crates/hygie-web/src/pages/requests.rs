//! The agency's requests for evidence (hygie-sync `request`). Region side, under
//! `/regions/{region}/requests`: the campaigns, the form that makes one (regional officers and
//! administrators within their binding; parsed by `hygie_sync::CampaignInput::parse`, as `hygie
//! region request create` parses it), a campaign's report with each facility's state and its
//! CSV export (`hygie_report::campaign_csv`). Facility side, `/facilities/{finess}/requests`: the
//! requests received, with due dates, days left and a link to each measure's page, where it is
//! declared and its evidence uploaded. Every read goes through `Scoped`.

use super::{FacilityPage, PageError, PageResult, PageUser, see_other};
use crate::api::{region, today};
use crate::html::t;
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use hygie_core::{Lang, Region};
use hygie_report::Translate;
use hygie_store::{ReceivedRequest, RequestCampaign, RequestStatus};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/regions/{region}/requests",
            get(campaigns_page).post(create),
        )
        .route("/regions/{region}/requests/{id}", get(campaign_page))
        .route(
            "/regions/{region}/requests/{id}/close",
            axum::routing::post(close),
        )
        .route(
            "/regions/{region}/requests/{id}/withdraw",
            axum::routing::post(withdraw),
        )
        .route(
            "/regions/{region}/requests/{id}/remind",
            axum::routing::post(remind),
        )
        .route(
            "/regions/{region}/requests/{id}/report.csv",
            get(campaign_csv),
        )
        .route(
            "/regions/{region}/requests/{id}/report.pdf",
            get(campaign_pdf),
        )
        .route("/facilities/{finess}/requests", get(facility_requests))
}

#[derive(askama::Template)]
#[template(path = "region_campaigns.html")]
struct CampaignsBody<'a> {
    lang: Lang,
    csrf: &'a str,
    region: Region,
    campaigns: &'a [RequestCampaign],
    /// The caller may make a campaign (the form is shown).
    can_create: bool,
    form: &'a CampaignForm,
    error: Option<String>,
}

hygie_report::translate_by_lang_field!(CampaignsBody);

impl CampaignsBody<'_> {
    fn is_kind(&self, k: &hygie_core::FacilityKind) -> bool {
        self.form.target.strip_prefix("kind:") == Some(k.as_str())
    }

    fn target(&self, c: &RequestCampaign) -> String {
        target_label(&c.target, self.region, self.lang)
    }
}

/// Who a campaign asks, in the reader's words (the stored code if it no longer parses).
fn target_label(code: &str, region: Region, lang: Lang) -> String {
    match hygie_sync::Target::parse(code, region) {
        Ok(t) => t.label().get(lang).to_owned(),
        Err(_) => code.to_owned(),
    }
}

/// The form as typed (kept when it is refused).
#[derive(Debug, Default, serde::Deserialize)]
struct CampaignForm {
    #[serde(default)]
    csrf: String,
    /// `region` or `kind:KIND` (the select), unless a département or a facility is given.
    #[serde(default)]
    target: String,
    #[serde(default)]
    departement: String,
    #[serde(default)]
    facility: String,
    #[serde(default)]
    measures: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    message_fr: String,
    #[serde(default)]
    message_en: String,
}

fn campaigns_body(
    p: &PageUser,
    st: &AppState,
    region: Region,
    campaigns: &[RequestCampaign],
    form: &CampaignForm,
    error: Option<String>,
) -> String {
    let scoped = st.scoped(&p.c);
    hygie_report::render(&CampaignsBody {
        lang: p.lang(),
        csrf: p.c.csrf(),
        region,
        campaigns,
        can_create: scoped.manages_facilities() && scoped.covers_region(region),
        form,
        error,
    })
}

fn title(lang: Lang, region: Region) -> String {
    format!(
        "{} — {}",
        region.code(),
        t(lang, "requests for evidence", "demandes de justificatifs")
    )
}

async fn campaigns_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(r): Path<String>,
) -> PageResult {
    let region = region(&r)?;
    let campaigns = st.scoped(&p.c).request_campaigns(region).await?;
    let form = CampaignForm {
        target: "region".into(),
        ..CampaignForm::default()
    };
    let b = campaigns_body(&p, &st, region, &campaigns, &form, None);
    Ok(p.page(&title(p.lang(), region), &b))
}

async fn create(
    State(st): State<AppState>,
    p: PageUser,
    Path(r): Path<String>,
    Form(f): Form<CampaignForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let region = region(&r)?;
    let scoped = st.scoped(&p.c);
    let campaigns = scoped.request_campaigns(region).await?;
    let refused = |msg: String| -> PageResult {
        let b = campaigns_body(&p, &st, region, &campaigns, &f, Some(msg));
        Ok((
            StatusCode::BAD_REQUEST,
            p.page(&title(p.lang(), region), &b),
        )
            .into_response())
    };
    let measures = vec![f.measures.clone()];
    // The narrowest target given wins: a facility, a département, then the select.
    let target = match (f.facility.trim(), f.departement.trim()) {
        (fac, _) if !fac.is_empty() => format!("facility:{fac}"),
        (_, dep) if !dep.is_empty() => format!("departement:{}", dep.to_ascii_uppercase()),
        _ => f.target.clone(),
    };
    let input = match hygie_sync::CampaignInput::parse(
        region.code(),
        &target,
        &measures,
        &f.due,
        &f.message_fr,
        &f.message_en,
    ) {
        Ok(i) => i,
        Err(e) => return refused(e.reason().get(p.lang()).to_owned()),
    };
    if let Some(m) = input
        .measures
        .iter()
        .find(|m| st.catalog().measure(m).is_none())
    {
        return refused(format!(
            "{m}: {}",
            t(p.lang(), "not in the catalogue", "absente du catalogue")
        ));
    }
    match scoped.create_request_campaign(&input).await {
        Ok(c) => Ok(see_other(&format!(
            "/regions/{}/requests/{}",
            region.code(),
            c.id
        ))),
        Err(hygie_store::StoreError::NotFound(_)) => refused(
            t(
                p.lang(),
                "no facility of the region is targeted",
                "aucun établissement de la région n'est ciblé",
            )
            .to_owned(),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(askama::Template)]
#[template(path = "region_campaign.html")]
struct CampaignBody<'a> {
    lang: Lang,
    csrf: &'a str,
    c: &'a RequestCampaign,
    states: &'a [RequestStatus],
    /// The caller may close, withdraw or chase the campaign (the buttons are shown).
    can_manage: bool,
    /// Why the last action was refused.
    error: Option<String>,
}

hygie_report::translate_by_lang_field!(CampaignBody);

impl CampaignBody<'_> {
    fn target(&self) -> String {
        match Region::parse(&self.c.region) {
            Ok(r) => target_label(&self.c.target, r, self.lang),
            Err(_) => self.c.target.clone(),
        }
    }

    fn measures(&self) -> String {
        self.c
            .measures
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn count(&self, state: &str) -> usize {
        self.states
            .iter()
            .filter(|s| s.state.as_str() == state)
            .count()
    }
}

async fn campaign_of(
    st: &AppState,
    p: &PageUser,
    r: &str,
    id: &str,
) -> Result<(RequestCampaign, Vec<RequestStatus>), PageError> {
    let region = region(r)?;
    let id: u64 = id
        .parse()
        .map_err(|_| WebError::NotFound(format!("campaign {id}")))?;
    Ok(st
        .scoped(&p.c)
        .request_campaign(region, id, jiff::Timestamp::now())
        .await?)
}

async fn campaign_page(
    State(st): State<AppState>,
    p: PageUser,
    Path((r, id)): Path<(String, String)>,
) -> PageResult {
    campaign_response(&st, &p, &r, &id, None).await
}

/// The campaign's page, with the reason an action was refused (answered 409) if any.
async fn campaign_response(
    st: &AppState,
    p: &PageUser,
    r: &str,
    id: &str,
    error: Option<String>,
) -> PageResult {
    let (c, states) = campaign_of(st, p, r, id).await?;
    let scoped = st.scoped(&p.c);
    let can_manage = scoped.manages_facilities()
        && Region::parse(&c.region).is_ok_and(|r| scoped.covers_region(r));
    let refused = error.is_some();
    let b = hygie_report::render(&CampaignBody {
        lang: p.lang(),
        csrf: p.c.csrf(),
        c: &c,
        states: &states,
        can_manage,
        error,
    });
    let title = format!(
        "{} — {} {}",
        c.region,
        t(p.lang(), "campaign", "campagne"),
        c.id
    );
    let page = p.page(&title, &b);
    Ok(if refused {
        (StatusCode::CONFLICT, page).into_response()
    } else {
        page.into_response()
    })
}

/// The campaign buttons' form: the CSRF token only.
#[derive(Debug, Default, serde::Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
}

/// What a campaign button does.
#[derive(Clone, Copy)]
enum Action {
    End(hygie_sync::CampaignEnd),
    Remind,
}

/// Close, withdraw or chase a campaign (regional officers and administrators within their
/// binding, as the form that makes one): back to its page, or the page with why it was refused
/// (already ended, nobody left to remind).
async fn act(
    st: AppState,
    p: PageUser,
    (r, id): (String, String),
    f: ActionForm,
    action: Action,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let region = region(&r)?;
    let number: u64 = id
        .parse()
        .map_err(|_| WebError::NotFound(format!("campaign {id}")))?;
    let scoped = st.scoped(&p.c);
    let done = match action {
        Action::End(end) => scoped
            .end_request_campaign(region, number, end)
            .await
            .map(|_| ()),
        Action::Remind => scoped
            .remind_request_campaign(region, number, jiff::Timestamp::now())
            .await
            .map(|_| ()),
    };
    match done {
        Ok(()) => Ok(see_other(&format!(
            "/regions/{}/requests/{number}",
            region.code()
        ))),
        Err(hygie_store::StoreError::Conflict(m) | hygie_store::StoreError::Invalid(m)) => {
            let why = match action {
                Action::End(_) => t(
                    p.lang(),
                    "this campaign is closed or withdrawn already",
                    "cette campagne est déjà close ou retirée",
                )
                .to_owned(),
                Action::Remind => m,
            };
            campaign_response(&st, &p, &r, &id, Some(why)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn close(
    State(st): State<AppState>,
    p: PageUser,
    Path(path): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    act(st, p, path, f, Action::End(hygie_sync::CampaignEnd::Close)).await
}

async fn withdraw(
    State(st): State<AppState>,
    p: PageUser,
    Path(path): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    act(
        st,
        p,
        path,
        f,
        Action::End(hygie_sync::CampaignEnd::Withdraw),
    )
    .await
}

async fn remind(
    State(st): State<AppState>,
    p: PageUser,
    Path(path): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> PageResult {
    act(st, p, path, f, Action::Remind).await
}

async fn campaign_csv(
    State(st): State<AppState>,
    p: PageUser,
    Path((r, id)): Path<(String, String)>,
) -> PageResult {
    let (c, states) = campaign_of(&st, &p, &r, &id).await?;
    let view = campaign_view(&c, &states);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"hygie-{}-campaign-{}.csv\"",
                    c.region, c.id
                ),
            ),
        ],
        hygie_report::campaign_csv(&view, p.lang()),
    )
        .into_response())
}

/// A campaign's report as PDF: the HTML report `hygie region request show --format pdf` prints,
/// read and authorised as the campaign's page.
async fn campaign_pdf(
    State(st): State<AppState>,
    p: PageUser,
    Path((r, id)): Path<(String, String)>,
) -> PageResult {
    let (c, states) = campaign_of(&st, &p, &r, &id).await?;
    let lang = p.lang();
    let frame = hygie_report::PrintFrame {
        header: format!(
            "{} — {} {}",
            c.region,
            t(lang, "campaign", "campagne"),
            c.id
        ),
        date: today().to_string(),
        lang,
    };
    let html = hygie_report::campaign_html(&campaign_view(&c, &states), lang);
    let name = format!("hygie-{}-campaign-{}.pdf", c.region, c.id);
    Ok(crate::pdf::respond(&st, &html, &frame, &name).await?)
}

/// A campaign's report as the rendering layer takes it: the web's export and the CLI's `hygie
/// region request show` (table, CSV, HTML) fill it here, once.
pub fn campaign_view(c: &RequestCampaign, states: &[RequestStatus]) -> hygie_report::CampaignView {
    hygie_report::CampaignView {
        id: c.id,
        region: c.region.clone(),
        target: c.target.clone(),
        measures: c.measures.iter().map(ToString::to_string).collect(),
        due: c.due.to_string(),
        message: c.message.clone(),
        created_at: c.created_at.to_string(),
        status: c.status_label(),
        reminders: c.reminders.len(),
        rows: states
            .iter()
            .map(|s| hygie_report::CampaignRow {
                facility: s.facility.clone(),
                name: s.name.clone(),
                state: s.state.as_str().to_owned(),
                state_label: s.state.label(),
                answered_at: s.answered_at.map(|t| t.to_string()),
                last_report: s.last_report.map(|t| t.to_string()),
                reminded_at: s.reminded_at.map(|t| t.to_string()),
            })
            .collect(),
    }
}

#[derive(askama::Template)]
#[template(path = "facility_requests.html")]
struct FacilityRequestsBody<'a> {
    lang: Lang,
    id: &'a hygie_core::Finess,
    requests: &'a [ReceivedRequest],
    today: jiff::civil::Date,
}

hygie_report::translate_by_lang_field!(FacilityRequestsBody);

impl FacilityRequestsBody<'_> {
    fn days_left(&self, r: &ReceivedRequest) -> i64 {
        hygie_sync::days_left(r.request.due, self.today)
    }
}

async fn facility_requests(at: FacilityPage) -> PageResult {
    let f = at.facility().await?;
    let requests = at
        .scoped()
        .received_requests(&at.id, jiff::Timestamp::now())
        .await?;
    let body = FacilityRequestsBody {
        lang: at.lang(),
        id: &at.id,
        requests: &requests,
        today: today(),
    };
    let what = t(
        at.lang(),
        "requests of the regional agency",
        "demandes de l'agence régionale",
    );
    Ok(at.titled(&f, what, &body))
}
