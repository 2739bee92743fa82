//! Event values in 4 bytes each, exactly.
//!
//! Most values are small whole numbers (reading seconds), amounts in cents, or 0: a value
//! that an `f32` holds exactly is stored as its bits, an amount with at most two decimals
//! below 21,474,836.48 as its cents with the top bit set, and any other value (more decimals,
//! huge, negative) in a side vector of `f64`, its index in the `f32` NaN range. Reading gives
//! back the very `f64` that was stored, bit for bit.

/// First word of the side range: the `f32` NaN bit patterns with the sign bit clear.
const SIDE: u32 = 0x7f80_0000;
/// Entries the side range can name.
const SIDE_MAX: usize = (0x8000_0000 - SIDE) as usize;
/// Top bit: the rest is cents.
const CENTS: u32 = 0x8000_0000;

/// The word for `value` if it needs no side entry.
fn encode(value: f64) -> Option<u32> {
    let single = value as f32;
    if f64::from(single).to_bits() == value.to_bits() && single.to_bits() < SIDE {
        return Some(single.to_bits());
    }
    let cents = (value * 100.0).round();
    // The sign test keeps -0.0 out: its cents would read back as +0.0.
    if value.is_sign_positive()
        && cents < f64::from(CENTS)
        && (cents / 100.0).to_bits() == value.to_bits()
    {
        return Some(CENTS | cents as u32);
    }
    None
}

/// A column of values, indexed by event slot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Values {
    words: Vec<u32>,
    side: Vec<f64>,
    /// Side entries no word names, reused first.
    side_free: Vec<u32>,
}

impl Values {
    /// The value of `slot` (0 for a slot never set).
    pub fn get(&self, slot: usize) -> f64 {
        let word = self.words.get(slot).copied().unwrap_or(0);
        if word & CENTS != 0 {
            f64::from(word & !CENTS) / 100.0
        } else if word >= SIDE {
            self.side.get((word - SIDE) as usize).copied().unwrap_or(0.0)
        } else {
            f64::from(f32::from_bits(word))
        }
    }

    /// Whether `value` can be stored in a slot now holding a value that needs no side entry.
    pub fn has_room(&self, value: f64) -> bool {
        encode(value).is_some() || !self.side_free.is_empty() || self.side.len() < SIDE_MAX
    }

    /// Adds a slot holding 0.
    pub fn push(&mut self) {
        self.words.push(0);
    }

    /// Sets `slot`'s value; `false` (nothing changed) when it needs a side entry and all
    /// 2²³ are taken.
    pub fn set(&mut self, slot: usize, value: f64) -> bool {
        if !self.has_room(value) {
            return false;
        }
        self.clear(slot);
        let word = encode(value).unwrap_or_else(|| {
            let i = self.side_free.pop().unwrap_or_else(|| {
                self.side.push(0.0);
                self.side.len() as u32 - 1
            });
            self.side[i as usize] = value;
            SIDE + i
        });
        if let Some(w) = self.words.get_mut(slot) {
            *w = word;
        }
        true
    }

    /// Sets `slot` to 0, zeroing and freeing its side entry.
    pub fn clear(&mut self, slot: usize) {
        let Some(word) = self.words.get_mut(slot) else { return };
        if *word & CENTS == 0 && *word >= SIDE {
            let i = *word - SIDE;
            if let Some(v) = self.side.get_mut(i as usize) {
                *v = 0.0;
            }
            self.side_free.push(i);
        }
        *word = 0;
    }

    /// Makes room for `additional` more slots.
    pub fn reserve(&mut self, additional: usize) {
        self.words.reserve(additional);
    }

    /// Gives back spare room.
    // Through `EventStore::trim`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn shrink_to_fit(&mut self) {
        self.words.shrink_to_fit();
        self.side.shrink_to_fit();
    }

    /// Zeroes every buffer before dropping it (see `compact::wipe_column`).
    pub fn wipe(self) {
        super::compact::wipe_column(self.words);
        super::compact::wipe_column(self.side);
    }

    /// Heap bytes held.
    pub fn memory(&self) -> usize {
        self.words.capacity() * 4 + self.side.capacity() * 8 + self.side_free.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_bit_for_bit() {
        let cases = [
            0.0,
            -0.0,
            1.0,
            95.0,
            19.99,
            0.01,
            21_474_836.47,
            21_474_836.48,
            1e9,
            1e300,
            -1.0,
            -19.99,
            0.333,
            1.0 / 3.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            16_777_217.0,
        ];
        let mut values = Values::default();
        for (i, &v) in cases.iter().enumerate() {
            values.push();
            assert!(values.set(i, v));
        }
        for (i, &v) in cases.iter().enumerate() {
            assert_eq!(values.get(i).to_bits(), v.to_bits(), "{v}");
        }
        assert_eq!(encode(19.99), Some(CENTS | 1999), "cents need no side entry");
        assert_eq!(encode(95.0), Some(95f32.to_bits()));
        assert_eq!(encode(0.333), None);
        // A side entry is freed and reused when its slot changes.
        let side = values.side.len();
        assert!(values.set(10, 7.0));
        assert!(values.set(11, 0.777));
        assert_eq!(values.side.len(), side);
        assert_eq!(values.get(11), 0.777);
        assert_eq!(values.get(999), 0.0);
    }
}
