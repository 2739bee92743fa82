//! How do consent statements and contacts reach the journal, one at a time or in bulk?
//!
//! A bulk call writes each statement or contact as the entry a single call writes and syncs
//! once at the end, so a process killed part-way keeps what was journaled before.

use std::borrow::Borrow;

use crate::behaviour::EventReport;
use crate::durable::error::StateError;
use crate::durable::journal::Entry;
use crate::ids::SourceId;
use crate::resolver::touch::count;
use crate::touchpoint::{ConsentInput, ContactInput};

use super::handle::Durable;

// Named by the documentation's links only.
#[cfg(doc)]
use crate::resolver::Resolver;

impl Durable {
    /// [`Resolver::record_consent`], journaled.
    ///
    /// # Errors
    /// [`StateError::Event`] for a malformed statement (nothing written or changed); journal
    /// errors.
    pub fn record_consent(&mut self, consent: &ConsentInput) -> Result<(), StateError> {
        self.resolver.check_consent(consent).map_err(StateError::Event)?;
        self.write(&Entry::Consent(consent.clone()), true)?;
        self.resolver.record_consent(consent).map_err(StateError::Event)
    }

    /// [`Resolver::record_contact`], journaled.
    ///
    /// # Errors
    /// [`StateError::Event`] for a malformed contact (nothing written or changed); journal
    /// errors.
    pub fn record_contact(&mut self, contact: &ContactInput) -> Result<(), StateError> {
        self.resolver.check_contact(contact).map_err(StateError::Event)?;
        self.write(&Entry::Contact(contact.clone()), true)?;
        self.resolver.record_contact(contact).map_err(StateError::Event)
    }

    /// [`Resolver::record_consents`], journaled: each statement the resolver takes is written
    /// as the entry [`Durable::record_consent`] writes, and the journal is synced once, at the
    /// end (as the sync policy says), not per statement. A malformed statement is counted in
    /// the report and not journaled. A statement the state holds already (the same record,
    /// channel, status and time) is counted as stored and replaced, and not journaled again:
    /// storing it would change nothing, so loading the same statements twice journals them
    /// once.
    ///
    /// Each entry stands alone, so a process killed part-way keeps the statements journaled
    /// before; taking the same statements again stores the rest.
    ///
    /// ```
    /// use idstitch::touchpoint::{ConsentInput, ConsentState};
    /// use idstitch::{Durable, DurableOptions, KindId, RecordInput, Timestamp};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-consents-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut state = Durable::open(&dir, DurableOptions::default())?;
    /// let crm = state.add_source("crm", 10)?;
    /// state.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// let statements = [
    ///     ConsentInput::granted(crm, "C-1", "email", Timestamp(10)),
    ///     ConsentInput::denied(crm, "C-1", "phone", Timestamp(10)),
    ///     ConsentInput::granted(crm, " ", "email", Timestamp(10)), // no record: refused
    /// ];
    /// let report = state.record_consents(&statements)?;
    /// assert_eq!((report.accepted, report.replaced, report.n_rejected()), (2, 0, 1));
    /// let again = state.record_consents(&statements)?;
    /// assert_eq!((again.accepted, again.replaced), (2, 2), "held once, journaled once");
    /// drop(state);
    ///
    /// let state = Durable::open(&dir, DurableOptions::default())?;
    /// assert_eq!(state.recovery().entries_replayed, 4, "a source, a record, two statements");
    /// let ann = state.customer_of(crm, "C-1").unwrap();
    /// assert_eq!(state.consent(ann, "phone")?.state, ConsentState::Denied);
    /// # drop(state);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Journal errors; the statements before the one whose entry failed are journaled and
    /// held.
    pub fn record_consents<I>(&mut self, statements: I) -> Result<EventReport, StateError>
    where
        I: IntoIterator,
        I::Item: Borrow<ConsentInput>,
    {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let mut report = EventReport::default();
        for statement in statements {
            let statement = statement.borrow();
            if let Err(reason) = self.resolver.check_consent(statement) {
                report.reject(statement.source, reason);
            } else if self.resolver.holds_consent(statement) {
                count(&mut report, statement.source, Ok(true));
            } else {
                self.write(&Entry::Consent(statement.clone()), false)?;
                count(&mut report, statement.source, self.resolver.store_consent(statement));
            }
        }
        self.commit()?;
        Ok(report)
    }

    /// [`Resolver::record_contacts`], journaled: each contact the resolver takes is written as
    /// the entry [`Durable::record_contact`] writes, and the journal is synced once, at the
    /// end (as the sync policy says), not per contact. A malformed contact is counted in the
    /// report and not journaled; one whose id is held replaces the held one (and is counted
    /// as replacing it), as [`Resolver::record_contact`] says.
    ///
    /// Each entry stands alone, so a process killed part-way keeps the contacts journaled
    /// before.
    ///
    /// ```
    /// use idstitch::touchpoint::ContactInput;
    /// use idstitch::{Durable, DurableOptions, Timestamp};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-contacts-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut state = Durable::open(&dir, DurableOptions::default())?;
    /// let crm = state.add_source("crm", 10)?;
    /// let sends = [
    ///     ContactInput::new(crm, "C-1", "email", Timestamp(10)).with_id("s-1"),
    ///     ContactInput::new(crm, "C-1", "email", Timestamp(20)).with_id("s-1"), // the same send
    ///     ContactInput::new(crm, "C-1", "", Timestamp(30)), // no channel: refused
    /// ];
    /// let report = state.record_contacts(&sends)?;
    /// assert_eq!((report.accepted, report.replaced, report.n_rejected()), (2, 1, 1));
    /// assert!(state.has_contact_id(crm, "s-1"));
    /// drop(state);
    /// let state = Durable::open(&dir, DurableOptions::default())?;
    /// assert_eq!(state.recovery().entries_replayed, 3, "a source and two contacts");
    /// assert!(state.has_contact_id(crm, "s-1"));
    /// # drop(state);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Journal errors; the contacts before the one whose entry failed are journaled and held.
    pub fn record_contacts<I>(&mut self, contacts: I) -> Result<EventReport, StateError>
    where
        I: IntoIterator,
        I::Item: Borrow<ContactInput>,
    {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let mut report = EventReport::default();
        for contact in contacts {
            let contact = contact.borrow();
            if let Err(reason) = self.resolver.check_contact(contact) {
                report.reject(contact.source, reason);
            } else {
                self.write(&Entry::Contact(contact.clone()), false)?;
                count(&mut report, contact.source, self.resolver.store_contact(contact));
            }
        }
        self.commit()?;
        Ok(report)
    }

    /// [`Resolver::remove_contact`], journaled (when there is such a contact).
    ///
    /// # Errors
    /// Journal errors.
    pub fn remove_contact(&mut self, source: SourceId, id: &str) -> Result<bool, StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        if !self.resolver.has_contact_id(source, id) {
            return Ok(false);
        }
        self.write(&Entry::RemoveContact { source, id: id.to_string() }, true)?;
        Ok(self.resolver.remove_contact(source, id))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::durable::journal;
    use crate::durable::state::handle::DurableOptions;
    use crate::input::record::{RecordInput, Timestamp};

    /// A bulk call's statements are single entries: a process killed while writing the last
    /// one keeps those before it, and the same statements again store the one that was lost
    /// (and journal only it).
    #[test]
    fn a_bulk_call_cut_short_keeps_the_statements_journaled_before() {
        use crate::touchpoint::{ConsentInput, ConsentState};
        let dir =
            std::env::temp_dir().join(format!("idstitch-unit-bulk-consent-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut state = Durable::open(&dir, DurableOptions::default()).unwrap();
        let crm = state.add_source("crm", 10).unwrap();
        let statements = ["email", "phone", "newsletter"]
            .map(|channel| ConsentInput::denied(crm, "C-1", channel, Timestamp(5)));
        let report = state.record_consents(&statements).unwrap();
        assert_eq!(report.accepted, 3);
        let segment = dir.join(journal::segment_name(state.generation()));
        drop(state);
        // The last entry loses its final byte, as a write cut by a kill would leave it.
        let bytes = fs::read(&segment).unwrap();
        fs::write(&segment, &bytes[..bytes.len() - 1]).unwrap();

        let mut state = Durable::open(&dir, DurableOptions::default()).unwrap();
        let recovery = state.recovery();
        assert_eq!(recovery.entries_replayed, 3, "the source and two statements");
        assert!(recovery.torn_tail.is_some());
        state.upsert(RecordInput::new(crm, "C-1")).unwrap();
        let ann = state.customer_of(crm, "C-1").unwrap();
        let held = |state: &Durable, channel| state.consent(ann, channel).unwrap().state;
        assert_eq!(held(&state, "phone"), ConsentState::Denied);
        assert_eq!(held(&state, "newsletter"), ConsentState::Unknown, "cut off");
        let journal = state.journal_len();
        let again = state.record_consents(&statements).unwrap();
        assert_eq!((again.accepted, again.replaced), (3, 2));
        assert_eq!(held(&state, "newsletter"), ConsentState::Denied);
        let one_entry = state.journal_len() - journal;
        assert!(one_entry > 0 && one_entry < (bytes.len() as u64) / 3, "{one_entry} bytes");
        drop(state);
        fs::remove_dir_all(&dir).unwrap();
    }
}
