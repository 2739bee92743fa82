//! Events in mapping files: the `[event_kinds]` and `[[events]]` tables parsed (the documented
//! example, and every mistake with its place), and events files read into `EventInput`s (CSV
//! and JSON Lines, kind column and `kind_is`, optional columns, bad rows counted, malformed
//! files refused with their place), and the sample's events on the sample's records.
#![cfg(feature = "mapping")]
// The reading tests need a reader feature each; with fewer features some helpers go unused.
#![cfg_attr(not(all(feature = "csv", feature = "serde_json")), allow(unused_imports, dead_code))]

use std::path::{Path, PathBuf};

use idstitch::behaviour::{EventClass, EventInput, EventKind, EventKinds};
use idstitch::mapping::{
    EventKindFrom, EventRowProblem, EventsMapping, EventsRead, InputFormat, Mapping, MappingError,
};
use idstitch::{SourceId, Timestamp};

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir()
            .join(format!("idstitch-events-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The example of the module docs, with the source its events belong to.
const DOCUMENTED: &str = r#"
[kinds.legacy_no]
identifying = true
[[source]]
name = "newsletter"
path = "newsletter.csv"
id = "subscriber_id"
keys = { email = "email" }
[event_kinds]
webinar = "engagement"          # engagement | purchase | service | negative
[[events]]
source = "newsletter"           # whose records the events belong to (a [[source]] name)
path = "newsletter_events.csv"  # CSV, or .jsonl (format by extension, as sources)
record = "subscriber_id"        # column: the record's external id in that source
kind = "event"                  # column holding the kind, or kind_is = "newsletter_open"
at = "ts"                       # RFC 3339 or YYYY-MM-DD
topic = "title"                 # optional columns: topic, value, channel, id
value = "amount"
"#;

/// Two sources, for the events tables of the error tests.
const SOURCES: &str = "[[source]]\nname = \"newsletter\"\npath = \"n.csv\"\nid = \"id\"\n\
                       [[source]]\nname = \"web\"\npath = \"w.jsonl\"\nid = \"id\"\n";

fn err(text: &str) -> MappingError {
    match Mapping::from_str(text, "/data") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

/// The sources (lines 1 to 8) and one events table around `body` (its header on line 9).
fn events_table(body: &str) -> String {
    format!("{SOURCES}[[events]]\nsource = \"newsletter\"\npath = \"e.csv\"\n{body}\n")
}

/// `events_table` with the required keys after `body`.
fn with_required(body: &str) -> String {
    events_table(&format!("{body}\nrecord = \"sid\"\nat = \"ts\"\n"))
}

// --- the mapping file ------------------------------------------------------------------------

#[test]
fn the_documented_example_parses() {
    let m = Mapping::from_str(DOCUMENTED, "/data/exports").unwrap();
    assert_eq!(m.event_kinds(), [("webinar".to_string(), EventClass::Engagement)]);
    let [e] = m.events() else { panic!("one events table") };
    assert_eq!(e.number, 1);
    assert_eq!(e.source, "newsletter");
    assert_eq!(e.input.path, Path::new("/data/exports/newsletter_events.csv"));
    assert_eq!((e.input.format, e.input.delimiter), (InputFormat::Csv, b','));
    assert_eq!(e.record, "subscriber_id");
    assert_eq!(e.kind, EventKindFrom::Column("event".into()));
    assert_eq!(e.at, "ts");
    assert_eq!((e.topic.as_deref(), e.value.as_deref()), (Some("title"), Some("amount")));
    assert_eq!((e.channel.as_deref(), e.id.as_deref()), (None, None));
    assert!(!e.has_ids(), "no id column: a full export of the file's events");

    let kinds = m.event_kind_registry();
    assert_eq!(kinds.len(), EventKinds::new().len() + 1);
    let webinar = kinds.lookup("webinar").unwrap();
    assert_eq!(kinds.class(webinar), Some(EventClass::Engagement));
    // The sources and kinds are as they were without events.
    assert_eq!(m.sources().len(), 1);
    assert!(m.kinds()[0].spec.identifying);
}

#[test]
fn event_kinds_keep_file_order_and_every_class() {
    let m = Mapping::from_str(
        "[event_kinds]\nzoom_call = \"engagement\"\nrefund = \" negative \"\nbundle_2 = \
         \"purchase\"\nrepair = \"service\"\n",
        ".",
    )
    .unwrap();
    let names: Vec<(&str, EventClass)> =
        m.event_kinds().iter().map(|(n, c)| (n.as_str(), *c)).collect();
    assert_eq!(
        names,
        [
            ("zoom_call", EventClass::Engagement),
            ("refund", EventClass::Negative),
            ("bundle_2", EventClass::Purchase),
            ("repair", EventClass::Service),
        ]
    );
    assert!(m.events().is_empty());
    let kinds = m.event_kind_registry();
    let ids: Vec<u16> = ["zoom_call", "refund", "bundle_2", "repair"]
        .map(|n| kinds.lookup(n).unwrap().get())
        .into();
    assert_eq!(ids, [12, 13, 14, 15], "declared in file order, after the built-in kinds");
}

#[test]
fn events_tables_with_every_key() {
    let m = Mapping::from_str(
        &format!(
            "{SOURCES}[[events]]\nsource = \" web \"\npath = \"sub/clicks.ndjson\"\n\
             record = \"cid\"\nkind_is = \"page_view\"\nat = \"time\"\ntopic = \"page\"\n\
             value = \"secs\"\nchannel = \"via\"\nid = \"event\"\n\
             [[events]]\nsource = \"newsletter\"\npath = \"opens.CSV\"\nrecord = \"sid\"\n\
             kind = \" what \"\nat = \"ts\"\ndelimiter = \";\"\n\
             [[events]]\nsource = \"web\"\npath = \"opens.CSV\"\nrecord = \"sid\"\n\
             kind = \"k\"\nat = \"ts\"\n"
        ),
        "base",
    )
    .unwrap();
    let [a, b, c] = m.events() else { panic!("three events tables") };
    assert_eq!((a.number, a.source.as_str(), a.input.format), (1, "web", InputFormat::JsonLines));
    assert_eq!(a.input.path, Path::new("base/sub/clicks.ndjson"));
    assert_eq!(a.kind, EventKindFrom::Fixed("page_view".into()));
    assert_eq!(
        [&a.topic, &a.value, &a.channel, &a.id].map(|c| c.as_deref()),
        [Some("page"), Some("secs"), Some("via"), Some("event")]
    );
    assert!(a.has_ids());
    assert_eq!((b.number, b.input.format, b.input.delimiter), (2, InputFormat::Csv, b';'));
    assert_eq!(b.kind, EventKindFrom::Column("what".into()), "names are trimmed");
    assert!(!b.has_ids());
    assert_eq!((c.number, c.source.as_str()), (3, "web"), "one file may feed two sources");
}

#[test]
fn event_kind_errors_name_the_place() {
    let dir = Scratch::new("kind-errors");
    let path = dir.write("bad.toml", "[event_kinds]\nwebinar = \"engagment\"\n");
    let e = Mapping::from_path(&path).unwrap_err();
    let MappingError::UnknownEventClass { at, class } = &e else { panic!("{e:?}") };
    assert_eq!(class, "engagment");
    assert_eq!((at.file.as_path(), at.line, at.column), (path.as_path(), 2, 11));
    assert_eq!(
        (at.key.as_str(), at.source.as_deref(), at.events),
        ("event_kinds.webinar", None, None)
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:11: key `event_kinds.webinar`: unknown event class \"engagment\" (expected \
             engagement, purchase, service or negative)",
            path.display()
        )
    );

    let e = err("[event_kinds]\nwebinar = \"service\"\norder = \"service\"\n");
    let MappingError::BuiltInEventKind { at, kind } = &e else { panic!("{e:?}") };
    assert_eq!((kind.as_str(), at.line, at.column), ("order", 3, 1));
    assert!(e.to_string().contains("built-in event kind"), "{e}");

    for (text, name, line, column) in [
        ("[event_kinds]\nWebinar = \"engagement\"\n", "Webinar", 2, 1),
        ("[event_kinds]\nok = \"service\"\n\"2fa\" = \"service\"\n", "2fa", 3, 1),
        ("[event_kinds]\n\"\" = \"service\"\n", "", 2, 1),
        ("[event_kinds]\n\"web inar\" = \"service\"\n", "web inar", 2, 1),
    ] {
        let e = err(text);
        let MappingError::BadEventKindName { at, kind } = &e else { panic!("{text}: {e:?}") };
        assert_eq!((kind.as_str(), at.line, at.column), (name, line, column), "{text}");
    }

    let e = err("[event_kinds]\nwebinar = 3\n");
    let MappingError::Toml { line, column, message, .. } = &e else { panic!("{e:?}") };
    assert_eq!((*line, *column), (2, 11), "{message}");
}

#[test]
fn events_table_errors_name_the_table_line_and_column() {
    // Unknown and missing keys are TOML errors at the key, or at the table for a missing one.
    for (text, line, column, words) in [
        (with_required("kind = \"k\"\ntopik = \"t\""), 13, 1, "unknown field `topik`"),
        (events_table("kind = \"k\"\nrecord = \"sid\""), 9, 1, "missing field `at`"),
        (with_required("kind = \"k\"\nvalue = 3"), 13, 9, "invalid type"),
    ] {
        let e = err(&text);
        let MappingError::Toml { line: l, column: c, message, .. } = &e else { panic!("{e:?}") };
        assert_eq!((*l, *c), (line, column), "{text}: {message}");
        assert!(message.contains(words), "{text}: {message}");
    }

    let e = err(&with_required("kind = \"k\"\nkind_is = \"page_view\""));
    let MappingError::EventKindTwice { at } = &e else { panic!("{e:?}") };
    assert_eq!((at.line, at.column, at.key.as_str(), at.events), (13, 11, "kind_is", Some(1)));
    assert!(
        e.to_string().starts_with("<string>:13:11: [[events]] #1 (\"newsletter\"), key `kind_is`"),
        "{e}"
    );

    let e = err(&with_required(""));
    let MappingError::NoEventKind { at } = &e else { panic!("{e:?}") };
    assert_eq!((at.line, at.column, at.events), (9, 1, Some(1)), "at the table");
    assert!(e.to_string().contains("(`kind_is = \"NAME\"`)"), "{e}");

    let e = err(&format!(
        "{SOURCES}[[events]]\nsource = \"newsleter\"\npath = \"e.csv\"\nrecord = \"r\"\n\
         kind = \"k\"\nat = \"t\"\n"
    ));
    let MappingError::UnknownEventSource { at, name } = &e else { panic!("{e:?}") };
    assert_eq!(
        (name.as_str(), at.line, at.column, at.source.as_deref()),
        ("newsleter", 10, 10, None)
    );
    assert_eq!(
        e.to_string(),
        "<string>:10:10: [[events]] #1, key `source`: no [[source]] is named \"newsleter\""
    );

    let e = err(&with_required("kind_is = \"webinar\""));
    let MappingError::UnknownEventKind { at, kind } = &e else { panic!("{e:?}") };
    assert_eq!((kind.as_str(), at.line, at.column), ("webinar", 12, 11));
    assert!(e.to_string().contains("[event_kinds]"), "{e}");
    // Declared, it is known.
    let ok = format!(
        "[event_kinds]\nwebinar = \"engagement\"\n{}",
        with_required("kind_is = \"webinar\"")
    );
    assert!(Mapping::from_str(&ok, ".").is_ok());

    let e = err(&with_required("kind = \"k\"\ndelimiter = \"||\""));
    let MappingError::BadDelimiter { at, delimiter } = &e else { panic!("{e:?}") };
    assert_eq!(
        (delimiter.as_str(), at.line, at.key.as_str(), at.events),
        ("||", 13, "delimiter", Some(1))
    );

    let e = err(&format!(
        "{SOURCES}[[events]]\nsource = \"web\"\npath = \"clicks.txt\"\nrecord = \"r\"\n\
         kind = \"k\"\nat = \"t\"\n"
    ));
    let MappingError::UnknownFormat { at, path } = &e else { panic!("{e:?}") };
    assert_eq!(
        (path.as_path(), at.line, at.source.as_deref()),
        (Path::new("/data/clicks.txt"), 11, Some("web"))
    );

    for (body, key, line) in [
        ("kind = \" \"\nrecord = \"sid\"\nat = \"ts\"", "kind", 12),
        ("kind = \"k\"\nrecord = \"\"\nat = \"ts\"", "record", 13),
        ("kind = \"k\"\nrecord = \"r\"\nat = \"\"", "at", 14),
        ("kind = \"k\"\nrecord = \"r\"\nat = \"t\"\ntopic = \"\"", "topic", 15),
        ("kind = \"k\"\nrecord = \"r\"\nat = \"t\"\nid = \" \"", "id", 15),
    ] {
        let e = err(&events_table(body));
        let MappingError::EmptyName { at } = &e else { panic!("{body}: {e:?}") };
        assert_eq!((at.key.as_str(), at.line, at.events), (key, line, Some(1)), "{body}");
    }

    let third = format!(
        "{}[[events]]\nsource = \"web\"\npath = \"e.csv\"\nrecord = \"r\"\nkind = \"k\"\n\
         at = \"t\"\n[[events]]\nsource = \"newsletter\"\npath = \"./e.csv\"\nrecord = \"r\"\n\
         kind_is = \"search\"\nat = \"t\"\n",
        with_required("kind = \"k\"")
    );
    let e = err(&third);
    let MappingError::DuplicateEvents { at, source_name, path } = &e else { panic!("{e:?}") };
    assert_eq!((source_name.as_str(), path.as_path()), ("newsletter", Path::new("/data/e.csv")));
    assert_eq!(
        (at.line, at.column, at.events),
        (24, 8, Some(3)),
        "the third table, not the second"
    );
}

#[test]
fn declaring_the_mappings_kinds_in_a_held_registry() {
    let m =
        Mapping::from_str("[event_kinds]\nwebinar = \"engagement\"\nrefund = \"negative\"\n", ".")
            .unwrap();
    let mut kinds = EventKinds::new();
    kinds.declare("loyalty_scan", EventClass::Engagement).unwrap();
    m.declare_event_kinds(&mut kinds).unwrap();
    m.declare_event_kinds(&mut kinds).unwrap();
    assert_eq!(kinds.len(), 15, "declaring twice changes nothing");
    assert_eq!(kinds.class(kinds.lookup("refund").unwrap()), Some(EventClass::Negative));

    let mut other = EventKinds::new();
    other.declare("refund", EventClass::Purchase).unwrap();
    let before = other.clone();
    let e = m.declare_event_kinds(&mut other).unwrap_err();
    let MappingError::DeclareEventKind { kind, .. } = &e else { panic!("{e:?}") };
    assert_eq!(kind, "refund");
    assert_eq!(other, before, "a refused declaration leaves the registry as it was");
}

// --- reading events files --------------------------------------------------------------------

const NEWSLETTER: SourceId = SourceId::from_raw(4);

const DAY: i64 = 86_400;

/// Midnight UTC of 2026-06-01.
const JUNE_1: i64 = 20_605 * DAY;

fn mapping_in(dir: &Scratch, events: &str) -> Mapping {
    let text = format!(
        "[event_kinds]\nwebinar = \"engagement\"\n[[source]]\nname = \"newsletter\"\n\
         path = \"n.csv\"\nid = \"id\"\n{events}"
    );
    Mapping::from_path(dir.write("mapping.toml", text)).unwrap()
}

/// Every event of the mapping's first events table, and the report, read in chunks of
/// `chunk`; also the chunk sizes.
fn read_all(
    m: &Mapping,
    kinds: &EventKinds,
    chunk: usize,
) -> Result<(Vec<EventInput>, EventsRead, Vec<usize>), MappingError> {
    let mut events = Vec::new();
    let mut sizes = Vec::new();
    let read = m.events()[0].read(NEWSLETTER, kinds, chunk, |c| {
        sizes.push(c.len());
        events.extend_from_slice(c);
        Ok::<_, MappingError>(())
    })?;
    Ok((events, read, sizes))
}

fn ev(record: &str, kind: EventKind, at: i64) -> EventInput {
    EventInput::new(NEWSLETTER, record, kind, Timestamp(at))
}

#[cfg(feature = "csv")]
#[test]
fn csv_events_with_a_kind_column() {
    let dir = Scratch::new("csv");
    dir.write(
        "e.csv",
        "sid;what;ts;title;amount;via;eid\n\
         nl-1;newsletter_open;2026-06-01;Tuinkrant;;email;e1\n\
         \n\
         \" nl-2 \";order;2026-06-01T10:00:00+02:00;Kookboek;19.95;;e2\r\n\
         nl-3;webinar;2026-06-02T00:00:00Z;;;online;\n\
         nl-1;article_read;2026-06-03;Fietsplus;95;web;e4\n\
         nl-2;search;2026-06-03;;-0;;e5\n",
    );
    let m = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"e.csv\"\nrecord = \"sid\"\nkind = \"what\"\n\
         at = \"ts\"\ntopic = \"title\"\nvalue = \"amount\"\nchannel = \"via\"\nid = \"eid\"\n\
         delimiter = \";\"\n",
    );
    let kinds = m.event_kind_registry();
    let (events, read, sizes) = read_all(&m, &kinds, 2).unwrap();
    let webinar = kinds.lookup("webinar").unwrap();
    assert_eq!(
        events,
        [
            ev("nl-1", EventKind::NEWSLETTER_OPEN, JUNE_1)
                .with_topic("Tuinkrant")
                .with_channel("email")
                .with_id("e1"),
            ev("nl-2", EventKind::ORDER, JUNE_1 + 8 * 3600)
                .with_topic("Kookboek")
                .with_value(19.95)
                .with_id("e2"),
            ev("nl-3", webinar, JUNE_1 + DAY).with_channel("online"),
            ev("nl-1", EventKind::ARTICLE_READ, JUNE_1 + 2 * DAY)
                .with_topic("Fietsplus")
                .with_value(95.0)
                .with_channel("web")
                .with_id("e4"),
            ev("nl-2", EventKind::SEARCH, JUNE_1 + 2 * DAY).with_value(-0.0).with_id("e5"),
        ]
    );
    assert_eq!(sizes, [2, 2, 1], "chunks of two, the last one shorter");
    assert_eq!((read.rows, read.events, read.n_skipped()), (5, 5, 0));
    assert_eq!(read.source, "newsletter");
    assert_eq!(read.file, dir.0.join("e.csv"));
    assert!(read.examples.is_empty());
    assert_eq!(read.to_string(), "e.csv (\"newsletter\"): 5 rows, 5 events, 0 skipped");
}

/// Optional texts reused from chunk to chunk are cleared when a row has none: one-event
/// chunks alternate rows with and without them.
#[cfg(feature = "csv")]
#[test]
fn reused_events_carry_nothing_over() {
    let dir = Scratch::new("reuse");
    let mut csv = String::from("sid,kind,ts,topic,channel,id,value\n");
    for i in 0..6 {
        if i % 2 == 0 {
            csv.push_str(&format!("r{i},page_view,2026-06-01,t{i},web,id{i},{i}\n"));
        } else {
            csv.push_str(&format!("r{i},page_view,2026-06-01,,,,\n"));
        }
    }
    dir.write("e.csv", csv);
    let m = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"e.csv\"\nrecord = \"sid\"\nkind = \"kind\"\n\
         at = \"ts\"\ntopic = \"topic\"\nchannel = \"channel\"\nid = \"id\"\nvalue = \"value\"\n",
    );
    for chunk in [1, 4, 100] {
        let (events, _, _) = read_all(&m, &m.event_kind_registry(), chunk).unwrap();
        for (i, e) in events.iter().enumerate() {
            let mut want = ev(&format!("r{i}"), EventKind::PAGE_VIEW, JUNE_1);
            if i % 2 == 0 {
                want = want
                    .with_topic(format!("t{i}"))
                    .with_channel("web")
                    .with_id(format!("id{i}"))
                    .with_value(i as f64);
            }
            assert_eq!(*e, want, "chunk {chunk}");
        }
        assert_eq!(events.len(), 6);
    }
}

#[cfg(feature = "serde_json")]
#[test]
fn json_lines_events_with_one_kind() {
    let dir = Scratch::new("jsonl");
    dir.write(
        "e.jsonl",
        "\u{feff}{\"sid\": 17, \"at\": \"2026-06-01\", \"page\": \"Zeilen Nu\", \"secs\": 30.50, \
         \"params\": {\"nested\": [1, {\"deep\": true}]}}\n\
         \n\
         {\"at\": \"2026-06-02T12:00:00Z\", \"sid\": \"nl-9\", \"page\": null, \"secs\": \"12\", \
         \"via\": true}\n\
         {\"sid\": \"nl-9\", \"sid\": \"nl-10\", \"at\": \"2026-06-03\", \"page\": \"caf\\u00e9 \\\"x\\\"\", \
         \"eid\": 123456789012}\n\
         {\"sid\": \"nl-11\", \"at\": \"2026-06-03\", \"secs\": 1e2, \"eid\": -5, \"via\": \"\"}\n",
    );
    let m = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"e.jsonl\"\nrecord = \"sid\"\n\
         kind_is = \"article_read\"\nat = \"at\"\ntopic = \"page\"\nvalue = \"secs\"\n\
         channel = \"via\"\nid = \"eid\"\n",
    );
    let (events, read, sizes) = read_all(&m, &m.event_kind_registry(), 1000).unwrap();
    let read_kind = EventKind::ARTICLE_READ;
    assert_eq!(
        events,
        [
            ev("17", read_kind, JUNE_1).with_topic("Zeilen Nu").with_value(30.5),
            ev("nl-9", read_kind, JUNE_1 + DAY + 12 * 3600).with_value(12.0).with_channel("true"),
            ev("nl-10", read_kind, JUNE_1 + 2 * DAY)
                .with_topic("café \"x\"")
                .with_id("123456789012"),
            ev("nl-11", read_kind, JUNE_1 + 2 * DAY).with_value(100.0).with_id("-5"),
        ]
    );
    assert_eq!(sizes, [4]);
    assert_eq!((read.rows, read.events, read.n_skipped()), (4, 4, 0));
}

/// Every problem a row can have, counted once per row (the first in the order record, kind,
/// time, value), with at most three examples each, in file order.
#[cfg(feature = "csv")]
#[test]
fn bad_rows_are_counted_not_fatal() {
    let dir = Scratch::new("bad-rows");
    dir.write(
        "e.csv",
        "sid,kind,ts,value\n\
         r1,page_view,2026-06-01,1\n\
         ,page_view,2026-06-01,1\n\
         r2,,2026-06-01,1\n\
         r3,pageview,2026-06-01,1\n\
         r4,Page_View,2026-06-01,1\n\
         r5,page_view,,1\n\
         r6,page_view,01-06-2026,1\n\
         r7,page_view,2026-06-01T10:00:00,1\n\
         r8,order,2026-06-01,12;50\n\
         r9,order,2026-06-01,inf\n\
         r10,order,2026-06-01,NaN\n\
         r11,order,2026-06-01,1e999\n\
         r12,order,2026-06-01,-1e400\n\
         ,pageview,bad,bad\n\
         r13,unknown_a,2026-06-01,1\n\
         r14,unknown_b,2026-06-01,1\n\
         r15,order,2026-06-01,  7.5  \n",
    );
    let m = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"e.csv\"\nrecord = \"sid\"\nkind = \"kind\"\n\
         at = \"ts\"\nvalue = \"value\"\n",
    );
    let (events, read, _) = read_all(&m, &m.event_kind_registry(), 3).unwrap();
    let records: Vec<&str> = events.iter().map(|e| e.external_id.as_str()).collect();
    assert_eq!(records, ["r1", "r15"]);
    assert_eq!(events[1].value, 7.5);
    assert_eq!((read.rows, read.events, read.n_skipped()), (17, 2, 15));
    let count = |p| read.skipped.get(&p).copied().unwrap_or(0);
    assert_eq!(count(EventRowProblem::EmptyRecordId), 2);
    assert_eq!(count(EventRowProblem::EmptyKind), 1);
    assert_eq!(count(EventRowProblem::UnknownKind), 4);
    assert_eq!(count(EventRowProblem::EmptyTime), 1);
    assert_eq!(count(EventRowProblem::BadTime), 2);
    assert_eq!(count(EventRowProblem::BadValue), 1);
    assert_eq!(count(EventRowProblem::NonFiniteValue), 4);

    let examples: Vec<(u64, EventRowProblem, &str)> =
        read.examples.iter().map(|e| (e.line, e.problem, e.value.as_str())).collect();
    let unknown: Vec<_> =
        examples.iter().filter(|e| e.1 == EventRowProblem::UnknownKind).copied().collect();
    assert_eq!(
        unknown,
        [
            (5, EventRowProblem::UnknownKind, "pageview"),
            (6, EventRowProblem::UnknownKind, "Page_View"),
            (16, EventRowProblem::UnknownKind, "unknown_a"),
        ],
        "three examples, in file order; names match exactly"
    );
    assert!(examples.contains(&(3, EventRowProblem::EmptyRecordId, "")));
    assert!(examples.contains(&(8, EventRowProblem::BadTime, "01-06-2026")));
    assert!(examples.contains(&(10, EventRowProblem::BadValue, "12;50")));
    assert!(examples.contains(&(11, EventRowProblem::NonFiniteValue, "inf")));
    assert_eq!(read.examples.len(), 2 + 1 + 3 + 1 + 2 + 1 + 3);

    let text = read.to_string();
    assert!(text.starts_with("e.csv (\"newsletter\"): 17 rows, 2 events, 15 skipped\n"), "{text}");
    assert!(
        text.contains(
            "\n  unknown event kind: 4 (line 5: \"pageview\", line 6: \"Page_View\", \
                       line 16: \"unknown_a\")"
        ),
        "{text}"
    );
    assert!(
        text.contains("\n  time does not parse: 2 (line 8: \"01-06-2026\", line 9: "),
        "{text}"
    );
}

/// A host kind from `[event_kinds]` is an event with the mapping's registry and an unknown
/// kind without it, in a kind column and as `kind_is` alike.
#[cfg(feature = "csv")]
#[test]
fn host_kinds_need_declaring() {
    let dir = Scratch::new("host-kinds");
    dir.write("e.csv", "sid,kind,ts\nr1,webinar,2026-06-01\nr2,order,2026-06-01\n");
    let column = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"e.csv\"\nrecord = \"sid\"\n\
         kind = \"kind\"\nat = \"ts\"\n",
    );
    let fixed = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"e.csv\"\nrecord = \"sid\"\n\
         kind_is = \"webinar\"\nat = \"ts\"\n",
    );

    let declared = column.event_kind_registry();
    let webinar = declared.lookup("webinar").unwrap();
    let (events, read, _) = read_all(&column, &declared, 10).unwrap();
    assert_eq!(events.iter().map(|e| e.kind).collect::<Vec<_>>(), [webinar, EventKind::ORDER]);
    assert_eq!(read.n_skipped(), 0);
    let (events, _, _) = read_all(&fixed, &declared, 10).unwrap();
    assert_eq!(events.iter().map(|e| e.kind).collect::<Vec<_>>(), [webinar, webinar]);

    let built_in_only = EventKinds::new();
    let (events, read, _) = read_all(&column, &built_in_only, 10).unwrap();
    assert_eq!(events.iter().map(|e| e.external_id.as_str()).collect::<Vec<_>>(), ["r2"]);
    assert_eq!(read.skipped.get(&EventRowProblem::UnknownKind), Some(&1));
    assert_eq!(read.examples[0].value, "webinar");
    let (events, read, _) = read_all(&fixed, &built_in_only, 10).unwrap();
    assert!(events.is_empty());
    assert_eq!(read.skipped.get(&EventRowProblem::UnknownKind), Some(&2));
    assert!(read.examples.iter().all(|e| e.value == "webinar"), "{:?}", read.examples);
}

#[cfg(all(feature = "csv", feature = "serde_json"))]
#[test]
fn malformed_files_stop_with_their_place() {
    let dir = Scratch::new("malformed");
    let section = |path: &str| {
        format!(
            "[[events]]\nsource = \"newsletter\"\npath = \"{path}\"\nrecord = \"sid\"\n\
             kind = \"kind\"\nat = \"ts\"\ntopic = \"title\"\n"
        )
    };
    let kinds = EventKinds::new();

    let m = mapping_in(&dir, &section("missing.csv"));
    let e = read_all(&m, &kinds, 10).unwrap_err();
    assert!(matches!(&e, MappingError::OpenInput { file, .. } if file.ends_with("missing.csv")));

    dir.write("nocol.csv", "sid,kind,time,title\nr1,order,2026-06-01,x\n");
    let m = mapping_in(&dir, &section("nocol.csv"));
    let e = read_all(&m, &kinds, 10).unwrap_err();
    let MappingError::MissingEventColumn { column, events, source_name, key, header, .. } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (column.as_str(), *events, source_name.as_str(), key.as_str()),
        ("ts", 1, "newsletter", "at")
    );
    assert_eq!(header.len(), 4);
    assert!(
        e.to_string().contains(
            "no column \"ts\" (mapped by [[events]] #1 (\"newsletter\"), key `at`); the header \
             has columns \"sid\", \"kind\", \"time\", \"title\""
        ),
        "{e}"
    );

    dir.write("fields.csv", "sid,kind,ts,title\nr1,order,2026-06-01,x\n\nr2,order,2026-06-01\n");
    let m = mapping_in(&dir, &section("fields.csv"));
    let mut handed = 0;
    let e = m.events()[0]
        .read(NEWSLETTER, &kinds, 1, |c| {
            handed += c.len();
            Ok::<_, MappingError>(())
        })
        .unwrap_err();
    assert!(matches!(e, MappingError::FieldCount { line: 4, expected: 4, found: 3, .. }), "{e:?}");
    assert_eq!(handed, 1, "the chunk before the bad row was handed on");

    dir.write("utf8.csv", b"sid,kind,ts,title\nr1,order,2026-06-01,caf\xe9\n".as_slice());
    let m = mapping_in(&dir, &section("utf8.csv"));
    let e = read_all(&m, &kinds, 10).unwrap_err();
    assert!(
        matches!(&e, MappingError::InvalidUtf8 { line: 2, column, .. } if column == "title"),
        "{e:?}"
    );

    for (content, expect) in [
        ("{\"sid\": \"r1\", \"kind\": \"order\", \"ts\": \"2026-06-01\"}\n{\"sid\": \"r2\",, }\n", "json"),
        ("{\"sid\": \"r1\"} trailing\n", "trailing"),
        ("[\"r1\", \"order\"]\n", "array"),
        ("\n\"r1\"\n", "string"),
        ("{\"sid\": [\"r1\", \"r2\"], \"kind\": \"order\", \"ts\": \"2026-06-01\"}\n", "field"),
        ("{\"sid\": \"r1\", \"title\": {\"a\": 1}}\n", "object"),
        ("{\"sid\": \"r1\"\n", "eof"),
    ] {
        dir.write("bad.jsonl", content);
        let m = mapping_in(&dir, &section("bad.jsonl"));
        let e = read_all(&m, &kinds, 10).unwrap_err();
        match (expect, &e) {
            ("json", MappingError::InvalidJson { line: 2, column: 14, .. })
            | ("trailing", MappingError::InvalidJson { line: 1, column: 15, .. })
            | ("array", MappingError::NotAnObject { line: 1, found: "an array", .. })
            | ("string", MappingError::NotAnObject { line: 2, found: "a string", .. })
            | ("eof", MappingError::InvalidJson { line: 1, .. }) => {}
            ("field", MappingError::UnexpectedValue { line: 1, field, found: "an array", .. })
            | ("object", MappingError::UnexpectedValue { line: 1, field, found: "an object", .. })
                if field == if expect == "field" { "sid" } else { "title" } => {}
            _ => panic!("{expect}: {e:?}"),
        }
        assert!(e.to_string().contains("bad.jsonl:"), "{e}");
    }
}

/// The host's error stops the reading and comes back as it was.
#[cfg(feature = "csv")]
#[test]
fn the_hosts_error_stops_the_reading() {
    #[derive(Debug)]
    enum HostError {
        Full,
        Mapping(MappingError),
    }
    impl From<MappingError> for HostError {
        fn from(e: MappingError) -> Self {
            HostError::Mapping(e)
        }
    }
    let dir = Scratch::new("host-error");
    let rows: String = (0..10).map(|i| format!("r{i},order,2026-06-01\n")).collect();
    dir.write("e.csv", format!("sid,kind,ts\n{rows}"));
    let m = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"e.csv\"\nrecord = \"sid\"\n\
         kind = \"kind\"\nat = \"ts\"\n",
    );
    let mut calls = 0;
    let e = m.events()[0]
        .read(NEWSLETTER, &EventKinds::new(), 3, |_| {
            calls += 1;
            if calls == 2 {
                Err(HostError::Full)
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    assert!(matches!(e, HostError::Full));
    assert_eq!(calls, 2);

    let missing = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"gone.csv\"\nrecord = \"sid\"\n\
         kind = \"kind\"\nat = \"ts\"\n",
    );
    let e = missing.events()[0]
        .read(NEWSLETTER, &EventKinds::new(), 3, |_| Ok::<_, HostError>(()))
        .unwrap_err();
    assert!(matches!(e, HostError::Mapping(MappingError::OpenInput { .. })), "{e:?}");
}

// --- the sample ------------------------------------------------------------------------------

/// The sample's events files: every row an event, on a record the sample's sources hold, in
/// the year to 2026-06-30, with the publisher's own `webinar` kind among them.
#[cfg(all(
    feature = "csv",
    feature = "serde_json",
    feature = "sqlite",
    feature = "mbox",
    feature = "ga4"
))]
#[test]
fn the_samples_events_belong_to_its_records() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/publisher.toml");
    let mapping = Mapping::from_path(&path).unwrap();
    assert_eq!(mapping.event_kinds(), [("webinar".to_string(), EventClass::Engagement)]);
    let kinds = mapping.event_kind_registry();
    let run = mapping.run(512, |_| {}).unwrap();
    let [newsletter, web]: &[EventsMapping; 2] = mapping.events().try_into().unwrap();
    assert!(newsletter.has_ids() && !web.has_ids());

    let start = idstitch::mapping::parse_timestamp("2025-07-01").unwrap();
    let end = idstitch::mapping::parse_timestamp("2026-07-01").unwrap();
    let mut seen_kinds = std::collections::BTreeSet::new();
    for section in mapping.events() {
        let source = run.resolver.source_id(&section.source).unwrap();
        let mut n = 0;
        let read = section
            .read(source, &kinds, 16, |chunk| {
                for e in chunk {
                    assert!(
                        run.resolver.customer_of(source, &e.external_id).is_some(),
                        "{}: no record {}",
                        section.source,
                        e.external_id
                    );
                    assert!(start <= e.at && e.at < end, "{e:?}");
                    assert!(e.validate(&kinds).is_ok(), "{e:?}");
                    seen_kinds.insert(kinds.name(e.kind).unwrap().to_string());
                    n += 1;
                }
                Ok::<_, MappingError>(())
            })
            .unwrap();
        assert_eq!(read.n_skipped(), 0, "{read}");
        assert_eq!((read.events, n), (read.rows, read.rows));
        assert!((30..=60).contains(&read.rows), "a few dozen rows: {read}");
    }
    for kind in
        ["newsletter_open", "newsletter_click", "webinar", "page_view", "article_read", "order"]
    {
        assert!(seen_kinds.contains(kind), "{kind}: {seen_kinds:?}");
    }
}

/// The sample end to end: the mapping's resolver knows its event kinds, every event of both
/// files is recorded on its record, a replayed file with ids counts each event once, and the
/// customers' summaries see them.
#[cfg(all(
    feature = "csv",
    feature = "serde_json",
    feature = "sqlite",
    feature = "mbox",
    feature = "ga4"
))]
#[test]
fn the_samples_events_recorded_through_the_resolver() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/publisher.toml");
    let mapping = Mapping::from_path(&path).unwrap();
    let mut run = mapping.run(512, |_| {}).unwrap();
    assert_eq!(*run.resolver.event_kinds(), mapping.event_kind_registry());

    let record = |section: &EventsMapping, resolver: &mut idstitch::Resolver| {
        let source = resolver.source_id(&section.source).unwrap();
        let kinds = resolver.event_kinds().clone();
        let mut report = idstitch::behaviour::EventReport::default();
        let read = section
            .read(source, &kinds, 8, |chunk| {
                report.absorb(&resolver.record_events(chunk).event_report);
                Ok::<_, MappingError>(())
            })
            .unwrap();
        (read, report)
    };
    // The run recorded every event read once: every row of the sections, and those the
    // mailbox and GA4 sources make after them.
    let events: u64 = run.events.iter().map(|read| read.events).sum();
    let report = &run.changes.event_report;
    assert_eq!((report.accepted, report.replaced, report.n_rejected()), (events, 0, 0));
    let formats = mapping.sources().iter().filter(|s| s.options.is_some()).count();
    assert_eq!(run.events.len(), mapping.events().len() + formats);
    for read in &run.events[..mapping.events().len()] {
        assert_eq!(read.events, read.rows, "{read}");
    }
    let newsletter = &mapping.events()[0];
    let (read, again) = record(newsletter, &mut run.resolver);
    assert_eq!((again.accepted, again.replaced), (read.rows, read.rows), "replayed by id");

    // Every event is on a customer: the summaries as of the year's end count them all.
    let end = idstitch::mapping::parse_timestamp("2026-06-30T23:59:59Z").unwrap();
    // (The mailbox's and GA4 export's events are in the same year, so every customer counts.)
    let customers: Vec<_> = run.resolver.customers().collect();
    let counted: u64 = customers
        .iter()
        .map(|&c| {
            let summary = run.resolver.summary(c, end).unwrap();
            EventClass::ALL
                .iter()
                .map(|&class| u64::from(summary.by_class.get(class).last_365_days))
                .sum::<u64>()
        })
        .sum();
    assert_eq!(counted, events, "each event once, in the year to 2026-06-30");
}

/// Applied to a state: a replayed events file counts each event once, and a file without
/// ids is a full export that replaces what it loaded last time, also after reopening.
#[cfg(feature = "csv")]
#[test]
fn applied_events_replace_by_id_and_full_exports_replace_the_last_load() {
    use idstitch::{Durable, DurableOptions};
    let dir = Scratch::new("apply");
    dir.write("n.csv", "id,email\nN-1,ann@example.nl\nN-2,bob@example.nl\n");
    dir.write(
        "ids.csv",
        "sub,kind,ts,id\nN-1,newsletter_open,2026-01-01,e1\nN-1,newsletter_open,2026-01-02,e2\n",
    );
    let export = |rows: &[&str]| format!("sub,ts,title\n{}\n", rows.join("\n"));
    dir.write("views.csv", export(&["N-1,2026-01-03,a", "N-2,2026-01-04,b", "N-2,2026-01-05,c"]));
    let mapping = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"ids.csv\"\nrecord = \"sub\"\nkind = \"kind\"\nat = \"ts\"\nid = \"id\"\n\
         [[events]]\nsource = \"newsletter\"\npath = \"views.csv\"\nrecord = \"sub\"\nkind_is = \"page_view\"\nat = \"ts\"\ntopic = \"title\"\n",
    );
    let state_dir = dir.0.join("state");
    let builder = mapping.resolver_builder();
    let open = || Durable::open_with(&state_dir, &builder, DurableOptions::default()).unwrap();
    let counts = |state: &Durable| -> Vec<usize> {
        let n = state.source_id("newsletter").unwrap();
        ["N-1", "N-2"]
            .iter()
            .map(|id| state.customer_events(state.customer_of(n, id).unwrap()).unwrap().len())
            .collect()
    };
    let mut state = open();
    let first = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!((first.changes.event_report.accepted, first.changes.event_report.replaced), (5, 0));
    assert_eq!(counts(&state), [3, 2]);
    let again = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!((again.changes.event_report.accepted, again.changes.event_report.replaced), (5, 5));
    assert_eq!(counts(&state), [3, 2], "a replay counts once");
    // The export loses a row: the section's last position goes.
    dir.write("views.csv", export(&["N-1,2026-01-03,a", "N-2,2026-01-05,c"]));
    let shrunk = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!(shrunk.events_removed, 1);
    assert_eq!(counts(&state), [3, 1]);
    drop(state);
    let state = open();
    assert_eq!(counts(&state), [3, 1], "the removal was journaled");
}

/// Regression: a full export's event the state refuses (a negative amount) took a position
/// and left a gap in the held ones, so a later, shorter export stopped removing at the gap
/// and kept the events past it. Refused events take no position now.
#[cfg(feature = "csv")]
#[test]
fn a_refused_event_of_a_full_export_leaves_no_gap_in_its_positions() {
    use idstitch::{Durable, DurableOptions};
    let dir = Scratch::new("apply-gap");
    dir.write("n.csv", "id,email\nN-1,ann@example.nl\n");
    let export = |rows: &[&str]| format!("sub,ts,amount\n{}\n", rows.join("\n"));
    dir.write(
        "orders.csv",
        export(&["N-1,2026-01-01,10", "N-1,2026-01-02,-5", "N-1,2026-01-03,3", "N-1,2026-01-04,4"]),
    );
    let mapping = mapping_in(
        &dir,
        "[[events]]\nsource = \"newsletter\"\npath = \"orders.csv\"\nrecord = \"sub\"\n\
         kind_is = \"order\"\nat = \"ts\"\nvalue = \"amount\"\n",
    );
    let builder = mapping.resolver_builder();
    let mut state =
        Durable::open_with(dir.0.join("state"), &builder, DurableOptions::default()).unwrap();
    let held = |state: &Durable| {
        let n = state.source_id("newsletter").unwrap();
        state.customer_events(state.customer_of(n, "N-1").unwrap()).unwrap().len()
    };
    let first = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!(
        (first.changes.event_report.accepted, first.changes.event_report.n_rejected()),
        (3, 1)
    );
    assert_eq!(held(&state), 3);
    dir.write("orders.csv", export(&["N-1,2026-01-01,10"]));
    let shrunk = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!(shrunk.events_removed, 2, "both events past the export's end, not none");
    assert_eq!(held(&state), 1);
}
