//! Notification drafts generated from the one incident record, in French (default) or English,
//! as Markdown and as printable self-contained HTML. Missing facts are shown as
//! "[À compléter]" / "[To be completed]" so a draft is never silently incomplete.
//!
//! The field lists follow the texts: CERT Santé signalement (CSP D.1111-16-2/3, arrêté du
//! 30 octobre 2017 form), CNIL notification (GDPR 33(3) a–d), communication to data subjects
//! (GDPR 34(2)), breach register (GDPR 33(5)), NIS 2 art. 23(4) a–e.

use crate::Result;
use crate::clock;
use crate::facts::{BreachRisk, Facts, ImpactCriteria};
use crate::incident::{Incident, Phase};
use crate::obligations::{Duty, Obligation};
use hygie_core::Lang;
use hygie_report::Translate as _;
use jiff::Timestamp;
use std::fmt::Write as _;

/// A draft: a title and sections of labelled fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Draft {
    pub duty: Duty,
    pub lang: Lang,
    pub title: String,
    pub recipient: String,
    pub basis: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Section {
    pub heading: String,
    pub fields: Vec<(String, String)>,
}

fn tr(lang: Lang, en: &str, fr: &str) -> String {
    match lang {
        Lang::En => en.to_owned(),
        Lang::Fr => fr.to_owned(),
    }
}

fn missing(lang: Lang) -> String {
    tr(lang, "[To be completed]", "[À compléter]")
}

fn yes_no(lang: Lang, b: bool) -> String {
    if b {
        tr(lang, "Yes", "Oui")
    } else {
        tr(lang, "No", "Non")
    }
}

fn opt_bool(lang: Lang, b: Option<bool>) -> String {
    match b {
        Some(b) => yes_no(lang, b),
        None => missing(lang),
    }
}

fn opt(lang: Lang, s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| missing(lang))
}

fn list(lang: Lang, l: &[String]) -> String {
    if l.is_empty() {
        missing(lang)
    } else {
        l.join("; ")
    }
}

fn count(lang: Lang, n: Option<u64>) -> String {
    match n {
        Some(n) => tr(lang, &format!("about {n}"), &format!("environ {n}")),
        None => missing(lang),
    }
}

struct B<'a> {
    lang: Lang,
    sections: Vec<Section>,
    facts: &'a Facts,
    /// The actions taken, dated: "Measures taken" in every draft.
    actions: Vec<String>,
    /// The incident categories in the draft's language.
    categories: Vec<String>,
}

/// A field several drafts carry with the same label and the same value: written once here so
/// that a wording fixed for one authority is fixed for all.
#[derive(Clone, Copy)]
enum Common {
    Categories,
    Description,
    AffectedSystems,
    SuspectedMalicious,
    CrossBorder,
    MeasuresTaken,
}

impl B<'_> {
    fn section(&mut self, en: &str, fr: &str) {
        self.sections.push(Section {
            heading: tr(self.lang, en, fr),
            fields: Vec::new(),
        });
    }
    fn field(&mut self, en: &str, fr: &str, value: String) {
        let label = tr(self.lang, en, fr);
        if let Some(s) = self.sections.last_mut() {
            s.fields.push((label, value));
        }
    }
    fn common(&mut self, fields: &[Common]) {
        let (lang, f) = (self.lang, self.facts);
        for c in fields {
            let (en, fr, value) = match c {
                Common::Categories => ("Categories", "Catégories", list(lang, &self.categories)),
                Common::Description => ("Description", "Description", opt(lang, &f.description)),
                Common::AffectedSystems => (
                    "Affected systems",
                    "Systèmes affectés",
                    list(lang, &f.affected_systems),
                ),
                Common::SuspectedMalicious => (
                    "Suspected malicious act",
                    "Acte malveillant suspecté",
                    opt_bool(lang, f.suspected_malicious),
                ),
                Common::CrossBorder => (
                    "Cross-border impact",
                    "Impact transfrontière",
                    opt_bool(lang, f.cross_border),
                ),
                Common::MeasuresTaken => (
                    "Measures taken",
                    "Mesures prises",
                    list(lang, &self.actions),
                ),
            };
            self.field(en, fr, value);
        }
    }
}

/// Build the draft of `duty` for the incident at `now`.
pub fn draft(inc: &Incident, duty: Duty, lang: Lang, now: Timestamp) -> Result<Draft> {
    let f = &inc.facts;
    let obligations = inc.obligations(now)?;
    let ob = obligations.iter().find(|o| o.duty == duty);
    let t = |z: &Option<jiff::Zoned>| {
        z.as_ref()
            .map(clock::rfc3339)
            .unwrap_or_else(|| missing(lang))
    };
    let mut b = B {
        lang,
        sections: Vec::new(),
        facts: f,
        actions: f
            .actions
            .iter()
            .map(|a| format!("{} — {}", clock::rfc3339(&a.at), a.text))
            .collect(),
        categories: f
            .categories
            .iter()
            .map(|c| c.label().get(lang).to_owned())
            .collect(),
    };

    // Common identification.
    b.section("Establishment and incident", "Établissement et incident");
    b.field(
        "Establishment",
        "Établissement",
        f.facility_name.clone().unwrap_or_else(|| missing(lang)),
    );
    b.field("FINESS", "FINESS", f.facility.clone());
    b.field("Incident reference", "Référence interne", inc.id.clone());
    b.field("Title", "Intitulé", f.title.clone());
    b.field("CISO contact", "Contact RSSI", opt(lang, &f.ciso_contact));
    b.field("DPO contact", "Contact du DPO", opt(lang, &f.dpo_contact));

    b.section("Times", "Chronologie");
    b.field("Occurrence", "Survenue", t(&f.occurrence));
    b.field("Detection", "Détection", t(&f.detected));
    b.field(
        "Awareness",
        "Prise de connaissance",
        clock::rfc3339(&f.awareness),
    );
    if let Some(o) = ob {
        b.field(
            "Due",
            "Échéance",
            o.due
                .as_ref()
                .map(clock::rfc3339)
                .unwrap_or_else(|| missing(lang)),
        );
        let e = now.duration_since(f.awareness.timestamp());
        if !e.is_negative() {
            b.field(
                "Elapsed since awareness",
                "Temps écoulé depuis la prise de connaissance",
                clock::human_in(e, lang),
            );
        }
    }

    match duty {
        Duty::CertSante => {
            b.section(
                "Signalement (CSP D.1111-16-2)",
                "Signalement (CSP D.1111-16-2)",
            );
            b.common(&[Common::Categories, Common::Description]);
            for n in ImpactCriteria::NAMES {
                b.field(
                    ImpactCriteria::label(n).en.as_str(),
                    ImpactCriteria::label(n).fr.as_str(),
                    yes_no(lang, f.impact.get(n)),
                );
            }
            b.field(
                "Qualified as significant or serious",
                "Qualifié de significatif ou grave",
                yes_no(lang, f.serious),
            );
            b.common(&[Common::AffectedSystems]);
            b.field(
                "Personal / health data involved",
                "Données personnelles / de santé concernées",
                breach_text(lang, f.personal_data_breach),
            );
            b.common(&[Common::SuspectedMalicious, Common::MeasuresTaken]);
            b.field(
                "Measures planned",
                "Mesures envisagées",
                list(lang, &f.measures_proposed),
            );
            b.field(
                "Complaint filed",
                "Plainte déposée",
                complaint_status(lang, inc),
            );
            b.field(
                "Support requested from CERT Santé",
                "Besoin d'accompagnement du CERT Santé",
                missing(lang),
            );
        }
        Duty::Cnil | Duty::BreachRegister | Duty::DataSubjects => {
            b.section(
                "Personal-data breach (GDPR 33(3))",
                "Violation de données personnelles (RGPD art. 33.3)",
            );
            b.field(
                "Nature of the breach",
                "Nature de la violation",
                format!(
                    "{} — {}",
                    list(lang, &b.categories),
                    opt(lang, &f.description)
                ),
            );
            b.field(
                "Risk to people",
                "Risque pour les personnes",
                breach_text(lang, f.personal_data_breach),
            );
            b.field(
                "Categories of people concerned",
                "Catégories de personnes concernées",
                list(lang, &f.personal_data.people_categories),
            );
            b.field(
                "Approximate number of people",
                "Nombre approximatif de personnes",
                count(lang, f.personal_data.people_count),
            );
            b.field(
                "Categories of records concerned",
                "Catégories d'enregistrements concernés",
                list(lang, &f.personal_data.record_categories),
            );
            b.field(
                "Approximate number of records",
                "Nombre approximatif d'enregistrements",
                count(lang, f.personal_data.record_count),
            );
            b.field(
                "DPO or other contact point",
                "Coordonnées du DPO ou d'un autre point de contact",
                opt(lang, &f.dpo_contact),
            );
            b.field(
                "Likely consequences",
                "Conséquences probables",
                opt(lang, &f.consequences),
            );
            b.common(&[Common::MeasuresTaken]);
            b.field(
                "Complaint filed",
                "Plainte déposée",
                complaint_status(lang, inc),
            );
            b.field(
                "Measures proposed to address the breach and mitigate its effects",
                "Mesures proposées pour remédier à la violation et en atténuer les effets",
                list(lang, &f.measures_proposed),
            );
            if duty == Duty::Cnil {
                let phases = inc.sendings.iter().filter(|s| s.duty == Duty::Cnil).count();
                b.field(
                    "Notification in phases (GDPR 33(4))",
                    "Notification en plusieurs temps (RGPD art. 33.4)",
                    if phases == 0 {
                        tr(lang, "Initial notification", "Notification initiale")
                    } else {
                        tr(
                            lang,
                            &format!("Complement no. {phases}"),
                            &format!("Complément n° {phases}"),
                        )
                    },
                );
                if let Some(o) = ob
                    && let Some(d) = &o.due
                    && now > d.timestamp()
                    && o.sent_at.is_none()
                {
                    b.field(
                        "Reasons for the delay (required after 72 h)",
                        "Motifs du retard (obligatoires au-delà de 72 h)",
                        missing(lang),
                    );
                }
            }
            if duty == Duty::DataSubjects {
                b.field(
                    "Recommendations to the people",
                    "Recommandations aux personnes",
                    missing(lang),
                );
            }
        }
        Duty::Nis2EarlyWarning => {
            b.section(
                "NIS 2 early warning (art. 23(4)(a))",
                "NIS 2 alerte précoce (art. 23.4.a)",
            );
            b.field(
                "Suspected unlawful or malicious act",
                "Acte illicite ou malveillant suspecté",
                opt_bool(lang, f.suspected_malicious),
            );
            b.field(
                "Possible cross-border impact",
                "Impact transfrontière possible",
                opt_bool(lang, f.cross_border),
            );
            b.common(&[Common::Categories]);
        }
        Duty::Nis2Notification | Duty::Nis2Intermediate => {
            b.section(
                "NIS 2 incident notification (art. 23(4)(b))",
                "NIS 2 notification d'incident (art. 23.4.b)",
            );
            b.field(
                "Initial assessment",
                "Évaluation initiale",
                opt(lang, &f.description),
            );
            b.field(
                "Severity and impact",
                "Gravité et impact",
                opt(lang, &f.consequences),
            );
            b.common(&[Common::AffectedSystems]);
            b.field(
                "Indicators of compromise",
                "Indicateurs de compromission",
                list(lang, &f.iocs),
            );
            b.common(&[
                Common::SuspectedMalicious,
                Common::CrossBorder,
                Common::MeasuresTaken,
            ]);
        }
        Duty::Nis2Final | Duty::Nis2Progress => {
            if duty == Duty::Nis2Final {
                b.section(
                    "NIS 2 final report (art. 23(4)(d))",
                    "NIS 2 rapport final (art. 23.4.d)",
                );
            } else {
                b.section(
                    "NIS 2 progress report (art. 23(4)(e))",
                    "NIS 2 rapport d'avancement (art. 23.4.e)",
                );
            }
            b.field(
                "Detailed description, severity and impact",
                "Description détaillée, gravité et impact",
                format!(
                    "{} — {}",
                    opt(lang, &f.description),
                    opt(lang, &f.consequences)
                ),
            );
            b.field(
                "Type of threat or root cause",
                "Type de menace ou cause première",
                opt(lang, &f.root_cause),
            );
            b.field(
                "Mitigation measures applied and ongoing",
                "Mesures d'atténuation appliquées et en cours",
                format!(
                    "{} / {}",
                    list(lang, &b.actions),
                    list(lang, &f.measures_proposed)
                ),
            );
            b.common(&[Common::CrossBorder]);
            b.field("End of handling", "Fin du traitement", t(&f.resolved_at));
        }
        Duty::Complaint => complaint_letter(&mut b, inc),
        Duty::CertSanteResolution => {
            b.section(
                "Resolution of the incident (CSP D.1111-16-3)",
                "Résolution de l'incident (CSP D.1111-16-3)",
            );
            let initial = inc
                .sendings
                .iter()
                .find(|s| s.duty == Duty::CertSante)
                .and_then(|s| s.reference.clone());
            b.field(
                "Reference of the initial report",
                "Référence du signalement initial",
                opt(lang, &initial),
            );
            b.field("End of handling", "Fin du traitement", t(&f.resolved_at));
            b.field("Root cause", "Cause première", opt(lang, &f.root_cause));
            b.common(&[Common::MeasuresTaken]);
            b.field(
                "Measures to prevent recurrence",
                "Mesures pour éviter qu'il se reproduise",
                list(lang, &f.measures_proposed),
            );
        }
        Duty::InternalCiso | Duty::InternalDpo => {
            b.section("Internal information", "Information interne");
            b.common(&[Common::Description, Common::Categories]);
            b.field(
                "Personal data",
                "Données personnelles",
                breach_text(lang, f.personal_data_breach),
            );
            b.common(&[Common::AffectedSystems, Common::MeasuresTaken]);
        }
    }
    let title = format!(
        "{} — {}",
        duty.label().get(lang),
        f.facility_name.as_deref().unwrap_or(&f.facility)
    );
    Ok(Draft {
        duty,
        lang,
        title,
        recipient: duty.recipient().get(lang).to_owned(),
        basis: duty.basis_in(lang).to_owned(),
        sections: b.sections,
    })
}

/// Whether a complaint was filed, for the CERT Santé and CNIL drafts.
fn complaint_status(lang: Lang, inc: &Incident) -> String {
    match &inc.facts.complaint {
        Some(c) => {
            let reference = c.reference.clone().unwrap_or_else(|| missing(lang));
            tr(
                lang,
                &format!(
                    "Yes, on {} with {} (reference {reference})",
                    clock::rfc3339(&c.at),
                    c.service
                ),
                &format!(
                    "Oui, le {} auprès de {} (référence {reference})",
                    clock::rfc3339(&c.at),
                    c.service
                ),
            )
        }
        None if inc.facts.is_malicious() => tr(
            lang,
            "Not yet (malicious act: a complaint is planned or recommended)",
            "Pas encore (acte malveillant : plainte prévue ou recommandée)",
        ),
        None => tr(lang, "No", "Non"),
    }
}

/// The complaint letter: addressee, complainant, facts, timeline, systems, evidence preserved,
/// insurance, contact; what is missing reads "[À compléter]".
fn complaint_letter(b: &mut B<'_>, inc: &Incident) {
    let lang = b.lang;
    let f = &inc.facts;
    let recipients: Vec<String> = crate::complaint::recipients()
        .iter()
        .map(|r| format!("{} — {}", r.name.get(lang), r.when.get(lang)))
        .collect();
    b.section("Complaint", "Plainte");
    b.field(
        "To (choose one)",
        "Destinataire (à choisir)",
        list(lang, &recipients),
    );
    b.field(
        "Subject",
        "Objet",
        tr(
            lang,
            "Complaint against person or persons unknown for attacks on an automated data processing system (Code pénal art. 323-1 to 323-3-1)",
            "Plainte contre X pour atteinte à un système de traitement automatisé de données (articles 323-1 à 323-3-1 du code pénal)",
        ),
    );
    b.field(
        "Complainant",
        "Plaignant",
        format!(
            "{} (FINESS {})",
            f.facility_name.clone().unwrap_or_else(|| missing(lang)),
            f.facility
        ),
    );
    b.field("Legal representative", "Représentant légal", missing(lang));
    b.section("Facts", "Faits");
    let categories = list(lang, &b.categories);
    b.field("Categories", "Nature de l'attaque", categories);
    b.field("Description", "Description", opt(lang, &f.description));
    b.field(
        "Consequences and damage",
        "Conséquences et préjudice",
        opt(lang, &f.consequences),
    );
    b.field(
        "Ransom or extortion demand",
        "Demande de rançon ou chantage",
        missing(lang),
    );
    b.field(
        "Indicators of compromise",
        "Indicateurs de compromission",
        list(lang, &f.iocs),
    );
    b.field(
        "Affected systems",
        "Systèmes touchés",
        list(lang, &f.affected_systems),
    );
    b.section("Timeline", "Chronologie des actions");
    let actions = list(lang, &b.actions);
    b.field("Actions taken", "Actions menées", actions);
    b.section("Evidence preserved", "Preuves conservées");
    for line in inc.evidence_checklist() {
        let value = match line.tick {
            Some(t) => tr(
                lang,
                &format!("Done by {} at {}", t.by, clock::rfc3339(&t.at)),
                &format!("Fait par {} le {}", t.by, clock::rfc3339(&t.at)),
            ),
            None => missing(lang),
        };
        b.field(&line.item.text.en, &line.item.text.fr, value);
    }
    b.section("Insurance", "Assurance");
    b.field(
        "Cyber-insurance policy",
        "Contrat d'assurance cyber",
        match &f.cyber_insurance {
            Some(p) => tr(
                lang,
                &format!("{p}: complaint required within 72 h of awareness for the insurer's payment (Code des assurances L.12-10-1)"),
                &format!("{p} : plainte exigée dans les 72 h suivant la prise de connaissance pour l'indemnisation (Code des assurances L.12-10-1)"),
            ),
            None => missing(lang),
        },
    );
    b.section("Contact", "Contact");
    b.field("CISO contact", "Contact RSSI", opt(lang, &f.ciso_contact));
    b.field(
        "Place, date and signature",
        "Fait à, le, signature",
        missing(lang),
    );
}

fn breach_text(lang: Lang, r: BreachRisk) -> String {
    match r {
        BreachRisk::None => tr(
            lang,
            "No personal data involved",
            "Aucune donnée personnelle concernée",
        ),
        BreachRisk::Unlikely => tr(
            lang,
            "Breach unlikely to result in a risk",
            "Violation peu susceptible d'engendrer un risque",
        ),
        BreachRisk::Risk => tr(
            lang,
            "Breach with a risk to people",
            "Violation présentant un risque pour les personnes",
        ),
        BreachRisk::High => tr(
            lang,
            "Breach with a high risk to people",
            "Violation présentant un risque élevé pour les personnes",
        ),
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown table (cells escaped) appended to `out`: the one table writer of the drafts, the
/// incident file and the breach register. Their HTML uses the shared template macro `table`.
pub(crate) fn md_table<H, R, C>(out: &mut String, headers: &[H], rows: impl IntoIterator<Item = R>)
where
    H: AsRef<str>,
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    out.push_str(&line(headers.iter().map(|h| md_cell(h.as_ref())).collect()));
    out.push('|');
    out.push_str(&"---|".repeat(headers.len()));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.into_iter().map(|c| md_cell(c.as_ref())).collect()));
    }
}

impl Draft {
    pub fn to_markdown(&self) -> String {
        let l = self.lang;
        let mut out = String::new();
        let _ = writeln!(out, "# {}\n", self.title);
        let _ = writeln!(
            out,
            "**{}** {}  \n**{}** {}\n",
            tr(l, "Recipient:", "Destinataire :"),
            self.recipient,
            tr(l, "Legal basis:", "Base légale :"),
            self.basis
        );
        for s in &self.sections {
            let _ = writeln!(out, "## {}\n", s.heading);
            md_table(
                &mut out,
                &[tr(l, "Field", "Champ"), tr(l, "Value", "Valeur")],
                s.fields.iter().map(|(k, v)| [k, v]),
            );
            out.push('\n');
        }
        out
    }

    /// The draft as printable, self-contained HTML (template `draft.html`).
    pub fn to_html(&self) -> String {
        hygie_report::render(&DraftPage {
            lang: self.lang,
            d: self,
        })
    }
}

#[derive(askama::Template)]
#[template(path = "draft.html")]
struct DraftPage<'a> {
    lang: Lang,
    d: &'a Draft,
}

hygie_report::translate_by_lang_field!(DraftPage);

/// The obligations of an incident as a table (headers, rows), for the incident file.
pub fn obligations_table(obs: &[Obligation], lang: Lang) -> (Vec<String>, Vec<Vec<String>>) {
    let headers = vec![
        tr(lang, "Duty", "Obligation"),
        tr(lang, "Due", "Échéance"),
        tr(lang, "Status", "Statut"),
        tr(lang, "Why", "Motif"),
    ];
    let rows = obs
        .iter()
        .map(|o| {
            vec![
                o.duty.label().get(lang).to_owned(),
                o.due.as_ref().map(clock::rfc3339).unwrap_or_default(),
                o.status.label().get(lang).to_owned(),
                o.reason.get(lang).to_owned(),
            ]
        })
        .collect();
    (headers, rows)
}

/// Whether a sending of this phase would be a complement (for labels).
pub fn phase_label(p: Phase, lang: Lang) -> String {
    match p {
        Phase::Initial => tr(lang, "initial", "initiale"),
        Phase::Complement => tr(lang, "complement", "complément"),
    }
}
