//! Mailboxes as mapping sources (`format = "mbox"`): a hand-written mailbox whose expected
//! records and events are read off the text below by hand — encoded names (Q and B, UTF-8
//! and ISO-8859-1), the owner excluded in any case, Cc and Reply-To, a message without Date,
//! one that does not parse, a quoted `>From ` body line, a folder of mailboxes, and a state
//! loaded twice.
#![cfg(feature = "mbox")]

use idstitch::behaviour::EventKind;
use idstitch::mapping::{EventRowProblem, InputFormat, Mapping, MappingError};
use idstitch::{Durable, DurableOptions, Resolver, Timestamp};

mod support;

use support::Scratch;

/// Messages 1 and 2: Anna (the owner) and Jürgen, with René in Cc and an office Reply-To.
/// Message 1's body holds a quoted `>From ` line: unquoted, it would start a sixth message.
const FIRST: &str = "From anna@publisher.nl Tue Jul  1 10:00:00 2025
From: Anna de Vries <Anna@Publisher.NL>
To: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
Cc: =?ISO-8859-1?B?UmVu6Q==?= <rene@example.fr>
Date: Tue, 1 Jul 2025 10:00:00 +0200
Subject: Renewal

Hello,
>From the desk of Anna: a quoted line.
regards

From juergen@example.de Wed Jul  2 09:00:00 2025
From: JUERGEN@example.de
To: anna@publisher.nl
Reply-To: Office <office@example.de>
Date: Wed, 2 Jul 2025 09:00:00 +0000
Subject: Re: Renewal

Thanks.
";

/// Messages 3 to 5: one without Date (Piet), one with no header at all, and one from the
/// owner to herself (no correspondent).
const SECOND: &str = "From piet Thu Jul  3 00:00:00 2025
From: Piet <piet@example.nl>
To: anna@publisher.nl
Subject: No date here

Body.

From garbage Thu Jul  3 00:00:00 2025

only a body, no header at all

From anna@publisher.nl Fri Jul  4 00:00:00 2025
From: anna@publisher.nl
To: ANNA@publisher.nl
Date: Fri, 4 Jul 2025 12:00:00 +0000
Subject: Note to self

x
";

const MAPPING: &str = r#"
[[source]]
name = "mail"
format = "mbox"
path = "PATH"
owner = ["anna@publisher.nl"]
"#;

/// 2025-07-01 is day 20,270 after the epoch (2025-01-01 is day 20,089, plus 181 days).
const JULY_1: i64 = 20_270 * 86_400;

fn names(resolver: &Resolver) -> Vec<(String, Option<String>)> {
    let mail = resolver.source_id("mail").unwrap();
    let mut out: Vec<(String, Option<String>)> = resolver
        .assignments()
        .map(|(r, _)| {
            let name = resolver
                .record_attributes(mail, r.external_id)
                .unwrap()
                .find(|a| a.name == "name")
                .map(|a| a.value.to_string());
            (r.external_id.to_string(), name)
        })
        .collect();
    out.sort();
    out
}

fn expected_names() -> Vec<(String, Option<String>)> {
    [
        ("juergen@example.de", Some("Jürgen Müller")),
        ("office@example.de", Some("Office")),
        ("piet@example.nl", Some("Piet")),
        ("rene@example.fr", Some("René")),
    ]
    .into_iter()
    .map(|(a, n)| (a.to_string(), n.map(str::to_string)))
    .collect()
}

#[test]
fn a_mailbox_gives_its_correspondents_and_their_exchanges() {
    let dir = Scratch::new("file");
    dir.write("anna.mbox", format!("{FIRST}\n{SECOND}"));
    let mapping = Mapping::from_str(&MAPPING.replace("PATH", "anna.mbox"), &dir.0).unwrap();
    assert_eq!(mapping.sources()[0].input.format, InputFormat::Mbox);
    let run = mapping.run(2, |_| {}).unwrap();

    let report = &run.input.sources[0];
    assert_eq!(report.records_read, 5, "five messages: the quoted >From line splits nothing");
    assert_eq!(report.unparsed, 1);
    assert_eq!(report.bad_timestamps, 1, "Piet's message has no Date");
    assert_eq!(names(&run.resolver), expected_names());
    assert_eq!(run.resolver.n_customers(), 4);

    let events = &run.events[0];
    assert_eq!((events.rows, events.events), (5, 4));
    let skipped: Vec<(EventRowProblem, u64)> =
        events.skipped.iter().map(|(p, n)| (*p, *n)).collect();
    assert_eq!(
        skipped,
        [
            (EventRowProblem::EmptyRecordId, 1),
            (EventRowProblem::EmptyTime, 1),
            (EventRowProblem::Unparseable, 1)
        ]
    );
    let mail = run.sources[0];
    let juergen = run.resolver.customer_of(mail, "juergen@example.de").unwrap();
    let mut got: Vec<(EventKind, i64, Option<String>, Option<String>)> = run
        .resolver
        .customer_events(juergen)
        .unwrap()
        .iter()
        .map(|e| (e.kind, e.at.0, e.topic.map(str::to_string), e.channel.map(str::to_string)))
        .collect();
    got.sort();
    let email = Some("email".to_string());
    assert_eq!(
        got,
        [
            (EventKind::EMAIL_EXCHANGE, JULY_1 + 8 * 3600, Some("Renewal".into()), email.clone()),
            (
                EventKind::EMAIL_EXCHANGE,
                JULY_1 + 86_400 + 9 * 3600,
                Some("Re: Renewal".into()),
                email
            ),
        ]
    );
    let piet = run.resolver.customer_of(mail, "piet@example.nl").unwrap();
    assert!(run.resolver.customer_events(piet).unwrap().is_empty());
    assert!(run.resolver.customer_of(mail, "anna@publisher.nl").is_none());
}

#[test]
fn the_latest_dated_name_wins() {
    let dir = Scratch::new("names");
    let text = "From a Mon Jan  6 00:00:00 2025
From: Old Name <p@example.nl>
Date: Mon, 6 Jan 2025 00:00:00 +0000

From b Mon Jan  6 00:00:00 2025
From: Undated Name <p@example.nl>

From c Mon Jan  6 00:00:00 2025
From: New Name <p@example.nl>
Date: Tue, 7 Jan 2025 00:00:00 +0000

From d Mon Jan  6 00:00:00 2025
From: Older Name <p@example.nl>
Date: Sun, 5 Jan 2025 00:00:00 +0000
";
    dir.write("p.mbox", text);
    let run = Mapping::from_str(&MAPPING.replace("PATH", "p.mbox"), &dir.0)
        .unwrap()
        .run(8, |_| {})
        .unwrap();
    let mail = run.sources[0];
    let name: Vec<(String, Option<Timestamp>)> = run
        .resolver
        .record_attributes(mail, "p@example.nl")
        .unwrap()
        .map(|a| (a.value.to_string(), a.observed_at))
        .collect();
    // 2025-01-07 is day 20,095 after the epoch.
    assert_eq!(name, [("New Name".to_string(), Some(Timestamp(20_095 * 86_400)))]);
}

#[test]
fn a_folder_reads_its_files_in_name_order() {
    let dir = Scratch::new("folder");
    dir.write("mail/1-first.mbox", FIRST);
    dir.write("mail/2-second.mbox", SECOND);
    // Hidden files and sub-folders are not read.
    dir.write("mail/.hidden", "From x\nFrom: Hidden <hidden@example.nl>\n");
    dir.write("mail/sub/3.mbox", "From x\nFrom: Sub <sub@example.nl>\n");
    let mapping = Mapping::from_str(&MAPPING.replace("PATH", "mail"), &dir.0).unwrap();
    let run = mapping.run(1024, |_| {}).unwrap();
    assert_eq!(run.input.sources[0].records_read, 5);
    assert_eq!(names(&run.resolver), expected_names());
    assert_eq!(run.events[0].events, 4);
}

#[test]
fn a_state_loads_the_mailbox_once() {
    let dir = Scratch::new("state");
    dir.write("anna.mbox", format!("{FIRST}\n{SECOND}"));
    let mapping = Mapping::from_str(&MAPPING.replace("PATH", "anna.mbox"), &dir.0).unwrap();
    let run = mapping.run(1024, |_| {}).unwrap();
    let mut state = Durable::open_with(
        dir.0.join("state"),
        &mapping.resolver_builder(),
        DurableOptions::default(),
    )
    .unwrap();
    let first = mapping.apply(&mut state, 1024, |_| {}).unwrap();
    assert_eq!(first.added(), 4);
    assert_eq!(first.changes.event_report.accepted, 4);
    let again = mapping.apply(&mut state, 1024, |_| {}).unwrap();
    assert!(again.is_unchanged());
    let mail = first.sources[0];
    let juergen = state.customer_of(mail, "juergen@example.de").unwrap();
    assert_eq!(
        state.resolver().customer_events(juergen).unwrap().len(),
        2,
        "replaced, not doubled"
    );
    assert_eq!(names(state.resolver()), names(&run.resolver));
}

#[test]
fn format_keys_are_checked() {
    let err = |text: &str| Mapping::from_str(text, ".").unwrap_err();
    let mbox = "[[source]]\nname = \"mail\"\nformat = \"mbox\"\npath = \"m\"\n";
    assert!(matches!(
        err(&format!("{mbox}keys = {{ email = \"from\" }}\n")),
        MappingError::NotForFormat { format: InputFormat::Mbox, .. }
    ));
    assert!(matches!(
        err(&format!("{mbox}user_id_kind = \"customer_no\"\n")),
        MappingError::NotForFormat { .. }
    ));
    assert!(matches!(
        err(&format!("{mbox}mode = \"changes\"\n")),
        MappingError::NotForFormat { .. }
    ));
    assert!(matches!(
        err(&format!("{mbox}encoding = \"windows-1252\"\n")),
        MappingError::NotForFormat { .. }
    ));
    let xml = "[[source]]\nname = \"x\"\nformat = \"xml\"\npath = \"x.xml\"\n";
    let e = err(xml);
    assert!(matches!(e, MappingError::UnknownSourceFormat { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "<string>:3:10: [[source]] \"x\", key `format`: unknown format \"xml\" (expected \"mbox\" or \"ga4\")"
    );
    let csv_with_owner =
        "[[source]]\nname = \"crm\"\npath = \"crm.csv\"\nid = \"id\"\nowner = \"a@b.nl\"\n";
    assert!(matches!(
        err(csv_with_owner),
        MappingError::NotForFormat { format: InputFormat::Csv, .. }
    ));
    let csv_without_id = "[[source]]\nname = \"crm\"\npath = \"crm.csv\"\n";
    assert!(matches!(err(csv_without_id), MappingError::NoIdColumn { .. }));
    // The owners are kept lower-cased, once each.
    let mapping = Mapping::from_str(
        &format!("{mbox}owner = [\"Anna@Publisher.nl\", \"anna@publisher.NL\"]\n"),
        ".",
    )
    .unwrap();
    let Some(idstitch::mapping::FormatOptions::Mbox(options)) = &mapping.sources()[0].options
    else {
        panic!("a mailbox source")
    };
    assert_eq!(options.owners, ["anna@publisher.nl"]);
}

#[test]
fn a_missing_mailbox_is_an_open_error() {
    let dir = Scratch::new("missing");
    let mapping = Mapping::from_str(&MAPPING.replace("PATH", "none.mbox"), &dir.0).unwrap();
    let err = mapping.run(8, |_| {}).unwrap_err();
    assert!(matches!(err, MappingError::OpenInput { .. }), "{err}");
}
