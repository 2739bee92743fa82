//! Touchpoints through the façade: consent statements and contacts in, consent and
//! "may we contact?" out (DESIGN §9).
//!
//! Statements and contacts are held in a second event store, `touches`, so they follow their
//! record exactly as events do (pending until it arrives, carried by the partition through
//! merges and splits, removed and erased with it, compacted, saved and restored). Its rows
//! reuse the event columns: the kind says what the row is ([`TouchKind`]), the channel column
//! holds the channel, the topic column the campaign, and the id a contact's id, or for a
//! statement its own content, so that a replayed statement is held once.

use std::borrow::Borrow;

use crate::behaviour::{Event, EventClass, EventInput, EventKind, EventRejectReason, EventReport};
use crate::error::LookupError;
use crate::ids::{CustomerId, SourceId};
use crate::input::record::Timestamp;
use crate::resolver::Resolver;
use crate::touchpoint::{
    customer_consent, decide, Consent, ConsentInput, ConsentStatus, Contact, ContactDecision,
    ContactInput, Statement, TouchpointRules,
};

/// What a row of the touch store is, stored as its event kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TouchKind {
    Granted = 0,
    Denied = 1,
    Contact = 2,
    Transactional = 3,
    /// A record's assignment to a campaign's treatment group (topic: the campaign; value:
    /// the customer's stage then, as its index in `Stage::ALL`).
    Treatment = 4,
    /// The same for the control group.
    Control = 5,
}

impl TouchKind {
    pub(crate) const fn kind(self) -> EventKind {
        EventKind::from_raw(self as u16)
    }

    pub(crate) fn of(kind: EventKind) -> Option<TouchKind> {
        [
            TouchKind::Granted,
            TouchKind::Denied,
            TouchKind::Contact,
            TouchKind::Transactional,
            TouchKind::Treatment,
            TouchKind::Control,
        ]
        .into_iter()
        .find(|t| t.kind() == kind)
    }
}

/// The touch-store row of a consent statement.
pub(crate) fn consent_row(c: &ConsentInput) -> EventInput {
    let kind = match c.status {
        ConsentStatus::Granted => TouchKind::Granted,
        ConsentStatus::Denied => TouchKind::Denied,
    };
    let mut row = EventInput::new(c.source, c.external_id.clone(), kind.kind(), c.at);
    row.id = Some(consent_id(c));
    row.channel = Some(c.channel.clone());
    row
}

/// The id a consent statement is held under: its content, so that the same statement again
/// is held once. NUL cannot start a contact id a host would write by accident.
fn consent_id(c: &ConsentInput) -> String {
    let record = crate::input::record::trim_external_id(&c.external_id);
    format!("\0consent\0{record}\0{}\0{}\0{}", c.channel, c.status, c.at.0)
}

/// The touch-store row of a contact.
pub(crate) fn contact_row(c: &ContactInput) -> EventInput {
    let kind = if c.transactional { TouchKind::Transactional } else { TouchKind::Contact };
    let mut row = EventInput::new(c.source, c.external_id.clone(), kind.kind(), c.at);
    row.channel = Some(c.channel.clone());
    row.topic = c.campaign.clone();
    row.id = c.id.clone();
    row
}

impl Resolver {
    /// Which channels need consent and the contact caps
    /// ([`ResolverBuilder::touchpoint_rules`](crate::ResolverBuilder::touchpoint_rules)).
    pub fn touchpoint_rules(&self) -> &TouchpointRules {
        &self.touchpoints
    }

    /// Takes one consent statement. Like an event, it joins its record `(source, external
    /// id)` if that is stored or waits for it, and goes with the record when it is removed or
    /// erased. The same statement twice is held once.
    ///
    /// ```
    /// use idstitch::touchpoint::{ConsentInput, ConsentState};
    /// use idstitch::{KindId, RecordInput, Resolver, Timestamp};
    ///
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 100)?;
    /// let mail = resolver.add_source("newsletter", 30)?;
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// resolver.record_consent(&ConsentInput::granted(crm, "C-1", "newsletter", Timestamp(10)))?;
    /// // An old opt-out on another record of Ann's: once merged, it denies.
    /// resolver.record_consent(&ConsentInput::denied(mail, "N-7", "newsletter", Timestamp(5)))?;
    /// resolver.upsert(RecordInput::new(mail, "N-7").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// let ann = resolver.customer_of(crm, "C-1").unwrap();
    /// let consent = resolver.consent(ann, "newsletter")?;
    /// assert_eq!(consent.state, ConsentState::Denied);
    /// assert_eq!(consent.decided_by, Some((mail, "N-7".to_string(), Timestamp(5))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The [`EventRejectReason`] of a malformed statement (unknown source, empty record id or
    /// channel, text over 1,024 bytes, time out of range); nothing is changed then.
    pub fn record_consent(&mut self, consent: &ConsentInput) -> Result<(), EventRejectReason> {
        self.store_consent(consent).map(|_| ())
    }

    /// [`Resolver::record_consent`], saying whether the same statement was held already.
    pub(crate) fn store_consent(
        &mut self,
        consent: &ConsentInput,
    ) -> Result<bool, EventRejectReason> {
        self.check_source(consent.source)?;
        consent.validate()?;
        self.store_touch(&consent_row(consent))
    }

    /// Whether the same statement (record, channel, status and time) is held.
    pub(crate) fn holds_consent(&self, consent: &ConsentInput) -> bool {
        self.touches.has_id(consent.source, &consent_id(consent))
    }

    /// Takes many consent statements, as [`Resolver::record_consent`] each; a malformed one
    /// is skipped and counted by source and reason. A statement held already counts as
    /// stored and replaced: it is still held once.
    pub fn record_consents<I>(&mut self, statements: I) -> EventReport
    where
        I: IntoIterator,
        I::Item: Borrow<ConsentInput>,
    {
        let mut report = EventReport::default();
        for s in statements {
            let s = s.borrow();
            count(&mut report, s.source, self.store_consent(s));
        }
        report
    }

    /// Takes one contact, held with the record whose address was used (or waiting for it). A
    /// contact whose id its source already used replaces the held one.
    ///
    /// # Errors
    /// The [`EventRejectReason`] of a malformed contact (unknown source, empty record id or
    /// channel, text over 1,024 bytes, time out of range); nothing is changed then.
    pub fn record_contact(&mut self, contact: &ContactInput) -> Result<(), EventRejectReason> {
        self.store_contact(contact).map(|_| ())
    }

    /// [`Resolver::record_contact`], saying whether it replaced a held contact of its id.
    pub(crate) fn store_contact(
        &mut self,
        contact: &ContactInput,
    ) -> Result<bool, EventRejectReason> {
        self.check_source(contact.source)?;
        contact.validate()?;
        self.store_touch(&contact_row(contact))
    }

    /// Takes many contacts, as [`Resolver::record_contact`] each; a malformed one is skipped
    /// and counted by source and reason, one whose id was held counted as replacing it.
    pub fn record_contacts<I>(&mut self, contacts: I) -> EventReport
    where
        I: IntoIterator,
        I::Item: Borrow<ContactInput>,
    {
        let mut report = EventReport::default();
        for c in contacts {
            let c = c.borrow();
            count(&mut report, c.source, self.store_contact(c));
        }
        report
    }

    /// Removes the contact whose id is `id` in `source`; whether there was one.
    pub fn remove_contact(&mut self, source: SourceId, id: &str) -> bool {
        self.touches.remove_id(source, id).is_some()
    }

    /// Whether a contact with id `id` in `source` is held.
    pub fn has_contact_id(&self, source: SourceId, id: &str) -> bool {
        self.touches.has_id(source, id)
    }

    /// Whether `consent` would be refused for its own sake, as
    /// [`Resolver::record_consent`] checks it.
    pub(crate) fn check_consent(&self, consent: &ConsentInput) -> Result<(), EventRejectReason> {
        self.check_source(consent.source)?;
        consent.validate()
    }

    /// Whether `contact` would be refused for its own sake, as
    /// [`Resolver::record_contact`] checks it.
    pub(crate) fn check_contact(&self, contact: &ContactInput) -> Result<(), EventRejectReason> {
        self.check_source(contact.source)?;
        contact.validate()
    }

    fn check_source(&self, source: SourceId) -> Result<(), EventRejectReason> {
        if source.index() >= self.sources.len() {
            return Err(EventRejectReason::UnknownSource);
        }
        Ok(())
    }

    /// Stores a touch-store row; whether it replaced a held row of its id.
    fn store_touch(&mut self, row: &EventInput) -> Result<bool, EventRejectReason> {
        let record = self.graph.find_record(row.source, row.record_id());
        self.touches.push(record, row, EventClass::Engagement).map(|held| held.is_some())
    }

    /// Calls `f` with every touch-store row of `customer`'s records and the record's source
    /// and external id.
    pub(crate) fn customer_touches<'a>(
        &'a self,
        customer: CustomerId,
        mut f: impl FnMut(SourceId, &'a str, Event<'a>),
    ) -> Result<(), LookupError> {
        let root =
            self.partition.record_of(customer).ok_or(LookupError::UnknownCustomer(customer))?;
        for r in self.partition.members(root) {
            let Some(slot) = self.graph.record(r) else { continue };
            let external_id = self.graph.external_id(slot);
            for row in self.touches.events(r) {
                f(slot.source, external_id, row);
            }
        }
        Ok(())
    }

    /// The consent statements of `customer`'s records, in no particular order.
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn customer_consents(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<Statement<'_>>, LookupError> {
        let mut out = Vec::new();
        self.customer_touches(customer, |source, external_id, row| {
            out.extend(statement_of(source, external_id, row));
        })?;
        Ok(out)
    }

    /// The contacts of `customer`'s records, in no particular order.
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn customer_contacts(&self, customer: CustomerId) -> Result<Vec<Contact<'_>>, LookupError> {
        let mut out = Vec::new();
        self.customer_touches(customer, |source, _, row| out.extend(contact_of(source, row)))?;
        Ok(out)
    }

    /// `customer`'s statements and contacts in one read of its records, into buffers a pass
    /// over many customers reuses (cleared first).
    pub(crate) fn read_touches<'a>(
        &'a self,
        customer: CustomerId,
        statements: &mut Vec<Statement<'a>>,
        contacts: &mut Vec<Contact<'a>>,
    ) -> Result<(), LookupError> {
        statements.clear();
        contacts.clear();
        self.customer_touches(customer, |source, external_id, row| {
            statements.extend(statement_of(source, external_id, row));
            contacts.extend(contact_of(source, row));
        })
    }

    /// `customer`'s consent on `channel` from every statement held: the most restrictive of
    /// its records' latest statements, with the deciding record and time
    /// ([`customer_consent`]).
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn consent(&self, customer: CustomerId, channel: &str) -> Result<Consent, LookupError> {
        Ok(customer_consent(&self.customer_consents(customer)?, channel, None))
    }

    /// May `customer` be contacted on `channel` at `now`? Yes, or no with the reason: consent
    /// (as of `now`: later statements do not count) denied by which record, or unknown on a
    /// channel that needs it; or capped by which rule until when ([`decide`]). Time in the
    /// customer's records, statements and contacts.
    ///
    /// ```
    /// use idstitch::touchpoint::{ConsentInput, ContactInput};
    /// use idstitch::{KindId, RecordInput, Resolver, Timestamp};
    ///
    /// let day = |d: i64| Timestamp(1_767_225_600 + d * 86_400);
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 100)?;
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// resolver.record_consent(&ConsentInput::granted(crm, "C-1", "newsletter", day(0)))?;
    /// let ann = resolver.customer_of(crm, "C-1").unwrap();
    /// assert!(resolver.may_contact(ann, "newsletter", day(1))?.is_yes());
    /// for d in [1, 2] {
    ///     resolver.record_contact(&ContactInput::new(crm, "C-1", "newsletter", day(d)))?;
    /// }
    /// let answer = resolver.may_contact(ann, "newsletter", day(3))?;
    /// assert_eq!(
    ///     answer.to_string(),
    ///     "no: at most 2 per channel in 7 days (2 contacts) until 2026-01-09T00:00:00Z"
    /// );
    /// assert!(!resolver.may_contact(ann, "phone", day(3))?.is_yes(), "no consent for phone");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn may_contact(
        &self,
        customer: CustomerId,
        channel: &str,
        now: Timestamp,
    ) -> Result<ContactDecision, LookupError> {
        let consent = customer_consent(&self.customer_consents(customer)?, channel, Some(now));
        let contacts = self.customer_contacts(customer)?;
        Ok(decide(&self.touchpoints, channel, &consent, &contacts, now))
    }
}

/// The statement a touch-store row holds, if it is one.
fn statement_of<'a>(
    source: SourceId,
    external_id: &'a str,
    row: Event<'a>,
) -> Option<Statement<'a>> {
    let status = match TouchKind::of(row.kind)? {
        TouchKind::Granted => ConsentStatus::Granted,
        TouchKind::Denied => ConsentStatus::Denied,
        TouchKind::Contact
        | TouchKind::Transactional
        | TouchKind::Treatment
        | TouchKind::Control => return None,
    };
    let channel = row.channel.unwrap_or_default();
    Some(Statement { source, external_id, channel, status, at: row.at })
}

/// The contact a touch-store row holds, if it is one.
fn contact_of(source: SourceId, row: Event<'_>) -> Option<Contact<'_>> {
    let transactional = match TouchKind::of(row.kind)? {
        TouchKind::Contact => false,
        TouchKind::Transactional => true,
        TouchKind::Granted | TouchKind::Denied | TouchKind::Treatment | TouchKind::Control => {
            return None
        }
    };
    Some(Contact {
        source,
        channel: row.channel.unwrap_or_default(),
        at: row.at,
        campaign: row.topic,
        transactional,
    })
}

/// Counts one statement or contact: stored (and whether it replaced a held one), or refused.
pub(crate) fn count(
    report: &mut EventReport,
    source: SourceId,
    result: Result<bool, EventRejectReason>,
) {
    match result {
        Ok(replaced) => {
            report.accepted += 1;
            report.replaced += u64::from(replaced);
        }
        Err(reason) => report.reject(source, reason),
    }
}
