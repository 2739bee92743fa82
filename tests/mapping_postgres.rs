//! Database tables as mapped sources on a real PostgreSQL server (see `support/pg.rs`: the
//! server `IDSTITCH_TEST_PG` names, or a throwaway cluster; skipped with a printed reason
//! where the machine has no PostgreSQL): text, integer, numeric, NULL and `timestamptz`
//! cells, a missing column, a bad query, a refused connection whose message shows no
//! password, `bytea` (stopping the load, or skipped and counted), events, and a connection
//! broken part-way through the rows.
#![cfg(all(feature = "postgres", feature = "csv"))]

mod support;

use idstitch::adapter::RecordSource;
use idstitch::behaviour::EventKind;
use idstitch::mapping::{BadRowReason, InputFormat, Mapping, MappingError};
use idstitch::{RecordInput, Timestamp};
use postgres::{Client, NoTls};

/// A database of the test's own holding the shop's tables; its URL.
fn shop(test: &str) -> Option<String> {
    let url = support::pg::server()?.database(test);
    let mut db = Client::connect(&url, NoTls).unwrap();
    db.batch_execute(
        "CREATE TABLE customers (id integer PRIMARY KEY, mail text, phone text, score numeric,
                                 seen timestamptz, pic bytea);
         INSERT INTO customers VALUES
           (7, 'ann@example.com', '+31612345678', 2.5, '2026-05-01 12:00:00+02', NULL),
           (8, NULL, '+31687654321', NULL, NULL, '\\x00ff'),
           (9, 'bob@example.com', NULL, 10, '2026-05-02 00:00:00+00', NULL);
         CREATE TABLE orders (order_no bigint, customer integer, placed timestamptz,
                              amount double precision, product text);
         INSERT INTO orders SELECT n, 7 + n % 3, timestamptz '2026-05-01 10:00:00+00'
                                  + n * interval '1 minute', n * 0.5, 'p' || n
                           FROM generate_series(1, 20000) AS n;",
    )
    .unwrap();
    Some(url)
}

fn source(url: &str, query: &str) -> String {
    format!(
        r#"
[[source]]
name = "shop"
database = "{url}"
query = "{query}"
id = "id"
keys = {{ email = "mail", phone = "phone" }}
attributes = {{ score = "score" }}
observed_at = "seen"
"#
    )
}

const CUSTOMERS: &str = "SELECT id, mail, phone, score, seen FROM customers ORDER BY id";

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

/// 2026-05-01T00:00:00Z: 56 years since 1970 with 14 leap days, plus 120 days.
const MAY_FIRST: i64 = (56 * 365 + 14 + 120) * 86_400;

#[test]
fn rows_become_records() {
    let Some(url) = shop("rows") else { return };
    let mapping = Mapping::from_str(&source(&url, CUSTOMERS), ".").unwrap();
    assert_eq!(mapping.sources()[0].input.format, InputFormat::Sql);
    let rs = records(&mapping).unwrap();
    let ids: Vec<&str> = rs.iter().map(|r| r.external_id.as_str()).collect();
    assert_eq!(ids, ["7", "8", "9"]);
    let keys = |r: &RecordInput| r.keys.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&rs[0]), ["ann@example.com", "+31612345678"]);
    assert_eq!(keys(&rs[1]), ["+31687654321"], "NULL is no value");
    let score = &rs[0].attributes[0];
    assert_eq!((&*score.name, score.value.as_str()), ("score", "2.5"));
    // 12:00 at +02:00 is 10:00 UTC: the timestamptz reads as its point in time.
    assert_eq!(score.observed_at, Some(Timestamp(MAY_FIRST + 10 * 3600)));
    assert!(rs[1].attributes.is_empty());
    let run = mapping.run(16, |_| {}).unwrap();
    assert_eq!(run.input.sources[0].bad_timestamps, 0);
    assert_eq!(run.resolver.n_records(), 3);
}

#[test]
fn errors_name_the_source_and_never_the_password() {
    let Some(url) = shop("errors") else { return };
    let missing = source(&url, &CUSTOMERS.replace("score, ", ""));
    let err = records(&Mapping::from_str(&missing, ".").unwrap()).unwrap_err();
    let MappingError::MissingQueryColumn { at, column, .. } = &err else { panic!("{err:?}") };
    assert_eq!((at.source_name.as_str(), column.as_str()), ("shop", "score"));

    let bad = source(&url, &CUSTOMERS.replace("customers", "customer"));
    let err = records(&Mapping::from_str(&bad, ".").unwrap()).unwrap_err();
    let MappingError::DatabaseQuery { at, error } = &err else { panic!("{err:?}") };
    assert_eq!(at.source_name, "shop");
    assert!(error.contains("customer"), "{error}");

    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused = format!("postgres://shop:s3cret@127.0.0.1:{port}/shop?connect_timeout=5");
    let err = records(&Mapping::from_str(&source(&refused, CUSTOMERS), ".").unwrap()).unwrap_err();
    assert!(matches!(err, MappingError::DatabaseConnect { .. }), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("shop:***@127.0.0.1"), "{text}");
}

#[test]
fn bytea_stops_at_its_row() {
    let Some(url) = shop("bytea") else { return };
    let text =
        source(&url, "SELECT id, mail, phone, pic AS score, seen FROM customers ORDER BY id");
    let err = records(&Mapping::from_str(&text, ".").unwrap()).unwrap_err();
    let MappingError::DatabaseValue { row, column, found, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*row, column.as_str(), *found), (2, "score", "bytea"));
}

/// Under `on_bad_row = "skip"` a row with `bytea` in a mapped column is left out and
/// counted, and the reading goes on: over fetches of a thousand rows, one of which (rows 1001
/// to 2000) holds nothing but such rows.
#[test]
fn bytea_is_skipped_and_counted_under_skip() {
    let Some(url) = support::pg::server().map(|s| s.database("bytea_skip")) else { return };
    let mut db = Client::connect(&url, NoTls).unwrap();
    db.batch_execute(
        "CREATE TABLE people (id integer, mail text, pic bytea);
         INSERT INTO people SELECT n, 'p' || n || '@example.com',
                                   CASE WHEN n = 3 OR n BETWEEN 1001 AND 2000
                                        THEN '\\x00ff'::bytea END
                           FROM generate_series(1, 2500) AS n;",
    )
    .unwrap();
    let text = format!(
        r#"
[[source]]
name = "people"
database = "{url}"
query = "SELECT id, mail, pic FROM people ORDER BY id"
id = "id"
keys = {{ email = "mail" }}
attributes = {{ pic = "pic" }}
"#
    );
    let err = Mapping::from_str(&text, ".").unwrap().run(64, |_| {}).unwrap_err();
    assert!(matches!(err, MappingError::DatabaseValue { row: 3, .. }), "{err:?}");

    let skip = format!("{text}on_bad_row = \"skip\"\n");
    let run = Mapping::from_str(&skip, ".").unwrap().run(64, |_| {}).unwrap();
    let bad = &run.input.sources[0].bad_rows;
    assert_eq!(bad.counts[&BadRowReason::BinaryValue], 1 + 1000);
    assert_eq!(bad.lines[&BadRowReason::BinaryValue], [3, 1001, 1002, 1003, 1004]);
    assert_eq!(run.resolver.n_records(), 2500 - 1001);
    let people = run.sources[0];
    for id in [1, 4, 1000, 2001, 2500] {
        assert!(run.resolver.customer_of(people, &id.to_string()).is_some(), "row {id} read");
    }
    assert!(run.resolver.customer_of(people, "1500").is_none());
}

fn orders(url: &str) -> String {
    format!(
        "{}
[[events]]
source = \"shop\"
database = \"{url}\"
query = \"SELECT order_no, customer, placed, amount, product FROM orders ORDER BY order_no\"
record = \"customer\"
kind_is = \"order\"
at = \"placed\"
value = \"amount\"
topic = \"product\"
id = \"order_no\"
",
        source(url, CUSTOMERS)
    )
}

#[test]
fn events_stream_from_a_cursor() {
    let Some(url) = shop("events") else { return };
    let mapping = Mapping::from_str(&orders(&url), ".").unwrap();
    let kinds = mapping.event_kind_registry();
    let (mut n, mut largest_chunk) = (0u64, 0);
    let read = mapping.events()[0]
        .read(idstitch::SourceId::from_raw(0), &kinds, 512, |chunk| {
            for e in chunk {
                n += 1;
                // Row n: order n of customer 7 + n % 3, n minutes after 10:00, amount n / 2.
                assert_eq!(e.id.as_deref(), Some(n.to_string().as_str()));
                assert_eq!(e.external_id, (7 + n % 3).to_string());
                assert_eq!(e.kind, EventKind::ORDER);
                assert_eq!(e.at, Timestamp(MAY_FIRST + 10 * 3600 + 60 * n as i64));
                assert_eq!(e.value, n as f64 * 0.5);
            }
            largest_chunk = largest_chunk.max(chunk.len());
            Ok::<_, MappingError>(())
        })
        .unwrap();
    assert_eq!((read.rows, read.events, n), (20_000, 20_000, 20_000), "{read}");
    assert_eq!(largest_chunk, 512);
}

#[test]
fn a_connection_broken_mid_stream_is_a_typed_error() {
    let Some(url) = shop("broken") else { return };
    let mapping = Mapping::from_str(&orders(&url), ".").unwrap();
    let kinds = mapping.event_kind_registry();
    let database = url.rsplit('/').next().unwrap().to_string();
    let mut chunks = 0;
    let err = mapping.events()[0]
        .read(idstitch::SourceId::from_raw(0), &kinds, 100, |_| {
            chunks += 1;
            if chunks == 1 {
                // End the reading backend from a second connection, as a server restart would.
                let mut admin = Client::connect(&url, NoTls).unwrap();
                let ended: i64 = admin
                    .query_one(
                        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM \
                         pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) t",
                        &[&database],
                    )
                    .unwrap()
                    .get(0);
                assert_eq!(ended, 1, "the reader's backend");
            }
            Ok::<_, MappingError>(())
        })
        .unwrap_err();
    let MappingError::DatabaseRow { at, row, .. } = &err else { panic!("{err:?}") };
    assert_eq!(at.source_name, "shop");
    assert!(at.table.starts_with("[[events]] #1"), "{}", at.table);
    assert!(*row > 100 && *row < 20_000, "part-way: {row}");
    assert!(chunks < 200, "stopped before the end: {chunks} chunks");
}
