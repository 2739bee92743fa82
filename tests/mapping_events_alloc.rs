//! Reading events, consent and contacts files allocates per chunk, not per row: a counting
//! allocator (in a test binary of its own, with one test, so nothing else allocates meanwhile)
//! sees far fewer allocations than rows, in CSV and in JSON Lines.
#![cfg(all(feature = "csv", feature = "serde_json"))]

use std::fmt::Write as _;

use idstitch::mapping::{Mapping, MappingError};
use idstitch::SourceId;

#[path = "../examples/support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, Phase};

/// Counts allocations and reallocations (see `examples/support/counting_alloc.rs`).
#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ROWS: u64 = 20_000;

#[test]
fn reading_rows_allocates_per_chunk_not_per_row() {
    let dir = std::env::temp_dir().join(format!("idstitch-events-alloc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut csv, mut jsonl) = (String::from("sid,kind,ts,title,amount,via,eid\n"), String::new());
    for i in 0..ROWS {
        let kind = ["page_view", "order", "article_read"][i as usize % 3];
        let day = 1 + i % 28;
        writeln!(csv, "r{i},{kind},2026-02-{day:02}T10:00:00Z,Title {i},{i}.5,web,e{i}").unwrap();
        writeln!(
            jsonl,
            "{{\"sid\":\"r{i}\",\"kind\":\"{kind}\",\"ts\":\"2026-02-{day:02}\",\"title\":\"T {i}\",\
             \"amount\":{i}.5,\"via\":\"web\",\"eid\":{i},\"params\":{{\"a\":[1,2,{{\"b\":null}}]}}}}"
        )
        .unwrap();
    }
    std::fs::write(dir.join("e.csv"), csv).unwrap();
    std::fs::write(dir.join("e.jsonl"), jsonl).unwrap();
    let section = |path: &str| {
        format!(
            "[[events]]\nsource = \"s\"\npath = \"{path}\"\nrecord = \"sid\"\nkind = \"kind\"\n\
             at = \"ts\"\ntopic = \"title\"\nvalue = \"amount\"\nchannel = \"via\"\nid = \"eid\"\n"
        )
    };
    let text = format!(
        "[[source]]\nname = \"s\"\npath = \"s.csv\"\nid = \"id\"\n{}{}",
        section("e.csv"),
        section("e.jsonl")
    );
    let mapping = Mapping::from_str(&text, &dir).unwrap();
    let kinds = mapping.event_kind_registry();

    for events in mapping.events() {
        let mut seen = 0u64;
        let phase = Phase::start();
        let read = events
            .read(SourceId::from_raw(0), &kinds, 256, |chunk| {
                seen += chunk.len() as u64;
                Ok::<_, MappingError>(())
            })
            .unwrap();
        let allocations = phase.allocations() as u64;
        assert_eq!((read.events, seen, read.n_skipped()), (ROWS, ROWS, 0));
        // The first chunk allocates its events' strings (4 × 256), and a string grows now
        // and then as the numbers in it get longer; one allocation per row would be 20,000.
        println!("{}: {allocations} allocations for {ROWS} rows", events.input.path.display());
        assert!(
            allocations < ROWS / 5,
            "{}: {allocations} allocations",
            events.input.path.display()
        );
    }

    // Consent statements and contacts: the same reader, their own rows.
    let (mut csv, mut jsonl) = (String::from("sid,via,st,ts,camp,tx,cid\n"), String::new());
    for i in 0..ROWS {
        let (status, tx) =
            [("granted", "false"), ("Denied", "yes"), ("granted", "0")][i as usize % 3];
        let day = 1 + i % 28;
        writeln!(csv, "r{i},email,{status},2026-02-{day:02}T10:00:00Z,Camp {i},{tx},c{i}").unwrap();
        writeln!(
            jsonl,
            "{{\"sid\":\"r{i}\",\"via\":\"email\",\"st\":\"{status}\",\"ts\":\"2026-02-{day:02}\",\
             \"camp\":\"C {i}\",\"tx\":{},\"cid\":{i},\"params\":{{\"a\":[1,{{\"b\":null}}]}}}}",
            tx == "yes"
        )
        .unwrap();
    }
    std::fs::write(dir.join("t.csv"), csv).unwrap();
    std::fs::write(dir.join("t.jsonl"), jsonl).unwrap();
    let touch = |path: &str| {
        format!(
            "[[consent]]\nsource = \"s\"\npath = \"{path}\"\nrecord = \"sid\"\nchannel = \"via\"\n\
             status = \"st\"\nat = \"ts\"\n\
             [[contacts]]\nsource = \"s\"\npath = \"{path}\"\nrecord = \"sid\"\nchannel = \"via\"\n\
             at = \"ts\"\ncampaign = \"camp\"\ntransactional = \"tx\"\nid = \"cid\"\n"
        )
    };
    let text = format!(
        "[[source]]\nname = \"s\"\npath = \"s.csv\"\nid = \"id\"\n{}{}",
        touch("t.csv"),
        touch("t.jsonl")
    );
    let mapping = Mapping::from_str(&text, &dir).unwrap();
    let count = |what: &str, read: &dyn Fn() -> (u64, u64, u64)| {
        let phase = Phase::start();
        let (items, seen, skipped) = read();
        let allocations = phase.allocations() as u64;
        assert_eq!((items, seen, skipped), (ROWS, ROWS, 0), "{what}");
        println!("{what}: {allocations} allocations for {ROWS} rows");
        assert!(allocations < ROWS / 5, "{what}: {allocations} allocations");
    };
    for consent in mapping.consent() {
        count(&format!("consent {}", consent.input.path.display()), &|| {
            let mut seen = 0u64;
            let read = consent
                .read(SourceId::from_raw(0), 256, |chunk| {
                    seen += chunk.len() as u64;
                    Ok::<_, MappingError>(())
                })
                .unwrap();
            (read.items, seen, read.n_skipped())
        });
    }
    for contacts in mapping.contacts() {
        count(&format!("contacts {}", contacts.input.path.display()), &|| {
            let mut seen = 0u64;
            let read = contacts
                .read(SourceId::from_raw(0), 256, |chunk| {
                    seen += chunk.len() as u64;
                    Ok::<_, MappingError>(())
                })
                .unwrap();
            (read.items, seen, read.n_skipped())
        });
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
