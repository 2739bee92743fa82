//! How do events, and the clock that reads them, reach the journal?

use std::borrow::Borrow;

use crate::behaviour::EventInput;
use crate::durable::error::StateError;
use crate::durable::journal::Entry;
use crate::error::ClockError;
use crate::ids::SourceId;
use crate::input::record::Timestamp;
use crate::partition::events::{Changes, StageChanged};
use crate::resolver::PendingEvents;

use super::handle::{Durable, INGEST_CHUNK};

// Named by the documentation's links only.
#[cfg(doc)]
use crate::resolver::Resolver;

impl Durable {
    /// [`Resolver::record_event`], journaled.
    ///
    /// # Errors
    /// [`StateError::Event`] for a malformed event (nothing written or changed); journal
    /// errors.
    pub fn record_event(&mut self, event: &EventInput) -> Result<Changes, StateError> {
        self.resolver.check_event(event).map_err(StateError::Event)?;
        let changes = self.record_events(std::iter::once(event))?;
        match changes.event_report.rejected.keys().next() {
            // Only running out of room gets here: the call changed nothing.
            Some(&(_, reason)) => Err(StateError::Event(reason)),
            None => Ok(changes),
        }
    }

    /// [`Resolver::record_events`], journaled in chunks that count only once the call's last
    /// entry, its commit, is written (as [`Durable::ingest`]).
    ///
    /// # Errors
    /// Journal errors only; malformed events are counted in the report.
    pub fn record_events<I>(&mut self, events: I) -> Result<Changes, StateError>
    where
        I: IntoIterator,
        I::Item: Borrow<EventInput>,
    {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        let mut pending = PendingEvents::default();
        let mut events = events.into_iter().peekable();
        let mut chunk: Vec<EventInput> = Vec::new();
        while events.peek().is_some() {
            chunk.clear();
            chunk.extend(events.by_ref().take(INGEST_CHUNK).map(|e| e.borrow().clone()));
            let entry = Entry::EventChunk(std::mem::take(&mut chunk));
            self.write(&entry, false)?;
            let Entry::EventChunk(written) = entry else { unreachable!("built above") };
            for event in &written {
                self.resolver.store_pending_event(&mut pending, event);
            }
            chunk = written;
        }
        self.write(&Entry::EventCommit, true)?;
        Ok(self.resolver.finish_events(pending))
    }

    /// [`Resolver::remove_event`], journaled (when there is such an event).
    ///
    /// # Errors
    /// Journal errors.
    pub fn remove_event(
        &mut self,
        source: SourceId,
        id: &str,
    ) -> Result<Option<Changes>, StateError> {
        if self.poisoned {
            return Err(StateError::Poisoned);
        }
        if !self.resolver.has_event_id(source, id) {
            return Ok(None);
        }
        self.write(&Entry::RemoveEvent { source, id: id.to_string() }, true)?;
        Ok(self.resolver.remove_event(source, id))
    }

    /// [`Resolver::advance_to`], journaled.
    ///
    /// # Errors
    /// [`StateError::Clock`] for an instant before the clock (nothing written); journal
    /// errors.
    pub fn advance_to(&mut self, now: Timestamp) -> Result<Vec<StageChanged>, StateError> {
        if let Some(clock) = self.resolver.journey_clock().filter(|&clock| now < clock) {
            return Err(StateError::Clock(ClockError::Backwards { clock, now }));
        }
        self.write(&Entry::AdvanceTo(now), true)?;
        Ok(self.resolver.advance_to(now)?)
    }
}
