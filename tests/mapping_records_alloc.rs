//! Reading a source's rows into records allocates nothing per row once the batches come back
//! ([`RecordSource::recycle`]), even where consecutive rows hold different numbers of values:
//! a counting allocator (in a test binary of its own, with one test, so nothing else
//! allocates meanwhile) sees far fewer allocations than rows, in CSV and in JSON Lines.
#![cfg(all(feature = "csv", feature = "serde_json"))]

use std::fmt::Write as _;

use idstitch::adapter::RecordSource;
use idstitch::mapping::Mapping;

#[path = "../examples/support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, Phase};

/// Counts allocations and reallocations (see `examples/support/counting_alloc.rs`).
#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ROWS: u64 = 20_000;
const BATCH: usize = 256;

#[test]
fn reading_recycled_rows_of_varying_length_allocates_per_batch_not_per_row() {
    let dir = std::env::temp_dir().join(format!("idstitch-records-alloc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Every other row lacks its phone, its city and its name: a record written over one of
    // the other kind has values too many or too few.
    let (mut csv, mut jsonl) = (String::from("id,email,phone,name,city\n"), String::new());
    for i in 0..ROWS {
        if i % 2 == 0 {
            writeln!(csv, "c{i},p{i}@x.nl,+3161234{:04},Name {i},City {i}", i % 10_000).unwrap();
            writeln!(
                jsonl,
                "{{\"id\":\"w{i}\",\"email\":\"q{i}@x.nl\",\"phone\":\"+3162234{:04}\",\
                 \"name\":\"N {i}\",\"city\":\"C {i}\"}}",
                i % 10_000
            )
            .unwrap();
        } else {
            writeln!(csv, "c{i},p{i}@x.nl,,,").unwrap();
            writeln!(jsonl, "{{\"id\":\"w{i}\",\"email\":\"q{i}@x.nl\",\"phone\":null}}").unwrap();
        }
    }
    std::fs::write(dir.join("s.csv"), csv).unwrap();
    std::fs::write(dir.join("w.jsonl"), jsonl).unwrap();
    let section = |name: &str, path: &str| {
        format!(
            "[[source]]\nname = \"{name}\"\npath = \"{path}\"\nid = \"id\"\n\
             keys = {{ email = \"email\", phone = \"phone\" }}\n\
             attributes = {{ name = \"name\", city = \"city\" }}\n"
        )
    };
    let text = format!("{}{}", section("crm", "s.csv"), section("web", "w.jsonl"));
    let mapping = Mapping::from_str(&text, &dir).unwrap();
    let mut resolver = mapping.resolver_builder().build().unwrap();
    mapping.register_sources(&mut resolver).unwrap();
    let mut source = mapping.open(&resolver).unwrap();

    // The first batches allocate their records' buffers; from then on the batches come back.
    let mut batch = Vec::with_capacity(BATCH);
    let (mut rows, mut values) = (0u64, 0u64);
    for _ in 0..4 {
        assert!(source.next_batch(&mut batch, BATCH).unwrap());
        rows += batch.len() as u64;
        source.recycle(&mut batch);
    }
    let phase = Phase::start();
    while source.next_batch(&mut batch, BATCH).unwrap() {
        rows += batch.len() as u64;
        values += batch.iter().map(|r| (r.keys.len() + r.attributes.len()) as u64).sum::<u64>();
        source.recycle(&mut batch);
    }
    let allocations = phase.allocations() as u64;
    assert_eq!(rows, 2 * ROWS, "every row of both files read");
    // A full row holds two keys and two attributes, the others one key.
    assert_eq!(values, (2 * ROWS - 4 * BATCH as u64) / 2 * 5, "values read after warm-up");
    // Moving from the CSV file to the JSON Lines one allocates that reader's buffers, and a
    // text grows now and then as the numbers in it get longer; one allocation per row would
    // be 40,000 and a value's text per row more.
    println!("{allocations} allocations for {rows} rows");
    assert!(allocations < ROWS / 20, "{allocations} allocations for {rows} rows");
}
