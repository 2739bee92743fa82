//! How an event's fields are packed: time, kind and channel in one word, and the id as a
//! fixed fingerprint.

use crate::behaviour::kind::EventKind;
use crate::ids::SourceId;
use crate::input::record::Timestamp;

/// Times are stored as `at + AT_BIAS` in 40 bits (`EVENT_TIME_RANGE` keeps them there).
const AT_BIAS: i64 = 1 << 39;

/// The fingerprint of event id `id` of `source`: a fixed 64-bit hash (folded 128-bit
/// multiplies, as wyhash), never 0 (0 marks an event without id).
pub(crate) fn fingerprint(source: SourceId, id: &str) -> u64 {
    const P0: u64 = 0xa076_1d64_78bd_642f;
    const P1: u64 = 0xe703_7ed1_a0b4_28db;
    const P2: u64 = 0x8ebc_6af0_9c88_c6e3;
    let mix = |a: u64, b: u64| {
        let r = u128::from(a) * u128::from(b);
        (r as u64) ^ ((r >> 64) as u64)
    };
    let mut h = mix(u64::from(source.get()) ^ P0, id.len() as u64 ^ P1);
    for block in id.as_bytes().chunks(16) {
        let mut words = [0u8; 16];
        words[..block.len()].copy_from_slice(block);
        let w0 = u64::from_le_bytes(words[..8].try_into().unwrap_or_default());
        let w1 = u64::from_le_bytes(words[8..].try_into().unwrap_or_default());
        h = mix(w0 ^ P1, w1 ^ h ^ P2);
    }
    mix(h ^ P0, P2).max(1)
}

/// Time in the top 40 bits, kind and channel id in 12 bits each.
pub(super) fn pack(at: Timestamp, kind: EventKind, channel: u32) -> u64 {
    (((at.0 + AT_BIAS) as u64) << 24)
        | (u64::from(kind.0 & 0xfff) << 12)
        | u64::from(channel & 0xfff)
}

/// The fields [`pack`] packed.
pub(super) fn unpack(packed: u64) -> (Timestamp, EventKind, u32) {
    let at = Timestamp((packed >> 24) as i64 - AT_BIAS);
    (at, EventKind(((packed >> 12) & 0xfff) as u16), (packed & 0xfff) as u32)
}
