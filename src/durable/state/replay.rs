//! What does each journal entry do to a resolver, and where does an unfinished call start?
//!
//! Entries are applied in order, as the calls that wrote them did live; a bulk load or an
//! event call counts only with its commit, so one that ends the segment without it is
//! reported and its start returned, for opening to cut it off.

use crate::behaviour::EventInput;
use crate::durable::codec::Malformed;
use crate::durable::error::{SnapshotError, StateError};
use crate::durable::journal::{self, Entry};
use crate::error::{ConfigError, EraseError};
use crate::input::stored::StoredRecord;
use crate::resolver::{EraseTarget, Resolver};

use super::handle::{Recovery, INGEST_CHUNK};

/// Applies a segment's entries to `resolver` in order. Returns where a bulk load that ends
/// the segment without its commit starts, if one does.
pub(super) fn replay(
    resolver: &mut Resolver,
    entries: &[(u64, Vec<u8>)],
    recovery: &mut Recovery,
    generation: u64,
) -> Result<Option<u64>, StateError> {
    let mut load: Vec<StoredRecord> = Vec::new();
    let mut in_load = false;
    // The events of a `record_events` call being read, and whether one is.
    let mut events: Vec<EventInput> = Vec::new();
    let mut in_events = false;
    // Where the load or event call being read started.
    let mut load_start = None;
    for (offset, payload) in entries {
        let damaged = |reason| StateError::Journal {
            segment: journal::segment_name(generation),
            offset: *offset,
            reason,
        };
        let entry = Entry::decode(payload).map_err(|m| match m {
            Malformed::Truncated => damaged("entry ends inside a value"),
            Malformed::Invalid(reason) => damaged(reason),
        })?;
        recovery.entries_replayed += 1;
        if in_load && !matches!(entry, Entry::IngestChunk(_) | Entry::IngestCommit) {
            // A load whose call failed before its commit; nothing of it was acknowledged.
            recovery.uncommitted_records += load.len() as u64;
            load.clear();
            in_load = false;
        }
        if in_events && !matches!(entry, Entry::EventChunk(_) | Entry::EventCommit) {
            recovery.uncommitted_events += events.len() as u64;
            events.clear();
            in_events = false;
        }
        match entry {
            Entry::AddSource { name, trust } => match resolver.add_source(&name, trust) {
                Ok(_) => {}
                Err(ConfigError::DuplicateSource(_)) => return Err(damaged("source added twice")),
                Err(e) => return Err(e.into()),
            },
            // Failures replay as they happened live: the call returned the same error then.
            Entry::Upsert(record) => {
                let _ = resolver.upsert_stored(&record);
            }
            Entry::Remove { source, external_id } => {
                let _ = resolver.remove(source, &external_id);
            }
            Entry::IngestChunk(records) => {
                if !in_load {
                    load_start = Some(*offset);
                }
                in_load = true;
                load.extend(records);
            }
            Entry::IngestCommit => {
                let mut pending = resolver.begin_ingest();
                for chunk in load.chunks(INGEST_CHUNK) {
                    resolver.load_stored(&mut pending, chunk);
                }
                resolver.finish_ingest(pending);
                load.clear();
                in_load = false;
            }
            Entry::Rebuild => {
                resolver.rebuild();
            }
            Entry::Erase { source, external_id, suppress } => {
                let target = EraseTarget::record(source, external_id);
                if let Err(EraseError::NoSuppressionSecret) = resolver.erase_with(target, suppress)
                {
                    // Replaying it without would keep what was erased.
                    return Err(SnapshotError::SecretRequired.into());
                }
            }
            Entry::EventChunk(chunk) => {
                if !in_events {
                    load_start = Some(*offset);
                }
                in_events = true;
                events.extend(chunk);
            }
            Entry::EventCommit => {
                resolver.record_events(events.drain(..));
                in_events = false;
            }
            Entry::AdvanceTo(now) => {
                // A clock that did not move live does not move now either.
                let _ = resolver.advance_to(now);
            }
            Entry::RemoveEvent { source, id } => {
                resolver.remove_event(source, &id);
            }
            // Journaled only once accepted: a refusal now would be a different build's rule.
            Entry::Consent(c) => {
                let _ = resolver.record_consent(&c);
            }
            Entry::Contact(c) => {
                let _ = resolver.record_contact(&c);
            }
            Entry::RemoveContact { source, id } => {
                resolver.remove_contact(source, &id);
            }
            Entry::AddCampaign(spec) => {
                let _ = resolver.add_campaign(spec);
            }
            Entry::Assign { campaign, source, external_id, at } => {
                if let Some(customer) = resolver.customer_of(source, &external_id) {
                    let _ = resolver.assign(&campaign, customer, at);
                }
            }
        }
    }
    recovery.uncommitted_records += load.len() as u64;
    recovery.uncommitted_events += events.len() as u64;
    Ok(load_start.filter(|_| in_load || in_events))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::durable::state::handle::{Durable, DurableOptions};
    use crate::ids::KindId;
    use crate::input::record::RecordInput;
    use crate::resolver::ResolverBuilder;

    /// An erasure with suppression journaled but not yet compacted (the process died in
    /// between): replay erases and suppresses, and needs the secret to.
    #[test]
    fn replaying_an_erasure_with_suppression_restores_the_list() {
        let dir = std::env::temp_dir()
            .join(format!("idstitch-unit-replay-suppress-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut plain = ResolverBuilder::new();
        plain.default_country("NL");
        let mut keyed = plain.clone();
        keyed.suppression_secret(b"unit secret");
        let mut state = Durable::open_with(&dir, &plain, DurableOptions::default()).unwrap();
        let crm = state.add_source("crm", 10).unwrap();
        let jan = |id: &str| RecordInput::new(crm, id).with_key(KindId::EMAIL, "jan@example.nl");
        state.upsert(jan("C-1")).unwrap();
        let entry = Entry::Erase { source: crm, external_id: "C-1".into(), suppress: true };
        state.write(&entry, true).unwrap();
        drop(state);

        let refused = Durable::open_with(&dir, &plain, DurableOptions::default());
        assert!(matches!(refused, Err(StateError::Snapshot(SnapshotError::SecretRequired))));
        let mut state = Durable::open_with(&dir, &keyed, DurableOptions::default()).unwrap();
        assert_eq!((state.n_records(), state.n_suppressed()), (0, 1));
        state.upsert(jan("C-2")).unwrap();
        let changes = state.upsert(jan("C-3")).unwrap();
        assert_eq!(changes.report.n_values_suppressed(), 1);
        assert_ne!(state.customer_of(crm, "C-2"), state.customer_of(crm, "C-3"));
        drop(state);
        fs::remove_dir_all(&dir).unwrap();
    }
}
