//! `borg list --json REPO`: `{"archives": [{"name", "start", "time"}], "repository": {...}}`.
//! Archive times are the local time of the machine that ran borg (no offset): they are read in
//! this machine's time zone. The asset is the archive name without its trailing date
//! (`srv-pacs-2026-11-22T10:17:21` → `srv-pacs`), unless given.

use super::BackupRecord;
use crate::{CollectError, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct List {
    archives: Vec<Archive>,
    #[serde(default)]
    repository: Option<Repository>,
}

#[derive(Deserialize)]
struct Archive {
    name: String,
    /// The archive start (borg 1.x writes both `start` and `time`).
    time: String,
}

#[derive(Deserialize)]
struct Repository {
    #[serde(default)]
    location: String,
}

/// The archive name without a trailing `-YYYY-MM-DD...` date.
pub fn asset_of(name: &str) -> &str {
    let b = name.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'-'
            && b.len() >= i + 11
            && b[i + 1..i + 5].iter().all(u8::is_ascii_digit)
            && b[i + 5] == b'-'
            && b[i + 6..i + 8].iter().all(u8::is_ascii_digit)
            && b[i + 8] == b'-'
            && b[i + 9..i + 11].iter().all(u8::is_ascii_digit)
        {
            return &name[..i];
        }
    }
    name
}

pub fn parse(path: &Path, text: &str, asset: Option<&str>) -> Result<Vec<BackupRecord>> {
    let list: List = serde_json::from_str(text).map_err(|e| {
        CollectError::at(
            path,
            Some(e.line() as u64),
            format!("not borg list JSON: {e}"),
        )
    })?;
    let tz = jiff::tz::TimeZone::system();
    let job = match list.repository.as_ref().map(|r| r.location.as_str()) {
        Some(l) if !l.is_empty() => format!("borg:{l}"),
        _ => "borg".to_owned(),
    };
    list.archives
        .into_iter()
        .map(|a| {
            let at = a
                .time
                .parse::<jiff::civil::DateTime>()
                .ok()
                .and_then(|dt| dt.to_zoned(tz.clone()).ok())
                .map(|z| z.timestamp())
                .or_else(|| a.time.parse::<jiff::Timestamp>().ok())
                .ok_or_else(|| {
                    CollectError::at(
                        path,
                        None,
                        format!("archive {}: time '{}' is not a date", a.name, a.time),
                    )
                })?;
            Ok(BackupRecord::snapshot(
                asset.unwrap_or_else(|| asset_of(&a.name)),
                &job,
                format!("{}#{}", path.display(), a.name),
                "borg",
                at,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn asset_names_from_archive_names() {
        for (n, a) in [
            ("srv-pacs-2026-11-22T10:17:21", "srv-pacs"),
            ("srv-lab-2026-01-01", "srv-lab"),
            ("dpi", "dpi"),
            ("a-b-c", "a-b-c"),
        ] {
            assert_eq!(super::asset_of(n), a);
        }
    }
}
