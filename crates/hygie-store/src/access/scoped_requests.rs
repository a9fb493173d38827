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
