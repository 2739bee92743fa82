//! Files as they really come: legacy encodings, byte-order marks, malformed rows under
//! `on_bad_row = "fail"` and `"skip"`, and ids repeated within one load of a source. The
//! fixtures are written byte for byte, so the Windows-1252 bytes are what a legacy export has.
#![cfg(all(feature = "csv", feature = "serde_json"))]

use std::path::Path;

use idstitch::mapping::{BadRowReason, FileEncoding, Mapping, MappingError, OnBadRow};
use idstitch::{Durable, DurableOptions};

mod support;

use support::Scratch;

/// The mapping `text`, written into `dir` and read from there.
fn mapping_in(dir: &Scratch, text: &str) -> Mapping {
    Mapping::from_path(dir.write("mapping.toml", text)).unwrap()
}

/// A `[[source]]` named `crm` reading `file` with `extra` keys, id `id`, email key and name
/// attribute.
fn crm(file: &str, extra: &str) -> String {
    format!(
        "[[source]]\nname = \"crm\"\npath = \"{file}\"\nid = \"id\"\n\
         keys = {{ email = \"email\" }}\nattributes = {{ name = \"name\" }}\n{extra}\n"
    )
}

fn name_of(run: &idstitch::mapping::MappedRun, id: &str) -> Option<String> {
    let crm = run.sources[0];
    let mut attributes = run.resolver.record_attributes(crm, id)?;
    attributes.find(|a| a.name == "name").map(|a| a.value.to_string())
}

fn run(mapping: &Mapping) -> Result<idstitch::mapping::MappedRun, MappingError> {
    mapping.run(2, |_| {})
}

/// Bytes 0xFC and 0x80 are `ü` and `€` in Windows-1252; `iso-8859-1` reads the same (the
/// WHATWG rule the docs state).
#[test]
fn windows_1252_export_reads_umlaut_and_euro() {
    let dir = Scratch::new("cp1252");
    dir.write(
        "crm.csv",
        b"id,name,email\r\nC1,M\xfcller \x80 GmbH,m@x.nl\r\nC2,Fran\xe7ois,f@x.nl\r\n",
    );
    for label in ["windows-1252", "ISO-8859-1", "latin1"] {
        let mapping = mapping_in(&dir, &crm("crm.csv", &format!("encoding = \"{label}\"")));
        assert_eq!(mapping.sources()[0].input.encoding, FileEncoding::Windows1252);
        let run = run(&mapping).unwrap();
        assert_eq!(name_of(&run, "C1").as_deref(), Some("Müller € GmbH"), "{label}");
        assert_eq!(name_of(&run, "C2").as_deref(), Some("François"), "{label}");
        assert_eq!(run.input.sources[0].records_read, 2);
    }
}

/// The same file read as UTF-8 (the default): the first undecodable row stops the load,
/// naming file, line and column; with `skip` it is counted and the rest read.
#[test]
fn undecodable_fields_fail_or_are_skipped() {
    let dir = Scratch::new("utf8-bad");
    let file = dir.write("crm.csv", b"id,name,email\nC1,M\xfcller,m@x.nl\nC2,Jan,j@x.nl\n");
    match run(&mapping_in(&dir, &crm("crm.csv", ""))) {
        Err(MappingError::InvalidUtf8 { file: f, line: 2, column }) => {
            assert_eq!((f, column.as_str()), (file, "name"));
        }
        other => panic!("expected InvalidUtf8 at line 2, got {other:?}"),
    }
    let run = run(&mapping_in(&dir, &crm("crm.csv", "on_bad_row = \"skip\""))).unwrap();
    let read = &run.input.sources[0];
    assert_eq!(read.records_read, 1);
    assert_eq!(read.bad_rows.counts[&BadRowReason::Undecodable], 1);
    assert_eq!(read.bad_rows.lines[&BadRowReason::Undecodable], [2]);
    assert_eq!(name_of(&run, "C2").as_deref(), Some("Jan"));
    assert_eq!(name_of(&run, "C1"), None);
    let summary = run.summary().to_string();
    assert!(
        summary.contains("1 bad row skipped: undecodable field (not UTF-8): 1 (line 2)"),
        "{summary}"
    );
}

/// A UTF-8 byte-order mark is not part of the first column's name, in CSV (also when the
/// mapping says windows-1252: the mark says what the file is) and in JSON Lines.
#[test]
fn a_byte_order_mark_is_skipped() {
    let dir = Scratch::new("bom");
    dir.write("crm.csv", "\u{feff}id,name,email\nC1,Müller,m@x.nl\n");
    for extra in ["", "encoding = \"windows-1252\""] {
        let run = run(&mapping_in(&dir, &crm("crm.csv", extra))).unwrap();
        assert_eq!(name_of(&run, "C1").as_deref(), Some("Müller"), "{extra}");
    }
    dir.write("crm.jsonl", "\u{feff}{\"id\": \"C1\", \"name\": \"Müller\"}\n");
    let run = run(&mapping_in(&dir, &crm("crm.jsonl", ""))).unwrap();
    assert_eq!(name_of(&run, "C1").as_deref(), Some("Müller"));
}

const RAGGED: &str =
    "id,name,email\nC1,Ann,a@x.nl\nC2,Bob\nC3,Cas,c@x.nl,extra\n\nC4,Dirk,d@x.nl\n";

#[test]
fn ragged_rows_fail_by_default() {
    let dir = Scratch::new("ragged-fail");
    let file = dir.write("crm.csv", RAGGED);
    for extra in ["", "on_bad_row = \"fail\""] {
        match run(&mapping_in(&dir, &crm("crm.csv", extra))) {
            Err(e @ MappingError::FieldCount { .. }) => {
                let MappingError::FieldCount { file: f, line, expected, found } = &e else {
                    unreachable!()
                };
                assert_eq!((f, *line, *expected, *found), (&file, 3, 3, 2));
                assert!(
                    e.to_string().contains("crm.csv:3: 2 fields where the header has 3"),
                    "{e}"
                );
            }
            other => panic!("expected FieldCount, got {other:?}"),
        }
    }
}

#[test]
fn ragged_rows_are_skipped_and_counted_with_their_lines() {
    let dir = Scratch::new("ragged-skip");
    dir.write("crm.csv", RAGGED);
    let mapping = mapping_in(&dir, &crm("crm.csv", "on_bad_row = \"skip\""));
    assert_eq!(mapping.sources()[0].input.on_bad_row, OnBadRow::Skip);
    let run = run(&mapping).unwrap();
    let read = &run.input.sources[0];
    assert_eq!(read.records_read, 2, "C1 and C4");
    assert_eq!(read.bad_rows.total(), 2);
    assert_eq!(read.bad_rows.lines[&BadRowReason::Ragged], [3, 4]);
    assert_eq!(run.resolver.n_records(), 2);
    assert!(name_of(&run, "C4").is_some() && name_of(&run, "C2").is_none());
    assert!(run.summary().to_string().contains(
        "2 bad rows skipped: ragged row (field count differs from the header): 2 (lines 3, 4)"
    ));
}

/// A quote left open swallows the rest of the file: here into a row of the right length,
/// which was read as one record with a field of three lines before.
#[test]
fn an_unterminated_quote_is_a_bad_row() {
    let dir = Scratch::new("quote");
    let file =
        dir.write("crm.csv", "id,name,email\nC1,Ann,a@x.nl\nC2,Bob,\"b@x.nl\nC3,Cas,c@x.nl\n");
    match run(&mapping_in(&dir, &crm("crm.csv", ""))) {
        Err(MappingError::UnterminatedQuote { file: f, line: 3 }) => assert_eq!(f, file),
        other => panic!("expected UnterminatedQuote at line 3, got {other:?}"),
    }
    let run = run(&mapping_in(&dir, &crm("crm.csv", "on_bad_row = \"skip\""))).unwrap();
    let read = &run.input.sources[0];
    assert_eq!(read.records_read, 1);
    assert_eq!(read.bad_rows.lines[&BadRowReason::UnterminatedQuote], [3]);

    // Closed quotes at the end of a file without a final line break, and quotes inside
    // unquoted or quoted fields, are no open quote.
    dir.write(
        "crm.csv",
        "id,name,email\nC1,Ann \"A\" B,a@x.nl\nC2,\"Bob \"\"B\"\", Jr\",\"b@x.nl\"",
    );
    let run2 = self::run(&mapping_in(&dir, &crm("crm.csv", ""))).unwrap();
    assert_eq!(name_of(&run2, "C1").as_deref(), Some("Ann \"A\" B"));
    assert_eq!(name_of(&run2, "C2").as_deref(), Some("Bob \"B\", Jr"));
}

/// JSON Lines: a line that is not an object, not JSON or not UTF-8 is a bad row.
#[test]
fn json_lines_bad_rows() {
    let dir = Scratch::new("jsonl");
    dir.write(
        "crm.jsonl",
        b"{\"id\": \"C1\", \"name\": \"Ann\"}\n[1, 2]\n{\"id\": \"C2\", \n{\"id\": \"C3\", \"name\": \"M\xfcller\"}\n{\"id\": \"C4\", \"name\": [\"x\", {}]}\n{\"id\": \"C5\"}\n",
    );
    match run(&mapping_in(&dir, &crm("crm.jsonl", ""))) {
        Err(MappingError::NotAnObject { line: 2, .. }) => {}
        other => panic!("expected NotAnObject at line 2, got {other:?}"),
    }
    let run = run(&mapping_in(&dir, &crm("crm.jsonl", "on_bad_row = \"skip\""))).unwrap();
    let bad = &run.input.sources[0].bad_rows;
    assert_eq!(bad.lines[&BadRowReason::NotAnObject], [2, 3]);
    assert_eq!(bad.lines[&BadRowReason::Undecodable], [4]);
    assert_eq!(bad.lines[&BadRowReason::UnexpectedValue], [5]);
    assert_eq!(run.input.sources[0].records_read, 2, "C1 and C5");
}

#[test]
fn encoding_and_on_bad_row_are_checked() {
    let dir = Scratch::new("config");
    let at = |e: MappingError| match e {
        MappingError::UnknownEncoding { at, .. }
        | MappingError::JsonEncoding { at, .. }
        | MappingError::UnknownBadRowPolicy { at, .. } => (at.line, at.key.clone()),
        other => panic!("unexpected {other:?}"),
    };
    let text = crm("crm.csv", "encoding = \"ebcdic\"");
    let e = Mapping::from_str(&text, &dir.0).unwrap_err();
    assert!(e.to_string().contains("unknown encoding \"ebcdic\""), "{e}");
    assert_eq!(at(e), (7, "encoding".to_string()));
    let e =
        Mapping::from_str(&crm("crm.jsonl", "encoding = \"windows-1252\""), &dir.0).unwrap_err();
    assert_eq!(at(e), (7, "encoding".to_string()));
    let e = Mapping::from_str(&crm("crm.csv", "on_bad_row = \"ignore\""), &dir.0).unwrap_err();
    assert_eq!(at(e), (7, "on_bad_row".to_string()));
    // UTF-8 may be said of JSON Lines.
    Mapping::from_str(&crm("crm.jsonl", "encoding = \"utf-8\""), &dir.0).unwrap();
    // The tables of rows take the keys too, and their errors name the table.
    let events = format!(
        "{}[[events]]\nsource = \"crm\"\npath = \"e.csv\"\nrecord = \"id\"\nkind_is = \"order\"\n\
         at = \"ts\"\nencoding = \"utf-16\"\n",
        crm("crm.csv", "")
    );
    let e = Mapping::from_str(&events, &dir.0).unwrap_err();
    assert!(e.to_string().contains("[[events]] #1 (\"crm\"), key `encoding`"), "{e}");
}

/// Events and consent files: ragged rows and an undecodable one skipped and counted in their
/// reports; a Windows-1252 events file decoded.
#[test]
fn events_and_consent_skip_bad_rows() {
    let dir = Scratch::new("tables");
    dir.write("crm.csv", "id,name,email\nC1,Ann,a@x.nl\n");
    dir.write(
        "orders.csv",
        b"id,ts,product\nC1,2026-01-02,Br\xf6tchen\nC1,2026-01-03\nC1,2026-01-04,Kaffee\n",
    );
    dir.write(
        "consent.csv",
        b"id,status,at\nC1,granted,2026-01-01\nC1,denied\nC1,\xff,2026-01-02\n",
    );
    let text = format!(
        "{}[[events]]\nsource = \"crm\"\npath = \"orders.csv\"\nrecord = \"id\"\n\
         kind_is = \"order\"\nat = \"ts\"\ntopic = \"product\"\nencoding = \"windows-1252\"\n\
         on_bad_row = \"skip\"\n\
         [[consent]]\nsource = \"crm\"\npath = \"consent.csv\"\nrecord = \"id\"\n\
         channel_is = \"email\"\nstatus = \"status\"\nat = \"at\"\non_bad_row = \"skip\"\n",
        crm("crm.csv", "")
    );
    let mapping = mapping_in(&dir, &text);
    let run = run(&mapping).unwrap();
    let events = &run.events[0];
    assert_eq!((events.rows, events.events), (2, 2));
    assert_eq!(events.bad_rows.lines[&BadRowReason::Ragged], [3]);
    assert!(events.to_string().contains("bad rows skipped: 1"), "{events}");
    let consent = &run.consent.files[0];
    assert_eq!((consent.rows, consent.items), (1, 1));
    assert_eq!(consent.bad_rows.lines[&BadRowReason::Ragged], [3]);
    assert_eq!(consent.bad_rows.lines[&BadRowReason::Undecodable], [4]);
    let summary = run.summary().to_string();
    assert!(summary.contains("bad rows skipped"), "{summary}");

    // The product read as Windows-1252.
    let mut topics = Vec::new();
    let kinds = mapping.event_kind_registry();
    mapping.events()[0]
        .read(run.sources[0], &kinds, 16, |chunk| {
            topics.extend(chunk.iter().map(|e| e.topic.clone().unwrap_or_default()));
            Ok::<_, MappingError>(())
        })
        .unwrap();
    assert_eq!(topics, ["Brötchen", "Kaffee"]);

    // Under `fail` (the default) the consent file stops at its first bad row.
    let failing = text.replace("at = \"at\"\non_bad_row = \"skip\"", "at = \"at\"");
    match self::run(&mapping_in(&dir, &failing)) {
        Err(MappingError::FieldCount { line: 3, file, .. }) => {
            assert!(file.ends_with("consent.csv"))
        }
        other => panic!("expected FieldCount in consent.csv, got {other:?}"),
    }
}

/// Crm repeats C1 with another e-mail address: the later row's address is the one held, and
/// the repeat is counted and named, in a fresh run and applied to a state.
const REPEATS: &str = "id,name,email\nC1,Ann,ann@old.nl\nC2,Bob,bob@x.nl\nC1,Ann B,ann@new.nl\n\
                       C2,Bob,bob@x.nl\nC3,Cas,cas@x.nl\n";
const WEB: &str = "id,email\nW-old,ann@old.nl\nW-new,ann@new.nl\n";

fn repeat_mapping(dir: &Scratch) -> Mapping {
    dir.write("crm.csv", REPEATS);
    dir.write("web.csv", WEB);
    mapping_in(dir, &format!(
        "{}[[source]]\nname = \"web\"\npath = \"web.csv\"\nid = \"id\"\nkeys = {{ email = \"email\" }}\n",
        crm("crm.csv", "")
    ))
}

#[test]
fn a_repeated_id_is_counted_and_the_later_row_wins() {
    let dir = Scratch::new("repeats-run");
    let mapping = repeat_mapping(&dir);
    let run = run(&mapping).unwrap();
    let (crm, web) = (run.sources[0], run.sources[1]);
    let read = &run.input.sources[0];
    assert_eq!(read.records_read, 5);
    assert_eq!(read.duplicate_ids, 2, "C1 once, C2 once (an identical row is a repeat too)");
    assert_eq!(read.duplicate_examples, ["C1", "C2"]);
    assert_eq!(run.input.sources[1].duplicate_ids, 0);
    assert_eq!(run.resolver.n_records(), 5, "3 crm records, 2 web records");
    let r = &run.resolver;
    assert_eq!(r.customer_of(crm, "C1"), r.customer_of(web, "W-new"));
    assert_ne!(r.customer_of(crm, "C1"), r.customer_of(web, "W-old"));
    assert_eq!(name_of(&run, "C1").as_deref(), Some("Ann B"));
    let summary = run.summary().to_string();
    assert!(summary.contains("2 repeated ids, the later row kept (e.g. C1, C2)"), "{summary}");
}

#[test]
fn a_repeated_id_applied_to_a_state() {
    let dir = Scratch::new("repeats-apply");
    let mapping = repeat_mapping(&dir);
    let open = |d: &Path| {
        Durable::open_with(d.join("state"), &mapping.resolver_builder(), DurableOptions::default())
            .unwrap()
    };
    let mut state = open(&dir.0);
    let first = mapping.apply(&mut state, 2, |_| {}).unwrap();
    let crm = first.sources[0];
    let web = first.sources[1];
    assert_eq!(first.input.sources[0].duplicate_ids, 2);
    assert_eq!(first.input.sources[0].duplicate_examples, ["C1", "C2"]);
    assert_eq!(state.customer_of(crm, "C1"), state.customer_of(web, "W-new"));
    assert_ne!(state.customer_of(crm, "C1"), state.customer_of(web, "W-old"));
    let name = |state: &Durable| {
        state
            .record_attributes(crm, "C1")
            .unwrap()
            .find(|a| a.name == "name")
            .map(|a| a.value.to_string())
    };
    assert_eq!(name(&state).as_deref(), Some("Ann B"));
    // The same files again: the repeats are counted again, and the state holds the later row
    // still (the first C1 row differs from what is held and is stored, then replaced).
    let again = mapping.apply(&mut state, 2, |_| {}).unwrap();
    assert_eq!(again.input.sources[0].duplicate_ids, 2);
    assert_eq!(name(&state).as_deref(), Some("Ann B"));
    assert!(again.summary(state.resolver()).to_string().contains("2 repeated ids"));
    // Reopened from its journal, the state holds the later row.
    drop(state);
    let state = open(&dir.0);
    assert_eq!(name(&state).as_deref(), Some("Ann B"));
    assert_eq!(state.customer_of(crm, "C1"), state.customer_of(web, "W-new"));
}
