//! Compact storage of the records' attributes.
//!
//! A host's `Attribute` is a shared name, a `String` and a time: 56 bytes and an allocation
//! before its value. Stored here it is 20 bytes plus the value's bytes: names are interned
//! (a source has a handful), values sit back to back in one text arena, and each record's
//! attributes are one range of a shared vector.
//!
//! Invariants:
//! - a record's attributes are `items[start..start + len]`, in the order the host gave them;
//! - space given up when a record's attributes change or the record goes is counted, and
//!   reclaimed by [`AttributeStore::compact`] once it is more than half of the whole (or on
//!   demand, when the resolver compacts).

use std::sync::Arc;

use ahash::AHashMap;

use crate::error::IngestError;
use crate::input::record::{Attribute, Timestamp};

/// Where a record's attributes are. Packed to 2-byte alignment: 6 bytes, so that a record
/// slot holding one is 24 bytes, not 28.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, packed(2))]
pub(crate) struct AttributeRange {
    start: u32,
    len: u16,
}

/// One stored attribute.
#[derive(Clone, Copy, Debug)]
struct StoredAttribute {
    value_start: u32,
    value_len: u32,
    /// Seconds since the epoch as two halves, so the struct packs at 4-byte alignment.
    time: [u32; 2],
    name: u16,
    has_time: bool,
}

impl StoredAttribute {
    const ZERO: StoredAttribute =
        StoredAttribute { value_start: 0, value_len: 0, time: [0; 2], name: 0, has_time: false };

    fn observed_at(&self) -> Option<Timestamp> {
        self.has_time
            .then(|| Timestamp((u64::from(self.time[0]) | (u64::from(self.time[1]) << 32)) as i64))
    }
}

/// A stored attribute, borrowed from the resolver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributeRef<'a> {
    /// Attribute name, as the host called it.
    pub name: &'a str,
    /// The raw value.
    pub value: &'a str,
    /// When the source observed this value, if known.
    pub observed_at: Option<Timestamp>,
}

impl AttributeRef<'_> {
    /// An owned copy.
    pub fn to_attribute(&self) -> Attribute {
        Attribute {
            name: self.name.into(),
            value: self.value.to_string(),
            observed_at: self.observed_at,
        }
    }
}

/// The attributes of one record, in the order they were given.
#[derive(Clone, Debug)]
pub struct Attributes<'a> {
    store: &'a AttributeStore,
    items: std::slice::Iter<'a, StoredAttribute>,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = AttributeRef<'a>;

    fn next(&mut self) -> Option<AttributeRef<'a>> {
        self.items.next().map(|a| self.store.resolve(a))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl ExactSizeIterator for Attributes<'_> {}

#[derive(Clone, Debug, Default)]
pub(crate) struct AttributeStore {
    names: Vec<Box<str>>,
    name_ids: AHashMap<Box<str>, u16>,
    /// The names and name ids of the last record stored, by position: records of one source
    /// give their attributes in the same order, so most names are found by one comparison, no
    /// hashing; a host that shares its names (see [`Attribute::name`]) hands in the very same
    /// `Arc`, found by comparing pointers without reading the name at all.
    recent: Vec<(Arc<str>, u16)>,
    items: Vec<StoredAttribute>,
    text: String,
    /// Items and text bytes no live range covers.
    garbage_items: usize,
    garbage_text: usize,
}

impl AttributeStore {
    fn resolve<'a>(&'a self, a: &StoredAttribute) -> AttributeRef<'a> {
        let start = a.value_start as usize;
        AttributeRef {
            name: self.names.get(usize::from(a.name)).map_or("", |n| n),
            value: self.text.get(start..start + a.value_len as usize).unwrap_or_default(),
            observed_at: a.observed_at(),
        }
    }

    fn stored(&self, range: AttributeRange) -> &[StoredAttribute] {
        let start = range.start as usize;
        self.items.get(start..start + usize::from(range.len)).unwrap_or_default()
    }

    /// The attributes in `range`.
    pub fn get(&self, range: AttributeRange) -> Attributes<'_> {
        Attributes { store: self, items: self.stored(range).iter() }
    }

    /// Whether `range` holds exactly `attributes`.
    pub fn equals(&self, range: AttributeRange, attributes: &[Attribute]) -> bool {
        let stored = self.stored(range);
        stored.len() == attributes.len()
            && stored.iter().zip(attributes).all(|(s, a)| {
                let s = self.resolve(s);
                s.name == &*a.name && s.value == a.value && s.observed_at == a.observed_at
            })
    }

    /// Whether `attributes` can be stored: checked before a record is, so that
    /// [`AttributeStore::push`] cannot fail after it.
    pub fn check_room(&self, attributes: &[Attribute]) -> Result<(), IngestError> {
        u16::try_from(attributes.len()).map_err(|_| IngestError::TooManyKeys)?;
        let bytes: usize = attributes.iter().map(|a| a.value.len()).sum();
        // Names are looked up only near the limit: far from it, any record fits.
        let names_full = self.names.len() + attributes.len() > usize::from(u16::MAX)
            && self.names.len()
                + attributes.iter().filter(|a| !self.name_ids.contains_key(&*a.name)).count()
                > usize::from(u16::MAX);
        if names_full
            || u32::try_from(self.items.len() + attributes.len()).is_err()
            || u32::try_from(self.text.len() + bytes).is_err()
        {
            return Err(IngestError::CapacityExceeded);
        }
        Ok(())
    }

    /// Stores `attributes`, returning their range.
    ///
    /// # Errors
    /// [`IngestError::CapacityExceeded`] or [`IngestError::TooManyKeys`] when
    /// [`AttributeStore::check_room`] would fail; nothing is stored then.
    pub fn push(&mut self, attributes: &[Attribute]) -> Result<AttributeRange, IngestError> {
        if attributes.is_empty() {
            return Ok(AttributeRange::default());
        }
        self.check_room(attributes)?;
        let start = self.items.len() as u32;
        for (i, a) in attributes.iter().enumerate() {
            let name = match self.recent.get_mut(i) {
                Some((name, id)) if Arc::ptr_eq(name, &a.name) || **name == *a.name => *id,
                _ => {
                    let id = self.name_id(&a.name);
                    if let Some(slot) = self.recent.get_mut(i) {
                        *slot = (Arc::clone(&a.name), id);
                    } else {
                        self.recent.push((Arc::clone(&a.name), id));
                    }
                    id
                }
            };
            let time = a.observed_at.map_or(0, |t| t.0 as u64);
            self.items.push(StoredAttribute {
                value_start: self.text.len() as u32,
                value_len: a.value.len() as u32,
                time: [time as u32, (time >> 32) as u32],
                name,
                has_time: a.observed_at.is_some(),
            });
            self.text.push_str(&a.value);
        }
        Ok(AttributeRange { start, len: attributes.len() as u16 })
    }

    /// The id of an attribute name, interned on first sight (`check_room` made sure one is
    /// left).
    fn name_id(&mut self, name: &str) -> u16 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len() as u16;
        self.names.push(name.into());
        self.name_ids.insert(name.into(), id);
        id
    }

    /// The id of attribute name `name`, interned if new; `None` once 65,536 names are held.
    pub fn intern_name(&mut self, name: &str) -> Option<u16> {
        if self.names.len() > usize::from(u16::MAX) && !self.name_ids.contains_key(name) {
            return None;
        }
        Some(self.name_id(name))
    }

    /// Stores attributes given as `(name id, value, observed at)`, names interned by
    /// [`AttributeStore::intern_name`]: a restore's path, which builds no [`Attribute`] (a
    /// shared name and an owned value each) for what it only copies in.
    pub fn push_parts(
        &mut self,
        parts: &[(u16, &str, Option<Timestamp>)],
    ) -> Result<AttributeRange, IngestError> {
        if parts.is_empty() {
            return Ok(AttributeRange::default());
        }
        let len = u16::try_from(parts.len()).map_err(|_| IngestError::TooManyKeys)?;
        let bytes: usize = parts.iter().map(|p| p.1.len()).sum();
        if parts.iter().any(|p| usize::from(p.0) >= self.names.len())
            || u32::try_from(self.items.len() + parts.len()).is_err()
            || u32::try_from(self.text.len() + bytes).is_err()
        {
            return Err(IngestError::CapacityExceeded);
        }
        let start = self.items.len() as u32;
        for &(name, value, observed_at) in parts {
            let time = observed_at.map_or(0, |t| t.0 as u64);
            self.items.push(StoredAttribute {
                value_start: self.text.len() as u32,
                value_len: value.len() as u32,
                time: [time as u32, (time >> 32) as u32],
                name,
                has_time: observed_at.is_some(),
            });
            self.text.push_str(value);
        }
        Ok(AttributeRange { start, len })
    }

    /// Makes room for about `records` more records' attributes; unused room is given back by
    /// [`AttributeStore::trim`] (untouched room costs address space, not memory).
    pub fn reserve(&mut self, records: usize) {
        self.items.reserve(records.saturating_mul(4));
        self.text.reserve(records.saturating_mul(48));
    }

    /// Counts `range` as given up.
    pub fn release(&mut self, range: AttributeRange) {
        let stored = self.stored(range);
        let (items, text) =
            (stored.len(), stored.iter().map(|a| a.value_len as usize).sum::<usize>());
        self.garbage_items += items;
        self.garbage_text += text;
    }

    /// Whether any space is given up.
    pub fn has_garbage(&self) -> bool {
        self.garbage_items > 0 || self.garbage_text > 0
    }

    /// Whether given-up space is more than half of the whole and at least `min_bytes` (below
    /// that a pass is never worth it).
    pub fn needs_compaction(&self, min_bytes: usize) -> bool {
        let garbage =
            self.garbage_text + self.garbage_items * std::mem::size_of::<StoredAttribute>();
        garbage >= min_bytes && garbage * 2 > self.bytes()
    }

    /// Rewrites the store with only the live `ranges`, updating each in place, and wipes the
    /// old value text. Returns the bytes dropped (values and items).
    pub fn compact<'a>(&mut self, ranges: impl Iterator<Item = &'a mut AttributeRange>) -> usize {
        let before = self.bytes();
        let mut items = Vec::with_capacity(self.items.len() - self.garbage_items);
        let mut text = String::with_capacity(self.text.len() - self.garbage_text);
        // Ranges that follow each other in `items` (records stored one after the other, as a
        // bulk load leaves them) are copied as one run: items, and values, which sit back to
        // back in the same order (see `push`).
        let mut run: Option<(usize, usize)> = None;
        let copy_run = |run: Option<(usize, usize)>, items: &mut Vec<_>, text: &mut String| {
            let Some(stored) = run.and_then(|(start, end)| self.items.get(start..end)) else {
                return;
            };
            let (Some(first), Some(last)) = (stored.first(), stored.last()) else { return };
            let (from, to) = (first.value_start, last.value_start + last.value_len);
            debug_assert!(
                stored.windows(2).all(|w| w[0].value_start + w[0].value_len == w[1].value_start),
                "adjacent items have adjacent values"
            );
            let to_new = |old: u32| old - from + text.len() as u32;
            items.extend(
                stored.iter().map(|a| StoredAttribute { value_start: to_new(a.value_start), ..*a }),
            );
            text.push_str(self.text.get(from as usize..to as usize).unwrap_or_default());
        };
        let mut n_items = 0;
        for range in ranges {
            let (start, end) =
                (range.start as usize, range.start as usize + usize::from(range.len));
            range.start = n_items as u32;
            if start == end {
                continue;
            }
            n_items += end - start;
            run = match run {
                Some((run_start, run_end)) if run_end == start => Some((run_start, end)),
                other => {
                    copy_run(other, &mut items, &mut text);
                    Some((start, end))
                }
            };
        }
        copy_run(run, &mut items, &mut text);
        debug_assert_eq!(items.len(), n_items);
        // The old items hold observation times: zeroed as the old values are.
        let mut old = std::mem::replace(&mut self.items, items);
        old.clear();
        old.resize(old.capacity(), StoredAttribute::ZERO);
        std::hint::black_box(&old);
        crate::store::wipe(std::mem::replace(&mut self.text, text));
        self.garbage_items = 0;
        self.garbage_text = 0;
        before - self.bytes()
    }

    /// Bytes of values and items held (not counting spare room).
    fn bytes(&self) -> usize {
        self.text.len() + self.items.len() * std::mem::size_of::<StoredAttribute>()
    }

    /// Gives back the room of vectors more than a quarter empty.
    pub fn trim(&mut self) {
        if self.items.capacity() > self.items.len() + self.items.len() / 4 {
            self.items.shrink_to_fit();
        }
        if self.text.capacity() > self.text.len() + self.text.len() / 4 {
            self.text.shrink_to_fit();
        }
    }

    /// Heap bytes held.
    pub fn memory(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<StoredAttribute>()
            + self.text.capacity()
            + self.names.iter().map(|n| 2 * n.len() + 24).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::Tuning;

    fn attr(name: &str, value: &str, time: Option<i64>) -> Attribute {
        Attribute { name: name.into(), value: value.into(), observed_at: time.map(Timestamp) }
    }

    #[test]
    fn round_trip_keeps_order_names_values_and_times() {
        let mut store = AttributeStore::default();
        let given = vec![
            attr("name", "Jan", Some(-5)),
            attr("city", "Ûtrecht", None),
            attr("name", "", Some(i64::MIN)),
        ];
        let range = store.push(&given).unwrap();
        let back: Vec<Attribute> = store.get(range).map(|a| a.to_attribute()).collect();
        assert_eq!(back, given);
        assert!(store.equals(range, &given));
        assert!(!store.equals(range, &given[..2]));
        assert_eq!(store.names.len(), 2, "names are interned");
        assert_eq!(store.get(AttributeRange::default()).len(), 0);
    }

    #[test]
    fn shared_and_unshared_names_in_any_order_are_stored_as_given() {
        let mut store = AttributeStore::default();
        let (city, name): (Arc<str>, Arc<str>) = ("city".into(), "name".into());
        let shared = |first: &Arc<str>, second: &Arc<str>| {
            vec![
                Attribute { name: Arc::clone(first), value: "a".into(), observed_at: None },
                Attribute { name: Arc::clone(second), value: "b".into(), observed_at: None },
            ]
        };
        let records = [
            shared(&city, &name),
            shared(&city, &name),
            // The same `Arc`s, positions swapped: a pointer that differs is no match.
            shared(&name, &city),
            // Equal names in new allocations, then a name never seen.
            vec![attr("name", "a", None), attr("city", "b", None)],
            vec![attr("name", "a", None), attr("zip", "b", None)],
            shared(&name, &name),
        ];
        for given in &records {
            let range = store.push(given).unwrap();
            let back: Vec<Attribute> = store.get(range).map(|a| a.to_attribute()).collect();
            assert_eq!(&back, given);
        }
        assert_eq!(store.names.len(), 3);
    }

    #[test]
    fn compaction_keeps_live_ranges() {
        let mut store = AttributeStore::default();
        let big = "x".repeat(4096);
        let ranges: Vec<AttributeRange> = (0..1024)
            .map(|i| store.push(&[attr("v", &format!("{i}{big}"), Some(i))]).unwrap())
            .collect();
        for r in ranges.iter().skip(1).step_by(2).chain(ranges.iter().skip(2).step_by(4)) {
            store.release(*r);
        }
        let mut live: Vec<AttributeRange> =
            ranges.iter().enumerate().filter(|(i, _)| i % 4 == 0).map(|(_, r)| *r).collect();
        assert!(store.needs_compaction(Tuning::TINY.min_attribute_compaction));
        store.compact(live.iter_mut());
        assert!(store.text.len() < 300 * big.len());
        for (i, r) in (0..1024).step_by(4).zip(&live) {
            let a = store.get(*r).next().unwrap();
            assert_eq!(a.value, format!("{i}{big}"));
            assert_eq!(a.observed_at, Some(Timestamp(i)));
        }
    }
}
