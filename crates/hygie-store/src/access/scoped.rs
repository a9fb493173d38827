//! Authorisation in the data layer: every read and write the web makes goes through a `Scoped`
//! view, built from the caller's `Access`. A facility outside the caller's binding is reported as
//! not found (its existence is not revealed); an action the caller's role does not allow within
//! the binding is refused as forbidden.

use crate::access::tokens::{ApiToken, TokenAccess};
use crate::access::users::{Binding, Role, User};
use crate::{Actor, DeclarationRecord, EvidenceItem, Result, Store, StoreError};
use hygie_core::journal::JournalEntry;
use hygie_core::plan::RegionStatus;
use hygie_core::{
    Catalog, CheckRun, DeclaredStatus, Facility, FacilityStatus, Finess, MeasureId, Region,
};
use serde::Serialize;

/// Who is asking and what they may do: built from a logged-in user or an API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    pub actor: String,
    /// The user's id, when the caller is a logged-in user (not a token).
    pub user_id: Option<i64>,
    pub binding: Binding,
    pub role: Option<Role>,
    pub write: bool,
    pub journal: bool,
    pub tokens: bool,
    pub users: bool,
}

impl Access {
    pub fn for_user(u: &User) -> Access {
        Access {
            actor: format!("web:{}", u.username),
            user_id: Some(u.id),
            binding: u.binding.clone(),
            role: Some(u.role),
            write: u.role.can_write(),
            journal: u.role.can_read_journal(),
            tokens: u.role.can_manage_tokens(),
            users: u.role == Role::Administrator,
        }
    }

    pub fn for_token(t: &ApiToken) -> Access {
        Access {
            actor: format!("token:{}:{}", t.id, t.name),
            user_id: None,
            binding: Binding::Facilities {
                facilities: vec![t.facility.clone()],
            },
            role: None,
            write: t.access == TokenAccess::Write,
            journal: false,
            tokens: false,
            users: false,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor(self.actor.clone())
    }
}

/// The store as one caller may see it.
#[derive(Debug, Clone, Copy)]
pub struct Scoped<'a> {
    pub(in crate::access) store: &'a Store,
    pub(in crate::access) access: &'a Access,
}

fn forbidden(what: &str) -> StoreError {
    StoreError::Forbidden(what.to_owned())
}

/// Go on only if the caller's role grants it; else refuse with `refusal`.
fn granted(grant: bool, refusal: &str) -> Result<()> {
    if grant {
        Ok(())
    } else {
        Err(forbidden(refusal))
    }
}

impl Store {
    /// The sequence number of the last journal entry: every change moves it, so it versions
    /// caches of derived views.
    pub async fn journal_head_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT seq FROM journal_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The store filtered by what `access` may see and do.
    pub fn scoped<'a>(&'a self, access: &'a Access) -> Scoped<'a> {
        Scoped {
            store: self,
            access,
        }
    }
}

impl<'a> Scoped<'a> {
    pub fn access(&self) -> &Access {
        self.access
    }

    /// Facilities in scope, ordered by region then FINESS.
    pub async fn facilities(&self) -> Result<Vec<Facility>> {
        match &self.access.binding {
            Binding::Installation => self.store.facilities(None).await,
            Binding::Region { region } => self.store.facilities(Some(*region)).await,
            Binding::Facilities { facilities } => {
                let mut out = Vec::with_capacity(facilities.len());
                for f in facilities {
                    match self.store.facility(f).await {
                        Ok(x) => out.push(x),
                        Err(StoreError::NotFound(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                out.sort_by(|a, b| (a.region, &a.id).cmp(&(b.region, &b.id)));
                Ok(out)
            }
        }
    }

    /// Whether the caller sees every facility of `region`.
    pub fn covers_region(&self, region: Region) -> bool {
        match &self.access.binding {
            Binding::Installation => true,
            Binding::Region { region: r } => *r == region,
            Binding::Facilities { .. } => false,
        }
    }

    /// Regions the caller can open a regional view of.
    pub async fn regions(&self) -> Result<Vec<Region>> {
        Ok(match &self.access.binding {
            Binding::Installation => {
                let mut r: Vec<Region> = self
                    .store
                    .facilities(None)
                    .await?
                    .iter()
                    .map(|f| f.region)
                    .collect();
                r.dedup();
                r
            }
            Binding::Region { region } => vec![*region],
            Binding::Facilities { .. } => Vec::new(),
        })
    }

    /// One facility, or NotFound when it is not in scope (whether or not it exists).
    pub async fn facility(&self, id: &Finess) -> Result<Facility> {
        let hidden = || StoreError::NotFound(format!("facility {id}"));
        if let Binding::Facilities { facilities } = &self.access.binding
            && !facilities.contains(id)
        {
            return Err(hidden());
        }
        let f = self.store.facility(id).await?;
        if self.access.binding.covers(&f.id, f.region) {
            Ok(f)
        } else {
            Err(hidden())
        }
    }

    pub async fn facility_status(
        &self,
        catalog: &Catalog,
        id: &Finess,
        as_of: jiff::civil::Date,
    ) -> Result<FacilityStatus> {
        self.facility(id).await?;
        self.store.facility_status(catalog, id, as_of).await
    }

    /// A facility's score at several dates (trend charts).
    pub async fn facility_trend(
        &self,
        catalog: &Catalog,
        id: &Finess,
        dates: &[jiff::civil::Date],
    ) -> Result<Vec<crate::TrendPoint>> {
        self.facility(id).await?;
        self.store.facility_trend(catalog, id, dates).await
    }

    /// A region's side-by-side view, holding only the facilities in scope. A caller bound to
    /// facilities sees only theirs; one bound to another region is refused.
    pub async fn region_status(
        &self,
        catalog: &Catalog,
        region: Region,
        as_of: jiff::civil::Date,
    ) -> Result<RegionStatus> {
        match &self.access.binding {
            Binding::Installation => self.store.region_status(catalog, region, as_of).await,
            Binding::Region { region: r } if *r == region => {
                self.store.region_status(catalog, region, as_of).await
            }
            Binding::Region { .. } => Err(StoreError::NotFound(format!("region {region}"))),
            Binding::Facilities { facilities } => {
                let statuses = self
                    .bound_statuses(facilities, catalog, region, as_of)
                    .await?;
                Ok(RegionStatus::from_statuses(region, as_of, &statuses))
            }
        }
    }

    /// The statuses of the bound facilities that are in `region`; "not found" when none is (the
    /// region is then outside the binding).
    async fn bound_statuses(
        &self,
        facilities: &[Finess],
        catalog: &Catalog,
        region: Region,
        as_of: jiff::civil::Date,
    ) -> Result<Vec<FacilityStatus>> {
        let mut statuses = Vec::new();
        for f in facilities {
            if self.store.facility(f).await?.region == region {
                statuses.push(self.store.facility_status(catalog, f, as_of).await?);
            }
        }
        if statuses.is_empty() {
            return Err(StoreError::NotFound(format!("region {region}")));
        }
        Ok(statuses)
    }

    /// The region's oversight of its facilities' reports (`Store::region_reports`), holding
    /// only the facilities in scope, refused as `region_status` is.
    pub async fn region_reports(
        &self,
        catalog: &Catalog,
        region: Region,
        as_of: jiff::civil::Date,
    ) -> Result<(
        Vec<hygie_core::FacilityStatus>,
        std::collections::HashMap<String, jiff::Timestamp>,
    )> {
        match &self.access.binding {
            Binding::Installation => self.store.region_reports(catalog, region, as_of).await,
            Binding::Region { region: r } if *r == region => {
                self.store.region_reports(catalog, region, as_of).await
            }
            Binding::Region { .. } => Err(StoreError::NotFound(format!("region {region}"))),
            Binding::Facilities { facilities } => {
                let statuses = self
                    .bound_statuses(facilities, catalog, region, as_of)
                    .await?;
                let mut last = self.store.last_reports(region).await?;
                last.retain(|f, _| statuses.iter().any(|s| s.facility.id.as_str() == f));
                Ok((statuses, last))
            }
        }
    }

    pub async fn declaration_history(
        &self,
        id: &Finess,
        measure: Option<&MeasureId>,
    ) -> Result<Vec<DeclarationRecord>> {
        self.facility(id).await?;
        self.store.declaration_history(id, measure).await
    }

    pub async fn check_runs(&self, id: &Finess) -> Result<Vec<CheckRun>> {
        self.facility(id).await?;
        self.store.check_runs(id, None).await
    }

    /// The facility's asset register (issue 21).
    pub async fn inventory(&self, id: &Finess) -> Result<Vec<hygie_inventory::Asset>> {
        self.facility(id).await?;
        self.store.inventory(id).await
    }

    /// What the latest runs say about the facility's assets (vulnerable, known exploited, end
    /// of life).
    pub async fn asset_findings(&self, id: &Finess) -> Result<crate::AssetFindings> {
        self.facility(id).await?;
        self.store.asset_findings(id).await
    }

    /// The facility's IS map (zones, assets per zone, flows).
    pub async fn is_map(&self, id: &Finess) -> Result<hygie_inventory::map::IsMap> {
        self.facility(id).await?;
        self.store.is_map(id).await
    }

    /// Every sighting of one of the facility's assets, oldest first.
    pub async fn inventory_sightings(
        &self,
        id: &Finess,
        asset: u64,
    ) -> Result<Vec<crate::SightingRecord>> {
        self.facility(id).await?;
        self.store.inventory_sightings(id, asset).await
    }

    /// The audits (check runs) of a facility, newest first, without their results.
    pub async fn check_run_list(&self, id: &Finess) -> Result<Vec<crate::RunHeader>> {
        self.facility(id).await?;
        self.store.check_run_list(id).await
    }

    /// One audit of a facility with its findings; another facility's run is not found.
    pub async fn check_run(&self, id: &Finess, run_id: &str) -> Result<CheckRun> {
        self.facility(id).await?;
        self.store.check_run(id, run_id).await
    }

    /// The summary an audit recorded with one of the facility's runs (level, scores, domain...).
    pub async fn check_run_summary(&self, id: &Finess, run_id: &str) -> Result<serde_json::Value> {
        self.facility(id).await?;
        self.store.check_run_summary(id, run_id).await
    }

    /// Record an audit run the server made from an uploaded export (`Store::record_check_run`,
    /// the CLI's write too). Only the facility's CISO or an administrator runs audits: a run
    /// changes measures' statuses, beyond what a declaration may.
    pub async fn record_check_run(
        &self,
        id: &Finess,
        run: &CheckRun,
        summary: &serde_json::Value,
    ) -> Result<()> {
        self.facility(id).await?;
        self.check_write()?;
        granted(
            matches!(self.access.role, Some(Role::Administrator | Role::Ciso)),
            "only the facility's CISO or an administrator may run an audit",
        )?;
        self.store
            .record_check_run(id, run, summary, &self.access.actor())
            .await
    }

    pub async fn evidence(
        &self,
        id: &Finess,
        measure: Option<&MeasureId>,
    ) -> Result<Vec<EvidenceItem>> {
        self.facility(id).await?;
        self.store.evidence(id, measure).await
    }

    /// An evidence file's name and content, only if this facility holds it (a hash known from
    /// another facility does not open it here).
    pub async fn evidence_file(&self, id: &Finess, sha256: &str) -> Result<(String, Vec<u8>)> {
        self.facility(id).await?;
        let item = self
            .store
            .evidence(id, None)
            .await?
            .into_iter()
            .find_map(|e| match e.kind {
                crate::EvidenceKind::File {
                    sha256: s,
                    file_name,
                    ..
                } if s == sha256 => Some(file_name),
                _ => None,
            })
            .ok_or_else(|| StoreError::NotFound(format!("evidence file {sha256}")))?;
        Ok((item, self.store.evidence_content(sha256).await?))
    }

    pub(in crate::access) fn check_write(&self) -> Result<()> {
        granted(
            self.access.write,
            "this account may not change a facility's plan",
        )
    }
    pub(in crate::access) fn check_journal(&self) -> Result<()> {
        granted(self.access.journal, "this account may not read the journal")
    }
    fn check_tokens(&self) -> Result<()> {
        granted(self.access.tokens, "this account may not manage API tokens")
    }
    fn check_users(&self) -> Result<()> {
        granted(self.access.users, "only administrators manage users")
    }

    /// Whether the caller may register facilities and change their records: administrators
    /// and regional officers, within their binding (the form's links follow this).
    pub fn manages_facilities(&self) -> bool {
        self.access
            .role
            .is_some_and(|r| matches!(r, Role::Administrator | Role::RegionalOfficer))
    }

    fn check_facilities(&self, f: &Facility) -> Result<()> {
        granted(
            self.manages_facilities(),
            "only administrators and regional officers register and change facilities",
        )?;
        granted(
            self.access.binding.covers(&f.id, f.region),
            "a facility can only be registered or moved within your binding",
        )
    }

    /// Register a facility within the caller's binding (a facility of the demo region is
    /// marked demo, as `hygie demo` marks its own).
    pub async fn add_facility(&self, f: &Facility) -> Result<()> {
        self.check_facilities(f)?;
        self.store
            .add_facility(f, f.region.is_demo(), &self.access.actor())
            .await
    }

    /// Change a facility in scope; its new region must lie within the caller's binding too.
    pub async fn update_facility(&self, f: &Facility) -> Result<()> {
        self.facility(&f.id).await?;
        self.check_facilities(f)?;
        self.store.update_facility(f, &self.access.actor()).await
    }

    pub async fn declare(
        &self,
        id: &Finess,
        measure: &MeasureId,
        status: &DeclaredStatus,
        owner: Option<&str>,
        note: Option<&str>,
    ) -> Result<i64> {
        self.facility(id).await?;
        self.check_write()?;
        self.store
            .declare(id, measure, status, owner, note, &self.access.actor())
            .await
    }

    pub async fn add_evidence_file(
        &self,
        id: &Finess,
        measure: &MeasureId,
        file_name: &str,
        content: &[u8],
    ) -> Result<EvidenceItem> {
        self.add_evidence_file_declaring(id, measure, file_name, content, None)
            .await
    }

    /// An evidence file and, when `declare` is given, the declaration it supports, in one
    /// transaction (`Store::add_evidence_file_declaring`).
    pub async fn add_evidence_file_declaring(
        &self,
        id: &Finess,
        measure: &MeasureId,
        file_name: &str,
        content: &[u8],
        declare: Option<(&DeclaredStatus, &str)>,
    ) -> Result<EvidenceItem> {
        self.facility(id).await?;
        self.check_write()?;
        self.store
            .add_evidence_file_declaring(
                id,
                measure,
                file_name,
                content,
                declare,
                &self.access.actor(),
            )
            .await
    }

    /// A link as evidence of a measure (`Store::add_evidence_link`).
    pub async fn add_evidence_link(
        &self,
        id: &Finess,
        measure: &MeasureId,
        link: &hygie_core::EvidenceLink,
    ) -> Result<EvidenceItem> {
        self.facility(id).await?;
        self.check_write()?;
        self.store
            .add_evidence_link(id, measure, link, &self.access.actor())
            .await
    }

    /// Journal entries about the facilities in scope (everything for the installation), newest
    /// last, at most `limit`.
    pub async fn journal_entries(&self, limit: i64) -> Result<Vec<JournalEntry>> {
        self.check_journal()?;
        match &self.access.binding {
            Binding::Installation => self.store.journal_entries(None, Some(limit)).await,
            Binding::Region { region } => {
                self.store
                    .journal_entries_of(crate::journal::Facilities::Region(*region), limit)
                    .await
            }
            Binding::Facilities { facilities } => {
                self.store
                    .journal_entries_of(crate::journal::Facilities::These(facilities), limit)
                    .await
            }
        }
    }

    /// A page of the journal about the facilities in scope (everything for the installation),
    /// filtered, newest first (`Store::journal_page`).
    pub async fn journal_page(
        &self,
        filter: &crate::JournalFilter,
        cursor: crate::JournalCursor,
        limit: i64,
    ) -> Result<crate::JournalPage> {
        self.check_journal()?;
        let scope = match &self.access.binding {
            Binding::Installation => None,
            Binding::Region { region } => Some(crate::journal::Facilities::Region(*region)),
            Binding::Facilities { facilities } => {
                Some(crate::journal::Facilities::These(facilities))
            }
        };
        self.store.journal_page(scope, filter, cursor, limit).await
    }

    /// Verify the whole chain. The answer holds counts and hashes only, no content; a user
    /// bound to a region or to facilities is told how many entries are theirs, never the
    /// installation's total, which would tell how busy the other facilities are.
    pub async fn verify_journal(&self) -> Result<crate::JournalCheck> {
        self.check_journal()?;
        let check = self.store.verify_journal().await?;
        let crate::JournalCheck::Intact { .. } = check else {
            return Ok(check);
        };
        let entries = match &self.access.binding {
            Binding::Installation => return Ok(check),
            Binding::Region { region } => {
                self.store
                    .journal_count_of(crate::journal::Facilities::Region(*region))
                    .await?
            }
            Binding::Facilities { facilities } => {
                self.store
                    .journal_count_of(crate::journal::Facilities::These(facilities))
                    .await?
            }
        };
        Ok(crate::JournalCheck::Intact { entries })
    }

    /// Whether the installation-wide sequence numbers of journal entries may be shown: only to
    /// an installation-wide account (their gaps tell a bound user how busy the others are).
    pub fn sees_journal_sequence(&self) -> bool {
        matches!(self.access.binding, Binding::Installation)
    }

    /// API tokens of the facilities in scope.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>> {
        self.check_tokens()?;
        match &self.access.binding {
            Binding::Installation => self.store.tokens(None).await,
            _ => {
                let ids: Vec<Finess> = self.facilities().await?.into_iter().map(|f| f.id).collect();
                self.store.tokens(Some(&ids)).await
            }
        }
    }

    pub async fn create_token(
        &self,
        name: &str,
        facility: &Finess,
        access: TokenAccess,
        token_hash: &str,
        days: i64,
    ) -> Result<ApiToken> {
        self.facility(facility).await?;
        self.check_tokens()?;
        self.store
            .create_token(
                name,
                facility,
                access,
                token_hash,
                days,
                &self.access.actor(),
            )
            .await
    }

    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        self.check_tokens()?;
        let t = self.store.token(id).await?;
        self.facility(&t.facility)
            .await
            .map_err(|_| StoreError::NotFound(format!("token {id}")))?;
        self.store.revoke_token(id, &self.access.actor()).await
    }

    /// Users whose binding lies within the caller's (administrators only).
    pub async fn users(&self) -> Result<Vec<User>> {
        self.check_users()?;
        self.store.users_within(&self.access.binding).await
    }

    /// Create a user within the caller's binding (administrators only).
    pub async fn create_user(&self, u: &crate::NewUser) -> Result<User> {
        self.check_users()?;
        let regions = self.store.facility_regions().await?;
        if !self
            .access
            .binding
            .includes(&u.binding, |f| regions.get(f).copied())
        {
            return Err(forbidden("a user can only be given a binding within yours"));
        }
        self.store.create_user(u, &self.access.actor()).await
    }

    // --- account lifecycle -------------------------------------------------------------------

    /// A user the caller manages: administrators only, and a user whose binding lies within
    /// the caller's (any other is "not found", as a facility out of scope is).
    pub async fn managed_user(&self, user_id: i64) -> Result<User> {
        self.check_users()?;
        let hidden = || StoreError::NotFound(format!("user {user_id}"));
        let u = match self.store.user(user_id).await {
            Err(StoreError::NotFound(_)) => return Err(hidden()),
            other => other?,
        };
        let regions = self.store.facility_regions().await?;
        if self
            .access
            .binding
            .includes(&u.binding, |f| regions.get(f).copied())
        {
            Ok(u)
        } else {
            Err(hidden())
        }
    }

    pub async fn disable_user(&self, user_id: i64) -> Result<bool> {
        self.managed_user(user_id).await?;
        self.store.disable_user(user_id, &self.access.actor()).await
    }

    pub async fn enable_user(&self, user_id: i64) -> Result<bool> {
        self.managed_user(user_id).await?;
        self.store.enable_user(user_id, &self.access.actor()).await
    }

    pub async fn delete_user(&self, user_id: i64) -> Result<()> {
        self.managed_user(user_id).await?;
        self.store.delete_user(user_id, &self.access.actor()).await
    }

    /// Set a temporary password (an Argon2id PHC string) the user must change at next login.
    pub async fn reset_password(&self, user_id: i64, password_hash: &str) -> Result<()> {
        self.managed_user(user_id).await?;
        self.store
            .reset_password(user_id, password_hash, &self.access.actor())
            .await
    }

    pub async fn reset_totp(&self, user_id: i64) -> Result<()> {
        self.managed_user(user_id).await?;
        self.store.reset_totp(user_id, &self.access.actor()).await
    }

    pub async fn unlock_user(&self, user_id: i64) -> Result<bool> {
        self.managed_user(user_id).await?;
        self.store.unlock_user(user_id, &self.access.actor()).await
    }

    /// End every session of a user the caller manages.
    pub async fn end_user_sessions(&self, user_id: i64) -> Result<u64> {
        self.managed_user(user_id).await?;
        self.store
            .end_sessions(user_id, None, &self.access.actor())
            .await
    }

    /// The live sessions of a user the caller manages (never their ids).
    pub async fn user_sessions(&self, user_id: i64) -> Result<Vec<crate::SessionInfo>> {
        self.managed_user(user_id).await?;
        self.store.user_sessions(user_id, None).await
    }

    fn own_id(&self) -> Result<i64> {
        self.access
            .user_id
            .ok_or_else(|| forbidden("an API token has no sessions"))
    }

    /// The caller's own live sessions; `current` (the digest of the asking session) is marked.
    pub async fn my_sessions(&self, current: Option<&str>) -> Result<Vec<crate::SessionInfo>> {
        self.store.user_sessions(self.own_id()?, current).await
    }

    /// End the caller's other sessions (all but `current`); returns how many ended.
    pub async fn end_my_other_sessions(&self, current: &str) -> Result<u64> {
        self.store
            .end_sessions(self.own_id()?, Some(current), &self.access.actor())
            .await
    }

    /// Journalled account events (logins, lockouts, lifecycle changes) about the users the
    /// caller manages, or about `user` only; at most `limit`, oldest first.
    pub async fn security_events(
        &self,
        user: Option<&str>,
        limit: i64,
    ) -> Result<Vec<JournalEntry>> {
        self.check_users()?;
        let user = user.map(str::trim).filter(|u| !u.is_empty());
        if self.access.binding == Binding::Installation {
            let only: Vec<String> = user.iter().map(|u| (*u).to_owned()).collect();
            let subjects = user.map(|_| only.as_slice());
            return self.store.account_events(subjects, limit).await;
        }
        let mut names: Vec<String> = self
            .store
            .users_within(&self.access.binding)
            .await?
            .into_iter()
            .map(|u| u.username)
            .collect();
        if let Some(u) = user {
            names.retain(|n| n == u);
        }
        self.store.account_events(Some(&names), limit).await
    }
}
