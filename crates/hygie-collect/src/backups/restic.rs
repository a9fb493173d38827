//! `restic snapshots --json`: an array of snapshots with `time`, `hostname`, `tags`, `short_id`.

use super::BackupRecord;
use crate::{CollectError, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct Snapshot {
    time: String,
    hostname: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    short_id: String,
}

/// One record per snapshot; `asset` overrides the snapshot host name.
pub fn parse(path: &Path, text: &str, asset: Option<&str>) -> Result<Vec<BackupRecord>> {
    let snaps: Vec<Snapshot> = serde_json::from_str(text).map_err(|e| {
        CollectError::at(
            path,
            Some(e.line() as u64),
            format!("not restic snapshots JSON: {e}"),
        )
    })?;
    let job = format!(
        "restic:{}",
        path.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("repository")
    );
    snaps
        .into_iter()
        .map(|s| {
            let at = s.time.parse::<jiff::Timestamp>().map_err(|e| {
                CollectError::at(
                    path,
                    None,
                    format!("snapshot {}: time '{}': {e}", s.short_id, s.time),
                )
            })?;
            let mut r = BackupRecord::snapshot(
                asset.unwrap_or(&s.hostname),
                &job,
                format!("{}#{}", path.display(), s.short_id),
                "restic",
                at,
            );
            let tag = |t: &str| s.tags.iter().any(|x| x.eq_ignore_ascii_case(t));
            if !s.tags.is_empty() {
                r.immutable = Some(tag("immutable"));
                r.offline = Some(tag("offline"));
                r.offsite = Some(tag("offsite") || tag("off-site"));
            }
            Ok(r)
        })
        .collect()
}
