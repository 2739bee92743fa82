//! Mapping files and the CSV / JSON Lines inputs they map: the parser on the documented example
//! and on every mistake, the readers on well-formed and malformed files, timestamps, the sample
//! data end to end (as `examples/resolve_csv.rs` runs it) and the FEBRL benchmark.
#![cfg(feature = "mapping")]

use std::path::{Path, PathBuf};

use idstitch::mapping::{deletion_flag, InputFormat, Mapping, MappingError, SourceMode};
use idstitch::{KindId, Normalizer, Resolver};

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir()
            .join(format!("idstitch-mapping-test-{}-{name}", std::process::id()));
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

const DOCUMENTED: &str = r#"
default_country = "NL"        # phones without a country code
[kinds.legacy_no]              # a host-defined kind; built-ins need no entry
normalizer = "opaque"          # email | phone | customer_no | ip | text | opaque
limit = 1
priority = 15
[kinds.name_dob]               # a composite kind: its value joins several columns
normalizer = "text"
limit = 1
[kinds.ip]                     # overrides a built-in kind's policy
limit = 3
[[source]]
name = "crm"
path = "crm.csv"               # relative to the mapping file; .jsonl means JSON Lines
id = "record_id"
keys = { customer_no = "customer_no", email = "email", phone = ["phone", "mobile"] }
composite = { name_dob = ["given_name", "surname", "date_of_birth"] }
attributes = { name = "name", city = "city" }
observed_at = "updated_at"     # optional; RFC 3339 or YYYY-MM-DD
"#;

fn err(text: &str) -> MappingError {
    match Mapping::from_str(text, "/data") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

/// One source around `body`, for error tests.
fn source(body: &str) -> String {
    format!("[[source]]\nname = \"crm\"\npath = \"crm.csv\"\nid = \"id\"\n{body}\n")
}

// --- the mapping file ------------------------------------------------------------------------

#[test]
fn the_documented_example_parses() {
    let m = Mapping::from_str(DOCUMENTED, "/data/exports").unwrap();
    assert_eq!(m.file(), Path::new("<string>"));
    assert_eq!(m.default_country(), Some("NL"));

    let kinds: Vec<&str> = m.kinds().iter().map(|k| k.name.as_str()).collect();
    assert_eq!(kinds, ["ip", "legacy_no", "name_dob"]);
    let ip = &m.kinds()[0].spec;
    assert!(matches!(ip.normalizer, Normalizer::Ip));
    assert_eq!(ip.policy.limit, Some(3));
    assert_eq!(ip.policy.priority, 10, "a built-in keeps the defaults it does not change");
    assert!(!ip.policy.links, "ip still links nothing without links = true");
    let legacy = &m.kinds()[1].spec;
    assert!(matches!(legacy.normalizer, Normalizer::Opaque));
    assert_eq!((legacy.policy.limit, legacy.policy.priority), (Some(1), 15));
    assert!(legacy.composite.is_none());
    let name_dob = &m.kinds()[2].spec;
    assert!(matches!(name_dob.normalizer, Normalizer::Text));
    assert_eq!(
        name_dob.composite.as_deref(),
        Some(&["name_dob#0".to_string(), "name_dob#1".into(), "name_dob#2".into()][..])
    );

    let [crm] = m.sources() else { panic!("one source") };
    assert_eq!(crm.name, "crm");
    assert_eq!(crm.input.path, Path::new("/data/exports/crm.csv"));
    assert_eq!(crm.input.format, InputFormat::Csv);
    assert_eq!(crm.trust, 10);
    assert_eq!(crm.id, "record_id");
    assert_eq!(
        crm.keys,
        [
            ("customer_no".to_string(), vec!["customer_no".to_string()]),
            ("email".into(), vec!["email".into()]),
            ("phone".into(), vec!["phone".into(), "mobile".into()]),
        ]
    );
    assert_eq!(
        crm.composite,
        [(
            "name_dob".to_string(),
            vec!["given_name".into(), "surname".into(), "date_of_birth".into()]
        )]
    );
    assert_eq!(
        crm.attributes,
        [("city".to_string(), "city".into()), ("name".into(), "name".into())]
    );
    assert_eq!(crm.observed_at.as_deref(), Some("updated_at"));

    let mut resolver = m.resolver_builder().build().unwrap();
    let ids = m.register_sources(&mut resolver).unwrap();
    assert_eq!(resolver.source_name(ids[0]), Some("crm"));
    let legacy = resolver.kind_id("legacy_no").unwrap();
    assert_eq!(resolver.kind_spec(legacy).unwrap().policy.limit, Some(1));
    assert_eq!(resolver.kind_spec(KindId::IP).unwrap().policy.limit, Some(3));
}

#[test]
fn every_other_kind_key_and_source_option() {
    let m = Mapping::from_str(
        r#"
        [kinds.household]
        normalizer = "phone"
        generic_cap = 4
        deny = ["0201234567"]
        builtin_placeholders = false
        identifying = true
        [kinds.full_name]
        links = false
        limit = 1
        [kinds.email]
        normalizer = "email_provider_rules"
        [kinds.cookie]
        limit = 5
        [[source]]
        name = "a"
        path = "a.CSV"
        id = "id"
        delimiter = ";"
        keys = { household = "landline", email = "mail" }
        composite = { full_name = ["first", "last"] }
        [[source]]
        name = "b"
        path = "sub/b.ndjson"
        id = "id"
        trust = 7
        composite = { full_name = ["given", "family"] }
        [[source]]
        name = "c"
        path = "c.jsonl"
        id = "id"
        "#,
        "base",
    )
    .unwrap();
    let [cookie, email, full_name, household] = m.kinds() else { panic!("four kinds") };
    assert!(matches!(email.spec.normalizer, Normalizer::EmailProviderRules));
    assert!(email.spec.identifying && household.spec.identifying, "built in, and declared");
    assert!(!cookie.spec.identifying && !full_name.spec.identifying);
    assert_eq!(email.spec.policy.limit, Some(3), "the built-in limit stays");
    assert!(!full_name.spec.policy.links);
    assert_eq!(full_name.spec.composite.as_ref().map(Vec::len), Some(2));
    assert!(matches!(household.spec.normalizer, Normalizer::Phone));
    assert_eq!(household.spec.policy.generic_cap, Some(4));
    assert_eq!(household.spec.policy.deny, ["0201234567"]);
    assert!(!household.spec.policy.builtin_placeholders);
    assert_eq!(household.spec.policy.priority, 0);

    let [a, b, c] = m.sources() else { panic!("three sources") };
    assert_eq!((a.input.format, a.input.delimiter, a.trust), (InputFormat::Csv, b';', 30));
    assert_eq!((b.input.format, b.trust), (InputFormat::JsonLines, 7));
    assert_eq!(b.input.path, Path::new("base/sub/b.ndjson"));
    assert_eq!((c.input.format, c.trust), (InputFormat::JsonLines, 10), "descending by position");
}

#[test]
fn mapping_file_errors_name_the_file_line_and_key() {
    let dir = Scratch::new("errors");
    let path = dir.write("bad.toml", source("keys = { emial = \"email\" }"));
    let e = Mapping::from_path(&path).unwrap_err();
    let MappingError::UnknownKind { at, kind } = &e else { panic!("{e:?}") };
    assert_eq!(kind, "emial");
    assert_eq!((at.file.as_path(), at.line, at.column), (path.as_path(), 5, 10));
    assert_eq!((at.source.as_deref(), at.key.as_str()), (Some("crm"), "keys.emial"));
    let message = e.to_string();
    assert!(message.starts_with(&format!("{}:5:10: [[source]] \"crm\"", path.display())));
    assert!(message.contains("keys.emial"), "{message}");

    let e = Mapping::from_path(dir.0.join("missing.toml")).unwrap_err();
    assert!(matches!(e, MappingError::ReadMapping { .. }), "{e:?}");
    assert!(e.to_string().contains("missing.toml"));
}

#[test]
fn toml_errors_give_line_and_column() {
    for (text, line, column, words) in [
        ("default_country = \"NL\"\n[kinds.x\n", 2, 9, "table"),
        ("[kinds.x]\nlimt = 1\n", 2, 1, "unknown field `limt`"),
        ("[kinds.x]\nlimit = \"1\"\n", 2, 9, "invalid type"),
        (
            "[[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"id\"\nkeys = { email = 5 }\n",
            5,
            18,
            "column name",
        ),
        ("colour = 1\n", 1, 1, "unknown field `colour`"),
    ] {
        let e = err(text);
        let MappingError::Toml { file, line: l, column: c, message } = &e else { panic!("{e:?}") };
        assert_eq!(file, Path::new("<string>"));
        assert_eq!((*l, *c), (line, column), "{text:?}: {message}");
        assert!(message.contains(words), "{text:?}: {message}");
    }
}

#[test]
fn kind_errors() {
    let e = err(&source("composite = { name_dob = [\"a\", \"b\"] }"));
    let MappingError::UndeclaredComposite { at, kind } = &e else { panic!("{e:?}") };
    assert_eq!((kind.as_str(), at.key.as_str(), at.line), ("name_dob", "composite.name_dob", 5));
    assert!(e.to_string().contains("[kinds.name_dob]"), "{e}");

    let e = err(&source("composite = { email = [\"a\", \"b\"] }"));
    assert!(matches!(&e, MappingError::BuiltInComposite { kind, .. } if kind == "email"), "{e:?}");

    let two = "[kinds.nd]\n[[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"id\"\n\
               keys = { nd = \"x\" }\n[[source]]\nname = \"b\"\npath = \"b.csv\"\nid = \"id\"\n\
               composite = { nd = [\"x\", \"y\"] }\n";
    let e = err(two);
    let MappingError::KeyAndComposite { at, kind } = &e else { panic!("{e:?}") };
    assert_eq!((kind.as_str(), at.source.as_deref(), at.line), ("nd", Some("b"), 11));

    let arity = "[kinds.nd]\n[[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"id\"\n\
                 composite = { nd = [\"x\", \"y\"] }\n[[source]]\nname = \"b\"\npath = \"b.csv\"\n\
                 id = \"id\"\ncomposite = { nd = [\"x\", \"y\", \"z\"] }\n";
    let e = err(arity);
    let MappingError::CompositeParts { at, expected, found, .. } = &e else { panic!("{e:?}") };
    assert_eq!((*expected, *found, at.line, at.key.as_str()), (2, 3, 11, "composite.nd"));

    let e = err(&source("keys = { phone = [] }"));
    let MappingError::NoColumns { at } = &e else { panic!("{e:?}") };
    assert_eq!(at.key, "keys.phone");

    let e = err("[kinds.x]\nnormalizer = \"soundex\"\n");
    let MappingError::UnknownNormalizer { at, name } = &e else { panic!("{e:?}") };
    assert_eq!(
        (name.as_str(), at.key.as_str(), at.line, at.column),
        ("soundex", "kinds.x.normalizer", 2, 14)
    );
}

#[test]
fn bad_numbers() {
    for (text, key, value) in [
        ("[kinds.x]\nlimit = 0\n", "kinds.x.limit", 0),
        ("[kinds.x]\nlimit = 4294967296\n", "kinds.x.limit", 4_294_967_296),
        ("[kinds.x]\ngeneric_cap = -1\n", "kinds.x.generic_cap", -1),
        ("[kinds.x]\npriority = 3000000000\n", "kinds.x.priority", 3_000_000_000),
    ] {
        let e = err(text);
        let MappingError::BadNumber { at, value: v, .. } = &e else { panic!("{e:?}") };
        assert_eq!((at.key.as_str(), *v, at.line), (key, value, 2), "{text}");
        assert!(e.to_string().contains(&value.to_string()));
    }
    let e = err(&source("trust = -5"));
    let MappingError::BadNumber { at, value: -5, .. } = &e else { panic!("{e:?}") };
    assert_eq!((at.key.as_str(), at.source.as_deref()), ("trust", Some("crm")));
}

#[test]
fn source_errors() {
    let e = err("default_country = \"XX\"\n");
    let MappingError::UnknownCountry { at, code } = &e else { panic!("{e:?}") };
    assert_eq!((code.as_str(), at.key.as_str(), at.line), ("XX", "default_country", 1));

    let e = err(&format!("{}{}", source(""), source("")));
    let MappingError::DuplicateSource { at, name } = &e else { panic!("{e:?}") };
    assert_eq!((name.as_str(), at.line), ("crm", 7));

    for (text, key) in [
        ("[[source]]\nname = \" \"\npath = \"a.csv\"\nid = \"id\"\n".to_string(), "name"),
        (source("keys = { email = \"\" }"), "keys.email"),
        (source("attributes = { \"\" = \"city\" }"), "attributes."),
        (source("observed_at = \"\""), "observed_at"),
        ("[kinds.\"\"]\n".to_string(), "kinds."),
        ("[[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"\"\n".to_string(), "id"),
    ] {
        let e = err(&text);
        let MappingError::EmptyName { at } = &e else { panic!("{text}: {e:?}") };
        assert_eq!(at.key, key, "{text}");
    }

    let e = err(&source("delimiter = \";;\""));
    assert!(
        matches!(&e, MappingError::BadDelimiter { delimiter, .. } if delimiter == ";;"),
        "{e:?}"
    );

    let e = err("[[source]]\nname = \"a\"\npath = \"export.txt\"\nid = \"id\"\n");
    let MappingError::UnknownFormat { at, path } = &e else { panic!("{e:?}") };
    assert_eq!(
        (path.as_path(), at.key.as_str(), at.line),
        (Path::new("/data/export.txt"), "path", 3)
    );
}

#[test]
fn source_modes_and_the_deleted_column() {
    let m = Mapping::from_str(
        &format!(
            "{}{}{}",
            source("keys = { email = \"e\" }"),
            "[[source]]\nname = \"feed\"\npath = \"f.csv\"\nid = \"id\"\nmode = \" changes \"\n\
             deleted = \" gone \"\n",
            "[[source]]\nname = \"plain\"\npath = \"p.csv\"\nid = \"id\"\nmode = \"changes\"\n\
             [[source]]\nname = \"full\"\npath = \"x.csv\"\nid = \"id\"\nmode = \"export\"\n",
        ),
        ".",
    )
    .unwrap();
    let modes: Vec<&SourceMode> = m.sources().iter().map(|s| &s.mode).collect();
    assert_eq!(
        modes,
        [
            &SourceMode::Export,
            &SourceMode::Changes { deleted: Some("gone".into()) },
            &SourceMode::Changes { deleted: None },
            &SourceMode::Export,
        ]
    );

    let e = err(&source("mode = \"full\""));
    let MappingError::UnknownMode { at, mode } = &e else { panic!("{e:?}") };
    assert_eq!((mode.as_str(), at.key.as_str(), at.line, at.column), ("full", "mode", 5, 8));
    assert_eq!(
        e.to_string(),
        "<string>:5:8: [[source]] \"crm\", key `mode`: unknown mode \"full\" \
         (expected \"export\" or \"changes\")"
    );
    for body in ["deleted = \"gone\"", "mode = \"export\"\ndeleted = \"gone\""] {
        let e = err(&source(body));
        let MappingError::DeletedWithoutChanges { at } = &e else { panic!("{body}: {e:?}") };
        assert_eq!(at.key, "deleted", "{body}");
        assert!(e.to_string().contains("it needs mode = \"changes\""), "{e}");
    }
    let e = err(&source("mode = \"changes\"\ndeleted = \" \""));
    assert!(matches!(&e, MappingError::EmptyName { at } if at.key == "deleted"), "{e:?}");
}

#[test]
fn deletion_flags() {
    for cell in ["true", "TRUE", " t ", "Yes", "y", "1", "Deleted"] {
        assert_eq!(deletion_flag(cell), Some(true), "{cell:?}");
    }
    for cell in ["", "  ", "false", "F", "no", "N", "0"] {
        assert_eq!(deletion_flag(cell), Some(false), "{cell:?}");
    }
    for cell in ["2", "ja", "delete", "x", "true!", "-1"] {
        assert_eq!(deletion_flag(cell), None, "{cell:?}");
    }
}

#[test]
fn resolver_configuration_errors() {
    let m = Mapping::from_str(&source("keys = { email = \"e\" }"), ".").unwrap();
    let mut resolver = m.resolver_builder().build().unwrap();
    m.register_sources(&mut resolver).unwrap();
    let e = m.register_sources(&mut resolver).unwrap_err();
    assert!(
        matches!(&e, MappingError::Config { error: idstitch::ConfigError::DuplicateSource(s), .. } if s == "crm"),
        "{e:?}"
    );
    // Opening needs the sources registered.
    let e = m.open(&Resolver::new()).unwrap_err();
    assert!(
        matches!(&e, MappingError::Config { error: idstitch::ConfigError::UnknownSource(_), .. }),
        "{e:?}"
    );
}

#[cfg(not(feature = "serde_json"))]
#[test]
fn json_lines_without_the_feature_is_a_clear_error() {
    let dir = Scratch::new("nojson");
    dir.write("web.jsonl", "{\"id\": \"1\"}\n");
    let m =
        Mapping::from_str("[[source]]\nname = \"w\"\npath = \"web.jsonl\"\nid = \"id\"\n", &dir.0)
            .unwrap();
    let mut resolver = m.resolver_builder().build().unwrap();
    m.register_sources(&mut resolver).unwrap();
    let e = m.open(&resolver).unwrap_err();
    assert!(matches!(&e, MappingError::FeatureDisabled { feature: "serde_json", .. }), "{e:?}");
    assert!(e.to_string().contains("web.jsonl"));
}

#[cfg(not(feature = "csv"))]
#[test]
fn csv_without_the_feature_is_a_clear_error() {
    let dir = Scratch::new("nocsv");
    dir.write("crm.csv", "id\n1\n");
    let m = Mapping::from_str(&source(""), &dir.0).unwrap();
    let mut resolver = m.resolver_builder().build().unwrap();
    m.register_sources(&mut resolver).unwrap();
    let e = m.open(&resolver).unwrap_err();
    assert!(matches!(&e, MappingError::FeatureDisabled { feature: "csv", .. }), "{e:?}");
}

// --- reading files ---------------------------------------------------------------------------

/// Parses `mapping` in `dir`, runs it and returns the run or the error.
#[cfg(any(feature = "csv", feature = "serde_json"))]
fn run_in(dir: &Scratch, mapping: &str) -> Result<idstitch::mapping::MappedRun, MappingError> {
    let path = dir.write("mapping.toml", mapping);
    Mapping::from_path(path)?.run(2, |_| {})
}

#[cfg(feature = "csv")]
mod csv_input {
    use super::*;

    #[test]
    fn headers_and_fields_are_trimmed_and_quoted_fields_read() {
        let dir = Scratch::new("trim");
        dir.write(
            "crm.csv",
            "\u{feff}id , e-mail,  phone , mobile,name\n\
             C1 ,  jan@x.nl , 06-12345678,,\"Jansen, Jan\"\n\
             \n\
             C2,\"  piet@x.nl\", , 0612345679 ,Piet\n",
        );
        let run = run_in(
            &dir,
            "default_country = \"NL\"\n[[source]]\nname = \"crm\"\npath = \"crm.csv\"\nid = \"id\"\n\
             keys = { email = \"e-mail\", phone = [\"phone\", \"mobile\"] }\n\
             attributes = { name = \"name\" }\n",
        )
        .unwrap();
        let crm = run.sources[0];
        let r = &run.resolver;
        assert_eq!(r.n_records(), 2);
        let keys = r.record_keys(crm, "C1").unwrap();
        assert_eq!(keys, [(KindId::EMAIL, "jan@x.nl"), (KindId::PHONE, "+31612345678")]);
        assert_eq!(r.record_attributes(crm, "C1").unwrap().next().unwrap().value, "Jansen, Jan");
        assert_eq!(r.record_keys(crm, "C2").unwrap().len(), 2);
        let report = &run.input.sources[0];
        assert_eq!(report.records_read, 2);
        assert_eq!(report.empty_values.get("phone"), Some(&2));
        assert_eq!(report.empty_values.get("email"), None);
    }

    #[test]
    fn missing_files_and_columns_fail_before_any_row_is_read() {
        let dir = Scratch::new("missing");
        let mapping = "[[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"id\"\n\
                       [[source]]\nname = \"b\"\npath = \"b.csv\"\nid = \"id\"\n\
                       keys = { email = \"mail\" }\nattributes = { city = \"town\" }\n";
        dir.write("a.csv", "id\n1\n");
        let e = run_in(&dir, mapping).unwrap_err();
        let MappingError::OpenInput { file, .. } = &e else { panic!("{e:?}") };
        assert!(file.ends_with("b.csv"));
        assert!(e.to_string().contains("b.csv"), "{e}");

        dir.write("b.csv", "id, mail , city\n1,a@x.nl,Delft\n");
        let e = run_in(&dir, mapping).unwrap_err();
        let MappingError::MissingColumn { file, column, source_name, key, header } = &e else {
            panic!("{e:?}")
        };
        assert!(file.ends_with("b.csv"));
        assert_eq!(
            (column.as_str(), source_name.as_str(), key.as_str()),
            ("town", "b", "attributes.city")
        );
        assert_eq!(header[..], ["id", "mail", "city"]);
        let message = e.to_string();
        assert!(
            message.contains("b.csv")
                && message.contains("\"town\"")
                && message.contains("\"city\""),
            "{message}"
        );

        dir.write("b.csv", "id,mail,town,mail\n1,a@x.nl,Delft,b@x.nl\n");
        let e = run_in(&dir, mapping).unwrap_err();
        assert!(
            matches!(&e, MappingError::DuplicateColumn { column, .. } if column == "mail"),
            "{e:?}"
        );

        // A directory opens but does not read.
        std::fs::create_dir(dir.0.join("c.csv")).unwrap();
        let e =
            run_in(&dir, "[[source]]\nname = \"c\"\npath = \"c.csv\"\nid = \"id\"\n").unwrap_err();
        assert!(matches!(&e, MappingError::ReadInput { .. }), "{e:?}");
    }

    #[test]
    fn malformed_rows_name_file_line_and_column() {
        let dir = Scratch::new("malformed");
        let mapping = "[[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"id\"\nkeys = { email = \"mail\" }\n";
        dir.write("a.csv", "id,mail\n1,a@x.nl\n2,b@x.nl,extra\n");
        let e = run_in(&dir, mapping).unwrap_err();
        let MappingError::FieldCount { file, line, expected, found } = &e else { panic!("{e:?}") };
        assert!(file.ends_with("a.csv"));
        assert_eq!((*line, *expected, *found), (3, 2, 3));
        assert!(e.to_string().contains("a.csv:3:"), "{e}");

        // Lines are counted right across CRLF, blank and whitespace-only lines (skipped) and
        // line breaks inside quoted fields.
        dir.write(
            "a.csv",
            "id,mail\r\n1,a@x.nl\r\n\r\n   \r\n\"2\r\nb\",b@x.nl\r\n3,c@x.nl,extra\r\n",
        );
        let e = run_in(&dir, mapping).unwrap_err();
        assert!(matches!(e, MappingError::FieldCount { line: 7, found: 3, .. }), "{e:?}");

        dir.write("a.csv", b"id,mail\n1,a@x.nl\n\n2,b\xff@x.nl\n".as_slice());
        let e = run_in(&dir, mapping).unwrap_err();
        let MappingError::InvalidUtf8 { line, column, .. } = &e else { panic!("{e:?}") };
        assert_eq!((*line, column.as_str()), (4, "mail"));

        dir.write("a.csv", b"id,m\xffil\n1,a@x.nl\n".as_slice());
        let e = run_in(&dir, mapping).unwrap_err();
        let MappingError::InvalidUtf8 { line, column, .. } = &e else { panic!("{e:?}") };
        assert_eq!((*line, column.as_str()), (1, "#2"));
    }

    #[test]
    fn bad_values_are_counted_not_fatal() {
        let dir = Scratch::new("values");
        dir.write(
            "a.csv",
            "id,mail,given,surname,dob,seen\n\
             1,a@x.nl,Jan,Jansen,1980-01-02,2024-02-29T10:00:00+01:00\n\
             2,,Jan,Jansen,1980-01-02,31-12-2023\n\
             ,c@x.nl,Piet,Post,1970-05-06,2024-02-30\n\
             4,not-an-email,Kees,,1990-03-04,\n\
             5,a@x.nl,Jan,Jansen,1980-01-02,2024-01-01\n",
        );
        let run = run_in(
            &dir,
            "[kinds.name_dob]\nlimit = 1\n[[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"id\"\n\
             keys = { email = \"mail\" }\ncomposite = { name_dob = [\"given\", \"surname\", \"dob\"] }\n\
             attributes = { given_name = \"given\" }\nobserved_at = \"seen\"\n",
        )
        .unwrap();
        let report = &run.input.sources[0];
        assert_eq!(report.source, "a");
        assert_eq!(report.records_read, 5);
        assert_eq!(report.empty_ids, 1);
        assert_eq!(report.bad_timestamps, 2, "31-12-2023 and 2024-02-30; an empty cell is no time");
        assert_eq!(report.empty_values.get("email"), Some(&1));
        assert_eq!(report.empty_values.get("name_dob"), Some(&1));
        assert_eq!(run.input.records_read(), 5);
        let a = run.sources[0];
        let r = &run.resolver;
        assert_eq!(r.n_records(), 4, "the record without id is skipped");
        assert_eq!(run.changes.report.n_records_skipped(), 1);
        assert_eq!(run.changes.report.n_values_rejected(), 1, "not-an-email");
        assert_eq!(r.customer_of(a, "1"), r.customer_of(a, "5"));
        assert_eq!(r.customer_of(a, "1"), r.customer_of(a, "2"), "linked by name_dob alone");
        let attrs: Vec<_> = r.record_attributes(a, "1").unwrap().collect();
        let given = attrs.iter().find(|x| x.name == "given_name").unwrap();
        assert_eq!(given.observed_at, Some(idstitch::Timestamp(1_709_197_200)));
        assert!(attrs.iter().any(|x| x.name == "name_dob#2" && x.value == "1980-01-02"));
        let attrs: Vec<_> = r.record_attributes(a, "2").unwrap().collect();
        assert!(attrs.iter().all(|x| x.observed_at.is_none()));
        assert!(r.record_attributes(a, "4").unwrap().all(|x| x.observed_at.is_none()));
    }

    #[test]
    fn composite_columns_may_be_named_differently_per_source() {
        let dir = Scratch::new("composite");
        dir.write("a.csv", "id,first,last\n1,Jan,Jansen\n2,Piet,Post\n");
        dir.write("b.csv", "nr;voornaam;achternaam\nX;  JAN ;jansen\nY;Kees;Post\n");
        let run = run_in(
            &dir,
            "[kinds.full_name]\nlimit = 1\n\
             [[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"id\"\n\
             composite = { full_name = [\"first\", \"last\"] }\n\
             [[source]]\nname = \"b\"\npath = \"b.csv\"\nid = \"nr\"\ndelimiter = \";\"\n\
             composite = { full_name = [\"voornaam\", \"achternaam\"] }\n",
        )
        .unwrap();
        let (a, b) = (run.sources[0], run.sources[1]);
        let r = &run.resolver;
        assert_eq!(r.source_trust(a), Some(20));
        assert_eq!(r.source_trust(b), Some(10));
        assert_eq!(r.customer_of(a, "1"), r.customer_of(b, "X"));
        assert_ne!(r.customer_of(a, "2"), r.customer_of(b, "Y"));
        assert_eq!(r.n_customers(), 3);
    }

    #[test]
    fn progress_counts_up_to_the_total() {
        let dir = Scratch::new("progress");
        let rows: String = (0..10).map(|i| format!("{i},p{i}@x.nl\n")).collect();
        dir.write("a.csv", format!("id,mail\n{rows}\n\n"));
        let path = dir.write(
            "m.toml",
            "[[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"id\"\nkeys = { email = \"mail\" }\n",
        );
        let mapping = Mapping::from_path(path).unwrap();
        let mut seen = Vec::new();
        let run = mapping.run(4, |p| seen.push(p)).unwrap();
        assert_eq!(run.resolver.n_records(), 10);
        let done: Vec<u64> = seen.iter().map(|p| p.done).collect();
        assert_eq!(done, [4, 8, 10]);
        assert!(seen.iter().all(|p| p.total == Some(10)));
    }

    #[test]
    fn assignments_are_written_as_csv() {
        let dir = Scratch::new("assign");
        dir.write("a.csv", "id,mail\n\"x,1\",a@x.nl\n\"say \"\"hi\"\"\",a@x.nl\nz,\n");
        let run = run_in(
            &dir,
            "[[source]]\nname = \"a\"\npath = \"a.csv\"\nid = \"id\"\nkeys = { email = \"mail\" }\n",
        )
        .unwrap();
        let mut out = Vec::new();
        let n = idstitch::mapping::write_assignments(&run.resolver, &mut out).unwrap();
        assert_eq!(n, 3);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "source,record_id,customer_id\na,\"x,1\",1\na,\"say \"\"hi\"\"\",1\na,z,2\n"
        );
    }
}

/// Change feeds read from CSV, and mappings applied to a durable state: full exports and
/// change feeds against what the state holds, customer ids kept.
#[cfg(feature = "csv")]
mod state {
    use super::*;
    use idstitch::mapping::{AppliedRun, SourceTally};
    use idstitch::{CustomerId, Durable, DurableOptions};
    use std::collections::BTreeMap;

    const MAPPING: &str = "default_country = \"NL\"\n\
        [[source]]\nname = \"crm\"\npath = \"crm.csv\"\nid = \"id\"\n\
        keys = { email = \"email\", phone = \"phone\" }\nattributes = { city = \"city\" }\n\
        [[source]]\nname = \"web\"\npath = \"web.csv\"\nid = \"id\"\nmode = \"changes\"\n\
        deleted = \"deleted\"\nkeys = { email = \"email\" }\n";

    const CRM: &str = "id,email,phone,city\n\
        C1,jan@x.nl,0612345678,Delft\n\
        C2,jan@x.nl,,Delft\n\
        C3,piet@x.nl,0698765432,Leiden\n\
        C4,kees@x.nl,,Gouda\n\
        C5,,0698765432,Leiden\n";

    const WEB: &str = "id,email,deleted\nW1,jan@x.nl,\nW2,kees@x.nl,0\nW3,anna@x.nl,no\n";

    fn open(dir: &Scratch, mapping: &Mapping) -> Durable {
        Durable::open_with(
            dir.0.join("state"),
            &mapping.resolver_builder(),
            DurableOptions::default(),
        )
        .unwrap()
    }

    /// Every record's customer, by `source:id`.
    fn customers(state: &Durable) -> BTreeMap<String, CustomerId> {
        state
            .assignments()
            .map(|(r, c)| {
                (format!("{}:{}", state.source_name(r.source).unwrap(), r.external_id), c)
            })
            .collect()
    }

    fn tally(run: &AppliedRun, source: &str) -> (u64, u64, u64, u64, u64) {
        let t: &SourceTally = run.tallies.iter().find(|t| t.source == source).unwrap();
        (t.added, t.updated, t.unchanged, t.removed, t.unknown_deletions)
    }

    fn first_load(dir: &Scratch) -> (Mapping, Durable, AppliedRun) {
        dir.write("crm.csv", CRM);
        dir.write("web.csv", WEB);
        let mapping = Mapping::from_path(dir.write("mapping.toml", MAPPING)).unwrap();
        let mut state = open(dir, &mapping);
        let run = mapping.apply(&mut state, 2, |_| {}).unwrap();
        (mapping, state, run)
    }

    #[test]
    fn an_export_applied_twice_changes_nothing_and_keeps_every_id() {
        let dir = Scratch::new("apply-twice");
        let (mapping, mut state, first) = first_load(&dir);
        assert_eq!(tally(&first, "crm"), (5, 0, 0, 0, 0));
        assert_eq!(tally(&first, "web"), (3, 0, 0, 0, 0));
        assert_eq!(state.n_records(), 8);
        let ids = customers(&state);
        assert_eq!(ids["crm:C1"], ids["web:W1"]);
        assert_eq!(ids["crm:C3"], ids["crm:C5"], "the shared phone");

        let journal = state.journal_len();
        let again = mapping.apply(&mut state, 3, |_| {}).unwrap();
        assert!(again.changes.events.is_empty(), "{:?}", again.changes.events);
        assert!(again.is_unchanged());
        assert_eq!(tally(&again, "crm"), (0, 0, 5, 0, 0));
        assert_eq!(tally(&again, "web"), (0, 0, 3, 0, 0));
        assert_eq!(state.journal_len(), journal, "nothing journaled");
        assert_eq!(customers(&state), ids);
        // The values rejected are reported on every run.
        assert_eq!(again.input.sources[0].empty_values.get("phone"), Some(&2));

        // Reopened, compacted, reopened: the same customers.
        drop(state);
        let mut state = open(&dir, &mapping);
        assert_eq!(customers(&state), ids);
        state.compact().unwrap();
        drop(state);
        let mut state = open(&dir, &mapping);
        assert_eq!(customers(&state), ids);
        assert!(mapping.apply(&mut state, 100, |_| {}).unwrap().is_unchanged());
    }

    /// Pseudonymised keys compare as raw ones do: the same files twice change nothing.
    #[test]
    fn a_pseudonymised_state_applied_twice_changes_nothing() {
        let dir = Scratch::new("apply-pseudo");
        dir.write("crm.csv", CRM);
        dir.write("web.csv", WEB);
        let mapping = Mapping::from_path(dir.write("mapping.toml", MAPPING)).unwrap();
        let mut builder = mapping.resolver_builder();
        builder.pseudonymize("the publisher's secret");
        let mut state =
            Durable::open_with(dir.0.join("state"), &builder, DurableOptions::default()).unwrap();
        assert_eq!(mapping.apply(&mut state, 2, |_| {}).unwrap().added(), 8);
        let ids = customers(&state);
        let again = mapping.apply(&mut state, 2, |_| {}).unwrap();
        assert!(again.is_unchanged() && again.changes.events.is_empty());
        assert_eq!(customers(&state), ids);
        dir.write("crm.csv", CRM.replace("C2,jan@x.nl", "C2,kees@x.nl"));
        let changed = mapping.apply(&mut state, 2, |_| {}).unwrap();
        assert_eq!(tally(&changed, "crm"), (0, 1, 4, 0, 0));
        assert_eq!(customers(&state)["crm:C2"], ids["crm:C4"]);
    }

    #[test]
    fn an_export_without_a_row_removes_exactly_that_record() {
        let dir = Scratch::new("apply-export");
        let (mapping, mut state, _) = first_load(&dir);
        // A source the mapping does not name keeps its records.
        let other = state.add_source("shop", 1).unwrap();
        state
            .upsert(idstitch::RecordInput::new(other, "S1").with_key(KindId::EMAIL, "piet@x.nl"))
            .unwrap();
        let before = customers(&state);

        // C4 leaves the export, C2 changes its city, C6 is new.
        dir.write(
            "crm.csv",
            "id,email,phone,city\nC1,jan@x.nl,0612345678,Delft\nC2,jan@x.nl,,Den Haag\n\
             C3,piet@x.nl,0698765432,Leiden\nC5,,0698765432,Leiden\nC6,els@x.nl,,Breda\n",
        );
        // An empty feed changes nothing.
        dir.write("web.csv", "id,email,deleted\n");
        let run = mapping.apply(&mut state, 2, |_| {}).unwrap();
        assert_eq!(tally(&run, "crm"), (1, 1, 3, 1, 0));
        assert_eq!(tally(&run, "web"), (0, 0, 0, 0, 0));
        assert_eq!((run.added(), run.updated(), run.removed()), (1, 1, 1));
        let after = customers(&state);
        let crm = state.source_id("crm").unwrap();
        assert_eq!(state.customer_of(crm, "C4"), None);
        let mut expected = before.clone();
        expected.remove("crm:C4");
        expected.insert("crm:C6".into(), after["crm:C6"]);
        assert_eq!(after, expected, "every other record keeps its customer");
        assert!(!before.values().any(|&c| c == after["crm:C6"]), "C6 is a new customer");
        assert_eq!(
            state.record_attributes(crm, "C2").unwrap().next().map(|a| a.value.to_string()),
            Some("Den Haag".to_string())
        );
        // C6's new customer, C2's updated one, and C4's, which keeps kees's web record W2.
        assert_eq!(after["web:W2"], before["crm:C4"]);
        assert_eq!(
            run.changes.events,
            [
                idstitch::ChangeEvent::Created {
                    customers: idstitch::CustomerIdRange::single(after["crm:C6"])
                },
                idstitch::ChangeEvent::Updated { customer: after["crm:C2"] },
                idstitch::ChangeEvent::Updated { customer: after["web:W2"] },
            ]
        );
    }

    #[test]
    fn a_change_feed_upserts_and_deletes() {
        let dir = Scratch::new("apply-feed");
        let (mapping, mut state, _) = first_load(&dir);
        let before = customers(&state);
        // W1 is deleted; W2 changes its e-mail to piet's (it moves to piet's customer); W4 is
        // new; W9 was never stored; W3 is deleted and then comes back unchanged (the last row
        // of an id decides); W5 is added and then deleted.
        dir.write(
            "web.csv",
            "id , email , deleted\n\
             W1,, yes \nW2,piet@x.nl,\nW4,anna@x.nl,false\nW9,,DELETED\n\
             W3,,1\nW3,anna@x.nl,0\nW5,els@x.nl,\nW5,,t\n",
        );
        let run = mapping.apply(&mut state, 3, |_| {}).unwrap();
        assert_eq!(tally(&run, "crm"), (0, 0, 5, 0, 0));
        // W4 and W5 added, W2 updated, W3 unchanged; W1 and W5 removed, W9 unknown.
        assert_eq!(tally(&run, "web"), (2, 1, 1, 2, 1));
        assert_eq!(run.input.sources[1].records_read, 8);
        assert_eq!(run.input.sources[1].deletions, 4);
        let after = customers(&state);
        let web = state.source_id("web").unwrap();
        assert_eq!(state.customer_of(web, "W1"), None);
        assert_eq!(state.customer_of(web, "W5"), None);
        assert_eq!(after["web:W2"], before["crm:C3"], "W2 joined piet");
        assert_eq!(after["web:W3"], before["web:W3"]);
        assert_eq!(after["web:W4"], after["web:W3"], "anna's e-mail");
        for (record, customer) in &before {
            if !record.starts_with("web:") {
                assert_eq!(after.get(record), Some(customer), "{record}");
            }
        }

        // A flag that says neither stops the load at its row.
        dir.write("web.csv", "id,email,deleted\nW1,jan@x.nl,\nW2,kees@x.nl,maybe\n");
        let e = mapping.apply(&mut state, 10, |_| {}).unwrap_err();
        let MappingError::BadDeletionFlag { file, line, column, value } = &e else {
            panic!("{e:?}")
        };
        assert!(file.ends_with("web.csv"));
        assert_eq!((*line, column.as_str(), value.as_str()), (3, "deleted", "maybe"));
        assert!(e.to_string().contains("web.csv:3: column \"deleted\": \"maybe\""), "{e}");
        // A missing `deleted` column names the key.
        dir.write("web.csv", "id,email\nW1,jan@x.nl\n");
        let e = mapping.apply(&mut state, 10, |_| {}).unwrap_err();
        assert!(matches!(&e, MappingError::MissingColumn { key, .. } if key == "deleted"), "{e:?}");
    }

    #[test]
    fn a_change_feed_in_a_fresh_run_leaves_out_what_it_deletes() {
        let dir = Scratch::new("run-feed");
        dir.write("crm.csv", CRM);
        dir.write("web.csv", "id,email,deleted\nW1,jan@x.nl,\nW2,kees@x.nl,\nW2,,y\nW3,,y\n");
        let run = run_in(&dir, MAPPING).unwrap();
        let web = run.sources[1];
        assert_eq!(run.resolver.n_records(), 6);
        assert_eq!(run.resolver.customer_of(web, "W2"), None);
        assert!(run.resolver.customer_of(web, "W1").is_some());
        assert_eq!(run.input.sources[1].deletions, 2);
        assert!(run.summary().to_string().contains("2 rows marked deleted"));
    }

    /// A row of a full export that cannot be stored (too many keys) leaves the stored record
    /// as it is: it is counted, not taken for a record that left the export.
    #[cfg(feature = "serde_json")]
    #[test]
    fn an_export_row_that_cannot_be_stored_leaves_the_stored_record() {
        let dir = Scratch::new("apply-skipped");
        let mapping = Mapping::from_path(dir.write(
            "mapping.toml",
            "[[source]]\nname = \"web\"\npath = \"web.jsonl\"\nid = \"id\"\nkeys = { cookie = \"c\" }\n",
        ))
        .unwrap();
        dir.write("web.jsonl", "{\"id\": \"w1\", \"c\": \"a\"}\n{\"id\": \"w2\", \"c\": \"b\"}\n");
        let mut state = open(&dir, &mapping);
        mapping.apply(&mut state, 10, |_| {}).unwrap();
        let cookies: Vec<String> = (0..5000).map(|i| format!("\"c{i}\"")).collect();
        dir.write(
            "web.jsonl",
            format!(
                "{{\"id\": \"w1\", \"c\": [{}]}}\n{{\"id\": \"w2\", \"c\": \"b\"}}\n",
                cookies.join(",")
            ),
        );
        let run = mapping.apply(&mut state, 10, |_| {}).unwrap();
        assert_eq!(run.changes.report.n_records_skipped(), 1);
        assert_eq!(tally(&run, "web"), (0, 0, 1, 0, 0));
        let web = state.source_id("web").unwrap();
        assert_eq!(state.record_keys(web, "w1").unwrap(), [(KindId::COOKIE, "a")]);
    }

    #[test]
    fn a_state_without_the_mappings_kinds_is_refused_before_anything_is_read() {
        let dir = Scratch::new("apply-kinds");
        dir.write("crm.csv", "id,no\nC1,L-1\n");
        let mapping = Mapping::from_path(dir.write(
            "mapping.toml",
            "[kinds.legacy_no]\nlimit = 1\n[[source]]\nname = \"crm\"\npath = \"crm.csv\"\n\
             id = \"id\"\nkeys = { legacy_no = \"no\" }\n",
        ))
        .unwrap();
        // Opened without the mapping's configuration: the kind is missing.
        let mut state = Durable::open(dir.0.join("state"), DurableOptions::default()).unwrap();
        let e = mapping.apply(&mut state, 10, |_| {}).unwrap_err();
        assert!(
            matches!(&e, MappingError::Config { error: idstitch::ConfigError::UnknownKind(k), .. } if k == "legacy_no"),
            "{e:?}"
        );
        assert_eq!(state.n_records(), 0);
        drop(state);
        // With it, the state refuses to open: its configuration differs.
        let e = Durable::open_with(
            dir.0.join("state"),
            &mapping.resolver_builder(),
            DurableOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                idstitch::StateError::Snapshot(idstitch::SnapshotError::ConfigMismatch { .. })
            ),
            "{e:?}"
        );
        // A state error while applying names the directory.
        let e =
            MappingError::State { dir: dir.0.join("state"), error: idstitch::StateError::Poisoned };
        assert_eq!(
            e.to_string(),
            format!(
                "{}: an earlier journal write failed; reopen the state directory",
                dir.0.join("state").display()
            )
        );
    }
}

#[cfg(feature = "serde_json")]
mod json_input {
    use super::*;

    const MAPPING: &str = "default_country = \"NL\"\n[[source]]\nname = \"web\"\npath = \"web.jsonl\"\n\
                           id = \"id\"\nkeys = { email = \"emails\", phone = \"phone\", customer_no = \"nr\" }\n\
                           attributes = { visits = \"visits\", member = \"member\" }\nobserved_at = \"seen\"\n";

    #[test]
    fn strings_numbers_arrays_and_nulls() {
        let dir = Scratch::new("jsonl");
        dir.write(
            "web.jsonl",
            "\u{feff}{\"id\": \"w1\", \"emails\": [\"a@x.nl\", \"b@x.nl\", null, \"\"], \"phone\": 612345678, \"nr\": null, \"visits\": 3, \"member\": true, \"seen\": \"2024-01-01\", \"other\": {\"x\": 1}}\n\
             \n\
             {\"id\": 42, \"emails\": \"b@x.nl\", \"visits\": 1.5}\r\n\
             {\"id\": \"w3\", \"nr\": \"C1\", \"seen\": \"yesterday\"}",
        );
        let run = run_in(&dir, MAPPING).unwrap();
        let web = run.sources[0];
        let r = &run.resolver;
        assert_eq!(r.n_records(), 3);
        let keys = r.record_keys(web, "w1").unwrap();
        assert_eq!(
            keys,
            [(KindId::EMAIL, "a@x.nl"), (KindId::EMAIL, "b@x.nl"), (KindId::PHONE, "+31612345678")]
        );
        assert_eq!(r.customer_of(web, "w1"), r.customer_of(web, "42"), "a number id is its text");
        let attrs: Vec<_> = r.record_attributes(web, "w1").unwrap().collect();
        let value = |name: &str| attrs.iter().find(|a| a.name == name).map(|a| a.value);
        assert_eq!((value("visits"), value("member")), (Some("3"), Some("true")));
        assert_eq!(r.record_attributes(web, "42").unwrap().next().unwrap().value, "1.5");
        let report = &run.input.sources[0];
        assert_eq!(report.records_read, 3);
        assert_eq!(report.bad_timestamps, 1);
        // w1: null and "" in the array, nr null; 42: phone, nr missing; w3: emails, phone missing.
        assert_eq!(report.empty_values.get("email"), Some(&3));
        assert_eq!(report.empty_values.get("phone"), Some(&2));
        assert_eq!(report.empty_values.get("customer_no"), Some(&2));
    }

    #[test]
    fn malformed_lines_name_file_line_and_column() {
        let dir = Scratch::new("badjson");
        for (content, expect) in [
            (&b"{\"id\": \"1\"}\n{\"id\": \"2\",}\n"[..], "invalid"),
            (b"{\"id\": \"1\"}\n\n[1, 2]\n", "object"),
            (b"{\"id\": [\"1\", \"2\"]}\n", "array"),
            (b"{\"id\": \"1\", \"emails\": {\"a\": 1}}\n", "nested"),
            (b"{\"id\": \"1\", \"emails\": [[\"a@x.nl\"]]}\n", "nested array"),
            (b"{\"id\": \"1\"}\n{\"id\": \"2\"}\n{\"id\": \"3\", \"visits\": \"\xff\"}\n", "utf8"),
        ] {
            dir.write("web.jsonl", content);
            let e = run_in(&dir, MAPPING).unwrap_err();
            let message = e.to_string();
            assert!(message.contains("web.jsonl:"), "{message}");
            match (expect, &e) {
                ("invalid", MappingError::InvalidJson { line: 2, column, .. }) => {
                    assert_eq!(*column, 12, "{message}");
                    assert!(
                        message.ends_with("web.jsonl:2:12: invalid JSON: trailing comma"),
                        "{message}"
                    );
                }
                ("object", MappingError::NotAnObject { line: 3, found: "an array", .. }) => {}
                (
                    "array",
                    MappingError::UnexpectedValue { line: 1, field, found: "an array", .. },
                ) => {
                    assert_eq!(field, "id")
                }
                ("nested", MappingError::UnexpectedValue { field, found: "an object", .. })
                | (
                    "nested array",
                    MappingError::UnexpectedValue { field, found: "an array", .. },
                ) => {
                    assert_eq!(field, "emails")
                }
                ("utf8", MappingError::InvalidUtf8 { line: 3, .. }) => {}
                _ => panic!("{expect}: {e:?}"),
            }
        }
    }
}

// --- the sample data and the FEBRL benchmark -------------------------------------------------

#[cfg(feature = "csv")]
fn examples_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data")
}

/// Non-blank lines of a file, less a header line for CSV; a SQLite database's rows in the
/// table the source reads (counted by SQLite, not through the mapping).
#[cfg(all(
    feature = "csv",
    feature = "serde_json",
    feature = "sqlite",
    feature = "mbox",
    feature = "ga4"
))]
fn rows_in(path: &Path) -> u64 {
    if path.extension().is_some_and(|e| e == "sqlite") {
        let db = rusqlite::Connection::open(path).unwrap();
        let n: i64 = db.query_row("SELECT count(*) FROM registrations", [], |r| r.get(0)).unwrap();
        return n as u64;
    }
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    if path.extension().is_some_and(|e| e == "csv") {
        lines - 1
    } else {
        lines
    }
}

/// The sample as `examples/resolve_csv.rs` resolves it: every row read, every record assigned.
/// The sample applied to an empty state gives the customers and ids of a fresh run, and
/// applied again changes nothing.
#[cfg(all(
    feature = "csv",
    feature = "serde_json",
    feature = "sqlite",
    feature = "mbox",
    feature = "ga4"
))]
#[test]
fn the_sample_applied_to_a_state_gives_the_customers_of_a_run() {
    use idstitch::{Durable, DurableOptions};
    let mapping = Mapping::from_path(examples_data().join("publisher.toml")).unwrap();
    let run = mapping.run(512, |_| {}).unwrap();
    let dir = Scratch::new("sample-state");
    let mut state =
        Durable::open_with(&dir.0, &mapping.resolver_builder(), DurableOptions::default()).unwrap();
    let mut last = None;
    let applied = mapping.apply(&mut state, 512, |p| last = Some(p)).unwrap();
    assert_eq!(last.map(|p| p.done), Some(1151));
    assert_eq!(applied.added(), 1151);
    assert_eq!(applied.input, run.input);
    assert_eq!(applied.changes, run.changes, "the same events and report");
    let of = |r: &Resolver| -> Vec<(String, String, idstitch::CustomerId)> {
        let mut rows: Vec<_> = r
            .assignments()
            .map(|(rec, c)| {
                (r.source_name(rec.source).unwrap().to_string(), rec.external_id.to_string(), c)
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(of(&state), of(&run.resolver));
    let again = mapping.apply(&mut state, 512, |_| {}).unwrap();
    assert!(again.is_unchanged() && again.changes.events.is_empty());
    assert_eq!(of(&state), of(&run.resolver));
    let summary = again.summary(&state).to_string();
    assert!(
        summary.contains("records added: 0, updated: 0, removed: 0; change events: 0"),
        "{summary}"
    );
    assert!(
        summary.contains("\ncrm                 0        0        231        0\n"),
        "{summary}"
    );
}

#[cfg(all(
    feature = "csv",
    feature = "serde_json",
    feature = "sqlite",
    feature = "mbox",
    feature = "ga4"
))]
#[test]
fn the_sample_resolves_end_to_end() {
    let mapping = Mapping::from_path(examples_data().join("publisher.toml")).unwrap();
    let kinds: Vec<&str> = mapping.kinds().iter().map(|k| k.name.as_str()).collect();
    assert_eq!(kinds, ["full_name", "legacy_no", "name_dob", "newsletter_id"]);
    assert!(mapping.sources().iter().any(|s| s.input.format == InputFormat::JsonLines));
    assert!(mapping.sources().iter().any(|s| s.input.format == InputFormat::Sql));

    let mut last = None;
    let run = mapping.run(256, |p| last = Some(p)).unwrap();
    let mut rows = 0;
    let mut format_records = 0;
    for (source, report) in mapping.sources().iter().zip(&run.input.sources) {
        match source.input.format {
            // Messages start at `From ` lines; a GA4 export has a row per line.
            InputFormat::Mbox => {
                let text = std::fs::read_to_string(&source.input.path).unwrap();
                assert_eq!(
                    report.records_read,
                    text.lines().filter(|l| l.starts_with("From ")).count() as u64
                );
                format_records += distinct_correspondents(&text);
            }
            InputFormat::Ga4 => {
                let text = std::fs::read_to_string(&source.input.path).unwrap();
                assert_eq!(report.records_read, rows_in(&source.input.path), "{}", source.name);
                format_records += distinct_pseudo_ids(&text);
            }
            _ => {
                assert_eq!(report.records_read, rows_in(&source.input.path), "{}", source.name);
                rows += report.records_read;
            }
        }
    }
    assert_eq!(format_records, 62 + 70, "the generator's correspondents and visitors");
    let rows = rows + format_records;
    let last = last.unwrap();
    assert_eq!((last.done, last.total), (rows, Some(rows)));
    assert!(rows > 900, "about 300 people give about 1000 records: {rows}");
    let legacy = &run.input.sources[1];
    assert_eq!(legacy.source, "legacy_crm");
    assert!(legacy.bad_timestamps > 0, "the legacy CRM writes some dates DD-MM-YYYY");
    assert_eq!(run.changes.report.n_records_skipped(), 0);
    assert_eq!(run.resolver.n_records() as u64, rows);

    let mut out = Vec::new();
    let written = idstitch::mapping::write_assignments(&run.resolver, &mut out).unwrap();
    assert_eq!(written, rows);
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("source,record_id,customer_id"));
    let mut customers = std::collections::BTreeSet::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let [source, record, customer] = fields[..] else { panic!("{line}") };
        let id = run.resolver.source_id(source).unwrap();
        let c = run.resolver.customer_of(id, record).unwrap();
        assert_eq!(c.to_string(), customer);
        customers.insert(c);
    }
    assert_eq!(customers.len(), run.resolver.n_customers());
}

/// The files hold the generator's records and the mapping its policy: the customers are those
/// of resolving the generated records directly.
#[cfg(all(
    feature = "csv",
    feature = "serde_json",
    feature = "sqlite",
    feature = "mbox",
    feature = "ga4"
))]
#[test]
fn the_sample_gives_the_customers_of_the_generated_records() {
    use idstitch_testkit::evaluate::PairCounts;
    use idstitch_testkit::synth::{self, SynthConfig, SynthIds};

    let data = synth::generate(&SynthConfig::new(300, 2026));
    let mut direct = synth::resolver_builder().build().unwrap();
    let ids = SynthIds::register(&mut direct).unwrap();
    direct.ingest(data.records.iter().map(|r| ids.input(r)));

    let run = Mapping::from_path(examples_data().join("publisher.toml"))
        .unwrap()
        .run(512, |_| {})
        .unwrap();
    let tables = |r: &idstitch::RecordRef<'_>| {
        !["mail", "shop_ga4"].contains(&run.resolver.source_name(r.source).unwrap())
    };
    let n_table_records = run.resolver.assignments().filter(|(r, _)| tables(r)).count();
    assert_eq!(n_table_records, data.records.len());
    let labels = data.records.iter().map(|r| {
        let source = run.resolver.source_id(r.source).unwrap();
        let mapped = run.resolver.customer_of(source, &r.external_id).unwrap();
        let ours = direct.customer_of(ids.source(r.source).unwrap(), &r.external_id).unwrap();
        (mapped, ours)
    });
    let counts = PairCounts::from_labels(labels);
    assert_eq!(counts.true_positives, counts.predicted, "no pair together that synth keeps apart");
    assert_eq!(counts.true_positives, counts.actual, "no pair apart that synth puts together");
    // The mailbox and GA4 records join the customers of the generated records or stand apart:
    // the customers holding a generated record are as many as direct resolving gives.
    let with_table_records: std::collections::BTreeSet<_> =
        run.resolver.assignments().filter(|(r, _)| tables(r)).map(|(_, c)| c).collect();
    assert_eq!(with_table_records.len(), direct.n_customers());
}

/// The distinct correspondents of a mailbox, read naively: the addresses in From, To, Cc and
/// Reply-To header lines (in `<…>` or bare), lower-cased, less the sample's owners.
fn distinct_correspondents(text: &str) -> u64 {
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some((name, value)) = line.split_once(": ") else { continue };
        if !["From", "To", "Cc", "Reply-To"].contains(&name) {
            continue;
        }
        for part in value.split(',') {
            let address = part.rsplit_once('<').map_or(part, |(_, a)| a.trim_end_matches('>'));
            let address = address.trim().to_lowercase();
            if address.contains('@') && !address.ends_with("@publisher.nl") {
                seen.insert(address);
            }
        }
    }
    seen.len() as u64
}

/// The distinct `user_pseudo_id`s of a GA4 export.
fn distinct_pseudo_ids(text: &str) -> u64 {
    let ids: std::collections::BTreeSet<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            serde_json::from_str::<serde_json::Value>(l).ok()?["user_pseudo_id"]
                .as_str()
                .map(String::from)
        })
        .collect();
    ids.len() as u64
}

/// FEBRL dataset3 through `examples/data/febrl3.toml`, as `examples/febrl.rs` scores it.
/// Measured: precision 1.0000, recall 0.9962, F1 0.9981.
#[cfg(feature = "csv")]
#[test]
fn febrl3_with_exact_and_composite_keys() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/febrl/dataset3.csv");
    if !data.exists() {
        println!("skipped: {} not found", data.display());
        return;
    }
    let mapping = Mapping::from_path(examples_data().join("febrl3.toml")).unwrap();
    assert_eq!(
        mapping.sources()[0].input.path.canonicalize().unwrap(),
        data.canonicalize().unwrap()
    );
    let run = mapping.run(1024, |_| {}).unwrap();
    assert_eq!(run.input.records_read(), 5000);
    assert_eq!(run.resolver.n_records(), 5000);
    let labels: Vec<_> = run
        .resolver
        .assignments()
        .map(|(record, customer)| {
            let n: u32 = record.external_id.split('-').nth(1).unwrap().parse().unwrap();
            (customer, n)
        })
        .collect();
    let counts = idstitch_testkit::evaluate::PairCounts::from_labels(labels);
    let (p, r, f1) = (counts.precision(), counts.recall(), counts.f1());
    println!("FEBRL dataset3: precision {p:.4} recall {r:.4} F1 {f1:.4}");
    assert!(p >= 0.99, "precision {p}");
    assert!(f1 >= 0.995, "F1 {f1} (measured 0.9981)");
}
