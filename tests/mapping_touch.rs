//! Touchpoints in mapping files: the `[[consent]]` and `[[contacts]]` tables parsed (the
//! documented example, and every mistake with its file, line and column), their files read
//! into `ConsentInput`s and `ContactInput`s (CSV and JSON Lines, `channel` and `channel_is`,
//! bad rows counted per reason, malformed files refused with their place), loaded by
//! `Mapping::run` onto the right customers, applied to a durable state twice with each
//! statement and contact held once, contact exports without ids that shrink, and the sample.
#![cfg(feature = "mapping")]
// The reading tests need a reader feature each; with fewer features some helpers go unused.
#![cfg_attr(not(all(feature = "csv", feature = "serde_json")), allow(unused_imports, dead_code))]

use std::path::Path;

use idstitch::mapping::{
    ChannelFrom, InputFormat, Mapping, MappingError, TouchRead, TouchRowProblem, TouchTable,
};
use idstitch::touchpoint::{ConsentInput, ConsentState, ContactInput};
use idstitch::{CustomerId, Resolver, SourceId, Timestamp};

mod support;

use support::Scratch;

fn time(text: &str) -> Timestamp {
    idstitch::mapping::parse_timestamp(text).unwrap()
}

// --- the mapping file ------------------------------------------------------------------------

/// The example of the module docs, with the sources its tables name.
const DOCUMENTED: &str = r#"
[[source]]
name = "newsletter"
path = "newsletter.csv"
id = "subscriber_id"
[[source]]
name = "crm"
path = "crm.csv"
id = "customer_id"
[[consent]]
source = "newsletter"
path = "consent.csv"            # CSV, or .jsonl
record = "subscriber_id"
channel_is = "newsletter"       # or channel = "COLUMN"
status = "status"               # granted | denied (trimmed, any case)
at = "changed_at"               # RFC 3339 or YYYY-MM-DD
[[contacts]]
source = "crm"
path = "contacts.csv"
record = "customer_id"
channel = "channel"             # or channel_is = "phone"
at = "sent_at"
campaign = "campaign"           # optional columns: campaign, transactional, id
transactional = "transactional" # true/false cells, as deletion_flag reads them
id = "send_id"
"#;

#[test]
fn the_documented_example_parses() {
    let m = Mapping::from_str(DOCUMENTED, "/data/exports").unwrap();
    let [c] = m.consent() else { panic!("one consent table") };
    assert_eq!((c.number, c.source.as_str()), (1, "newsletter"));
    assert_eq!(c.input.path, Path::new("/data/exports/consent.csv"));
    assert_eq!((c.input.format, c.input.delimiter), (InputFormat::Csv, b','));
    assert_eq!(c.record, "subscriber_id");
    assert_eq!(c.channel, ChannelFrom::Fixed("newsletter".into()));
    assert_eq!((c.status.as_str(), c.at.as_str()), ("status", "changed_at"));

    let [t] = m.contacts() else { panic!("one contacts table") };
    assert_eq!((t.number, t.source.as_str(), t.record.as_str()), (1, "crm", "customer_id"));
    assert_eq!(t.channel, ChannelFrom::Column("channel".into()));
    assert_eq!(t.at, "sent_at");
    assert_eq!(
        (t.campaign.as_deref(), t.transactional.as_deref(), t.id.as_deref()),
        (Some("campaign"), Some("transactional"), Some("send_id"))
    );
    assert!(t.has_ids());
    assert!(m.events().is_empty());
}

#[test]
fn tables_with_every_key_and_the_least() {
    let m = Mapping::from_str(
        &format!(
            "{SOURCES}[[consent]]\nsource = \"crm\"\npath = \" k.jsonl \"\nrecord = \" cid \"\n\
             channel = \"via\"\nstatus = \"st\"\nat = \"ts\"\ndelimiter = \";\"\n\
             [[contacts]]\nsource = \"newsletter\"\npath = \"sends.ndjson\"\nrecord = \"sid\"\n\
             channel_is = \" phone \"\nat = \"ts\"\n\
             [[contacts]]\nsource = \"crm\"\npath = \"sends.ndjson\"\nrecord = \"cid\"\n\
             channel_is = \"email\"\nat = \"ts\"\ndelimiter = \"|\"\n"
        ),
        "/d",
    )
    .unwrap();
    let [c] = m.consent() else { panic!() };
    assert_eq!(
        (c.input.path.as_path(), c.input.format),
        (Path::new("/d/k.jsonl"), InputFormat::JsonLines)
    );
    assert_eq!((c.record.as_str(), c.input.delimiter), ("cid", b';'));
    assert_eq!(c.channel, ChannelFrom::Column("via".into()));
    let [a, b] = m.contacts() else { panic!() };
    assert_eq!(a.channel, ChannelFrom::Fixed("phone".into()), "trimmed");
    assert_eq!((a.campaign.as_ref(), a.transactional.as_ref(), a.id.as_ref()), (None, None, None));
    assert!(!a.has_ids(), "no id column: a full export of the file's contacts");
    // The same file into another source is another section.
    assert_eq!((b.number, b.source.as_str(), b.input.delimiter), (2, "crm", b'|'));
}

/// Two sources (lines 1 to 8), for the tables of the error tests.
const SOURCES: &str = "[[source]]\nname = \"newsletter\"\npath = \"n.csv\"\nid = \"id\"\n\
                       [[source]]\nname = \"crm\"\npath = \"c.csv\"\nid = \"id\"\n";

fn err(text: &str) -> MappingError {
    match Mapping::from_str(text, "/data") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

/// The sources and one consent table around `body` (its header on line 9, `body` from line
/// 12).
fn consent_table(body: &str) -> String {
    format!("{SOURCES}[[consent]]\nsource = \"newsletter\"\npath = \"k.csv\"\n{body}\n")
}

/// `consent_table` with the required keys but the channel after `body`.
fn consent_with_required(body: &str) -> String {
    consent_table(&format!("{body}\nrecord = \"sid\"\nstatus = \"st\"\nat = \"ts\""))
}

/// The sources and one contacts table around `body` (its header on line 9, `body` from line
/// 12).
fn contacts_table(body: &str) -> String {
    format!("{SOURCES}[[contacts]]\nsource = \"crm\"\npath = \"s.csv\"\n{body}\n")
}

#[test]
fn table_errors_name_the_table_line_and_column() {
    // Unknown and missing keys are TOML errors at the key, or at the table for a missing one.
    for (text, line, column, words) in [
        (
            consent_with_required("channel_is = \"n\"\nstatis = \"x\""),
            13,
            1,
            "unknown field `statis`",
        ),
        (
            consent_table("channel_is = \"n\"\nrecord = \"sid\"\nat = \"ts\""),
            9,
            1,
            "missing field `status`",
        ),
        (contacts_table("channel_is = \"n\"\nrecord = \"cid\""), 9, 1, "missing field `at`"),
        (
            contacts_table("channel_is = \"n\"\nrecord = \"c\"\nat = \"t\"\nid = 7"),
            15,
            6,
            "invalid type",
        ),
        (
            contacts_table("channel_is = \"n\"\nrecord = \"c\"\nat = \"t\"\nstatus = \"s\""),
            15,
            1,
            "unknown field `status`",
        ),
    ] {
        let e = err(&text);
        let MappingError::Toml { line: l, column: c, message, .. } = &e else { panic!("{e:?}") };
        assert_eq!((*l, *c), (line, column), "{text}: {message}");
        assert!(message.contains(words), "{text}: {message}");
    }

    let e = err(&consent_with_required("channel = \"via\"\nchannel_is = \"email\""));
    let MappingError::ChannelTwice { at } = &e else { panic!("{e:?}") };
    assert_eq!(
        (at.line, at.column, at.key.as_str(), at.touch, at.events),
        (13, 14, "channel_is", Some((TouchTable::Consent, 1)), None)
    );
    assert_eq!(
        e.to_string(),
        "<string>:13:14: [[consent]] #1 (\"newsletter\"), key `channel_is`: `channel` (a column) \
         and `channel_is` (one channel for every row) exclude each other"
    );

    let e = err(&consent_with_required(""));
    let MappingError::NoChannel { at } = &e else { panic!("{e:?}") };
    assert_eq!((at.line, at.column, at.key.as_str()), (9, 1, "channel"), "at the table");
    assert!(e.to_string().contains("(`channel_is = \"NAME\"`)"), "{e}");

    let e = err(&contacts_table("record = \"c\"\nat = \"t\""));
    let MappingError::NoChannel { at } = &e else { panic!("{e:?}") };
    assert_eq!(at.touch, Some((TouchTable::Contacts, 1)));
    assert!(e.to_string().starts_with("<string>:9:1: [[contacts]] #1 (\"crm\"), key `channel`"));

    let e = err(&format!(
        "{SOURCES}[[consent]]\nsource = \"newsleter\"\npath = \"k.csv\"\nrecord = \"r\"\n\
         channel_is = \"email\"\nstatus = \"s\"\nat = \"t\"\n"
    ));
    let MappingError::UnknownEventSource { at, name } = &e else { panic!("{e:?}") };
    assert_eq!(
        (name.as_str(), at.line, at.column, at.source.as_deref()),
        ("newsleter", 10, 10, None)
    );
    assert_eq!(
        e.to_string(),
        "<string>:10:10: [[consent]] #1, key `source`: no [[source]] is named \"newsleter\""
    );

    for (text, key, line) in [
        (consent_with_required("channel_is = \" \""), "channel_is", 12),
        (
            consent_table("channel_is = \"n\"\nrecord = \"r\"\nstatus = \"\"\nat = \"t\""),
            "status",
            14,
        ),
        (
            contacts_table("channel = \"c\"\nrecord = \"r\"\nat = \"t\"\ntransactional = \" \""),
            "transactional",
            15,
        ),
        (
            contacts_table("channel = \"c\"\nrecord = \"r\"\nat = \"t\"\ncampaign = \"\""),
            "campaign",
            15,
        ),
    ] {
        let e = err(&text);
        let MappingError::EmptyName { at } = &e else { panic!("{text}: {e:?}") };
        assert_eq!((at.key.as_str(), at.line), (key, line), "{text}");
    }

    let e = err(&contacts_table("channel = \"c\"\nrecord = \"r\"\nat = \"t\"\ndelimiter = \"||\""));
    let MappingError::BadDelimiter { at, delimiter } = &e else { panic!("{e:?}") };
    assert_eq!(
        (delimiter.as_str(), at.line, at.touch),
        ("||", 15, Some((TouchTable::Contacts, 1)))
    );

    let e = err(&format!(
        "{SOURCES}[[consent]]\nsource = \"crm\"\npath = \"consent.xlsx\"\nrecord = \"r\"\n\
         channel_is = \"email\"\nstatus = \"s\"\nat = \"t\"\n"
    ));
    let MappingError::UnknownFormat { at, path } = &e else { panic!("{e:?}") };
    assert_eq!(
        (path.as_path(), at.line, at.source.as_deref()),
        (Path::new("/data/consent.xlsx"), 11, Some("crm"))
    );
}

/// A section is known by its source and its file's name: two tables of a kind may not read
/// one file, nor two directories' files of one name, into one source (a contacts export's ids
/// are made of the file's name). Events follow the same rule.
#[test]
fn tables_of_a_kind_are_known_by_source_and_file_name() {
    let contacts = |path: &str, source: &str| {
        format!(
            "[[contacts]]\nsource = \"{source}\"\npath = \"{path}\"\nrecord = \"r\"\n\
             channel_is = \"email\"\nat = \"t\"\n"
        )
    };
    let text = format!(
        "{SOURCES}{}{}{}",
        contacts("a/sends.csv", "crm"),
        contacts("a/sends.csv", "newsletter"),
        contacts("b/sends.csv", "crm")
    );
    let e = err(&text);
    let MappingError::DuplicateTouch { at, table, source_name, path } = &e else { panic!("{e:?}") };
    assert_eq!((*table, source_name.as_str()), (TouchTable::Contacts, "crm"));
    assert_eq!(path, Path::new("/data/b/sends.csv"));
    assert_eq!((at.line, at.column, at.touch), (23, 8, Some((TouchTable::Contacts, 3))));
    assert!(
        e.to_string().ends_with("another [[contacts]] table reads /data/b/sends.csv into \"crm\""),
        "{e}"
    );

    let consent = "[[consent]]\nsource = \"crm\"\npath = \"k.csv\"\nrecord = \"r\"\n\
                   channel_is = \"email\"\nstatus = \"s\"\nat = \"t\"\n";
    let e = err(&format!("{SOURCES}{consent}{consent}"));
    assert!(
        matches!(&e, MappingError::DuplicateTouch { table: TouchTable::Consent, at, .. }
            if at.touch == Some((TouchTable::Consent, 2))),
        "{e:?}"
    );
    // A consent table and a contacts table may read one file.
    let both = format!("{SOURCES}{consent}{}", contacts("k.csv", "crm"));
    assert!(Mapping::from_str(&both, "/data").is_ok());

    let events = |path: &str| {
        format!(
            "[[events]]\nsource = \"crm\"\npath = \"{path}\"\nrecord = \"r\"\n\
             kind_is = \"order\"\nat = \"t\"\n"
        )
    };
    let e = err(&format!("{SOURCES}{}{}", events("2025/orders.csv"), events("2026/orders.csv")));
    assert!(matches!(e, MappingError::DuplicateEvents { .. }), "{e:?}");
}

// --- reading the files -----------------------------------------------------------------------

const CRM: SourceId = SourceId::from_raw(1);

/// A mapping in `dir` with the error tests' two sources and `tables`.
fn mapping_in(dir: &Scratch, tables: &str) -> Mapping {
    Mapping::from_path(dir.write("mapping.toml", format!("{SOURCES}{tables}"))).unwrap()
}

fn read_consent(
    m: &Mapping,
    chunk: usize,
) -> Result<(Vec<ConsentInput>, TouchRead, Vec<usize>), MappingError> {
    let (mut items, mut sizes) = (Vec::new(), Vec::new());
    let read = m.consent()[0].read(CRM, chunk, |c| {
        sizes.push(c.len());
        items.extend_from_slice(c);
        Ok::<_, MappingError>(())
    })?;
    Ok((items, read, sizes))
}

fn read_contacts(
    m: &Mapping,
    chunk: usize,
) -> Result<(Vec<ContactInput>, TouchRead, Vec<usize>), MappingError> {
    let (mut items, mut sizes) = (Vec::new(), Vec::new());
    let read = m.contacts()[0].read(CRM, chunk, |c| {
        sizes.push(c.len());
        items.extend_from_slice(c);
        Ok::<_, MappingError>(())
    })?;
    Ok((items, read, sizes))
}

#[cfg(feature = "csv")]
#[test]
fn consent_rows_are_counted_per_reason() {
    let dir = Scratch::new("consent-rows");
    dir.write(
        "k.csv",
        "cid,via,st,ts\n\
         C1,email,granted,2026-06-01\n\
         ,email,granted,2026-06-01\n\
         C3,,granted,2026-06-01\n\
         C4,email,,2026-06-01\n\
         C5,email,maybe,2026-06-01\n\
         C6,email,Denied,\n\
         C7,email,denied,01-06-2026\n\
         \n\
         C8, PHONE , DENIED ,2026-06-02T10:00:00+02:00\n\
         C9,email,yes,2026-06-01\n",
    );
    let m = mapping_in(
        &dir,
        "[[consent]]\nsource = \"crm\"\npath = \"k.csv\"\nrecord = \"cid\"\nchannel = \"via\"\n\
         status = \"st\"\nat = \"ts\"\n",
    );
    let (items, read, sizes) = read_consent(&m, 1).unwrap();
    assert_eq!(
        items,
        [
            ConsentInput::granted(CRM, "C1", "email", time("2026-06-01")),
            ConsentInput::denied(CRM, "C8", "PHONE", time("2026-06-02T08:00:00Z")),
        ]
    );
    assert_eq!(sizes, [1, 1]);
    assert_eq!(
        (read.table, read.rows, read.items, read.n_skipped()),
        (TouchTable::Consent, 9, 2, 7)
    );
    use TouchRowProblem as P;
    let counts: Vec<(P, u64)> = read.skipped.iter().map(|(p, n)| (*p, *n)).collect();
    assert_eq!(
        counts,
        [
            (P::EmptyRecordId, 1),
            (P::EmptyChannel, 1),
            (P::EmptyTime, 1),
            (P::BadTime, 1),
            (P::EmptyStatus, 1),
            (P::UnknownStatus, 2),
        ]
    );
    let examples: Vec<(u64, P, &str)> =
        read.examples.iter().map(|e| (e.line, e.problem, e.value.as_str())).collect();
    assert_eq!(
        examples,
        [
            (3, P::EmptyRecordId, ""),
            (4, P::EmptyChannel, ""),
            (5, P::EmptyStatus, ""),
            (6, P::UnknownStatus, "maybe"),
            (7, P::EmptyTime, ""),
            (8, P::BadTime, "01-06-2026"),
            (11, P::UnknownStatus, "yes"),
        ],
        "the true lines, after the blank one"
    );
    assert_eq!(
        read.to_string(),
        "k.csv (\"crm\"): 9 rows, 2 statements, 7 skipped\n  no record id: 1 (line 3: \"\")\n  \
         no channel: 1 (line 4: \"\")\n  no time: 1 (line 7: \"\")\n  time does not parse: 1 \
         (line 8: \"01-06-2026\")\n  no status: 1 (line 5: \"\")\n  status is neither granted \
         nor denied: 2 (line 6: \"maybe\", line 11: \"yes\")"
    );
}

#[cfg(feature = "serde_json")]
#[test]
fn contacts_rows_in_json_lines_are_counted_per_reason() {
    let dir = Scratch::new("contacts-rows");
    dir.write(
        "s.jsonl",
        "{\"cid\":\"C1\",\"ch\":\"email\",\"ts\":\"2026-06-01\",\"camp\":\"spring\",\"tx\":false,\"sid\":17}\n\
         {\"cid\":\"C1\",\"ch\":\"email\",\"ts\":\"2026-06-02\",\"camp\":null,\"tx\":true,\"extra\":[1,{\"a\":2}]}\n\
         {\"cid\":\"C2\",\"ch\":\"email\",\"ts\":\"soon\",\"tx\":\"no\"}\n\
         {\"cid\":\"C2\",\"ch\":\"email\",\"ts\":\"2026-06-03\",\"tx\":\"receipt\"}\n\
         {\"cid\":\"C2\",\"ts\":\"2026-06-03\"}\n\
         {\"cid\":null,\"ch\":\"email\",\"ts\":\"2026-06-03\"}\n\
         {\"cid\":\"C3\",\"ch\":\"sms\",\"ts\":\"2026-06-04T08:00:00Z\",\"tx\":1,\"sid\":\"s-9\",\"camp\":\" \"}\n",
    );
    let m = mapping_in(
        &dir,
        "[[contacts]]\nsource = \"crm\"\npath = \"s.jsonl\"\nrecord = \"cid\"\nchannel = \"ch\"\n\
         at = \"ts\"\ncampaign = \"camp\"\ntransactional = \"tx\"\nid = \"sid\"\n",
    );
    let (items, read, sizes) = read_contacts(&m, 2).unwrap();
    assert_eq!(
        items,
        [
            ContactInput::new(CRM, "C1", "email", time("2026-06-01"))
                .with_campaign("spring")
                .with_id("17"),
            ContactInput::new(CRM, "C1", "email", time("2026-06-02")).transactional(),
            ContactInput::new(CRM, "C3", "sms", time("2026-06-04T08:00:00Z"))
                .transactional()
                .with_id("s-9"),
        ],
        "a reused contact keeps no campaign or id of the one before"
    );
    assert_eq!(sizes, [2, 1]);
    assert_eq!((read.rows, read.items), (7, 3));
    use TouchRowProblem as P;
    let examples: Vec<(u64, P, &str)> =
        read.examples.iter().map(|e| (e.line, e.problem, e.value.as_str())).collect();
    assert_eq!(
        examples,
        [
            (3, P::BadTime, "soon"),
            (4, P::BadTransactional, "receipt"),
            (5, P::EmptyChannel, ""),
            (6, P::EmptyRecordId, ""),
        ]
    );
    assert!(
        read.to_string()
            .contains("transactional is neither true nor false: 1 (line 4: \"receipt\")"),
        "{read}"
    );
}

#[cfg(all(feature = "csv", feature = "serde_json"))]
#[test]
fn malformed_files_stop_with_their_place() {
    let dir = Scratch::new("malformed");
    let consent = |path: &str| {
        format!(
            "[[consent]]\nsource = \"crm\"\npath = \"{path}\"\nrecord = \"cid\"\n\
             channel_is = \"email\"\nstatus = \"st\"\nat = \"ts\"\n"
        )
    };
    let m = mapping_in(&dir, &consent("missing.csv"));
    let e = read_consent(&m, 10).unwrap_err();
    assert!(matches!(&e, MappingError::OpenInput { file, .. } if file.ends_with("missing.csv")));

    dir.write("nocol.csv", "cid,status,ts\nC1,granted,2026-06-01\n");
    let m = mapping_in(&dir, &consent("nocol.csv"));
    let e = read_consent(&m, 10).unwrap_err();
    let MappingError::MissingConsentColumn {
        column, consent: table, source_name, key, header, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (column.as_str(), *table, source_name.as_str(), *key, header.len()),
        ("st", 1, "crm", "status", 3)
    );
    assert!(
        e.to_string().ends_with(
            "no column \"st\" (mapped by [[consent]] #1 (\"crm\"), key `status`); the header has \
             columns \"cid\", \"status\", \"ts\""
        ),
        "{e}"
    );

    let m = mapping_in(
        &dir,
        "[[contacts]]\nsource = \"newsletter\"\npath = \"nocol.csv\"\nrecord = \"cid\"\n\
         channel_is = \"email\"\nat = \"ts\"\nid = \"send\"\n",
    );
    let e = read_contacts(&m, 10).unwrap_err();
    assert!(
        e.to_string()
            .contains("no column \"send\" (mapped by [[contacts]] #1 (\"newsletter\"), key `id`)"),
        "{e}"
    );
    assert!(matches!(e, MappingError::MissingContactsColumn { contacts: 1, .. }), "{e:?}");

    dir.write("fields.csv", "cid,st,ts\nC1,granted,2026-06-01\nC2,granted\n");
    let m = mapping_in(&dir, &consent("fields.csv"));
    let mut handed = 0;
    let e = m.consent()[0]
        .read(CRM, 1, |c| {
            handed += c.len();
            Ok::<_, MappingError>(())
        })
        .unwrap_err();
    assert!(matches!(e, MappingError::FieldCount { line: 3, expected: 3, found: 2, .. }), "{e:?}");
    assert_eq!(handed, 1, "the chunk before the bad row was handed on");

    dir.write(
        "bad.jsonl",
        "{\"cid\":\"C1\",\"st\":\"granted\",\"ts\":\"2026-06-01\"}\n{\"cid\": }\n",
    );
    let m = mapping_in(
        &dir,
        "[[contacts]]\nsource = \"crm\"\npath = \"bad.jsonl\"\nrecord = \"cid\"\n\
         channel_is = \"email\"\nat = \"ts\"\n",
    );
    let e = read_contacts(&m, 10).unwrap_err();
    assert!(matches!(e, MappingError::InvalidJson { line: 2, column: 9, .. }), "{e:?}");
    dir.write("bad.jsonl", "{\"cid\":[\"C1\"],\"ts\":\"2026-06-01\"}\n");
    let e = read_contacts(&m, 10).unwrap_err();
    assert!(
        matches!(&e, MappingError::UnexpectedValue { line: 1, field, found: "an array", .. } if field == "cid"),
        "{e:?}"
    );
}

// --- run and apply ---------------------------------------------------------------------------

/// Ann (crm C-1, newsletter N-1), Bob (C-2, N-2) and Cas (C-3): the newsletter's consent
/// statements, the CRM's own consent by channel, and the CRM's send log.
#[cfg(feature = "csv")]
fn three_customers(dir: &Scratch) -> Mapping {
    dir.write("c.csv", "id,email\nC-1,ann@example.nl\nC-2,bob@example.nl\nC-3,cas@example.nl\n");
    dir.write("n.csv", "id,email\nN-1,ann@example.nl\nN-2,bob@example.nl\n");
    dir.write(
        "optins.csv",
        "sid,status,at\nN-1,granted,2026-01-01\nN-2,granted,2026-01-01\nN-2,denied,2026-02-01\n",
    );
    dir.write(
        "prefs.csv",
        "cid,channel,status,at\nC-1,email,granted,2025-12-01\nC-3,phone,denied,2025-12-01\n",
    );
    dir.write(
        "sends.csv",
        "cid,channel,at,campaign,receipt,send\n\
         C-1,newsletter,2026-06-01,digest,no,s1\n\
         C-1,newsletter,2026-06-03,digest,no,s2\n\
         C-1,email,2026-06-04,,yes,s3\n\
         C-2,newsletter,2026-06-01,digest,no,s4\n",
    );
    let text = "default_country = \"NL\"\n\
        [[source]]\nname = \"crm\"\npath = \"c.csv\"\nid = \"id\"\nkeys = { email = \"email\" }\n\
        [[source]]\nname = \"newsletter\"\npath = \"n.csv\"\nid = \"id\"\nkeys = { email = \"email\" }\n\
        [[consent]]\nsource = \"newsletter\"\npath = \"optins.csv\"\nrecord = \"sid\"\n\
        channel_is = \"newsletter\"\nstatus = \"status\"\nat = \"at\"\n\
        [[consent]]\nsource = \"crm\"\npath = \"prefs.csv\"\nrecord = \"cid\"\nchannel = \"channel\"\n\
        status = \"status\"\nat = \"at\"\n\
        [[contacts]]\nsource = \"crm\"\npath = \"sends.csv\"\nrecord = \"cid\"\nchannel = \"channel\"\n\
        at = \"at\"\ncampaign = \"campaign\"\ntransactional = \"receipt\"\nid = \"send\"\n";
    Mapping::from_path(dir.write("mapping.toml", text)).unwrap()
}

/// A customer's consent on each of `channels`, and its contacts (transactional ones apart).
fn touches(r: &Resolver, customer: CustomerId, channels: &[&str]) -> (Vec<String>, usize, usize) {
    let consent = channels.iter().map(|c| r.consent(customer, c).unwrap().to_string()).collect();
    let contacts = r.customer_contacts(customer).unwrap();
    let transactional = contacts.iter().filter(|c| c.transactional).count();
    (consent, contacts.len() - transactional, transactional)
}

#[cfg(feature = "csv")]
#[test]
fn run_loads_consent_and_contacts_onto_the_right_customers() {
    let dir = Scratch::new("run");
    let mapping = three_customers(&dir);
    let run = mapping.run(100, |_| {}).unwrap();
    let r = &run.resolver;
    let (crm, newsletter) = (r.source_id("crm").unwrap(), r.source_id("newsletter").unwrap());
    let ann = r.customer_of(crm, "C-1").unwrap();
    let bob = r.customer_of(crm, "C-2").unwrap();
    let cas = r.customer_of(crm, "C-3").unwrap();
    assert_eq!(r.customer_of(newsletter, "N-1"), Some(ann));
    let channels = ["newsletter", "email", "phone"];
    let at = |t: &str| format!("{}", time(t));
    assert_eq!(
        touches(r, ann, &channels),
        (
            vec![
                format!(
                    "granted by source {} record N-1 at {}",
                    newsletter.get(),
                    at("2026-01-01")
                ),
                format!("granted by source {} record C-1 at {}", crm.get(), at("2025-12-01")),
                "unknown".to_string(),
            ],
            2,
            1
        )
    );
    let bobs = touches(r, bob, &channels);
    assert_eq!(
        bobs.0[0],
        format!("denied by source {} record N-2 at {}", newsletter.get(), at("2026-02-01")),
        "the latest statement of N-2"
    );
    assert_eq!((bobs.1, bobs.2), (1, 0));
    assert_eq!(
        touches(r, cas, &channels).0[2],
        format!("denied by source {} record C-3 at {}", crm.get(), at("2025-12-01"))
    );
    assert_eq!(touches(r, cas, &channels).1, 0);

    // The rules read them: Ann had two newsletters in the week, Bob said no.
    let june_5 = time("2026-06-05");
    let ann_may = r.may_contact(ann, "newsletter", june_5).unwrap();
    assert!(ann_may.to_string().starts_with("no: at most 2 per channel in 7 days"), "{ann_may}");
    assert!(r.may_contact(ann, "email", june_5).unwrap().is_yes(), "receipts are not counted");
    assert!(!r.may_contact(bob, "newsletter", june_5).unwrap().is_yes());

    assert_eq!(run.consent.files.len(), 2);
    assert_eq!((run.consent.report.accepted, run.consent.report.n_rejected()), (5, 0));
    assert_eq!((run.contacts.report.accepted, run.contacts.removed), (4, 0));
    let summary = run.summary().to_string();
    for line in [
        "\noptins.csv (\"newsletter\"): 3 rows, 3 statements, 0 skipped\n\
         prefs.csv (\"crm\"): 2 rows, 2 statements, 0 skipped\n\
         consent statements stored: 5, already held: 0\n",
        "\nsends.csv (\"crm\"): 4 rows, 4 contacts, 0 skipped\n\
         contacts stored: 4, replacing one held: 0, removed: 0\n",
    ] {
        assert!(summary.contains(line), "{line}\nnot in\n{summary}");
    }
}

/// What a state holds of the three customers: consent statements and contacts per customer.
fn held(r: &Resolver) -> Vec<(usize, usize)> {
    let crm = r.source_id("crm").unwrap();
    ["C-1", "C-2", "C-3"]
        .iter()
        .map(|id| {
            let c = r.customer_of(crm, id).unwrap();
            (r.customer_consents(c).unwrap().len(), r.customer_contacts(c).unwrap().len())
        })
        .collect()
}

#[cfg(feature = "csv")]
#[test]
fn applied_twice_each_statement_and_contact_is_held_once() {
    use idstitch::{Durable, DurableOptions};
    let dir = Scratch::new("apply-twice");
    let mapping = three_customers(&dir);
    let state_dir = dir.0.join("state");
    let builder = mapping.resolver_builder();
    let open = || Durable::open_with(&state_dir, &builder, DurableOptions::default()).unwrap();
    let mut state = open();
    let first = mapping.apply(&mut state, 100, |_| {}).unwrap();
    let (c, t) = (&first.consent.report, &first.contacts.report);
    assert_eq!((c.accepted, c.replaced, t.accepted, t.replaced), (5, 0, 4, 0));
    assert_eq!(held(&state), [(2, 3), (2, 1), (1, 0)]);
    let journal = state.journal_len();

    let again = mapping.apply(&mut state, 100, |_| {}).unwrap();
    let (c, t) = (&again.consent.report, &again.contacts.report);
    assert_eq!((c.accepted, c.replaced, t.accepted, t.replaced), (5, 5, 4, 4));
    assert_eq!(held(&state), [(2, 3), (2, 1), (1, 0)], "each once");
    let summary = again.summary(&state).to_string();
    assert!(summary.contains("consent statements stored: 5, already held: 5\n"), "{summary}");
    assert!(
        summary.contains("contacts stored: 4, replacing one held: 4, removed: 0\n"),
        "{summary}"
    );
    // The statements were not journaled again; the contacts, replaced by id, were.
    let grown = state.journal_len() - journal;
    assert!(grown > 0 && grown < journal, "{grown} bytes after {journal}");

    // The send log grows by a row: one more contact, the rest replaced.
    let sends = std::fs::read_to_string(dir.0.join("sends.csv")).unwrap();
    dir.write("sends.csv", format!("{sends}C-3,email,2026-06-05,digest,no,s5\n"));
    let third = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!((third.contacts.report.accepted, third.contacts.report.replaced), (5, 4));
    assert_eq!(held(&state), [(2, 3), (2, 1), (1, 1)]);
    drop(state);
    let state = open();
    assert_eq!(held(&state), [(2, 3), (2, 1), (1, 1)], "restored from the journal");
}

/// A state loaded twice with consent only: the second load journals nothing at all.
#[cfg(feature = "csv")]
#[test]
fn consent_loaded_again_journals_nothing() {
    use idstitch::{Durable, DurableOptions};
    let dir = Scratch::new("consent-journal");
    dir.write("c.csv", "id\nC-1\nC-2\n");
    dir.write("prefs.csv", "cid,channel,status,at\nC-1,email,granted,2026-01-01\nC-2,email,denied,2026-01-01\nC-9,email,granted,2026-01-01\n");
    let mapping = Mapping::from_path(dir.write(
        "mapping.toml",
        "[[source]]\nname = \"crm\"\npath = \"c.csv\"\nid = \"id\"\n[[consent]]\nsource = \"crm\"\n\
         path = \"prefs.csv\"\nrecord = \"cid\"\nchannel = \"channel\"\nstatus = \"status\"\nat = \"at\"\n",
    ))
    .unwrap();
    let builder = mapping.resolver_builder();
    let mut state =
        Durable::open_with(dir.0.join("state"), &builder, DurableOptions::default()).unwrap();
    let first = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!(first.consent.report.accepted, 3, "C-9's statement waits for its record");
    let journal = state.journal_len();
    let again = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!((again.consent.report.accepted, again.consent.report.replaced), (3, 3));
    assert_eq!(state.journal_len(), journal, "nothing journaled");
    drop(state);
    let state =
        Durable::open_with(dir.0.join("state"), &builder, DurableOptions::default()).unwrap();
    // A source, a load of two records (a chunk and its commit), three statements.
    assert_eq!(state.recovery().entries_replayed, 6);
    let crm = state.source_id("crm").unwrap();
    let c2 = state.customer_of(crm, "C-2").unwrap();
    assert_eq!(state.consent(c2, "email").unwrap().state, ConsentState::Denied);
}

/// A contacts section without an `id` column is a full export: loaded again it replaces its
/// contacts in place, and a shorter file removes the contacts past its end. A contact the
/// state refuses (a channel over 1,024 bytes) takes no position, so it leaves no gap.
#[cfg(feature = "csv")]
#[test]
fn a_contacts_export_without_ids_that_shrinks_removes_the_missing_ones() {
    use idstitch::{Durable, DurableOptions};
    let dir = Scratch::new("apply-export");
    dir.write("c.csv", "id,email\nC-1,ann@example.nl\nC-2,bob@example.nl\n");
    let export = |rows: &[String]| format!("cid,channel,at\n{}\n", rows.join("\n"));
    let long = "x".repeat(1025);
    let rows = [
        "C-1,email,2026-06-01".to_string(),
        format!("C-1,{long},2026-06-02"),
        "C-1,email,2026-06-03".to_string(),
        "C-2,email,2026-06-01".to_string(),
        "C-2,phone,2026-06-02".to_string(),
    ];
    dir.write("sends.csv", export(&rows));
    let mapping = Mapping::from_path(dir.write(
        "mapping.toml",
        "[[source]]\nname = \"crm\"\npath = \"c.csv\"\nid = \"id\"\n[[contacts]]\nsource = \"crm\"\n\
         path = \"sends.csv\"\nrecord = \"cid\"\nchannel = \"channel\"\nat = \"at\"\n",
    ))
    .unwrap();
    let state_dir = dir.0.join("state");
    let builder = mapping.resolver_builder();
    let open = || Durable::open_with(&state_dir, &builder, DurableOptions::default()).unwrap();
    let counts = |state: &Durable| -> Vec<usize> {
        let crm = state.source_id("crm").unwrap();
        ["C-1", "C-2"]
            .iter()
            .map(|id| state.customer_contacts(state.customer_of(crm, id).unwrap()).unwrap().len())
            .collect()
    };
    let mut state = open();
    let first = mapping.apply(&mut state, 100, |_| {}).unwrap();
    let report = &first.contacts.report;
    assert_eq!((report.accepted, report.replaced, report.n_rejected()), (4, 0, 1));
    assert_eq!(counts(&state), [2, 2]);
    let again = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!((again.contacts.report.accepted, again.contacts.report.replaced), (4, 4));
    assert_eq!((again.contacts.removed, counts(&state)), (0, vec![2, 2]), "a reload counts once");

    // Bob's phone call and Ann's second e-mail leave the export.
    dir.write("sends.csv", export(&rows[..2]));
    let shrunk = mapping.apply(&mut state, 100, |_| {}).unwrap();
    assert_eq!(shrunk.contacts.removed, 3, "every position past the end, none left at a gap");
    assert_eq!(counts(&state), [1, 0]);
    assert!(shrunk.summary(&state).to_string().contains(", removed: 3\n"));
    drop(state);
    let state = open();
    assert_eq!(counts(&state), [1, 0], "the removals were journaled");
}

// --- the sample ------------------------------------------------------------------------------

/// The sample's consent and contacts files: every row a statement or contact on a record the
/// sample's sources hold, loaded onto the customers those records belong to.
#[cfg(all(
    feature = "csv",
    feature = "serde_json",
    feature = "sqlite",
    feature = "mbox",
    feature = "ga4"
))]
#[test]
fn the_samples_touchpoints_belong_to_its_records() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/publisher.toml");
    let mapping = Mapping::from_path(&path).unwrap();
    let run = mapping.run(512, |_| {}).unwrap();
    let r = &run.resolver;
    let [consent] = mapping.consent() else { panic!("one consent table") };
    let [contacts] = mapping.contacts() else { panic!("one contacts table") };
    assert_eq!(consent.channel, ChannelFrom::Fixed("newsletter".into()));
    assert!(contacts.has_ids());

    let newsletter = r.source_id(&consent.source).unwrap();
    let read = consent
        .read(newsletter, 4, |chunk| {
            for s in chunk {
                assert!(r.customer_of(newsletter, &s.external_id).is_some(), "{s:?}");
            }
            Ok::<_, MappingError>(())
        })
        .unwrap();
    assert_eq!((read.rows, read.items, read.n_skipped()), (12, 12, 0), "{read}");
    let crm = r.source_id(&contacts.source).unwrap();
    let read = contacts
        .read(crm, 4, |chunk| {
            for c in chunk {
                assert!(r.customer_of(crm, &c.external_id).is_some(), "{c:?}");
            }
            Ok::<_, MappingError>(())
        })
        .unwrap();
    assert_eq!((read.rows, read.items, read.n_skipped()), (10, 10, 0), "{read}");

    assert_eq!((run.consent.report.accepted, run.consent.report.n_rejected()), (12, 0));
    assert_eq!((run.contacts.report.accepted, run.contacts.report.n_rejected()), (10, 0));
    // Chantal's CRM record and her subscription are one customer: her grant counts for her,
    // and the CRM's sends to her are hers.
    let chantal = r.customer_of(crm, "C0000146").unwrap();
    assert_eq!(r.customer_of(newsletter, "nl-10000096"), Some(chantal));
    let consent = r.consent(chantal, "newsletter").unwrap();
    assert_eq!(consent.state, ConsentState::Granted);
    assert_eq!(
        consent.decided_by,
        Some((newsletter, "nl-10000096".into(), time("2025-09-01T08:00:00Z")))
    );
    assert_eq!(touches(r, chantal, &[]), (vec![], 2, 1));
    // W. de Bruijn subscribed, then withdrew: the later statement decides.
    let wim = r.customer_of(crm, "C0000198").unwrap();
    assert_eq!(r.customer_of(newsletter, "nl-10000016"), Some(wim));
    let consent = r.consent(wim, "newsletter").unwrap();
    assert_eq!(
        (consent.state, consent.decided_by.map(|d| d.2)),
        (ConsentState::Denied, Some(time("2026-03-04T12:00:00Z")))
    );
    assert!(!r.may_contact(wim, "newsletter", time("2026-06-30")).unwrap().is_yes());
}
