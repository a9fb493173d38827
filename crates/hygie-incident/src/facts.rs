//! The facts of an incident, as known at a given time. Obligations are derived from them.
//!
//! Facility, title, categories, detection source with alert and finding ids, occurrence,
//! detection and **awareness** instants (with their zone, see `clock`), the D.1111-16-2 impact
//! criteria, the personal-data breach risk (`none` = no personal data, `unlikely`, `risk`,
//! `high`), the NIS 2 status (defaulted from the facility record) and "significant" flag,
//! affected systems, actions, measures and internal targets. `FactsInput` is the JSON and flag
//! shape of both `open` and `update` (a patch), validated into `Facts`.

use crate::clock::{self, DEFAULT_TZ};
use crate::{IncidentError, Result};
use hygie_core::{Finess, Localized, Nis2Status};
use jiff::{SignedDuration, Timestamp, Zoned};
use serde::{Deserialize, Serialize};

/// What kind of incident it is (several may apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Ransomware,
    Phishing,
    Intrusion,
    DataBreach,
    Unavailability,
    Malware,
    DenialOfService,
    AccountCompromise,
    Fraud,
    Loss,
    Other,
    /// Extortion or blackmail (threat to publish stolen data, ransom demand without encryption).
    Extortion,
}

impl Category {
    pub const ALL: [Category; 12] = [
        Category::Ransomware,
        Category::Phishing,
        Category::Intrusion,
        Category::DataBreach,
        Category::Unavailability,
        Category::Malware,
        Category::DenialOfService,
        Category::AccountCompromise,
        Category::Fraud,
        Category::Loss,
        Category::Other,
        Category::Extortion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Ransomware => "ransomware",
            Category::Phishing => "phishing",
            Category::Intrusion => "intrusion",
            Category::DataBreach => "data_breach",
            Category::Unavailability => "unavailability",
            Category::Malware => "malware",
            Category::DenialOfService => "denial_of_service",
            Category::AccountCompromise => "account_compromise",
            Category::Fraud => "fraud",
            Category::Loss => "loss",
            Category::Other => "other",
            Category::Extortion => "extortion",
        }
    }

    pub fn label(self) -> Localized {
        let (en, fr) = match self {
            Category::Ransomware => ("Ransomware", "Rançongiciel"),
            Category::Phishing => ("Phishing", "Hameçonnage"),
            Category::Intrusion => ("Intrusion", "Intrusion"),
            Category::DataBreach => ("Data breach", "Violation de données"),
            Category::Unavailability => ("Unavailability", "Indisponibilité"),
            Category::Malware => ("Malware", "Logiciel malveillant"),
            Category::DenialOfService => ("Denial of service", "Déni de service"),
            Category::AccountCompromise => ("Account compromise", "Compromission de compte"),
            Category::Fraud => ("Fraud", "Fraude"),
            Category::Loss => ("Loss or theft of equipment", "Perte ou vol de matériel"),
            Category::Other => ("Other", "Autre"),
            Category::Extortion => ("Extortion", "Extorsion ou chantage"),
        };
        Localized::new(en, fr)
    }
}

impl std::str::FromStr for Category {
    type Err = IncidentError;
    fn from_str(s: &str) -> Result<Self> {
        let n = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == n)
            .ok_or_else(|| {
                IncidentError::invalid(
                    "categories",
                    format!(
                        "'{s}' is not a category ({})",
                        Category::ALL.map(|c| c.as_str()).join(", ")
                    ),
                )
            })
    }
}

/// How the incident came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DetectionSource {
    #[default]
    Manual,
    Alert,
    Finding,
    External,
}

impl DetectionSource {
    /// How the incident came to be known, for people.
    pub fn label(self) -> Localized {
        let (en, fr) = match self {
            DetectionSource::Manual => ("reported by a person", "signalé par une personne"),
            DetectionSource::Alert => ("detection alerts", "alertes de détection"),
            DetectionSource::Finding => ("audit findings", "constats d'audit"),
            DetectionSource::External => ("an outside party", "un tiers extérieur"),
        };
        Localized::new(en, fr)
    }
}

impl std::str::FromStr for DetectionSource {
    type Err = IncidentError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "manual" => Ok(Self::Manual),
            "alert" => Ok(Self::Alert),
            "finding" => Ok(Self::Finding),
            "external" => Ok(Self::External),
            _ => Err(IncidentError::invalid(
                "detection_source",
                format!("'{s}' is not a detection source (manual, alert, finding, external)"),
            )),
        }
    }
}

/// The detection source with the ids of the alerts and audit findings it links to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Detection {
    pub source: DetectionSource,
    pub alert_ids: Vec<String>,
    pub finding_ids: Vec<String>,
}

/// The impact criteria of CSP D.1111-16-2 (II) that make an incident significant or serious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ImpactCriteria {
    pub patient_safety: bool,
    pub health_data: bool,
    pub normal_functioning: bool,
    pub territorial: bool,
    pub other_establishments: bool,
}

impl ImpactCriteria {
    pub const NAMES: [&'static str; 5] = [
        "patient_safety",
        "health_data",
        "normal_functioning",
        "territorial",
        "other_establishments",
    ];

    pub fn any(&self) -> bool {
        self.met().next().is_some()
    }

    pub fn get(&self, name: &str) -> bool {
        match name {
            "patient_safety" => self.patient_safety,
            "health_data" => self.health_data,
            "normal_functioning" => self.normal_functioning,
            "territorial" => self.territorial,
            "other_establishments" => self.other_establishments,
            _ => false,
        }
    }

    pub fn set(&mut self, name: &str, v: bool) -> Result<()> {
        let n = name.trim().to_ascii_lowercase().replace('-', "_");
        match n.as_str() {
            "patient_safety" => self.patient_safety = v,
            "health_data" => self.health_data = v,
            "normal_functioning" => self.normal_functioning = v,
            "territorial" => self.territorial = v,
            "other_establishments" => self.other_establishments = v,
            _ => {
                return Err(IncidentError::invalid(
                    "impact",
                    format!(
                        "'{name}' is not a D.1111-16-2 criterion ({})",
                        Self::NAMES.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The names of the criteria met.
    pub fn met(&self) -> impl Iterator<Item = &'static str> + '_ {
        Self::NAMES.into_iter().filter(|n| self.get(n))
    }

    pub fn label(name: &str) -> Localized {
        let (en, fr) = match name {
            "patient_safety" => (
                "Potential or actual consequences on patient safety",
                "Conséquences potentielles ou avérées sur la sécurité des soins",
            ),
            "health_data" => (
                "Consequences on the confidentiality or integrity of health data",
                "Conséquences sur la confidentialité ou l'intégrité des données de santé",
            ),
            "normal_functioning" => (
                "Harm to the normal functioning of the establishment",
                "Atteinte au fonctionnement normal de l'établissement",
            ),
            "territorial" => (
                "Impact on the departmental, regional or national organisation of care",
                "Impact sur l'organisation départementale, régionale ou nationale du système de santé",
            ),
            _ => (
                "May affect other establishments",
                "Susceptible d'affecter d'autres établissements",
            ),
        };
        Localized::new(en, fr)
    }
}

/// Personal-data breach and its risk to people (GDPR 33 and 34).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BreachRisk {
    /// No personal data involved.
    #[default]
    None,
    /// A breach unlikely to result in a risk to people (GDPR 33(1) exception): register only.
    Unlikely,
    /// A breach with a risk: CNIL within 72 h.
    Risk,
    /// A breach with a high risk: CNIL and the data subjects.
    High,
}

impl BreachRisk {
    pub fn as_str(self) -> &'static str {
        match self {
            BreachRisk::None => "none",
            BreachRisk::Unlikely => "unlikely",
            BreachRisk::Risk => "risk",
            BreachRisk::High => "high",
        }
    }

    pub fn is_breach(self) -> bool {
        self != BreachRisk::None
    }

    /// The breach's risk, for people.
    pub fn label(self) -> Localized {
        let (en, fr) = match self {
            BreachRisk::None => ("no personal data", "pas de données personnelles"),
            BreachRisk::Unlikely => ("risk unlikely", "risque improbable"),
            BreachRisk::Risk => ("risk", "risque"),
            BreachRisk::High => ("high risk", "risque élevé"),
        };
        Localized::new(en, fr)
    }
}

impl std::str::FromStr for BreachRisk {
    type Err = IncidentError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "none" | "no" | "false" => Ok(Self::None),
            "unlikely" | "unlikely_risk" => Ok(Self::Unlikely),
            "risk" | "yes" => Ok(Self::Risk),
            "high" | "high_risk" => Ok(Self::High),
            _ => Err(IncidentError::invalid(
                "personal_data_breach",
                format!(
                    "'{s}' is not a breach risk level (none = no personal data, unlikely, risk, high)"
                ),
            )),
        }
    }
}

/// What the CNIL notification asks about the people and records concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PersonalData {
    pub people_categories: Vec<String>,
    pub people_count: Option<u64>,
    pub record_categories: Vec<String>,
    pub record_count: Option<u64>,
}

/// An action taken, with when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub at: Zoned,
    pub text: String,
}

/// A request by the CSIRT or authority for a NIS 2 intermediate report (art. 23(4)(c)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntermediateRequest {
    pub requested_at: Zoned,
    pub due: Option<Zoned>,
}

/// Internal targets for duties the law words "without delay" (no figure in the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// CERT Santé "sans délai": the internal target that drives reminders (24 h by default).
    pub cert_sante: SignedDuration,
    /// DPO and CISO informed "at once" (1 h by default).
    pub internal: SignedDuration,
    /// Data subjects "without undue delay" when the risk is high (72 h by default).
    pub data_subjects: SignedDuration,
    /// The breach documented in the register (72 h by default).
    pub register: SignedDuration,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            cert_sante: SignedDuration::from_hours(24),
            internal: SignedDuration::from_hours(1),
            data_subjects: SignedDuration::from_hours(72),
            register: SignedDuration::from_hours(72),
        }
    }
}

/// The facts of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// FINESS of the facility.
    pub facility: String,
    pub facility_name: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub categories: Vec<Category>,
    pub detection: Detection,
    /// The IANA zone times are shown in.
    pub timezone: String,
    pub occurrence: Option<Zoned>,
    pub detected: Option<Zoned>,
    /// When the facility became aware: the start of the CNIL and NIS 2 clocks.
    pub awareness: Zoned,
    /// Qualified as significant or serious (D.1111-16-2).
    pub serious: bool,
    pub impact: ImpactCriteria,
    pub personal_data_breach: BreachRisk,
    pub personal_data: PersonalData,
    /// A GDPR 34(3) exemption from informing the data subjects, with its ground.
    pub gdpr34_exemption: Option<String>,
    pub nis2_status: Nis2Status,
    pub nis2_significant: bool,
    pub suspected_malicious: Option<bool>,
    pub cross_border: Option<bool>,
    pub affected_systems: Vec<String>,
    pub actions: Vec<Action>,
    pub measures_proposed: Vec<String>,
    pub consequences: Option<String>,
    pub root_cause: Option<String>,
    pub iocs: Vec<String>,
    pub dpo_contact: Option<String>,
    pub ciso_contact: Option<String>,
    pub targets: Targets,
    pub intermediate_request: Option<IntermediateRequest>,
    /// When handling ended (the incident was resolved).
    pub resolved_at: Option<Zoned>,
    /// The facility's cyber-insurance policy (insurer and number), when it declares one: makes
    /// the complaint a legal condition of payment (L.12-10-1). Absent in records written before
    /// it existed, and skipped when empty so their digests stay the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cyber_insurance: Option<String>,
    /// The complaint as filed (date, service, reference): stops the complaint clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint: Option<ComplaintFiled>,
    /// The facility's kind, from its record at opening: duties follow the catalogue's
    /// `applies_to` (INC-02 leaves imaging centres out of the CERT Santé duties).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility_kind: Option<hygie_core::FacilityKind>,
}

/// A criminal complaint as filed: when, with which service, under which reference number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintFiled {
    pub at: Zoned,
    pub service: String,
    pub reference: Option<String>,
}

impl Facts {
    /// The facts' own consistency: times in order, none in the future.
    pub fn validate(&self, now: Timestamp) -> Result<()> {
        Finess::parse(&self.facility).map_err(|e| IncidentError::invalid("facility", e.message))?;
        if self.title.trim().is_empty() {
            return Err(IncidentError::invalid("title", "must not be empty"));
        }
        let skew = now + SignedDuration::from_mins(5);
        let show = |z: &Zoned| clock::rfc3339(z);
        if self.awareness.timestamp() > skew {
            return Err(IncidentError::Chronology(format!(
                "awareness {} is in the future",
                show(&self.awareness)
            )));
        }
        if let Some(o) = &self.occurrence {
            if o.timestamp() > self.awareness.timestamp() {
                return Err(IncidentError::Chronology(format!(
                    "awareness {} is before occurrence {}: one cannot become aware of an incident before it happens",
                    show(&self.awareness),
                    show(o)
                )));
            }
            if let Some(d) = &self.detected
                && o.timestamp() > d.timestamp()
            {
                return Err(IncidentError::Chronology(format!(
                    "detection {} is before occurrence {}",
                    show(d),
                    show(o)
                )));
            }
        }
        if let Some(d) = &self.detected
            && d.timestamp() > self.awareness.timestamp()
        {
            return Err(IncidentError::Chronology(format!(
                "awareness {} is before detection {}: awareness comes with or after detection",
                show(&self.awareness),
                show(d)
            )));
        }
        if let Some(r) = &self.resolved_at {
            if r.timestamp() < self.awareness.timestamp() {
                return Err(IncidentError::Chronology(format!(
                    "resolution {} is before awareness {}",
                    show(r),
                    show(&self.awareness)
                )));
            }
            if r.timestamp() > skew {
                return Err(IncidentError::Chronology(format!(
                    "resolution {} is in the future",
                    show(r)
                )));
            }
        }
        for a in &self.actions {
            if a.at.timestamp() > skew {
                return Err(IncidentError::Chronology(format!(
                    "action '{}' at {} is in the future",
                    a.text,
                    show(&a.at)
                )));
            }
        }
        if let Some(ir) = &self.intermediate_request {
            if ir.requested_at.timestamp() < self.awareness.timestamp() {
                return Err(IncidentError::Chronology(format!(
                    "intermediate report requested at {}, before awareness {}",
                    show(&ir.requested_at),
                    show(&self.awareness)
                )));
            }
            if let Some(d) = &ir.due
                && d.timestamp() < ir.requested_at.timestamp()
            {
                return Err(IncidentError::Chronology(format!(
                    "intermediate report due {} before it was requested ({})",
                    show(d),
                    show(&ir.requested_at)
                )));
            }
        }
        if let Some(c) = &self.complaint {
            if c.at.timestamp() < self.awareness.timestamp() {
                return Err(IncidentError::Chronology(format!(
                    "complaint filed at {}, before awareness {}",
                    show(&c.at),
                    show(&self.awareness)
                )));
            }
            if c.at.timestamp() > skew {
                return Err(IncidentError::Chronology(format!(
                    "complaint filed at {}, which is in the future",
                    show(&c.at)
                )));
            }
        }
        for (name, d) in [
            ("cert_sante_target", self.targets.cert_sante),
            ("internal_target", self.targets.internal),
            ("data_subjects_target", self.targets.data_subjects),
            ("register_target", self.targets.register),
        ] {
            if d.is_negative() || d > SignedDuration::from_hours(24 * 365) {
                return Err(IncidentError::invalid(
                    name,
                    "must be between 0 and one year",
                ));
            }
        }
        Ok(())
    }

    pub fn tz(&self) -> Result<jiff::tz::TimeZone> {
        clock::zone("timezone", &self.timezone)
    }

    /// Whether the CERT Santé duty applies, and why (D.1111-16-2).
    pub fn is_significant_or_serious(&self) -> bool {
        self.serious || self.impact.any()
    }

    /// The categories that make the incident a malicious act calling for a complaint.
    pub fn malicious_categories(&self) -> Vec<Category> {
        self.categories
            .iter()
            .copied()
            .filter(|c| {
                matches!(
                    c,
                    Category::Ransomware
                        | Category::Intrusion
                        | Category::AccountCompromise
                        | Category::Extortion
                )
            })
            .collect()
    }

    /// A malicious act: one of the malicious categories, or flagged as suspected malicious.
    pub fn is_malicious(&self) -> bool {
        self.suspected_malicious == Some(true) || !self.malicious_categories().is_empty()
    }
}

/// The facts as given by a person or a JSON file: every key optional, so the same shape serves
/// `open` (where `facility`, `title`, `awareness` are required) and `update` (a patch).
/// Scalars replace; lists (`alert_ids`, `finding_ids`, `affected_systems`, `iocs`,
/// `measures_proposed`, `actions`) add to the existing ones; `categories` and `impact` replace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactsInput {
    pub facility: Option<String>,
    pub facility_name: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub categories: Option<Vec<String>>,
    pub detection_source: Option<String>,
    #[serde(default)]
    pub alert_ids: Vec<String>,
    #[serde(default)]
    pub finding_ids: Vec<String>,
    pub timezone: Option<String>,
    pub occurrence: Option<String>,
    pub detection: Option<String>,
    pub awareness: Option<String>,
    pub serious: Option<bool>,
    /// The D.1111-16-2 criteria met, by name.
    pub impact: Option<Vec<String>>,
    pub personal_data_breach: Option<String>,
    pub people_categories: Option<Vec<String>>,
    pub people_count: Option<u64>,
    pub record_categories: Option<Vec<String>>,
    pub record_count: Option<u64>,
    pub gdpr34_exemption: Option<String>,
    pub nis2_status: Option<String>,
    pub nis2_significant: Option<bool>,
    pub suspected_malicious: Option<bool>,
    pub cross_border: Option<bool>,
    #[serde(default)]
    pub affected_systems: Vec<String>,
    /// Actions taken: plain text (dated now) or `{"at": TIME, "text": ...}`.
    #[serde(default)]
    pub actions: Vec<ActionInput>,
    #[serde(default)]
    pub measures_proposed: Vec<String>,
    pub consequences: Option<String>,
    pub root_cause: Option<String>,
    #[serde(default)]
    pub iocs: Vec<String>,
    pub dpo_contact: Option<String>,
    pub ciso_contact: Option<String>,
    pub cert_sante_target: Option<String>,
    pub internal_target: Option<String>,
    pub data_subjects_target: Option<String>,
    pub register_target: Option<String>,
    pub intermediate_requested_at: Option<String>,
    pub intermediate_due: Option<String>,
    pub resolved_at: Option<String>,
    /// The cyber-insurance policy (insurer and number); an empty text removes it.
    pub cyber_insurance: Option<String>,
    /// When the complaint was filed (RFC 3339); with `complaint_service`.
    pub complaint_filed_at: Option<String>,
    /// The police or gendarmerie service, or the prosecutor, that received the complaint.
    pub complaint_service: Option<String>,
    /// The complaint's reference number (procès-verbal or registration number).
    pub complaint_reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ActionInput {
    Text(String),
    Dated { at: String, text: String },
}

fn non_empty(field: &str, s: &str) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        Err(IncidentError::invalid(field, "must not be empty"))
    } else {
        Ok(t.to_owned())
    }
}

fn add_unique(list: &mut Vec<String>, more: &[String], field: &str) -> Result<()> {
    for m in more {
        let m = non_empty(field, m)?;
        if !list.contains(&m) {
            list.push(m);
        }
    }
    Ok(())
}

impl FactsInput {
    /// Build the facts of a new incident. `facility_nis2` is the facility record's NIS 2 status,
    /// the default when the input does not say.
    pub fn into_facts(self, facility_nis2: Option<Nis2Status>, now: Timestamp) -> Result<Facts> {
        let facility = self
            .facility
            .as_deref()
            .ok_or_else(|| IncidentError::invalid("facility", "is required"))?;
        let facility = Finess::parse(facility)
            .map_err(|e| IncidentError::invalid("facility", e.message))?
            .to_string();
        let title = non_empty(
            "title",
            self.title
                .as_deref()
                .ok_or_else(|| IncidentError::invalid("title", "is required"))?,
        )?;
        let timezone = self.timezone.clone().unwrap_or_else(|| DEFAULT_TZ.into());
        let tz = clock::zone("timezone", &timezone)?;
        let awareness = clock::parse_instant(
            "awareness",
            self.awareness
                .as_deref()
                .ok_or_else(|| IncidentError::invalid("awareness", "is required (RFC 3339)"))?,
            &tz,
        )?;
        let mut f = Facts {
            facility,
            facility_name: None,
            title,
            description: None,
            categories: Vec::new(),
            detection: Detection::default(),
            timezone,
            occurrence: None,
            detected: None,
            awareness,
            serious: false,
            impact: ImpactCriteria::default(),
            personal_data_breach: BreachRisk::None,
            personal_data: PersonalData::default(),
            gdpr34_exemption: None,
            nis2_status: facility_nis2.unwrap_or(Nis2Status::Unknown),
            nis2_significant: false,
            suspected_malicious: None,
            cross_border: None,
            affected_systems: Vec::new(),
            actions: Vec::new(),
            measures_proposed: Vec::new(),
            consequences: None,
            root_cause: None,
            iocs: Vec::new(),
            dpo_contact: None,
            ciso_contact: None,
            targets: Targets::default(),
            intermediate_request: None,
            resolved_at: None,
            cyber_insurance: None,
            complaint: None,
            facility_kind: None,
        };
        self.apply(&mut f, now)?;
        f.validate(now)?;
        Ok(f)
    }

    /// Apply this input as a patch; the caller validates the result.
    pub fn apply(&self, f: &mut Facts, now: Timestamp) -> Result<()> {
        if let Some(fac) = &self.facility {
            let fac = Finess::parse(fac)
                .map_err(|e| IncidentError::invalid("facility", e.message))?
                .to_string();
            if fac != f.facility {
                return Err(IncidentError::Transition(format!(
                    "an incident cannot move from facility {} to {fac}",
                    f.facility
                )));
            }
        }
        if let Some(tz) = &self.timezone {
            clock::zone("timezone", tz)?;
            f.timezone = tz.trim().to_owned();
        }
        let tz = f.tz()?;
        let t = |field: &str, s: &Option<String>| -> Result<Option<Zoned>> {
            s.as_deref()
                .map(|s| clock::parse_instant(field, s, &tz))
                .transpose()
        };
        if let Some(v) = &self.facility_name {
            f.facility_name = Some(non_empty("facility_name", v)?);
        }
        if let Some(v) = &self.title {
            f.title = non_empty("title", v)?;
        }
        if let Some(v) = &self.description {
            f.description = Some(v.trim().to_owned()).filter(|s| !s.is_empty());
        }
        if let Some(cs) = &self.categories {
            let mut out = Vec::new();
            for c in cs {
                let c: Category = c.parse()?;
                if !out.contains(&c) {
                    out.push(c);
                }
            }
            f.categories = out;
        }
        if let Some(s) = &self.detection_source {
            f.detection.source = s.parse()?;
        }
        add_unique(&mut f.detection.alert_ids, &self.alert_ids, "alert_ids")?;
        add_unique(
            &mut f.detection.finding_ids,
            &self.finding_ids,
            "finding_ids",
        )?;
        if let Some(z) = t("occurrence", &self.occurrence)? {
            f.occurrence = Some(z);
        }
        if let Some(z) = t("detection", &self.detection)? {
            f.detected = Some(z);
        }
        if let Some(z) = t("awareness", &self.awareness)? {
            f.awareness = z;
        }
        if let Some(v) = self.serious {
            f.serious = v;
        }
        if let Some(list) = &self.impact {
            let mut c = ImpactCriteria::default();
            for n in list {
                c.set(n, true)?;
            }
            f.impact = c;
        }
        if let Some(v) = &self.personal_data_breach {
            f.personal_data_breach = v.parse()?;
        }
        if let Some(v) = &self.people_categories {
            f.personal_data.people_categories = v.clone();
        }
        if let Some(v) = self.people_count {
            f.personal_data.people_count = Some(v);
        }
        if let Some(v) = &self.record_categories {
            f.personal_data.record_categories = v.clone();
        }
        if let Some(v) = self.record_count {
            f.personal_data.record_count = Some(v);
        }
        if let Some(v) = &self.gdpr34_exemption {
            f.gdpr34_exemption = Some(v.trim().to_owned()).filter(|s| !s.is_empty());
        }
        if let Some(v) = &self.nis2_status {
            f.nis2_status = v
                .parse::<Nis2Status>()
                .map_err(|e| IncidentError::invalid("nis2_status", e.message))?;
        }
        if let Some(v) = self.nis2_significant {
            f.nis2_significant = v;
        }
        if let Some(v) = self.suspected_malicious {
            f.suspected_malicious = Some(v);
        }
        if let Some(v) = self.cross_border {
            f.cross_border = Some(v);
        }
        add_unique(
            &mut f.affected_systems,
            &self.affected_systems,
            "affected_systems",
        )?;
        for a in &self.actions {
            let (at, text) = match a {
                ActionInput::Text(text) => (now.to_zoned(tz.clone()), text),
                ActionInput::Dated { at, text } => {
                    (clock::parse_instant("actions.at", at, &tz)?, text)
                }
            };
            f.actions.push(Action {
                at,
                text: non_empty("actions", text)?,
            });
        }
        add_unique(
            &mut f.measures_proposed,
            &self.measures_proposed,
            "measures_proposed",
        )?;
        if let Some(v) = &self.consequences {
            f.consequences = Some(v.trim().to_owned()).filter(|s| !s.is_empty());
        }
        if let Some(v) = &self.root_cause {
            f.root_cause = Some(v.trim().to_owned()).filter(|s| !s.is_empty());
        }
        add_unique(&mut f.iocs, &self.iocs, "iocs")?;
        if let Some(v) = &self.dpo_contact {
            f.dpo_contact = Some(non_empty("dpo_contact", v)?);
        }
        if let Some(v) = &self.ciso_contact {
            f.ciso_contact = Some(non_empty("ciso_contact", v)?);
        }
        if let Some(v) = &self.cert_sante_target {
            f.targets.cert_sante = clock::parse_duration("cert_sante_target", v)?;
        }
        if let Some(v) = &self.internal_target {
            f.targets.internal = clock::parse_duration("internal_target", v)?;
        }
        if let Some(v) = &self.data_subjects_target {
            f.targets.data_subjects = clock::parse_duration("data_subjects_target", v)?;
        }
        if let Some(v) = &self.register_target {
            f.targets.register = clock::parse_duration("register_target", v)?;
        }
        if let Some(req) = t("intermediate_requested_at", &self.intermediate_requested_at)? {
            f.intermediate_request = Some(IntermediateRequest {
                requested_at: req,
                due: t("intermediate_due", &self.intermediate_due)?,
            });
        } else if let Some(due) = t("intermediate_due", &self.intermediate_due)? {
            match &mut f.intermediate_request {
                Some(r) => r.due = Some(due),
                None => {
                    return Err(IncidentError::invalid(
                        "intermediate_due",
                        "give intermediate_requested_at first (the report is due only on request)",
                    ));
                }
            }
        }
        if let Some(z) = t("resolved_at", &self.resolved_at)? {
            f.resolved_at = Some(z);
        }
        if let Some(v) = &self.cyber_insurance {
            f.cyber_insurance = Some(v.trim().to_owned()).filter(|s| !s.is_empty());
        }
        self.apply_complaint(f, &tz)
    }

    /// The complaint's date, service and reference: a new complaint needs the date and the
    /// service; a later patch may add or correct the service or the reference alone.
    fn apply_complaint(&self, f: &mut Facts, tz: &jiff::tz::TimeZone) -> Result<()> {
        let service = self
            .complaint_service
            .as_deref()
            .map(|s| non_empty("complaint_service", s))
            .transpose()?;
        let reference = self
            .complaint_reference
            .as_deref()
            .map(|s| non_empty("complaint_reference", s))
            .transpose()?;
        if let Some(at) = &self.complaint_filed_at {
            let at = clock::parse_instant("complaint_filed_at", at, tz)?;
            let service = service
                .or_else(|| f.complaint.as_ref().map(|c| c.service.clone()))
                .ok_or_else(|| {
                    IncidentError::invalid(
                        "complaint_service",
                        "is required with complaint_filed_at (the police or gendarmerie service, or the prosecutor)",
                    )
                })?;
            let reference =
                reference.or_else(|| f.complaint.as_ref().and_then(|c| c.reference.clone()));
            f.complaint = Some(ComplaintFiled {
                at,
                service,
                reference,
            });
        } else if service.is_some() || reference.is_some() {
            let Some(c) = &mut f.complaint else {
                return Err(IncidentError::invalid(
                    "complaint_filed_at",
                    "give the complaint's date first (complaint_filed_at)",
                ));
            };
            if let Some(s) = service {
                c.service = s;
            }
            if reference.is_some() {
                c.reference = reference;
            }
        }
        Ok(())
    }
}
