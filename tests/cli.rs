//! The `idstitch` program, run as a user would on the sample mapping: its CSV agrees with the
//! library, its answers name real records, and every mistake is one line on stderr.
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
    assert_eq!(rows.len(), 1019);
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
    assert!(summary.contains("records: 1019, customers: 578"), "{summary}");
    assert!(summary.contains("crm               231  email: 2 empty;"), "{summary}");
    assert!(summary.contains("legacy_crm         81  "), "{summary}");
    assert!(summary.contains("3 bad timestamps"), "{summary}");
    // Customers by the number of sources they span: they add up, and the sample's customer
    // of CRM and WEB is the one customer in all seven sources.
    let spans: Vec<(usize, usize)> = summary
        .lines()
        .filter_map(|line| line.strip_prefix("  spanning ")?.split_once(" source(s): "))
        .map(|(s, n)| (s.parse().expect("sources"), n.parse().expect("customers")))
        .collect();
    assert_eq!(spans.iter().map(|&(_, n)| n).sum::<usize>(), resolver.n_customers());
    assert_eq!(spans.last(), Some(&(7, 1)), "{summary}");
    let largest = customer(CRM);
    let size = resolver.customer_size(largest).expect("a live customer");
    assert!(summary.contains(&format!("largest customer: {largest} with {size} records")));
    let refused = resolver.refusal_stats().total();
    assert!(summary.contains(&format!("refused links: {refused}\n")), "{summary}");
    assert!(summary.contains("would break the full_name limit: "), "{summary}");
    assert!(summary.contains(&format!("wrote 1019 rows to {}", out_file.display())), "{summary}");
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
