//! The mapping from what an identity source says about an account (a directory group, a value of
//! an OpenID Connect claim) to a Hygie role and binding, shared by the directory login
//! (`directory`) and single sign-on (`oidc`): one model, one set of checks.
//!
//! A mapping is a list read in order; the first entry whose value the account has decides, so an
//! administrator lists the most specific values first. An account matching no entry is refused.
//! Every entry is checked when the server starts (role, binding allowed for the role, facilities
//! and regions well formed), so that a mistake stops `serve` with its entry named.

use hygie_core::{Finess, Region};
use hygie_store::{Binding, Role};

/// One entry: accounts with `value` (a group's distinguished name, a claim's value) get `role`
/// over `binding`.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub value: String,
    pub role: Role,
    pub binding: Binding,
}

impl Mapping {
    /// Check one `[[map]]` entry as the configuration file gives it; the error says what is
    /// wrong (the caller names the entry).
    pub fn parse(
        value: &str,
        role: &str,
        facilities: &[String],
        region: Option<&str>,
    ) -> Result<Mapping, String> {
        let role = Role::parse(role).map_err(|e| e.to_string())?;
        let binding = match (region, facilities.is_empty()) {
            (Some(_), false) => {
                return Err("give either facilities or a region, not both / indiquez des établissements ou une région, pas les deux".into());
            }
            (Some(r), true) => Binding::Region {
                region: Region::parse(r).map_err(|e| e.to_string())?,
            },
            (None, _) => Binding::Facilities {
                facilities: facilities
                    .iter()
                    .map(|x| Finess::parse(x))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?,
            },
        };
        binding.check_for(role).map_err(|e| e.to_string())?;
        Ok(Mapping {
            value: value.trim().to_owned(),
            role,
            binding,
        })
    }
}

/// The entry that decides for an account, given how a value of the account matches an entry's.
pub fn decide<'a>(
    maps: &'a [Mapping],
    values: &[String],
    same: impl Fn(&str, &str) -> bool,
) -> Option<&'a Mapping> {
    maps.iter()
        .find(|m| values.iter().any(|v| same(v, &m.value)))
}

/// Every facility a mapping names (the server checks they exist before serving).
pub fn facilities(maps: &[Mapping]) -> impl Iterator<Item = &Finess> {
    maps.iter().flat_map(|m| match &m.binding {
        Binding::Facilities { facilities } => facilities.as_slice(),
        _ => &[],
    })
}
