//! `hygie sync push` and `hygie serve --sync-to`: a facility sends its packages to the regional
//! instance over HTTPS (hygie-web `sync_client`), which imports them as `hygie sync import`
//! does. What to send is `hygie_sync::next_push`: the package not yet acknowledged, byte for
//! byte, then a new one if the facts changed; each answer "imported" or "already imported"
//! marks the package acknowledged. A network failure leaves it to be sent at the next push.
//! `hygie region push-token` (region side) makes the token the facility pushes with. After the
//! packages, a facility that trusts a region key fetches its requests (`hygie requests`) on the
//! same connection; a file refused (untrusted key, changed, another facility's) is reported
//! and nothing of it is kept. The scheduled push reads the signing key before each pass, so a
//! key rotated while `serve` runs is used at once.

use super::Ctx;
use crate::exit;
use crate::output::{self, Format};
use hygie_core::{Finess, Lang};
use hygie_store::{Actor, Store};
use hygie_sync::{Identity, LastExport, PushAnswer, PushStep};
use hygie_web::sync_client::{ProxyEnv, PushTarget};
use std::path::{Path, PathBuf};

/// Where to push: the flags shared by `hygie sync push` and `hygie serve --sync-to`.
pub struct Destination {
    pub to: String,
    pub token_file: PathBuf,
    pub ca_cert: Option<PathBuf>,
}

impl Destination {
    /// The target, its token read from the file (never from an argument), the proxy from the
    /// environment.
    pub fn target(&self) -> anyhow::Result<PushTarget> {
        let token = super::secret_file(
            "--token-file",
            "le fichier du jeton d'envoi",
            &self.token_file,
        )?;
        PushTarget::new(
            &self.to,
            self.ca_cert.as_deref(),
            token,
            &ProxyEnv::from_env(),
        )
        .map_err(|e| exit::invalid(e.to_string()))
    }
}

/// One package sent and what the region answered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sent {
    pub sequence: u64,
    pub hash: String,
    /// `imported`, `already_imported` or `refused`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<hygie_core::Localized>,
}

/// What a push did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushReport {
    pub facility: String,
    pub to: String,
    /// `pushed` (every package sent is acknowledged), `up_to_date` (nothing to send) or
    /// `refused` (the region refused the last one sent).
    pub outcome: &'static str,
    pub sent: Vec<Sent>,
    /// The package sent carried a key rotation, and the region acknowledged it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rotated: bool,
    /// The region's requests fetched after the push (absent when no region key is trusted:
    /// `hygie requests trust`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<RequestsFetched>,
}

/// The requests fetched after a push: received (with how many are new) or refused (why).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestsFetched {
    /// `received` or `refused`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<hygie_store::RequestsReceived>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<hygie_core::Localized>,
}

impl PushReport {
    pub fn acknowledged(&self) -> usize {
        self.sent.iter().filter(|s| s.outcome != "refused").count()
    }
}

/// Send what the region has not acknowledged: first the package already numbered (its bytes
/// as kept), then a new one if the facts differ from the last acknowledged. One connection.
pub async fn push_once(
    store: &Store,
    identity: &Identity,
    facility: &Finess,
    target: &PushTarget,
    now: jiff::Timestamp,
    data_dir: &Path,
) -> anyhow::Result<PushReport> {
    // A key rotation not yet acknowledged goes in the next package, made even if nothing else
    // changed; once the region acknowledges it, the old key and the statement are dropped.
    let rotation = super::identity::pending_rotation(data_dir)?;
    let actor = Actor::cli();
    let mut snap = store.sync_snapshot(facility, now).await?;
    let digest = snap.facts.digest()?;
    let mut report = PushReport {
        facility: facility.to_string(),
        to: target.label(),
        outcome: "up_to_date",
        sent: Vec::new(),
        rotated: false,
        requests: None,
    };
    let mut conn = None;
    let mut made_new = false;
    loop {
        let step = match hygie_sync::next_push(snap.last_export.as_ref(), &digest) {
            PushStep::NothingNew if rotation.is_some() && !made_new => PushStep::Export,
            s => s,
        };
        let (sequence, hash, bytes) = match step {
            PushStep::NothingNew => break,
            PushStep::Resend { sequence, bytes } => {
                let hash = snap
                    .last_export
                    .as_ref()
                    .map(|l| l.hash.clone())
                    .unwrap_or_default();
                (sequence, hash, bytes)
            }
            PushStep::Export => {
                let (package, sealed, digest) =
                    super::sync::next_package(snap.clone(), now, identity, rotation.clone())?;
                store
                    .record_export(facility, package.sequence, &sealed, &digest, &actor)
                    .await?;
                snap.last_export = Some(LastExport {
                    sequence: package.sequence,
                    hash: sealed.hash.clone(),
                    facts_digest: Some(digest),
                    acknowledged: false,
                    bytes: None,
                });
                made_new = true;
                (package.sequence, sealed.hash, sealed.bytes)
            }
        };
        if conn.is_none() {
            conn = Some(target.connect().await?);
        }
        let Some(c) = conn.as_mut() else { break };
        let answer = c.send(bytes).await?;
        match answer {
            PushAnswer::Refused { code, en, fr } => {
                report.outcome = "refused";
                report.sent.push(Sent {
                    sequence,
                    hash,
                    outcome: "refused",
                    code: Some(code),
                    reason: Some(hygie_core::Localized::new(en, fr)),
                });
                break;
            }
            a => {
                store
                    .acknowledge_export(facility, sequence, &hash, &actor)
                    .await?;
                report.outcome = "pushed";
                report.sent.push(Sent {
                    sequence,
                    hash,
                    outcome: if a == PushAnswer::Imported {
                        "imported"
                    } else {
                        "already_imported"
                    },
                    code: None,
                    reason: None,
                });
                if let Some(l) = snap.last_export.as_mut() {
                    l.acknowledged = true;
                    l.bytes = None;
                }
                // A package made by this push is the newest: nothing more to send.
                if made_new {
                    if rotation.is_some() {
                        super::identity::finish_rotation(data_dir)?;
                        report.rotated = true;
                    }
                    break;
                }
            }
        }
    }
    // Then what the region asks, on the same connection, if a region key is trusted to sign it.
    if store.trusted_regions().await?.is_empty() {
        return Ok(report);
    }
    let c = match conn.as_mut() {
        Some(c) => c,
        None => conn.insert(target.connect().await?),
    };
    let bytes = c.fetch_requests().await?;
    report.requests = Some(
        match super::requests::receive(store, facility, &bytes).await {
            Ok(r) => RequestsFetched {
                outcome: "received",
                received: Some(r),
                code: None,
                reason: None,
            },
            Err(super::requests::Received::Refused(r)) => RequestsFetched {
                outcome: "refused",
                received: None,
                code: Some(r.code().to_owned()),
                reason: Some(r.reason()),
            },
            Err(super::requests::Received::Store(e)) => return Err(e.into()),
        },
    );
    Ok(report)
}

/// `hygie sync push`.
pub async fn run(ctx: &Ctx, facility: &str, dest: &Destination) -> anyhow::Result<u8> {
    let id = Finess::parse(facility)?;
    let target = dest.target()?;
    let identity = super::identity::load_or_create(ctx)?;
    let store = ctx.facility_store(&id).await?;
    let report = push_once(
        &store,
        &identity,
        &id,
        &target,
        jiff::Timestamp::now(),
        &ctx.data_dir(),
    )
    .await?;
    print(ctx, &report)?;
    let requests_refused = report
        .requests
        .as_ref()
        .is_some_and(|r| r.outcome == "refused");
    Ok(if report.outcome == "refused" || requests_refused {
        exit::INVALID
    } else {
        exit::OK
    })
}

fn print(ctx: &Ctx, r: &PushReport) -> anyhow::Result<()> {
    if ctx.format == Format::Json {
        return output::json(r);
    }
    if r.sent.is_empty() {
        println!(
            "{}",
            match ctx.lang {
                Lang::En => format!(
                    "Nothing new for {}: the region has the last package.",
                    r.facility
                ),
                Lang::Fr => format!(
                    "Rien de nouveau pour {} : la région a le dernier paquet.",
                    r.facility
                ),
            }
        );
    }
    for s in &r.sent {
        let line = match (ctx.lang, s.outcome) {
            (Lang::En, "imported") => format!("Package {} imported by the region.", s.sequence),
            (Lang::Fr, "imported") => format!("Paquet {} importé par la région.", s.sequence),
            (Lang::En, "already_imported") => format!(
                "Package {} was already at the region: acknowledged.",
                s.sequence
            ),
            (Lang::Fr, "already_imported") => format!(
                "Le paquet {} était déjà à la région : acquitté.",
                s.sequence
            ),
            (lang, _) => {
                let reason = s.reason.as_ref().map(|r| r.get(lang)).unwrap_or_default();
                match lang {
                    Lang::En => format!("Package {} refused by the region: {reason}", s.sequence),
                    Lang::Fr => format!("Paquet {} refusé par la région : {reason}", s.sequence),
                }
            }
        };
        println!("{line}");
    }
    if let Some(q) = &r.requests {
        let line = match (&q.received, ctx.lang) {
            (Some(x), Lang::En) => format!(
                "Requests of region {}: {} ({} new, {} updated).",
                x.region, x.requests, x.new, x.updated
            ),
            (Some(x), Lang::Fr) => format!(
                "Demandes de la région {} : {} ({} nouvelles, {} mises à jour).",
                x.region, x.requests, x.new, x.updated
            ),
            (None, lang) => {
                let reason = q.reason.as_ref().map(|r| r.get(lang)).unwrap_or_default();
                match lang {
                    Lang::En => format!("The region's requests were refused: {reason}"),
                    Lang::Fr => format!("Les demandes de la région ont été refusées : {reason}"),
                }
            }
        };
        println!("{line}");
    }
    Ok(())
}

/// `hygie serve --sync-to`: a push every `every`, the first at once; its next start and its
/// counts on /metrics. A failed push is logged and sent again at the next pass. Each push reads
/// the signing key from `data_dir` again (`identity::current`), so a `hygie identity rotate`
/// made while the server runs is carried and signed by the next push, without a restart.
pub fn schedule(
    store: Store,
    state: hygie_web::AppState,
    facility: Finess,
    target: PushTarget,
    every: std::time::Duration,
    data_dir: PathBuf,
) {
    use std::sync::atomic::Ordering;
    tokio::spawn(async move {
        loop {
            let started = jiff::Timestamp::now();
            let next = started + jiff::SignedDuration::try_from(every).unwrap_or_default();
            let m = state.metrics();
            m.sync_next_run.store(
                u64::try_from(next.as_second()).unwrap_or(0),
                Ordering::Relaxed,
            );
            let pushed = match super::identity::current(&data_dir) {
                Ok(identity) => {
                    push_once(&store, &identity, &facility, &target, started, &data_dir).await
                }
                Err(e) => Err(e),
            };
            match pushed {
                Ok(r) => {
                    m.sync_pushed
                        .fetch_add(r.acknowledged() as u64, Ordering::Relaxed);
                    if r.outcome == "refused" {
                        m.sync_failed.fetch_add(1, Ordering::Relaxed);
                        for s in r.sent.iter().filter(|s| s.outcome == "refused") {
                            let reason = s.reason.as_ref().map(|r| r.en.as_str()).unwrap_or("");
                            tracing::warn!(target: "hygie::sync", sequence = s.sequence, "package refused by the region: {reason}");
                        }
                    }
                    tracing::info!(target: "hygie::sync", outcome = r.outcome, sent = r.sent.len(), next = %next, "push to the region");
                }
                Err(e) => {
                    m.sync_failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target: "hygie::sync", "push to the region failed: {e:#}");
                }
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// `hygie region push-token`: a new push token for the enrolment in force of `facility`,
/// written to `to` (0600, created new); the store keeps its digest. It replaces any earlier
/// token of the enrolment.
pub async fn push_token(ctx: &Ctx, facility: &str, to: &Path) -> anyhow::Result<u8> {
    let id = Finess::parse(facility)?;
    let secret = zeroize::Zeroizing::new(format!("hyp_{}", hygie_web::auth::random_hex(32)?));
    let store = ctx.store().await?;
    write_private(to, secret.as_bytes())?;
    if let Err(e) = store
        .set_push_token(&id, &hygie_web::auth::digest(&secret), &Actor::cli())
        .await
    {
        let _ = std::fs::remove_file(to);
        return Err(e.into());
    }
    let out =
        serde_json::json!({ "facility": id.to_string(), "token_file": to.display().to_string() });
    match ctx.format {
        Format::Json => output::json(&out)?,
        _ => println!(
            "{}",
            match ctx.lang {
                Lang::En => format!(
                    "Push token of {id} written to {} (give it to the facility; it opens only the package endpoint).",
                    to.display()
                ),
                Lang::Fr => format!(
                    "Jeton d'envoi de {id} écrit dans {} (à remettre à l'établissement ; il n'ouvre que le dépôt des paquets).",
                    to.display()
                ),
            }
        ),
    }
    Ok(exit::OK)
}

/// Create `path` readable by its owner only, refusing to overwrite a file.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path).map_err(|e| {
        exit::invalid(format!(
            "{}: {e} / impossible de créer le fichier (il ne doit pas exister)",
            path.display()
        ))
    })?;
    f.write_all(bytes)?;
    f.write_all(b"\n")?;
    Ok(())
}
