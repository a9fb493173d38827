//! The facility's personal-data breach register (GDPR art. 33(5)): one entry per incident
//! that is a personal-data breach, with its facts, its effects, the measures taken and what
//! became of the CNIL notification and of the communication to the data subjects.

use crate::{Duty, Incident, Result, clock::rfc3339};
use hygie_core::{Finess, Lang};
use jiff::Timestamp;

/// The register as of `generated_at`, in one language.
#[derive(Debug, Clone)]
pub struct Register {
    pub facility: Finess,
    pub name: String,
    pub lang: Lang,
    pub generated_at: Timestamp,
    /// One JSON object per breach, in the incidents' order.
    pub entries: Vec<serde_json::Value>,
}

/// Columns of the register's table: entry key, English and French headers.
const COLUMNS: [(&str, &str, &str); 8] = [
    ("incident", "Incident", "Incident"),
    ("awareness", "Awareness", "Prise de connaissance"),
    ("title", "Title", "Intitulé"),
    ("risk", "Risk", "Risque"),
    ("people_count", "People (approx.)", "Personnes (approx.)"),
    (
        "record_count",
        "Records (approx.)",
        "Enregistrements (approx.)",
    ),
    ("consequences", "Consequences", "Conséquences"),
    ("measures_taken", "Measures taken", "Mesures prises"),
];

/// A JSON value as a table cell: nothing for null, lists joined with `; `.
fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

impl Register {
    /// The register of `facility` (named `name`) from its incidents (any status), obligations
    /// computed at `now`.
    pub fn new(
        facility: &Finess,
        name: &str,
        incidents: &[Incident],
        lang: Lang,
        now: Timestamp,
    ) -> Result<Register> {
        let mut entries = Vec::new();
        for inc in incidents
            .iter()
            .filter(|i| i.facts.personal_data_breach.is_breach())
        {
            let f = &inc.facts;
            let obs = inc.obligations(now)?;
            let find = |d: Duty| obs.iter().find(|o| o.duty == d);
            let cnil = find(Duty::Cnil);
            let ds = find(Duty::DataSubjects);
            entries.push(serde_json::json!({
                "incident": inc.id,
                "title": f.title,
                "awareness": rfc3339(&f.awareness),
                "occurrence": f.occurrence.as_ref().map(rfc3339),
                "nature": f.description,
                "categories": f.categories.iter().map(|c| c.label().get(lang).to_owned()).collect::<Vec<_>>(),
                "risk": f.personal_data_breach.as_str(),
                "risk_label": f.personal_data_breach.label().get(lang),
                "people_categories": f.personal_data.people_categories,
                "people_count": f.personal_data.people_count,
                "record_categories": f.personal_data.record_categories,
                "record_count": f.personal_data.record_count,
                "consequences": f.consequences,
                "measures_taken": f.actions.iter().map(|a| a.text.clone()).collect::<Vec<_>>(),
                "measures_proposed": f.measures_proposed,
                "cnil": cnil.map(|o| serde_json::json!({"status": o.status.as_str(), "status_label": o.status.label().get(lang), "reason": o.reason.get(lang), "due": o.due.as_ref().map(rfc3339), "sent_at": o.sent_at.as_ref().map(rfc3339), "reference": o.reference})),
                "cnil_late_reason": inc.sendings.iter().find(|s| s.duty == Duty::Cnil).and_then(|s| s.late_reason.clone()),
                "data_subjects": ds.map(|o| serde_json::json!({"status": o.status.as_str(), "status_label": o.status.label().get(lang), "reason": o.reason.get(lang), "sent_at": o.sent_at.as_ref().map(rfc3339)})),
                "status": inc.status.as_str(),
            }));
        }
        Ok(Register {
            facility: facility.clone(),
            name: name.to_owned(),
            lang,
            generated_at: now,
            entries,
        })
    }

    pub fn title(&self) -> String {
        if self.lang == Lang::Fr {
            format!(
                "Registre des violations de données — {} ({})",
                self.name, self.facility
            )
        } else {
            format!(
                "Personal-data breach register — {} ({})",
                self.name, self.facility
            )
        }
    }

    pub fn headers(&self) -> Vec<&'static str> {
        let fr = self.lang == Lang::Fr;
        let mut headers: Vec<&str> = COLUMNS
            .iter()
            .map(|(_, en, f)| if fr { *f } else { *en })
            .collect();
        headers.push("CNIL");
        headers.push(if fr {
            "Personnes informées"
        } else {
            "Data subjects"
        });
        headers
    }

    pub fn rows(&self) -> Vec<Vec<String>> {
        self.entries
            .iter()
            .map(|e| {
                // People read the labels; the JSON keeps the codes beside them.
                let mut r: Vec<String> = COLUMNS
                    .iter()
                    .map(|(k, _, _)| match *k {
                        "risk" => cell(&e["risk_label"]),
                        k => cell(&e[k]),
                    })
                    .collect();
                r.push(
                    format!(
                        "{} {}",
                        cell(&e["cnil"]["status_label"]),
                        cell(&e["cnil"]["reference"])
                    )
                    .trim()
                    .to_owned(),
                );
                r.push(cell(&e["data_subjects"]["status_label"]));
                r
            })
            .collect()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "facility": self.facility, "name": self.name, "basis": "GDPR art. 33(5)",
            "generated_at": self.generated_at.to_string(), "entries": self.entries,
        })
    }

    pub fn to_table(&self) -> String {
        format!(
            "{}\n\n{}",
            self.title(),
            hygie_report::table(&self.headers(), &self.rows())
        )
    }

    /// The register as CSV, through the one formula-safe writer: a cell whose text starts
    /// like a formula (a title or a consequence typed as `=...`) is neutralised.
    pub fn to_csv(&self) -> String {
        hygie_report::csv::table(&self.headers(), &self.rows())
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n\n", self.title());
        crate::draft::md_table(&mut out, &self.headers(), self.rows());
        out
    }

    /// The register as printable HTML (template `register.html`).
    pub fn to_html(&self) -> String {
        hygie_report::render(&RegisterPage {
            lang: self.lang,
            title: self.title(),
            headers: self.headers(),
            rows: self.rows(),
        })
    }
}

#[derive(askama::Template)]
#[template(path = "register.html")]
struct RegisterPage {
    lang: Lang,
    title: String,
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}
