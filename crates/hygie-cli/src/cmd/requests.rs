//! Requests and campaigns (hygie-sync `request`). Region side, `hygie region request create |
//! list | show | export`: the agency's campaigns, expanded to one request per facility, the
//! campaign report (table, JSON, CSV, HTML), the signed requests file of one facility for an
//! air-gapped site. Facility side, `hygie requests trust | regions | import | list`: the region
//! key trusted (fingerprint shown, to compare with the agency), a requests file imported
//! (signature, trusted key, addressee checked before the store is touched), the requests with
//! their due dates, days left and state. Online, `hygie sync push` fetches them after the push.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use anyhow::Context as _;
use clap::Subcommand;
use hygie_core::{Finess, Lang, Region};
use hygie_store::{Actor, RequestCampaign, StoreError};
use hygie_sync::{CampaignInput, PublicKey, Refusal};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum RegionRequestCmd {
    /// Ask facilities for evidence of measures by a date: one request per facility targeted,
    /// which each receives at its next push (or in a file from `export`).
    Create {
        /// ARS region code.
        #[arg(long)]
        region: String,
        /// Who is asked: facility:FINESS, kind:KIND (hospital, clinic, biology_lab,
        /// radiotherapy, imaging, medico_social), departement:CODE or region.
        #[arg(long)]
        target: String,
        /// A measure whose declaration and evidence are asked (repeat, or comma-separated).
        #[arg(long = "measure", required = true)]
        measures: Vec<String>,
        /// The last day to answer (YYYY-MM-DD).
        #[arg(long)]
        due: String,
        /// The message, in French.
        #[arg(long, default_value = "")]
        message: String,
        /// The message in English (default: the French one).
        #[arg(long, default_value = "")]
        message_en: String,
    },
    /// The campaigns of a region, newest first.
    List {
        /// ARS region code.
        region: String,
    },
    /// A campaign's report: each facility asked, answered, answered late, overdue or open
    /// (`--format csv|html|json` for the export).
    Show {
        /// The campaign's number.
        id: u64,
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
    /// Close a campaign: no more answers are expected (what was answered by then stands); the
    /// facilities see it closed at their next sync.
    Close {
        /// The campaign's number.
        id: u64,
    },
    /// Withdraw a campaign: cancelled, no longer due; the facilities see it withdrawn at their
    /// next sync.
    Withdraw {
        /// The campaign's number.
        id: u64,
    },
    /// Remind the facilities that have not answered (open or overdue): the reminder reaches
    /// each at its next sync and shows on its requests page.
    Remind {
        /// The campaign's number.
        id: u64,
    },
    /// Write the signed requests file of one facility (for a site without network): it
    /// imports it with `hygie requests import`.
    Export {
        #[arg(long)]
        facility: String,
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum RequestsCmd {
    /// Trust a region key for the requests it signs (the regional instance's `hygie identity
    /// show`): compare the fingerprint printed with the agency's before relying on it.
    Trust {
        /// ARS region code.
        #[arg(long)]
        region: String,
        /// Its public key, 64 hexadecimal digits.
        #[arg(long)]
        key: String,
    },
    /// The region keys trusted.
    Regions,
    /// Import a requests file from the agency: refused whole, nothing stored, unless it is
    /// signed by a trusted region key and addressed to this facility.
    Import {
        #[arg(long)]
        facility: String,
        file: PathBuf,
    },
    /// The requests received, soonest due first, with days left and their state on this
    /// facility's own declarations and evidence.
    List {
        #[arg(long)]
        facility: String,
    },
}

pub async fn region(ctx: &Ctx, cmd: RegionRequestCmd) -> anyhow::Result<u8> {
    match cmd {
        RegionRequestCmd::Create {
            region,
            target,
            measures,
            due,
            message,
            message_en,
        } => {
            let input =
                CampaignInput::parse(&region, &target, &measures, &due, &message, &message_en)?;
            let catalog = super::catalog()?;
            for m in &input.measures {
                if catalog.measure(m).is_none() {
                    return Err(exit::invalid(format!(
                        "measure {m}: not in the catalogue / mesure absente du catalogue"
                    )));
                }
            }
            let store = ctx.store().await?;
            let c = store.create_request_campaign(&input, &Actor::cli()).await?;
            ctx.print_outcome(
                &c,
                hygie_core::Localized::new(
                    format!(
                        "Campaign {} made: {} facilities asked for {} by {}.",
                        c.id,
                        c.facilities.len(),
                        measures_text(&c),
                        c.due
                    ),
                    format!(
                        "Campagne {} créée : {} établissements sollicités pour {} avant le {}.",
                        c.id,
                        c.facilities.len(),
                        measures_text(&c),
                        c.due
                    ),
                ),
            )?;
            Ok(exit::OK)
        }
        RegionRequestCmd::List { region } => {
            let region = Region::parse(&region)?;
            let store = ctx.store().await?;
            let list = store.request_campaigns(region).await?;
            let headers = match ctx.lang {
                Lang::En => [
                    "Campaign",
                    "Target",
                    "Measures",
                    "Due",
                    "Facilities",
                    "Status",
                ],
                Lang::Fr => [
                    "Campagne",
                    "Cible",
                    "Mesures",
                    "Échéance",
                    "Établissements",
                    "Statut",
                ],
            };
            ctx.print_list(&list, &headers, |c| {
                vec![
                    c.id.to_string(),
                    c.target.clone(),
                    measures_text(c),
                    c.due.to_string(),
                    c.facilities.len().to_string(),
                    c.status_label().get(ctx.lang).to_owned(),
                ]
            })?;
            Ok(exit::OK)
        }
        RegionRequestCmd::Show { id, output: to } => show(ctx, id, to.as_deref()).await,
        RegionRequestCmd::Close { id } => end(ctx, id, hygie_sync::CampaignEnd::Close).await,
        RegionRequestCmd::Withdraw { id } => end(ctx, id, hygie_sync::CampaignEnd::Withdraw).await,
        RegionRequestCmd::Remind { id } => {
            let store = ctx.store().await?;
            let r = store
                .remind_request_campaign(id, jiff::Timestamp::now(), &Actor::cli())
                .await?;
            ctx.print_outcome(
&r,
hygie_core::Localized::new(format!(
                            "Campaign {id}: {} facilities reminded ({}); each sees it at its next sync.",
                            r.facilities.len(),
                            r.facilities.join(", ")
                        ), format!(
                            "Campagne {id} : {} établissements relancés ({}) ; chacun le voit à sa prochaine synchronisation.",
                            r.facilities.len(),
                            r.facilities.join(", ")
                        )),
)?;
            Ok(exit::OK)
        }
        RegionRequestCmd::Export { facility, output } => export(ctx, &facility, &output).await,
    }
}

/// `hygie region request close | withdraw`.
async fn end(ctx: &Ctx, id: u64, how: hygie_sync::CampaignEnd) -> anyhow::Result<u8> {
    let store = ctx.store().await?;
    let c = store.end_request_campaign(id, how, &Actor::cli()).await?;
    ctx.print_outcome(
        &c,
        hygie_core::Localized::new(
            format!(
                "Campaign {id} {}: the facilities see it at their next sync.",
                c.status_label().en
            ),
            format!(
                "Campagne {id} {} : les établissements le voient à leur prochaine synchronisation.",
                c.status_label().fr
            ),
        ),
    )?;
    Ok(exit::OK)
}

fn measures_text(c: &RequestCampaign) -> String {
    c.measures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

async fn show(ctx: &Ctx, id: u64, to: Option<&Path>) -> anyhow::Result<u8> {
    let store = ctx.store().await?;
    let c = store.request_campaign(id).await?;
    let states = store
        .request_campaign_states(&c, jiff::Timestamp::now())
        .await?;
    match ctx.format {
        Format::Json => {
            let v = serde_json::json!({ "campaign": c, "requests": states });
            output::emit(&output::json_text(&v)?, to)?
        }
        Format::Csv => output::emit(
            &hygie_report::campaign_csv(&hygie_web::campaign_view(&c, &states), ctx.lang),
            to,
        )?,
        Format::Html => output::emit(
            &hygie_report::campaign_html(&hygie_web::campaign_view(&c, &states), ctx.lang),
            to,
        )?,
        Format::Table => output::emit(
            &hygie_report::campaign_text(&hygie_web::campaign_view(&c, &states), ctx.lang),
            to,
        )?,
        Format::Pdf => {
            let frame = hygie_report::PrintFrame {
                header: format!("{} — campaign {} / campagne {}", c.region, c.id, c.id),
                date: jiff::Zoned::now().date().to_string(),
                lang: ctx.lang,
            };
            let html =
                hygie_report::campaign_html(&hygie_web::campaign_view(&c, &states), ctx.lang);
            output::pdf(&html, &frame, to).await?;
        }
        f => return Err(output::unsupported(f, "table, json, csv, html or pdf")),
    }
    Ok(exit::OK)
}

/// The signed requests file of `facility`, as the push endpoint's `GET` answers it.
pub async fn requests_file(
    store: &hygie_store::Store,
    identity: &hygie_sync::Identity,
    facility: &Finess,
) -> anyhow::Result<Vec<u8>> {
    let bundle = store.requests_for(facility, jiff::Timestamp::now()).await?;
    Ok(hygie_sync::seal_requests(&bundle, identity)?)
}

async fn export(ctx: &Ctx, facility: &str, to: &Path) -> anyhow::Result<u8> {
    let id = Finess::parse(facility)?;
    let identity = super::identity::load_or_create(ctx)?;
    let store = ctx.facility_store(&id).await?;
    let bytes = requests_file(&store, &identity, &id).await?;
    std::fs::write(to, &bytes)
        .with_context(|| format!("cannot write / impossible d'écrire {}", to.display()))?;
    let out = serde_json::json!({
        "file": to.display().to_string(), "facility": id.to_string(),
        "fingerprint": identity.public_key().fingerprint(),
    });
    ctx.print_outcome(
        &out,
        hygie_core::Localized::new(
            format!(
                "Requests of {id} written to {}, signed by key {}.",
                to.display(),
                identity.public_key().fingerprint()
            ),
            format!(
                "Demandes de {id} écrites dans {}, signées par la clé {}.",
                to.display(),
                identity.public_key().fingerprint()
            ),
        ),
    )?;
    Ok(exit::OK)
}

pub async fn facility(ctx: &Ctx, cmd: RequestsCmd) -> anyhow::Result<u8> {
    match cmd {
        RequestsCmd::Trust { region, key } => {
            let region = Region::parse(&region)?;
            let key = PublicKey::parse(&key)?;
            let store = ctx.store().await?;
            let t = store.trust_region_key(region, &key, &Actor::cli()).await?;
            ctx.print_outcome(
&t,
hygie_core::Localized::new(format!(
                            "Key {} trusted for the requests of region {}: check this fingerprint with the agency.",
                            t.fingerprint, t.region
                        ), format!(
                            "Clé {} reconnue pour les demandes de la région {} : vérifier cette empreinte avec l'agence.",
                            t.fingerprint, t.region
                        )),
)?;
            Ok(exit::OK)
        }
        RequestsCmd::Regions => {
            let store = ctx.store().await?;
            let list = store.trusted_regions().await?;
            let headers = match ctx.lang {
                Lang::En => ["Region", "Fingerprint", "Trusted"],
                Lang::Fr => ["Région", "Empreinte", "Reconnue le"],
            };
            ctx.print_list(&list, &headers, |t| {
                vec![
                    t.region.clone(),
                    t.fingerprint.clone(),
                    t.trusted_at.to_string(),
                ]
            })?;
            Ok(exit::OK)
        }
        RequestsCmd::Import { facility, file } => {
            let id = Finess::parse(&facility)?;
            let meta = std::fs::metadata(&file)
                .with_context(|| format!("cannot read / impossible de lire {}", file.display()))?;
            if meta.len() > hygie_sync::MAX_REQUESTS_FILE as u64 {
                return refuse(
                    ctx,
                    &file,
                    Refusal::Unreadable(format!("{} bytes", meta.len())),
                );
            }
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read / impossible de lire {}", file.display()))?;
            let store = ctx.facility_store(&id).await?;
            match receive(&store, &id, &bytes).await {
                Ok(r) => {
                    ctx.print_outcome(
                        &r,
                        hygie_core::Localized::new(
                            format!(
                                "{} requests from region {} ({} new, {} updated).",
                                r.requests, r.region, r.new, r.updated
                            ),
                            format!(
                                "{} demandes de la région {} ({} nouvelles, {} mises à jour).",
                                r.requests, r.region, r.new, r.updated
                            ),
                        ),
                    )?;
                    Ok(exit::OK)
                }
                Err(Received::Refused(r)) => refuse(ctx, &file, r),
                Err(Received::Store(e)) => Err(e.into()),
            }
        }
        RequestsCmd::List { facility } => {
            let id = Finess::parse(&facility)?;
            let store = ctx.facility_store(&id).await?;
            let now = jiff::Timestamp::now();
            let today = super::as_of(None)?;
            let list = store.received_requests(&id, now).await?;
            let rows: Vec<serde_json::Value> = list
                .iter()
                .map(|r| {
                    let mut v = serde_json::to_value(r).unwrap_or_default();
                    v["days_left"] = hygie_sync::days_left(r.request.due, today).into();
                    v
                })
                .collect();
            let headers = match ctx.lang {
                Lang::En => [
                    "Region",
                    "Campaign",
                    "Measures",
                    "Due",
                    "Days left",
                    "State",
                    "Message",
                ],
                Lang::Fr => [
                    "Région",
                    "Campagne",
                    "Mesures",
                    "Échéance",
                    "Jours restants",
                    "État",
                    "Message",
                ],
            };
            if ctx.format == Format::Json {
                output::json(&rows)?;
                return Ok(exit::OK);
            }
            ctx.print_list(&list, &headers, |r| {
                vec![
                    r.region.clone(),
                    r.request.campaign.to_string(),
                    r.request
                        .measures
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.request.due.to_string(),
                    hygie_sync::days_left(r.request.due, today).to_string(),
                    match (r.request.reminded_at, ctx.lang) {
                        (Some(t), Lang::En) => {
                            format!("{} (reminded on {t})", r.state.label().en)
                        }
                        (Some(t), Lang::Fr) => format!("{} (relancée le {t})", r.state.label().fr),
                        (None, lang) => r.state.label().get(lang).to_owned(),
                    },
                    r.request.message.get(ctx.lang).to_owned(),
                ]
            })?;
            Ok(exit::OK)
        }
    }
}

/// Why a requests file was not kept.
pub enum Received {
    Refused(Refusal),
    Store(StoreError),
}

/// Open a requests file against the trusted region keys and keep its requests: the one path
/// of `hygie requests import` and of the push's fetch.
pub async fn receive(
    store: &hygie_store::Store,
    facility: &Finess,
    bytes: &[u8],
) -> Result<hygie_store::RequestsReceived, Received> {
    let trusted = store
        .trusted_regions()
        .await
        .map_err(Received::Store)?
        .iter()
        .filter_map(|t| PublicKey::parse(&t.public_key).ok())
        .collect::<Vec<_>>();
    let opened = hygie_sync::open_requests(bytes, &trusted, facility).map_err(Received::Refused)?;
    match store
        .receive_requests(facility, &opened, &Actor::cli())
        .await
    {
        Ok(r) => Ok(r),
        Err(StoreError::Refused(r)) => Err(Received::Refused(r)),
        Err(e) => Err(Received::Store(e)),
    }
}

/// A refused requests file: the refusal on stdout with `--format json`, the reason in both
/// languages on stderr, exit 2, nothing stored.
fn refuse(ctx: &Ctx, file: &Path, r: Refusal) -> anyhow::Result<u8> {
    if ctx.format == Format::Json {
        let mut answer = r.answer();
        answer["file"] = file.display().to_string().into();
        output::json(&answer)?;
    }
    Err(anyhow::Error::new(r).context(format!(
        "requests refused / demandes refusées: {}",
        file.display()
    )))
}
