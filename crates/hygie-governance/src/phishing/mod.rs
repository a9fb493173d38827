//! Phishing-simulation campaigns from GoPhish exports, pseudonymised and aggregated.
//!
//! Accepted inputs, in GoPhish's own formats (models/result.go, models/campaign.go and the web
//! UI's CSV export):
//! - the **Results CSV** (`<campaign> - Results.csv`): `id,status,ip,latitude,longitude,send_date,
//!   reported,modified_date,email,first_name,last_name,position`;
//! - the **Raw Events CSV** (`<campaign> - Events.csv`): `campaign_id,email,time,message,details`;
//! - the **API JSON** of `GET /api/campaigns/{id}/results`: `{id, name, status, results[], timeline[]}`.
//!
//! Privacy by construction:
//! - `details` may hold what a target typed into the landing page (credentials): only the
//!   browser's `user-agent` and `address` are read from it, for the scanner filter; the rest,
//!   `payload` included, is dropped during parsing and never leaves this module;
//! - names, e-mail addresses, the tracking id (`id`/rid) and geolocation are not kept: a target
//!   becomes a keyed hash of its address ([`pseudonym`]) and a department;
//! - reports aggregate by department, merge departments smaller than a minimum group size, and
//!   count repeat clickers without naming them.

//!
//! [`import`] reads the exports; [`metrics`] pseudonymises what is kept and aggregates it.

mod import;
mod metrics;

pub use import::*;
pub use metrics::*;

/// An instant from RFC 3339 text, for the tests of the import and of the metrics.
#[cfg(test)]
fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("test instant")
}
