//! Evidence files of an incident (issue 22): the content is kept by SHA-256 in
//! `evidence_blobs` (shared with the measures' evidence, identical content kept once), the
//! chain of custody (who added it, when, from where) in the incident's record, journalled as
//! `incident.evidence_file`.

use crate::journal::Actor;
use crate::{Result, Store, StoreError};
use hygie_incident::Incident;
use hygie_incident::evidence::EvidenceFile;
use sha2::{Digest, Sha256};

impl Store {
    /// Keep `content` by its SHA-256 and record its custody in incident `id`.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_incident_evidence_file(
        &self,
        id: &str,
        file_name: &str,
        content: &[u8],
        by: &str,
        from: &str,
        note: Option<String>,
        actor: &Actor,
    ) -> Result<Incident> {
        // As for a measure's evidence: a name that could disguise itself is refused.
        hygie_core::check_file_name("file_name", file_name.trim())
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let sha = hex::encode(Sha256::digest(content));
        let size = u64::try_from(content.len())
            .map_err(|_| StoreError::Invalid("file too large".into()))?;
        // The incident must exist before its content is kept.
        self.incident(id).await?;
        // Unjournalled on purpose: content-addressed and idempotent; the custody entry that makes
        // it reachable is journalled by the update below. Should that update fail, the blob is
        // unreferenced and harmless.
        let sha_ref = &sha;
        self.write(|tx| {
            Box::pin(async move {
                crate::plan::evidence::keep_blob(tx, sha_ref, size as i64, content).await?;
                Ok(())
            })
        })
        .await?;
        let now = jiff::Timestamp::now();
        self.update_incident(id, actor, "incident.evidence_file", |inc| {
            let file = EvidenceFile {
                sha256: sha.clone(),
                file_name: file_name.trim().to_owned(),
                size,
                added_by: by.trim().to_owned(),
                added_at: now,
                from: from.trim().to_owned(),
                note: note.clone(),
            };
            let details = file.to_json();
            inc.add_evidence_file(file)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            Ok::<_, StoreError>(details)
        })
        .await
    }
}
