//! People, reporting lines and role assignments, and the rules on them.
//!
//! The org chart comes from HR or the directory and is never trusted to be a tree: reporting
//! lines may loop or name a manager who is not in the file. Walking up the chain stops on both
//! and reports them instead of looping or failing.

use crate::{ImportError, columns, csv_records, field};
use hygie_core::Localized;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A member of staff. `id` is the facility's own stable key (login, employee number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The `id` of this person's manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The governance roles Hygie tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Data protection officer (DPO, GDPR art. 37).
    Dpo,
    /// Chief information security officer (RSSI) or security referent.
    Ciso,
    DeputyCiso,
    IncidentReferent,
    CrisisCell,
    HomologationAuthority,
    /// A cyber-security ambassador of one department.
    Ambassador,
    /// The head of the IT department (DSI): the DPO and the CISO must not report to them.
    ItHead,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Dpo,
        Role::Ciso,
        Role::DeputyCiso,
        Role::IncidentReferent,
        Role::CrisisCell,
        Role::HomologationAuthority,
        Role::Ambassador,
        Role::ItHead,
    ];

    /// Roles that must always be held.
    pub const MANDATORY: [Role; 5] = [
        Role::Dpo,
        Role::Ciso,
        Role::IncidentReferent,
        Role::CrisisCell,
        Role::HomologationAuthority,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dpo => "dpo",
            Role::Ciso => "ciso",
            Role::DeputyCiso => "deputy-ciso",
            Role::IncidentReferent => "incident-referent",
            Role::CrisisCell => "crisis-cell",
            Role::HomologationAuthority => "homologation-authority",
            Role::Ambassador => "ambassador",
            Role::ItHead => "it-head",
        }
    }

    pub fn label(self) -> Localized {
        match self {
            Role::Dpo => Localized::new(
                "data protection officer (DPO)",
                "délégué à la protection des données (DPO)",
            ),
            Role::Ciso => Localized::new("CISO", "RSSI"),
            Role::DeputyCiso => Localized::new("deputy CISO", "RSSI adjoint"),
            Role::IncidentReferent => Localized::new("incident referent", "référent incident SSI"),
            Role::CrisisCell => {
                Localized::new("crisis cell member", "membre de la cellule de crise")
            }
            Role::HomologationAuthority => {
                Localized::new("homologation authority", "autorité d'homologation")
            }
            Role::Ambassador => {
                Localized::new("cyber-security ambassador", "ambassadeur cybersécurité")
            }
            Role::ItHead => Localized::new(
                "head of the IT department",
                "directeur des systèmes d'information",
            ),
        }
    }

    /// The catalogue measure a vacancy of this role fails.
    pub fn measure(self) -> &'static str {
        match self {
            Role::Dpo => "GOV-08",
            Role::Ciso | Role::DeputyCiso => "GOV-01",
            Role::IncidentReferent => "GOV-03",
            Role::CrisisCell => "BCP-04",
            Role::HomologationAuthority => "IAM-12",
            Role::Ambassador => "AWR-04",
            Role::ItHead => "GOV-10",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = hygie_core::InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let k = s.trim().to_ascii_lowercase().replace(['_', ' '], "-");
        let r = match k.as_str() {
            "dpo" | "dpd" => Role::Dpo,
            "ciso" | "rssi" => Role::Ciso,
            "deputy-ciso" | "rssi-adjoint" => Role::DeputyCiso,
            "incident-referent" | "referent-incident" => Role::IncidentReferent,
            "crisis-cell" | "cellule-de-crise" => Role::CrisisCell,
            "homologation-authority" | "autorite-homologation" => Role::HomologationAuthority,
            "ambassador" | "ambassadeur" => Role::Ambassador,
            "it-head" | "dsi" => Role::ItHead,
            _ => {
                return Err(hygie_core::InvalidValue::new(
                    "role",
                    format!(
                        "'{s}' is not a role ({})",
                        Role::ALL.map(Role::as_str).join(", ")
                    ),
                ));
            }
        };
        Ok(r)
    }
}

/// A person holding a role from `start` to `end` (both inclusive; no end = open-ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub role: Role,
    pub person: String,
    /// For ambassadors: the department they cover (default: their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub start: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

impl Assignment {
    pub fn active_at(&self, d: Date) -> bool {
        self.start <= d && self.end.is_none_or(|e| d <= e)
    }
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Parse a people CSV: `id,name,function,department,reports_to,email` (only `id` and `name`
/// required; column order free). Duplicate ids are refused.
pub fn parse_people_csv(file: &str, text: &str) -> Result<Vec<Person>, ImportError> {
    let (header, rows) = csv_records(file, text)?;
    let [id, name, function, department, reports_to, email] = columns(
        &header,
        [
            "id",
            "name",
            "function",
            "department",
            "reports_to",
            "email",
        ],
    );
    if id.is_none() || name.is_none() {
        return Err(ImportError::line(
            file,
            1,
            "the header must have the columns id and name (and optionally function, department, reports_to, email)",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for (line, r) in rows {
        let pid = field(&r, id).ok_or_else(|| ImportError::line(file, line, "empty id"))?;
        let pname = field(&r, name).ok_or_else(|| ImportError::line(file, line, "empty name"))?;
        if !seen.insert(pid.to_owned()) {
            return Err(ImportError::line(
                file,
                line,
                format!("duplicate id '{pid}'"),
            ));
        }
        out.push(Person {
            id: pid.to_owned(),
            name: pname.to_owned(),
            function: field(&r, function).map(str::to_owned),
            department: field(&r, department).map(str::to_owned),
            reports_to: field(&r, reports_to).map(str::to_owned),
            email: field(&r, email).map(str::to_owned),
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct AdSnapshot {
    users: Vec<AdUser>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdUser {
    #[serde(alias = "sAMAccountName", alias = "sam_account_name")]
    sam_account_name: String,
    #[serde(default, alias = "dn")]
    distinguished_name: Option<String>,
    #[serde(default, alias = "display_name", alias = "cn")]
    display_name: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    department: Option<String>,
    /// The manager's distinguished name (AD `manager` attribute).
    #[serde(default)]
    manager: Option<String>,
    #[serde(default, alias = "email")]
    mail: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// Parse an AD snapshot in JSON: `{"users": [{"sAMAccountName", "distinguishedName", "displayName",
/// "title", "department", "manager" (a DN), "mail", "enabled"}]}`. Unknown fields are ignored so
/// a fuller snapshot works; disabled accounts are skipped; `manager` DNs are resolved to the
/// account names of the snapshot (a manager outside it stays as the DN, reported as missing).
pub fn parse_ad_snapshot(file: &str, text: &str) -> Result<Vec<Person>, ImportError> {
    let snap: AdSnapshot = serde_json::from_str(text).map_err(|e| ImportError::json(file, &e))?;
    let by_dn: BTreeMap<String, String> = snap
        .users
        .iter()
        .filter_map(|u| {
            u.distinguished_name
                .as_ref()
                .map(|dn| (norm(dn), u.sam_account_name.clone()))
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for u in snap.users {
        if u.enabled == Some(false) {
            continue;
        }
        if u.sam_account_name.trim().is_empty() {
            return Err(ImportError::file(
                file,
                "a user has an empty sAMAccountName",
            ));
        }
        if !seen.insert(u.sam_account_name.clone()) {
            return Err(ImportError::file(
                file,
                format!("duplicate sAMAccountName '{}'", u.sam_account_name),
            ));
        }
        let reports_to = u
            .manager
            .filter(|m| !m.trim().is_empty())
            .map(|m| by_dn.get(&norm(&m)).cloned().unwrap_or(m));
        out.push(Person {
            name: u
                .display_name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| u.sam_account_name.clone()),
            id: u.sam_account_name,
            function: u.title,
            department: u.department,
            reports_to,
            email: u.mail,
        });
    }
    Ok(out)
}

/// Parse a role assignments CSV: `role,person,department,start,end`.
pub fn parse_roles_csv(file: &str, text: &str) -> Result<Vec<Assignment>, ImportError> {
    let (header, rows) = csv_records(file, text)?;
    let [role, person, department, start, end] =
        columns(&header, ["role", "person", "department", "start", "end"]);
    if role.is_none() || person.is_none() || start.is_none() {
        return Err(ImportError::line(
            file,
            1,
            "the header must have the columns role, person and start (and optionally department, end)",
        ));
    }
    let mut out = Vec::new();
    for (line, r) in rows {
        let at = |m: String| ImportError::line(file, line, m);
        let rl: Role = field(&r, role)
            .unwrap_or("")
            .parse()
            .map_err(|e: hygie_core::InvalidValue| at(e.to_string()))?;
        let p = field(&r, person).ok_or_else(|| at("empty person".into()))?;
        let s = hygie_core::parse_date("start", field(&r, start).unwrap_or(""))
            .map_err(|e| at(e.to_string()))?;
        let e = match field(&r, end) {
            Some(e) => Some(hygie_core::parse_date("end", e).map_err(|e| at(e.to_string()))?),
            None => None,
        };
        if e.is_some_and(|e| e < s) {
            return Err(at("end is before start".into()));
        }
        out.push(Assignment {
            role: rl,
            person: p.to_owned(),
            department: field(&r, department).map(str::to_owned),
            start: s,
            end: e,
        });
    }
    Ok(out)
}

/// Thresholds of the governance rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// A mandatory role whose holders all leave within this many days is a finding.
    pub expiry_warning_days: i32,
    /// Ambassadors must have been trained by the CISO within this many months.
    pub ambassador_training_months: i32,
    /// Share of staff who must have attended awareness within the last 12 months (0-1).
    pub awareness_min_ratio: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            expiry_warning_days: 60,
            ambassador_training_months: 12,
            awareness_min_ratio: 0.8,
        }
    }
}

/// Where a DPO or CISO stands relative to the IT head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportingPath {
    pub person: String,
    /// The chain of managers' ids walked, nearest first.
    pub chain: Vec<String>,
    /// How many levels below the IT head (1 = direct report), when under them.
    pub levels_below_it_head: Option<usize>,
    /// The walk stopped on a manager that is not in the org chart.
    pub missing_manager: Option<String>,
    /// The walk stopped because the chain loops back to this id.
    pub cycle_at: Option<String>,
}

/// The org chart of a facility with its role assignments, at one date.
pub struct Org<'a> {
    pub(crate) people: BTreeMap<&'a str, &'a Person>,
    roles: &'a [Assignment],
    as_of: Date,
}

impl<'a> Org<'a> {
    pub fn new(people: &'a [Person], roles: &'a [Assignment], as_of: Date) -> Org<'a> {
        Org {
            people: people.iter().map(|p| (p.id.as_str(), p)).collect(),
            roles,
            as_of,
        }
    }

    pub fn holders(&self, role: Role, at: Date) -> Vec<&'a Assignment> {
        self.roles
            .iter()
            .filter(|a| a.role == role && a.active_at(at))
            .collect()
    }

    pub(crate) fn holds(&self, person: &str, role: Role, at: Date) -> bool {
        self.roles
            .iter()
            .any(|a| a.role == role && a.person == person && a.active_at(at))
    }

    pub fn name_of(&self, id: &str) -> String {
        self.people
            .get(id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_owned())
    }

    /// Walk up from `person` to the top, stopping on a cycle or a missing manager; note the depth
    /// at which an IT head is met.
    pub fn reporting_path(&self, person: &str) -> ReportingPath {
        let mut path = ReportingPath {
            person: person.to_owned(),
            chain: Vec::new(),
            levels_below_it_head: None,
            missing_manager: None,
            cycle_at: None,
        };
        let mut seen = BTreeSet::from([person.to_owned()]);
        let mut current = person.to_owned();
        // Bounded by the number of people: each step visits a new one.
        for depth in 1..=self.people.len() + 1 {
            let Some(p) = self.people.get(current.as_str()) else {
                break;
            };
            let Some(mgr) = p.reports_to.as_deref() else {
                break;
            };
            if !seen.insert(mgr.to_owned()) {
                path.cycle_at = Some(mgr.to_owned());
                break;
            }
            if !self.people.contains_key(mgr) {
                path.missing_manager = Some(mgr.to_owned());
                break;
            }
            path.chain.push(mgr.to_owned());
            if path.levels_below_it_head.is_none() && self.holds(mgr, Role::ItHead, self.as_of) {
                path.levels_below_it_head = Some(depth);
            }
            current = mgr.to_owned();
        }
        path
    }

    /// The last day a role stays held from `as_of` on, following successive assignments;
    /// `None` when it is held open-ended, `Some(d)` with `d < as_of` when vacant.
    pub fn held_until(&self, role: Role) -> Option<Date> {
        let mut day = self.as_of;
        // Each step moves to the end of a distinct assignment: bounded by their count.
        for _ in 0..=self.roles.len() {
            let active = self.holders(role, day);
            if active.is_empty() {
                return Some(day.yesterday().unwrap_or(day));
            }
            if active.iter().any(|a| a.end.is_none()) {
                return None;
            }
            let last = active.iter().filter_map(|a| a.end).max()?;
            match last.tomorrow() {
                Ok(next) => day = next,
                Err(_) => return None,
            }
        }
        Some(day)
    }

    /// Departments of the org chart (as written, first spelling kept), keyed case-insensitively.
    pub fn departments(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for p in self.people.values() {
            if let Some(d) = p.department.as_deref().filter(|d| !d.trim().is_empty()) {
                out.entry(norm(d)).or_insert_with(|| d.trim().to_owned());
            }
        }
        out
    }

    /// The department an ambassador assignment covers.
    fn covered_department(&self, a: &Assignment) -> Option<String> {
        a.department
            .clone()
            .or_else(|| {
                self.people
                    .get(a.person.as_str())
                    .and_then(|p| p.department.clone())
            })
            .map(|d| norm(&d))
    }
}

/// The ambassador coverage of departments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmbassadorCoverage {
    pub departments: usize,
    pub covered: usize,
    /// covered / departments (1.0 when there is no department).
    pub ratio: f64,
    pub uncovered: Vec<String>,
}

pub fn ambassador_coverage(org: &Org<'_>) -> AmbassadorCoverage {
    let deps = org.departments();
    let covered: BTreeSet<String> = org
        .holders(Role::Ambassador, org.as_of)
        .iter()
        .filter_map(|a| org.covered_department(a))
        .collect();
    let uncovered: Vec<String> = deps
        .iter()
        .filter(|(k, _)| !covered.contains(*k))
        .map(|(_, v)| v.clone())
        .collect();
    let n = deps.len();
    let c = n - uncovered.len();
    AmbassadorCoverage {
        departments: n,
        covered: c,
        ratio: if n == 0 { 1.0 } else { c as f64 / n as f64 },
        uncovered,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn d(s: &str) -> Date {
        s.parse().unwrap_or(Date::MIN)
    }

    pub(crate) fn person(id: &str, dept: &str, mgr: Option<&str>) -> Person {
        Person {
            id: id.into(),
            name: format!("Name {id}"),
            function: None,
            department: Some(dept.into()),
            reports_to: mgr.map(str::to_owned),
            email: None,
        }
    }

    pub(crate) fn role(r: Role, p: &str, start: &str, end: Option<&str>) -> Assignment {
        Assignment {
            role: r,
            person: p.into(),
            department: None,
            start: d(start),
            end: end.map(d),
        }
    }

    #[test]
    fn reporting_path_handles_cycles_missing_managers_and_depth() {
        let people = vec![
            person("ceo", "Direction", None),
            person("dsi", "IT", Some("ceo")),
            person("it-mgr", "IT", Some("dsi")),
            person("dpo", "Legal", Some("it-mgr")),
            person("a", "X", Some("b")),
            person("b", "X", Some("c")),
            person("c", "X", Some("a")),
            person("lost", "Y", Some("ghost")),
        ];
        let roles = vec![role(Role::ItHead, "dsi", "2020-01-01", None)];
        let org = Org::new(&people, &roles, d("2026-01-01"));
        let p = org.reporting_path("dpo");
        assert_eq!(p.levels_below_it_head, Some(2));
        assert_eq!(p.chain, vec!["it-mgr", "dsi", "ceo"]);
        let p = org.reporting_path("a");
        assert_eq!(p.cycle_at.as_deref(), Some("a"));
        assert_eq!(p.levels_below_it_head, None);
        let p = org.reporting_path("lost");
        assert_eq!(p.missing_manager.as_deref(), Some("ghost"));
        // The IT head met only after the assignment started.
        let org = Org::new(&people, &roles, d("2019-01-01"));
        assert_eq!(org.reporting_path("dpo").levels_below_it_head, None);
    }

    #[test]
    fn held_until_follows_successive_assignments() {
        let roles = vec![
            role(Role::Ciso, "a", "2020-01-01", Some("2026-03-31")),
            role(Role::Ciso, "b", "2026-04-01", Some("2026-12-31")),
            role(Role::Dpo, "c", "2020-01-01", None),
        ];
        let org = Org::new(&[], &roles, d("2026-01-15"));
        assert_eq!(org.held_until(Role::Ciso), Some(d("2026-12-31")));
        assert_eq!(org.held_until(Role::Dpo), None);
        assert_eq!(
            org.held_until(Role::IncidentReferent),
            Some(d("2026-01-14"))
        );
    }

    #[test]
    fn people_csv_errors_name_the_line() {
        let e = parse_people_csv("p.csv", "id,name\na,A\na,B\n").unwrap_err();
        assert_eq!(e.to_string(), "p.csv: line 3: duplicate id 'a'");
        let e = parse_people_csv("p.csv", "id,name\na,A\nb\n").unwrap_err();
        assert!(e.to_string().starts_with("p.csv: line 3:"), "{e}");
        let e = parse_roles_csv("r.csv", "role,person,start\ndpo,a,2026-02-30\n").unwrap_err();
        assert!(e.to_string().starts_with("r.csv: line 2:"), "{e}");
    }

    #[test]
    fn ad_snapshot_resolves_manager_dns() {
        let j = r#"{"users":[
          {"sAMAccountName":"boss","distinguishedName":"CN=Boss,OU=U,DC=chu,DC=test","displayName":"The Boss","department":"Direction"},
          {"sAMAccountName":"emp","distinguishedName":"CN=Emp,OU=U,DC=chu,DC=test","manager":"cn=boss,ou=u,dc=chu,dc=test","department":"Care"},
          {"sAMAccountName":"old","enabled":false},
          {"sAMAccountName":"ext","manager":"CN=Nobody,DC=chu,DC=test"}]}"#;
        let p = parse_ad_snapshot("ad.json", j).unwrap_or_default();
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].reports_to.as_deref(), Some("boss"));
        assert_eq!(p[0].name, "The Boss");
        assert_eq!(p[2].reports_to.as_deref(), Some("CN=Nobody,DC=chu,DC=test"));
        let e = parse_ad_snapshot("ad.json", "{\"users\": [\n{\"x\": 1}]}").unwrap_err();
        assert!(e.to_string().starts_with("ad.json: line 2:"), "{e}");
    }
}
