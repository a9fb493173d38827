//! The scoped view of the agency's campaigns (region side) and of the requests a facility
//! received: a region's campaigns are seen by callers bound to the installation or to that
//! region (a facility-bound caller sees none; another region's is "not found"); making one
//! needs a regional officer or an administrator too. A facility's requests follow the facility.

use super::scoped::Scoped;
use crate::{ReceivedRequest, RequestCampaign, RequestStatus, Result, StoreError};
use hygie_core::{Finess, Region};
use hygie_sync::CampaignInput;

impl Scoped<'_> {
    fn region_in_scope(&self, region: Region) -> Result<()> {
        if self.covers_region(region) {
            Ok(())
        } else {
            Err(StoreError::NotFound(format!("region {region}")))
        }
    }

    /// The incident obligations the facilities of `region` reported, as the region's list of
    /// serious incidents and late notifications reads them: the whole region for callers bound
    /// to the installation or to it, the bound facilities' only for a facility-bound caller
    /// (as the region's matrix), "not found" for another region's officer.
    pub async fn region_obligations(
        &self,
        region: Region,
    ) -> Result<Vec<hygie_core::notifications::ReportedObligation>> {
        match &self.access.binding {
            crate::Binding::Facilities { facilities } => {
                // Refused as the region's matrix is when none of them is in the region.
                let mut any = false;
                for f in facilities {
                    any |= self.store.facility(f).await?.region == region;
                }
                if !any {
                    return Err(StoreError::NotFound(format!("region {region}")));
                }
                let mut rows = self.store.region_obligations(region).await?;
                rows.retain(|o| facilities.iter().any(|f| f.as_str() == o.facility));
                Ok(rows)
            }
            _ => {
                self.region_in_scope(region)?;
                self.store.region_obligations(region).await
            }
        }
    }

    /// A region's campaigns, newest first.
    pub async fn request_campaigns(&self, region: Region) -> Result<Vec<RequestCampaign>> {
        self.region_in_scope(region)?;
        self.store.request_campaigns(region).await
    }

    /// One campaign of `region` with each facility's request and its state at `now`.
    pub async fn request_campaign(
        &self,
        region: Region,
        id: u64,
        now: jiff::Timestamp,
    ) -> Result<(RequestCampaign, Vec<RequestStatus>)> {
        self.region_in_scope(region)?;
        let c = self.store.request_campaign(id).await?;
        if c.region != region.code() {
            return Err(StoreError::NotFound(format!("campaign {id}")));
        }
        let states = self.store.request_campaign_states(&c, now).await?;
        Ok((c, states))
    }

    /// Make a campaign in a region of the caller's binding (regional officers and
    /// administrators).
    pub async fn create_request_campaign(&self, input: &CampaignInput) -> Result<RequestCampaign> {
        self.region_in_scope(input.region)?;
        if !self.manages_facilities() {
            return Err(StoreError::Forbidden(
                "only administrators and regional officers make campaigns".into(),
            ));
        }
        self.store
            .create_request_campaign(input, &self.access.actor())
            .await
    }

    /// Close or withdraw campaign `id` of `region` (regional officers and administrators
    /// within their binding, as making one).
    pub async fn end_request_campaign(
        &self,
        region: Region,
        id: u64,
        end: hygie_sync::CampaignEnd,
    ) -> Result<RequestCampaign> {
        self.campaign_to_manage(region, id).await?;
        self.store
            .end_request_campaign(id, end, &self.access.actor())
            .await
    }

    /// Remind the facilities of campaign `id` of `region` that have not answered at `now`.
    pub async fn remind_request_campaign(
        &self,
        region: Region,
        id: u64,
        now: jiff::Timestamp,
    ) -> Result<crate::ReminderSent> {
        self.campaign_to_manage(region, id).await?;
        self.store
            .remind_request_campaign(id, now, &self.access.actor())
            .await
    }

    async fn campaign_to_manage(&self, region: Region, id: u64) -> Result<()> {
        self.region_in_scope(region)?;
        let c = self.store.request_campaign(id).await?;
        if c.region != region.code() {
            return Err(StoreError::NotFound(format!("campaign {id}")));
        }
        if !self.manages_facilities() {
            return Err(StoreError::Forbidden(
                "only administrators and regional officers close, withdraw or chase campaigns"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The requests a facility in scope received, with their state at `now`.
    pub async fn received_requests(
        &self,
        id: &Finess,
        now: jiff::Timestamp,
    ) -> Result<Vec<ReceivedRequest>> {
        self.facility(id).await?;
        self.store.received_requests(id, now).await
    }
}
