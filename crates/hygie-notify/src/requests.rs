//! Reminders of the ARS's evidence requests (issue 24), at the facility that received them
//! (hygie-sync `request`, the store's `sync_received_requests`): to the facility's CISO, some
//! days before the due day (7 and 1 by default: [`crate::renewal::RenewalWindows`], the same
//! day windows as the renewals) and once when it is overdue. Only the narrowest window the
//! request is in is reminded, as for the other reminders; a request answered (every measure
//! declared and evidenced) is not reminded.
//!
//! Identity: `request/FINESS/REGION/CAMPAIGN/SLOT` (`7d`, `1d`, `overdue`), claimed in the
//! store's `notify_scoped_reminders` (kind `request`). Pure: the caller gives the requests with
//! their state and today's Paris date.

use crate::renewal::RenewalWindows;
use crate::{Message, Recipient};
use hygie_core::Lang;
use hygie_sync::{AnswerState, Request};
use jiff::civil::Date;

/// Which reminder of a request: some days before its due day, or overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestSlot {
    Before(u32),
    Overdue,
}

impl RequestSlot {
    /// `7d`, `1d` or `overdue`: the last part of the key.
    pub fn label(self) -> String {
        match self {
            RequestSlot::Before(d) => format!("{d}d"),
            RequestSlot::Overdue => "overdue".into(),
        }
    }
}

/// One request reminder due.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestReminder {
    pub facility: String,
    pub region: String,
    pub request: Request,
    pub slot: RequestSlot,
    /// Days from today to the due day (negative when overdue).
    pub days_left: i64,
}

/// The request reminders due on `today` (Paris) for a facility's received requests, each with
/// its region and its state: the open ones whose due day is within a window, and the overdue
/// ones. Soonest due first.
pub fn due_request_reminders(
    facility: &str,
    requests: &[(String, Request, AnswerState)],
    today: Date,
    windows: &RenewalWindows,
) -> Vec<RequestReminder> {
    let mut out = Vec::new();
    for (region, r, state) in requests {
        let days_left = (r.due - today).get_days().into();
        let slot = match state {
            AnswerState::Overdue => RequestSlot::Overdue,
            AnswerState::Open => match windows.narrowest_days(days_left) {
                Some(d) => RequestSlot::Before(d),
                None => continue,
            },
            // Answered, or no longer expected: the agency withdrew the request or closed its
            // campaign.
            AnswerState::Answered
            | AnswerState::AnsweredLate
            | AnswerState::Withdrawn
            | AnswerState::Unanswered => continue,
        };
        out.push(RequestReminder {
            facility: facility.to_owned(),
            region: region.clone(),
            request: r.clone(),
            slot,
            days_left,
        });
    }
    out.sort_by_key(|r| (r.request.due, r.request.campaign));
    out
}

impl RequestReminder {
    /// `request/FINESS/REGION/CAMPAIGN/SLOT`.
    pub fn key(&self) -> String {
        format!(
            "request/{}/{}/{}/{}",
            self.facility,
            self.region,
            self.request.campaign,
            self.slot.label()
        )
    }

    /// The message in `lang`: the campaign, the measures asked, the due day, the agency's
    /// message and where to answer.
    pub fn message(&self, facility_name: &str, lang: Lang) -> Message {
        let r = &self.request;
        let measures = r
            .measures
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let (due, campaign, region, fac) = (r.due, r.campaign, &self.region, &self.facility);
        let days = self.days_left;
        let subject = match (self.slot, lang) {
            (RequestSlot::Overdue, Lang::Fr) => format!(
                "[Hygie] EN RETARD : demande {campaign} de l'ARS ({region}) attendue le {due} ({facility_name})"
            ),
            (RequestSlot::Overdue, Lang::En) => format!(
                "[Hygie] OVERDUE: ARS request {campaign} ({region}) was due on {due} ({facility_name})"
            ),
            (RequestSlot::Before(_), Lang::Fr) => format!(
                "[Hygie] Rappel : demande {campaign} de l'ARS ({region}) à rendre dans {days} jour(s), le {due} ({facility_name})"
            ),
            (RequestSlot::Before(_), Lang::En) => format!(
                "[Hygie] Reminder: ARS request {campaign} ({region}) due in {days} day(s), on {due} ({facility_name})"
            ),
        };
        let body = match lang {
            Lang::Fr => format!(
                "Demande {campaign} de l'ARS (région {region})\n\nÉtablissement : {facility_name} ({fac})\nMesures demandées : {measures}\nÉchéance : {due}\n\nMessage de l'ARS :\n{msg}\n\nPour y répondre, déclarez chaque mesure et joignez sa preuve (page /facilities/{fac}/requests), puis transmettez :\n  hygie sync push\n",
                msg = r.message.fr,
            ),
            Lang::En => format!(
                "ARS request {campaign} (region {region})\n\nFacility: {facility_name} ({fac})\nMeasures asked: {measures}\nDue: {due}\n\nThe agency's message:\n{msg}\n\nTo answer, declare each measure and attach its evidence (page /facilities/{fac}/requests), then report:\n  hygie sync push\n",
                msg = r.message.en,
            ),
        };
        Message { subject, body }
    }

    /// What a dry run prints: the reminder, its recipients and their subjects.
    pub fn to_json(&self, recipients: &[Recipient], facility_name: &str) -> serde_json::Value {
        serde_json::json!({
            "key": self.key(),
            "kind": "request",
            "facility": self.facility,
            "region": self.region,
            "campaign": self.request.campaign,
            "slot": self.slot.label(),
            "due": self.request.due.to_string(),
            "roles": ["ciso"],
            "recipients": recipients.iter().map(|r| serde_json::json!({
                "role": r.role.as_str(),
                "person": r.person,
                "email": r.email,
                "lang": r.lang.code(),
                "subject": self.message(facility_name, r.lang).subject,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hygie_core::{Localized, MeasureId};

    fn request(campaign: u64, due: Date) -> Request {
        Request {
            campaign,
            measures: vec![MeasureId::parse("GOV-05").unwrap()],
            due,
            message: Localized::new("Send your backup tests", "Envoyez vos tests de sauvegarde"),
            created_at: "2026-11-01T00:00:00Z".parse().unwrap(),
            closed_at: None,
            withdrawn_at: None,
            reminded_at: None,
        }
    }

    #[test]
    fn open_requests_are_reminded_in_their_narrowest_window_then_once_overdue() {
        let today = jiff::civil::date(2026, 12, 7);
        let w = RenewalWindows::parse("w", "7d,1d").unwrap();
        let list = vec![
            (
                "11".to_owned(),
                request(1, jiff::civil::date(2026, 12, 14)),
                AnswerState::Open,
            ),
            (
                "11".to_owned(),
                request(2, jiff::civil::date(2026, 12, 8)),
                AnswerState::Open,
            ),
            (
                "11".to_owned(),
                request(3, jiff::civil::date(2026, 12, 15)),
                AnswerState::Open,
            ),
            (
                "11".to_owned(),
                request(4, jiff::civil::date(2026, 12, 1)),
                AnswerState::Overdue,
            ),
            (
                "11".to_owned(),
                request(5, jiff::civil::date(2026, 12, 8)),
                AnswerState::Answered,
            ),
            // Withdrawn by the agency, or its campaign closed before an answer: no longer due.
            (
                "11".to_owned(),
                request(6, jiff::civil::date(2026, 12, 1)),
                AnswerState::Withdrawn,
            ),
            (
                "11".to_owned(),
                request(7, jiff::civil::date(2026, 12, 8)),
                AnswerState::Unanswered,
            ),
        ];
        let due = due_request_reminders("350000014", &list, today, &w);
        let got: Vec<(u64, String)> = due
            .iter()
            .map(|r| (r.request.campaign, r.slot.label()))
            .collect();
        assert_eq!(
            got,
            vec![(4, "overdue".into()), (2, "1d".into()), (1, "7d".into()),]
        );
        assert_eq!(due[1].key(), "request/350000014/11/2/1d");
        let fr = due[2].message("CH Test", Lang::Fr);
        assert!(
            fr.subject.contains("dans 7 jour(s), le 2026-12-14"),
            "{}",
            fr.subject
        );
        assert!(fr.body.contains("Envoyez vos tests"), "{}", fr.body);
        let en = due[0].message("CH Test", Lang::En);
        assert!(
            en.subject.starts_with("[Hygie] OVERDUE: ARS request 4"),
            "{}",
            en.subject
        );
        assert!(en.body.contains("Measures asked: GOV-05"), "{}", en.body);
    }
}
