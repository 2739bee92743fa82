//! Contacts (specification §9): a message sent, a banner shown, a call made, an invitation
//! sent — with the record whose address was used, so the contact follows that record.

use crate::behaviour::EventRejectReason;
use crate::ids::SourceId;
use crate::input::record::Timestamp;
use crate::touchpoint::consent::check_touch;

/// A contact as the host hands it in.
///
/// ```
/// use idstitch::touchpoint::ContactInput;
/// use idstitch::{SourceId, Timestamp};
///
/// let mail = ContactInput::new(SourceId::from_raw(0), "N-7", "newsletter", Timestamp(0))
///     .with_campaign("spring-sale")
///     .with_id("send-88121");
/// let receipt = ContactInput::new(SourceId::from_raw(0), "N-7", "email", Timestamp(5))
///     .transactional();
/// assert!(receipt.transactional && !mail.transactional);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ContactInput {
    /// The source of the record whose address was used.
    pub source: SourceId,
    /// That record's id in its source; trimmed as record ids are.
    pub external_id: String,
    /// The channel.
    pub channel: String,
    /// When (UTC).
    pub at: Timestamp,
    /// The campaign it belongs to, if any; empty counts as none.
    pub campaign: Option<String>,
    /// A receipt or a password reset: exempt from caps and not counted.
    pub transactional: bool,
    /// The contact's id within its source: a contact whose id is held replaces the held one,
    /// so a replayed send log does not count twice. Empty counts as none.
    pub id: Option<String>,
}

impl ContactInput {
    /// A counted contact with no campaign and no id.
    pub fn new(
        source: SourceId,
        external_id: impl Into<String>,
        channel: impl Into<String>,
        at: Timestamp,
    ) -> Self {
        ContactInput {
            source,
            external_id: external_id.into(),
            channel: channel.into(),
            at,
            campaign: None,
            transactional: false,
            id: None,
        }
    }

    /// Sets the campaign.
    pub fn with_campaign(mut self, campaign: impl Into<String>) -> Self {
        self.campaign = Some(campaign.into());
        self
    }

    /// Marks it transactional: exempt from caps, not counted.
    pub fn transactional(mut self) -> Self {
        self.transactional = true;
        self
    }

    /// Sets the contact's id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Checks everything that does not need the resolver (the source is checked there).
    ///
    /// # Errors
    /// [`EventRejectReason::EmptyExternalId`], [`EventRejectReason::EmptyChannel`],
    /// [`EventRejectReason::TextTooLong`] (external id, channel, campaign or id over 1,024
    /// bytes) or [`EventRejectReason::TimeOutOfRange`].
    pub fn validate(&self) -> Result<(), EventRejectReason> {
        check_touch(&self.external_id, &self.channel, self.campaign.as_deref(), self.at)?;
        if self.id.as_ref().is_some_and(|id| id.len() > crate::behaviour::MAX_EVENT_TEXT) {
            return Err(EventRejectReason::TextTooLong);
        }
        Ok(())
    }
}

/// One held contact, as the dosing rules read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contact<'a> {
    /// The record's source.
    pub source: SourceId,
    /// The channel.
    pub channel: &'a str,
    /// When.
    pub at: Timestamp,
    /// The campaign, if any.
    pub campaign: Option<&'a str>,
    /// Exempt from caps and not counted.
    pub transactional: bool,
}
