//! Snapshot decoding and journal replay on damaged input. The fuzzer's bytes are taken as a
//! snapshot (`snapshot`) or as the entries of a journal segment (`journal`), with every
//! checksum recomputed first, so that mutations reach the decoders behind the checksums
//! instead of stopping at them. A decoder must return a state or a typed error, never panic;
//! a state it returns must survive being written and read again unchanged.

use std::path::PathBuf;

use idstitch::{Durable, DurableOptions, KindId, RecordInput, Resolver, SourceId};

use super::common::partition_of;

/// CRC-32 (IEEE), as the state files use; bitwise, as a test needs no speed.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Recomputes a snapshot's header and section checksums in place, as far as its lengths go.
fn fix_snapshot(data: &mut [u8]) {
    if data.len() < 28 {
        return;
    }
    let crc = crc32(&data[..24]);
    data[24..28].copy_from_slice(&crc.to_le_bytes());
    let mut pos = 28usize;
    while pos + 9 <= data.len() {
        let mut len = [0u8; 8];
        len.copy_from_slice(&data[pos + 1..pos + 9]);
        let Some(end) = usize::try_from(u64::from_le_bytes(len))
            .ok()
            .and_then(|l| (pos + 9).checked_add(l))
            .filter(|&e| e.checked_add(4).is_some_and(|e4| e4 <= data.len()))
        else {
            return;
        };
        let crc = crc32(&data[pos..end]);
        data[end..end + 4].copy_from_slice(&crc.to_le_bytes());
        pos = end + 4;
    }
}

/// What a resolver holds, for comparing two: sources, partition, and per customer its events,
/// consent statements and contacts (sorted), and the campaigns.
fn fingerprint(r: &Resolver) -> String {
    let sources: Vec<&str> = r.sources().map(|(_, n)| n).collect();
    let mut behaviour = Vec::new();
    for c in r.customers() {
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let events = r.customer_events(c).map(|e| e.iter().map(|e| format!("{e:?}")).collect());
        let consents = r.customer_consents(c).map(|s| s.iter().map(|s| format!("{s:?}")).collect());
        let contacts = r.customer_contacts(c).map(|k| k.iter().map(|k| format!("{k:?}")).collect());
        behaviour.push(format!(
            "{c}: {:?} {:?} {:?}",
            events.map(sorted),
            consents.map(sorted),
            contacts.map(sorted)
        ));
    }
    format!(
        "{sources:?} {:?} {} {behaviour:?} {:?} {:?}",
        partition_of(r),
        r.n_customers(),
        r.campaigns(),
        r.journey_clock()
    )
}

/// The fuzzer's bytes as a snapshot.
pub fn check_snapshot(data: &[u8]) {
    let mut data = data.to_vec();
    fix_snapshot(&mut data);
    let Ok(resolver) = Resolver::read_snapshot(&data) else { return };
    let mut again = Vec::new();
    resolver.write_snapshot(&mut again).expect("a snapshot writes to memory");
    let reread = Resolver::read_snapshot(&again).expect("a written snapshot reads back");
    assert_eq!(
        fingerprint(&reread),
        fingerprint(&resolver),
        "a snapshot round trip changed the state"
    );
}

/// A directory of this thread's own (the replay test runs targets on several threads).
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "idstitch-fuzz-journal-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The snapshot the journals are replayed on: two sources and a few linked records.
fn base() -> Resolver {
    let mut r = Resolver::builder().default_country("NL").hash_seed(7).build().expect("valid");
    let crm = r.add_source("crm", 10).expect("a source");
    let web = r.add_source("web", 5).expect("a source");
    for (source, id, email) in
        [(crm, "C-1", "a@x.nl"), (web, "W-1", "a@x.nl"), (crm, "C-2", "b@x.nl")]
    {
        r.upsert(RecordInput::new(source, id).with_key(KindId::EMAIL, email)).expect("stored");
    }
    let _ = SourceId::from_raw(0);
    r
}

/// A journal segment's header for generation 0 (format version 1).
fn journal_header() -> Vec<u8> {
    let mut h = b"IDSTITCHJRNL".to_vec();
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes());
    let crc = crc32(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// Recomputes each entry's checksum in place, as far as the lengths go.
fn fix_entries(data: &mut [u8]) {
    let mut pos = 0usize;
    while pos + 8 <= data.len() {
        let len = u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]);
        let Some(end) = (pos + 8).checked_add(len as usize).filter(|&e| e <= data.len()) else {
            return;
        };
        let crc = crc32(&data[pos + 8..end]);
        data[pos + 4..pos + 8].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
}

/// The fuzzer's bytes as the entries of a journal segment following the base snapshot.
pub fn check_journal(data: &[u8]) {
    let dir = scratch();
    base().save_snapshot(dir.join("snapshot")).expect("a snapshot saves");
    let mut entries = data.to_vec();
    fix_entries(&mut entries);
    let mut segment = journal_header();
    segment.extend_from_slice(&entries);
    std::fs::write(dir.join("journal-00000000000000000000"), &segment).expect("written");
    let builder = {
        let mut b = Resolver::builder();
        b.default_country("NL").hash_seed(7);
        b
    };
    if let Ok(mut state) = Durable::open_with(&dir, &builder, DurableOptions::default()) {
        let before = fingerprint(&state);
        state.compact().expect("a recovered state compacts");
        drop(state);
        let state = Durable::open_with(&dir, &builder, DurableOptions::default())
            .expect("a compacted state opens");
        assert_eq!(fingerprint(&state), before, "compaction changed a recovered state");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
