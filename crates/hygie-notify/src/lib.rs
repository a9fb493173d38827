//! Reminders of the legal clocks: which obligations of which incidents need a reminder at an
//! instant, to which roles, and the message each recipient reads in their language.
//!
//! A reminder goes out when an obligation still to do enters a window before its due time
//! (24 h, 4 h and 1 h by default: [`Windows`]) and once more when it is late. Only the
//! narrowest window the clock is in is reminded: a run after a stop that missed the 24 h
//! window sends the 4 h one, not both. Each reminder has an identity ([`Reminder::key`]:
//! incident, duty, window) under which the store records its sending, so it goes out once
//! whatever the number of runs or processes (`hygie-store`'s `notify`).
//!
//! Who is told is the duty's business ([`roles_for`]): the DPO for what the GDPR asks of the
//! controller (CNIL, data subjects, breach register), the CISO and the incident referent for
//! the health-sector and NIS 2 reports and the internal chain. People come from the facility's
//! governance register (roles held at the date, with their e-mail address).
//!
//! Pure: no I/O, no clock reading (its `clippy.toml` bans the clock calls); sending is the
//! binary's adapter. `hygie notify` (lettre over SMTP, `notify_smtp`) claims each reminder with
//! its journal entry, sends, then records it `sent` (or releases it after a failure: the store's
//! `notify`); `hygie serve --notify-every N` runs the same pass, its next run on `/metrics`. A
//! person reads in their web account's language (same login as the register's id), else the
//! command's `--lang`. Each message has a digest, which the journal keeps instead of its body.
//!
//! Beside the legal clocks, [`renewal`] reminds the recurring measures about to expire and
//! [`requests`] the ARS's evidence requests due soon, with the same shapes (windows, slot, key,
//! recipients, message, JSON); [`digest`] makes the weekly digests of a facility and of a
//! region (their text: hygie-report's templates).

pub mod digest;
pub mod renewal;
pub mod requests;
pub mod siem;
pub mod webhook;

use hygie_core::Lang;
use hygie_governance::org::{Assignment, Person, Role};
use hygie_incident::clock::{self, rfc3339};
use hygie_incident::{Duty, Incident, IncidentError, Obligation, ObligationStatus};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sha2::Digest as _;

/// The windows before a due time in which a reminder goes out, widest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows(Vec<SignedDuration>);

impl Default for Windows {
    /// 24 h, 4 h and 1 h before.
    fn default() -> Self {
        Windows(vec![
            SignedDuration::from_hours(24),
            SignedDuration::from_hours(4),
            SignedDuration::from_hours(1),
        ])
    }
}

impl Windows {
    /// Parse `24h,4h,1h` (any order; durations as `hygie incident due --within` reads them).
    pub fn parse(field: &str, text: &str) -> Result<Windows, IncidentError> {
        let mut v = Vec::new();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let d = clock::parse_duration(field, part)?;
            if !d.is_positive() {
                return Err(IncidentError::invalid(
                    field,
                    format!("'{part}': a window must be longer than zero"),
                ));
            }
            v.push(d);
        }
        if v.is_empty() {
            return Err(IncidentError::invalid(
                field,
                "give at least one window, e.g. 24h,4h,1h",
            ));
        }
        v.sort_by(|a, b| b.cmp(a));
        v.dedup();
        Ok(Windows(v))
    }

    /// The narrowest window holding `left` (time left before the due time), if any.
    fn narrowest(&self, left: SignedDuration) -> Option<SignedDuration> {
        self.0.iter().rev().find(|w| left <= **w).copied()
    }
}

/// Which reminder of an obligation: in a window before its due time, or late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Before(SignedDuration),
    Late,
}

impl Slot {
    /// `24h`, `4h`, `30m`, or `late`: the third part of a reminder's key.
    pub fn label(self) -> String {
        match self {
            Slot::Late => "late".into(),
            Slot::Before(d) => {
                let s = d.as_secs();
                if s % 3600 == 0 {
                    format!("{}h", s / 3600)
                } else {
                    format!("{}m", s / 60)
                }
            }
        }
    }
}

/// The roles told about a duty, first the one who acts.
pub fn roles_for(duty: Duty) -> &'static [Role] {
    match duty {
        // What the GDPR asks of the controller: the DPO keeps the register and advises.
        Duty::Cnil | Duty::DataSubjects | Duty::BreachRegister => &[Role::Dpo],
        // The incident chain: the referent informs the CISO.
        Duty::InternalCiso => &[Role::IncidentReferent],
        // The health-sector and NIS 2 reports, informing the DPO, the complaint: the CISO and
        // the incident referent who runs the incident.
        Duty::InternalDpo
        | Duty::CertSante
        | Duty::CertSanteResolution
        | Duty::Nis2EarlyWarning
        | Duty::Nis2Notification
        | Duty::Nis2Intermediate
        | Duty::Nis2Final
        | Duty::Nis2Progress
        | Duty::Complaint => &[Role::Ciso, Role::IncidentReferent],
    }
}

/// One reminder due: an obligation of an incident in a slot.
#[derive(Debug, Clone)]
pub struct Reminder<'a> {
    pub incident: &'a Incident,
    pub obligation: Obligation,
    pub slot: Slot,
}

/// The reminders due at `now` for `incidents`: every obligation still to do (due or late; not
/// the anticipated or recommended ones, which have no binding clock) in a window or late.
/// Soonest due first.
pub fn due_reminders<'a>(
    incidents: &'a [Incident],
    now: Timestamp,
    windows: &Windows,
) -> Result<Vec<Reminder<'a>>, IncidentError> {
    let mut out = Vec::new();
    for inc in incidents {
        for o in inc.obligations(now)? {
            let Some(due) = o.due.as_ref().map(|d| d.timestamp()) else {
                continue;
            };
            let slot = match o.status {
                ObligationStatus::Late => Slot::Late,
                ObligationStatus::Due => match windows.narrowest(due.duration_since(now)) {
                    Some(w) => Slot::Before(w),
                    None => continue,
                },
                _ => continue,
            };
            out.push(Reminder {
                incident: inc,
                obligation: o,
                slot,
            });
        }
    }
    out.sort_by_key(|r| r.obligation.due.as_ref().map(|d| d.timestamp()));
    Ok(out)
}

/// A person to tell, with the role they are told as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub role: Role,
    pub person: String,
    pub name: String,
    /// None when the register has no address for them: the reminder cannot reach them.
    pub email: Option<String>,
    pub lang: Lang,
}

/// The holders at `date` of the roles `duty` concerns, each person once (under the first role
/// that names them), in the language `lang_of` gives for a person's id.
pub fn recipients(
    duty: Duty,
    roles: &[Assignment],
    people: &[Person],
    date: jiff::civil::Date,
    lang_of: impl Fn(&str) -> Lang,
) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    for role in roles_for(duty) {
        for a in roles
            .iter()
            .filter(|a| a.role == *role && a.active_at(date))
        {
            if out.iter().any(|r| r.person == a.person) {
                continue;
            }
            let p = people.iter().find(|p| p.id == a.person);
            out.push(Recipient {
                role: *role,
                person: a.person.clone(),
                name: p
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| a.person.clone()),
                email: p
                    .and_then(|p| p.email.clone())
                    .filter(|e| !e.trim().is_empty()),
                lang: lang_of(&a.person),
            });
        }
    }
    out
}

/// The holders at `date` of `role`, each person once, with their address (none when the
/// register has none) and their language.
pub fn holders_of(
    role: Role,
    roles: &[Assignment],
    people: &[Person],
    date: jiff::civil::Date,
    lang_of: impl Fn(&str) -> Lang,
) -> Vec<Recipient> {
    let mut out: Vec<Recipient> = Vec::new();
    for a in roles.iter().filter(|a| a.role == role && a.active_at(date)) {
        if out.iter().any(|r| r.person == a.person) {
            continue;
        }
        let p = people.iter().find(|p| p.id == a.person);
        out.push(Recipient {
            role,
            person: a.person.clone(),
            name: p
                .map(|p| p.name.clone())
                .unwrap_or_else(|| a.person.clone()),
            email: p
                .and_then(|p| p.email.clone())
                .filter(|e| !e.trim().is_empty()),
            lang: lang_of(&a.person),
        });
    }
    out
}

/// A reminder's text for one reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub subject: String,
    pub body: String,
}

impl Message {
    /// SHA-256 of subject and body, hex: what the journal keeps instead of the text.
    pub fn digest(&self) -> String {
        let mut h = sha2::Sha256::new();
        h.update(self.subject.as_bytes());
        h.update(b"\n\n");
        h.update(self.body.as_bytes());
        hex::encode(h.finalize())
    }
}

fn span(d: SignedDuration, lang: Lang) -> String {
    let mins = d.as_secs().unsigned_abs() / 60;
    let (h, m) = (mins / 60, mins % 60);
    match (h, m, lang) {
        (0, m, _) => format!("{m} min"),
        (h, 0, _) => format!("{h} h"),
        (h, m, Lang::Fr) => format!("{h} h {m:02}"),
        (h, m, Lang::En) => format!("{h} h {m:02} min"),
    }
}

impl Reminder<'_> {
    /// The identity of the sending: `incident/duty/slot`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.incident.id,
            self.obligation.duty.as_str(),
            self.slot.label()
        )
    }

    pub fn roles(&self) -> &'static [Role] {
        roles_for(self.obligation.duty)
    }

    /// The message in `lang`, at `now` (the time left or late is counted from it). Names the
    /// incident by id and title, the duty, its addressee, deadline and legal basis, and the
    /// command that prints the draft; no other fact of the incident.
    pub fn message(&self, facility_name: &str, lang: Lang, now: Timestamp) -> Message {
        let o = &self.obligation;
        let inc = self.incident;
        let duty = o.duty.label();
        let due = o.due.as_ref();
        let due_text = due.map(rfc3339).unwrap_or_default();
        let left = due.map(|d| d.timestamp().duration_since(now));
        let subject = match (self.slot, lang) {
            (Slot::Late, Lang::Fr) => format!(
                "[Hygie] EN RETARD : {} — incident {} ({facility_name})",
                duty.get(lang),
                inc.id
            ),
            (Slot::Late, Lang::En) => format!(
                "[Hygie] LATE: {} — incident {} ({facility_name})",
                duty.get(lang),
                inc.id
            ),
            (Slot::Before(_), Lang::Fr) => format!(
                "[Hygie] Rappel : {} dans {} — incident {} ({facility_name})",
                duty.get(lang),
                span(left.unwrap_or_default(), lang),
                inc.id
            ),
            (Slot::Before(_), Lang::En) => format!(
                "[Hygie] Reminder: {} due in {} — incident {} ({facility_name})",
                duty.get(lang),
                span(left.unwrap_or_default(), lang),
                inc.id
            ),
        };
        let when = match (self.slot, lang) {
            (Slot::Late, Lang::Fr) => format!(
                "Échéance dépassée depuis {} (échéance : {due_text}).",
                span(left.unwrap_or_default(), lang)
            ),
            (Slot::Late, Lang::En) => format!(
                "The deadline passed {} ago (due: {due_text}).",
                span(left.unwrap_or_default(), lang)
            ),
            (Slot::Before(_), Lang::Fr) => format!("Échéance : {due_text}."),
            (Slot::Before(_), Lang::En) => format!("Due: {due_text}."),
        };
        let deadline_words = o
            .duty
            .legal_deadline()
            .map(|l| match lang {
                Lang::Fr => format!(
                    " Le texte dit « {} » : l'échéance est une cible interne.",
                    l.get(lang)
                ),
                Lang::En => format!(
                    " The text says \"{}\": the due time is an internal target.",
                    l.get(lang)
                ),
            })
            .unwrap_or_default();
        let (l_inc, l_fac, l_to, l_basis, l_draft, l_done) = match lang {
            Lang::Fr => (
                "Incident",
                "Établissement",
                "Destinataire de la notification",
                "Fondement",
                "Le projet de notification :",
                "Une fois la notification faite, enregistrez-la :",
            ),
            Lang::En => (
                "Incident",
                "Facility",
                "Notification goes to",
                "Legal basis",
                "The draft of the notification:",
                "Once it is sent, record it:",
            ),
        };
        let body = format!(
            "{}\n\n{when}{deadline_words}\n\n{l_inc}: {} — {}\n{l_fac}: {facility_name} ({})\n{l_to}: {}\n{l_basis}: {}\n\n{l_draft}\n  hygie incident draft {} --duty {} --lang {}\n{l_done}\n  hygie incident notify {} --duty {} ...\n",
            duty.get(lang),
            inc.id,
            inc.facts.title,
            inc.facts.facility,
            o.duty.recipient().get(lang),
            o.duty.basis_in(lang),
            inc.id,
            o.duty.as_str(),
            lang.code(),
            inc.id,
            o.duty.as_str(),
        );
        Message { subject, body }
    }

    /// What a dry run prints: the reminder, its recipients and their subjects.
    pub fn to_json(
        &self,
        recipients: &[Recipient],
        facility_name: &str,
        now: Timestamp,
    ) -> serde_json::Value {
        let o = &self.obligation;
        serde_json::json!({
            "key": self.key(),
            "incident": self.incident.id,
            "facility": self.incident.facts.facility,
            "duty": o.duty.as_str(),
            "slot": self.slot.label(),
            "status": o.status.as_str(),
            "due": o.due.as_ref().map(rfc3339),
            "roles": self.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>(),
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
    fn the_narrowest_window_is_chosen() {
        let w = Windows::parse("w", "1h, 24h,4h").unwrap();
        assert_eq!(w, Windows::default());
        let h = SignedDuration::from_hours;
        assert_eq!(w.narrowest(h(30)), None);
        assert_eq!(w.narrowest(h(24)), Some(h(24)));
        assert_eq!(w.narrowest(h(2)), Some(h(4)));
        assert_eq!(w.narrowest(SignedDuration::from_mins(59)), Some(h(1)));
        assert_eq!(Slot::Before(SignedDuration::from_mins(30)).label(), "30m");
        assert!(Windows::parse("w", "0h").is_err());
        assert!(Windows::parse("w", " ").is_err());
    }

    #[test]
    fn duties_go_to_the_roles_they_concern() {
        assert_eq!(roles_for(Duty::Cnil), &[Role::Dpo]);
        assert!(roles_for(Duty::CertSante).contains(&Role::Ciso));
        assert!(roles_for(Duty::CertSante).contains(&Role::IncidentReferent));
        for d in Duty::ALL {
            assert!(!roles_for(d).is_empty(), "{d:?}");
        }
    }

    #[test]
    fn recipients_are_the_holders_at_the_date_once_each() {
        let date = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        let a = |role, person: &str, start: &str, end: Option<&str>| Assignment {
            role,
            person: person.into(),
            department: None,
            start: date(start),
            end: end.map(date),
        };
        let people = vec![
            Person {
                id: "ciso1".into(),
                name: "Claire".into(),
                function: None,
                department: None,
                reports_to: None,
                email: Some("claire@ch.example".into()),
            },
            Person {
                id: "old".into(),
                name: "Old".into(),
                function: None,
                department: None,
                reports_to: None,
                email: Some("old@ch.example".into()),
            },
        ];
        let roles = vec![
            a(Role::Ciso, "ciso1", "2024-01-01", None),
            a(Role::IncidentReferent, "ciso1", "2024-01-01", None),
            a(Role::Ciso, "old", "2020-01-01", Some("2023-12-31")),
            a(Role::Dpo, "dpo1", "2024-01-01", None),
        ];
        let r = recipients(Duty::CertSante, &roles, &people, date("2026-12-01"), |p| {
            if p == "ciso1" { Lang::Fr } else { Lang::En }
        });
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].role, Role::Ciso);
        assert_eq!(r[0].lang, Lang::Fr);
        assert_eq!(r[0].email.as_deref(), Some("claire@ch.example"));
        // A holder missing from the people register is named, without an address.
        let r = recipients(Duty::Cnil, &roles, &people, date("2026-12-01"), |_| {
            Lang::En
        });
        assert_eq!(
            (r[0].person.as_str(), r[0].email.as_deref()),
            ("dpo1", None)
        );
    }

    #[test]
    fn a_breach_known_for_70_hours_reminds_the_dpo_of_the_cnil_once() {
        let now: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let aware = now - SignedDuration::from_hours(70);
        let facility = hygie_core::Finess::with_check_digit("35000001")
            .unwrap()
            .to_string();
        let input = hygie_incident::FactsInput {
            facility: Some(facility),
            title: Some("Fuite du dossier patient".into()),
            awareness: Some(aware.to_string()),
            personal_data_breach: Some("risk".into()),
            ..hygie_incident::FactsInput::default()
        };
        let facts = input.into_facts(None, aware).unwrap();
        let inc = Incident::open("INC-0001", facts, aware).unwrap();
        let incs = [inc];
        let due = due_reminders(&incs, now, &Windows::default()).unwrap();
        let cnil: Vec<_> = due
            .iter()
            .filter(|r| r.obligation.duty == Duty::Cnil)
            .collect();
        assert_eq!(cnil.len(), 1);
        assert_eq!(cnil[0].slot, Slot::Before(SignedDuration::from_hours(4)));
        assert_eq!(cnil[0].key(), "INC-0001/cnil/4h");
        assert_eq!(cnil[0].roles(), &[Role::Dpo]);
        let fr = cnil[0].message("CH Test", Lang::Fr, now);
        assert!(fr.subject.contains("dans 2 h"), "{}", fr.subject);
        assert!(fr.body.contains("RGPD art. 33"), "{}", fr.body);
        let en = cnil[0].message("CH Test", Lang::En, now);
        assert!(
            en.subject
                .starts_with("[Hygie] Reminder: Personal-data breach")
        );
        assert_ne!(fr.digest(), en.digest());
        // Two hours later the CNIL's 72 h have run out: the late reminder, a new identity.
        let later = due_reminders(
            &incs,
            now + SignedDuration::from_hours(3),
            &Windows::default(),
        )
        .unwrap();
        let late = later
            .iter()
            .find(|r| r.obligation.duty == Duty::Cnil)
            .unwrap();
        assert_eq!(late.key(), "INC-0001/cnil/late");
        // Four days before, nothing of the CNIL's was in a window.
        let early = due_reminders(&incs, aware, &Windows::parse("w", "1h").unwrap()).unwrap();
        assert!(early.iter().all(|r| r.obligation.duty != Duty::Cnil));
    }
}
