//! Recognising connected medical devices: by the scan's device type ("medical" in nmap's class),
//! by the maker (`data/medical-makers.toml`: IEEE OUIs and organisation names, each with its
//! source), or because the facility's list says so (the CSV's `category = medical`).

use crate::model::Observation;
use serde::Deserialize;

/// The bundled makers table.
pub const MAKERS: &str = include_str!("../data/medical-makers.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maker {
    pub id: String,
    pub name: String,
    /// Lower-case parts of the organisation name as registries and scanners spell it.
    pub names: Vec<String>,
    /// IEEE OUIs (six hex digits, upper case).
    pub oui: Vec<String>,
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    maker: Vec<Maker>,
}

/// The makers of medical devices.
#[derive(Debug, Clone)]
pub struct Makers(pub Vec<Maker>);

impl Makers {
    /// The bundled table (its validity is a test of this crate).
    pub fn bundled() -> Makers {
        Makers::parse(MAKERS).unwrap_or_else(|_| Makers(Vec::new()))
    }

    pub fn parse(text: &str) -> Result<Makers, String> {
        let t: Table = toml::from_str(text).map_err(|e| e.to_string())?;
        Ok(Makers(t.maker))
    }

    /// The maker of a medical device this observation shows, if any.
    pub fn of(&self, o: &Observation) -> Option<&Maker> {
        let texts: Vec<String> = o
            .hints
            .iter()
            .cloned()
            .chain(o.manufacturer.iter().map(|m| m.to_lowercase()))
            .collect();
        let ouis: Vec<String> = o
            .macs
            .iter()
            .map(|m| m.replace(':', "")[..6].to_ascii_uppercase())
            .collect();
        self.0.iter().find(|m| {
            m.oui.iter().any(|x| ouis.contains(x))
                || m.names
                    .iter()
                    .any(|n| texts.iter().any(|t| t.contains(n.as_str())))
        })
    }
}

/// Whether a scan's device type names a medical device.
pub fn medical_hint(o: &Observation) -> bool {
    o.hints.iter().any(|h| h.contains("medical"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_bundled_table_is_valid() {
        let m = Makers::parse(MAKERS).unwrap();
        assert!(m.0.len() >= 20);
        let mut ids = BTreeSet::new();
        let mut ouis = BTreeSet::new();
        for x in &m.0 {
            assert!(ids.insert(x.id.clone()), "duplicate id {}", x.id);
            assert!(x.source.starts_with("https://"), "{}", x.id);
            assert!(!x.names.is_empty(), "{}", x.id);
            for n in &x.names {
                assert_eq!(*n, n.to_lowercase(), "{}", x.id);
            }
            for o in &x.oui {
                assert!(
                    o.len() == 6
                        && o.chars()
                            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
                    "{}: {o}",
                    x.id
                );
                assert!(ouis.insert(o.clone()), "duplicate OUI {o}");
            }
        }
    }

    #[test]
    fn recognised_by_oui_or_name() {
        let m = Makers::bundled();
        let mut o = Observation {
            macs: vec!["00:10:5d:01:02:03".into()],
            ..Default::default()
        };
        assert_eq!(m.of(&o).map(|x| x.id.as_str()), Some("draeger"));
        o.macs = vec!["02:00:00:00:00:01".into()];
        assert!(m.of(&o).is_none());
        o.manufacturer = Some("GE Healthcare".into());
        assert_eq!(m.of(&o).map(|x| x.id.as_str()), Some("ge-healthcare"));
    }
}
