//! The obligations engine: one obligation per duty, derived from the facts and the sendings.
//!
//! Each obligation carries its reason (why the duty applies or why not, in English and French:
//! shown in the reader's language, the English one kept in the incident's `obligation_log`),
//! start, due time, due kind (legal, internal target, on request, recommendation) and status
//! (due, late, sent, not required, anticipated, recommended). A duty of a regime not in force
//! (`regimes`) is `anticipated`; an unmet recommendation is `recommended`: neither is ever late.

use crate::Result;
use crate::clock;
use crate::duty::Sending;
use crate::facts::{BreachRisk, Facts};
use crate::regimes::Regimes;
use hygie_core::{Lang, Localized, Nis2Status};
use jiff::{SignedDuration, Timestamp, Zoned};
use serde::Serialize;

/// Re-exported where the engine's users have always found it.
pub use crate::duty::Duty;

/// Whether the due time is fixed by law or is an internal target for "without delay".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    Legal,
    InternalTarget,
    OnRequest,
    /// Hygie's recommendation with its own target: never a legal deadline.
    Recommendation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObligationStatus {
    Due,
    Late,
    Sent,
    NotRequired,
    /// Required by a regime not in force at the incident's awareness: shown, never late.
    Anticipated,
    /// A recommendation not yet followed (before or after its target): never late.
    Recommended,
}

impl ObligationStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ObligationStatus::Due => "due",
            ObligationStatus::Late => "late",
            ObligationStatus::Sent => "sent",
            ObligationStatus::NotRequired => "not_required",
            ObligationStatus::Anticipated => "anticipated",
            ObligationStatus::Recommended => "recommended",
        }
    }

    /// The status as a reader reads it.
    pub fn label(&self) -> Localized {
        let (en, fr) = match self {
            ObligationStatus::Due => ("due", "à faire"),
            ObligationStatus::Late => ("late", "en retard"),
            ObligationStatus::Sent => ("sent", "envoyée"),
            ObligationStatus::NotRequired => ("not required", "non requise"),
            ObligationStatus::Anticipated => (
                "anticipated (law not in force)",
                "anticipée (loi non en vigueur)",
            ),
            ObligationStatus::Recommended => ("recommended", "recommandée"),
        };
        Localized::new(en, fr)
    }
}

/// One duty of one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    pub duty: Duty,
    pub required: bool,
    /// Why the duty applies, or why it does not, in both languages.
    pub reason: Localized,
    pub start: Option<Zoned>,
    pub due: Option<Zoned>,
    pub due_kind: DueKind,
    pub status: ObligationStatus,
    /// The first sending.
    pub sent_at: Option<Zoned>,
    pub reference: Option<String>,
    /// Sent after the due time (by how much).
    pub sent_late_by: Option<SignedDuration>,
    /// Why the duty is only anticipated: its regime is not in force (see `regimes`).
    pub anticipated: Option<Localized>,
    /// Why a fact of the duty's legal basis is not confirmed from a primary text.
    pub unconfirmed: Option<String>,
}

impl Obligation {
    /// Required and not yet sent.
    pub fn unmet(&self) -> bool {
        matches!(self.status, ObligationStatus::Due | ObligationStatus::Late)
    }

    /// Time elapsed since the start, at `now` (or until the sending); None before the start.
    pub fn elapsed(&self, now: Timestamp) -> Option<SignedDuration> {
        let start = self.start.as_ref()?;
        let end = self.sent_at.as_ref().map(|z| z.timestamp()).unwrap_or(now);
        let d = end.duration_since(start.timestamp());
        // A clock that has not started yet (e.g. the NIS 2 final report) has no elapsed time.
        (!d.is_negative()).then_some(d)
    }

    /// Not done yet, whether binding, anticipated or recommended: its clock still runs.
    pub fn pending(&self) -> bool {
        self.unmet()
            || matches!(
                self.status,
                ObligationStatus::Anticipated | ObligationStatus::Recommended
            )
    }

    /// Time left before the due time (negative when past it), for pending obligations.
    pub fn remaining(&self, now: Timestamp) -> Option<SignedDuration> {
        if !self.pending() {
            return None;
        }
        Some(self.due.as_ref()?.timestamp().duration_since(now))
    }

    /// The obligation as a table row: duty, recipient, status, due or sent time, and the clock
    /// in words (time left and elapsed, late by, sent late or in time).
    pub fn row(&self, lang: Lang, now: Timestamp) -> Vec<String> {
        let o = self;
        let when = match o.status {
            ObligationStatus::Sent => o.sent_at.as_ref().map(clock::rfc3339).unwrap_or_default(),
            _ => {
                let due = o
                    .due
                    .as_ref()
                    .map(clock::rfc3339)
                    .unwrap_or_else(|| "-".into());
                // "Sans délai" is the law's deadline: the due time is only Hygie's target.
                match (o.duty.legal_deadline(), o.required) {
                    (Some(words), true) => {
                        let target = if lang == Lang::Fr {
                            "objectif"
                        } else {
                            "target"
                        };
                        format!("{} ({target} {due})", words.get(lang))
                    }
                    _ => due,
                }
            }
        };
        let h = |d: SignedDuration| clock::human_in(d, lang);
        let say = |en: String, fr: String| if lang == Lang::Fr { fr } else { en };
        let clock = match (&o.status, o.remaining(now), o.elapsed(now)) {
            (ObligationStatus::Late, Some(r), _) => say(
                format!("late by {}", h(-r)),
                format!("en retard de {}", h(-r)),
            ),
            (ObligationStatus::Due, Some(r), Some(e)) => say(
                format!("{} left ({} elapsed)", h(r), h(e)),
                format!("reste {} ({} écoulé)", h(r), h(e)),
            ),
            (ObligationStatus::Anticipated | ObligationStatus::Recommended, Some(r), _) => {
                if r.is_negative() {
                    say(
                        format!("target passed by {} (not a legal deadline)", h(-r)),
                        format!("objectif dépassé de {} (pas un délai légal)", h(-r)),
                    )
                } else {
                    say(
                        format!("{} left (not a legal deadline)", h(r)),
                        format!("reste {} (pas un délai légal)", h(r)),
                    )
                }
            }
            (ObligationStatus::Sent, _, _) => match o.sent_late_by {
                Some(d) => say(
                    format!("sent {} late", h(d)),
                    format!("envoyée avec {} de retard", h(d)),
                ),
                None => say("in time".into(), "dans les délais".into()),
            },
            _ => String::new(),
        };
        vec![
            o.duty.label().get(lang).to_owned(),
            o.duty.recipient().get(lang).to_owned(),
            o.status.label().get(lang).to_owned(),
            when,
            clock,
        ]
    }

    pub fn to_json(&self, lang: Lang, now: Timestamp) -> serde_json::Value {
        serde_json::json!({
            "duty": self.duty.as_str(),
            "label": self.duty.label().get(lang),
            "recipient": self.duty.recipient().get(lang),
            "basis": self.duty.basis(),
            "required": self.required,
            "reason": self.reason.get(lang),
            "start": self.start.as_ref().map(clock::rfc3339),
            "due": self.due.as_ref().map(clock::rfc3339),
            "due_kind": self.due_kind,
            "legal_deadline": self.duty.legal_deadline().map(|w| w.get(lang).to_owned()),
            "status": self.status.as_str(),
            "sent_at": self.sent_at.as_ref().map(clock::rfc3339),
            "reference": self.reference,
            "sent_late_by_seconds": self.sent_late_by.map(|d| d.as_secs()),
            "elapsed_seconds": self.elapsed(now).map(|d| d.as_secs()),
            "remaining_seconds": self.remaining(now).map(|d| d.as_secs()),
            "anticipated": self.anticipated.as_ref().map(|a| a.get(lang)),
            "unconfirmed": self.unconfirmed,
        })
    }
}

/// What a duty requires of one incident, before statuses.
pub(crate) struct Req {
    required: bool,
    reason: Localized,
    start: Option<Zoned>,
    due: Option<Zoned>,
    due_kind: DueKind,
}

impl Req {
    pub(crate) fn not_required(reason: Localized, due_kind: DueKind) -> Req {
        Req {
            required: false,
            reason,
            start: None,
            due: None,
            due_kind,
        }
    }

    /// Required, with no clock yet (it starts with a later event, e.g. the resolution).
    pub(crate) fn pending(reason: Localized, due_kind: DueKind) -> Req {
        Req {
            required: true,
            reason,
            start: None,
            due: None,
            due_kind,
        }
    }

    pub(crate) fn is_required(&self) -> bool {
        self.required
    }

    pub(crate) fn due_kind(&self) -> DueKind {
        self.due_kind
    }

    pub(crate) fn required(reason: Localized, start: &Zoned, due: Zoned, due_kind: DueKind) -> Req {
        Req {
            required: true,
            reason,
            start: Some(start.clone()),
            due: Some(due),
            due_kind,
        }
    }
}

fn not_required(reason: Localized, due_kind: DueKind) -> Req {
    Req::not_required(reason, due_kind)
}

fn required(reason: Localized, start: &Zoned, due: Zoned, due_kind: DueKind) -> Req {
    Req::required(reason, start, due, due_kind)
}

fn first_sent(sendings: &[Sending], duty: Duty) -> Option<&Sending> {
    sendings
        .iter()
        .filter(|s| s.duty == duty)
        .min_by_key(|s| s.at.timestamp())
}

/// Derive every duty's obligation from the facts and the sendings, with statuses at `now`,
/// under the bundled regimes' status. Every duty appears once, required or not (with the
/// reason), in [`Duty::ALL`] order.
pub fn derive(facts: &Facts, sendings: &[Sending], now: Timestamp) -> Result<Vec<Obligation>> {
    derive_under(facts, sendings, &Regimes::default(), now)
}

/// [`derive`] under the given regimes (the bundled data with an administrator's in-force dates).
pub fn derive_under(
    facts: &Facts,
    sendings: &[Sending],
    regimes: &Regimes,
    now: Timestamp,
) -> Result<Vec<Obligation>> {
    let aw = &facts.awareness;
    let t = &facts.targets;
    let mut out = Vec::with_capacity(Duty::ALL.len());
    // NIS 2 base instant for the final report: the notification as sent, else its due time.
    let notif_due = clock::add_hours(aw, 72)?;
    let notif_base = first_sent(sendings, Duty::Nis2Notification)
        .map(|s| s.at.clone())
        .unwrap_or_else(|| notif_due.clone());
    let final_due = clock::add_months(&notif_base, 1)?;
    for duty in Duty::ALL {
        let req = match duty {
            Duty::InternalCiso | Duty::InternalDpo => {
                let (en, fr) = if duty == Duty::InternalCiso {
                    ("CISO", "RSSI")
                } else {
                    ("DPO", "DPO")
                };
                required(
                    Localized::new(
                        format!("every incident: the {en} is informed at once"),
                        format!("tout incident : le {fr} est informé immédiatement"),
                    ),
                    aw,
                    clock::add_duration(aw, t.internal)?,
                    DueKind::InternalTarget,
                )
            }
            Duty::CertSante => {
                if facts.is_significant_or_serious() {
                    let (mut why_en, mut why_fr) = (Vec::new(), Vec::new());
                    if facts.serious {
                        why_en.push("qualified as significant or serious".to_owned());
                        why_fr.push("qualifié de significatif ou grave".to_owned());
                    }
                    let met: Vec<&str> = facts.impact.met().collect();
                    if !met.is_empty() {
                        why_en.push(format!("D.1111-16-2 criteria met: {}", met.join(", ")));
                        why_fr.push(format!("critères D.1111-16-2 remplis : {}", met.join(", ")));
                    }
                    let target = |lang| clock::human_in(t.cert_sante, lang);
                    required(
                        Localized::new(
                            format!(
                                "{}: report \"sans délai\"; due time is the internal target ({})",
                                why_en.join("; "),
                                target(Lang::En),
                            ),
                            format!(
                                "{} : signalement « sans délai » ; échéance à l'objectif interne ({})",
                                why_fr.join(" ; "),
                                target(Lang::Fr),
                            ),
                        ),
                        aw,
                        clock::add_duration(aw, t.cert_sante)?,
                        DueKind::InternalTarget,
                    )
                } else {
                    not_required(
                        l(
                            "not significant or serious: not qualified as such and no D.1111-16-2 criterion met",
                            "ni significatif ni grave : non qualifié comme tel et aucun critère D.1111-16-2 rempli",
                        ),
                        DueKind::InternalTarget,
                    )
                }
            }
            Duty::Cnil => match facts.personal_data_breach {
                BreachRisk::None => not_required(no_breach(), DueKind::Legal),
                BreachRisk::Unlikely => not_required(
                    l(
                        "breach unlikely to result in a risk to people (GDPR 33(1) exception); documented in the register",
                        "violation peu susceptible d'engendrer un risque pour les personnes (exception RGPD 33(1)) ; documentée dans le registre",
                    ),
                    DueKind::Legal,
                ),
                r => required(
                    if r == BreachRisk::High {
                        l(
                            "personal-data breach with high risk: CNIL within 72 h of awareness",
                            "violation de données personnelles à risque élevé : CNIL sous 72 h après la prise de connaissance",
                        )
                    } else {
                        l(
                            "personal-data breach with a risk: CNIL within 72 h of awareness",
                            "violation de données personnelles avec un risque : CNIL sous 72 h après la prise de connaissance",
                        )
                    },
                    aw,
                    clock::add_hours(aw, 72)?,
                    DueKind::Legal,
                ),
            },
            Duty::DataSubjects => match (facts.personal_data_breach, &facts.gdpr34_exemption) {
                (BreachRisk::High, Some(ex)) => not_required(
                    Localized::new(
                        format!("GDPR 34(3) exemption: {ex}"),
                        format!("exemption RGPD 34(3) : {ex}"),
                    ),
                    DueKind::InternalTarget,
                ),
                (BreachRisk::High, None) => required(
                    Localized::new(
                        format!(
                            "breach likely to result in a high risk: inform the people without undue delay (internal target {})",
                            clock::human_in(t.data_subjects, Lang::En)
                        ),
                        format!(
                            "violation susceptible d'engendrer un risque élevé : informer les personnes dans les meilleurs délais (objectif interne {})",
                            clock::human_in(t.data_subjects, Lang::Fr)
                        ),
                    ),
                    aw,
                    clock::add_duration(aw, t.data_subjects)?,
                    DueKind::InternalTarget,
                ),
                (BreachRisk::None, _) => not_required(no_breach(), DueKind::InternalTarget),
                _ => not_required(
                    l(
                        "the risk to people is not high (GDPR 34 applies to high risk only)",
                        "le risque pour les personnes n'est pas élevé (l'article 34 du RGPD ne vise que le risque élevé)",
                    ),
                    DueKind::InternalTarget,
                ),
            },
            Duty::BreachRegister => {
                if facts.personal_data_breach.is_breach() {
                    required(
                        l(
                            "every personal-data breach is documented (facts, effects, remedial action)",
                            "toute violation de données personnelles est documentée (faits, effets, mesures prises)",
                        ),
                        aw,
                        clock::add_duration(aw, t.register)?,
                        DueKind::InternalTarget,
                    )
                } else {
                    not_required(no_breach(), DueKind::InternalTarget)
                }
            }
            Duty::Nis2EarlyWarning | Duty::Nis2Notification => {
                let (hours, what_en, what_fr) = if duty == Duty::Nis2EarlyWarning {
                    (24, "early warning within 24 h", "alerte précoce sous 24 h")
                } else {
                    (
                        72,
                        "incident notification within 72 h",
                        "notification d'incident sous 72 h",
                    )
                };
                match nis2_scope(facts) {
                    Ok(why) => required(
                        Localized::new(
                            format!("{}: {what_en} of awareness", why.en),
                            format!("{} : {what_fr} après la prise de connaissance", why.fr),
                        ),
                        aw,
                        clock::add_hours(aw, hours)?,
                        DueKind::Legal,
                    ),
                    Err(why) => not_required(why, DueKind::Legal),
                }
            }
            Duty::Nis2Intermediate => match (nis2_scope(facts), &facts.intermediate_request) {
                (Err(why), _) => not_required(why, DueKind::OnRequest),
                (Ok(_), None) => not_required(
                    l(
                        "only on request of the CSIRT or the competent authority (none recorded)",
                        "seulement à la demande du CSIRT ou de l'autorité compétente (aucune enregistrée)",
                    ),
                    DueKind::OnRequest,
                ),
                (Ok(_), Some(r)) => Req {
                    required: true,
                    reason: Localized::new(
                        format!("requested on {}", clock::rfc3339(&r.requested_at)),
                        format!("demandé le {}", clock::rfc3339(&r.requested_at)),
                    ),
                    start: Some(r.requested_at.clone()),
                    due: r.due.clone(),
                    due_kind: DueKind::OnRequest,
                },
            },
            Duty::Nis2Final => match nis2_scope(facts) {
                Err(why) => not_required(why, DueKind::Legal),
                Ok(why) => {
                    let progress_sent = first_sent(sendings, Duty::Nis2Progress).is_some();
                    if progress_sent {
                        // Art. 23(4)(e): final report within one month of the end of handling.
                        match &facts.resolved_at {
                            Some(r) => required(
                                Localized::new(
                                    format!(
                                        "{}: progress report sent; final report within one month of the end of handling",
                                        why.en
                                    ),
                                    format!(
                                        "{} : rapport d'avancement envoyé ; rapport final dans le mois suivant la fin du traitement",
                                        why.fr
                                    ),
                                ),
                                r,
                                clock::add_months(r, 1)?,
                                DueKind::Legal,
                            ),
                            None => Req {
                                required: true,
                                reason: Localized::new(
                                    format!(
                                        "{}: progress report sent; final report due one month after the end of handling (not yet resolved)",
                                        why.en
                                    ),
                                    format!(
                                        "{} : rapport d'avancement envoyé ; rapport final un mois après la fin du traitement (pas encore résolu)",
                                        why.fr
                                    ),
                                ),
                                start: None,
                                due: None,
                                due_kind: DueKind::Legal,
                            },
                        }
                    } else {
                        let notified = first_sent(sendings, Duty::Nis2Notification).is_some();
                        required(
                            Localized::new(
                                format!(
                                    "{}: final report one month after the incident notification{}",
                                    why.en,
                                    if notified {
                                        ""
                                    } else {
                                        " (counted from its due time until it is sent)"
                                    }
                                ),
                                format!(
                                    "{} : rapport final un mois après la notification d'incident{}",
                                    why.fr,
                                    if notified {
                                        ""
                                    } else {
                                        " (compté depuis son échéance tant qu'elle n'est pas envoyée)"
                                    }
                                ),
                            ),
                            &notif_base,
                            final_due.clone(),
                            DueKind::Legal,
                        )
                    }
                }
            },
            Duty::Nis2Progress => match nis2_scope(facts) {
                Err(why) => not_required(why, DueKind::Legal),
                Ok(why) => {
                    let resolved_in_time = facts
                        .resolved_at
                        .as_ref()
                        .is_some_and(|r| r.timestamp() <= final_due.timestamp());
                    if first_sent(sendings, Duty::Nis2Final).is_some()
                        && first_sent(sendings, Duty::Nis2Progress).is_none()
                    {
                        not_required(
                            l("the final report was sent", "le rapport final a été envoyé"),
                            DueKind::Legal,
                        )
                    } else if resolved_in_time {
                        not_required(
                            l(
                                "incident resolved before the final-report date: no progress report",
                                "incident résolu avant la date du rapport final : pas de rapport d'avancement",
                            ),
                            DueKind::Legal,
                        )
                    } else {
                        required(
                            Localized::new(
                                format!(
                                    "{}: incident still ongoing at the final-report date: progress report instead",
                                    why.en
                                ),
                                format!(
                                    "{} : incident toujours en cours à la date du rapport final : rapport d'avancement à la place",
                                    why.fr
                                ),
                            ),
                            &notif_base,
                            final_due.clone(),
                            DueKind::Legal,
                        )
                    }
                }
            },
            Duty::Complaint => crate::complaint::requirement(facts)?,
            Duty::CertSanteResolution => crate::scope::resolution(facts)?,
        };
        let req = crate::scope::for_kind(duty, facts, req);
        let regime = regimes.of(duty);
        let anticipated = regimes.anticipated(duty, aw.timestamp());
        let mut o = finish(duty, req, sendings, anticipated, now);
        o.unconfirmed = regime.and_then(|r| r.unconfirmed.clone());
        if duty == Duty::Complaint {
            crate::complaint::apply_filed(&mut o, facts);
        }
        out.push(o);
    }
    Ok(out)
}

/// Whether NIS 2 art. 23 applies: `Ok(why)` or `Err(why not)`.
fn nis2_scope(facts: &Facts) -> std::result::Result<Localized, Localized> {
    if !facts.nis2_significant {
        return Err(l(
            "not a significant incident under NIS 2 art. 23(3)",
            "pas un incident important au sens de l'art. 23(3) de NIS 2",
        ));
    }
    match facts.nis2_status {
        Nis2Status::Essential => Ok(l(
            "significant incident at an essential entity",
            "incident important dans une entité essentielle",
        )),
        Nis2Status::Important => Ok(l(
            "significant incident at an important entity",
            "incident important dans une entité importante",
        )),
        Nis2Status::Unknown => Ok(l(
            "significant incident; the facility's NIS 2 status is unknown and treated as in scope until set",
            "incident important ; le statut NIS 2 de l'établissement est inconnu et traité comme concerné jusqu'à ce qu'il soit renseigné",
        )),
        Nis2Status::OutOfScope => Err(l(
            "the facility is out of NIS 2 scope",
            "l'établissement est hors du champ de NIS 2",
        )),
    }
}

fn l(en: &str, fr: &str) -> Localized {
    Localized::new(en, fr)
}

fn no_breach() -> Localized {
    l(
        "no personal-data breach",
        "pas de violation de données personnelles",
    )
}

fn finish(
    duty: Duty,
    req: Req,
    sendings: &[Sending],
    anticipated: Option<Localized>,
    now: Timestamp,
) -> Obligation {
    let sent = first_sent(sendings, duty);
    let anticipated = anticipated.filter(|_| req.required);
    let status = if !req.required {
        ObligationStatus::NotRequired
    } else if sent.is_some() {
        ObligationStatus::Sent
    } else if anticipated.is_some() {
        ObligationStatus::Anticipated
    } else if req.due_kind == DueKind::Recommendation {
        ObligationStatus::Recommended
    } else if req.due.as_ref().is_some_and(|d| now > d.timestamp()) {
        ObligationStatus::Late
    } else {
        ObligationStatus::Due
    };
    let sent_late_by = match (sent, &req.due) {
        (Some(s), Some(d)) if s.at.timestamp() > d.timestamp() => {
            Some(s.at.timestamp().duration_since(d.timestamp()))
        }
        _ => None,
    };
    Obligation {
        duty,
        required: req.required,
        reason: req.reason,
        start: req.start,
        due: req.due,
        due_kind: req.due_kind,
        status,
        sent_at: sent.map(|s| s.at.clone()),
        reference: sent.and_then(|s| s.reference.clone()),
        sent_late_by: if req.required { sent_late_by } else { None },
        anticipated,
        unconfirmed: None,
    }
}
