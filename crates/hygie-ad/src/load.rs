//! Reading an [`AuditConfig`] from a TOML file: unknown keys and unknown rule ids are errors that
//! name the file. Apart from `config` so that the rules read the thresholds and this module reads
//! the rules, without a circle.

use crate::config::AuditConfig;

#[derive(Debug, thiserror::Error)]
#[error("audit configuration '{path}': {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl AuditConfig {
    pub fn from_toml(path: &str, text: &str) -> Result<Self, ConfigError> {
        let cfg: AuditConfig = toml::from_str(text).map_err(|e| ConfigError {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        for r in &cfg.disabled_rules {
            if crate::rules::rule(r).is_none() {
                return Err(ConfigError {
                    path: path.to_string(),
                    message: format!("disabled_rules: unknown rule '{r}'"),
                });
            }
        }
        Ok(cfg)
    }

    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: p.clone(),
            message: e.to_string(),
        })?;
        Self::from_toml(&p, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_file_keeps_defaults() {
        let c = AuditConfig::from_toml("x.toml", "[thresholds]\ninactive_days = 90\n").unwrap();
        assert_eq!(c.thresholds.inactive_days, 90);
        assert_eq!(c.thresholds.krbtgt_max_age_days, 365);
    }

    #[test]
    fn unknown_keys_and_rules_are_errors() {
        let e = AuditConfig::from_toml("x.toml", "[thresholds]\ninactive_dayz = 90\n").unwrap_err();
        assert!(
            e.to_string().contains("x.toml") && e.to_string().contains("inactive_dayz"),
            "{e}"
        );
        let e = AuditConfig::from_toml("x.toml", "disabled_rules = [\"NOPE-1\"]\n").unwrap_err();
        assert!(e.to_string().contains("NOPE-1"));
        assert!(AuditConfig::from_toml("x.toml", "disabled_rules = [\"PWD-01\"]\n").is_ok());
    }
}
