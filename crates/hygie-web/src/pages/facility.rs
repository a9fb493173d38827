//! A facility's pages: the home list, the dashboard with its trend, the measure page with its
//! declarations and evidence, and the forms that declare and upload.

use super::{PageResult, PageUser, see_other};
use crate::api::{self, AsOf, clean_file_name, finess, measure_id, today};
use crate::html::{bar, demo_note, facility_nav, t, table_head, trend_svg};
use crate::{AppState, WebError};
use axum::Form;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::routing::{get, post};
use hygie_core::{DeclaredStatus, EffectiveStatus, Lang};
use hygie_report::esc;
use hygie_store::Binding;
use serde::Deserialize;
use std::fmt::Write as _;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/facilities/{finess}", get(facility_page))
        .route("/facilities/{finess}/measures/{measure}", get(measure_page))
        .route(
            "/facilities/{finess}/measures/{measure}/declare",
            post(declare),
        )
        .route(
            "/facilities/{finess}/measures/{measure}/evidence",
            post(upload),
        )
        .route("/facilities/{finess}/evidence/{sha256}", get(download))
}

// --- dashboards ------------------------------------------------------------------------------

async fn home(State(st): State<AppState>, p: PageUser) -> PageResult {
    let lang = p.lang();
    let scoped = st.store().scoped(&p.c.access);
    let facilities = scoped.facilities().await?;
    match &p.user.binding {
        Binding::Region { region } => return Ok(see_other(&format!("/regions/{}", region.code()))),
        Binding::Facilities { .. } if facilities.len() == 1 => {
            return Ok(see_other(&format!("/facilities/{}", facilities[0].id)));
        }
        _ => {}
    }
    let mut b = String::new();
    let regions = scoped.regions().await?;
    if !regions.is_empty() {
        let _ = write!(b, "<h2>{}</h2><ul>", t(lang, "Regions", "Régions"));
        for r in regions {
            let _ = write!(
                b,
                "<li><a href=\"/regions/{}\">{} — {}</a></li>",
                r.code(),
                r.code(),
                esc(r.name())
            );
        }
        b.push_str("</ul>");
    }
    let _ = write!(b, "<h2>{}</h2>", t(lang, "Facilities", "Établissements"));
    b.push_str(&table_head(&[
        "FINESS",
        t(lang, "Name", "Nom"),
        t(lang, "Kind", "Type"),
        t(lang, "Region", "Région"),
    ]));
    for f in facilities.iter().take(500) {
        let _ = write!(
            b,
            "<tr><td><a href=\"/facilities/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.name),
            esc(f.kind.label().get(lang)),
            f.region.code(),
            id = f.id
        );
    }
    b.push_str("</table>");
    if facilities.len() > 500 {
        let _ = write!(
            b,
            "<p>… {} {}</p>",
            facilities.len() - 500,
            t(
                lang,
                "more: open a regional view",
                "de plus : ouvrez une vue régionale"
            )
        );
    }
    Ok(p.page(t(lang, "Home", "Accueil"), &b))
}

fn status_label(s: EffectiveStatus, lang: Lang) -> String {
    let class = match s {
        EffectiveStatus::Failing | EffectiveStatus::Expired => "late",
        EffectiveStatus::Verified | EffectiveStatus::Implemented => "ok",
        _ => "",
    };
    format!(
        "<span class=\"{class}\">{}</span>",
        esc(s.label().get(lang))
    )
}

/// First day of the month `back` months before `d`'s month (for trend points).
fn months_back(d: jiff::civil::Date, back: i32) -> jiff::civil::Date {
    d.first_of_month()
        .checked_sub(jiff::Span::new().months(back))
        .unwrap_or(d)
}

async fn facility_page(
    State(st): State<AppState>,
    p: PageUser,
    Path(id): Path<String>,
    Query(q): Query<AsOf>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let as_of = api::as_of(&q)?;
    let dates: Vec<jiff::civil::Date> = (1..=12).rev().map(|m| months_back(as_of, m)).collect();
    let scoped = st.store().scoped(&p.c.access);
    let s = &scoped.facility_status(st.catalog(), &id, as_of).await?;
    let mut points = scoped.facility_trend(st.catalog(), &id, &dates).await?;
    points.push((as_of, s.score));
    let f = &s.facility;
    let mut b = facility_nav(lang, &f.id);
    if f.region.is_demo() {
        b.push_str(&demo_note(
            lang,
            "Demo data: this facility is fictitious.",
            "Données de démonstration : cet établissement est fictif.",
        ));
    }
    let _ = write!(
        b,
        "<p>FINESS {} · {} · {} · NIS 2: {} · {} {} · <strong id=\"score\">{}: {:.1}%</strong> · <span id=\"level-reached\">{}: {}</span></p>",
        f.id,
        esc(f.kind.label().get(lang)),
        f.region.code(),
        f.nis2.as_str(),
        t(lang, "status on", "situation au"),
        s.as_of,
        t(lang, "Score", "Score"),
        s.score,
        t(lang, "Level reached", "Palier atteint"),
        s.level_reached
    );
    b.push_str("<div class=\"grid\"><div class=\"card\">");
    let _ = write!(b, "<h2>{}</h2>", t(lang, "Plan levels", "Paliers du plan"));
    b.push_str(&table_head(&[
        t(lang, "Level", "Palier"),
        t(lang, "Due", "Échéance"),
        t(lang, "Progress", "Avancement"),
        t(lang, "Overdue", "En retard"),
    ]));
    for l in &s.levels {
        let late = if l.overdue.is_empty() {
            String::from("0")
        } else {
            format!("<span class=\"late\">{}</span>", l.overdue.len())
        };
        let _ = write!(
            b,
            "<tr id=\"level-{}\"><td>{}</td><td>{}</td><td class=\"progress\">{}</td><td>{late}</td></tr>",
            l.level,
            l.level,
            l.due_date,
            bar(l.done, l.total)
        );
    }
    b.push_str("</table></div><div class=\"card\">");
    let _ = write!(
        b,
        "<h2>{}</h2><table>",
        t(
            lang,
            "Score per PGSSI-S principle",
            "Score par principe PGSSI-S"
        )
    );
    for ps in &s.principles {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{:.1}%</td></tr>",
            esc(ps.principle.label().get(lang)),
            bar(ps.done, ps.total),
            ps.score
        );
    }
    b.push_str("</table></div></div>");
    let _ = write!(
        b,
        "<div class=\"card\"><h2>{}</h2>{}</div>",
        t(lang, "Trend", "Tendance"),
        trend_svg(&points, lang)
    );
    let overdue: Vec<_> = s
        .measures
        .iter()
        .filter(|m| m.days_overdue.is_some())
        .collect();
    let _ = write!(
        b,
        "<div class=\"card\"><h2>{} ({})</h2>",
        t(lang, "Overdue measures", "Mesures en retard"),
        overdue.len()
    );
    if !overdue.is_empty() {
        b.push_str("<table>");
        for m in overdue.iter().take(100) {
            let _ = write!(
                b,
                "<tr><td><a href=\"/facilities/{}/measures/{}\">{}</a></td><td>{}</td><td class=\"late\">{} {}</td></tr>",
                f.id,
                m.id,
                m.id,
                esc(m.title.get(lang)),
                m.days_overdue.unwrap_or(0),
                t(lang, "days", "jours")
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</div>");
    let _ = write!(b, "<h2>{}</h2>", t(lang, "Measures", "Mesures"));
    b.push_str(&table_head(&[
        t(lang, "Id", "Id"),
        t(lang, "Title", "Titre"),
        t(lang, "Level", "Palier"),
        t(lang, "Status", "État"),
    ]));
    for m in &s.measures {
        let _ = write!(
            b,
            "<tr><td><a href=\"/facilities/{}/measures/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.id,
            m.id,
            m.id,
            esc(m.title.get(lang)),
            m.level.map(|l| l.to_string()).unwrap_or_default(),
            status_label(m.status, lang)
        );
    }
    b.push_str("</table>");
    Ok(p.page(&f.name, &b))
}

async fn measure_page(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, m)): Path<(String, String)>,
) -> PageResult {
    let lang = p.lang();
    let id = finess(&id)?;
    let mid = measure_id(&st, &m)?;
    let scoped = st.store().scoped(&p.c.access);
    let s = scoped.facility_status(st.catalog(), &id, today()).await?;
    let Some(measure) = st.catalog().measure(&mid) else {
        return Err(WebError::NotFound(format!("measure {m}")).into());
    };
    let state = s.measures.iter().find(|x| x.id == mid);
    let history = scoped.declaration_history(&id, Some(&mid)).await?;
    let evidence = scoped.evidence(&id, Some(&mid)).await?;
    let runs = scoped.check_runs(&id).await?;
    let mut b = String::new();
    let _ = write!(
        b,
        "<p><a href=\"/facilities/{}\">{}</a></p><p>{}</p>",
        id,
        esc(&s.facility.name),
        esc(measure.description.get(lang))
    );
    match state {
        Some(x) => {
            let _ = write!(
                b,
                "<p class=\"card\">{}: <strong id=\"measure-status\">{}</strong>",
                t(lang, "Status", "État"),
                status_label(x.status, lang)
            );
            if let Some(r) = &x.reason {
                let _ = write!(b, " — {}", esc(r.get(lang)));
            }
            if let Some(d) = x.days_overdue {
                let _ = write!(
                    b,
                    " — <span class=\"late\">{d} {}</span>",
                    t(lang, "days overdue", "jours de retard")
                );
            }
            b.push_str("</p>");
        }
        None => {
            let _ = write!(
                b,
                "<p class=\"card\">{}</p>",
                t(
                    lang,
                    "This measure does not apply to this facility.",
                    "Cette mesure ne s'applique pas à cet établissement."
                )
            );
        }
    }
    let _ = write!(b, "<h2>{}</h2><ul>", t(lang, "Sources", "Sources"));
    for src in &measure.sources {
        let entry = st.catalog().framework(&src.framework).and_then(|fw| {
            fw.entries
                .iter()
                .find(|e| e.reference == src.reference)
                .map(|e| (fw, e))
        });
        match entry {
            Some((fw, e)) => {
                let _ = write!(
                    b,
                    "<li>{} {} — {}</li>",
                    esc(fw.name.get(lang)),
                    esc(&src.reference),
                    esc(e.title.get(lang))
                );
            }
            None => {
                let _ = write!(
                    b,
                    "<li>{} {}</li>",
                    esc(&src.framework),
                    esc(&src.reference)
                );
            }
        }
    }
    b.push_str("</ul>");
    if !measure.evidence.is_empty() {
        let _ = write!(
            b,
            "<h2>{}</h2><ul>",
            t(lang, "Expected evidence", "Preuves attendues")
        );
        for e in &measure.evidence {
            let _ = write!(b, "<li>{}</li>", esc(e.get(lang)));
        }
        b.push_str("</ul>");
    }
    // Automatic check results touching this measure.
    let mut checks = String::new();
    for run in runs.iter().rev() {
        for r in run.results.iter().filter(|r| r.measures.contains(&mid)) {
            let outcome = match r.outcome {
                hygie_core::RuleOutcome::Pass => {
                    format!("<span class=\"ok\">{}</span>", t(lang, "pass", "conforme"))
                }
                hygie_core::RuleOutcome::Fail => {
                    format!("<span class=\"late\">{}</span>", t(lang, "fail", "échec"))
                }
            };
            let objects: Vec<String> = r.objects.iter().take(20).map(|o| esc(o)).collect();
            let _ = write!(
                checks,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                run.at.strftime("%Y-%m-%d %H:%M"),
                esc(&run.source),
                esc(&r.rule),
                r.severity.as_str(),
                outcome,
                objects.join(", ")
            );
        }
    }
    let _ = write!(
        b,
        "<h2>{}</h2>",
        t(lang, "Automatic checks", "Contrôles automatiques")
    );
    if checks.is_empty() {
        let _ = write!(
            b,
            "<p>{}</p>",
            t(
                lang,
                "No automated check covers this measure yet.",
                "Aucun contrôle automatique ne couvre encore cette mesure."
            )
        );
    } else {
        b.push_str(&table_head(&[
            t(lang, "When", "Date"),
            t(lang, "Audit", "Audit"),
            t(lang, "Rule", "Règle"),
            t(lang, "Severity", "Gravité"),
            t(lang, "Outcome", "Résultat"),
            t(lang, "Findings", "Constats"),
        ]));
        b.push_str(&checks);
        b.push_str("</table>");
    }
    let _ = write!(
        b,
        "<h2>{}</h2><table id=\"evidence\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "Evidence", "Preuves"),
        t(lang, "File or link", "Fichier ou lien"),
        t(lang, "Added", "Ajoutée"),
        t(lang, "By", "Par")
    );
    for e in &evidence {
        let what = match &e.kind {
            hygie_store::EvidenceKind::File {
                sha256,
                file_name,
                size,
            } => format!(
                "<a href=\"/facilities/{id}/evidence/{sha256}\">{}</a> ({size} B)",
                esc(file_name)
            ),
            hygie_store::EvidenceKind::Link { url } => esc(url),
        };
        let _ = write!(
            b,
            "<tr><td>{what}</td><td>{}</td><td>{}</td></tr>",
            e.added_at.strftime("%Y-%m-%d %H:%M"),
            esc(&e.added_by)
        );
    }
    b.push_str("</table>");
    if p.c.access.write {
        let csrf = esc(p.c.csrf());
        let opts: String = [
            ("implemented", "implemented", "mise en œuvre"),
            ("in_progress", "in progress", "en cours"),
            ("not_started", "not started", "non commencée"),
            ("not_applicable", "not applicable", "non applicable"),
        ]
        .iter()
        .map(|(v, en, fr)| {
            format!(
                "<option value=\"{v}\">{}</option>",
                if lang == Lang::Fr { fr } else { en }
            )
        })
        .collect();
        let _ = write!(
            b,
            "<div class=\"grid\"><form class=\"card\" method=\"post\" action=\"/facilities/{id}/measures/{mid}/declare\"><h3>{}</h3><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>{} <select name=\"status\" id=\"status\">{opts}</select></label><label>{} <input name=\"justification\"></label>\
<label>{} <input name=\"owner\"></label><label>{} <input name=\"note\"></label><button type=\"submit\" id=\"declare\">{}</button></form>\
<form class=\"card\" method=\"post\" enctype=\"multipart/form-data\" action=\"/facilities/{id}/measures/{mid}/evidence\"><h3>{}</h3><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label>{} <input type=\"file\" name=\"file\" id=\"file\" required></label><label><input type=\"checkbox\" name=\"implemented\" value=\"1\" id=\"mark-implemented\"> {}</label><button type=\"submit\" id=\"upload\">{}</button></form></div>",
            t(lang, "Declare", "Déclarer"),
            t(lang, "Status", "État"),
            t(
                lang,
                "Justification (required if not applicable)",
                "Justification (obligatoire si non applicable)"
            ),
            t(lang, "Owner", "Responsable"),
            t(lang, "Note", "Note"),
            t(lang, "Save", "Enregistrer"),
            t(lang, "Add an evidence file", "Ajouter un fichier de preuve"),
            t(lang, "File", "Fichier"),
            t(
                lang,
                "and declare the measure implemented",
                "et déclarer la mesure mise en œuvre"
            ),
            t(lang, "Upload", "Téléverser")
        );
    }
    let _ = write!(
        b,
        "<h2>{}</h2><table id=\"history\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "History", "Historique"),
        t(lang, "When", "Date"),
        t(lang, "Status", "État"),
        t(lang, "By", "Par"),
        t(lang, "Note", "Note")
    );
    for h in history.iter().rev() {
        let d = &h.declaration;
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.at.strftime("%Y-%m-%d %H:%M"),
            esc(d.status.as_str()),
            esc(&d.by),
            esc(d.note.as_deref().or(d.status.justification()).unwrap_or(""))
        );
    }
    b.push_str("</table>");
    Ok(p.page(&format!("{} — {}", mid, measure.title.get(lang)), &b))
}

#[derive(Deserialize)]
struct DeclareForm {
    #[serde(default)]
    csrf: String,
    status: String,
    justification: Option<String>,
    owner: Option<String>,
    note: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|x| !x.is_empty())
}

async fn declare(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, m)): Path<(String, String)>,
    Form(f): Form<DeclareForm>,
) -> PageResult {
    p.c.check_csrf(Some(&f.csrf))?;
    let fid = finess(&id)?;
    let mid = measure_id(&st, &m)?;
    let status = DeclaredStatus::parse(&f.status, non_empty(&f.justification))?;
    st.store()
        .scoped(&p.c.access)
        .declare(&fid, &mid, &status, non_empty(&f.owner), non_empty(&f.note))
        .await?;
    Ok(see_other(&format!("/facilities/{fid}/measures/{mid}")))
}

async fn upload(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, m)): Path<(String, String)>,
    mut mp: Multipart,
) -> PageResult {
    let fid = finess(&id)?;
    let mid = measure_id(&st, &m)?;
    let (mut csrf, mut file, mut implemented) = (None, None, false);
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| WebError::Invalid(e.to_string()))?
    {
        match field.name() {
            Some("csrf") => {
                csrf = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| WebError::Invalid(e.to_string()))?,
                )
            }
            Some("implemented") => implemented = true,
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| WebError::Invalid(e.to_string()))?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    p.c.check_csrf(csrf.as_deref())?;
    let (name, bytes) = file.ok_or_else(|| WebError::Invalid("choose a file".into()))?;
    if bytes.is_empty() {
        return Err(WebError::Invalid("the evidence file is empty".into()).into());
    }
    let name = clean_file_name(&name)?;
    let scoped = st.store().scoped(&p.c.access);
    scoped.add_evidence_file(&fid, &mid, &name, &bytes).await?;
    if implemented {
        let note = format!("evidence: {name}");
        scoped
            .declare(&fid, &mid, &DeclaredStatus::Implemented, None, Some(&note))
            .await?;
    }
    Ok(see_other(&format!("/facilities/{fid}/measures/{mid}")))
}

async fn download(
    State(st): State<AppState>,
    p: PageUser,
    Path((id, sha)): Path<(String, String)>,
) -> PageResult {
    let fid = finess(&id)?;
    let (name, content) = st
        .store()
        .scoped(&p.c.access)
        .evidence_file(&fid, &sha)
        .await?;
    Ok(api::download(&name, content))
}
