use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use clap::{Args, Subcommand};
use hygie_core::{Finess, Region};
use std::path::PathBuf;

#[derive(Args)]
pub struct StatusArgs {
    /// FINESS number of the facility.
    pub facility: String,
    /// Compute the status as it stood at the end of this date (YYYY-MM-DD). Default: today.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum RegionCmd {
    /// Every facility of a region side by side.
    Status {
        /// ARS region code (IDF, BRE, ..., DEMO).
        region: String,
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Enrol a facility's signing key (from its `hygie identity show`): its packages are
    /// accepted by `hygie sync import`. Compare the fingerprint with the facility first.
    Enrol {
        /// FINESS number of the facility.
        #[arg(long)]
        finess: String,
        /// Its public key, 64 hexadecimal digits.
        #[arg(long)]
        key: String,
    },
    /// Revoke a facility's key: its packages are refused from now on.
    Revoke {
        #[arg(long)]
        finess: String,
    },
    /// Every key enrolled, in force or revoked.
    Keys,
    /// The facilities' reports (federation): freshness of each one's last package (late
    /// beyond --late-after days, or never reported), measures verified by checks and those
    /// only declared, and why facilities are late (each overdue measure with its days late).
    /// `--format csv` exports the late list.
    Reports {
        /// ARS region code.
        region: String,
        #[arg(long)]
        as_of: Option<String>,
        /// Days after which a facility's last report is late.
        #[arg(long, value_name = "DAYS", default_value_t = hygie_core::oversight::DEFAULT_LATE_AFTER_DAYS, value_parser = clap::value_parser!(i64).range(1..=3650))]
        late_after: i64,
        /// Order of the late list: days (most late first), facility or measure.
        #[arg(long, default_value = "days")]
        sort: String,
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Serious incidents and late notifications across the region, from the incident
    /// obligations the facilities' packages carry (duty, due, sent; no personal data), judged at
    /// this instant, late ones first. `--format csv|json` for the export.
    Incidents {
        /// ARS region code.
        region: String,
        /// Only late notifications (sent late or still not sent).
        #[arg(long)]
        late: bool,
        /// Only this duty (cert_sante, cnil, data_subjects, nis2_early_warning, ...).
        #[arg(long)]
        duty: Option<String>,
        /// Only this facility (FINESS).
        #[arg(long)]
        facility: Option<String>,
        /// Only the facilities of this département.
        #[arg(long)]
        departement: Option<String>,
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Requests and campaigns: ask facilities for evidence of measures by a date.
    #[command(subcommand)]
    Request(super::requests::RegionRequestCmd),
    /// Make the push token of a facility's enrolment (for `hygie sync push --token-file`),
    /// written to a new file readable by its owner only; it replaces the enrolment's earlier
    /// token, opens only the package endpoint for that FINESS, and ends when the key is revoked.
    PushToken {
        #[arg(long)]
        finess: String,
        /// The file to create (it must not exist).
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
}

pub async fn status(ctx: &Ctx, a: StatusArgs) -> anyhow::Result<u8> {
    let id = Finess::parse(&a.facility)?;
    let as_of = super::as_of(a.as_of.as_deref())?;
    let catalog = super::catalog()?;
    let store = ctx.store().await?;
    let s = store.facility_status(&catalog, &id, as_of).await?;
    match ctx.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&s)? + "\n";
            output::emit(&text, a.output.as_deref())?;
        }
        Format::Table => output::emit(
            &hygie_report::status_text(&s, ctx.lang),
            a.output.as_deref(),
        )?,
        Format::Md => output::emit(
            &hygie_report::status_markdown(&s, ctx.lang),
            a.output.as_deref(),
        )?,
        Format::Html => output::emit(
            &hygie_report::status_html(&s, ctx.lang),
            a.output.as_deref(),
        )?,
        Format::Pdf => {
            let summary = summary(&store, &id, ctx.lang).await?;
            let html = hygie_report::status_report_html(&s, &summary, ctx.lang);
            let frame = hygie_report::PrintFrame {
                header: format!("{} ({})", s.facility.name, s.facility.id),
                date: s.as_of.to_string(),
                lang: ctx.lang,
            };
            output::pdf(&html, &frame, a.output.as_deref()).await?;
        }
        f => return Err(output::unsupported(f, "table, json, md, html or pdf")),
    }
    Ok(exit::OK)
}

/// What the executive summary adds to the status: open incidents with their late duties, the
/// last audit runs (built as the web's PDF download builds it).
async fn summary(
    store: &hygie_store::Store,
    id: &Finess,
    lang: hygie_core::Lang,
) -> anyhow::Result<hygie_report::Summary> {
    let incidents = store.incidents(Some(id), false).await?;
    let runs = store.check_run_list(id).await?;
    let mut s = hygie_web::pdf::status_summary(&incidents, &runs, lang, jiff::Timestamp::now())
        .map_err(|e| exit::invalid(e.to_string()))?;
    s.map_svg = hygie_web::pdf::map_svg(&store.is_map(id).await?, lang);
    Ok(s)
}

pub async fn region(ctx: &Ctx, cmd: RegionCmd) -> anyhow::Result<u8> {
    let (region, as_of, to) = match cmd {
        RegionCmd::Status {
            region,
            as_of,
            output,
        } => (region, as_of, output),
        RegionCmd::Enrol { finess, key } => return super::sync::enrol(ctx, &finess, &key).await,
        RegionCmd::Revoke { finess } => return super::sync::revoke(ctx, &finess).await,
        RegionCmd::Keys => return super::sync::keys(ctx).await,
        RegionCmd::Reports {
            region,
            as_of,
            late_after,
            sort,
            output,
        } => return reports(ctx, &region, as_of.as_deref(), late_after, &sort, output).await,
        RegionCmd::Request(c) => return super::requests::region(ctx, c).await,
        RegionCmd::Incidents {
            region,
            late,
            duty,
            facility,
            departement,
            output,
        } => {
            let filter = notification_filter(late, duty, facility, departement)?;
            return incidents(ctx, &region, &filter, output).await;
        }
        RegionCmd::PushToken { finess, output } => {
            return super::sync_push::push_token(ctx, &finess, &output).await;
        }
    };
    let region = Region::parse(&region)?;
    let as_of = super::as_of(as_of.as_deref())?;
    let catalog = super::catalog()?;
    let store = ctx.store().await?;
    let r = store.region_status(&catalog, region, as_of).await?;
    match ctx.format {
        Format::Json => output::emit(&(serde_json::to_string_pretty(&r)? + "\n"), to.as_deref())?,
        Format::Table => output::emit(&hygie_report::region_text(&r, ctx.lang), to.as_deref())?,
        Format::Md => output::emit(&hygie_report::region_markdown(&r, ctx.lang), to.as_deref())?,
        Format::Html => output::emit(&hygie_report::region_html(&r, ctx.lang), to.as_deref())?,
        Format::Csv => output::emit(
            &hygie_report::region_csv(&r, hygie_report::RegionColumns::Summary),
            to.as_deref(),
        )?,
        Format::Pdf => {
            let frame = hygie_report::PrintFrame {
                header: format!("{} ({})", r.name, r.region),
                date: r.as_of.to_string(),
                lang: ctx.lang,
            };
            output::pdf(
                &hygie_report::region_html(&r, ctx.lang),
                &frame,
                to.as_deref(),
            )
            .await?;
        }
        f @ Format::Svg => return Err(output::unsupported(f, "table, json, md, html, csv or pdf")),
    }
    Ok(exit::OK)
}

/// `hygie region reports`.
async fn reports(
    ctx: &Ctx,
    region: &str,
    as_of: Option<&str>,
    late_after: i64,
    sort: &str,
    to: Option<PathBuf>,
) -> anyhow::Result<u8> {
    let region = Region::parse(region)?;
    let as_of = super::as_of(as_of)?;
    let sort = hygie_core::oversight::LateSort::parse(sort)?;
    let catalog = super::catalog()?;
    let store = ctx.store().await?;
    let (statuses, last) = store.region_reports(&catalog, region, as_of).await?;
    let o = hygie_core::oversight::Oversight::of(
        region,
        as_of,
        &statuses,
        &last,
        jiff::Timestamp::now(),
        late_after,
        sort,
    );
    match ctx.format {
        Format::Json => output::emit(&(serde_json::to_string_pretty(&o)? + "\n"), to.as_deref())?,
        Format::Csv => output::emit(&hygie_report::late_csv(&o, ctx.lang), to.as_deref())?,
        Format::Table => output::emit(&hygie_report::oversight_text(&o, ctx.lang), to.as_deref())?,
        f => return Err(output::unsupported(f, "table, json or csv")),
    }
    Ok(exit::OK)
}

/// The filters of `hygie region incidents`, checked before the store is opened.
fn notification_filter(
    late: bool,
    duty: Option<String>,
    facility: Option<String>,
    departement: Option<String>,
) -> anyhow::Result<hygie_core::notifications::NotificationFilter> {
    if let Some(d) = &duty
        && !hygie_incident::Duty::ALL.iter().any(|x| x.as_str() == d)
    {
        return Err(exit::invalid(format!(
            "--duty '{d}': unknown duty (one of {}) / obligation inconnue",
            hygie_incident::Duty::ALL
                .map(hygie_incident::Duty::as_str)
                .join(", ")
        )));
    }
    let facility = facility
        .map(|f| Finess::parse(&f).map(|f| f.to_string()))
        .transpose()?;
    Ok(hygie_core::notifications::NotificationFilter {
        late_only: late,
        duty,
        facility,
        departement: departement.map(|d| d.trim().to_ascii_uppercase()),
    })
}

/// `hygie region incidents`.
async fn incidents(
    ctx: &Ctx,
    region: &str,
    filter: &hygie_core::notifications::NotificationFilter,
    to: Option<PathBuf>,
) -> anyhow::Result<u8> {
    let region = Region::parse(region)?;
    let store = ctx.store().await?;
    let rows = store.region_obligations(region).await?;
    let n = hygie_core::notifications::RegionNotifications::of(
        region,
        &rows,
        jiff::Timestamp::now(),
        filter,
    );
    match ctx.format {
        Format::Json => output::emit(&(serde_json::to_string_pretty(&n)? + "\n"), to.as_deref())?,
        Format::Csv => output::emit(
            &hygie_report::notifications_csv(&n, ctx.lang),
            to.as_deref(),
        )?,
        Format::Table => output::emit(
            &hygie_report::notifications_text(&n, ctx.lang),
            to.as_deref(),
        )?,
        f => return Err(output::unsupported(f, "table, json or csv")),
    }
    Ok(exit::OK)
}
