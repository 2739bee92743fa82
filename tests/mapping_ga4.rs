//! GA4 daily exports as mapping sources (`format = "ga4"`): hand-written rows in the shape
//! of Google's "[GA4] BigQuery Export schema" (support.google.com/analytics/answer/7029846),
//! whose expected records and events are read off the rows by hand — number and string
//! timestamps, a missing `user_id`, a purchase with revenue, an unknown `event_name`, a row
//! without `user_pseudo_id`, a bad timestamp, the event table overridden, and a malformed line.
#![cfg(feature = "ga4")]

use idstitch::behaviour::EventKind;
use idstitch::mapping::{EventRowProblem, Mapping, MappingError};
use idstitch::{Durable, DurableOptions};

mod support;

use support::Scratch;

/// 2025-07-01T10:00:00Z: day 20,270 after the epoch, plus 10 hours.
const TEN: i64 = 20_270 * 86_400 + 10 * 3600;

/// Six rows and a blank line:
/// 1. a page view of pseudo id 111.222 (number timestamp, `user_id` null);
/// 2. a purchase by 111.222 logged in as C-1001 (string timestamp, revenue 59, item Atlas);
/// 3. a search by 333.444 (no `user_id` field at all);
/// 4. a `scroll` by 333.444: not in the default table;
/// 5. a row without `user_pseudo_id`;
/// 6. a page view by 555.666, also C-1001, whose timestamp is not a number.
fn export() -> String {
    let p = |key: &str, value: &str| {
        format!(
            r#"{{"key":"{key}","value":{{"string_value":"{value}","int_value":null,"float_value":null,"double_value":null}}}}"#
        )
    };
    let micros = |seconds: i64| seconds * 1_000_000;
    [
        format!(
            r#"{{"event_date":"20250701","event_timestamp":{},"event_name":"page_view","event_params":[{}],"user_pseudo_id":"111.222","user_id":null,"device":{{"category":"mobile"}},"geo":{{"country":"Netherlands"}}}}"#,
            micros(TEN),
            p("page_title", "Pensions explained")
        ),
        format!(
            r#"{{"event_date":"20250701","event_timestamp":"{}","event_name":"purchase","event_params":[{}],"user_pseudo_id":"111.222","user_id":"C-1001","device":{{"category":"desktop"}},"geo":{{"country":"Belgium"}},"ecommerce":{{"purchase_revenue":59.0,"transaction_id":"T1"}},"items":[{{"item_name":"Atlas"}}]}}"#,
            micros(TEN + 3600),
            p("page_title", "Thank you")
        ),
        format!(
            r#"{{"event_date":"20250701","event_timestamp":{},"event_name":"search","event_params":[{}],"user_pseudo_id":"333.444"}}"#,
            micros(TEN + 60),
            p("search_term", "mortgage")
        ),
        format!(
            r#"{{"event_date":"20250701","event_timestamp":{},"event_name":"scroll","event_params":[],"user_pseudo_id":"333.444"}}"#,
            micros(TEN + 120)
        ),
        format!(
            r#"{{"event_date":"20250701","event_timestamp":{},"event_name":"page_view","user_id":"C-2002"}}"#,
            micros(TEN)
        ),
        String::new(),
        r#"{"event_date":"20250701","event_timestamp":"soon","event_name":"page_view","user_pseudo_id":"555.666","user_id":"C-1001"}"#.to_string(),
    ]
    .join("\n")
}

const MAPPING: &str = r#"
[[source]]
name = "web"
format = "ga4"
path = "events_20250701.jsonl"
"#;

#[test]
fn an_export_gives_pseudo_ids_with_their_user_ids_and_events() {
    let dir = Scratch::new("export");
    dir.write("events_20250701.jsonl", export());
    let run = Mapping::from_str(MAPPING, &dir.0).unwrap().run(2, |_| {}).unwrap();
    let report = &run.input.sources[0];
    assert_eq!((report.records_read, report.empty_ids, report.bad_timestamps), (6, 1, 1));
    assert_eq!(run.resolver.n_records(), 3);
    let web = run.sources[0];
    let c = |id: &str| run.resolver.customer_of(web, id).unwrap();
    assert_eq!(c("111.222"), c("555.666"), "both logged in as C-1001");
    assert_ne!(c("111.222"), c("333.444"));
    assert_eq!(run.resolver.n_customers(), 2);

    let customer_no = run.resolver.kind_id("customer_no").unwrap();
    let cookie = run.resolver.kind_id("cookie").unwrap();
    // Keys are stored normalised: customer numbers lower-cased.
    let keys = run.resolver.record_keys(web, "111.222").unwrap();
    assert!(keys.contains(&(cookie, "111.222")) && keys.contains(&(customer_no, "c-1001")));
    assert_eq!(run.resolver.record_keys(web, "333.444").unwrap(), [(cookie, "333.444")]);
    let attributes: Vec<(String, String)> = run
        .resolver
        .record_attributes(web, "111.222")
        .unwrap()
        .map(|a| (a.name.to_string(), a.value.to_string()))
        .collect();
    let latest = [("device_category", "desktop"), ("country", "Belgium")];
    assert_eq!(attributes, latest.map(|(n, v)| (n.to_string(), v.to_string())), "the latest row's");

    let read = &run.events[0];
    assert_eq!((read.rows, read.events), (6, 3));
    let skipped: Vec<(EventRowProblem, u64)> = read.skipped.iter().map(|(p, n)| (*p, *n)).collect();
    assert_eq!(
        skipped,
        [
            (EventRowProblem::EmptyRecordId, 1),
            (EventRowProblem::UnknownKind, 1),
            (EventRowProblem::BadTime, 1)
        ]
    );
    assert!(read.to_string().contains("unknown event kind: 1 (line 4: \"scroll\")"), "{read}");
    assert!(read.to_string().contains("time does not parse: 1 (line 7: \"soon\")"), "{read}");

    let mut events: Vec<(EventKind, i64, Option<String>, f64)> = run
        .resolver
        .customer_events(c("111.222"))
        .unwrap()
        .iter()
        .map(|e| (e.kind, e.at.0, e.topic.map(str::to_string), e.value))
        .collect();
    events.sort_by_key(|e| e.1);
    assert_eq!(
        events,
        [
            (EventKind::PAGE_VIEW, TEN, Some("Pensions explained".to_string()), 0.0),
            (EventKind::ORDER, TEN + 3600, Some("Atlas".to_string()), 59.0),
        ]
    );
    let search = run.resolver.customer_events(c("333.444")).unwrap();
    assert_eq!(search.len(), 1);
    assert_eq!((search[0].kind, search[0].topic), (EventKind::SEARCH, Some("mortgage")));
    assert_eq!(search[0].channel, Some("web"));
}

#[test]
fn the_event_table_and_user_id_kind_are_configurable() {
    let dir = Scratch::new("config");
    dir.write("events_20250701.jsonl", export());
    let text = format!(
        "{MAPPING}user_id_kind = \"account\"\nevents = {{ scroll = \"page_view\", purchase = \"\" }}\n\
         [kinds.account]\nnormalizer = \"customer_no\"\n"
    );
    let run = Mapping::from_str(&text, &dir.0).unwrap().run(64, |_| {}).unwrap();
    let web = run.sources[0];
    let account = run.resolver.kind_id("account").unwrap();
    assert!(run.resolver.record_keys(web, "555.666").unwrap().contains(&(account, "c-1001")));
    let read = &run.events[0];
    // The scroll is now a page view; the purchase is no longer mapped.
    assert_eq!(read.events, 3);
    assert!(read.to_string().contains("unknown event kind: 1 (line 2: \"purchase\")"), "{read}");

    // A kind neither built in nor declared is a mistake in the mapping: refused when it is
    // parsed, naming the source and the key, before any row is read.
    let webinar = format!("{MAPPING}events = {{ page_view = \"webinar\" }}\n");
    let err = Mapping::from_str(&webinar, &dir.0).unwrap_err();
    assert!(matches!(&err, MappingError::UnknownEventKind { kind, .. } if kind == "webinar"));
    assert!(
        err.to_string().ends_with(
            ":6:24: [[source]] \"web\", key `events.page_view`: unknown event kind \"webinar\" \
             (not built in and not declared under [event_kinds])"
        ),
        "{err}"
    );
    // Declared, it reads: the page view of line 1 is a webinar (line 7's time does not
    // parse), and with the purchase and the search that makes three events.
    let after = format!("{webinar}[event_kinds]\nwebinar = \"engagement\"\n");
    assert!(Mapping::from_str(&after, ".").is_ok(), "declared below the source is declared too");
    let declared = format!("[event_kinds]\nwebinar = \"engagement\"\n{webinar}");
    let run = Mapping::from_str(&declared, &dir.0).unwrap().run(64, |_| {}).unwrap();
    let read = &run.events[0];
    assert_eq!(read.events, 3, "{read}");
    assert!(!read.to_string().contains("webinar"), "{read}");
    let web = run.sources[0];
    let webinar_kind = run.resolver.event_kinds().lookup("webinar").unwrap();
    let customer = run.resolver.customer_of(web, "111.222").unwrap();
    assert!(run.resolver.customer_events(customer).unwrap().iter().any(|e| e.kind == webinar_kind));

    let unknown = format!("{MAPPING}user_id_kind = \"acount\"\n");
    assert!(matches!(
        Mapping::from_str(&unknown, ".").unwrap_err(),
        MappingError::UnknownKind { .. }
    ));
}

#[test]
fn a_malformed_line_names_its_file_and_line() {
    let dir = Scratch::new("malformed");
    let text = format!("{}\n{{\"event_name\": \"page_view\", \"user_pseudo_id\": \n", export());
    let file = dir.write("events_20250701.jsonl", text);
    let err = Mapping::from_str(MAPPING, &dir.0).unwrap().run(64, |_| {}).unwrap_err();
    match &err {
        MappingError::InvalidJson { file: f, line, .. } => assert_eq!((f, *line), (&file, 8)),
        other => panic!("{other}"),
    }
    let wrong_type = "{\"event_name\": 7, \"user_pseudo_id\": \"1\"}\n";
    dir.write("events_20250701.jsonl", wrong_type);
    let err = Mapping::from_str(MAPPING, &dir.0).unwrap().run(64, |_| {}).unwrap_err();
    assert!(matches!(err, MappingError::InvalidJson { line: 1, .. }), "{err}");
}

#[test]
fn a_state_loads_the_export_once() {
    let dir = Scratch::new("state");
    dir.write("events_20250701.jsonl", export());
    let mapping = Mapping::from_str(MAPPING, &dir.0).unwrap();
    let mut state = Durable::open_with(
        dir.0.join("state"),
        &mapping.resolver_builder(),
        DurableOptions::default(),
    )
    .unwrap();
    let first = mapping.apply(&mut state, 1024, |_| {}).unwrap();
    assert_eq!((first.added(), first.changes.event_report.accepted), (3, 3));
    let again = mapping.apply(&mut state, 1024, |_| {}).unwrap();
    assert!(again.is_unchanged());
    let web = first.sources[0];
    let c = state.customer_of(web, "111.222").unwrap();
    assert_eq!(state.resolver().customer_events(c).unwrap().len(), 2, "replaced, not doubled");
}

/// A folder of daily exports, read in name order: a visitor anonymous on the first day who
/// logs in on the second is one record with both keys, emitted once.
#[test]
fn a_folder_of_days_gives_one_record_per_visitor() {
    let dir = Scratch::new("folder");
    std::fs::create_dir_all(dir.0.join("days")).unwrap();
    let row = |at: i64, user: &str| {
        format!(
            r#"{{"event_timestamp":{},"event_name":"page_view","user_pseudo_id":"9.9","user_id":{user}}}"#,
            at * 1_000_000
        )
    };
    dir.write("days/events_20250701.jsonl", row(TEN, "null"));
    dir.write("days/events_20250702.jsonl", row(TEN + 86_400, "\"C-7\""));
    let text = MAPPING.replace("events_20250701.jsonl", "days");
    let run = Mapping::from_str(&text, &dir.0).unwrap().run(64, |_| {}).unwrap();
    assert_eq!(run.input.sources[0].records_read, 2);
    assert_eq!(run.resolver.n_records(), 1);
    let web = run.sources[0];
    let cookie = run.resolver.kind_id("cookie").unwrap();
    let customer_no = run.resolver.kind_id("customer_no").unwrap();
    let mut keys = run.resolver.record_keys(web, "9.9").unwrap();
    keys.sort_unstable();
    let mut expected = [(cookie, "9.9"), (customer_no, "c-7")];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(run.events[0].events, 2);
}
