//! Data-driven scenario tests, one per trap of shared identifiers (switchboards, public IPs,
//! placeholders, family e-mails, …) and per policy rule: `tests/scenarios/*.toml` hold records
//! and the customers (and explanations) expected; `check` runs each file three ways — record by
//! record, in reverse, and as one bulk ingest — and all must give the expectation. Each file is
//! a test of its own, so a failure names its file, and a file without a test fails
//! `every_scenario_file_has_a_test`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use idstitch::{
    BlockReason, Explanation, KindPolicy, KindSpec, Normalizer, RecordInput, Resolver,
    ResolverBuilder,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    #[serde(default)]
    default_country: Option<String>,
    #[serde(default)]
    policy: BTreeMap<String, PolicySpec>,
    #[serde(default)]
    composite: BTreeMap<String, CompositeSpec>,
    /// Host-defined kinds with the opaque normaliser.
    #[serde(default)]
    kind: BTreeMap<String, CompositeSpec>,
    #[serde(rename = "record")]
    records: Vec<RecordSpec>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    limit: Option<u32>,
    priority: Option<i32>,
    generic_cap: Option<u32>,
    links: Option<bool>,
    #[serde(default)]
    deny: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompositeSpec {
    /// The fields of a composite kind; none for a host kind (`[kind.*]`).
    #[serde(default)]
    fields: Vec<String>,
    limit: Option<u32>,
    priority: i32,
    generic_cap: Option<u32>,
    #[serde(default)]
    constraint_only: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordSpec {
    source: String,
    id: String,
    #[serde(default)]
    keys: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    customers: Vec<Vec<String>>,
    #[serde(default)]
    rejected: Option<u64>,
    #[serde(default)]
    explain: Vec<ExplainSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainSpec {
    a: String,
    b: String,
    verdict: String,
}

fn builder(s: &Scenario) -> ResolverBuilder {
    let mut b = Resolver::builder();
    b.default_country(s.default_country.as_deref().unwrap_or("NL"));
    for (kind, p) in &s.policy {
        let base = Resolver::builder().build().unwrap();
        let current = base
            .kind_id(kind)
            .and_then(|k| base.kind_spec(k).cloned())
            .unwrap_or_else(|| panic!("policy for unknown kind {kind}"));
        let mut policy = current.policy.clone();
        if p.limit.is_some() {
            policy.limit = p.limit;
        }
        if let Some(priority) = p.priority {
            policy.priority = priority;
        }
        if p.generic_cap.is_some() {
            policy.generic_cap = p.generic_cap;
        }
        if let Some(links) = p.links {
            policy.links = links;
        }
        policy.deny.extend(p.deny.iter().cloned());
        b.policy(kind, policy);
    }
    for (name, c) in &s.composite {
        let mut policy = KindPolicy::new(c.priority);
        policy.limit = c.limit;
        policy.generic_cap = c.generic_cap;
        policy.links = !c.constraint_only;
        b.kind(name, KindSpec::composite(c.fields.clone(), policy));
    }
    for (name, k) in &s.kind {
        assert!(k.fields.is_empty(), "kind {name}: fields belong to [composite.*]");
        let mut policy = KindPolicy::new(k.priority);
        policy.limit = k.limit;
        policy.generic_cap = k.generic_cap;
        policy.links = !k.constraint_only;
        b.kind(name, KindSpec::new(Normalizer::Opaque, policy));
    }
    b
}

fn inputs(s: &Scenario, resolver: &mut Resolver) -> Vec<RecordInput> {
    s.records
        .iter()
        .map(|r| {
            let source = match resolver.source_id(&r.source) {
                Some(id) => id,
                None => {
                    let trust = 100 - 10 * resolver.sources().count() as u32;
                    resolver.add_source(&r.source, trust).unwrap()
                }
            };
            let mut rec = RecordInput::new(source, r.id.clone());
            for (kind, values) in &r.keys {
                let kind_id =
                    resolver.kind_id(kind).unwrap_or_else(|| panic!("unknown kind {kind}"));
                let values = match values {
                    OneOrMany::One(v) => vec![v.clone()],
                    OneOrMany::Many(v) => v.clone(),
                };
                for v in values {
                    rec = rec.with_key(kind_id, v);
                }
            }
            for (name, value) in &r.attributes {
                rec = rec.with_attribute(name.clone(), value.clone());
            }
            rec
        })
        .collect()
}

fn name_of(resolver: &Resolver, rec: &str) -> (idstitch::SourceId, String) {
    let (source, id) =
        rec.split_once('/').unwrap_or_else(|| panic!("record {rec} is not source/id"));
    (
        resolver.source_id(source).unwrap_or_else(|| panic!("unknown source in {rec}")),
        id.to_string(),
    )
}

fn customers(resolver: &Resolver) -> BTreeSet<BTreeSet<String>> {
    let mut by: BTreeMap<idstitch::CustomerId, BTreeSet<String>> = BTreeMap::new();
    for (r, c) in resolver.assignments() {
        let source = resolver.source_name(r.source).unwrap();
        by.entry(c).or_default().insert(format!("{source}/{}", r.external_id));
    }
    by.into_values().collect()
}

fn verdict(e: &Explanation) -> String {
    match e {
        Explanation::Linked { .. } => "linked".into(),
        Explanation::NoPath { .. } => "no_path".into(),
        Explanation::Blocked { blocked, .. } => {
            let reasons: BTreeSet<&str> = blocked
                .iter()
                .map(|b| match b.reason {
                    BlockReason::DenyListed => "deny_listed",
                    BlockReason::Generic { .. } => "generic",
                    BlockReason::Limit { .. } => "limit",
                    BlockReason::Ambiguous { .. } => "ambiguous",
                    _ => "other",
                })
                .collect();
            reasons.into_iter().collect::<Vec<_>>().join("+")
        }
        _ => "other".into(),
    }
}

fn check(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let s: Scenario = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let expected: BTreeSet<BTreeSet<String>> =
        s.expect.customers.iter().map(|c| c.iter().cloned().collect()).collect();
    let all: usize = s.expect.customers.iter().map(Vec::len).sum();
    assert_eq!(all, s.records.len(), "{}: expectation must list every record once", path.display());

    for mode in ["one by one", "reverse", "bulk"] {
        let mut resolver = builder(&s).build().unwrap();
        let mut records = inputs(&s, &mut resolver);
        let mut rejected = 0;
        match mode {
            "bulk" => rejected += resolver.ingest(records).report.n_values_rejected(),
            _ => {
                if mode == "reverse" {
                    records.reverse();
                }
                for r in records {
                    rejected += resolver.upsert(r).unwrap().report.n_values_rejected();
                }
            }
        }
        let ctx = format!("{} ({mode}): {}", path.display(), s.description);
        assert_eq!(customers(&resolver), expected, "{ctx}");
        if let Some(n) = s.expect.rejected {
            assert_eq!(rejected, n, "{ctx}: rejected values");
        }
        for e in &s.expect.explain {
            let (sa, ia) = name_of(&resolver, &e.a);
            let (sb, ib) = name_of(&resolver, &e.b);
            let explanation = resolver.explain(sa, &ia, sb, &ib).unwrap();
            assert_eq!(
                verdict(&explanation),
                e.verdict,
                "{ctx}: explain {} vs {}:\n{}",
                e.a,
                e.b,
                resolver.describe(&explanation)
            );
        }
    }
}

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

/// One `#[test]` per scenario file, and `FILES`, the list of them.
macro_rules! scenarios {
    ($($name:ident => $file:literal,)+) => {
        $(
            #[test]
            fn $name() {
                check(&scenario_dir().join($file));
            }
        )+

        /// Every scenario file that has a test above.
        const FILES: &[&str] = &[$($file),+];
    };
}

scenarios! {
    same_person_many_formats => "01_same_person_many_formats.toml",
    office_switchboard => "02_office_switchboard.toml",
    switchboard_generic => "03_switchboard_generic.toml",
    public_wifi_ip => "04_public_wifi_ip.toml",
    office_ip_under_cap => "05_office_ip_under_cap.toml",
    placeholders => "06_placeholders.toml",
    family_email => "07_family_email.toml",
    role_address => "08_role_address.toml",
    composite_name_dob => "09_composite_name_dob.toml",
    priority_order => "10_priority_order.toml",
    ip_links_nothing_by_default => "11_ip_links_nothing_by_default.toml",
    constraint_full_name => "12_constraint_full_name.toml",
    one_subscription_per_customer => "13_one_subscription_per_customer.toml",
}

/// A new scenario file cannot be skipped silently: every `.toml` in `tests/scenarios` must be
/// in the `scenarios!` list above, and every listed file must exist.
#[test]
fn every_scenario_file_has_a_test() {
    let dir = scenario_dir();
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(on_disk.len() >= 8, "expected the scenario files in {}", dir.display());
    let listed: BTreeSet<String> = FILES.iter().map(|f| f.to_string()).collect();
    assert_eq!(listed.len(), FILES.len(), "a file is listed twice in scenarios!");
    let without_test: Vec<&String> = on_disk.difference(&listed).collect();
    assert!(
        without_test.is_empty(),
        "scenario files without a test (add them to scenarios! in tests/scenarios.rs): {without_test:?}"
    );
    let missing: Vec<&String> = listed.difference(&on_disk).collect();
    assert!(missing.is_empty(), "listed in scenarios! but not in {}: {missing:?}", dir.display());
}
