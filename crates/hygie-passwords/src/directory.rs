//! Enabled and privileged status of accounts, from the directory.
//!
//! Two inputs until the AD audit crate publishes its snapshot type:
//! - JSON: `{"accounts": [{"sam_account_name": "alice", "enabled": true, "privileged": false}]}`
//!   or the bare array; the name key may also be `sAMAccountName`, `account` or `name`; unknown
//!   keys are ignored so that a richer AD snapshot can be passed as is;
//! - CSV: a header `account,enabled,privileged` then one line per account, booleans written
//!   `true/false`, `yes/no`, `1/0` (case-insensitive).
//!
//! Names match the dump's sAMAccountName case-insensitively, ignoring any domain prefix.

use serde::Deserialize;
use std::collections::HashMap;

/// What the directory says about one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountStatus {
    pub enabled: bool,
    pub privileged: bool,
}

/// Status of accounts by lowercase sAMAccountName.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    by_name: HashMap<String, AccountStatus>,
}

/// A directory snapshot that cannot be read: at a line of the CSV, or the JSON as a whole.
pub type DirectoryError = crate::input::InputError;

#[derive(Deserialize)]
struct JsonAccount {
    #[serde(
        alias = "sAMAccountName",
        alias = "account",
        alias = "name",
        alias = "samAccountName"
    )]
    sam_account_name: String,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    privileged: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonSnapshot {
    Wrapped { accounts: Vec<JsonAccount> },
    Bare(Vec<JsonAccount>),
}

impl Directory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: &str, status: AccountStatus) {
        self.by_name
            .insert(strip_domain(name).to_lowercase(), status);
    }

    pub fn get(&self, name: &str) -> Option<AccountStatus> {
        self.by_name
            .get(&strip_domain(name).to_lowercase())
            .copied()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Read a JSON snapshot. A missing `enabled` counts as enabled, a missing `privileged` as not
    /// privileged.
    pub fn from_json(text: &str, source_name: &str) -> Result<Directory, DirectoryError> {
        let snap: JsonSnapshot = serde_json::from_str(text).map_err(|e| {
            DirectoryError::file(
                source_name,
                format!(
                    "not an account snapshot ({e}); expected {{\"accounts\": [{{\"sam_account_name\", \"enabled\", \"privileged\"}}]}}"
                ),
            )
        })?;
        let accounts = match snap {
            JsonSnapshot::Wrapped { accounts } | JsonSnapshot::Bare(accounts) => accounts,
        };
        let mut d = Directory::new();
        for a in accounts {
            d.insert(
                &a.sam_account_name,
                AccountStatus {
                    enabled: a.enabled.unwrap_or(true),
                    privileged: a.privileged.unwrap_or(false),
                },
            );
        }
        Ok(d)
    }

    /// Read a CSV `account,enabled,privileged` (header required).
    pub fn from_csv(text: &str, source_name: &str) -> Result<Directory, DirectoryError> {
        let err = |line: usize, message: String| DirectoryError::line(source_name, line, message);
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((hl, header)) = lines.next() else {
            return Err(err(
                1,
                "empty file; expected a header `account,enabled,privileged`".into(),
            ));
        };
        let cols: Vec<String> = header
            .split(',')
            .map(|c| c.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let find = |name: &str| cols.iter().position(|c| c == name);
        let (Some(ia), Some(ie), Some(ip)) = (find("account"), find("enabled"), find("privileged"))
        else {
            return Err(err(
                hl + 1,
                "header must name the columns account, enabled and privileged".into(),
            ));
        };
        let mut d = Directory::new();
        for (i, line) in lines {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != cols.len() {
                return Err(err(
                    i + 1,
                    format!("{} fields, the header has {}", fields.len(), cols.len()),
                ));
            }
            let name = fields[ia];
            if name.is_empty() {
                return Err(err(i + 1, "empty account name".into()));
            }
            let enabled = parse_bool(fields[ie])
                .ok_or_else(|| err(i + 1, "column enabled is not a boolean".into()))?;
            let privileged = parse_bool(fields[ip])
                .ok_or_else(|| err(i + 1, "column privileged is not a boolean".into()))?;
            d.insert(
                name,
                AccountStatus {
                    enabled,
                    privileged,
                },
            );
        }
        Ok(d)
    }

    /// JSON if the text starts with `{` or `[`, CSV otherwise.
    pub fn parse(text: &str, source_name: &str) -> Result<Directory, DirectoryError> {
        match text.trim_start().chars().next() {
            Some('{') | Some('[') => Self::from_json(text, source_name),
            _ => Self::from_csv(text, source_name),
        }
    }
}

fn strip_domain(name: &str) -> &str {
    name.rsplit_once('\\').map_or(name, |(_, n)| n)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "oui" | "y" => Some(true),
        "false" | "no" | "0" | "non" | "n" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_forms() {
        let status = |enabled, privileged| {
            Some(AccountStatus {
                enabled,
                privileged,
            })
        };
        let csv =
            "account,enabled,privileged\nalice,true,false\nCHU\\Adm_Alice,yes,1\n\nsvc,0,no\n";
        let d = Directory::parse(csv, "s.csv").expect("valid csv");
        assert_eq!(d.get("ALICE"), status(true, false));
        assert_eq!(d.get("adm_alice"), status(true, true));
        assert_eq!(d.get("CHU\\svc"), status(false, false));
        assert_eq!(d.get("nobody"), None);

        let json = r#"{"accounts":[{"sAMAccountName":"adm_alice","enabled":true,"privileged":true,"dn":"x"},{"account":"bob"}]}"#;
        let d = Directory::parse(json, "s.json").expect("valid json");
        assert_eq!(d.get("adm_alice"), status(true, true));
        assert_eq!(d.get("bob"), status(true, false));
        let bare = r#"[{"name":"x","enabled":false}]"#;
        assert_eq!(
            Directory::parse(bare, "b.json")
                .expect("bare array")
                .get("x")
                .map(|s| s.enabled),
            Some(false)
        );
    }

    #[test]
    fn csv_errors_name_the_line() {
        for (text, want) in [
            ("", "line 1: empty file"),
            ("name,enabled\n", "line 1: header must name"),
            (
                "account,enabled,privileged\nalice,true\n",
                "line 2: 2 fields",
            ),
            (
                "account,enabled,privileged\nalice,true,false\nbob,maybe,false\n",
                "line 3: column enabled",
            ),
            (
                "account,enabled,privileged\n,true,false\n",
                "line 2: empty account name",
            ),
        ] {
            let e = Directory::parse(text, "s.csv").expect_err(want).to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        let e = Directory::parse("{\"accounts\": 3}", "s.json")
            .expect_err("bad json")
            .to_string();
        assert!(e.starts_with("s.json: not an account snapshot"), "{e}");
    }
}
