//! How do campaigns and their assignments reach the journal?

use crate::campaign::{Assignment, CampaignSpec};
use crate::durable::error::StateError;
use crate::durable::journal::Entry;
use crate::error::CampaignError;
use crate::ids::CustomerId;
use crate::input::record::Timestamp;

use super::handle::Durable;

// Named by the documentation's links only.
#[cfg(doc)]
use crate::resolver::Resolver;

impl Durable {
    /// [`Resolver::add_campaign`], journaled.
    ///
    /// # Errors
    /// [`StateError::Campaign`] as [`Resolver::add_campaign`] (nothing written or changed);
    /// journal errors.
    pub fn add_campaign(&mut self, spec: CampaignSpec) -> Result<(), StateError> {
        self.resolver.check_campaign(&spec)?;
        self.write(&Entry::AddCampaign(spec.clone()), true)?;
        Ok(self.resolver.add_campaign(spec)?)
    }

    /// [`Resolver::assign`], journaled when it makes a new assignment.
    ///
    /// # Errors
    /// [`StateError::Campaign`] as [`Resolver::assign`] (nothing written or changed); journal
    /// errors.
    pub fn assign(
        &mut self,
        campaign: &str,
        customer: CustomerId,
        now: Timestamp,
    ) -> Result<Assignment, StateError> {
        if let Some(held) = self.resolver.assignment(campaign, customer)? {
            return Ok(held);
        }
        let record = self.resolver.customer_records(customer).and_then(|mut r| r.next());
        let Some((source, external_id)) = record.map(|r| (r.source, r.external_id.to_string()))
        else {
            return Err(CampaignError::UnknownCustomer(customer).into());
        };
        let entry = Entry::Assign { campaign: campaign.to_string(), source, external_id, at: now };
        self.write(&entry, true)?;
        Ok(self.resolver.assign(campaign, customer, now)?)
    }
}
