//! Campaigns through the resolver: groups that no ingestion order or thread count changes,
//! fixed at the first assignment and carried by the records through splits, contamination by
//! a merge, intention to treat, the conversion window's edges, and persistence.

use idstitch::behaviour::{EventInput, EventKind, Stage, Window};
use idstitch::campaign::{bucket, CampaignSpec, Group, NOT_CONTACTED};
use idstitch::touchpoint::{ConsentInput, ContactInput};
use idstitch::{
    CampaignError, CustomerId, Durable, DurableOptions, KindId, RecordInput, Resolver, SourceId,
    Timestamp,
};

const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

fn at(days: i64) -> Timestamp {
    Timestamp(T0 + days * DAY)
}

/// 200 people, each with a CRM record and (for even ones) a web record sharing the e-mail.
fn records(crm: SourceId, web: SourceId) -> Vec<RecordInput> {
    let mut out = Vec::new();
    for i in 0..200 {
        let email = format!("p{i}@example.nl");
        out.push(RecordInput::new(crm, format!("C-{i:03}")).with_key(KindId::EMAIL, email.clone()));
        if i % 2 == 0 {
            out.push(RecordInput::new(web, format!("W-{i:03}")).with_key(KindId::EMAIL, email));
        }
    }
    out
}

fn resolver() -> (Resolver, SourceId, SourceId) {
    let mut r = Resolver::new();
    let crm = r.add_source("crm", 100).unwrap();
    let web = r.add_source("web", 10).unwrap();
    r.add_campaign(CampaignSpec::new("spring", "email").with_holdout(0.3)).unwrap();
    (r, crm, web)
}

/// Every person's group, by their CRM record, after assigning everyone.
fn groups(r: &mut Resolver, crm: SourceId) -> Vec<Option<Group>> {
    (0..200)
        .map(|i| {
            let c = r.customer_of(crm, &format!("C-{i:03}")).unwrap();
            r.assign("spring", c, at(0)).unwrap().group
        })
        .collect()
}

#[test]
fn groups_do_not_depend_on_ingestion_order_or_thread_count() {
    let (mut a, crm, web) = resolver();
    a.ingest(records(crm, web));
    let expected = groups(&mut a, crm);
    // The group is the bucket of the smallest (source name, external id): "crm" < "web".
    for (i, group) in expected.iter().enumerate() {
        let control = bucket("spring", "crm", &format!("C-{i:03}")) < 3_000;
        assert_eq!(*group, Some(if control { Group::Control } else { Group::Treatment }));
    }
    let n_control = expected.iter().filter(|g| **g == Some(Group::Control)).count();
    assert!((35..=85).contains(&n_control), "about 30 % of 200: {n_control}");

    // Reversed, one by one, web records first.
    let (mut b, crm, web) = resolver();
    let mut reversed = records(crm, web);
    reversed.reverse();
    for record in reversed {
        b.upsert(record).unwrap();
    }
    assert_eq!(groups(&mut b, crm), expected);
    // Bulk on one thread and on two.
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (mut c, crm, web) = resolver();
        pool.install(|| c.ingest(records(crm, web)));
        assert_eq!(groups(&mut c, crm), expected, "{threads} threads");
    }
}

/// Two single-record customers of different groups (by their buckets).
fn two_groups(r: &mut Resolver, crm: SourceId) -> (CustomerId, CustomerId, String, String) {
    let mut ids: Vec<String> = (0..50).map(|i| format!("C-{i:03}")).collect();
    ids.sort_by_key(|id| bucket("spring", "crm", id) < 3_000);
    let (treated, held_out) = (ids[0].clone(), ids[49].clone());
    assert!(
        bucket("spring", "crm", &held_out) < 3_000 && bucket("spring", "crm", &treated) >= 3_000
    );
    r.upsert(RecordInput::new(crm, treated.clone()).with_key(KindId::PHONE, "+31611111111"))
        .unwrap();
    r.upsert(RecordInput::new(crm, held_out.clone()).with_key(KindId::PHONE, "+31622222222"))
        .unwrap();
    let t = r.customer_of(crm, &treated).unwrap();
    let c = r.customer_of(crm, &held_out).unwrap();
    assert_eq!(r.assign("spring", t, at(0)).unwrap().group, Some(Group::Treatment));
    assert_eq!(r.assign("spring", c, at(0)).unwrap().group, Some(Group::Control));
    (t, c, treated, held_out)
}

#[test]
fn a_merge_of_both_groups_is_contaminated_and_left_out_and_a_split_restores_them() {
    let (mut r, crm, _) = resolver();
    let (_, _, treated, held_out) = two_groups(&mut r, crm);
    // The control record learns the treated one's phone: one customer, both groups.
    let merged = RecordInput::new(crm, held_out.clone())
        .with_key(KindId::PHONE, "+31622222222")
        .with_key(KindId::PHONE, "+31611111111");
    r.upsert(merged).unwrap();
    let both = r.customer_of(crm, &treated).unwrap();
    assert_eq!(r.customer_of(crm, &held_out), Some(both));
    let a = r.assign("spring", both, at(5)).unwrap();
    assert_eq!((a.group, a.new, a.at), (None, false, at(0)), "never moved, never reassigned");
    let e = r.evaluate("spring", at(10)).unwrap();
    assert_eq!(e.contaminated, 1);
    assert_eq!(e.overall.treatment.customers + e.overall.control.customers, 0);
    // Apart again, each record still carries its own group.
    r.upsert(RecordInput::new(crm, held_out.clone()).with_key(KindId::PHONE, "+31622222222"))
        .unwrap();
    let c = r.customer_of(crm, &held_out).unwrap();
    let t = r.customer_of(crm, &treated).unwrap();
    assert_eq!(r.assignment("spring", c).unwrap().unwrap().group, Some(Group::Control));
    assert_eq!(r.assignment("spring", t).unwrap().unwrap().group, Some(Group::Treatment));
    assert_eq!(r.evaluate("spring", at(10)).unwrap().contaminated, 0);
}

#[test]
fn conversions_count_after_assignment_within_the_window_and_up_to_now() {
    let (mut r, crm, _) = resolver();
    let (t, _, treated, _) = two_groups(&mut r, crm);
    let order = |day: i64, sec: i64, id: &str| {
        EventInput::new(crm, treated.clone(), EventKind::ORDER, Timestamp(at(day).0 + sec))
            .with_value(10.0)
            .with_id(id)
    };
    let converted =
        |r: &Resolver, now| r.evaluate("spring", now).unwrap().overall.treatment.converters;
    // At the assignment instant: not after it.
    r.record_event(&order(0, 0, "o0")).unwrap();
    assert_eq!(converted(&r, at(30)), 0);
    // One second after the 7-day window: out.
    r.record_event(&order(7, 1, "o1")).unwrap();
    assert_eq!(converted(&r, at(30)), 0);
    // Exactly at its end: in, but only once `now` has reached it.
    r.record_event(&order(7, 0, "o2")).unwrap();
    assert_eq!(converted(&r, Timestamp(at(7).0 - 1)), 0);
    assert_eq!(converted(&r, at(7)), 1);
    // Not a conversion kind: page views do not count.
    let (mut r2, crm2, _) = resolver();
    let (_, _, treated2, _) = two_groups(&mut r2, crm2);
    r2.record_event(&EventInput::new(crm2, treated2, EventKind::PAGE_VIEW, at(1))).unwrap();
    assert_eq!(converted(&r2, at(30)), 0);
    let _ = t;
}

#[test]
fn intention_to_treat_keeps_a_capped_or_refused_customer_in_treatment() {
    let (mut r, crm, _) = resolver();
    let (t, _, treated, _) = two_groups(&mut r, crm);
    // No consent for e-mail: the campaign may not reach them, and they stay in treatment.
    assert!(!r.may_contact(t, "email", at(0)).unwrap().is_yes());
    r.record_event(&EventInput::new(crm, treated.clone(), EventKind::ORDER, at(2))).unwrap();
    let e = r.evaluate("spring", at(30)).unwrap();
    assert_eq!((e.overall.treatment.customers, e.overall.treatment.converters), (1, 1));
    assert_eq!(e.by_channel[NOT_CONTACTED].treatment.customers, 1);
    assert_eq!(e.by_stage[&Stage::Identified].treatment.customers, 1);
    assert!(e.overall.uplift.is_none(), "groups of one are too small");
    // Once reached, they count under the channel.
    r.record_consent(&ConsentInput::granted(crm, treated.clone(), "email", at(0))).unwrap();
    r.record_contact(&ContactInput::new(crm, treated, "email", at(1)).with_campaign("spring"))
        .unwrap();
    let e = r.evaluate("spring", at(30)).unwrap();
    assert_eq!(e.by_channel["email"].treatment.converters, 1);
    assert!(!e.by_channel.contains_key(NOT_CONTACTED));
}

#[test]
fn bad_campaigns_and_unknown_names_are_typed_errors() {
    let (mut r, crm, _) = resolver();
    let again = r.add_campaign(CampaignSpec::new("spring", "email"));
    assert_eq!(again, Err(CampaignError::Exists("spring".into())));
    let long = CampaignSpec::new("x", "email").with_window(Window::days(91));
    assert!(matches!(r.add_campaign(long), Err(CampaignError::Invalid(_))));
    let odd = CampaignSpec::new("x", "email").with_conversions([EventKind::from_raw(999)]);
    assert!(matches!(r.add_campaign(odd), Err(CampaignError::Invalid(_))));
    r.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "a@b.nl")).unwrap();
    let c = r.customer_of(crm, "C-1").unwrap();
    assert_eq!(r.assign("autumn", c, at(0)), Err(CampaignError::Unknown("autumn".into())));
    let nobody = CustomerId::from_raw(999);
    assert_eq!(r.assign("spring", nobody, at(0)), Err(CampaignError::UnknownCustomer(nobody)));
    assert_eq!(r.campaigns().len(), 1);
}

#[test]
fn campaigns_and_assignments_survive_the_journal_and_the_snapshot() {
    let dir = std::env::temp_dir().join(format!("idstitch-campaigns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut d = Durable::open(&dir, DurableOptions::default()).unwrap();
    let crm = d.ensure_source("crm", 100).unwrap();
    let spec = CampaignSpec::new("spring", "email").with_holdout(0.5).with_window(Window::days(14));
    d.add_campaign(spec.clone()).unwrap();
    for i in 0..40 {
        d.upsert(
            RecordInput::new(crm, format!("C-{i}")).with_key(KindId::EMAIL, format!("{i}@x.nl")),
        )
        .unwrap();
    }
    let customers: Vec<CustomerId> = d.customers().collect();
    for &c in &customers[..20] {
        d.assign("spring", c, at(0)).unwrap();
    }
    let before = format!("{:?}", d.evaluate("spring", at(30)).unwrap());
    drop(d);
    let mut d = Durable::open(&dir, DurableOptions::default()).unwrap();
    assert_eq!(d.campaign("spring"), Some(&spec));
    assert_eq!(format!("{:?}", d.evaluate("spring", at(30)).unwrap()), before, "from the journal");
    for &c in &customers[20..] {
        d.assign("spring", c, at(1)).unwrap();
    }
    d.compact().unwrap();
    let after = format!("{:?}", d.evaluate("spring", at(30)).unwrap());
    drop(d);
    let d = Durable::open(&dir, DurableOptions::default()).unwrap();
    assert_eq!(format!("{:?}", d.evaluate("spring", at(30)).unwrap()), after, "from the snapshot");
    let e = d.evaluate("spring", at(30)).unwrap();
    assert_eq!(e.overall.treatment.customers + e.overall.control.customers, 40);
    drop(d);
    std::fs::remove_dir_all(&dir).unwrap();
}
