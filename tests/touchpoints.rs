//! Consent and contacts through the resolver: statements and contacts that follow their
//! records through arrival order, merges, splits, removals, snapshots and the journal, and the
//! dosing answer at its boundaries.

use idstitch::behaviour::EventRejectReason;
use idstitch::touchpoint::{
    CapScope, ConsentInput, ConsentState, ContactDecision, ContactInput, ContactRefusal,
};
use idstitch::{
    CustomerId, Durable, DurableOptions, KindId, RecordInput, Resolver, SourceId, StateError,
    Timestamp,
};

const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

fn at(days: i64) -> Timestamp {
    Timestamp(T0 + days * DAY)
}

fn setup() -> (Resolver, SourceId, SourceId) {
    let mut r = Resolver::new();
    let crm = r.add_source("crm", 100).unwrap();
    let mail = r.add_source("newsletter", 30).unwrap();
    (r, crm, mail)
}

fn person(source: SourceId, id: &str, email: &str) -> RecordInput {
    RecordInput::new(source, id).with_key(KindId::EMAIL, email)
}

fn sent(source: SourceId, id: &str, channel: &str, day: i64) -> ContactInput {
    ContactInput::new(source, id, channel, at(day))
}

fn customer(r: &Resolver, source: SourceId, id: &str) -> CustomerId {
    r.customer_of(source, id).expect("a stored record")
}

#[test]
fn a_denied_record_merged_into_a_granted_customer_denies_and_a_split_gives_it_back() {
    let (mut r, crm, mail) = setup();
    r.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    r.upsert(RecordInput::new(mail, "N-7").with_key(KindId::COOKIE, "ck")).unwrap();
    r.record_consent(&ConsentInput::granted(crm, "C-1", "newsletter", at(5))).unwrap();
    r.record_consent(&ConsentInput::denied(mail, "N-7", "newsletter", at(1))).unwrap();
    let ann = customer(&r, crm, "C-1");
    assert_eq!(r.consent(ann, "newsletter").unwrap().state, ConsentState::Granted);
    assert!(r.may_contact(ann, "newsletter", at(6)).unwrap().is_yes());

    // The newsletter record learns Ann's e-mail: its older "no" still wins.
    r.upsert(person(mail, "N-7", "ann@example.nl").with_key(KindId::COOKIE, "ck")).unwrap();
    assert_eq!(customer(&r, mail, "N-7"), ann);
    let consent = r.consent(ann, "newsletter").unwrap();
    assert_eq!(consent.state, ConsentState::Denied);
    assert_eq!(consent.decided_by, Some((mail, "N-7".to_string(), at(1))));
    let answer = r.may_contact(ann, "newsletter", at(6)).unwrap();
    assert_eq!(answer, ContactDecision::No(ContactRefusal::NoConsent(consent)));

    // And forgets it again: the split takes the denial along.
    r.upsert(RecordInput::new(mail, "N-7").with_key(KindId::COOKIE, "ck")).unwrap();
    let visitor = customer(&r, mail, "N-7");
    assert_ne!(visitor, ann);
    assert_eq!(r.consent(ann, "newsletter").unwrap().state, ConsentState::Granted);
    assert_eq!(r.consent(visitor, "newsletter").unwrap().state, ConsentState::Denied);
    // Removing the record removes its statements, even if it comes back.
    r.remove(mail, "N-7").unwrap();
    r.upsert(RecordInput::new(mail, "N-7").with_key(KindId::COOKIE, "ck")).unwrap();
    let back = customer(&r, mail, "N-7");
    assert_eq!(r.consent(back, "newsletter").unwrap().state, ConsentState::Unknown);
}

#[test]
fn statements_and_contacts_before_their_record_join_it() {
    let (mut before, crm, _) = setup();
    before.record_consent(&ConsentInput::granted(crm, "C-1", "email", at(0))).unwrap();
    before.record_contact(&sent(crm, "C-1", "email", 1)).unwrap();
    before.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    let ann = customer(&before, crm, "C-1");
    assert_eq!(before.customer_contacts(ann).unwrap().len(), 1);
    assert_eq!(before.consent(ann, "email").unwrap().state, ConsentState::Granted);
}

#[test]
fn replays_are_held_once() {
    let (mut r, crm, _) = setup();
    r.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    let ann = customer(&r, crm, "C-1");
    let yes = ConsentInput::granted(crm, "C-1", "email", at(0));
    let mail = sent(crm, "C-1", "email", 1).with_id("send-1").with_campaign("spring");
    for _ in 0..3 {
        r.record_consent(&yes).unwrap();
        r.record_contact(&mail).unwrap();
    }
    assert_eq!(r.customer_consents(ann).unwrap().len(), 1);
    assert_eq!(r.customer_contacts(ann).unwrap().len(), 1);
    assert_eq!(r.customer_contacts(ann).unwrap()[0].campaign, Some("spring"));
    assert!(r.has_contact_id(crm, "send-1"));
    assert!(r.remove_contact(crm, "send-1"));
    assert!(r.customer_contacts(ann).unwrap().is_empty());
    assert!(!r.remove_contact(crm, "send-1"));
}

#[test]
fn caps_free_exactly_when_a_contact_is_seven_days_old_and_receipts_do_not_count() {
    let (mut r, crm, _) = setup();
    r.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    let ann = customer(&r, crm, "C-1");
    r.record_consent(&ConsentInput::granted(crm, "C-1", "email", at(0))).unwrap();
    r.record_contact(&sent(crm, "C-1", "email", 1)).unwrap();
    r.record_contact(&sent(crm, "C-1", "email", 2)).unwrap();
    for d in 2..=8 {
        r.record_contact(&sent(crm, "C-1", "email", d).transactional()).unwrap();
    }
    let second_before = Timestamp(at(8).0 - 1);
    let answer = r.may_contact(ann, "email", second_before).unwrap();
    let ContactDecision::No(ContactRefusal::Capped { rule, contacts, until }) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!((rule.scope, rule.max, contacts, until), (CapScope::EachChannel, 2, 2, at(8)));
    assert!(r.may_contact(ann, "email", at(8)).unwrap().is_yes());
}

#[test]
fn a_statement_after_now_does_not_count_yet() {
    let (mut r, crm, _) = setup();
    r.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    let ann = customer(&r, crm, "C-1");
    r.record_consent(&ConsentInput::granted(crm, "C-1", "phone", at(0))).unwrap();
    r.record_consent(&ConsentInput::denied(crm, "C-1", "phone", at(10))).unwrap();
    assert!(r.may_contact(ann, "phone", at(9)).unwrap().is_yes());
    assert!(!r.may_contact(ann, "phone", at(10)).unwrap().is_yes());
    assert_eq!(r.consent(ann, "phone").unwrap().state, ConsentState::Denied);
}

#[test]
fn malformed_input_is_a_typed_error_and_changes_nothing() {
    let (mut r, crm, _) = setup();
    let bad = ConsentInput::granted(SourceId::from_raw(9), "C-1", "email", at(0));
    assert_eq!(r.record_consent(&bad), Err(EventRejectReason::UnknownSource));
    assert_eq!(r.record_contact(&sent(crm, "C-1", " ", 0)), Err(EventRejectReason::EmptyChannel));
    let report = r.record_contacts([sent(crm, "C-1", "email", 0), sent(crm, "", "email", 0)]);
    assert_eq!((report.accepted, report.n_rejected()), (1, 1));
    assert!(r.memory_usage().touchpoints > 0);
    assert!(r.customer_contacts(CustomerId::from_raw(77)).is_err());
}

/// Everything a host can see of one customer's touchpoints, for comparing two resolvers.
fn touch_view(r: &Resolver) -> Vec<String> {
    let mut out = Vec::new();
    for c in r.customers() {
        let mut consents: Vec<String> =
            r.customer_consents(c).unwrap().iter().map(|s| format!("{s:?}")).collect();
        let mut contacts: Vec<String> =
            r.customer_contacts(c).unwrap().iter().map(|s| format!("{s:?}")).collect();
        consents.sort();
        contacts.sort();
        let decisions: Vec<String> = ["email", "phone", "banner"]
            .iter()
            .map(|ch| r.may_contact(c, ch, at(20)).unwrap().to_string())
            .collect();
        out.push(format!("{c} {consents:?} {contacts:?} {decisions:?}"));
    }
    out
}

#[test]
fn a_snapshot_and_the_journal_restore_every_statement_and_contact() {
    let dir = std::env::temp_dir().join(format!("idstitch-touch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut d = Durable::open(&dir, DurableOptions::default()).unwrap();
    let crm = d.ensure_source("crm", 100).unwrap();
    d.upsert(person(crm, "C-1", "ann@example.nl")).unwrap();
    d.record_consent(&ConsentInput::granted(crm, "C-1", "email", at(0))).unwrap();
    d.record_contact(&sent(crm, "C-1", "email", 15).with_id("s-1")).unwrap();
    d.compact().unwrap();
    // After the snapshot: journal only, and one waiting for its record.
    d.record_consent(&ConsentInput::denied(crm, "C-2", "phone", at(2))).unwrap();
    d.record_contact(&sent(crm, "C-1", "banner", 16).with_campaign("spring")).unwrap();
    d.record_contact(&sent(crm, "C-1", "email", 17).with_id("s-2")).unwrap();
    assert!(d.remove_contact(crm, "s-2").unwrap());
    assert!(matches!(
        d.record_contact(&sent(crm, "C-1", "", 1)),
        Err(StateError::Event(EventRejectReason::EmptyChannel))
    ));
    let expected = touch_view(&d);
    drop(d);

    let mut d = Durable::open(&dir, DurableOptions::default()).unwrap();
    assert_eq!(touch_view(&d), expected);
    d.upsert(person(crm, "C-2", "bob@example.nl")).unwrap();
    let bob = d.customer_of(crm, "C-2").unwrap();
    assert_eq!(d.consent(bob, "phone").unwrap().state, ConsentState::Denied);
    d.compact().unwrap();
    let expected = touch_view(&d);
    drop(d);
    let d = Durable::open(&dir, DurableOptions::default()).unwrap();
    assert_eq!(touch_view(&d), expected);
    drop(d);
    std::fs::remove_dir_all(&dir).unwrap();
}
