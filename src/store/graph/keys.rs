//! What does a key slot hold, and how is a key interned? The 16-byte key slot and its flags,
//! the state a resolution reads from it ([`KeyInfo`]), and interning a `(kind, value)`.

use crate::error::IngestError;
use crate::ids::{KeyIdx, KindId};
use crate::input::prepare::hash_key;
use crate::store::hash_index;

use super::index::held_keys;
use super::{arena_start, IdentityGraph, NONE};

/// Set in a key's `rest`: its records are in `big_lists[rest & !BIG]`.
pub(super) const BIG: u32 = 1 << 31;

/// An interned key.
#[derive(Clone, Debug)]
pub(crate) struct KeySlot {
    /// The value's bytes start here in `key_text` and end where the next key's start (keys
    /// and their values are appended in the same order, and a compaction drops both
    /// together): one arena for all key values saves an allocation and a pointer per key, and
    /// no length is stored.
    pub(super) text_start: u32,
    /// A record carrying the key, or `NONE`.
    pub(super) first: u32,
    /// Head of the cell list of the other records carrying the key, or `NONE`; or `BIG | i`
    /// when the key's records are all in `big_lists[i]` (then `first` is `NONE`).
    pub(super) rest: u32,
    pub(super) kind: KindId,
    /// The number of records carrying the key in the low bits (`COUNT`) unless the key has
    /// a big list, whose length it is then (a key moves to one past `Tuning::big_key` records, so
    /// the inline count stays small); `REFUSED` (see [`KeyInfo::refused`]); `DENIED`: the
    /// value is on the kind's deny-list, its cap is 0 whatever the kind's. What the kind
    /// decides (generic cap, whether it links) is kept once per kind in `KindRule`, not per
    /// key: a slot is 16 bytes.
    pub(super) state: u16,
}

/// `KeySlot::state`: the inline record count.
const COUNT: u16 = (1 << 14) - 1;

/// `KeySlot::state`: see [`KeyInfo::refused`].
const REFUSED: u16 = 1 << 14;

/// `KeySlot::state`: the value is deny-listed.
pub(super) const DENIED: u16 = 1 << 15;

impl KeySlot {
    #[inline]
    pub(super) fn big_list(&self) -> Option<usize> {
        (self.rest != NONE && self.rest & BIG != 0).then_some((self.rest & !BIG) as usize)
    }

    #[inline]
    pub(super) fn inline_count(&self) -> u16 {
        self.state & COUNT
    }

    #[inline]
    pub(super) fn set_inline_count(&mut self, n: u16) {
        debug_assert!(n <= COUNT);
        self.state = (self.state & !COUNT) | (n & COUNT);
    }

    #[inline]
    pub(super) fn set_refused(&mut self, refused: bool) {
        if refused {
            self.state |= REFUSED;
        } else {
            self.state &= !REFUSED;
        }
    }
}

/// A key's state, read from its slot and its kind's rule.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyInfo {
    pub kind: KindId,
    /// Number of records carrying the key.
    pub n_records: u32,
    /// The key is generic when `n_records > cap`; deny-listed keys have `cap == 0`.
    pub cap: u32,
    /// The kind links records (false for constraint-only kinds).
    pub links: bool,
    /// The last resolution refused to link this key's records (ambiguous under the limits).
    /// Cleared whenever the key's record set changes: the resolution that follows either
    /// links through the key (fast path) or decides it afresh (the key's records are in the
    /// re-resolved region), and a key left without records refuses nothing.
    pub refused: bool,
}

impl KeyInfo {
    /// A generic key links nothing.
    #[inline]
    pub fn is_generic(&self) -> bool {
        self.n_records > self.cap
    }

    /// Whether the key may join records: its kind links and it is not generic.
    #[inline]
    pub fn can_link(&self) -> bool {
        self.links && !self.is_generic()
    }

    /// Whether the key is deny-listed (generic whatever its count).
    #[inline]
    pub fn is_denied(&self) -> bool {
        self.cap == 0
    }
}

/// Where each key went in a key compaction ([`IdentityGraph::compact`]): its new index, or
/// nothing for a key dropped because no record carried it. Monotone: kept keys keep their
/// relative order, so a list sorted by `KeyIdx` stays sorted when mapped.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyRemap {
    /// By old index: the new one, or `NONE`.
    new: Vec<u32>,
    removed: usize,
}

impl KeyRemap {
    /// The new index of `old`, or `None` if the key was dropped.
    #[inline]
    pub fn get(&self, old: KeyIdx) -> Option<KeyIdx> {
        if self.removed == 0 {
            return Some(old);
        }
        self.new.get(old.index()).copied().filter(|&k| k != NONE).map(KeyIdx)
    }

    /// Number of keys dropped.
    pub fn removed(&self) -> usize {
        self.removed
    }

    /// Whether every key kept its index (none was dropped).
    pub fn is_identity(&self) -> bool {
        self.removed == 0
    }
}

#[inline]
pub(super) fn key_text_of<'a>(key_text: &'a str, keys: &[KeySlot], key: KeyIdx) -> &'a str {
    let start = keys[key.index()].text_start as usize;
    let end = keys.get(key.index() + 1).map_or(key_text.len(), |next| next.text_start as usize);
    key_text.get(start..end).unwrap_or_default()
}

impl IdentityGraph {
    #[inline]
    pub(super) fn info(&self, slot: &KeySlot) -> KeyInfo {
        let rule = self.kind_rules.get(slot.kind.index()).copied().unwrap_or_default();
        let n_records = match slot.big_list() {
            Some(i) => self.big_lists.get(i).map_or(0, |list| list.len() as u32),
            None => u32::from(slot.inline_count()),
        };
        KeyInfo {
            kind: slot.kind,
            n_records,
            cap: if slot.state & DENIED != 0 { 0 } else { rule.generic_cap },
            links: rule.links,
            refused: slot.state & REFUSED != 0,
        }
    }

    /// Drops every key that no record carries: rewrites the key slots and `key_text` densely
    /// (the old text wiped), renumbers the kept keys in their order and the key index with
    /// them. The record side is left to the caller: every record's key list must be mapped
    /// through the returned [`KeyRemap`] before the graph is read again (see
    /// [`IdentityGraph::compact`]). A key keeps its state (refused, deny-listed) and its
    /// records.
    pub(super) fn compact_keys(&mut self) -> KeyRemap {
        // A key without records has neither an inline record nor a list (a big list that
        // empties goes back to the inline form).
        let dead = |slot: &KeySlot| slot.first == NONE && slot.rest == NONE;
        let n = self.keys.len();
        let start_of =
            |i: usize| self.keys.get(i).map_or(self.key_text.len(), |s| s.text_start as usize);
        let (mut removed, mut dead_text) = (0, 0);
        for (i, slot) in self.keys.iter().enumerate() {
            debug_assert_eq!(dead(slot), self.info(slot).n_records == 0);
            if dead(slot) {
                removed += 1;
                dead_text += start_of(i + 1) - start_of(i);
            }
        }
        if removed == 0 {
            return KeyRemap::default();
        }
        let mut new = Vec::with_capacity(n);
        let mut keys = Vec::with_capacity(n - removed);
        let mut text = String::with_capacity(self.key_text.len() - dead_text);
        // Order tags (pseudonymised mode) go with their keys.
        let mut tags = Vec::with_capacity(if self.keeps_order_tags { n - removed } else { 0 });
        // Runs of kept keys: their slots are one block, and so are their values (a key's
        // value ends where the next key's starts), each copied at once.
        let mut i = 0;
        while i < n {
            if dead(&self.keys[i]) {
                new.push(NONE);
                i += 1;
                continue;
            }
            let run = i;
            while i < n && !dead(&self.keys[i]) {
                // Fits: fewer keys than before.
                new.push((keys.len() + i - run) as u32);
                i += 1;
            }
            let (from, to) = (start_of(run), start_of(i));
            // Where the run's values move to: only ever down.
            let shift = (from - text.len()) as u32;
            keys.extend(
                self.keys[run..i]
                    .iter()
                    .map(|slot| KeySlot { text_start: slot.text_start - shift, ..slot.clone() }),
            );
            text.push_str(self.key_text.get(from..to).unwrap_or_default());
            tags.extend_from_slice(self.order_tags.get(run..i).unwrap_or_default());
        }
        debug_assert_eq!(tags.len(), if self.keeps_order_tags { keys.len() } else { 0 });
        self.keys = keys;
        self.order_tags = tags;
        crate::store::wipe(std::mem::replace(&mut self.key_text, text));
        self.key_table.remap(|k| new.get(k as usize).copied().filter(|&k| k != NONE));
        debug_assert_eq!(self.key_table.len(), self.keys.len(), "every key indexed once");
        KeyRemap { new, removed }
    }

    /// Marks or clears a key's refusal (see [`KeyInfo::refused`]).
    #[inline]
    pub fn set_refused(&mut self, idx: KeyIdx, refused: bool) {
        self.keys[idx.index()].set_refused(refused);
    }

    /// The key `(kind, value)`, whose `hash` the caller computed with
    /// [`IdentityGraph::key_hasher`], interned on first sight, deny-listed (cap 0) if `denied`
    /// says so (called only then; its kind's cap and whether it links come from the kind's
    /// rule), with `order_tag` if the graph keeps order tags. One hash probe either way.
    pub fn intern_key(
        &mut self,
        kind: KindId,
        value: &str,
        hash: u64,
        order_tag: u64,
        denied: impl FnOnce() -> bool,
    ) -> Result<KeyIdx, IngestError> {
        debug_assert_eq!(hash, hash_key(&self.hasher, kind, value), "hashed by another hasher");
        let (keys, key_text, hasher) = (&self.keys, &self.key_text, &self.hasher);
        self.key_table.reserve(1, || held_keys(hasher, keys, key_text));
        let slot = self.key_table.find_or_insert(hash, |k| {
            let k = KeyIdx(k);
            keys[k.index()].kind == kind && key_text_of(key_text, keys, k) == value
        });
        match slot {
            hash_index::Slot::Found(_, k) => Ok(KeyIdx(k)),
            hash_index::Slot::Vacant(position) => {
                let idx = u32::try_from(self.keys.len())
                    .ok()
                    .filter(|&i| i < NONE)
                    .ok_or(IngestError::CapacityExceeded)?;
                let text_start = arena_start(self.key_text.len(), value.len())?;
                let denied = denied();
                self.key_table.insert_at(position, hash, idx);
                self.key_text.push_str(value);
                if self.keeps_order_tags {
                    self.order_tags.push(order_tag);
                }
                self.keys.push(KeySlot {
                    text_start,
                    first: NONE,
                    rest: NONE,
                    kind,
                    state: if denied { DENIED } else { 0 },
                });
                Ok(KeyIdx(idx))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{RecordIdx, SourceId};
    use crate::input::kind::KindRule;
    use crate::store::graph::RecordSlot;
    use crate::tuning::Tuning;

    #[test]
    fn slots_stay_small() {
        // Per-key and per-record bytes are what bounds memory at 10M records: a field added
        // here is paid 17M times.
        assert_eq!(std::mem::size_of::<KeySlot>(), 16);
        // The inline record count must reach one past `Tuning::big_key`, when the key moves.
        assert!(Tuning::PRODUCTION.big_key < u32::from(COUNT));
        assert!(Tuning::TINY.big_key < u32::from(COUNT));
        assert_eq!(std::mem::size_of::<Option<RecordSlot>>(), 24);
    }

    #[test]
    fn kind_rules_and_the_deny_list_decide_generic_keys() {
        let rule = KindRule { generic_cap: 1, links: true };
        let mut g = IdentityGraph::with_kind_rules(
            vec![rule; usize::from(KindId::EMAIL.0) + 1],
            None,
            Tuning::TINY,
        );
        let mut key = |value: &str, denied: bool| {
            let hash = hash_key(g.key_hasher(), KindId::EMAIL, value);
            g.intern_key(KindId::EMAIL, value, hash, 0, || denied).unwrap()
        };
        let (plain, placeholder) = (key("a@x.nl", false), key("test@test.com", true));
        let other_kind = {
            let hash = hash_key(g.key_hasher(), KindId::PHONE, "+31201234567");
            g.intern_key(KindId::PHONE, "+31201234567", hash, 0, || false).unwrap()
        };
        assert_eq!(g.key(plain).cap, 1);
        assert_eq!(g.key(placeholder).cap, 0);
        assert!(g.key(placeholder).is_denied() && !g.key(plain).is_denied());
        assert_eq!(g.key(other_kind).cap, u32::MAX, "kinds without a rule follow the default");
        for r in 0..2 {
            g.find_or_insert_record(SourceId(0), &format!("r{r}")).unwrap();
            g.set_keys(RecordIdx(r), &[plain], false).unwrap();
        }
        assert!(g.key(plain).is_generic() && !g.key(plain).can_link());
        g.set_refused(other_kind, true);
        assert!(g.key(other_kind).refused);
    }
}
