//! The `idstitch` program, run as a user would on the sample mapping: its CSV agrees with the
//! library, its answers name real records, and every mistake is one line on stderr. With
//! `--state`, runs keep every customer id, changed exports and change feeds update the state,
//! and a run killed with SIGKILL part-way is finished by the next one.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use idstitch::mapping::{MappedRun, Mapping};
use idstitch::CustomerId;

/// Two records of one customer in the sample data (the web record's id is a cookie).
const CRM: &str = "crm:C0000263";
const WEB: &str = "web:7001826346.1678112436";
/// A record of another customer.
const OTHER: &str = "crm:C0000146";

fn mapping() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/publisher.toml")
}

/// The sample resolved by the library, once.
fn library() -> &'static MappedRun {
    static RUN: OnceLock<MappedRun> = OnceLock::new();
    RUN.get_or_init(|| {
        Mapping::from_path(mapping()).and_then(|m| m.run(4096, |_| {})).expect("sample resolves")
    })
}

/// The customer the library gives `SOURCE:ID`.
fn customer(record: &str) -> CustomerId {
    let (source, id) = record.split_once(':').expect("SOURCE:ID");
    let resolver = &library().resolver;
    let source = resolver.source_id(source).expect("known source");
    resolver.customer_of(source, id).expect("known record")
}

fn idstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idstitch")).args(args).output().expect("the binary runs")
}

fn with_mapping(command: &str, rest: &[&str]) -> Output {
    let mapping = mapping();
    let mut args = vec![command, mapping.to_str().expect("UTF-8 path")];
    args.extend_from_slice(rest);
    idstitch(&args)
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// Asserts the run failed with `code` and one line on stderr, and returns that line.
fn one_line_failure(out: &Output, code: i32) -> String {
    assert_eq!(out.status.code(), Some(code), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr:?}");
    assert!(stderr.starts_with("idstitch: "), "{stderr:?}");
    stderr.trim_end().to_string()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).expect("temp file written");
    path
}

/// Reads `source,record_id,customer_id` rows, checking the header.
fn assignments(csv_text: &str) -> Vec<(String, String, CustomerId)> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().expect("a header").clone();
    assert_eq!(header.iter().collect::<Vec<_>>(), ["source", "record_id", "customer_id"]);
    reader
        .records()
        .map(|row| {
            let row = row.expect("a well-formed row");
            let customer: u64 = row[2].parse().expect("a customer id");
            (row[0].to_string(), row[1].to_string(), CustomerId::from_raw(customer))
        })
        .collect()
}

#[test]
fn resolve_writes_every_record_with_the_library_customer() {
    let out_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-customers.csv");
    let out = with_mapping("resolve", &["-o", out_file.to_str().expect("UTF-8 path")]);
    assert!(stdout(&out).is_empty(), "the CSV went to the file, not stdout");
    let rows = assignments(&std::fs::read_to_string(&out_file).expect("the CSV"));

    let resolver = &library().resolver;
    assert_eq!(rows.len(), resolver.n_records());
    // 1019 table rows, 62 correspondents in the mailbox and 70 GA4 visitors (sample/sources.rs).
    assert_eq!(rows.len(), 1151);
    let mut seen = std::collections::BTreeSet::new();
    for (source, id, customer) in &rows {
        assert!(seen.insert((source.clone(), id.clone())), "{source}:{id} twice");
        let source_id = resolver.source_id(source).expect("a mapped source");
        assert_eq!(resolver.customer_of(source_id, id), Some(*customer), "{source}:{id}");
    }

    let summary = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    let counts =
        format!("records: {}, customers: {}", resolver.n_records(), resolver.n_customers());
    assert!(summary.contains(&counts), "{summary}");
    // 578 customers of the table sources, plus 30 GA4 visitors who never log in, the two outside
    // correspondents and one family address the mailbox uses (it links nothing).
    assert!(summary.contains("records: 1151, customers: 611"), "{summary}");
    assert!(summary.contains("crm               231  email: 2 empty;"), "{summary}");
    assert!(summary.contains("legacy_crm         81  "), "{summary}");
    assert!(summary.contains("3 bad timestamps"), "{summary}");
    // Customers by the number of sources they span: they add up.
    let spans: Vec<(usize, usize)> = summary
        .lines()
        .filter_map(|line| line.strip_prefix("  spanning ")?.split_once(" source(s): "))
        .map(|(s, n)| (s.parse().expect("sources"), n.parse().expect("customers")))
        .collect();
    assert_eq!(spans.iter().map(|&(_, n)| n).sum::<usize>(), resolver.n_customers());
    let sample = customer(CRM);
    // Of the table sources, the sample's customer of CRM and WEB is in all seven.
    let mut tables: Vec<&str> = resolver
        .customer_records(sample)
        .into_iter()
        .flatten()
        .filter_map(|r| resolver.source_name(r.source))
        .filter(|s| !["mail", "shop_ga4"].contains(s))
        .collect();
    tables.sort_unstable();
    tables.dedup();
    assert_eq!(tables.len(), 7, "{tables:?}");
    // The largest customer: the first of the most records, in the library's customer order.
    let mut largest = None;
    for c in resolver.customers() {
        let size = resolver.customer_size(c).expect("a live customer");
        if largest.is_none_or(|(n, _)| size > n) {
            largest = Some((size, c));
        }
    }
    let (size, largest) = largest.expect("customers");
    assert!(summary.contains(&format!("largest customer: {largest} with {size} records")));
    let refused = resolver.refusal_stats().total();
    assert!(summary.contains(&format!("refused links: {refused}\n")), "{summary}");
    assert!(summary.contains("would break the full_name limit: "), "{summary}");
    assert!(summary.contains(&format!("wrote 1151 rows to {}", out_file.display())), "{summary}");
    // stderr is a pipe here: no progress bar.
    assert!(!summary.contains('\r') && !summary.contains("[#"), "{summary:?}");
}

#[test]
fn resolve_without_output_writes_the_csv_to_stdout() {
    let rows = assignments(&stdout(&with_mapping("resolve", &[])));
    assert_eq!(rows.len(), library().resolver.n_records());
    let web = rows.iter().find(|(s, id, _)| format!("{s}:{id}") == WEB).expect("the web record");
    assert_eq!(web.2, customer(CRM));
}

#[test]
fn explain_links_records_of_one_customer_and_parts_the_others() {
    let c = customer(CRM);
    assert_eq!(customer(WEB), c);
    let text = stdout(&with_mapping("explain", &[CRM, WEB]));
    assert!(text.starts_with(&format!("linked: both records are customer {c}, via\n")), "{text}");
    assert!(text.contains("crm/C0000263 --[email "), "{text}");
    assert!(text.contains("-- web/7001826346.1678112436"), "{text}");

    let text = stdout(&with_mapping("explain", &[CRM, OTHER]));
    let apart = format!("apart (customers {c} and {})", customer(OTHER));
    assert!(text.starts_with(&apart), "{text}");
}

#[test]
fn view_shows_the_customer_as_text_and_json() {
    let c = customer(CRM);
    let size = library().resolver.customer_size(c).expect("a live customer");
    let text = stdout(&with_mapping("view", &[WEB]));
    assert!(text.starts_with(&format!("customer {c}: {size} records\n")), "{text}");
    assert!(text.contains("\n  crm: C0000263\n"), "{text}");
    assert!(text.contains("\n  web: 7001826346.1678112436\n"), "{text}");
    assert!(text.contains("\n  email: theo.prins82@hotmail.com (crm/C0000263, "), "{text}");
    assert!(text.contains("\n  city: Leiden (crm/C0000263, "), "{text}");

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&with_mapping("view", &[CRM, "--json"]))).expect("JSON");
    assert_eq!(json["customer"], serde_json::json!(c.get()));
    assert_eq!(json["records"]["web"], serde_json::json!(["7001826346.1678112436"]));
    assert_eq!(json["attributes"]["city"]["value"], "Leiden");
    assert_eq!(json["attributes"]["city"]["provenance"]["source"], "crm");
}

#[test]
fn dot_draws_the_customer_to_stdout_or_a_file() {
    let c = customer(CRM);
    let text = stdout(&with_mapping("dot", &[CRM]));
    assert!(text.starts_with(&format!("graph \"customer {c}\" {{\n")), "{text}");
    assert!(text.contains("label=\"crm/C0000263\""), "{text}");
    assert!(text.contains("label=\"web/7001826346.1678112436\""), "{text}");
    assert!(text.trim_end().ends_with('}'), "{text}");

    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-customer.dot");
    let out = with_mapping("dot", &[WEB, "-o", file.to_str().expect("UTF-8 path")]);
    assert!(stdout(&out).is_empty());
    assert_eq!(std::fs::read_to_string(&file).expect("the DOT file"), text);
}

#[test]
fn a_missing_mapping_is_one_line_naming_it() {
    let line = one_line_failure(&idstitch(&["resolve", "no/such/mapping.toml"]), 1);
    assert!(line.contains("cannot read mapping file no/such/mapping.toml: "), "{line}");
}

#[test]
fn a_toml_syntax_error_is_one_line_with_file_line_and_column() {
    let path = temp_file("cli-syntax.toml", "default_country = \"NL\"\n[[source]\nname = 1\n");
    let path = path.to_str().expect("UTF-8 path");
    let line = one_line_failure(&idstitch(&["resolve", path]), 1);
    assert!(line.starts_with(&format!("idstitch: {path}:2:10: ")), "{line}");
}

#[test]
fn a_mapping_mistake_is_one_line_with_file_line_and_column() {
    let text = "[[source]]\nname = \"crm\"\npath = \"crm.csv\"\nid = \"id\"\n\
                keys = { emial = \"email\" }\n";
    let path = temp_file("cli-kind.toml", text);
    let path = path.to_str().expect("UTF-8 path");
    let line = one_line_failure(&idstitch(&["view", path, CRM]), 1);
    assert!(line.starts_with(&format!("idstitch: {path}:5:10: ")), "{line}");
    assert!(line.contains("unknown kind \"emial\""), "{line}");
}

#[test]
fn a_record_without_colon_is_one_line_naming_the_argument() {
    let line = one_line_failure(&with_mapping("view", &["crm-C0000263"]), 2);
    assert!(line.contains("'crm-C0000263'") && line.contains("SOURCE:ID"), "{line}");
    let line = one_line_failure(&with_mapping("explain", &[CRM, ":C0000263"]), 2);
    assert!(line.contains("':C0000263'"), "{line}");
}

#[test]
fn an_unknown_source_or_record_is_one_line_naming_the_argument() {
    let line = one_line_failure(&with_mapping("dot", &["shop:C0000263"]), 1);
    assert!(line.contains("shop:C0000263: unknown source \"shop\""), "{line}");
    assert!(line.contains("crm, legacy_crm, partner"), "{line}");
    let line = one_line_failure(&with_mapping("explain", &[CRM, "crm:C9:9"]), 1);
    assert!(line.contains("crm:C9:9: no record \"C9:9\" in source \"crm\""), "{line}");
}

// --- state directories -----------------------------------------------------------------------

/// A fresh, empty directory under the target's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// `idstitch resolve MAPPING --state DIR` with the CSV on stdout: the rows (sorted) and the
/// summary.
fn resolve_state(mapping: &Path, state: &Path) -> (Vec<(String, String, CustomerId)>, String) {
    let out = idstitch(&["resolve", path_str(mapping), "--state", path_str(state)]);
    let mut rows = assignments(&stdout(&out));
    rows.sort();
    (rows, String::from_utf8(out.stderr).expect("UTF-8 stderr"))
}

/// The summary's per-source line: added, updated, unchanged, removed.
fn tally_line(summary: &str, source: &str) -> Vec<u64> {
    let line = summary
        .lines()
        .skip_while(|l| !l.contains("added  updated"))
        .find(|l| l.split_whitespace().next() == Some(source))
        .unwrap_or_else(|| panic!("no tally for {source}: {summary}"));
    line.split_whitespace().skip(1).take(4).map(|n| n.parse().expect("a count")).collect()
}

#[test]
fn resolve_with_state_twice_keeps_every_customer_id() {
    let state = scratch("cli-state-sample");
    let (first, summary) = resolve_state(&mapping(), &state);
    assert_eq!(first.len(), 1151);
    for (source, id, customer) in &first {
        assert_eq!(*customer, self::customer(&format!("{source}:{id}")), "{source}:{id}");
    }
    assert!(
        summary.contains("records added: 1151, updated: 0, removed: 0; change events: 1\n"),
        "{summary}"
    );
    assert!(summary.contains("records: 1151, customers: 611"), "{summary}");
    assert!(summary.contains("state "), "{summary}");

    let (second, summary) = resolve_state(&mapping(), &state);
    assert_eq!(second, first, "the same customer for every record");
    assert!(
        summary.contains("records added: 0, updated: 0, removed: 0; change events: 0\n"),
        "{summary}"
    );
    assert_eq!(tally_line(&summary, "crm"), [0, 0, 231, 0]);
    assert_eq!(tally_line(&summary, "web"), [0, 0, 310, 0]);

    // The questions read the state and answer as from the files.
    let dir = path_str(&state);
    for (command, args) in [
        ("explain", vec![CRM, WEB]),
        ("explain", vec![CRM, OTHER]),
        ("view", vec![WEB]),
        ("view", vec![CRM, "--json"]),
        ("dot", vec![CRM]),
    ] {
        let from_files = stdout(&with_mapping(command, &args));
        let mut with_state = args.clone();
        with_state.extend(["--state", dir]);
        assert_eq!(stdout(&with_mapping(command, &with_state)), from_files, "{command} {args:?}");
    }
}

const SMALL_MAPPING: &str = "default_country = \"NL\"\n\
    [[source]]\nname = \"crm\"\npath = \"crm.csv\"\nid = \"id\"\n\
    keys = { email = \"email\", phone = \"phone\" }\nattributes = { city = \"city\" }\n\
    [[source]]\nname = \"web\"\npath = \"web.csv\"\nid = \"id\"\nmode = \"changes\"\n\
    deleted = \"deleted\"\nkeys = { email = \"email\" }\n";

#[test]
fn a_changed_export_and_a_change_feed_update_the_state_and_keep_the_ids() {
    let dir = scratch("cli-state-changes");
    let mapping = dir.join("mapping.toml");
    std::fs::write(&mapping, SMALL_MAPPING).expect("mapping");
    std::fs::write(
        dir.join("crm.csv"),
        "id,email,phone,city\nC1,jan@x.nl,0612345678,Delft\nC2,jan@x.nl,,Delft\n\
         C3,piet@x.nl,0698765432,Leiden\nC4,kees@x.nl,,Gouda\n",
    )
    .expect("crm");
    std::fs::write(dir.join("web.csv"), "id,email,deleted\nW1,jan@x.nl,\nW2,kees@x.nl,\n")
        .expect("web");
    let state = dir.join("state");
    let (first, _) = resolve_state(&mapping, &state);
    assert_eq!(first.len(), 6);
    let of = |rows: &[(String, String, CustomerId)], record: &str| {
        rows.iter().find(|(s, id, _)| format!("{s}:{id}") == record).map(|r| r.2)
    };

    // C4 leaves the export, C2 moves to Utrecht; the feed deletes W1, adds W3 with piet's
    // e-mail and deletes W9, which was never there.
    std::fs::write(
        dir.join("crm.csv"),
        "id,email,phone,city\nC1,jan@x.nl,0612345678,Delft\nC2,jan@x.nl,,Utrecht\n\
         C3,piet@x.nl,0698765432,Leiden\n",
    )
    .expect("crm");
    std::fs::write(dir.join("web.csv"), "id,email,deleted\nW1,,yes\nW3,piet@x.nl,no\nW9,,y\n")
        .expect("web");
    let (second, summary) = resolve_state(&mapping, &state);
    assert_eq!(tally_line(&summary, "crm"), [0, 1, 2, 1]);
    assert_eq!(tally_line(&summary, "web"), [1, 0, 0, 1]);
    assert!(summary.contains("(1 deletion of a record not stored)"), "{summary}");
    assert!(summary.contains("records added: 1, updated: 1, removed: 2; change events: "));
    assert!(summary.contains("2 rows marked deleted"), "{summary}");
    let records: Vec<String> = second.iter().map(|(s, id, _)| format!("{s}:{id}")).collect();
    assert_eq!(records, ["crm:C1", "crm:C2", "crm:C3", "web:W2", "web:W3"]);
    for record in ["crm:C1", "crm:C2", "crm:C3", "web:W2"] {
        assert_eq!(of(&second, record), of(&first, record), "{record} keeps its customer");
    }
    assert_eq!(of(&second, "web:W3"), of(&first, "crm:C3"), "W3 joins piet");
    let text =
        stdout(&idstitch(&["view", path_str(&mapping), "crm:C2", "--state", path_str(&state)]));
    assert!(text.contains("Utrecht (crm/C2") && !text.contains("Gouda"), "{text}");
}

#[test]
fn snapshot_compacts_the_state() {
    let state = scratch("cli-state-snapshot");
    resolve_state(&mapping(), &state);
    let journal = || {
        let mut segments: Vec<(String, u64)> = std::fs::read_dir(&state)
            .expect("the state")
            .map(|e| e.expect("an entry"))
            .filter(|e| e.file_name().to_string_lossy().starts_with("journal-"))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().len()))
            .collect();
        assert_eq!(segments.len(), 1, "{segments:?}");
        segments.pop().unwrap()
    };
    let (_, empty) = journal();
    // A change made through the library, journaled and not compacted.
    let generation = {
        let mut d = idstitch::Durable::open(&state, idstitch::DurableOptions::default())
            .expect("the state opens");
        let crm = d.source_id("crm").expect("crm");
        d.upsert(
            idstitch::RecordInput::new(crm, "C-NEW").with_key(idstitch::KindId::EMAIL, "n@x.nl"),
        )
        .expect("upsert");
        d.generation()
    };
    assert!(journal().1 > empty);
    let out = idstitch(&["snapshot", "--state", path_str(&state)]);
    let text = stdout(&out);
    assert_eq!(
        text,
        format!(
            "{}: snapshot generation {}, 1152 records, 612 customers, {} bytes\n",
            state.display(),
            generation + 1,
            dir_bytes(&state)
        )
    );
    assert_eq!(journal(), (format!("journal-{:020}", generation + 1), empty));
    let text = stdout(&idstitch(&[
        "view",
        path_str(&mapping()),
        "crm:C-NEW",
        "--state",
        path_str(&state),
    ]));
    assert!(text.starts_with("customer "), "{text}");

    // No state there: one line naming the directory, and no state made.
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-no-state-here");
    let _ = std::fs::remove_dir_all(&missing);
    let line = one_line_failure(&idstitch(&["snapshot", "--state", path_str(&missing)]), 1);
    assert!(line.contains(&format!("{}: no idstitch state there", missing.display())), "{line}");
    let line = one_line_failure(&with_mapping("view", &[CRM, "--state", path_str(&missing)]), 1);
    assert!(line.contains("no idstitch state there"), "{line}");
    assert!(!missing.exists());
    let line = one_line_failure(&idstitch(&["snapshot"]), 2);
    assert!(line.contains("--state <DIR>"), "{line}");
}

/// The bytes of the files in a directory.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("the directory")
        .map(|e| e.expect("an entry").metadata().expect("metadata"))
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[test]
fn a_state_made_with_other_kinds_is_one_line_naming_the_directory() {
    let dir = scratch("cli-state-config");
    std::fs::write(dir.join("crm.csv"), "id,email,phone,city\nC1,jan@x.nl,,Delft\n").expect("crm");
    std::fs::write(dir.join("web.csv"), "id,email,deleted\n").expect("web");
    let mapping = dir.join("mapping.toml");
    std::fs::write(&mapping, SMALL_MAPPING).expect("mapping");
    let state = dir.join("state");
    resolve_state(&mapping, &state);
    let other = dir.join("other.toml");
    std::fs::write(&other, format!("{SMALL_MAPPING}[kinds.email]\nlimit = 1\n")).expect("other");
    let line = one_line_failure(
        &idstitch(&["view", path_str(&other), "crm:C1", "--state", path_str(&state)]),
        1,
    );
    assert!(
        line.starts_with(&format!("idstitch: cannot open state {}: ", state.display())),
        "{line}"
    );
    assert!(line.contains("the mapping's kinds or default_country"), "{line}");
    let line =
        one_line_failure(&idstitch(&["resolve", path_str(&other), "--state", path_str(&state)]), 1);
    assert!(line.contains(&format!("cannot open state {}", state.display())), "{line}");
}

/// The crash test's input: a CRM export of `n` records (e-mails shared by threes, phones by
/// sevens) and a web change feed. The second version drops a tenth of the CRM's rows, changes
/// the e-mail of three tenths, adds new people, and deletes and adds web records.
fn write_crash_input(dir: &Path, n: usize, second: bool) {
    use std::fmt::Write as _;
    let mut crm = String::from("id,email,phone,city\n");
    for i in 0..n {
        let email = match i % 10 {
            3 if second => continue,
            5..=7 if second => format!("q{}@example.nl", i / 2),
            _ => format!("p{}@example.nl", i / 3),
        };
        let _ = writeln!(crm, "C{i},{email},+3161{:07},Town {}", (i / 7) % 100_000, i % 50);
    }
    if second {
        for i in n..n + n / 20 {
            let _ = writeln!(crm, "C{i},p{}@example.nl,,Town {}", i / 3 - n / 3, i % 50);
        }
    }
    let mut web = String::from("id,email,deleted\n");
    for j in 0..n / 4 {
        let _ = match (second, j % 5) {
            (false, _) => writeln!(web, "W{j},p{}@example.nl,", j * 2),
            (true, 0) => writeln!(web, "W{j},,yes"),
            (true, 1) => writeln!(web, "W{j},q{}@example.nl,", j),
            (true, _) => continue,
        };
    }
    std::fs::write(dir.join("crm.csv"), crm).expect("crm");
    std::fs::write(dir.join("web.csv"), web).expect("web");
}

/// Copies the files of `from` into a fresh `to`.
fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("the copy");
    for entry in std::fs::read_dir(from).expect("the original") {
        let entry = entry.expect("an entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("a file copied");
    }
}

/// `resolve --state` killed with SIGKILL at a random moment of its second run, then run again
/// to completion, ends in the state of an uninterrupted second run: every record with the same
/// customer id.
#[test]
fn a_resolve_killed_part_way_finishes_on_the_next_run_with_the_same_ids() {
    const PEOPLE: usize = 8_000;
    const ROUNDS: u64 = 4;
    let dir = scratch("cli-state-crash");
    let mapping = dir.join("mapping.toml");
    std::fs::write(&mapping, SMALL_MAPPING).expect("mapping");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);

    // The first run, kept as the start of every round, and the uninterrupted second run.
    write_crash_input(&dir, PEOPLE, false);
    let base = dir.join("base");
    resolve_state(&mapping, &base);
    write_crash_input(&dir, PEOPLE, true);
    let reference = dir.join("reference");
    copy_dir(&base, &reference);
    let started = std::time::Instant::now();
    let (expected, summary) = resolve_state(&mapping, &reference);
    let took = started.elapsed();
    assert!(summary.contains(", removed: "), "{summary}");
    assert!(expected.len() > PEOPLE, "{}", expected.len());

    let mut killed = 0;
    let mut x = seed;
    for round in 0..ROUNDS {
        // SplitMix64: a delay reproducible from the seed.
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // The later part of a run holds its writes: the load, the removals, the compaction.
        let delay = took.mul_f64(0.3 + 0.7 * (z % 1000) as f64 / 1000.0);
        let state = dir.join(format!("round-{round}"));
        copy_dir(&base, &state);
        let mut child = Command::new(env!("CARGO_BIN_EXE_idstitch"))
            .args(["resolve", path_str(&mapping), "--state", path_str(&state)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the binary starts");
        std::thread::sleep(delay);
        if child.try_wait().expect("the child").is_none() {
            killed += 1;
        }
        child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
        child.wait().expect("the child ends");
        let (got, summary) = resolve_state(&mapping, &state);
        let recovered = summary.lines().find(|l| l.starts_with("recovered ")).unwrap_or("");
        eprintln!("round {round}: killed after {delay:?} of {took:?}; {recovered}");
        assert!(
            got == expected,
            "round {round} (seed {seed}, killed after {delay:?} of {took:?}): the state differs \
             from an uninterrupted run's"
        );
    }
    assert!(killed > 0, "no round was killed while running (seed {seed}, runs take {took:?})");
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

#[test]
fn erase_removes_a_persons_records_from_the_state_and_keeps_the_others_ids() {
    let state = scratch("cli-state-erase");
    let (before, _) = resolve_state(&mapping(), &state);
    let dir = path_str(&state);
    let (source, id) = CRM.split_once(':').unwrap();
    let customer = before.iter().find(|(s, i, _)| s == source && i == id).unwrap().2;
    let members: Vec<String> = (before.iter())
        .filter(|(_, _, c)| *c == customer)
        .map(|(s, i, _)| format!("{s}:{i}"))
        .collect();
    let out = stdout(&idstitch(&["erase", "--state", dir, "--record", CRM]));
    assert!(out.starts_with(&format!("erased customer {customer} from ")), "{out}");
    for m in &members {
        assert!(out.lines().any(|l| l == m), "{m} not listed: {out}");
    }
    // Every byte of the directory: none of the erased external ids is left.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&state).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for m in &members {
        let (_, id) = m.split_once(':').unwrap();
        assert!(!bytes.windows(id.len()).any(|w| w == id.as_bytes()), "{id} left in the state");
    }
    let view = idstitch(&["view", path_str(&mapping()), CRM, "--state", dir]);
    assert!(!view.status.success(), "the record is gone");
    let other = before.iter().find(|(s, i, _)| format!("{s}:{i}") == OTHER).unwrap().2;
    let out = stdout(&idstitch(&["view", path_str(&mapping()), OTHER, "--state", dir]));
    assert!(out.contains(&other.to_string()), "the other customer keeps its id: {out}");
    let refused = idstitch(&["erase", "--state", dir, "--key", "email"]);
    assert_eq!(refused.status.code(), Some(1), "KIND=VALUE needed");
}

#[test]
fn erase_suppress_needs_the_secret_and_later_runs_report_the_suppressed_values() {
    let state = scratch("cli-state-suppress");
    resolve_state(&mapping(), &state);
    let dir = path_str(&state);
    let with_secret = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_idstitch"))
            .args(args)
            .env("IDSTITCH_SUPPRESSION_SECRET", "cli test secret")
            .output()
            .expect("the binary runs")
    };
    let without = Command::new(env!("CARGO_BIN_EXE_idstitch"))
        .args(["erase", "--state", dir, "--record", CRM, "--suppress"])
        .env_remove("IDSTITCH_SUPPRESSION_SECRET")
        .output()
        .expect("the binary runs");
    let message = one_line_failure(&without, 1);
    assert!(message.contains("IDSTITCH_SUPPRESSION_SECRET"), "{message}");

    let out = with_secret(&["erase", "--state", dir, "--record", CRM, "--suppress"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).starts_with("erased customer "));
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(said.contains("suppressed "), "{said}");

    // The state's list is keyed by the secret: opening it needs the variable.
    let refused = Command::new(env!("CARGO_BIN_EXE_idstitch"))
        .args(["snapshot", "--state", dir])
        .env_remove("IDSTITCH_SUPPRESSION_SECRET")
        .output()
        .expect("the binary runs");
    assert_eq!(refused.status.code(), Some(1));
    assert!(with_secret(&["snapshot", "--state", dir]).status.success());

    // The files still hold the erased records: brought back, their keys link nothing.
    let again = with_secret(&["resolve", path_str(&mapping()), "--state", dir]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let summary = String::from_utf8_lossy(&again.stderr).to_string();
    assert!(summary.contains("suppressed"), "{summary}");
    std::fs::remove_dir_all(&state).expect("cleaned up");
}

// --- stages ----------------------------------------------------------------------------------

/// Reads the stages CSV into rows of named columns, checking the header.
fn stage_rows(csv_text: &str, since: bool) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let mut expected =
        vec!["customer_id", "stage", "reason", "last_event_at", "engagement_30d", "purchases_365d"];
    if since {
        expected.push("stage_at_since");
    }
    let header = reader.headers().expect("a header").clone();
    assert_eq!(header.iter().collect::<Vec<_>>(), expected);
    reader
        .records()
        .map(|row| row.expect("a well-formed row").iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn stages_writes_every_customer_with_the_library_stage_and_its_figures() {
    let now = idstitch::mapping::parse_timestamp("2026-06-30T00:00:00Z").expect("a time");
    let since = idstitch::mapping::parse_timestamp("2026-03-01").expect("a time");
    let dir = scratch("cli-stages");
    let (out_file, customers_file) = (dir.join("stages.csv"), dir.join("customers.csv"));
    let out = with_mapping(
        "stages",
        &[
            "--now",
            "2026-06-30T00:00:00Z",
            "--since",
            "2026-03-01",
            "-o",
            path_str(&out_file),
            "--customers",
            path_str(&customers_file),
        ],
    );
    assert!(stdout(&out).is_empty(), "the CSV went to the file, not stdout");
    let rows = stage_rows(&std::fs::read_to_string(&out_file).expect("the CSV"), true);

    let resolver = &library().resolver;
    assert_eq!(rows.len(), resolver.n_customers());
    let mut stages = std::collections::BTreeMap::new();
    let mut with_events = 0;
    for row in &rows {
        let customer = CustomerId::from_raw(row[0].parse().expect("a customer id"));
        let summary = resolver.summary(customer, now).expect("a live customer");
        let stage = resolver.stage(customer, now).expect("a live customer");
        assert_eq!(row[1], stage.stage.to_string(), "{row:?}");
        assert_eq!(row[2], stage.to_string(), "{row:?}");
        assert_eq!(row[3], summary.last_event.map_or_else(String::new, |t| t.to_string()));
        assert_eq!(row[4], summary.by_class.engagement.last_30_days.to_string(), "{row:?}");
        assert_eq!(row[5], summary.by_class.purchase.last_365_days.to_string(), "{row:?}");
        let before = resolver.stage(customer, since).expect("a live customer");
        assert_eq!(row[6], before.stage.to_string(), "{row:?}");
        with_events += usize::from(summary.last_event.is_some());
        *stages.entry(row[1].clone()).or_insert(0) += 1;
    }
    // The sample's events reach some customers and leave others without any, and the rows
    // hold more than one stage.
    assert!(with_events > 0 && with_events < rows.len(), "{with_events} of {}", rows.len());
    assert!(stages.len() > 1, "{stages:?}");

    let assigned = assignments(&std::fs::read_to_string(&customers_file).expect("the CSV"));
    assert_eq!(assigned.len(), resolver.n_records());
    for (source, id, customer) in &assigned {
        let source_id = resolver.source_id(source).expect("a mapped source");
        assert_eq!(resolver.customer_of(source_id, id), Some(*customer), "{source}:{id}");
    }
    let summary = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert!(summary.contains(&format!("wrote {} customers' stages", rows.len())), "{summary}");
}

#[test]
fn stages_from_a_state_directory_equal_stages_from_the_files() {
    let state = scratch("cli-stages-state");
    resolve_state(&mapping(), &state);
    let from_files = stdout(&with_mapping("stages", &["--now", "2026-06-30"]));
    let from_state =
        stdout(&with_mapping("stages", &["--now", "2026-06-30", "--state", path_str(&state)]));
    assert_eq!(stage_rows(&from_state, false), stage_rows(&from_files, false));
}

#[test]
fn stages_html_writes_the_report_the_library_renders() {
    let dir = scratch("cli-stages-html");
    let (csv_file, html_file) = (dir.join("stages.csv"), dir.join("report.html"));
    let out = with_mapping(
        "stages",
        // A month of the sample in which some customers change stage.
        &["--now", "2026-03-01", "-o", path_str(&csv_file), "--html", path_str(&html_file)],
    );
    assert!(stdout(&out).is_empty());
    let summary = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert!(summary.contains("wrote the report as of 2026-03-01T00:00:00Z to "), "{summary}");
    let html = std::fs::read_to_string(&html_file).expect("the report");

    // Byte for byte what the library gives for the same resolver and day.
    let now = idstitch::mapping::parse_timestamp("2026-03-01").expect("a time");
    let resolver = &library().resolver;
    let mut data = idstitch::report::ReportData::from_resolver(resolver, "publisher", now);
    data.transitions = idstitch::report::Transition::day_by_day(resolver, now);
    assert_eq!(html, idstitch::report::render_html(&data));

    // The stage counts of the CSV are the page's; the month saw stage changes.
    let mut counts = std::collections::BTreeMap::new();
    for row in stage_rows(&std::fs::read_to_string(&csv_file).expect("the CSV"), false) {
        *counts.entry(row[1].clone()).or_insert(0u64) += 1;
    }
    for (stage, n) in &counts {
        assert!(html.contains(&format!("<td>{stage}</td><td class=\"n\">{n}</td>")), "{stage}");
    }
    assert!(!data.transitions.is_empty());
    assert!(html.contains("<figure id=\"chart-transitions\">\n<svg"));
    assert!(!html.contains("http") && !html.contains("<script"));
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

#[test]
fn stages_with_a_bad_time_is_one_line_naming_the_argument() {
    let line = one_line_failure(&with_mapping("stages", &["--now", "June"]), 2);
    assert!(line.contains("'June' for '--now <TIME>': not a time"), "{line}");
}

// --- campaigns and pressure --------------------------------------------------------------------

/// `campaign assign` on the sample campaign in `state`: the CSV rows.
fn assign_rows(state: &Path, now: &str) -> Vec<Vec<String>> {
    let mapping = mapping();
    let out = idstitch(&[
        "campaign",
        "assign",
        path_str(&mapping),
        "--campaign",
        "summer-offer",
        "--now",
        now,
        "--state",
        path_str(state),
    ]);
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("a header").clone();
    assert_eq!(header.iter().collect::<Vec<_>>(), ["customer_id", "group", "decision", "reason"]);
    reader.records().map(|r| r.expect("a row").iter().map(str::to_string).collect()).collect()
}

#[test]
fn campaign_assign_draws_each_customers_group_once_and_report_evaluates_it() {
    let state = scratch("cli-campaign");
    resolve_state(&mapping(), &state);
    let first = assign_rows(&state, "2026-06-01");
    let resolver = &library().resolver;
    assert_eq!(first.len(), resolver.n_customers());
    // The group is the bucket of the smallest (source name, record id) under the salt.
    let spec = resolver.campaign("summer-offer").expect("the sample campaign");
    for row in &first {
        let c = CustomerId::from_raw(row[0].parse().expect("an id"));
        let smallest = resolver
            .customer_records(c)
            .expect("a live customer")
            .map(|r| {
                (resolver.source_name(r.source).unwrap().to_string(), r.external_id.to_string())
            })
            .min()
            .unwrap();
        let control = idstitch::campaign::bucket(&spec.salt, &smallest.0, &smallest.1)
            < spec.control_buckets();
        assert_eq!(row[1], if control { "control" } else { "treatment" }, "{row:?}");
        if control {
            assert_eq!((row[2].as_str(), row[3].as_str()), ("no", "holdout"));
        } else {
            let now = idstitch::mapping::parse_timestamp("2026-06-01").unwrap();
            let answer = resolver.may_contact(c, &spec.channel, now).unwrap();
            assert_eq!(row[2], if answer.is_yes() { "yes" } else { "no" }, "{row:?}");
        }
    }
    // Assigned again later: the same groups, kept in the state.
    let again = assign_rows(&state, "2026-06-20");
    let groups = |rows: &[Vec<String>]| rows.iter().map(|r| r[1].clone()).collect::<Vec<_>>();
    assert_eq!(groups(&again), groups(&first));

    let m = mapping();
    let out = idstitch(&[
        "campaign",
        "report",
        path_str(&m),
        "--campaign",
        "summer-offer",
        "--now",
        "2026-06-30",
        "--json",
        "--state",
        path_str(&state),
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(json["campaign"], "summer-offer");
    let count = |g: &str| first.iter().filter(|r| r[1] == g).count() as u64;
    assert_eq!(json["groups"]["treatment"]["customers"], serde_json::json!(count("treatment")));
    assert_eq!(json["groups"]["control"]["customers"], serde_json::json!(count("control")));
    assert_eq!(json["contaminated"], 0);
    assert!(json["by_stage"]["identified"]["groups"]["treatment"]["customers"].as_u64() > Some(0));
    assert!(json["ci95"].is_array() || json["too_small"] == true, "{json}");

    let text = stdout(&idstitch(&[
        "campaign",
        "report",
        path_str(&m),
        "--campaign",
        "summer-offer",
        "--now",
        "2026-06-30",
        "--state",
        path_str(&state),
    ]));
    assert!(text.starts_with("campaign summer-offer as of 2026-06-30T00:00:00Z\n"), "{text}");
}

#[test]
fn pressure_prints_a_row_per_channel_and_stage() {
    let text = stdout(&with_mapping("pressure", &["--now", "2026-06-30"]));
    assert!(text.starts_with("contact pressure as of 2026-06-30T00:00:00Z"), "{text}");
    let report = library().resolver.pressure_report(
        idstitch::mapping::parse_timestamp("2026-06-30").unwrap(),
        idstitch::behaviour::Window::days(30),
    );
    assert_eq!(text, report.to_string());
    assert!(text.lines().any(|l| l.starts_with("newsletter  identified")), "{text}");
}

#[test]
fn an_unknown_campaign_is_one_line() {
    let m = mapping();
    let out = idstitch(&[
        "campaign",
        "report",
        path_str(&m),
        "--campaign",
        "nope",
        "--now",
        "2026-06-30",
    ]);
    let line = one_line_failure(&out, 1);
    assert!(line.contains("campaign \"nope\": no campaign \"nope\""), "{line}");
}

/// A Windows-1252 export with a ragged row, a repeated id and `on_bad_row = "skip"`: the
/// summary on stderr names the skipped row's line and the repeated id; with the default
/// `fail` the run stops with one line naming file and line.
#[test]
fn a_legacy_export_with_bad_rows_is_summarised() {
    let dir = scratch("cli-legacy-export");
    std::fs::write(
        dir.join("crm.csv"),
        b"id;name;email\nC1;M\xfcller;m@x.nl\nC2;Bob\nC1;M\xfcller \x80;m@y.nl\n",
    )
    .expect("the export");
    let mapping = |policy: &str| {
        let text = format!(
            "[[source]]\nname = \"crm\"\npath = \"crm.csv\"\nid = \"id\"\ndelimiter = \";\"\n\
             encoding = \"windows-1252\"\n{policy}keys = {{ email = \"email\" }}\n\
             attributes = {{ name = \"name\" }}\n"
        );
        let path = dir.join("mapping.toml");
        std::fs::write(&path, text).expect("the mapping");
        path
    };
    let skip = mapping("on_bad_row = \"skip\"\n");
    let out = idstitch(&["resolve", path_str(&skip)]);
    let rows = assignments(&stdout(&out));
    assert_eq!(rows.len(), 1, "C1 once: {rows:?}");
    let summary = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert!(summary.contains("1 repeated id, the later row kept (e.g. C1)"), "{summary}");
    assert!(
        summary.contains(
            "1 bad row skipped: ragged row (field count differs from the header): 1 (line 3)"
        ),
        "{summary}"
    );
    let fail = mapping("");
    let line = one_line_failure(&idstitch(&["resolve", path_str(&fail)]), 1);
    assert!(line.contains("crm.csv:3: 2 fields where the header has 3"), "{line}");
}
