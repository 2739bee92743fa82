//! Forgetting: compaction on demand, and erasing a person (every record of their customer,
//! and with a compaction every byte of them).
//!
//! [`Resolver::erase_and_suppress`] also puts the erased keys on the suppression list
//! (`input/suppress.rs`, keyed hashes only), which preparing asks of every later value: a
//! listed value is stored as a placeholder would be, linking nothing.

use std::sync::Arc;

use crate::error::EraseError;
use crate::ids::{CustomerId, KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::kind::COMPOSITE_SEPARATOR;
use crate::input::pseudonym::wipe;
use crate::input::record::trim_external_id;
use crate::partition::events::Changes;
use crate::resolver::Resolver;
use crate::store::MemoryUsage;

/// What [`Resolver::compact`] reclaimed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct CompactReport {
    /// Keys dropped because no record carried them any more.
    pub keys_removed: usize,
    /// Bytes of those keys' values.
    pub key_text_bytes: usize,
    /// Bytes that removed and replaced records had given up and that were still held: their
    /// external ids, attributes and key-list entries.
    pub record_data_bytes: usize,
    /// Heap bytes the event stores gave back: removed records' events, consent statements and
    /// contacts, and the topics, channels and pending ids no live one uses any more.
    pub event_bytes: usize,
    /// [`Resolver::memory_usage`] before the compaction.
    pub memory_before: MemoryUsage,
    /// [`Resolver::memory_usage`] after it.
    pub memory_after: MemoryUsage,
}

impl CompactReport {
    /// Heap bytes the compaction gave back (from the tables' capacities).
    pub fn bytes_reclaimed(&self) -> usize {
        self.memory_before.total().saturating_sub(self.memory_after.total())
    }
}

/// Whom [`Resolver::erase`] erases: the customer a record or a key belongs to.
///
/// A key names someone only when its records are one customer's; a shared value is refused
/// and the host, knowing who asked, erases that person by record:
///
/// ```
/// use idstitch::{EraseError, EraseTarget, KindId, RecordInput, Resolver};
///
/// let mut resolver = Resolver::new();
/// let crm = resolver.add_source("crm", 10)?;
/// for (id, number) in [("1", "C1"), ("2", "C2")] {
///     resolver.upsert(RecordInput::new(crm, id).with_key(KindId::CUSTOMER_NO, number)
///         .with_key(KindId::EMAIL, "info@company.nl"))?;
/// }
/// let by_mailbox = resolver.erase(EraseTarget::key(KindId::EMAIL, "info@company.nl"));
/// assert!(matches!(by_mailbox, Err(EraseError::SharedKey { customers, .. }) if customers.len() == 2));
/// assert_eq!(resolver.n_records(), 2, "nothing erased");
///
/// // Customer C1 asked: their record names them alone.
/// resolver.erase(EraseTarget::record(crm, "1"))?;
/// assert_eq!(resolver.n_records(), 1);
/// assert_eq!(resolver.records_with_key(KindId::EMAIL, "info@company.nl").len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum EraseTarget {
    /// The customer holding the record `(source, external_id)`; the id is trimmed as on
    /// ingest.
    Record {
        /// The record's source.
        source: SourceId,
        /// The record's id in its source.
        external_id: String,
    },
    /// The customer whose records carry the key `(kind, value)`. The raw value is normalised
    /// as on ingest (`" Jan@Example.NL"` finds `jan@example.nl`), and in pseudonymised mode
    /// replaced by its pseudonym; for a composite kind give its parts in the kind's order,
    /// separated by U+001F (the unit separator), each normalised as the kind normalises its
    /// attributes.
    Key {
        /// The key's kind.
        kind: KindId,
        /// The raw value.
        value: String,
    },
}

impl EraseTarget {
    /// [`EraseTarget::Record`].
    pub fn record(source: SourceId, external_id: impl Into<String>) -> Self {
        EraseTarget::Record { source, external_id: external_id.into() }
    }

    /// [`EraseTarget::Key`].
    pub fn key(kind: KindId, value: impl Into<String>) -> Self {
        EraseTarget::Key { kind, value: value.into() }
    }
}

/// What [`Resolver::erase`] erased: the only copy of the person's identifiers left, for the
/// host's records of the request and its own stores
/// ([`Resolver::erase_and_suppress`] keeps keyed hashes of [`Erasure::keys`] for itself).
/// Everything is as the resolver stored it: keys
/// normalised (in pseudonymised mode, their pseudonyms: already keyed hashes), external ids
/// trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Erasure {
    /// The customer erased; its id ceased to exist and is never handed out again.
    pub customer: CustomerId,
    /// Its records, `(source, external id)`, sorted.
    pub records: Vec<(SourceId, String)>,
    /// The keys its records carried that no record carries any more, `(kind, value)`,
    /// sorted: gone from the resolver.
    pub keys: Vec<(KindId, String)>,
    /// The keys its records carried that records of other customers still carry (an office
    /// phone, a shared e-mail), sorted: these stay, as those records' keys.
    pub kept_keys: Vec<(KindId, String)>,
    /// The change events of removing the records: `Removed` for the customer, and whatever
    /// the removal did to others (a shared value that fell back under its kind's cap may now
    /// link them), by the usual rules.
    pub changes: Changes,
    /// What the compaction that followed reclaimed.
    pub compaction: CompactReport,
    /// How many of [`Erasure::keys`] [`Resolver::erase_and_suppress`] added to the
    /// suppression list (those not listed already); 0 for [`Resolver::erase`].
    pub suppressed: usize,
}

impl Resolver {
    /// Reclaims everything removed and replaced records left behind: drops every key that no
    /// record carries any more (with its value), and rewrites the key pool, the external-id
    /// text and the attribute store without the space given up, whatever its share (they
    /// are otherwise rewritten only once given-up space is more than half). Afterwards no
    /// byte of a removed record is in the resolver's structures, and the arenas it replaced
    /// were overwritten with zeros before they were freed. (Memory the allocator got back
    /// earlier, when a table grew, is not: a host that must rule that out too runs a zeroing
    /// allocator.)
    ///
    /// Changes no customer, id, explanation or view. It does renumber keys: a [`KeyIdx`]
    /// (from [`Resolver::graph`] or given to [`Resolver::key_at`]) is valid until the next
    /// `compact` and means nothing after it. Costs a pass over all keys, records and
    /// attributes; [`Resolver::erase`] calls it.
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 10)?;
    /// resolver.upsert(RecordInput::new(crm, "1").with_key(KindId::EMAIL, "jan@example.nl"))?;
    /// resolver.upsert(RecordInput::new(crm, "2").with_key(KindId::EMAIL, "piet@example.nl"))?;
    /// resolver.remove(crm, "1")?;
    /// assert_eq!(resolver.n_keys(), 2, "a key outlives its last record");
    ///
    /// let report = resolver.compact();
    /// assert_eq!((report.keys_removed, report.key_text_bytes), (1, "jan@example.nl".len()));
    /// assert_eq!(resolver.n_keys(), 1);
    /// assert!(!format!("{resolver:?}").contains("jan@example.nl"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compact(&mut self) -> CompactReport {
        let memory_before = self.memory_usage();
        let (remap, reclaimed) = self.graph.compact();
        self.partition.remap_keys(&remap);
        self.prepared.forget();
        let event_bytes = self.events.compact() + self.touches.compact();
        CompactReport {
            keys_removed: reclaimed.keys,
            key_text_bytes: reclaimed.key_text,
            record_data_bytes: reclaimed.record_data,
            event_bytes,
            memory_before,
            memory_after: self.memory_usage(),
        }
    }

    /// Erases a person: removes every record of the customer that `target` resolves to,
    /// through the same path as [`Resolver::remove`] (so ids and events follow the usual
    /// rules), then compacts ([`Resolver::compact`]), so that when it returns no byte of
    /// those records (external ids, keys only they carried, attributes) is left in the
    /// resolver's structures. Returns what was erased.
    ///
    /// A key names a person only if every record carrying it belongs to one customer: a
    /// value shared by several (`info@company.nl`, an office phone, a value refused as
    /// ambiguous) is refused with [`EraseError::SharedKey`] listing them, and nothing
    /// changes; erase each of them by record. Keys the person shared with others stay, as
    /// the others' keys ([`Erasure::kept_keys`]), and removing the person may let them link
    /// other customers again (a shared value back under its kind's cap): [`Erasure::changes`]
    /// says so.
    ///
    /// Costs the removal (the size of the customer's raw component) plus a compaction (a pass
    /// over the whole resolver); erasing many people, call it for each.
    ///
    /// # Errors
    /// [`EraseError::UnknownRecord`], [`EraseError::UnknownKind`],
    /// [`EraseError::InvalidValue`], [`EraseError::UnknownKey`] when the target names nothing
    /// stored, [`EraseError::SharedKey`] as above; the resolver is unchanged then.
    ///
    /// ```
    /// use idstitch::{ChangeEvent, EraseError, EraseTarget, KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::builder().default_country("NL").build()?;
    /// let crm = resolver.add_source("crm", 100)?;
    /// let shop = resolver.add_source("shop", 50)?;
    /// // Jan and Els, customers 1 and 2 of the CRM, share the office phone.
    /// let office = "020 123 4567";
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::CUSTOMER_NO, "1")
    ///     .with_key(KindId::EMAIL, "jan@example.nl").with_key(KindId::PHONE, office)
    ///     .with_attribute("name", "Jan Jansen"))?;
    /// resolver.upsert(RecordInput::new(shop, "S-9").with_key(KindId::EMAIL, "JAN@example.nl"))?;
    /// resolver.upsert(RecordInput::new(crm, "C-2").with_key(KindId::CUSTOMER_NO, "2")
    ///     .with_key(KindId::PHONE, office))?;
    /// let jan = resolver.customer_of(crm, "C-1").ok_or("stored")?;
    ///
    /// // The office phone belongs to two customers: it does not say whom to erase.
    /// let shared = resolver.erase(EraseTarget::key(KindId::PHONE, "+31 20 123 4567"));
    /// assert!(matches!(shared, Err(EraseError::SharedKey { ref customers, .. }) if customers.len() == 2));
    ///
    /// let erased = resolver.erase(EraseTarget::key(KindId::EMAIL, " Jan@Example.NL"))?;
    /// assert_eq!(erased.customer, jan);
    /// assert_eq!(erased.records.len(), 2);
    /// let gone = [(KindId::CUSTOMER_NO, "1".to_string()), (KindId::EMAIL, "jan@example.nl".to_string())];
    /// assert_eq!(erased.keys, gone);
    /// assert_eq!(erased.kept_keys, [(KindId::PHONE, "+31201234567".to_string())]);
    /// assert_eq!(erased.changes.events, [ChangeEvent::Removed { customer: jan }]);
    /// assert_eq!(resolver.n_records(), 1);
    /// let dump = format!("{resolver:?}");
    /// assert!(!dump.contains("jan@example.nl") && !dump.contains("Jan Jansen"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn erase(&mut self, target: EraseTarget) -> Result<Erasure, EraseError> {
        self.erase_with(target, false)
    }

    /// [`Resolver::erase`], and puts the erased keys ([`Erasure::keys`], the ones no record
    /// carries any more, not [`Erasure::kept_keys`]) on the resolver's suppression list, so
    /// that later records carrying one of them link nothing through it: such a value is
    /// stored as a placeholder is (deny-listed: it links nothing and counts toward no
    /// limit) and counted in [`IngestReport::values_suppressed`](crate::IngestReport::values_suppressed)
    /// of the call that brought it.
    ///
    /// The list holds `(kind, keyed hash)` pairs, never a value: the HMAC-SHA256 of the
    /// normalised value under a secret — in pseudonymised mode the pseudonymisation secret
    /// (an entry is the key's pseudonym), in raw mode the secret given to
    /// [`ResolverBuilder::suppression_secret`](crate::ResolverBuilder::suppression_secret).
    /// It is kept in snapshots and restored by the journal of a [`Durable`](crate::Durable)
    /// state. While it is empty, preparing records hashes nothing for it.
    ///
    /// # Errors
    /// As [`Resolver::erase`], and [`EraseError::NoSuppressionSecret`] in raw mode without a
    /// suppression secret; the resolver is unchanged then.
    ///
    /// ```
    /// use idstitch::{EraseError, EraseTarget, KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::builder().suppression_secret(b"from the vault").build()?;
    /// let crm = resolver.add_source("crm", 10)?;
    /// let shop = resolver.add_source("shop", 5)?;
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "jan@example.nl"))?;
    /// let erased = resolver.erase_and_suppress(EraseTarget::record(crm, "C-1"))?;
    /// assert_eq!((erased.suppressed, resolver.n_suppressed()), (1, 1));
    ///
    /// // Later records carrying the address are stored, but link nothing through it.
    /// resolver.upsert(RecordInput::new(shop, "S-1").with_key(KindId::EMAIL, "Jan@Example.nl"))?;
    /// let changes = resolver.upsert(RecordInput::new(shop, "S-2").with_key(KindId::EMAIL, "jan@example.nl"))?;
    /// assert_ne!(resolver.customer_of(shop, "S-1"), resolver.customer_of(shop, "S-2"));
    /// assert_eq!(changes.report.values_suppressed.get(&(shop, KindId::EMAIL)), Some(&1));
    ///
    /// // Without a secret, a raw-mode resolver cannot keep the list.
    /// let mut plain = Resolver::new();
    /// let crm = plain.add_source("crm", 10)?;
    /// plain.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "jan@example.nl"))?;
    /// let refused = plain.erase_and_suppress(EraseTarget::record(crm, "C-1"));
    /// assert_eq!(refused, Err(EraseError::NoSuppressionSecret));
    /// assert_eq!(plain.n_records(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn erase_and_suppress(&mut self, target: EraseTarget) -> Result<Erasure, EraseError> {
        self.erase_with(target, true)
    }

    /// How many keys are on the suppression list ([`Resolver::erase_and_suppress`]).
    pub fn n_suppressed(&self) -> usize {
        self.suppression.len()
    }

    /// [`Resolver::erase`], suppressing the erased keys if `suppress`.
    pub(crate) fn erase_with(
        &mut self,
        target: EraseTarget,
        suppress: bool,
    ) -> Result<Erasure, EraseError> {
        if suppress && !self.suppression.can_suppress(&self.kinds) {
            return Err(EraseError::NoSuppressionSecret);
        }
        let member = match &target {
            EraseTarget::Record { source, external_id } => self
                .graph
                .find_record(*source, trim_external_id(external_id))
                .ok_or_else(|| EraseError::UnknownRecord {
                    source_id: *source,
                    external_id: external_id.clone(),
                })?,
            EraseTarget::Key { kind, value } => self.sole_holder(*kind, value)?,
        };
        let customer = self.partition.customer_of(member);
        let mut slots: Vec<RecordIdx> =
            self.partition.members(member).filter(|&r| self.graph.record(r).is_some()).collect();
        // In slot order, not member order (which follows the union-find's history): the
        // freed slots go to later records in this order.
        slots.sort_unstable();
        let mut records: Vec<(SourceId, String)> = (slots.iter())
            .filter_map(|&r| self.graph.record(r))
            .map(|s| (s.source, self.graph.external_id(s).to_string()))
            .collect();
        records.sort_unstable();
        let mut carried: Vec<KeyIdx> = slots.iter().flat_map(|&r| self.graph.keys_of(r)).collect();
        carried.sort_unstable();
        carried.dedup();
        let events = self.remove_slots(&slots);
        let (mut keys, mut kept_keys) = (Vec::new(), Vec::new());
        for k in carried {
            let info = self.graph.key(k);
            let named = (info.kind, self.graph.key_value(k).to_string());
            if info.n_records == 0 {
                keys.push(named);
            } else {
                kept_keys.push(named);
            }
        }
        keys.sort_unstable();
        kept_keys.sort_unstable();
        let mut suppressed = 0;
        if suppress {
            let list = Arc::make_mut(&mut self.suppression);
            for (kind, value) in &keys {
                if let Some(digest) = list.digest_of_stored(&self.kinds, value) {
                    suppressed += usize::from(list.insert(*kind, digest));
                }
            }
        }
        let mut changes = Changes { events, ..Changes::default() };
        self.track_changes(&mut changes);
        let compaction = self.compact();
        Ok(Erasure { customer, records, keys, kept_keys, changes, compaction, suppressed })
    }

    /// A record carrying the key `(kind, raw)`, normalised as on ingest, if every record
    /// carrying it belongs to one customer.
    fn sole_holder(&self, kind: KindId, raw: &str) -> Result<RecordIdx, EraseError> {
        let entry = self.kinds.get(kind).ok_or(EraseError::UnknownKind(kind))?;
        let normalize = |raw: &str| {
            (entry.spec.normalizer.normalize(raw, &self.ctx))
                .map_err(|reason| EraseError::InvalidValue { kind, reason })
        };
        let mut value = if entry.spec.composite.is_some() {
            let parts: Result<Vec<String>, EraseError> =
                raw.split(COMPOSITE_SEPARATOR).map(normalize).collect();
            parts?.join(&COMPOSITE_SEPARATOR.to_string())
        } else {
            normalize(raw)?
        };
        if let Some(pseudonymizer) = &self.kinds.pseudonymizer {
            // Stored as its pseudonym; the normalised value lives no longer than this.
            let mut pseudonym = String::new();
            pseudonymizer.push_pseudonym(&value, &mut pseudonym);
            wipe(&mut value);
            value = pseudonym;
        }
        let key = self.graph.find_key(kind, &value).filter(|&k| self.graph.key(k).n_records > 0);
        let Some(key) = key else {
            return Err(EraseError::UnknownKey { kind, value });
        };
        let mut customers: Vec<CustomerId> =
            self.graph.records_of(key).map(|r| self.partition.customer_of(r)).collect();
        customers.sort_unstable();
        customers.dedup();
        if customers.len() > 1 {
            return Err(EraseError::SharedKey { kind, value, customers });
        }
        self.graph.records_of(key).next().ok_or(EraseError::UnknownKey { kind, value })
    }
}
