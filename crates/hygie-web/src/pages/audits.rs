//! A facility's audits (check runs): the list grouped by audit and target, the run page with
//! its findings as the CLI's reports show them (the shared `hygie_report::FindingsTable`, the AD
//! scores of `hygie_ad::report::ScoresView`), what changed since the previous run of the same
//! audit and target, and the chart of the runs; and the upload of an offline export that the
//! server audits (an AD LDIF export, through `hygie_ad::report::audit_run` as `hygie audit ad
//! --ldif` does). Every read and write goes through `Store::scoped`, so another facility's run
//! id is "not found" here, and only the facility's CISO or an administrator runs an audit.

use super::{FacilityPage, PageResult, RunGroup, run_groups, see_other, source_label};
use crate::api::failed_first;
use crate::html::{TrendChart, t};
use crate::{AppState, WebError};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path};
use axum::routing::get;
use hygie_core::{Change, Changes, CheckRun, Finess, Lang, RuleDef, RuleOutcome};
use hygie_report::{FindingView, FindingsTable, Translate};
use hygie_store::{Role, RunHeader};

pub(super) fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/facilities/{finess}/audits",
            get(audits_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/facilities/{finess}/audits/{run}", get(audit_page))
        .route(
            "/facilities/{finess}/audits/{run}/report.pdf",
            get(audit_pdf),
        )
}

#[derive(askama::Template)]
#[template(path = "audits.html")]
struct AuditsBody<'a> {
    lang: Lang,
    id: &'a Finess,
    groups: Vec<RunGroup<'a>>,
    /// The session's CSRF token when the user may run an audit (CISO, administrator).
    csrf: Option<&'a str>,
    /// The largest export accepted, in MiB.
    limit_mib: usize,
    /// The collectors' exports the server audits, one form each.
    exports: Vec<ExportForm>,
}

/// The upload form of one collector's export: its files, each under the role it plays.
struct ExportForm {
    kind: &'static str,
    title: &'static str,
    /// (role, label, required, several)
    files: Vec<(&'static str, &'static str, bool, bool)>,
}

/// The forms of the collectors' exports, in `lang`.
fn export_forms(lang: Lang) -> Vec<ExportForm> {
    hygie_collect::upload::KINDS
        .iter()
        .map(|k| ExportForm {
            kind: k.name,
            title: export_title(lang, k.name),
            files: k
                .roles
                .iter()
                .map(|&(role, required, several)| (role, role_label(lang, role), required, several))
                .collect(),
        })
        .collect()
}

fn export_title(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "backups" => t(
            lang,
            "Backups: restic, borg or CSV job reports",
            "Sauvegardes : rapports restic, borg ou CSV",
        ),
        "antivirus" => t(
            lang,
            "Antivirus/EDR: coverage and signature age",
            "Antivirus/EDR : couverture et âge des signatures",
        ),
        "patching" => t(
            lang,
            "Updates: operating systems and end of support",
            "Mises à jour : systèmes et fin de support",
        ),
        "network" => t(
            lang,
            "Network segmentation: zones and firewall rules",
            "Cloisonnement réseau : zones et règles de pare-feu",
        ),
        "wifi" => t(
            lang,
            "Wi-Fi: access point and controller configurations",
            "Wi-Fi : configurations des bornes et du contrôleur",
        ),
        "mfa" => t(
            lang,
            "Multi-factor authentication of sensitive accounts",
            "Authentification multifacteur des comptes sensibles",
        ),
        _ => "",
    }
}

fn role_label(lang: Lang, role: &str) -> &'static str {
    match role {
        "inventory" => t(
            lang,
            "Asset inventory (CSV, or AD computers as JSON/LDIF)",
            "Inventaire des actifs (CSV, ou ordinateurs de l'AD en JSON/LDIF)",
        ),
        "restic" => t(lang, "restic snapshots --json", "restic snapshots --json"),
        "borg" => t(lang, "borg list --json", "borg list --json"),
        "csv" => t(lang, "Backup jobs (CSV)", "Travaux de sauvegarde (CSV)"),
        "av_csv" => t(
            lang,
            "Antivirus/EDR console export (CSV)",
            "Export de la console antivirus/EDR (CSV)",
        ),
        "zones" => t(lang, "Zone model (YAML)", "Modèle de zones (YAML)"),
        "nft" => t(lang, "nft -j list ruleset", "nft -j list ruleset"),
        "iptables" => t(lang, "iptables-save", "iptables-save"),
        "ipset" => t(lang, "ipset save", "ipset save"),
        "rules_csv" => t(lang, "Firewall rules (CSV)", "Règles de pare-feu (CSV)"),
        "flows" => t(
            lang,
            "Observed flows (CSV or Zeek conn.log)",
            "Flux observés (CSV ou conn.log de Zeek)",
        ),
        "hostapd" => t(lang, "hostapd.conf", "hostapd.conf"),
        "controller_csv" => t(
            lang,
            "Wi-Fi controller export (CSV)",
            "Export du contrôleur Wi-Fi (CSV)",
        ),
        "required" => t(
            lang,
            "Accounts that need MFA (CSV)",
            "Comptes soumis à la MFA (CSV)",
        ),
        "groups" => t(
            lang,
            "Group memberships (CSV or AD LDIF)",
            "Appartenance aux groupes (CSV ou LDIF de l'AD)",
        ),
        "idp" => t(
            lang,
            "Identity provider export (CSV)",
            "Export du fournisseur d'identité (CSV)",
        ),
        _ => "",
    }
}

/// A passed rule: id, title when the registry knows it, the measures it verified.
struct Passed<'a> {
    rule: &'a str,
    title: Option<&'static str>,
    measures: &'a [hygie_core::MeasureId],
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditBody<'a> {
    lang: Lang,
    id: &'a Finess,
    run: &'a CheckRun,
    label: String,
    target: Option<&'a str>,
    failed: usize,
    /// The ANSSI level and category scores of an AD run.
    scores: Option<hygie_ad::report::ScoresView<'a>>,
    findings: FindingsTable<'a>,
    passed: Vec<Passed<'a>>,
    /// The previous run of the same audit and target, and what changed since.
    previous: Option<(&'a RunHeader, Changes)>,
    /// The share of rules passed over the runs of the same audit and target.
    chart: TrendChart<'a>,
}

hygie_report::translate_by_lang_field!(AuditsBody, AuditBody);

/// Changes listed per kind on the run page; beyond, their count.
const CHANGES_SHOWN: usize = 50;

impl AuditBody<'_> {
    fn shown<'b>(&self, c: &'b [Change]) -> &'b [Change] {
        &c[..c.len().min(CHANGES_SHOWN)]
    }
    /// The three lists of a comparison with their titles in the reader's language.
    fn change_lists<'b>(&self, c: &'b Changes) -> [(&'static str, &'b [Change]); 3] {
        [
            (self.t("New", "Nouveaux"), &c.new),
            (self.t("Fixed", "Corrigés"), &c.fixed),
            (self.t("Still open", "Toujours ouverts"), &c.still_open),
        ]
    }
}

/// Whether the caller may run an audit on a facility of theirs.
fn runs_audits(at: &FacilityPage) -> bool {
    at.who.c.access.write && matches!(at.who.c.access.role, Some(Role::Administrator | Role::Ciso))
}

async fn audits_page(at: FacilityPage) -> PageResult {
    let f = at.facility().await?;
    let runs = at.scoped().check_run_list(&at.id).await?;
    let lang = at.lang();
    let b = AuditsBody {
        lang,
        id: &at.id,
        groups: run_groups(lang, &runs),
        csrf: runs_audits(&at).then(|| at.who.c.csrf()),
        limit_mib: at.st.config().max_upload_bytes / (1024 * 1024),
        exports: export_forms(lang),
    };
    Ok(at.titled(&f, t(lang, "Audits", "Audits"), &b))
}

/// The day of a run in the facilities' zone, for the chart's labels.
fn day(ts: jiff::Timestamp) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    ts.to_zoned(tz).date()
}

async fn audit_page(at: FacilityPage, Path((_, run)): Path<(String, String)>) -> PageResult {
    let f = at.facility().await?;
    let scoped = at.scoped();
    let mut run = scoped.check_run(&at.id, &run).await?;
    failed_first(&mut run);
    let list = scoped.check_run_list(&at.id).await?;
    let Some(header) = list.iter().find(|h| h.id == run.id) else {
        return Err(WebError::NotFound(format!("check run {}", run.id)).into());
    };
    // The runs of the same audit and target, newest first; the previous is the next older one.
    let same: Vec<&RunHeader> = list
        .iter()
        .filter(|h| h.source == header.source && h.target == header.target)
        .collect();
    let previous_header = same
        .iter()
        .position(|h| h.id == run.id)
        .and_then(|i| same.get(i + 1).copied());
    let previous = match previous_header {
        Some(h) => {
            let p = scoped.check_run(&at.id, &h.id).await?;
            Some((h, Changes::of_runs(&p.results, &run.results)))
        }
        None => None,
    };
    let summary = if run.source == "ad" {
        hygie_ad::report::RunSummary::of(&scoped.check_run_summary(&at.id, &run.id).await?)
    } else {
        None
    };
    let points: Vec<(jiff::civil::Date, f64)> = same
        .iter()
        .rev()
        .map(|h| {
            let passed = (h.rules - h.failed) as f64;
            (day(h.at), 100.0 * passed / (h.rules.max(1) as f64))
        })
        .collect();
    let lang = at.lang();
    let rows = failed_findings(&run);
    let registry = hygie_checks::rules();
    let passed = run
        .results
        .iter()
        .filter(|r| r.outcome == RuleOutcome::Pass)
        .map(|r| Passed {
            rule: &r.rule,
            title: rule_def(&registry, &r.rule).map(|d| d.title.get(lang)),
            measures: &r.measures,
        })
        .collect();
    let href = format!("/facilities/{}/measures/", at.id);
    let b = AuditBody {
        lang,
        id: &at.id,
        run: &run,
        label: source_label(lang, &run.source),
        target: header.target.as_deref(),
        failed: rows.len(),
        scores: summary.as_ref().map(|s| hygie_ad::report::ScoresView {
            lang,
            level: s.level,
            scores: &s.scores,
        }),
        findings: FindingsTable {
            lang,
            rows: &rows,
            measure_href: Some(&href),
        },
        passed,
        previous,
        chart: TrendChart {
            lang,
            points: &points,
            levels: &[],
            label: hygie_core::Text::new(
                "Share of rules passed over the runs",
                "Part des règles réussies au fil des exécutions",
            ),
        },
    };
    let what = format!("{} {}", t(lang, "audit", "audit"), b.label);
    Ok(at.titled(&f, &what, &b))
}

/// A run's report as PDF, read as its page reads it (so authorised alike): the failed rules
/// through the shared findings table, an AD run's domain and scores, framed as the other PDFs.
async fn audit_pdf(at: FacilityPage, Path((_, run)): Path<(String, String)>) -> PageResult {
    let f = at.facility().await?;
    let scoped = at.scoped();
    let mut run = scoped.check_run(&at.id, &run).await?;
    failed_first(&mut run);
    let list = scoped.check_run_list(&at.id).await?;
    let Some(header) = list.iter().find(|h| h.id == run.id) else {
        return Err(WebError::NotFound(format!("check run {}", run.id)).into());
    };
    let summary = if run.source == "ad" {
        hygie_ad::report::RunSummary::of(&scoped.check_run_summary(&at.id, &run.id).await?)
    } else {
        None
    };
    let lang = at.lang();
    let rows = failed_findings(&run);
    let label = source_label(lang, &run.source);
    let report = hygie_report::RunReport {
        lang,
        label: &label,
        domain: summary.as_ref().map(|s| s.domain.as_str()),
        target: header.target.as_deref(),
        when: crate::html::when(run.at),
        total: run.results.len(),
        scores: summary.as_ref().map(|s| {
            hygie_report::render(&hygie_ad::report::ScoresView {
                lang,
                level: s.level,
                scores: &s.scores,
            })
        }),
        findings: FindingsTable {
            lang,
            rows: &rows,
            measure_href: None,
        },
        passed: run
            .results
            .iter()
            .filter(|r| r.outcome == RuleOutcome::Pass)
            .map(|r| r.rule.as_str())
            .collect(),
    };
    let frame = hygie_report::PrintFrame {
        header: format!("{} ({})", f.name, f.id),
        date: day(run.at).to_string(),
        lang,
    };
    let name = format!("hygie-{}-audit-{}.pdf", f.id, run.source);
    Ok(crate::pdf::respond(&at.st, &hygie_report::render(&report), &frame, &name).await?)
}

/// A registered rule's definition (title, rationale, remediation) in `registry`
/// (`hygie_checks::rules()`, read once per page), if Hygie knows the rule.
fn rule_def(registry: &[&'static RuleDef], id: &str) -> Option<&'static RuleDef> {
    registry.iter().copied().find(|d| d.id == id)
}

/// A run's failed rules as findings, with their definitions (and the AD's ANSSI level): what
/// the run's page and its PDF both show.
fn failed_findings(run: &CheckRun) -> Vec<FindingView<'_>> {
    let registry = hygie_checks::rules();
    run.results
        .iter()
        .filter(|r| r.outcome == RuleOutcome::Fail)
        .map(|r| {
            let mut v = FindingView::new(
                &r.rule,
                r.severity,
                &r.objects,
                r.measures.iter().map(|m| m.as_str()).collect(),
                rule_def(&registry, &r.rule),
            );
            if run.source == "ad" {
                v.level = hygie_ad::report::rule_level(&r.rule);
            }
            v
        })
        .collect()
}

/// The exports the server audits, as the upload form names them. NT-hash dumps are not among
/// them: the password audit stays on the CISO's machine (`hygie audit passwords`).
const AD_LDIF: &str = "ad-ldif";

/// Run an audit from an uploaded export and show its run. The export is read in memory and
/// never kept; the run is recorded through `Scoped::record_check_run` (`Store::record_check_run`,
/// the CLI's write), so the measures it verifies change status at once.
async fn upload(at: FacilityPage, mut mp: Multipart) -> PageResult {
    let (mut csrf, mut kind, mut file, mut uploads) = (None, None, None, Vec::new());
    while let Some(field) = mp.next_field().await.map_err(WebError::from)? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await.map_err(WebError::from)?),
            Some("kind") => kind = Some(field.text().await.map_err(WebError::from)?),
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(WebError::from)?;
                file = Some((name, bytes));
            }
            // A collector's file, under the role it plays (`inventory`, `hostapd`…); an empty
            // file input of the form sends an empty part.
            Some(role) => {
                let role = role.to_owned();
                let name = field.file_name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(WebError::from)?;
                if !bytes.is_empty() {
                    uploads.push(hygie_collect::upload::Upload {
                        role,
                        name,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            None => {}
        }
    }
    at.caller().check_csrf(csrf.as_deref())?;
    let lang = at.lang();
    if !runs_audits(&at) {
        return Err(WebError::Forbidden(
            t(
                lang,
                "only the facility's CISO or an administrator may run an audit",
                "seuls le RSSI de l'établissement et les administrateurs lancent un audit",
            )
            .into(),
        )
        .into());
    }
    if let Some(k) = kind.as_deref().and_then(hygie_collect::upload::kind) {
        return collector_upload(&at, k, uploads).await;
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(WebError::Invalid(
            t(
                lang,
                "choose a non-empty export file",
                "choisissez un fichier d'export non vide",
            )
            .into(),
        )
        .into());
    };
    if kind.as_deref() != Some(AD_LDIF) {
        return Err(WebError::Invalid(
            t(
                lang,
                "this kind of export is not audited by the server (NT-hash dumps never are: run `hygie audit passwords` on your own machine)",
                "ce type d'export n'est pas audité par le serveur (les extractions d'empreintes NT ne le sont jamais : lancez `hygie audit passwords` sur votre poste)",
            )
            .into(),
        )
        .into());
    }
    let scoped = at.scoped();
    let previous = scoped.check_runs(&at.id).await?;
    let previous = previous.iter().rev().find(|r| r.source == "ad").cloned();
    // Parsing and the rules are CPU work: off the async workers.
    let now = jiff::Timestamp::now();
    let audited = tokio::task::spawn_blocking(move || {
        let snap = hygie_ad::snapshot_from_ldif(std::io::Cursor::new(&bytes[..]))?;
        Ok::<_, hygie_ad::LdifOrModel>(hygie_ad::report::audit_run(
            &snap,
            &hygie_ad::AuditConfig::default(),
            now,
            previous.as_ref(),
            "ldif",
        ))
    })
    .await?
    .map_err(|e| WebError::Invalid(format!("{name}: {e}")))?;
    let run = CheckRun::of(
        uuid::Uuid::new_v4().to_string(),
        "ad",
        now,
        &audited.findings,
    );
    scoped
        .record_check_run(&at.id, &run, &audited.summary)
        .await?;
    Ok(see_other(&format!(
        "/facilities/{}/audits/{}",
        at.id, run.id
    )))
}

/// Run a collector from its uploaded files and show its run, recorded as the CLI's `hygie
/// audit KIND` records it. The files are read in memory and never kept.
async fn collector_upload(
    at: &FacilityPage,
    kind: &'static hygie_collect::upload::Kind,
    uploads: Vec<hygie_collect::upload::Upload>,
) -> PageResult {
    let lang = at.lang();
    if uploads.is_empty() {
        return Err(WebError::Invalid(
            t(
                lang,
                "choose at least one non-empty export file",
                "choisissez au moins un fichier d'export non vide",
            )
            .into(),
        )
        .into());
    }
    let now = jiff::Timestamp::now();
    let report =
        tokio::task::spawn_blocking(move || hygie_collect::upload::run(kind, uploads, now))
            .await?
            .map_err(|e| WebError::Invalid(e.to_string()))?;
    let run = report.check_run(uuid::Uuid::new_v4().to_string());
    at.scoped()
        .record_check_run(&at.id, &run, &report.summary)
        .await?;
    Ok(see_other(&format!(
        "/facilities/{}/audits/{}",
        at.id, run.id
    )))
}
