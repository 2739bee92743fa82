//! Customer views: every survivorship rule, provenance, losing candidates, and
//! views kept in step through published change events.

use std::cmp::Ordering;
use std::sync::Arc;

use idstitch::adapter::memory::CollectingSink;
use idstitch::view::{Candidate, Rule, Survivorship, ViewConfig, ViewUpdate};
use idstitch::{KindId, RecordInput, Resolver, SourceId, Timestamp};
use proptest::prelude::*;

/// One customer seen by three sources, each saying something else about `name` and `city`.
fn fixture() -> (Resolver, idstitch::CustomerId) {
    let mut r = Resolver::builder().default_country("NL").build().unwrap();
    let crm = r.add_source("crm", 100).unwrap();
    let helpdesk = r.add_source("helpdesk", 50).unwrap();
    let newsletter = r.add_source("newsletter", 10).unwrap();
    let t = |s| Some(Timestamp(s));
    let rec = |source, id: &str, name: &str, city: &str, at: Option<Timestamp>| {
        let mut rec = RecordInput::new(source, id).with_key(KindId::EMAIL, "jan@x.nl");
        for (attr, value) in [("name", name), ("city", city)] {
            rec.attributes.push(idstitch::Attribute {
                name: attr.into(),
                value: value.into(),
                observed_at: at,
            });
        }
        rec
    };
    r.upsert(rec(crm, "C-1", "J. Jansen", "Utrecht", t(100))).unwrap();
    r.upsert(rec(helpdesk, "T-1", "Jan Jansen", "amsterdam", t(300))).unwrap();
    r.upsert(rec(helpdesk, "T-2", "jan  jansen", "Amsterdam ", None)).unwrap();
    r.upsert(rec(newsletter, "N-1", "Johannes Jansen", "Rotterdam", t(200))).unwrap();
    let c = r.customer_of(crm, "C-1").unwrap();
    (r, c)
}

fn golden(
    r: &Resolver,
    c: idstitch::CustomerId,
    rule: Rule,
    attr: &str,
) -> (String, String, usize) {
    let view = r.customer_view(c, &ViewConfig::default().default_rule(rule)).unwrap();
    let g = &view.attributes[attr];
    (
        g.value.clone(),
        format!("{}/{}", g.provenance.source, g.provenance.record),
        g.candidates.len(),
    )
}

#[test]
fn source_priority_takes_the_most_trusted_source() {
    let (r, c) = fixture();
    assert_eq!(
        golden(&r, c, Rule::SourcePriority, "name"),
        ("J. Jansen".into(), "crm/C-1".into(), 3)
    );
}

#[test]
fn most_recent_takes_the_latest_observation() {
    let (r, c) = fixture();
    assert_eq!(
        golden(&r, c, Rule::MostRecent, "city"),
        ("amsterdam".into(), "helpdesk/T-1".into(), 3)
    );
}

#[test]
fn most_frequent_groups_values_as_normalised_text() {
    let (r, c) = fixture();
    // "Jan Jansen" and "jan  jansen" are one value; the helpdesk record observed latest wins.
    assert_eq!(
        golden(&r, c, Rule::MostFrequent, "name"),
        ("Jan Jansen".into(), "helpdesk/T-1".into(), 3)
    );
    assert_eq!(
        golden(&r, c, Rule::MostFrequent, "city"),
        ("amsterdam".into(), "helpdesk/T-1".into(), 3)
    );
}

#[test]
fn longest_takes_the_most_complete_spelling() {
    let (r, c) = fixture();
    assert_eq!(
        golden(&r, c, Rule::Longest, "name"),
        ("Johannes Jansen".into(), "newsletter/N-1".into(), 3)
    );
}

#[test]
fn a_host_rule_decides_and_the_tie_break_stays_deterministic() {
    /// Prefers values without a capital letter (a silly rule a host might have).
    struct LowerCaseFirst;
    impl Survivorship for LowerCaseFirst {
        fn name(&self) -> &str {
            "lower_case_first"
        }
        fn compare(&self, _attribute: &str, a: &Candidate, b: &Candidate) -> Ordering {
            let lower = |c: &Candidate| c.value.chars().any(char::is_uppercase);
            lower(a).cmp(&lower(b))
        }
    }
    let (r, c) = fixture();
    let config = ViewConfig::default().rule("name", Rule::Custom(Arc::new(LowerCaseFirst)));
    let view = r.customer_view(c, &config).unwrap();
    assert_eq!(view.attributes["name"].value, "jan  jansen");
    assert_eq!(view.attributes["name"].rule, "lower_case_first");
    // Other attributes keep the default rule.
    assert_eq!(view.attributes["city"].rule, "source_priority");
}

#[test]
fn the_view_lists_records_by_source_and_keys_by_kind() {
    let (r, c) = fixture();
    let view = r.customer_view(c, &ViewConfig::default()).unwrap();
    assert_eq!(view.records["helpdesk"], vec!["T-1".to_string(), "T-2".to_string()]);
    assert_eq!(view.records.len(), 3);
    let emails = &view.keys["email"];
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].value, "jan@x.nl");
    assert_eq!(emails[0].records.len(), 4);
    // Losers are ranked too: the runner-up under source priority is a helpdesk value.
    assert_eq!(view.attributes["name"].candidates[0].provenance.source, "helpdesk");
    assert!(r.customer_view(idstitch::CustomerId::from_raw(999), &ViewConfig::default()).is_none());
}

#[derive(Clone, Debug)]
enum Op {
    Upsert(u8, Vec<u8>, u8),
    Remove(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..12, proptest::collection::vec(0u8..6, 0..3), 0u8..4)
            .prop_map(|(id, keys, city)| Op::Upsert(id, keys, city)),
        1 => (0u8..12).prop_map(Op::Remove),
    ]
}

proptest! {
    /// A host that applies every call's published events and views to its own store always
    /// holds exactly the live customers with their current views.
    #[test]
    fn published_views_track_the_resolver(ops in proptest::collection::vec(op(), 1..30)) {
        let mut r = Resolver::new();
        let src = r.add_source("s", 1).unwrap();
        let mut sink = CollectingSink::default();
        let config = ViewConfig::default();
        for op in ops {
            let events = match op {
                Op::Upsert(id, keys, city) => {
                    let mut rec = RecordInput::new(src, format!("r{id}"))
                        .with_attribute("city", format!("c{city}"));
                    for k in keys {
                        rec = rec.with_key(KindId::COOKIE, format!("k{k}"));
                    }
                    r.upsert(rec).unwrap().events
                }
                Op::Remove(id) => r.remove(SourceId::from_raw(0), &format!("r{id}")).map(|c| c.events).unwrap_or_default(),
            };
            r.publish(&events, &config, &mut sink).unwrap();
            let live: Vec<_> = r.customers().collect();
            prop_assert_eq!(sink.live.iter().copied().collect::<Vec<_>>(), live.clone());
            prop_assert_eq!(sink.views.keys().copied().collect::<Vec<_>>(), live.clone());
            for c in live {
                let fresh = r.customer_view(c, &config);
                prop_assert_eq!(Some(&sink.views[&c]), fresh.as_ref());
            }
        }
    }
}

#[test]
fn view_updates_delete_absorbed_ids() {
    let mut r = Resolver::new();
    let s = r.add_source("s", 1).unwrap();
    r.upsert(RecordInput::new(s, "a").with_key(KindId::EMAIL, "a@x.nl")).unwrap();
    r.upsert(RecordInput::new(s, "b").with_key(KindId::PHONE, "+31612345678")).unwrap();
    let changes = r
        .upsert(
            RecordInput::new(s, "ab")
                .with_key(KindId::EMAIL, "a@x.nl")
                .with_key(KindId::PHONE, "+31612345678"),
        )
        .unwrap();
    let updates = r.view_updates(&changes.events, &ViewConfig::default());
    let survivor = r.customer_of(s, "a").unwrap();
    assert_eq!(updates.len(), 2);
    assert!(matches!(&updates[0], ViewUpdate::Upsert(v) if v.customer == survivor));
    assert!(matches!(updates[1], ViewUpdate::Delete(id) if id != survivor));
}

/// Views are serializable with the `serde` feature: a host can store them as JSON.
#[cfg(all(feature = "serde", feature = "serde_json"))]
#[test]
fn views_serialize_to_json_with_provenance() {
    let (r, c) = fixture();
    let view = r.customer_view(c, &ViewConfig::default()).unwrap();
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["attributes"]["name"]["value"], "J. Jansen");
    assert_eq!(json["attributes"]["name"]["provenance"]["source"], "crm");
    assert_eq!(json["attributes"]["name"]["provenance"]["observed_at"], 100);
    assert_eq!(json["records"]["helpdesk"][1], "T-2");
    let back: idstitch::view::CustomerView = serde_json::from_value(json).unwrap();
    assert_eq!(back, view);
}
