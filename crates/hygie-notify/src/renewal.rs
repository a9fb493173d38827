//! Reminders of recurring measures about to expire: a measure declared "implemented" whose
//! catalogue entry asks for a renewal every N months stops counting at
//! [`hygie_core::plan::expiry`] (the status becomes "expired"). Its owner is told some days
//! before (30 and 7 by default: [`RenewalWindows`]) and once when it has expired.
//!
//! As with the legal clocks, only the narrowest window the expiry is in is reminded, and each
//! reminder has an identity ([`Renewal::key`]: facility, measure, the expiry's date, slot): a
//! renewal (a new declaration) moves the expiry, so the next cycle's reminders are new ones.
//!
//! Who is told ([`Renewal::roles`]): the declaration's owner when it names a role of the
//! governance register (`dpo`, `rssi`...) or a person of it, else the CISO.

use crate::{Message, Recipient};
use hygie_core::declaration::{Declaration, DeclaredStatus};
use hygie_core::plan::{EffectiveStatus, FacilityStatus};
use hygie_core::{Catalog, Lang, Localized, MeasureId};
use hygie_governance::org::{Assignment, Person, Role};
use jiff::{SignedDuration, Timestamp};
use std::collections::BTreeMap;

/// How many days before an expiry a reminder goes out, widest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalWindows(Vec<u32>);

impl Default for RenewalWindows {
    /// 30 and 7 days before.
    fn default() -> Self {
        RenewalWindows(vec![30, 7])
    }
}

/// A bad list of renewal windows, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct WindowError {
    pub field: String,
    pub message: String,
}

impl RenewalWindows {
    /// Parse `30d,7d` (or `30,7`; any order).
    pub fn parse(field: &str, text: &str) -> Result<RenewalWindows, WindowError> {
        let err = |message: String| WindowError {
            field: field.to_owned(),
            message,
        };
        let mut v = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let digits = part.strip_suffix('d').unwrap_or(part).trim();
            let n: u32 = digits.parse().map_err(|_| {
                err(format!(
                    "'{part}' is not a number of days (e.g. 30d) / '{part}' n'est pas un nombre de jours (ex. 30d)"
                ))
            })?;
            if n == 0 || n > 366 {
                return Err(err(format!(
                    "'{part}': a window is 1 to 366 days / une fenêtre compte de 1 à 366 jours"
                )));
            }
            v.push(n);
        }
        if v.is_empty() {
            return Err(err(
                "give at least one window, e.g. 30d,7d / donner au moins une fenêtre, ex. 30d,7d"
                    .into(),
            ));
        }
        v.sort_by(|a, b| b.cmp(a));
        v.dedup();
        Ok(RenewalWindows(v))
    }

    /// The narrowest window holding `days` whole days left (a due day), if any.
    pub fn narrowest_days(&self, days: i64) -> Option<u32> {
        self.0
            .iter()
            .rev()
            .find(|d| days <= i64::from(**d))
            .copied()
    }

    /// The narrowest window holding `left` (time left before the expiry), if any.
    fn narrowest(&self, left: SignedDuration) -> Option<u32> {
        self.0
            .iter()
            .rev()
            .find(|d| left <= SignedDuration::from_hours(24 * i64::from(**d)))
            .copied()
    }
}

/// Which reminder of an expiry: some days before, or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewalSlot {
    Before(u32),
    Expired,
}

impl RenewalSlot {
    /// `30d`, `7d` or `expired`: the last part of a reminder's key.
    pub fn label(self) -> String {
        match self {
            RenewalSlot::Before(d) => format!("{d}d"),
            RenewalSlot::Expired => "expired".into(),
        }
    }
}

/// One renewal reminder due: a recurring measure of a facility in a slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Renewal {
    pub facility: String,
    pub measure: MeasureId,
    pub title: Localized,
    pub months: u8,
    pub declared_at: Timestamp,
    pub expires: Timestamp,
    /// The declaration's owner, as typed.
    pub owner: Option<String>,
    pub slot: RenewalSlot,
}

/// The renewal reminders due at `now` for a facility whose status (at `now`'s date) is
/// `status`: every recurring measure whose standing rests on a declaration "implemented" (not
/// verified or failing by an audit, which says more than a declaration), whose expiry is within
/// a window or past. Soonest expiry first.
pub fn due_renewals(
    status: &FacilityStatus,
    catalog: &Catalog,
    declarations: &BTreeMap<MeasureId, Vec<Declaration>>,
    now: Timestamp,
    windows: &RenewalWindows,
) -> Vec<Renewal> {
    let mut out = Vec::new();
    for m in &status.measures {
        if !matches!(
            m.status,
            EffectiveStatus::Implemented | EffectiveStatus::Expired
        ) {
            continue;
        }
        let Some(months) = catalog.measure(&m.id).and_then(|c| c.recurrence_months) else {
            continue;
        };
        let Some(d) = declarations
            .get(&m.id)
            .and_then(|h| h.iter().filter(|d| d.at <= now).max_by_key(|d| d.at))
        else {
            continue;
        };
        if d.status != DeclaredStatus::Implemented {
            continue;
        }
        let expires = hygie_core::plan::expiry(d.at, months);
        let left = expires.duration_since(now);
        let slot = if !left.is_positive() {
            RenewalSlot::Expired
        } else {
            match windows.narrowest(left) {
                Some(days) => RenewalSlot::Before(days),
                None => continue,
            }
        };
        out.push(Renewal {
            facility: status.facility.id.to_string(),
            measure: m.id.clone(),
            title: m.title.clone(),
            months,
            declared_at: d.at,
            expires,
            owner: d.owner.clone().filter(|o| !o.trim().is_empty()),
            slot,
        });
    }
    out.sort_by_key(|r| r.expires);
    out
}

/// Paris's date of an instant, as the plan counts days.
fn paris_date(t: Timestamp) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
    t.to_zoned(tz).date()
}

impl Renewal {
    /// The identity of the sending: `renewal/FACILITY/MEASURE/EXPIRY-DATE/SLOT`.
    pub fn key(&self) -> String {
        format!(
            "renewal/{}/{}/{}/{}",
            self.facility,
            self.measure,
            self.expires.strftime("%Y-%m-%d"),
            self.slot.label()
        )
    }

    /// The role told: the one the owner names, else the CISO.
    pub fn role(&self) -> Role {
        self.owner
            .as_deref()
            .and_then(|o| o.parse().ok())
            .unwrap_or(Role::Ciso)
    }

    /// Who is told at `date`: the person of the register the owner names (by id), else the
    /// holders of [`Renewal::role`].
    pub fn recipients(
        &self,
        roles: &[Assignment],
        people: &[Person],
        date: jiff::civil::Date,
        lang_of: impl Fn(&str) -> Lang,
    ) -> Vec<Recipient> {
        let recipient = |role: Role, p: &Person| Recipient {
            role,
            person: p.id.clone(),
            name: p.name.clone(),
            email: p.email.clone().filter(|e| !e.trim().is_empty()),
            lang: lang_of(&p.id),
        };
        if let Some(p) = self
            .owner
            .as_deref()
            .and_then(|o| people.iter().find(|p| p.id == o.trim()))
        {
            let role = roles
                .iter()
                .find(|a| a.person == p.id && a.active_at(date))
                .map(|a| a.role)
                .unwrap_or(Role::Ciso);
            return vec![recipient(role, p)];
        }
        crate::holders_of(self.role(), roles, people, date, lang_of)
    }

    /// The message in `lang` at `now`: the measure, when it was declared, its period, its
    /// expiry and how to record the renewal.
    pub fn message(&self, facility_name: &str, lang: Lang, now: Timestamp) -> Message {
        let expires = paris_date(self.expires);
        let declared = paris_date(self.declared_at);
        let days = (expires - paris_date(now)).get_days().max(0);
        let title = self.title.get(lang);
        let id = &self.measure;
        let subject = match (self.slot, lang) {
            (RenewalSlot::Expired, Lang::Fr) => {
                format!("[Hygie] À RENOUVELER : mesure {id} expirée le {expires} ({facility_name})")
            }
            (RenewalSlot::Expired, Lang::En) => {
                format!("[Hygie] EXPIRED: measure {id} expired on {expires} ({facility_name})")
            }
            (RenewalSlot::Before(_), Lang::Fr) => format!(
                "[Hygie] Rappel : mesure {id} à renouveler dans {days} jour(s), le {expires} ({facility_name})"
            ),
            (RenewalSlot::Before(_), Lang::En) => format!(
                "[Hygie] Reminder: measure {id} to renew within {days} day(s), by {expires} ({facility_name})"
            ),
        };
        let body = match lang {
            Lang::Fr => format!(
                "{id} — {title}\n\nÉtablissement : {facility_name} ({fac})\nDéclarée mise en œuvre le {declared}, à renouveler tous les {months} mois.\n{state}\n\nUne fois la mesure renouvelée, déclarez-la :\n  hygie assess set --facility {fac} --measure {id} --status implemented\n",
                fac = self.facility,
                months = self.months,
                state = match self.slot {
                    RenewalSlot::Expired =>
                        format!("Elle a expiré le {expires} : elle ne compte plus comme faite."),
                    RenewalSlot::Before(_) => format!("Elle expire le {expires}."),
                },
            ),
            Lang::En => format!(
                "{id} — {title}\n\nFacility: {facility_name} ({fac})\nDeclared implemented on {declared}, to renew every {months} months.\n{state}\n\nOnce it is renewed, declare it:\n  hygie assess set --facility {fac} --measure {id} --status implemented\n",
                fac = self.facility,
                months = self.months,
                state = match self.slot {
                    RenewalSlot::Expired => {
                        format!("It expired on {expires}: it no longer counts as done.")
                    }
                    RenewalSlot::Before(_) => format!("It expires on {expires}."),
                },
            ),
        };
        Message { subject, body }
    }

    /// What a dry run prints: the reminder, its recipients and their subjects.
    pub fn to_json(
        &self,
        recipients: &[Recipient],
        facility_name: &str,
        now: Timestamp,
    ) -> serde_json::Value {
        serde_json::json!({
            "key": self.key(),
            "kind": "renewal",
            "facility": self.facility,
            "measure": self.measure.to_string(),
            "slot": self.slot.label(),
            "declared_at": self.declared_at.to_string(),
            "due": self.expires.to_string(),
            "roles": [self.role().as_str()],
            "recipients": recipients.iter().map(|r| serde_json::json!({
                "role": r.role.as_str(),
                "person": r.person,
                "email": r.email,
                "lang": r.lang.code(),
                "subject": self.message(facility_name, r.lang, now).subject,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_windows_parse_and_pick_the_narrowest() {
        let w = RenewalWindows::parse("w", "7d, 30").unwrap();
        assert_eq!(w, RenewalWindows::default());
        let d = |n: i64| SignedDuration::from_hours(24 * n);
        assert_eq!(w.narrowest(d(31)), None);
        assert_eq!(w.narrowest(d(30)), Some(30));
        assert_eq!(w.narrowest(d(8)), Some(30));
        assert_eq!(w.narrowest(d(7)), Some(7));
        assert_eq!(w.narrowest(SignedDuration::from_hours(1)), Some(7));
        assert!(RenewalWindows::parse("w", "0d").is_err());
        assert!(RenewalWindows::parse("w", "x").is_err());
        assert!(RenewalWindows::parse("w", "").is_err());
        assert_eq!(RenewalSlot::Before(7).label(), "7d");
        assert_eq!(RenewalSlot::Expired.label(), "expired");
    }

    fn catalog() -> Catalog {
        hygie_catalog::bundled().unwrap()
    }

    #[test]
    fn a_yearly_measure_is_reminded_seven_days_before_then_once_expired() {
        let cat = catalog();
        let Some(m) = cat
            .measures
            .iter()
            .find(|m| m.recurrence_months == Some(12))
        else {
            panic!("the catalogue has a yearly measure");
        };
        let facility = hygie_core::Facility {
            id: hygie_core::Finess::parse("750712184").unwrap(),
            legal_entity: None,
            name: "F".into(),
            kind: hygie_core::FacilityKind::Hospital,
            region: hygie_core::Region::demo(),
            nis2: hygie_core::Nis2Status::OutOfScope,
            plan_start: jiff::civil::date(2025, 1, 1),
        };
        let now: Timestamp = "2026-12-07T09:00:00Z".parse().unwrap();
        let at: Timestamp = "2025-12-13T09:00:00Z".parse().unwrap();
        let mut decl = BTreeMap::new();
        decl.insert(
            m.id.clone(),
            vec![Declaration {
                status: DeclaredStatus::Implemented,
                owner: Some("dpo".into()),
                note: None,
                at,
                by: "t".into(),
            }],
        );
        let status_at = |t: Timestamp| {
            hygie_core::plan::facility_status(&facility, &cat, &decl, &[], paris_date(t))
        };
        let w = RenewalWindows::default();
        let due = due_renewals(&status_at(now), &cat, &decl, now, &w);
        let r: Vec<_> = due.iter().filter(|r| r.measure == m.id).collect();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].slot, RenewalSlot::Before(7));
        assert_eq!(
            r[0].key(),
            format!("renewal/{}/{}/2026-12-13/7d", facility.id, m.id)
        );
        assert_eq!(r[0].role(), Role::Dpo);
        let fr = r[0].message("CH Test", Lang::Fr, now);
        assert!(fr.subject.contains("dans 6 jour(s)"), "{}", fr.subject);
        let en = r[0].message("CH Test", Lang::En, now);
        assert!(en.body.contains("to renew every 12 months"), "{}", en.body);
        // A week later it has expired: one more reminder, another identity.
        let later = now + SignedDuration::from_hours(24 * 7);
        let due = due_renewals(&status_at(later), &cat, &decl, later, &w);
        let r = due.iter().find(|r| r.measure == m.id).unwrap();
        assert_eq!(r.slot, RenewalSlot::Expired);
        assert!(r.key().ends_with("/expired"));
        // Two months before, nothing.
        let early = now - SignedDuration::from_hours(24 * 60);
        assert!(
            due_renewals(&status_at(early), &cat, &decl, early, &w)
                .iter()
                .all(|r| r.measure != m.id)
        );
    }
}
