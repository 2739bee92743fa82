//! The texts events share, interned: topics (titles, products, queries; many) and channels
//! (a handful). An event holds a small id; the text is stored once.
//!
//! Interning keeps no counts: a text stays until the event store compacts, which interns the
//! texts its live events use into a fresh arena and wipes the old one, so that a removed
//! person's topics are not left readable.

use ahash::RandomState;

use crate::store::hash_index::{HashIndex, Slot};

/// Most channels: an event packs its channel into 12 bits, 0 meaning none.
pub(crate) const MAX_CHANNELS: usize = 4095;

/// A set of texts with dense ids from 1 (0 means none), in one arena.
#[derive(Clone, Debug)]
pub(crate) struct Interner {
    text: String,
    /// Start and length of text `i + 1`.
    spans: Vec<(u32, u32)>,
    index: HashIndex,
    /// Fixed seeds: the index's layout then depends on nothing but the texts (it is never
    /// iterated, so this is for reproducible memory figures only).
    hasher: RandomState,
    /// Most ids handed out.
    max: usize,
}

impl Interner {
    /// An interner of at most `max` texts.
    pub fn new(max: usize) -> Self {
        Interner {
            text: String::new(),
            spans: Vec::new(),
            index: HashIndex::default(),
            hasher: RandomState::with_seeds(0x5eed, 0x70b1c, 0xc4a2, 0x1e15),
            max,
        }
    }

    fn hash(hasher: &RandomState, text: &str) -> u64 {
        hasher.hash_one(text)
    }

    /// The text of `id`; `None` for 0 or an id not handed out.
    pub fn get(&self, id: u32) -> Option<&str> {
        let &(start, len) = self.spans.get((id as usize).checked_sub(1)?)?;
        self.text.get(start as usize..(start + len) as usize)
    }

    /// The id of `text`, interned on first sight; `None` when the interner is full (by count
    /// or, for the arena's `u32` offsets, by bytes). Empty text is none: id 0.
    pub fn intern(&mut self, text: &str) -> Option<u32> {
        if text.is_empty() {
            return Some(0);
        }
        let hash = Self::hash(&self.hasher, text);
        let (spans, arena) = (&self.spans, &self.text);
        let same = |id: u32| {
            let (start, len) = spans[id as usize - 1];
            arena.as_bytes().get(start as usize..(start + len) as usize) == Some(text.as_bytes())
        };
        if let Some(id) = self.index.find(hash, same) {
            return Some(id);
        }
        if self.spans.len() >= self.max || u32::try_from(self.text.len() + text.len()).is_err() {
            return None;
        }
        let (spans, arena, hasher) = (&self.spans, &self.text, &self.hasher);
        self.index.reserve(1, || {
            spans.iter().enumerate().map(|(i, &(start, len))| {
                let t = arena.get(start as usize..(start + len) as usize).unwrap_or_default();
                (i as u32 + 1, Self::hash(hasher, t))
            })
        });
        let id = self.spans.len() as u32 + 1;
        match self.index.find_or_insert(hash, |_| false) {
            Slot::Vacant(position) => self.index.insert_at(position, hash, id),
            Slot::Found(..) => return None,
        }
        self.spans.push((self.text.len() as u32, text.len() as u32));
        self.text.push_str(text);
        Some(id)
    }

    /// Number of texts held.
    // For tests and inspection.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Wipes the arena of `old`, an interner this one replaced.
    pub fn wipe_old(&self, old: Interner) {
        crate::store::wipe(old.text);
    }

    /// Heap bytes held.
    pub fn memory(&self) -> usize {
        self.text.capacity() + self.spans.capacity() * 8 + self.index.memory()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_interned_once_and_capped() {
        let mut topics = Interner::new(3);
        assert_eq!(topics.intern(""), Some(0));
        let a = topics.intern("rates").unwrap();
        let b = topics.intern("bikes").unwrap();
        assert_eq!(topics.intern("rates"), Some(a));
        assert_ne!(a, b);
        assert_eq!(topics.get(a), Some("rates"));
        assert_eq!(topics.get(0), None);
        assert_eq!(topics.get(99), None);
        topics.intern("c").unwrap();
        assert_eq!(topics.intern("d"), None, "full");
        assert_eq!(topics.intern("bikes"), Some(b), "held texts are still found");
        // Many texts: the index grows and finds them all.
        let mut many = Interner::new(usize::MAX);
        let ids: Vec<u32> = (0..5_000).map(|i| many.intern(&format!("t{i}")).unwrap()).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(many.intern(&format!("t{i}")), Some(*id));
        }
        assert_eq!(many.len(), 5_000);
    }
}
