//! Requests and campaigns: what the regional agency asks facilities for (evidence of given
//! measures by a date, with a message), how the requests travel down, and how the region reads
//! the answer from the facts that travel up.
//!
//! A **campaign** targets one facility, a kind of facility, a département or the whole region
//! ([`Target`]); at creation it is expanded into one request per facility targeted. Down, the
//! requests of one facility travel as a **requests file**, the same shape online (the answer of
//! `GET /api/v1/sync/requests` with the push token) and offline (`hygie region request export`):
//! `{format: "hygie-sync-requests", version, public_key, signature, requests}`, the signature
//! (Ed25519, by the region instance's own identity) over `"hygie-sync-requests/1\n"` and the
//! `requests` object's canonical JSON, as packages are signed. The facility keeps them only if the
//! key is the region key it trusts (recorded beforehand, fingerprint compared, as the region
//! enrols the facility's key the other way) and the file is addressed to it.
//!
//! Up, nothing new travels: the answer is the declaration and the evidence of the requested
//! measures, in the next package. [`answer_state`] decides from them, purely: answered (every
//! measure declared and evidenced on or after the request was made, by the end of the due day in
//! France's time), answered late (the same, after), overdue (due day over, not answered), open.

use crate::{Identity, PublicKey, Refusal, canonical_json};
use ed25519_dalek::Signature;
use hygie_core::{Facility, FacilityKind, Finess, Localized, MeasureId, Region};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The requests file's `format`.
pub const REQUESTS_FORMAT: &str = "hygie-sync-requests";
/// The version of the requests file this build writes and reads.
pub const REQUESTS_VERSION: u64 = 1;
/// The longest message a request carries (a paragraph or two, not a document).
pub const MAX_MESSAGE: usize = 4000;
/// Most measures one campaign asks for.
pub const MAX_MEASURES: usize = 50;

/// Which facilities a campaign asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Facility(Finess),
    Kind(FacilityKind),
    Departement(String),
    Region,
}

impl Target {
    /// `facility:FINESS`, `kind:KIND`, `departement:CODE` or `region`, as the CLI and the form
    /// give it; the département must belong to `region`.
    pub fn parse(text: &str, region: Region) -> Result<Target, Refusal> {
        let bad = |why: String| Refusal::Malformed(format!("target '{text}': {why}"));
        let (kind, value) = text.trim().split_once(':').unwrap_or((text.trim(), ""));
        match kind {
            "region" if value.is_empty() => Ok(Target::Region),
            "facility" => Finess::parse(value)
                .map(Target::Facility)
                .map_err(|e| bad(e.to_string())),
            "kind" => FacilityKind::ALL
                .into_iter()
                .find(|k| k.as_str() == value)
                .map(Target::Kind)
                .ok_or_else(|| {
                    bad(format!(
                        "unknown kind of facility (one of {}) / type d'établissement inconnu",
                        FacilityKind::ALL.map(FacilityKind::as_str).join(", ")
                    ))
                }),
            "departement" if region.contains_departement(value) => {
                Ok(Target::Departement(value.to_owned()))
            }
            "departement" => Err(bad(format!(
                "département '{value}' is not in region {} / le département n'est pas dans la région",
                region.code()
            ))),
            _ => Err(bad(
                "facility:FINESS, kind:KIND, departement:CODE or region is expected / facility:FINESS, kind:TYPE, departement:CODE ou region est attendu"
                    .into(),
            )),
        }
    }

    /// The text [`Target::parse`] reads back.
    pub fn code(&self) -> String {
        match self {
            Target::Facility(f) => format!("facility:{f}"),
            Target::Kind(k) => format!("kind:{}", k.as_str()),
            Target::Departement(d) => format!("departement:{d}"),
            Target::Region => "region".into(),
        }
    }

    /// Who is asked, for people.
    pub fn label(&self) -> Localized {
        match self {
            Target::Facility(f) => {
                Localized::new(format!("facility {f}"), format!("établissement {f}"))
            }
            Target::Kind(k) => k.label(),
            Target::Departement(d) => {
                Localized::new(format!("département {d}"), format!("département {d}"))
            }
            Target::Region => Localized::new(
                "every facility of the region",
                "tous les établissements de la région",
            ),
        }
    }

    /// Whether a facility of the campaign's region is asked.
    pub fn includes(&self, f: &Facility) -> bool {
        match self {
            Target::Facility(id) => f.id == *id,
            Target::Kind(k) => f.kind == *k,
            Target::Departement(d) => f.id.departement() == d,
            Target::Region => true,
        }
    }
}

/// A campaign as the region's officer types it, checked before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignInput {
    pub region: Region,
    pub target: Target,
    pub measures: Vec<MeasureId>,
    pub due: Date,
    pub message: Localized,
}

impl CampaignInput {
    /// Parse the fields; a message given in one language only is shown in both.
    pub fn parse(
        region: &str,
        target: &str,
        measures: &[String],
        due: &str,
        message_fr: &str,
        message_en: &str,
    ) -> Result<CampaignInput, Refusal> {
        let region = Region::parse(region).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let target = Target::parse(target, region)?;
        let mut list = Vec::new();
        for m in measures.iter().flat_map(|m| m.split(',')) {
            if m.trim().is_empty() {
                continue;
            }
            let id =
                MeasureId::parse(m).map_err(|e| Refusal::Malformed(format!("measure: {e}")))?;
            if !list.contains(&id) {
                list.push(id);
            }
        }
        if list.is_empty() || list.len() > MAX_MEASURES {
            return Err(Refusal::Malformed(format!(
                "measures: 1 to {MAX_MEASURES} are expected / mesures : de 1 à {MAX_MEASURES} sont attendues"
            )));
        }
        let due = due.trim().parse::<Date>().map_err(|e| {
            Refusal::Malformed(format!(
                "due: '{due}' is not a date YYYY-MM-DD ({e}) / échéance : date AAAA-MM-JJ attendue"
            ))
        })?;
        let (fr, en) = (message_fr.trim(), message_en.trim());
        let message = match (fr.is_empty(), en.is_empty()) {
            (true, true) => {
                return Err(Refusal::Malformed(
                    "message: a message is expected / message : un message est attendu".into(),
                ));
            }
            (false, true) => Localized::new(fr, fr),
            (true, false) => Localized::new(en, en),
            (false, false) => Localized::new(en, fr),
        };
        check_message(&message)?;
        Ok(CampaignInput {
            region,
            target,
            measures: list,
            due,
            message,
        })
    }
}

fn check_message(m: &Localized) -> Result<(), Refusal> {
    for text in [&m.en, &m.fr] {
        if text.chars().count() > MAX_MESSAGE {
            return Err(Refusal::Malformed(format!(
                "message: more than {MAX_MESSAGE} characters / message : plus de {MAX_MESSAGE} caractères"
            )));
        }
        if text
            .chars()
            .any(|c| hygie_core::is_disguising(c) && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(Refusal::Malformed(
                "message: control or bidirectional characters / message : caractères de contrôle ou bidirectionnels"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// One facility's requests, as the requests file carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBundle {
    /// The facility asked (its FINESS): a file for another one is refused.
    pub finess: String,
    /// The region code of the agency asking.
    pub region: String,
    /// When the file was made (RFC 3339, UTC).
    pub issued_at: String,
    /// Every request of the facility's campaigns, oldest first.
    pub requests: Vec<RequestRecord>,
}

/// One request, as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRecord {
    /// The campaign's number at the region (unique there).
    pub campaign: u64,
    pub measures: Vec<String>,
    /// YYYY-MM-DD: evidence is expected by the end of that day (France's time).
    pub due: String,
    pub message: Localized,
    /// When the campaign was made (RFC 3339): the answer is what is dated on or after it.
    pub created_at: String,
    /// When the agency closed the campaign (RFC 3339): no more answers are expected; what was
    /// answered by then stands. Absent while it is open (a file without it reads as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    /// When the agency withdrew the campaign (RFC 3339): the request is no longer due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<String>,
    /// The agency's last reminder to this facility (RFC 3339), if it was chased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<String>,
}

/// A request, every field parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub campaign: u64,
    pub measures: Vec<MeasureId>,
    pub due: Date,
    pub message: Localized,
    pub created_at: jiff::Timestamp,
    pub closed_at: Option<jiff::Timestamp>,
    pub withdrawn_at: Option<jiff::Timestamp>,
    pub reminded_at: Option<jiff::Timestamp>,
}

impl Request {
    /// Its state at `now` on `facts` (see [`request_state`]).
    pub fn state(
        &self,
        facts: &[MeasureFacts],
        now: jiff::Timestamp,
    ) -> (AnswerState, Option<jiff::Timestamp>) {
        request_state(
            self.created_at,
            self.due,
            self.closed_at,
            self.withdrawn_at,
            facts,
            now,
        )
    }
}

impl RequestRecord {
    pub fn of(r: &Request) -> RequestRecord {
        let text = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
        RequestRecord {
            campaign: r.campaign,
            measures: r.measures.iter().map(ToString::to_string).collect(),
            due: r.due.to_string(),
            message: r.message.clone(),
            created_at: r.created_at.to_string(),
            closed_at: text(r.closed_at),
            withdrawn_at: text(r.withdrawn_at),
            reminded_at: text(r.reminded_at),
        }
    }

    fn check(&self, i: usize) -> Result<Request, Refusal> {
        let field = |f: &str| format!("requests[{i}].{f}");
        let bad = |f: &str, why: String| Refusal::Malformed(format!("{}: {why}", field(f)));
        let measures = self
            .measures
            .iter()
            .map(|m| MeasureId::parse(m).map_err(|e| bad("measures", e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        if measures.is_empty() || measures.len() > MAX_MEASURES {
            return Err(bad("measures", format!("1 to {MAX_MEASURES} expected")));
        }
        check_message(&self.message)?;
        let instant = |f: &str, v: &Option<String>| {
            v.as_deref()
                .map(|t| t.parse().map_err(|e| bad(f, format!("'{t}': {e}"))))
                .transpose()
        };
        let closed_at = instant("closed_at", &self.closed_at)?;
        let withdrawn_at = instant("withdrawn_at", &self.withdrawn_at)?;
        let reminded_at = instant("reminded_at", &self.reminded_at)?;
        Ok(Request {
            campaign: self.campaign,
            measures,
            due: self
                .due
                .parse()
                .map_err(|e| bad("due", format!("'{}': {e}", self.due)))?,
            message: self.message.clone(),
            created_at: self
                .created_at
                .parse()
                .map_err(|e| bad("created_at", format!("'{}': {e}", self.created_at)))?,
            closed_at,
            withdrawn_at,
            reminded_at,
        })
    }
}

/// What is signed: a domain-separating prefix naming the format and version, then the
/// `requests` object's canonical JSON (a package's signature cannot pass for a request's).
fn message(requests: &Value) -> Result<Vec<u8>, Refusal> {
    let mut out = format!("{REQUESTS_FORMAT}/{REQUESTS_VERSION}\n").into_bytes();
    out.extend(canonical_json(requests)?);
    Ok(out)
}

/// The requests file of one facility, signed by the region instance's identity (JSON text).
pub fn seal_requests(bundle: &RequestBundle, identity: &Identity) -> Result<Vec<u8>, Refusal> {
    let value = serde_json::to_value(bundle).map_err(|e| Refusal::Malformed(e.to_string()))?;
    let signature = identity.sign(&message(&value)?);
    let envelope = serde_json::json!({
        "format": REQUESTS_FORMAT,
        "version": REQUESTS_VERSION,
        "public_key": identity.public_key().hex(),
        "signature": hex::encode(signature.to_bytes()),
        "requests": value,
    });
    serde_json::to_vec_pretty(&envelope).map_err(|e| Refusal::Malformed(e.to_string()))
}

/// A requests file whose signature verified against a trusted region key and that is addressed
/// to this facility.
#[derive(Debug, Clone)]
pub struct OpenedRequests {
    pub public_key: PublicKey,
    pub region: String,
    pub issued_at: jiff::Timestamp,
    pub requests: Vec<Request>,
}

/// The largest requests file read (hundreds of requests fit in far less).
pub const MAX_REQUESTS_FILE: usize = 4 * 1024 * 1024;

/// Read a requests file: its format and version, the key (one of `trusted`, the region keys
/// this facility recorded), the signature, the addressee (`facility`), then every field.
pub fn open_requests(
    bytes: &[u8],
    trusted: &[PublicKey],
    facility: &Finess,
) -> Result<OpenedRequests, Refusal> {
    if bytes.len() > MAX_REQUESTS_FILE {
        return Err(Refusal::Unreadable(format!("{} bytes", bytes.len())));
    }
    let envelope: Value =
        serde_json::from_slice(bytes).map_err(|e| Refusal::Malformed(format!("not JSON: {e}")))?;
    let get = |name: &str| {
        envelope
            .get(name)
            .ok_or_else(|| Refusal::Malformed(format!("the envelope has no '{name}'")))
    };
    let format = get("format")?;
    if format.as_str() != Some(REQUESTS_FORMAT) {
        return Err(Refusal::UnknownFormat(format.to_string()));
    }
    match get("version")?.as_u64() {
        Some(REQUESTS_VERSION) => {}
        Some(v) => return Err(Refusal::UnknownVersion(v)),
        None => return Err(Refusal::Malformed("version is not a number".into())),
    }
    let public_key = PublicKey::parse(get("public_key")?.as_str().unwrap_or(""))?;
    if !trusted.contains(&public_key) {
        return Err(Refusal::UntrustedRegion {
            fingerprint: public_key.fingerprint(),
        });
    }
    let signature = get("signature")?
        .as_str()
        .and_then(|s| hex::decode(s).ok())
        .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| Refusal::Malformed("signature: 128 hexadecimal digits expected".into()))?;
    let requests = get("requests")?;
    public_key
        .0
        .verify_strict(&message(requests)?, &Signature::from_bytes(&signature))
        .map_err(|_| Refusal::BadSignature)?;
    let bundle: RequestBundle =
        serde_json::from_value(requests.clone()).map_err(|e| Refusal::Malformed(e.to_string()))?;
    if bundle.finess != facility.as_str() {
        return Err(Refusal::NotAddressed {
            to: bundle.finess,
            here: facility.to_string(),
        });
    }
    let requests = bundle
        .requests
        .iter()
        .enumerate()
        .map(|(i, r)| r.check(i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OpenedRequests {
        public_key,
        region: bundle.region,
        issued_at: bundle
            .issued_at
            .parse()
            .map_err(|e| Refusal::Malformed(format!("issued_at: {e}")))?,
        requests,
    })
}

/// Where a request stands at the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerState {
    /// Not answered yet, and the due day is not over.
    Open,
    /// Every measure declared and evidenced by the end of the due day.
    Answered,
    /// Answered, after the due day.
    AnsweredLate,
    /// The due day is over and it is not answered.
    Overdue,
    /// The campaign was closed before it was answered: no answer is expected any more.
    Unanswered,
    /// The campaign was withdrawn: the request is no longer due.
    Withdrawn,
}

impl AnswerState {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerState::Open => "open",
            AnswerState::Answered => "answered",
            AnswerState::AnsweredLate => "answered_late",
            AnswerState::Overdue => "overdue",
            AnswerState::Unanswered => "unanswered",
            AnswerState::Withdrawn => "withdrawn",
        }
    }

    pub fn label(self) -> Localized {
        let (en, fr) = match self {
            AnswerState::Open => ("open", "en cours"),
            AnswerState::Answered => ("answered", "répondu"),
            AnswerState::AnsweredLate => ("answered late", "répondu en retard"),
            AnswerState::Overdue => ("overdue", "en retard"),
            AnswerState::Unanswered => ("closed without an answer", "close sans réponse"),
            AnswerState::Withdrawn => ("withdrawn, no longer due", "retirée, plus attendue"),
        };
        Localized::new(en, fr)
    }
}

/// What the region holds about one requested measure of one facility: when it was declared and
/// when evidence was added (any order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeasureFacts {
    pub declared: Vec<jiff::Timestamp>,
    pub evidenced: Vec<jiff::Timestamp>,
}

/// A request's state at `now`, and when it was answered. A measure is answered at the later of
/// its first declaration and its first evidence made on or after `created_at`; the request, at
/// the last of its measures'. On time means by the end of `due` in France's time.
pub fn answer_state(
    created_at: jiff::Timestamp,
    due: Date,
    measures: &[MeasureFacts],
    now: jiff::Timestamp,
) -> (AnswerState, Option<jiff::Timestamp>) {
    let first_since =
        |list: &[jiff::Timestamp]| list.iter().filter(|t| **t >= created_at).min().copied();
    let answered = measures
        .iter()
        .map(|m| Some(first_since(&m.declared)?.max(first_since(&m.evidenced)?)))
        .collect::<Option<Vec<_>>>()
        .and_then(|at| at.into_iter().max());
    let deadline = hygie_core::plan::end_of_day(due);
    match answered {
        Some(at) if at < deadline => (AnswerState::Answered, Some(at)),
        Some(at) => (AnswerState::AnsweredLate, Some(at)),
        None if now >= deadline => (AnswerState::Overdue, None),
        None => (AnswerState::Open, None),
    }
}

/// A request's state at `now` in its campaign's life: withdrawn (no longer due, whatever was
/// answered), or as [`answer_state`] decides, on the facts made by its closure and seen at its
/// closure if the campaign was closed (one not answered by then is `Unanswered`: the region
/// expects nothing more), else at `now`.
pub fn request_state(
    created_at: jiff::Timestamp,
    due: Date,
    closed_at: Option<jiff::Timestamp>,
    withdrawn_at: Option<jiff::Timestamp>,
    measures: &[MeasureFacts],
    now: jiff::Timestamp,
) -> (AnswerState, Option<jiff::Timestamp>) {
    if withdrawn_at.is_some() {
        return (AnswerState::Withdrawn, None);
    }
    let Some(closed) = closed_at else {
        return answer_state(created_at, due, measures, now);
    };
    let by = |list: &[jiff::Timestamp]| list.iter().filter(|t| **t <= closed).copied().collect();
    let before: Vec<MeasureFacts> = measures
        .iter()
        .map(|m| MeasureFacts {
            declared: by(&m.declared),
            evidenced: by(&m.evidenced),
        })
        .collect();
    match answer_state(created_at, due, &before, closed.min(now)) {
        (AnswerState::Open | AnswerState::Overdue, _) => (AnswerState::Unanswered, None),
        s => s,
    }
}

/// Whether a request in `state` may be chased: its campaign is open and it is not answered.
pub fn awaits_answer(state: AnswerState) -> bool {
    matches!(state, AnswerState::Open | AnswerState::Overdue)
}

/// How a campaign ends: closed (no more answers expected) or withdrawn (cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignEnd {
    Close,
    Withdraw,
}

impl CampaignEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignEnd::Close => "close",
            CampaignEnd::Withdraw => "withdraw",
        }
    }

    /// What the campaign becomes, for people.
    pub fn label(self) -> Localized {
        match self {
            CampaignEnd::Close => Localized::new("closed", "close"),
            CampaignEnd::Withdraw => Localized::new("withdrawn", "retirée"),
        }
    }
}

/// Days from `today` to the due day: negative once it is past (the facility's "days left").
pub fn days_left(due: Date, today: Date) -> i64 {
    (due - today).get_days().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn facts(declared: &[&str], evidenced: &[&str]) -> MeasureFacts {
        MeasureFacts {
            declared: declared.iter().map(|s| ts(s)).collect(),
            evidenced: evidenced.iter().map(|s| ts(s)).collect(),
        }
    }

    #[test]
    fn each_state_and_the_due_day_boundary_in_france() {
        let created = ts("2027-03-01T09:00:00Z");
        let due = date(2027, 3, 31);
        // The 31st ends at 22:00 UTC (CEST from the 28th).
        let before_end = "2027-03-31T21:59:59Z";
        let after_end = "2027-03-31T22:00:00Z";
        let now_in = ts("2027-03-15T12:00:00Z");
        let now_after = ts("2027-04-01T08:00:00Z");
        let s = |m: &[MeasureFacts], now| answer_state(created, due, m, now).0;
        assert_eq!(s(&[facts(&[], &[])], now_in), AnswerState::Open);
        assert_eq!(s(&[facts(&[], &[])], ts(before_end)), AnswerState::Open);
        assert_eq!(s(&[facts(&[], &[])], ts(after_end)), AnswerState::Overdue);
        assert_eq!(
            s(
                &[facts(&[before_end], &["2027-03-02T00:00:00Z"])],
                now_after
            ),
            AnswerState::Answered
        );
        assert_eq!(
            s(&[facts(&["2027-03-02T00:00:00Z"], &[after_end])], now_after),
            AnswerState::AnsweredLate
        );
        // A declaration without evidence, or facts older than the request, do not answer it.
        assert_eq!(
            s(&[facts(&["2027-03-02T00:00:00Z"], &[])], now_after),
            AnswerState::Overdue
        );
        assert_eq!(
            s(
                &[facts(&["2027-02-28T23:00:00Z"], &["2027-03-02T00:00:00Z"])],
                now_in
            ),
            AnswerState::Open
        );
        // Exactly at the request's instant counts; every measure must be answered.
        let (state, at) = answer_state(
            created,
            due,
            &[
                facts(&["2027-03-01T09:00:00Z"], &["2027-03-01T09:00:00Z"]),
                facts(&["2027-03-05T10:00:00Z"], &["2027-03-04T10:00:00Z"]),
            ],
            now_in,
        );
        assert_eq!(
            (state, at),
            (AnswerState::Answered, Some(ts("2027-03-05T10:00:00Z")))
        );
        assert_eq!(
            s(
                &[
                    facts(&["2027-03-01T09:00:00Z"], &["2027-03-01T09:00:00Z"]),
                    facts(&[], &[])
                ],
                now_after
            ),
            AnswerState::Overdue
        );
        assert_eq!(days_left(due, date(2027, 3, 29)), 2);
        assert_eq!(days_left(due, date(2027, 4, 2)), -2);
    }

    fn bundle() -> RequestBundle {
        RequestBundle {
            finess: "750712184".into(),
            region: "IDF".into(),
            issued_at: "2027-03-01T09:00:00Z".into(),
            requests: vec![RequestRecord {
                campaign: 7,
                measures: vec!["BCK-06".into()],
                due: "2027-03-31".into(),
                message: Localized::new("A restore test", "Un test de restauration"),
                created_at: "2027-03-01T09:00:00Z".into(),
                closed_at: None,
                withdrawn_at: None,
                reminded_at: None,
            }],
        }
    }

    #[test]
    fn a_requests_file_opens_only_with_the_trusted_key_for_its_facility() {
        let region = Identity::from_seed(&[3; 32]);
        let other = Identity::from_seed(&[4; 32]);
        let here = Finess::parse("750712184").unwrap();
        let bytes = seal_requests(&bundle(), &region).unwrap();
        let opened = open_requests(&bytes, &[region.public_key()], &here).unwrap();
        assert_eq!(opened.requests.len(), 1);
        assert_eq!(opened.requests[0].due, date(2027, 3, 31));
        let code = |r: Result<OpenedRequests, Refusal>| r.map(|_| ()).map_err(|e| e.code());
        assert_eq!(
            code(open_requests(&bytes, &[other.public_key()], &here)),
            Err("untrusted_region")
        );
        assert_eq!(
            code(open_requests(&bytes, &[], &here)),
            Err("untrusted_region")
        );
        let elsewhere = Finess::parse("350000014").unwrap();
        assert_eq!(
            code(open_requests(&bytes, &[region.public_key()], &elsewhere)),
            Err("not_addressed")
        );
        let mut v: Value = serde_json::from_slice(&bytes).unwrap();
        v["requests"]["requests"][0]["due"] = "2027-12-31".into();
        let changed = serde_json::to_vec(&v).unwrap();
        assert_eq!(
            code(open_requests(&changed, &[region.public_key()], &here)),
            Err("bad_signature")
        );
        // Signed by another key that names itself: refused before the signature is even read.
        let forged = seal_requests(&bundle(), &other).unwrap();
        assert_eq!(
            code(open_requests(&forged, &[region.public_key()], &here)),
            Err("untrusted_region")
        );
        assert_eq!(
            code(open_requests(b"{", &[region.public_key()], &here)),
            Err("malformed")
        );
    }

    #[test]
    fn a_closed_or_withdrawn_campaign_and_the_files_fields_for_them() {
        let created = ts("2027-03-01T09:00:00Z");
        let due = date(2027, 3, 31);
        let closed = Some(ts("2027-03-20T12:00:00Z"));
        let now = ts("2027-04-10T08:00:00Z");
        let answered = facts(&["2027-03-05T10:00:00Z"], &["2027-03-06T10:00:00Z"]);
        let after = facts(&["2027-03-25T10:00:00Z"], &["2027-03-25T10:00:00Z"]);
        let st = |c, w, m: &MeasureFacts| {
            request_state(created, due, c, w, std::slice::from_ref(m), now)
        };
        assert_eq!(st(None, None, &after).0, AnswerState::Answered);
        // Answered before the closure stands; facts after it do not answer; nothing is overdue.
        assert_eq!(st(closed, None, &answered).0, AnswerState::Answered);
        assert_eq!(st(closed, None, &after), (AnswerState::Unanswered, None));
        assert_eq!(
            st(closed, None, &MeasureFacts::default()).0,
            AnswerState::Unanswered
        );
        assert_eq!(st(None, closed, &answered), (AnswerState::Withdrawn, None));
        assert!(awaits_answer(AnswerState::Overdue) && !awaits_answer(AnswerState::Unanswered));
        // An open request travels as before (no new field), a withdrawn one names its instant,
        // and both read back; a bad instant is refused naming its field.
        let region = Identity::from_seed(&[3; 32]);
        let here = Finess::parse("750712184").unwrap();
        let plain = String::from_utf8(seal_requests(&bundle(), &region).unwrap()).unwrap();
        assert!(!plain.contains("withdrawn_at") && !plain.contains("reminded_at"));
        let mut b = bundle();
        b.requests[0].withdrawn_at = Some("2027-03-10T08:00:00Z".into());
        b.requests[0].reminded_at = Some("2027-03-08T08:00:00Z".into());
        let bytes = seal_requests(&b, &region).unwrap();
        let opened = open_requests(&bytes, &[region.public_key()], &here).unwrap();
        assert_eq!(
            opened.requests[0].withdrawn_at,
            Some(ts("2027-03-10T08:00:00Z"))
        );
        assert_eq!(
            opened.requests[0].reminded_at,
            Some(ts("2027-03-08T08:00:00Z"))
        );
        b.requests[0].closed_at = Some("yesterday".into());
        let bytes = seal_requests(&b, &region).unwrap();
        let e = open_requests(&bytes, &[region.public_key()], &here).unwrap_err();
        assert!(e.to_string().contains("requests[0].closed_at"), "{e}");
    }

    #[test]
    fn a_campaign_parses_its_target_measures_due_day_and_message() {
        let c = CampaignInput::parse(
            "IDF",
            "departement:75",
            &["BCK-06,BCK-01".into(), "BCK-06".into()],
            "2027-03-31",
            "Test de restauration",
            "",
        )
        .unwrap();
        assert_eq!(c.measures.len(), 2);
        assert_eq!(c.message.en, "Test de restauration");
        assert_eq!(c.target.code(), "departement:75");
        let p = |t: &str| Target::parse(t, Region::parse("IDF").unwrap()).map_err(|e| e.code());
        assert_eq!(p("region"), Ok(Target::Region));
        assert_eq!(p("kind:clinic"), Ok(Target::Kind(FacilityKind::Clinic)));
        assert_eq!(p("departement:35"), Err("malformed"));
        assert_eq!(p("kind:castle"), Err("malformed"));
        assert_eq!(p("facility:123"), Err("malformed"));
        assert!(p("facility:750712184").is_ok());
        let bad = |due: &str, m: &str, msg: &str| {
            CampaignInput::parse("IDF", "region", &[m.into()], due, msg, "").is_err()
        };
        assert!(bad("31/03/2027", "BCK-06", "x"));
        assert!(bad("2027-03-31", "nope", "x"));
        assert!(bad("2027-03-31", "BCK-06", " "));
        assert!(bad("2027-03-31", "BCK-06", "\u{202e}evil"));
    }
}
