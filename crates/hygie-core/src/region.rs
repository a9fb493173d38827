//! The 18 regions of the regional health agencies (ARS): 13 in mainland France and Corsica, 5 overseas.

use crate::InvalidValue;
use serde::Serialize;

/// An ARS region, identified by a short code (`IDF`) or its INSEE region code (`11`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub struct Region(usize);

struct RegionInfo {
    code: &'static str,
    insee: &'static str,
    name: &'static str,
    departements: &'static [&'static str],
}

// Source: INSEE Code officiel géographique 2024 (regions and their départements).
// The 19th entry is the demo region `hygie demo` seeds, kept apart from the 18 real ones.
const REGIONS: [RegionInfo; 19] = [
    RegionInfo {
        code: "ARA",
        insee: "84",
        name: "Auvergne-Rhône-Alpes",
        departements: &[
            "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
        ],
    },
    RegionInfo {
        code: "BFC",
        insee: "27",
        name: "Bourgogne-Franche-Comté",
        departements: &["21", "25", "39", "58", "70", "71", "89", "90"],
    },
    RegionInfo {
        code: "BRE",
        insee: "53",
        name: "Bretagne",
        departements: &["22", "29", "35", "56"],
    },
    RegionInfo {
        code: "CVL",
        insee: "24",
        name: "Centre-Val de Loire",
        departements: &["18", "28", "36", "37", "41", "45"],
    },
    RegionInfo {
        code: "COR",
        insee: "94",
        name: "Corse",
        departements: &["2A", "2B"],
    },
    RegionInfo {
        code: "GES",
        insee: "44",
        name: "Grand Est",
        departements: &["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"],
    },
    RegionInfo {
        code: "HDF",
        insee: "32",
        name: "Hauts-de-France",
        departements: &["02", "59", "60", "62", "80"],
    },
    RegionInfo {
        code: "IDF",
        insee: "11",
        name: "Île-de-France",
        departements: &["75", "77", "78", "91", "92", "93", "94", "95"],
    },
    RegionInfo {
        code: "NOR",
        insee: "28",
        name: "Normandie",
        departements: &["14", "27", "50", "61", "76"],
    },
    RegionInfo {
        code: "NAQ",
        insee: "75",
        name: "Nouvelle-Aquitaine",
        departements: &[
            "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
        ],
    },
    RegionInfo {
        code: "OCC",
        insee: "76",
        name: "Occitanie",
        departements: &[
            "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
        ],
    },
    RegionInfo {
        code: "PDL",
        insee: "52",
        name: "Pays de la Loire",
        departements: &["44", "49", "53", "72", "85"],
    },
    RegionInfo {
        code: "PAC",
        insee: "93",
        name: "Provence-Alpes-Côte d'Azur",
        departements: &["04", "05", "06", "13", "83", "84"],
    },
    RegionInfo {
        code: "GUA",
        insee: "01",
        name: "Guadeloupe",
        departements: &["971", "977", "978"],
    },
    RegionInfo {
        code: "MTQ",
        insee: "02",
        name: "Martinique",
        departements: &["972"],
    },
    RegionInfo {
        code: "GUY",
        insee: "03",
        name: "Guyane",
        departements: &["973"],
    },
    RegionInfo {
        code: "REU",
        insee: "04",
        name: "La Réunion",
        departements: &["974"],
    },
    RegionInfo {
        code: "MAY",
        insee: "06",
        name: "Mayotte",
        departements: &["976"],
    },
    RegionInfo {
        code: "DEMO",
        insee: "00",
        name: "Région de démonstration / Demo region",
        departements: &[],
    },
];
const REAL_REGIONS: usize = 18;

impl Region {
    /// The 18 ARS regions (not the demo region).
    pub fn all() -> impl Iterator<Item = Region> {
        (0..REAL_REGIONS).map(Region)
    }

    /// The clearly labelled region that `hygie demo` fills, never mixed with real data.
    pub fn demo() -> Region {
        Region(REAL_REGIONS)
    }

    pub fn is_demo(self) -> bool {
        self.0 == REAL_REGIONS
    }

    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let t = s.trim();
        REGIONS
            .iter()
            .position(|r| {
                r.code.eq_ignore_ascii_case(t) || r.insee == t || r.name.eq_ignore_ascii_case(t)
            })
            .map(Region)
            .ok_or_else(|| {
                let codes: Vec<&str> = REGIONS.iter().take(REAL_REGIONS).map(|r| r.code).collect();
                InvalidValue::new(
                    "region",
                    format!("'{s}' is not an ARS region (one of {})", codes.join(", ")),
                )
            })
    }

    pub fn code(self) -> &'static str {
        REGIONS[self.0].code
    }

    pub fn insee_code(self) -> &'static str {
        REGIONS[self.0].insee
    }

    pub fn name(self) -> &'static str {
        REGIONS[self.0].name
    }

    /// Whether a département (as a FINESS number starts) lies in this region.
    pub fn contains_departement(self, dept: &str) -> bool {
        REGIONS[self.0].departements.contains(&dept)
    }

    /// The region a département belongs to.
    pub fn of_departement(dept: &str) -> Option<Region> {
        REGIONS
            .iter()
            .position(|r| r.departements.contains(&dept))
            .map(Region)
    }
}

impl From<Region> for &'static str {
    fn from(r: Region) -> Self {
        r.code()
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighteen_regions_cover_every_departement_once() {
        assert_eq!(Region::all().count(), 18);
        let mut seen = std::collections::BTreeSet::new();
        for r in REGIONS.iter() {
            for d in r.departements {
                assert!(seen.insert(*d), "{d} twice");
            }
        }
        // 96 mainland départements (2A/2B replace 20) plus the overseas ones listed.
        assert_eq!(seen.iter().filter(|d| d.len() == 2).count(), 96);
    }

    #[test]
    fn parse_by_code_insee_or_name() {
        assert_eq!(Region::parse("idf").unwrap().code(), "IDF");
        assert_eq!(Region::parse("11").unwrap().code(), "IDF");
        assert_eq!(Region::parse("Corse").unwrap().code(), "COR");
        assert_eq!(Region::of_departement("2A").unwrap().code(), "COR");
        assert!(Region::parse("XYZ").is_err());
        assert!(Region::parse("demo").unwrap().is_demo());
        assert!(!Region::all().any(Region::is_demo));
    }
}
