//! The PDF twins of the pages (facility report, incident file, breach register, regional
//! synthesis): the same HTML the CLI's `--format pdf` prints (hygie-report's templates in the
//! shared print frame), printed by `hygie-pdf`'s Chromium on a blocking thread and served as an
//! attachment. Each route reads through `Scoped` exactly as its page does, so it is authorised
//! like the page. Without Chromium on the server the answer is a 503 page saying so in the
//! reader's language; the HTML page stays the way to read the report.
//!
//! [`status_summary`] builds the facility report's executive summary (open incidents with their
//! late duties, the last audits) for the web and the CLI alike.

use crate::WebError;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hygie_core::Lang;
use hygie_incident::{Incident, ObligationStatus};

/// How many of the last audit runs the executive summary lists.
pub const LAST_AUDITS: usize = 5;

/// The executive summary of a facility's report at `now`: its open incidents (closed ones are
/// left out) with the duties late, and its `LAST_AUDITS` most recent audit runs (`runs` newest
/// first, as `check_run_list` gives them).
pub fn status_summary(
    incidents: &[Incident],
    runs: &[hygie_store::RunHeader],
    lang: Lang,
    now: jiff::Timestamp,
) -> Result<hygie_report::Summary, hygie_incident::IncidentError> {
    let mut lines = Vec::new();
    for inc in incidents.iter().filter(|i| i.closure.is_none()) {
        let late = inc
            .obligations(now)?
            .into_iter()
            .filter(|o| o.status == ObligationStatus::Late)
            .map(|o| o.duty.label().get(lang).to_owned())
            .collect();
        lines.push(hygie_report::IncidentLine {
            id: inc.id.clone(),
            title: inc.facts.title.clone(),
            aware: hygie_incident::clock::rfc3339(&inc.facts.awareness),
            late,
        });
    }
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let audits = runs
        .iter()
        .take(LAST_AUDITS)
        .map(|r| hygie_report::AuditLine {
            source: match &r.target {
                Some(t) => format!("{} ({t})", r.source),
                None => r.source.clone(),
            },
            at: r
                .at
                .to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string(),
            rules: r.rules,
            failed: r.failed,
        })
        .collect();
    Ok(hygie_report::Summary {
        incidents: lines,
        audits,
        map_svg: None,
    })
}

/// The IS map drawn for the facility report, or `None` when it has neither zone nor asset.
pub fn map_svg(m: &hygie_inventory::map::IsMap, lang: hygie_core::Lang) -> Option<String> {
    (!m.zones.is_empty() || m.assets > 0)
        .then(|| hygie_report::diagram::svg(&hygie_inventory::map::diagram(m, lang)))
}

/// Print `html` in `frame` and answer it as the attachment `name` (`application/pdf`).
pub(crate) async fn respond(
    st: &crate::AppState,
    html: &str,
    frame: &hygie_report::PrintFrame,
    name: &str,
) -> Result<Response, WebError> {
    use hygie_pdf::PdfError;
    let unavailable = |e: &PdfError| {
        tracing::warn!(target: "hygie::pdf", "PDF download refused: {e}");
        WebError::Unavailable {
            en: "the PDF cannot be made on this server: Chromium is not installed (Debian package `chromium`, or HYGIE_CHROMIUM); the page itself shows the same report".into(),
            fr: "le PDF ne peut pas être produit sur ce serveur : Chromium n'est pas installé (paquet Debian `chromium`, ou HYGIE_CHROMIUM) ; la page elle-même montre le même rapport".into(),
        }
    };
    let found = match &st.config().chromium {
        Some(p) => hygie_pdf::Chromium::at(p),
        None => hygie_pdf::Chromium::find(),
    };
    let chromium = match found {
        Ok(c) => c,
        Err(e @ (PdfError::NotInstalled | PdfError::NotExecutable(_))) => {
            return Err(unavailable(&e));
        }
        Err(e) => return Err(WebError::Internal(e.to_string())),
    };
    let doc = hygie_report::print_document(html, frame);
    let bytes = tokio::task::spawn_blocking(move || chromium.print(&doc))
        .await
        .map_err(|e| WebError::Internal(format!("PDF printing task: {e}")))?
        .map_err(|e| match e {
            PdfError::NotInstalled | PdfError::NotExecutable(_) | PdfError::Start(..) => {
                unavailable(&e)
            }
            other => WebError::Internal(other.to_string()),
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                crate::download::content_disposition(name),
            ),
        ],
        bytes,
    )
        .into_response())
}
