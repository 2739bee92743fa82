//! Database tables as mapped sources, on real SQLite files the tests write: NULLs, integer
//! and real cells, a missing column, a bad query, a missing file, BLOBs (stopping the load,
//! or skipped and counted), events and change feeds read from queries, and the errors that
//! name the source.
#![cfg(all(feature = "sqlite", feature = "csv"))]

mod support;

use idstitch::adapter::RecordSource;
use idstitch::behaviour::EventKind;
use idstitch::mapping::{BadRowReason, InputFormat, Mapping, MappingError};
use idstitch::{RecordInput, Timestamp};
use rusqlite::Connection;
use support::Scratch;

/// A shop's database: customers (with NULLs, an integer id and a real column) and orders.
fn shop(dir: &Scratch) -> Connection {
    let db = Connection::open(dir.path("shop.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, mail TEXT, phone TEXT, score REAL,
                                 city TEXT, gone INTEGER, pic BLOB);
         INSERT INTO customers VALUES (7, 'ann@example.com', '+31612345678', 2.5, 'Utrecht', 0, NULL);
         INSERT INTO customers VALUES (8, NULL, '+31687654321', NULL, NULL, 0, NULL);
         INSERT INTO customers VALUES (9, '  bob@example.com ', NULL, 10, '', 1, NULL);
         CREATE TABLE orders (order_no INTEGER, customer INTEGER, placed TEXT, amount REAL,
                              product TEXT);
         INSERT INTO orders VALUES (1, 7, '2026-05-01T10:00:00Z', 19.5, 'Atlas');
         INSERT INTO orders VALUES (2, 8, '2026-05-02', 5, NULL);
         INSERT INTO orders VALUES (3, 7, 'yesterday', 1, 'Maps');",
    )
    .unwrap();
    db
}

const SOURCE: &str = r#"
[[source]]
name = "shop"
database = "sqlite:shop.sqlite"
query = "SELECT id, mail, phone, score, city FROM customers ORDER BY id"
id = "id"
keys = { email = "mail", phone = "phone" }
attributes = { score = "score", city = "city" }
"#;

/// Every record of the mapping's sources, read through `Mapping::open`.
fn records(mapping: &Mapping) -> Result<Vec<RecordInput>, MappingError> {
    let mut resolver = mapping.resolver_builder().build().unwrap();
    mapping.register_sources(&mut resolver).unwrap();
    let mut input = mapping.open(&resolver)?;
    let (mut out, mut batch) = (Vec::new(), Vec::new());
    while input.next_batch(&mut batch, 2)? {
        out.append(&mut batch);
    }
    Ok(out)
}

fn attributes(r: &RecordInput) -> Vec<(&str, &str)> {
    r.attributes.iter().map(|a| (&*a.name, a.value.as_str())).collect()
}

#[test]
fn rows_become_records_with_nulls_as_no_value() {
    let dir = Scratch::new("rows");
    shop(&dir);
    let mapping = Mapping::from_str(SOURCE, &dir.0).unwrap();
    let s = &mapping.sources()[0];
    assert_eq!(s.input.format, InputFormat::Sql);
    assert_eq!(s.input.path, dir.path("shop.sqlite"));
    let rs = records(&mapping).unwrap();
    let ids: Vec<&str> = rs.iter().map(|r| r.external_id.as_str()).collect();
    assert_eq!(ids, ["7", "8", "9"], "integer ids as their text, in the query's order");
    let keys = |r: &RecordInput| r.keys.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&rs[0]), ["ann@example.com", "+31612345678"]);
    assert_eq!(keys(&rs[1]), ["+31687654321"], "a NULL mail is no key");
    assert_eq!(keys(&rs[2]), ["bob@example.com"], "trimmed, as a file's cells");
    assert_eq!(attributes(&rs[0]), [("city", "Utrecht"), ("score", "2.5")], "by name");
    assert_eq!(attributes(&rs[1]), [], "NULLs are no attributes");
    assert_eq!(attributes(&rs[2]), [("score", "10")], "a real 10.0 as 10; '' is no value");

    let run = mapping.run(16, |_| {}).unwrap();
    let report = &run.input.sources[0];
    assert_eq!(report.records_read, 3);
    assert_eq!(report.empty_values.get("email"), Some(&1));
    assert_eq!(report.empty_values.get("phone"), Some(&1));
    assert_eq!(report.file, dir.path("shop.sqlite"));
    assert_eq!(run.resolver.n_records(), 3);
}

#[test]
fn the_total_counts_the_querys_rows() {
    let dir = Scratch::new("total");
    shop(&dir);
    let mapping = Mapping::from_str(SOURCE, &dir.0).unwrap();
    let mut resolver = mapping.resolver_builder().build().unwrap();
    mapping.register_sources(&mut resolver).unwrap();
    let input = mapping.open(&resolver).unwrap();
    assert_eq!(input.total(), Some(3));
}

#[test]
fn a_missing_column_fails_before_any_row_naming_source_and_column() {
    let dir = Scratch::new("missing");
    shop(&dir);
    let text = SOURCE.replace("city = \"city\"", "city = \"town\"");
    let mapping = Mapping::from_str(&text, &dir.0).unwrap();
    let mut resolver = mapping.resolver_builder().build().unwrap();
    mapping.register_sources(&mut resolver).unwrap();
    let err = mapping.open(&resolver).unwrap_err();
    let MappingError::MissingQueryColumn { at, column, key, columns } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((at.source_name.as_str(), column.as_str()), ("shop", "town"));
    assert_eq!(key, "attributes.city");
    assert_eq!(&columns[..], ["id", "mail", "phone", "score", "city"]);
    let text = err.to_string();
    assert!(text.starts_with("[[source]] \"shop\" on sqlite:"), "{text}");
    assert!(text.contains("no column \"town\""), "{text}");
}

#[test]
fn a_bad_query_and_a_missing_file_are_typed_errors_naming_the_source() {
    let dir = Scratch::new("bad");
    shop(&dir);
    let bad = SOURCE.replace("FROM customers", "FROM customer");
    let err = records(&Mapping::from_str(&bad, &dir.0).unwrap()).unwrap_err();
    let MappingError::DatabaseQuery { at, error } = &err else { panic!("{err:?}") };
    assert_eq!(at.source_name, "shop");
    assert!(error.contains("no such table"), "{error}");

    let missing = SOURCE.replace("shop.sqlite", "nowhere.sqlite");
    let err = records(&Mapping::from_str(&missing, &dir.0).unwrap()).unwrap_err();
    let MappingError::DatabaseConnect { at, .. } = &err else { panic!("{err:?}") };
    assert_eq!(at.table, "[[source]] \"shop\"");
    assert!(!dir.path("nowhere.sqlite").exists(), "read-only: no empty database made");

    let two = SOURCE.replace("ORDER BY id", "ORDER BY id; DELETE FROM customers");
    let err = records(&Mapping::from_str(&two, &dir.0).unwrap()).unwrap_err();
    assert!(matches!(err, MappingError::DatabaseQuery { .. }), "{err:?}");
}

#[test]
fn a_blob_in_a_mapped_column_stops_at_its_row() {
    let dir = Scratch::new("blob");
    let db = shop(&dir);
    db.execute("UPDATE customers SET pic = x'00ff' WHERE id = 8", []).unwrap();
    let text = SOURCE.replace("city = \"city\"", "city = \"pic\"").replace("city FROM", "pic FROM");
    let err = records(&Mapping::from_str(&text, &dir.0).unwrap()).unwrap_err();
    let MappingError::DatabaseValue { at, row, column, found } = &err else { panic!("{err:?}") };
    assert_eq!(
        (at.source_name.as_str(), *row, column.as_str(), *found),
        ("shop", 2, "pic", "a BLOB")
    );
    // Cast in the query, it reads.
    let hex = text.replace("pic FROM", "hex(pic) AS pic FROM");
    let rs = records(&Mapping::from_str(&hex, &dir.0).unwrap()).unwrap();
    assert_eq!(attributes(&rs[1]), [("city", "00FF")]);
}

/// A table of 2,500 people over three batches of rows, with values no mapping reads as
/// text: BLOBs in rows 3, 4, 999, 1000, 1001 (a batch's last and the next one's first), 1500
/// and 2500 (the last), text that is not UTF-8 in rows 2 and 2000. Row n is person n.
fn people(dir: &Scratch) {
    let mut db = Connection::open(dir.path("people.sqlite")).unwrap();
    db.execute_batch("CREATE TABLE people (id INTEGER PRIMARY KEY, mail TEXT);").unwrap();
    let tx = db.transaction().unwrap();
    for id in 1..=2500 {
        tx.execute("INSERT INTO people VALUES (?1, ?2)", (id, format!("p{id}@example.com")))
            .unwrap();
    }
    tx.commit().unwrap();
    db.execute_batch(
        "UPDATE people SET mail = x'00ff' WHERE id IN (3, 4, 999, 1000, 1001, 1500, 2500);
         UPDATE people SET mail = CAST(x'c328ff' AS TEXT) WHERE id IN (2, 2000);",
    )
    .unwrap();
}

const PEOPLE: &str = r#"
[[source]]
name = "people"
database = "sqlite:people.sqlite"
query = "SELECT id, mail FROM people ORDER BY id"
id = "id"
keys = { email = "mail" }
"#;

#[test]
fn values_not_read_as_text_are_skipped_and_counted_under_skip() {
    let dir = Scratch::new("skip");
    people(&dir);
    // Under "fail" (the default) the first such row stops the load, as before.
    let err = Mapping::from_str(PEOPLE, &dir.0).unwrap().run(64, |_| {}).unwrap_err();
    let MappingError::DatabaseValue { row, found, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*row, *found), (2, "text that is not UTF-8"));

    let skip = format!("{PEOPLE}on_bad_row = \"skip\"\n");
    let run = Mapping::from_str(&skip, &dir.0).unwrap().run(64, |_| {}).unwrap();
    let report = &run.input.sources[0];
    let bad = &report.bad_rows;
    assert_eq!(bad.counts[&BadRowReason::BinaryValue], 7);
    assert_eq!(bad.lines[&BadRowReason::BinaryValue], [3, 4, 999, 1000, 1001], "the first five");
    assert_eq!(bad.counts[&BadRowReason::Undecodable], 2);
    assert_eq!(bad.lines[&BadRowReason::Undecodable], [2, 2000]);
    assert_eq!(report.records_read, 2500 - 9);
    assert_eq!(run.resolver.n_records(), 2500 - 9);
    let people = run.sources[0];
    let email = run.resolver.kind_id("email").unwrap();
    for id in [1, 5, 998, 1002, 1999, 2001, 2499] {
        let keys = run.resolver.record_keys(people, &id.to_string()).unwrap();
        assert_eq!(
            keys,
            [(email, format!("p{id}@example.com").as_str())],
            "row {id} after a bad one"
        );
    }
    for id in [2, 3, 4, 999, 1000, 1001, 1500, 2000, 2500] {
        assert!(run.resolver.customer_of(people, &id.to_string()).is_none(), "row {id} left out");
    }
    let summary = run.summary().to_string();
    assert!(summary.contains("9 bad rows skipped"), "{summary}");
    assert!(summary.contains("binary value (BLOB or bytea) in a mapped column: 7"), "{summary}");
}

#[test]
fn an_events_section_skips_a_row_with_a_blob_under_skip() {
    let dir = Scratch::new("skip-events");
    let db = shop(&dir);
    db.execute("UPDATE orders SET product = x'0102' WHERE order_no = 2", []).unwrap();
    let events = |policy: &str| {
        format!(
            "{SOURCE}
[[events]]
source = \"shop\"
database = \"sqlite:shop.sqlite\"
query = \"SELECT order_no, customer, placed, product FROM orders ORDER BY order_no\"
record = \"customer\"
kind_is = \"order\"
at = \"placed\"
topic = \"product\"
{policy}"
        )
    };
    let shop = idstitch::SourceId::from_raw(0);
    let read = |text: &str| {
        let mapping = Mapping::from_str(text, &dir.0).unwrap();
        let kinds = mapping.event_kind_registry();
        let mut topics: Vec<Option<String>> = Vec::new();
        let read = mapping.events()[0].read(shop, &kinds, 1, |chunk| {
            topics.extend(chunk.iter().map(|e| e.topic.clone()));
            Ok::<_, MappingError>(())
        });
        read.map(|r| (r, topics))
    };
    let err = read(&events("")).unwrap_err();
    assert!(matches!(err, MappingError::DatabaseValue { row: 2, .. }), "{err:?}");
    let (report, topics) = read(&events("on_bad_row = \"skip\"\n")).unwrap();
    // Order 1 reads; order 2 holds the BLOB; order 3's time does not parse (a bad value,
    // counted as ever).
    assert_eq!((report.rows, report.events, report.n_skipped()), (2, 1, 1), "{report}");
    assert_eq!(topics, [Some("Atlas".to_string())]);
    assert_eq!(report.bad_rows.lines[&BadRowReason::BinaryValue], [2]);
    assert!(
        report.to_string().contains("binary value (BLOB or bytea) in a mapped column: 1 (line 2)"),
        "{report}"
    );
}

#[test]
fn events_come_from_a_query() {
    let dir = Scratch::new("events");
    shop(&dir);
    let text = format!(
        "{SOURCE}
[[events]]
source = \"shop\"
database = \"sqlite:shop.sqlite\"
query = \"SELECT order_no, customer, placed, amount, product FROM orders ORDER BY order_no\"
record = \"customer\"
kind_is = \"order\"
at = \"placed\"
value = \"amount\"
topic = \"product\"
id = \"order_no\"
"
    );
    let mapping = Mapping::from_str(&text, &dir.0).unwrap();
    let section = &mapping.events()[0];
    assert_eq!(section.input.format, InputFormat::Sql);
    let kinds = mapping.event_kind_registry();
    let shop = idstitch::SourceId::from_raw(0);
    let mut got = Vec::new();
    let read = section
        .read(shop, &kinds, 2, |chunk| {
            got.extend_from_slice(chunk);
            Ok::<_, MappingError>(())
        })
        .unwrap();
    assert_eq!((read.rows, read.events, read.n_skipped()), (3, 2, 1), "{read}");
    assert_eq!(read.examples[0].line, 3, "the row number stands for the line");
    // 2026-05-01 is day 20574 since 1970-01-01: 56 years with 14 leap days, plus 120 days.
    let may_first = (56 * 365 + 14 + 120) * 86_400;
    assert_eq!(got[0].external_id, "7");
    assert_eq!(got[0].kind, EventKind::ORDER);
    assert_eq!(got[0].at, Timestamp(may_first + 10 * 3600));
    assert_eq!(
        (got[0].value, got[0].topic.as_deref(), got[0].id.as_deref()),
        (19.5, Some("Atlas"), Some("1"))
    );
    assert_eq!(
        (got[1].external_id.as_str(), got[1].at, got[1].value),
        ("8", Timestamp(may_first + 86_400), 5.0)
    );
    assert_eq!(got[1].topic, None, "NULL product");

    let run = mapping.run(16, |_| {}).unwrap();
    assert_eq!(run.events[0].events, 2);
}

#[test]
fn a_change_feed_reads_its_deletion_flag_from_an_integer_column() {
    let dir = Scratch::new("changes");
    shop(&dir);
    let text = format!(
        "{}mode = \"changes\"\ndeleted = \"gone\"\n",
        SOURCE.replace("city FROM", "city, gone FROM")
    );
    let mapping = Mapping::from_str(&text, &dir.0).unwrap();
    let run = mapping.run(16, |_| {}).unwrap();
    assert_eq!(run.input.sources[0].deletions, 1);
    let shop = run.resolver.source_id("shop").unwrap();
    assert!(run.resolver.customer_of(shop, "7").is_some());
    assert!(run.resolver.customer_of(shop, "9").is_none(), "gone = 1 deletes");
}

#[test]
fn the_mapping_refuses_unclear_inputs() {
    let dir = Scratch::new("parse");
    let err = |text: &str| Mapping::from_str(text, &dir.0).unwrap_err();
    let both = SOURCE.replace("database =", "path = \"x.csv\"\ndatabase =");
    assert!(matches!(err(&both), MappingError::PathAndDatabase { .. }), "{:?}", err(&both));
    let no_query = SOURCE.replace("query =", "# query =");
    let e = err(&no_query);
    assert!(
        matches!(&e, MappingError::DatabaseWithoutQuery { at } if at.key == "database"),
        "{e:?}"
    );
    let neither = SOURCE.replace("database =", "# database =").replace("query =", "# query =");
    assert!(matches!(err(&neither), MappingError::NoInput { .. }));
    let other = SOURCE.replace("sqlite:shop.sqlite", "mysql://shop:s3cret@db/shop");
    let e = err(&other);
    let MappingError::UnknownDatabase { at, database } = &e else { panic!("{e:?}") };
    assert_eq!((at.source.as_deref(), database.as_str()), (Some("shop"), "mysql://shop:s3cret"));
    let encoding = SOURCE.replace("id = \"id\"", "id = \"id\"\nencoding = \"latin1\"");
    let e = err(&encoding);
    assert!(matches!(&e, MappingError::FileKeyForDatabase { at } if at.key == "encoding"), "{e:?}");
    // A PostgreSQL URL's password shows nowhere: not in the parsed mapping's Debug either.
    let pg = SOURCE.replace("sqlite:shop.sqlite", "postgres://shop:s3cret@db.local/shop");
    let mapping = Mapping::from_str(&pg, &dir.0).unwrap();
    assert!(!format!("{mapping:?}").contains("s3cret"));
    assert_eq!(mapping.sources()[0].input.path.to_str(), Some("postgres://shop:***@db.local/shop"));
}

/// Applied to a state, an events section without ids read from a query is a full export:
/// read again it replaces its events in place, and a row gone from the table takes its event
/// with it.
#[test]
fn events_without_ids_from_a_query_are_a_full_export_in_a_state() {
    use idstitch::{Durable, DurableOptions};
    let dir = Scratch::new("apply");
    let db = shop(&dir);
    let text = format!(
        "{SOURCE}
[[events]]
source = \"shop\"
database = \"sqlite:shop.sqlite\"
query = \"SELECT customer, placed FROM orders ORDER BY order_no\"
record = \"customer\"
kind_is = \"order\"
at = \"placed\"
"
    );
    let mapping = Mapping::from_str(&text, &dir.0).unwrap();
    let mut state = Durable::open_with(
        dir.path("state"),
        &mapping.resolver_builder(),
        DurableOptions::default(),
    )
    .unwrap();
    let first = mapping.apply(&mut state, 16, |_| {}).unwrap();
    // Three orders, one with a time that does not parse.
    assert_eq!((first.events[0].rows, first.events[0].events), (3, 2));
    assert_eq!(first.added(), 3);
    let again = mapping.apply(&mut state, 16, |_| {}).unwrap();
    assert!(again.is_unchanged());
    assert_eq!(again.events_removed, 0, "the same positions, replaced in place");
    db.execute("DELETE FROM orders WHERE order_no = 2", []).unwrap();
    let fewer = mapping.apply(&mut state, 16, |_| {}).unwrap();
    assert_eq!(fewer.events[0].events, 1);
    assert_eq!(fewer.events_removed, 1, "the position past the table's new end");
}
