//! The renewal reminders of `hygie notify run` (and of `hygie serve --notify-every`): for each
//! facility, the recurring measures about to expire or expired (`hygie_notify::renewal`, pure),
//! told to their owner through the same claim → send → sent path as the incidents' reminders
//! (the store's `notify_scoped_reminders`).

use super::notify::{
    Fate, Outgoing, Pass, RunReport, Scoped, fate_before, register_of, send_scoped,
};
use hygie_core::Finess;
use hygie_notify::Recipient;
use hygie_notify::renewal::{Renewal, RenewalWindows, due_renewals};
use hygie_store::{Actor, Store};
use jiff::Timestamp;

/// The renewals due at `now` per facility (`facility` only, or every one), facilities with none
/// left out; the e-mails' pass and the webhooks' (`notify_webhook`) read the same list.
pub(super) async fn due(
    store: &Store,
    now: Timestamp,
    windows: &RenewalWindows,
    facility: Option<&Finess>,
) -> anyhow::Result<Vec<(Finess, Vec<Renewal>)>> {
    let catalog = super::catalog()?;
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let date = now.to_zoned(tz).date();
    let ids: Vec<Finess> = match facility {
        Some(f) => vec![f.clone()],
        None => store
            .facilities(None)
            .await?
            .into_iter()
            .map(|f| f.id)
            .collect(),
    };
    let mut out = Vec::new();
    for id in ids {
        let status = store.facility_status(&catalog, &id, date).await?;
        let declarations = store.declarations(&id).await?;
        let due = due_renewals(&status, &catalog, &declarations, now, windows);
        if !due.is_empty() {
            out.push((id, due));
        }
    }
    Ok(out)
}

/// Compute the renewals due at `now` for `facility` (every facility when `None`) and, with
/// `smtp`, send each one not yet sent; the outcomes go into `report`.
pub(super) async fn pass(
    p: &Pass<'_>,
    windows: &RenewalWindows,
    report: &mut RunReport,
) -> anyhow::Result<()> {
    let Pass {
        store,
        smtp,
        now,
        facility,
        default_lang,
        states,
    } = *p;
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    let date = now.to_zoned(tz).date();
    let actor = Actor("notify".to_owned());
    for (id, due) in due(store, now, windows, facility).await? {
        let reg = register_of(store, id.as_str(), default_lang).await?;
        for r in &due {
            let to = r.recipients(&reg.roles, &reg.people, date, |p| {
                reg.langs.get(p).copied().unwrap_or(default_lang)
            });
            let json = r.to_json(&to, &reg.name, now);
            let key = r.key();
            let reachable: Vec<&Recipient> = to.iter().filter(|p| p.email.is_some()).collect();
            let fate = match fate_before(states, &key, reachable.len()) {
                Some(f) => f,
                None => match smtp {
                    None => Fate::Due,
                    Some(smtp) => {
                        let scoped = Scoped {
                            key: &key,
                            scope: id.as_str(),
                            kind: "renewal",
                            subject: r.measure.as_str(),
                            slot: &r.slot.label(),
                        };
                        let messages = || {
                            reachable
                                .iter()
                                .filter_map(|p| Outgoing::to(p, r.message(&reg.name, p.lang, now)))
                                .collect()
                        };
                        send_scoped(store, smtp, scoped, messages, &actor, &mut report.errors)
                            .await?
                    }
                },
            };
            report.items.push((json, fate));
        }
    }
    Ok(())
}
