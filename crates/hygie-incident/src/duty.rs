//! What an incident may oblige the facility to do ([`Duty`]) and the record of having done it
//! ([`Sending`]): the vocabulary shared by the obligations engine and the incident record.

use crate::{IncidentError, Result};
use hygie_core::{Lang, Localized};
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};

/// A notification duty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    InternalCiso,
    InternalDpo,
    CertSante,
    /// CERT Santé informed of the incident's resolution (CSP D.1111-16-3).
    CertSanteResolution,
    Cnil,
    DataSubjects,
    BreachRegister,
    Nis2EarlyWarning,
    Nis2Notification,
    Nis2Intermediate,
    Nis2Final,
    Nis2Progress,
    /// Criminal complaint (plainte) for a malicious attack: the condition of a cyber-insurance
    /// payment (Code des assurances L.12-10-1), else a recommendation.
    Complaint,
}

impl Duty {
    pub const ALL: [Duty; 13] = [
        Duty::InternalCiso,
        Duty::InternalDpo,
        Duty::CertSante,
        Duty::CertSanteResolution,
        Duty::Cnil,
        Duty::DataSubjects,
        Duty::BreachRegister,
        Duty::Nis2EarlyWarning,
        Duty::Nis2Notification,
        Duty::Nis2Intermediate,
        Duty::Nis2Final,
        Duty::Nis2Progress,
        Duty::Complaint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Duty::InternalCiso => "internal_ciso",
            Duty::InternalDpo => "internal_dpo",
            Duty::CertSante => "cert_sante",
            Duty::CertSanteResolution => "cert_sante_resolution",
            Duty::Cnil => "cnil",
            Duty::DataSubjects => "data_subjects",
            Duty::BreachRegister => "breach_register",
            Duty::Nis2EarlyWarning => "nis2_early_warning",
            Duty::Nis2Notification => "nis2_notification",
            Duty::Nis2Intermediate => "nis2_intermediate",
            Duty::Nis2Final => "nis2_final",
            Duty::Nis2Progress => "nis2_progress",
            Duty::Complaint => "complaint",
        }
    }

    pub fn label(self) -> Localized {
        let (en, fr) = match self {
            Duty::InternalCiso => ("CISO informed", "RSSI informé"),
            Duty::InternalDpo => ("DPO informed", "DPO informé"),
            Duty::CertSante => (
                "Report to CERT Santé (ANS)",
                "Signalement au CERT Santé (ANS)",
            ),
            Duty::CertSanteResolution => (
                "Resolution reported to CERT Santé (ANS)",
                "Information du CERT Santé (ANS) de la résolution",
            ),
            Duty::Cnil => (
                "Personal-data breach notification to the CNIL",
                "Notification de violation de données à la CNIL",
            ),
            Duty::DataSubjects => (
                "Communication to the data subjects",
                "Communication aux personnes concernées",
            ),
            Duty::BreachRegister => (
                "Entry in the breach register",
                "Inscription au registre des violations",
            ),
            Duty::Nis2EarlyWarning => ("NIS 2 early warning", "NIS 2 alerte précoce"),
            Duty::Nis2Notification => (
                "NIS 2 incident notification",
                "NIS 2 notification d'incident",
            ),
            Duty::Nis2Intermediate => ("NIS 2 intermediate report", "NIS 2 rapport intermédiaire"),
            Duty::Nis2Final => ("NIS 2 final report", "NIS 2 rapport final"),
            Duty::Nis2Progress => ("NIS 2 progress report", "NIS 2 rapport d'avancement"),
            Duty::Complaint => (
                "Criminal complaint for the attack",
                "Dépôt de plainte pour l'attaque",
            ),
        };
        Localized::new(en, fr)
    }

    pub fn recipient(self) -> Localized {
        let (en, fr) = match self {
            Duty::InternalCiso => ("CISO", "RSSI"),
            Duty::InternalDpo => (
                "Data protection officer (DPO)",
                "Délégué à la protection des données (DPO)",
            ),
            Duty::CertSante | Duty::CertSanteResolution => (
                "ANS / CERT Santé (signalement portal)",
                "ANS / CERT Santé (portail de signalement)",
            ),
            Duty::Cnil => ("CNIL", "CNIL"),
            Duty::DataSubjects => ("Data subjects", "Personnes concernées"),
            Duty::BreachRegister => (
                "Controller's breach register",
                "Registre des violations du responsable de traitement",
            ),
            Duty::Nis2EarlyWarning
            | Duty::Nis2Notification
            | Duty::Nis2Intermediate
            | Duty::Nis2Final
            | Duty::Nis2Progress => (
                "CSIRT / competent authority (ANSSI, pending the French transposition)",
                "CSIRT / autorité compétente (ANSSI, transposition française en cours)",
            ),
            // The services themselves are data (`complaint::recipients`), with their sources.
            Duty::Complaint => (
                "Police, gendarmerie or the public prosecutor (see the recipients listed)",
                "Police, gendarmerie ou procureur de la République (voir les destinataires listés)",
            ),
        };
        Localized::new(en, fr)
    }

    /// The legal basis in the reader's language (the texts' own references kept).
    pub fn basis_in(self, lang: Lang) -> &'static str {
        if lang == Lang::En {
            return self.basis();
        }
        match self {
            Duty::InternalCiso => "Procédure interne de gestion des incidents (INC-01 ; PGSSI-S)",
            Duty::InternalDpo => {
                "RGPD art. 38(1) (le DPO est associé à toutes les questions de protection des données) ; procédure interne"
            }
            Duty::CertSante => {
                "CSP L.1111-8-2 ; D.1111-16-2 et D.1111-16-3 ; arrêté du 30 octobre 2017"
            }
            Duty::CertSanteResolution => {
                "CSP D.1111-16-3 (l'établissement informe l'agence de la résolution de l'incident)"
            }
            Duty::Cnil => "RGPD art. 33(1) et 33(4)",
            Duty::DataSubjects => "RGPD art. 34",
            Duty::BreachRegister => "RGPD art. 33(5)",
            Duty::Nis2EarlyWarning => "Directive (UE) 2022/2555 (NIS 2) art. 23(4)(a)",
            Duty::Nis2Notification => "Directive (UE) 2022/2555 (NIS 2) art. 23(4)(b)",
            Duty::Nis2Intermediate => "Directive (UE) 2022/2555 (NIS 2) art. 23(4)(c)",
            Duty::Nis2Final => "Directive (UE) 2022/2555 (NIS 2) art. 23(4)(d)",
            Duty::Nis2Progress => "Directive (UE) 2022/2555 (NIS 2) art. 23(4)(e)",
            Duty::Complaint => {
                "Code des assurances L.12-10-1 (loi 2023-22 du 24 janvier 2023, art. 5) : l'indemnisation par l'assureur d'une perte due à une cyberattaque suppose une plainte sous 72 h ; Code pénal 323-1 à 323-3-1 ; mesure 40 du guide d'hygiène de l'ANSSI"
            }
        }
    }

    pub fn basis(self) -> &'static str {
        match self {
            Duty::InternalCiso => "Internal incident procedure (INC-01; PGSSI-S)",
            Duty::InternalDpo => {
                "GDPR art. 38(1) (DPO involved in all data-protection issues); internal procedure"
            }
            Duty::CertSante => {
                "CSP L.1111-8-2; D.1111-16-2 and D.1111-16-3; arrêté du 30 octobre 2017"
            }
            Duty::CertSanteResolution => {
                "CSP D.1111-16-3 (the establishment informs the agency of the incident's resolution)"
            }
            Duty::Cnil => "GDPR art. 33(1) and 33(4)",
            Duty::DataSubjects => "GDPR art. 34",
            Duty::BreachRegister => "GDPR art. 33(5)",
            Duty::Nis2EarlyWarning => "Directive (EU) 2022/2555 (NIS 2) art. 23(4)(a)",
            Duty::Nis2Notification => "Directive (EU) 2022/2555 (NIS 2) art. 23(4)(b)",
            Duty::Nis2Intermediate => "Directive (EU) 2022/2555 (NIS 2) art. 23(4)(c)",
            Duty::Nis2Final => "Directive (EU) 2022/2555 (NIS 2) art. 23(4)(d)",
            Duty::Nis2Progress => "Directive (EU) 2022/2555 (NIS 2) art. 23(4)(e)",
            Duty::Complaint => {
                "Code des assurances L.12-10-1 (loi 2023-22 du 24 janvier 2023, art. 5): insurer's payment for a cyber-attack loss subject to a complaint within 72 h; Code pénal 323-1 to 323-3-1; ANSSI hygiene measure 40"
            }
        }
    }

    /// The catalogue measure that carries the duty: its `applies_to` says which kinds of
    /// facility owe it (INC-02 leaves imaging centres out of the CERT Santé duties).
    pub fn measure(self) -> &'static str {
        match self {
            Duty::InternalCiso | Duty::InternalDpo | Duty::Complaint => "INC-01",
            Duty::CertSante | Duty::CertSanteResolution => "INC-02",
            Duty::Cnil | Duty::DataSubjects | Duty::BreachRegister => "INC-03",
            Duty::Nis2EarlyWarning
            | Duty::Nis2Notification
            | Duty::Nis2Intermediate
            | Duty::Nis2Final
            | Duty::Nis2Progress => "INC-04",
        }
    }

    /// The deadline as the text words it, when the text gives no figure: Hygie's due time is
    /// then an internal target, shown beside these words.
    pub fn legal_deadline(self) -> Option<Localized> {
        let (en, fr) = match self {
            Duty::CertSante | Duty::CertSanteResolution => ("without delay", "sans délai"),
            Duty::DataSubjects => ("without undue delay", "dans les meilleurs délais"),
            Duty::InternalCiso | Duty::InternalDpo => (
                "at once (internal procedure)",
                "immédiatement (procédure interne)",
            ),
            _ => return None,
        };
        Some(Localized::new(en, fr))
    }

    /// Duties whose notification may be sent in several phases (GDPR 33(4); NIS 2 updates).
    pub fn phased(self) -> bool {
        matches!(
            self,
            Duty::Cnil | Duty::Nis2Notification | Duty::Nis2Intermediate | Duty::Nis2Progress
        )
    }
}

impl std::str::FromStr for Duty {
    type Err = IncidentError;
    fn from_str(s: &str) -> Result<Self> {
        let n = s.trim().to_ascii_lowercase().replace('-', "_");
        Duty::ALL
            .into_iter()
            .find(|d| d.as_str() == n)
            .ok_or_else(|| {
                IncidentError::invalid(
                    "duty",
                    format!(
                        "'{s}' is not a duty ({})",
                        Duty::ALL.map(|d| d.as_str()).join(", ")
                    ),
                )
            })
    }
}

impl std::fmt::Display for Duty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which part of a phased notification a sending is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Initial,
    Complement,
}

impl std::str::FromStr for Phase {
    type Err = IncidentError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "initial" => Ok(Self::Initial),
            "complement" | "complementary" | "update" => Ok(Self::Complement),
            _ => Err(IncidentError::invalid(
                "phase",
                format!("'{s}' is not a phase (initial, complement)"),
            )),
        }
    }
}

/// One notification as sent: kept for ever, with the exact text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sending {
    pub duty: Duty,
    pub at: Zoned,
    pub reference: Option<String>,
    pub phase: Phase,
    pub lang: Lang,
    /// Reasons for a delay (required for the CNIL after 72 h, GDPR 33(1)).
    pub late_reason: Option<String>,
    /// The Markdown draft as it was when sent.
    pub snapshot: String,
    pub snapshot_sha256: String,
    pub recorded_at: Timestamp,
    /// How it was sent (portal, e-mail, letter...), when recorded; skipped when absent so the
    /// records written before it existed keep their digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}
