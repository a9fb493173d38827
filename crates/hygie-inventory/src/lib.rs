//! The asset register of a facility, from the inventories it already produces: FusionInventory /
//! GLPI Agent XML ([`agent`]), OCS Inventory NG XML ([`agent`]), nmap XML scans ([`nmap`]), the
//! computers of an Active Directory snapshot ([`ad`]) and a documented CSV ([`csv`]). Each reader
//! turns its input into [`Observation`]s (one device as one source saw it); [`Register::absorb`]
//! merges them into one [`Asset`] per device; [`rules`] evaluates the inventory rules on the
//! register.
//!
//! **Merge key.** An observation joins the asset that shares, in this order: a MAC address (the
//! network card: what scans and agents both see, stable across renames), else the serial number
//! (firmware placeholders such as "To be filled by O.E.M." ignored), else the normalised host name
//! (lower case, first DNS label, no `$`: `PC-01$`, `pc-01.chu.local` and `PC-01` are one). An
//! observation with none of these (an nmap host without a MAC or a name, behind a router) joins
//! by IP address; otherwise it is a new asset. Interfaces that are not the device's own (loopback,
//! container bridges, veth) are dropped by the readers so they join nothing.
//!
//! **Conflicts** are reported, never resolved silently: the asset matched by MAC has another
//! serial or another name, or the observation's serial or name belongs to a different asset (two
//! assets are never fused automatically; the observation goes to the first key's asset). Each
//! conflict is kept with the sighting that revealed it.
//!
//! **Which source describes the device**: what runs on it (agents), then the directory, then the
//! facility's CSV, then a scan's guess ([`SourceKind::rank`]); a lower-ranked source only fills
//! what is unknown. Owner and zone come from the CSV. A device is a medical device when a scan's
//! device type, its maker ([`medical`]) or the CSV says so, and stays one.
//!
//! **Dates**: each asset keeps its first and last sighting and the last sighting by each kind of
//! source (for "not scanned / not inventoried within N days"). Software is the latest list of each
//! agent kind. The crate is pure: readers take bytes, the caller passes the current time.
//!
//! Every XML reader streams through one small walker (`xml`: errors name file, line and element;
//! an unclosed element is "truncated"); the CSV goes through hygie-collect's table reader. The
//! `ASSET-*` rules (source `inventory`) read hygie-collect's end-of-life table. Stored by
//! hygie-store's `inventory` (the register rewritten whole in the import's transaction with its
//! sightings, journal entry and check run); driven by `hygie inventory`.
//!
//! To add a source: a reader returning [`Observation`]s, a [`SourceKind`], a test with the real
//! tool's output.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod ad;
pub mod agent;
pub mod csv;
pub mod map;
pub mod medical;
pub mod model;
pub mod nmap;
pub mod register;
pub mod rules;
mod xml;

pub use model::{Category, Observation, OperatingSystem, Port, Software, SourceKind};
pub use register::{Asset, Conflict, MatchKey, Register, Sighting};

/// Bad input: always names the file, and the line and element when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {}{message}", line.map(|l| format!(":{l}")).unwrap_or_default(), element.as_ref().map(|e| format!("in <{e}>: ")).unwrap_or_default())]
pub struct InventoryError {
    pub file: String,
    pub line: Option<u64>,
    pub element: Option<String>,
    pub message: String,
}

impl InventoryError {
    pub fn at(file: &str, line: Option<u64>, message: impl Into<String>) -> Self {
        InventoryError {
            file: file.to_owned(),
            line,
            element: None,
            message: message.into(),
        }
    }

    pub fn at_element(file: &str, line: u64, element: Option<&str>, message: String) -> Self {
        InventoryError {
            file: file.to_owned(),
            line: Some(line),
            element: element.map(str::to_owned),
            message,
        }
    }
}

impl From<hygie_collect::CollectError> for InventoryError {
    fn from(e: hygie_collect::CollectError) -> Self {
        match e {
            hygie_collect::CollectError::Invalid {
                path,
                line,
                message,
            } => InventoryError::at(&path.display().to_string(), line, message),
            other => InventoryError::at("", None, other.to_string()),
        }
    }
}

/// Read one input file of `kind` from its bytes: the devices it shows.
pub fn read(
    kind: SourceKind,
    file: &str,
    bytes: &[u8],
) -> Result<Vec<Observation>, InventoryError> {
    match kind {
        SourceKind::FusionInventory | SourceKind::Ocs => Ok(vec![agent::read(kind, file, bytes)?]),
        SourceKind::Nmap => nmap::read(file, bytes),
        SourceKind::Ad => {
            let snapshot = hygie_ad::snapshot_from_ldif(bytes)
                .map_err(|e| InventoryError::at(file, None, format!("LDIF export: {e}")))?;
            Ok(ad::observations(file, &snapshot))
        }
        SourceKind::Csv => {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                let upto = &bytes[..e.valid_up_to()];
                let line = upto.iter().filter(|b| **b == b'\n').count() as u64 + 1;
                InventoryError::at(file, Some(line), "not valid UTF-8")
            })?;
            csv::read(file, text)
        }
    }
}
