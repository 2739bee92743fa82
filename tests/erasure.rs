//! Erasure leaves nothing of the person: after `erase`, the resolver's whole debug dump holds
//! none of the erased people's e-mails, phones, names, composite keys or external ids, and
//! still holds everyone else's, whose customers keep their ids. A control shows that the
//! removal alone would leave the bytes behind: compaction is what clears them. In
//! pseudonymised mode the erased people's pseudonyms go too.
//!
//! The values are chosen to print verbatim under `Debug` (no quotes, backslashes or control
//! characters) and to be no part of anyone else's values.

use idstitch::{
    pseudonym, ChangeEvent, CustomerId, EraseError, EraseTarget, Explanation, KindId, KindPolicy,
    KindSpec, RecordInput, RejectReason, Resolver, SourceId,
};

struct World {
    resolver: Resolver,
    crm: SourceId,
    shop: SourceId,
    helpdesk: SourceId,
    name_dob: KindId,
}

/// One person's values, all of which must go with them or stay with them.
struct Person {
    /// `(source, external id)` of each record.
    records: Vec<(&'static str, &'static str)>,
    emails: Vec<&'static str>,
    /// As stored (E.164).
    phones: Vec<&'static str>,
    names: Vec<&'static str>,
    /// Date of birth, the composite key's last part.
    birthdate: &'static str,
}

impl Person {
    /// What the resolver keeps raw in either mode: external ids and attributes.
    fn attribute_traces(&self) -> Vec<&'static str> {
        let ids = self.records.iter().map(|&(_, id)| id);
        ids.chain(self.names.iter().copied()).chain([self.birthdate]).collect()
    }

    /// Everything of the person a dump may show.
    fn traces(&self) -> Vec<&'static str> {
        let ids = self.records.iter().map(|&(_, id)| id);
        (ids.chain(self.emails.iter().copied()).chain(self.phones.iter().copied()))
            .chain(self.names.iter().copied())
            .chain([self.birthdate])
            .collect()
    }
}

/// The office switchboard three of them share, as stored.
const OFFICE: &str = "+31205550100";

fn anna() -> Person {
    Person {
        records: vec![("crm", "CRM-ANNA-7731"), ("shop", "SHOP-ANNA-5520")],
        emails: vec!["anna.vermeer@postbus.nl"],
        phones: vec!["+31611112222"],
        names: vec!["Anna Vermeer", "Vermeer"],
        birthdate: "1980-02-03",
    }
}

fn bram() -> Person {
    Person {
        records: vec![("crm", "CRM-BRAM-4410"), ("helpdesk", "DESK-BRAM-9902")],
        emails: vec!["bram.dekker@postbus.nl", "b.dekker@kpnmail.nl"],
        phones: vec!["+31633334444"],
        names: vec!["Bram Dekker", "Dekker"],
        birthdate: "1975-11-30",
    }
}

fn carla() -> Person {
    Person {
        records: vec![("crm", "CRM-CARLA-1187")],
        emails: vec!["carla.smit@postbus.nl"],
        phones: vec!["+31655556666"],
        names: vec!["Carla Smit"],
        birthdate: "1991-07-14",
    }
}

fn dirk() -> Person {
    Person {
        records: vec![("crm", "CRM-DIRK-3356"), ("shop", "SHOP-DIRK-0071")],
        emails: vec!["dirk.jansen@postbus.nl"],
        phones: vec!["+31677778888"],
        names: vec!["Dirk Jansen"],
        birthdate: "1969-04-21",
    }
}

/// Anna, Bram and Carla share the office phone (and Anna and Carla a team mailbox); their
/// customer numbers keep them apart. Dirk shares nothing.
fn world() -> World {
    world_in(false)
}

/// The secret of the pseudonymised world.
const SECRET: &[u8] = b"erasure test secret";

/// [`world`], pseudonymised (every key stored as its HMAC under [`SECRET`]) if asked.
fn world_in(pseudonymized: bool) -> World {
    let mut builder = Resolver::builder();
    if pseudonymized {
        builder.pseudonymize(SECRET);
    }
    builder.default_country("NL").kind(
        "name_dob",
        KindSpec::composite(
            ["given_name", "surname", "birthdate"],
            KindPolicy::new(70).limit(1).generic_cap(5),
        ),
    );
    let mut resolver = builder.build().unwrap();
    let crm = resolver.add_source("crm", 100).unwrap();
    let shop = resolver.add_source("shop", 50).unwrap();
    let helpdesk = resolver.add_source("helpdesk", 30).unwrap();
    let name_dob = resolver.kind_id("name_dob").unwrap();
    let person = |source, id: &str, given: &str, surname: &str, birthdate: &str| {
        RecordInput::new(source, id)
            .with_attribute("name", format!("{given} {surname}"))
            .with_attribute("given_name", given)
            .with_attribute("surname", surname)
            .with_attribute("birthdate", birthdate)
    };
    let records = [
        person(crm, "CRM-ANNA-7731", "Anna", "Vermeer", "1980-02-03")
            .with_key(KindId::CUSTOMER_NO, "K-2001")
            .with_key(KindId::EMAIL, "Anna.Vermeer@postbus.nl")
            .with_key(KindId::PHONE, "06 1111 2222")
            .with_key(KindId::EMAIL, "team@smitvermeer.nl"),
        person(shop, "SHOP-ANNA-5520", "Anna", "Vermeer", "1980-02-03")
            .with_key(KindId::EMAIL, "anna.vermeer@postbus.nl")
            .with_key(KindId::PHONE, "020 555 0100"),
        person(crm, "CRM-BRAM-4410", "Bram", "Dekker", "1975-11-30")
            .with_key(KindId::CUSTOMER_NO, "K-2002")
            .with_key(KindId::EMAIL, "bram.dekker@postbus.nl")
            .with_key(KindId::PHONE, "020 555 0100"),
        RecordInput::new(helpdesk, "DESK-BRAM-9902")
            .with_attribute("name", "Dekker")
            .with_key(KindId::EMAIL, "b.dekker@kpnmail.nl")
            .with_key(KindId::EMAIL, "bram.dekker@postbus.nl")
            .with_key(KindId::PHONE, "+31 6 3333 4444"),
        person(crm, "CRM-CARLA-1187", "Carla", "Smit", "1991-07-14")
            .with_key(KindId::CUSTOMER_NO, "K-2003")
            .with_key(KindId::EMAIL, "carla.smit@postbus.nl")
            .with_key(KindId::EMAIL, "team@smitvermeer.nl")
            .with_key(KindId::PHONE, "06-5555 6666")
            .with_key(KindId::PHONE, "020 555 0100"),
        person(crm, "CRM-DIRK-3356", "Dirk", "Jansen", "1969-04-21")
            .with_key(KindId::CUSTOMER_NO, "K-2004")
            .with_key(KindId::EMAIL, "dirk.jansen@postbus.nl"),
        person(shop, "SHOP-DIRK-0071", "Dirk", "Jansen", "1969-04-21")
            .with_key(KindId::PHONE, "0031677778888"),
    ];
    // Bulk for some, one by one for the others: both ways leave buffers behind, and the last
    // record prepared is Anna's, whose values the resolver still holds in its buffers.
    let order = [2, 4, 5, 6, 0, 3, 1];
    let records: Vec<RecordInput> = order.iter().map(|&i| records[i].clone()).collect();
    let (bulk, single) = records.split_at(5);
    resolver.ingest(bulk);
    for record in single {
        resolver.upsert(record).unwrap();
    }
    World { resolver, crm, shop, helpdesk, name_dob }
}

impl World {
    fn source(&self, name: &str) -> SourceId {
        match name {
            "crm" => self.crm,
            "shop" => self.shop,
            _ => self.helpdesk,
        }
    }

    fn customer(&self, person: &Person) -> CustomerId {
        let (source, id) = person.records[0];
        self.resolver.customer_of(self.source(source), id).unwrap()
    }

    /// The records of `person` are one customer.
    fn assert_whole(&self, person: &Person) {
        let customer = self.customer(person);
        for &(source, id) in &person.records {
            assert_eq!(self.resolver.customer_of(self.source(source), id), Some(customer), "{id}");
        }
    }
}

fn sorted(mut ids: Vec<CustomerId>) -> Vec<CustomerId> {
    ids.sort_unstable();
    ids
}

fn dump(resolver: &Resolver) -> String {
    format!("{resolver:?}")
}

fn assert_absent(dump: &str, person: &Person) {
    for trace in person.traces() {
        assert!(!dump.contains(trace), "{trace:?} is still in the resolver");
    }
}

fn assert_present(dump: &str, person: &Person) {
    for trace in person.traces() {
        assert!(dump.contains(trace), "{trace:?} of someone not erased is gone");
    }
}

#[test]
fn erasing_by_key_and_by_record_leaves_nothing_of_those_people() {
    let mut w = world();
    let (anna, bram, carla, dirk) = (anna(), bram(), carla(), dirk());
    for p in [&anna, &bram, &carla, &dirk] {
        w.assert_whole(p);
    }
    let before = dump(&w.resolver);
    for p in [&anna, &bram, &carla, &dirk] {
        assert_present(&before, p);
    }
    let (anna_id, bram_id) = (w.customer(&anna), w.customer(&bram));
    let (carla_id, dirk_id) = (w.customer(&carla), w.customer(&dirk));
    assert_eq!(w.resolver.n_customers(), 4);

    // Anna by her e-mail, typed as a host would get it.
    let erased =
        w.resolver.erase(EraseTarget::key(KindId::EMAIL, " ANNA.Vermeer@postbus.nl")).unwrap();
    assert_eq!(erased.customer, anna_id);
    let records: Vec<(SourceId, String)> =
        anna.records.iter().map(|&(s, id)| (w.source(s), id.to_string())).collect();
    assert_eq!(erased.records, records);
    let owned = |kind: KindId, value: &str| (kind, value.to_string());
    assert_eq!(
        erased.keys,
        [
            owned(KindId::CUSTOMER_NO, "k-2001"),
            owned(KindId::EMAIL, "anna.vermeer@postbus.nl"),
            owned(KindId::PHONE, "+31611112222"),
            owned(w.name_dob, "anna\u{1f}vermeer\u{1f}1980-02-03"),
        ]
    );
    assert_eq!(
        erased.kept_keys,
        [owned(KindId::EMAIL, "team@smitvermeer.nl"), owned(KindId::PHONE, OFFICE)]
    );
    assert_eq!(erased.changes.events, [ChangeEvent::Removed { customer: anna_id }]);
    let anna_compaction = erased.compaction;

    // Bram by his helpdesk ticket: his CRM record goes with it.
    let erased = w.resolver.erase(EraseTarget::record(w.helpdesk, " DESK-BRAM-9902 ")).unwrap();
    assert_eq!(erased.customer, bram_id);
    assert_eq!(erased.records.len(), 2);
    assert_eq!(erased.kept_keys, [owned(KindId::PHONE, OFFICE)]);
    assert_eq!(erased.changes.events, [ChangeEvent::Removed { customer: bram_id }]);

    let after = dump(&w.resolver);
    assert_absent(&after, &anna);
    assert_absent(&after, &bram);
    assert_present(&after, &carla);
    assert_present(&after, &dirk);
    assert!(after.contains(OFFICE) && after.contains("team@smitvermeer.nl"));
    // The others keep their customers and ids; the erased ids are gone for good.
    assert_eq!((w.customer(&carla), w.customer(&dirk)), (carla_id, dirk_id));
    w.assert_whole(&dirk);
    assert_eq!(w.resolver.n_customers(), 2);
    assert_eq!(w.resolver.customers().collect::<Vec<_>>(), [carla_id, dirk_id]);
    assert_eq!(w.resolver.n_records(), 3);
    // Only the live records' keys are left: Carla's 5 (team mailbox and office phone
    // included) and composite, Dirk's 4.
    assert_eq!(w.resolver.n_keys(), 6 + 4);
    assert_eq!(anna_compaction.keys_removed, 4, "{anna_compaction:?}");
    assert!(anna_compaction.record_data_bytes > 0, "{anna_compaction:?}");

    // The resolver works on as before: Anna's e-mail sent again is someone new.
    let changes = w
        .resolver
        .upsert(
            RecordInput::new(w.shop, "SHOP-NEW-1")
                .with_key(KindId::EMAIL, "anna.vermeer@postbus.nl"),
        )
        .unwrap();
    let new = w.resolver.customer_of(w.shop, "SHOP-NEW-1").unwrap();
    assert!(new > anna_id.max(bram_id).max(carla_id).max(dirk_id), "ids are never reused");
    assert_eq!(changes.events.len(), 1);
    let explanation = w.resolver.explain(w.crm, "CRM-DIRK-3356", w.shop, "SHOP-DIRK-0071");
    assert!(matches!(explanation, Ok(Explanation::Linked { .. })), "{explanation:?}");
}

/// A control: removing the records without compacting leaves their bytes behind, so the test
/// above fails if `erase` skips the compaction; `compact` then clears them.
#[test]
fn without_compaction_the_bytes_stay() {
    let mut w = world();
    let anna = anna();
    for &(source, id) in &anna.records {
        w.resolver.remove(w.source(source), id).unwrap();
    }
    let removed = dump(&w.resolver);
    assert!(removed.contains("anna.vermeer@postbus.nl"), "the key outlives its records");
    assert!(removed.contains("1980-02-03"), "the composite key too");
    let report = w.resolver.compact();
    assert_eq!(report.keys_removed, 4);
    assert!(report.record_data_bytes > 0 && report.key_text_bytes > 0, "{report:?}");
    assert_absent(&dump(&w.resolver), &anna);
    assert_present(&dump(&w.resolver), &carla());
    // Compacting again finds nothing to drop.
    assert_eq!(w.resolver.compact().keys_removed, 0);
}

#[test]
fn a_shared_key_names_no_one_and_erases_nothing() {
    let mut w = world();
    let before = (dump(&w.resolver), w.resolver.n_keys());
    let (anna_id, bram_id, carla_id) =
        (w.customer(&anna()), w.customer(&bram()), w.customer(&carla()));
    // The office phone, refused between three customers.
    assert!(w
        .resolver
        .refused_values()
        .any(|(kind, value)| kind == KindId::PHONE && value == OFFICE));
    assert_eq!(
        w.resolver.erase(EraseTarget::key(KindId::PHONE, "020-5550100")),
        Err(EraseError::SharedKey {
            kind: KindId::PHONE,
            value: OFFICE.to_string(),
            customers: sorted(vec![anna_id, bram_id, carla_id]),
        })
    );
    // The team mailbox of two.
    let shared = w.resolver.erase(EraseTarget::key(KindId::EMAIL, "team@smitvermeer.nl"));
    assert!(
        matches!(shared, Err(EraseError::SharedKey { ref customers, .. }) if customers == &sorted(vec![anna_id, carla_id]))
    );
    assert_eq!((dump(&w.resolver), w.resolver.n_keys()), before, "nothing changed");
}

#[test]
fn targets_that_name_nothing_are_typed_errors() {
    let mut w = world();
    let before = dump(&w.resolver);
    let r = &mut w.resolver;
    assert_eq!(
        r.erase(EraseTarget::record(w.crm, "CRM-NOBODY")),
        Err(EraseError::UnknownRecord { source_id: w.crm, external_id: "CRM-NOBODY".into() })
    );
    assert_eq!(
        r.erase(EraseTarget::key(KindId::EMAIL, "nobody@postbus.nl")),
        Err(EraseError::UnknownKey { kind: KindId::EMAIL, value: "nobody@postbus.nl".into() })
    );
    assert_eq!(
        r.erase(EraseTarget::key(KindId::EMAIL, "not an address")),
        Err(EraseError::InvalidValue { kind: KindId::EMAIL, reason: RejectReason::InvalidEmail })
    );
    let unknown = KindId::from_raw(999);
    assert_eq!(r.erase(EraseTarget::key(unknown, "x")), Err(EraseError::UnknownKind(unknown)));
    // The messages name no value and no external id.
    let message =
        r.erase(EraseTarget::key(KindId::EMAIL, "nobody@postbus.nl")).unwrap_err().to_string();
    assert!(!message.contains("nobody"), "{message}");
    assert_eq!(dump(&w.resolver), before, "nothing changed");
}

#[test]
fn a_composite_key_names_its_person_by_its_parts() {
    let mut w = world();
    let dirk_id = w.customer(&dirk());
    // Parts as the host has them, each normalised as the kind normalises attributes.
    let erased = w
        .resolver
        .erase(EraseTarget::key(w.name_dob, "DIRK\u{1f} Jansen \u{1f}1969-04-21"))
        .unwrap();
    assert_eq!(erased.customer, dirk_id);
    assert_eq!(erased.records.len(), 2);
    assert_absent(&dump(&w.resolver), &dirk());
}

/// In pseudonymised mode the keys are HMACs and the rest (external ids, attributes) raw: after
/// erasure neither the raw values nor the pseudonyms of the erased are left, and the erased
/// keys come back as the pseudonyms a suppression list would keep.
#[test]
fn erasing_in_pseudonymised_mode_leaves_neither_values_nor_pseudonyms() {
    let mut w = world_in(true);
    let (anna, bram, carla) = (anna(), bram(), carla());
    let hidden = |p: &Person, composite: &str| -> Vec<String> {
        let values = p.emails.iter().chain(&p.phones).map(|v| v.to_string());
        values.chain([composite.to_string()]).map(|v| pseudonym(SECRET, &v)).collect()
    };
    let anna_keys = hidden(&anna, "anna\u{1f}vermeer\u{1f}1980-02-03");
    let bram_keys = hidden(&bram, "bram\u{1f}dekker\u{1f}1975-11-30");
    let carla_keys = hidden(&carla, "carla\u{1f}smit\u{1f}1991-07-14");
    let before = dump(&w.resolver);
    assert!(!before.contains("anna.vermeer@postbus.nl"), "raw keys are never stored");
    for key in anna_keys.iter().chain(&bram_keys).chain(&carla_keys) {
        assert!(before.contains(key.as_str()), "{key} stored");
    }

    let erased =
        w.resolver.erase(EraseTarget::key(KindId::EMAIL, "Anna.Vermeer@postbus.nl")).unwrap();
    let mut gone: Vec<(KindId, String)> = [
        (KindId::CUSTOMER_NO, "k-2001"),
        (KindId::EMAIL, "anna.vermeer@postbus.nl"),
        (KindId::PHONE, "+31611112222"),
        (w.name_dob, "anna\u{1f}vermeer\u{1f}1980-02-03"),
    ]
    .iter()
    .map(|&(kind, value)| (kind, pseudonym(SECRET, value)))
    .collect();
    gone.sort_unstable();
    assert_eq!(erased.keys, gone);
    w.resolver.erase(EraseTarget::record(w.crm, "CRM-BRAM-4410")).unwrap();

    let after = dump(&w.resolver);
    for trace in anna.attribute_traces().into_iter().chain(bram.attribute_traces()) {
        assert!(!after.contains(trace), "{trace:?} is still in the resolver");
    }
    for trace in carla.attribute_traces() {
        assert!(after.contains(trace), "{trace:?} of someone not erased is gone");
    }
    for key in anna_keys.iter().chain(&bram_keys) {
        assert!(!after.contains(key.as_str()), "pseudonym {key} is still in the resolver");
    }
    for key in &carla_keys {
        assert!(after.contains(key.as_str()), "pseudonym {key} of someone not erased is gone");
    }
}

// ---- Suppression: erased keys that later records carry link nothing. ----

mod suppression {
    use std::path::PathBuf;

    use idstitch::{
        pseudonym, Durable, DurableOptions, EraseError, EraseTarget, KindId, KindPolicy, KindSpec,
        RecordInput, Resolver, ResolverBuilder, SnapshotError, SourceId, StateError,
    };

    const SECRET: &[u8] = b"suppression secret from the vault";
    const JAN: &str = "jan.suppressed@example.nl";

    fn raw_builder() -> ResolverBuilder {
        let mut builder = Resolver::builder();
        builder.default_country("NL").suppression_secret(SECRET);
        builder
    }

    fn pseudonymised_builder() -> ResolverBuilder {
        let mut builder = Resolver::builder();
        builder.default_country("NL").pseudonymize(b"pseudonymisation secret");
        builder
    }

    /// A resolver holding Jan (crm C-1: customer number, e-mail, phone), with sources crm
    /// and shop.
    fn with_jan(builder: &ResolverBuilder) -> (Resolver, SourceId, SourceId) {
        let mut resolver = builder.build().unwrap();
        let crm = resolver.add_source("crm", 10).unwrap();
        let shop = resolver.add_source("shop", 5).unwrap();
        resolver
            .upsert(
                RecordInput::new(crm, "C-1")
                    .with_key(KindId::CUSTOMER_NO, "1")
                    .with_key(KindId::EMAIL, JAN)
                    .with_key(KindId::PHONE, "06 1234 5678"),
            )
            .unwrap();
        (resolver, crm, shop)
    }

    /// Two shop records carrying Jan's e-mail (written differently): whether they are one
    /// customer, and how many suppressed values their upserts counted.
    fn two_later_records(resolver: &mut Resolver, shop: SourceId) -> (bool, u64) {
        let a = resolver
            .upsert(
                RecordInput::new(shop, "S-1").with_key(KindId::EMAIL, " Jan.Suppressed@Example.NL"),
            )
            .unwrap();
        let b =
            resolver.upsert(RecordInput::new(shop, "S-2").with_key(KindId::EMAIL, JAN)).unwrap();
        let linked = resolver.customer_of(shop, "S-1") == resolver.customer_of(shop, "S-2");
        (linked, a.report.n_values_suppressed() + b.report.n_values_suppressed())
    }

    fn linked(resolver: &Resolver, shop: SourceId) -> bool {
        resolver.customer_of(shop, "S-1") == resolver.customer_of(shop, "S-2")
    }

    #[test]
    fn a_suppressed_email_links_nothing_and_is_counted_and_without_suppression_it_links() {
        for builder in [raw_builder(), pseudonymised_builder()] {
            let (mut resolver, crm, shop) = with_jan(&builder);
            let erasure = resolver.erase_and_suppress(EraseTarget::record(crm, "C-1")).unwrap();
            assert_eq!(erasure.keys.len(), 3);
            assert_eq!((erasure.suppressed, resolver.n_suppressed()), (3, 3));
            let (linked, counted) = two_later_records(&mut resolver, shop);
            assert!(!linked, "a suppressed e-mail links nothing");
            assert_eq!(counted, 2);
            // The key is stored (looked up), just denied.
            assert_eq!(resolver.records_with_key(KindId::EMAIL, JAN).len(), 2);

            // Control: erased without suppression, the same records link.
            let (mut control, crm, shop) = with_jan(&builder);
            let erasure = control.erase(EraseTarget::record(crm, "C-1")).unwrap();
            assert_eq!((erasure.suppressed, control.n_suppressed()), (0, 0));
            assert_eq!(two_later_records(&mut control, shop), (true, 0));
        }
    }

    #[test]
    fn bulk_ingest_counts_and_suppresses_on_every_path() {
        let (mut resolver, crm, shop) = with_jan(&raw_builder());
        resolver.erase_and_suppress(EraseTarget::record(crm, "C-1")).unwrap();
        // Enough records for several chunks, so the second core prepares some (rayon).
        let records: Vec<RecordInput> = (0..5000)
            .map(|i| {
                let email = if i % 1000 == 0 { JAN.to_string() } else { format!("p{i}@x.nl") };
                RecordInput::new(shop, format!("B-{i}")).with_key(KindId::EMAIL, email)
            })
            .collect();
        let report = resolver.ingest(records).report;
        assert_eq!(report.values_suppressed.get(&(shop, KindId::EMAIL)), Some(&5));
        let customers: std::collections::BTreeSet<_> =
            (0..5).map(|i| resolver.customer_of(shop, &format!("B-{}", i * 1000))).collect();
        assert_eq!(customers.len(), 5, "the five records carrying the e-mail stay apart");
    }

    #[test]
    fn kept_keys_are_not_suppressed() {
        let mut resolver = raw_builder().build().unwrap();
        let crm = resolver.add_source("crm", 10).unwrap();
        let shop = resolver.add_source("shop", 5).unwrap();
        let office = "020 123 4567";
        for (id, number) in [("C-1", "1"), ("C-2", "2")] {
            resolver
                .upsert(
                    RecordInput::new(crm, id)
                        .with_key(KindId::CUSTOMER_NO, number)
                        .with_key(KindId::PHONE, office),
                )
                .unwrap();
        }
        resolver
            .upsert(
                RecordInput::new(crm, "C-1")
                    .with_key(KindId::CUSTOMER_NO, "1")
                    .with_key(KindId::PHONE, office)
                    .with_key(KindId::EMAIL, JAN),
            )
            .unwrap();
        let erasure = resolver.erase_and_suppress(EraseTarget::record(crm, "C-1")).unwrap();
        assert_eq!(erasure.kept_keys, [(KindId::PHONE, "+31201234567".to_string())]);
        assert_eq!(resolver.n_suppressed(), 2, "customer number and e-mail, not the phone");
        let changes =
            resolver.upsert(RecordInput::new(shop, "S-1").with_key(KindId::PHONE, office)).unwrap();
        assert_eq!(changes.report.n_values_suppressed(), 0);
        assert_eq!(resolver.customer_of(shop, "S-1"), resolver.customer_of(crm, "C-2"));
        // The erased key was created afresh by a later record, denied.
        assert_eq!(two_later_records(&mut resolver, shop), (false, 2));
    }

    #[test]
    fn raw_mode_without_a_secret_is_a_typed_error_and_changes_nothing() {
        let mut builder = Resolver::builder();
        builder.default_country("NL");
        let (mut resolver, crm, _) = with_jan(&builder);
        let result = resolver.erase_and_suppress(EraseTarget::record(crm, "C-1"));
        assert_eq!(result, Err(EraseError::NoSuppressionSecret));
        assert_eq!((resolver.n_records(), resolver.n_suppressed()), (1, 0));
        assert!(Resolver::builder().suppression_secret("").build().is_err());
    }

    #[test]
    fn a_suppressed_composite_key_links_nothing_in_either_mode() {
        for mut builder in [raw_builder(), pseudonymised_builder()] {
            let policy = KindPolicy::new(50).limit(1);
            builder.kind("name_dob", KindSpec::composite(["name", "dob"], policy));
            let mut resolver = builder.build().unwrap();
            let name_dob = resolver.kind_id("name_dob").unwrap();
            let crm = resolver.add_source("crm", 10).unwrap();
            let person = |id: &str| {
                RecordInput::new(crm, id)
                    .with_attribute("name", "Jan de Vries")
                    .with_attribute("dob", "1980-01-02")
            };
            resolver.upsert(person("C-1")).unwrap();
            let erasure = resolver.erase_and_suppress(EraseTarget::record(crm, "C-1")).unwrap();
            assert_eq!(erasure.keys.iter().filter(|(k, _)| *k == name_dob).count(), 1);
            assert_eq!(resolver.n_suppressed(), 1);
            let a = resolver.upsert(person("C-2")).unwrap();
            resolver.upsert(person("C-3")).unwrap();
            assert_eq!(a.report.values_suppressed.get(&(crm, name_dob)), Some(&1));
            assert_ne!(resolver.customer_of(crm, "C-2"), resolver.customer_of(crm, "C-3"));
        }
    }

    fn snapshot_bytes(resolver: &Resolver) -> Vec<u8> {
        let mut bytes = Vec::new();
        resolver.write_snapshot(&mut bytes).unwrap();
        bytes
    }

    fn contains(bytes: &[u8], text: &str) -> bool {
        bytes.windows(text.len()).any(|w| w == text.as_bytes())
    }

    #[test]
    fn snapshots_keep_the_list_and_no_value_and_need_the_secret() {
        // Raw mode.
        let (mut resolver, crm, shop) = with_jan(&raw_builder());
        resolver.erase_and_suppress(EraseTarget::record(crm, "C-1")).unwrap();
        let bytes = snapshot_bytes(&resolver);
        for value in [JAN, "Jan.Suppressed", "+31612345678", "0612345678"] {
            assert!(!contains(&bytes, value), "{value} in the snapshot");
        }
        assert!(matches!(Resolver::read_snapshot(&bytes), Err(SnapshotError::SecretRequired)));
        let mut wrong = Resolver::builder();
        wrong.default_country("NL").suppression_secret(b"another secret");
        assert!(matches!(wrong.read_snapshot(&bytes), Err(SnapshotError::ConfigMismatch { .. })));
        let mut missing = Resolver::builder();
        missing.default_country("NL");
        assert!(matches!(missing.read_snapshot(&bytes), Err(SnapshotError::ConfigMismatch { .. })));
        let mut restored = raw_builder().read_snapshot(&bytes).unwrap();
        assert_eq!(restored.n_suppressed(), 3);
        assert_eq!(two_later_records(&mut restored, shop), (false, 2));

        // Through files, after the later records: the denied keys stay denied.
        let dir = std::env::temp_dir().join(format!("idstitch-suppress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        restored.save_snapshot(dir.join("s.snapshot")).unwrap();
        let mut again = raw_builder().load_snapshot(dir.join("s.snapshot")).unwrap();
        assert!(!linked(&again, shop));
        again.upsert(RecordInput::new(shop, "S-3").with_key(KindId::EMAIL, JAN)).unwrap();
        assert_ne!(again.customer_of(shop, "S-3"), again.customer_of(shop, "S-1"));
        std::fs::remove_dir_all(&dir).unwrap();

        // Pseudonymised mode: the list holds pseudonyms, no extra secret.
        let builder = pseudonymised_builder();
        let (mut resolver, crm, shop) = with_jan(&builder);
        resolver.erase_and_suppress(EraseTarget::record(crm, "C-1")).unwrap();
        let bytes = snapshot_bytes(&resolver);
        assert!(!contains(&bytes, JAN));
        let mut restored = builder.read_snapshot(&bytes).unwrap();
        assert_eq!(restored.n_suppressed(), 3);
        assert_eq!(two_later_records(&mut restored, shop), (false, 2));
        let stored = pseudonym(b"pseudonymisation secret", JAN);
        assert_eq!(restored.records_with_key(KindId::EMAIL, &stored).len(), 2);
    }

    /// CRC-32 (IEEE), bit by bit: the snapshot header's checksum.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn snapshots_are_of_this_format_and_other_versions_are_refused() {
        let this = idstitch::FORMAT_VERSION;
        let (resolver, _, _) = with_jan(&raw_builder());
        let bytes = snapshot_bytes(&resolver);
        assert_eq!(bytes[12..16], this.to_le_bytes());
        assert!(raw_builder().read_snapshot(&bytes).is_ok());
        for version in [1, this - 1, this + 1] {
            let mut old = bytes.clone();
            old[12..16].copy_from_slice(&version.to_le_bytes());
            let crc = crc32(&old[..24]);
            old[24..28].copy_from_slice(&crc.to_le_bytes());
            let result = raw_builder().read_snapshot(&old);
            assert!(
                matches!(result, Err(SnapshotError::UnsupportedVersion { found, supported }) if found == version && supported == this),
                "{result:?}"
            );
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("idstitch-suppress-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_durable_state_keeps_the_list_through_reopens() {
        let dir = temp_dir("durable");
        let builder = raw_builder();
        let options = DurableOptions::default();
        let mut state = Durable::open_with(&dir, &builder, options.clone()).unwrap();
        let crm = state.add_source("crm", 10).unwrap();
        let shop = state.add_source("shop", 5).unwrap();
        state.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, JAN)).unwrap();
        let erasure = state.erase_and_suppress(EraseTarget::record(crm, "C-1")).unwrap();
        assert_eq!(erasure.suppressed, 1);
        // After the erasure's compaction, no file of the directory holds the e-mail.
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        assert!(!contains(&bytes, JAN), "the e-mail is in the files");
        state.upsert(RecordInput::new(shop, "S-1").with_key(KindId::EMAIL, JAN)).unwrap();
        drop(state);

        // Snapshot (the erasure compacted) and journal (the upsert after it).
        let mut state = Durable::open_with(&dir, &builder, options.clone()).unwrap();
        assert!(state.recovery().entries_replayed > 0);
        assert_eq!(state.n_suppressed(), 1);
        let changes =
            state.upsert(RecordInput::new(shop, "S-2").with_key(KindId::EMAIL, JAN)).unwrap();
        assert_eq!(changes.report.n_values_suppressed(), 1);
        assert!(!linked(&state, shop));
        state.compact().unwrap();
        drop(state);

        let state = Durable::open_with(&dir, &builder, options.clone()).unwrap();
        assert!(!linked(&state, shop));
        drop(state);
        // Without the secret, or with another: typed errors.
        let missing = Durable::open(&dir, options.clone());
        assert!(matches!(missing, Err(StateError::Snapshot(SnapshotError::SecretRequired))));
        let other = DurableOptions::default().suppression_secret(b"another");
        let wrong = Durable::open(&dir, other);
        assert!(matches!(wrong, Err(StateError::Snapshot(SnapshotError::ConfigMismatch { .. }))));
        let state = Durable::open(&dir, options.suppression_secret(SECRET)).unwrap();
        assert_eq!(state.n_suppressed(), 1);
        drop(state);

        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_state_without_a_secret_adopts_one_and_refuses_suppression_without() {
        let dir = temp_dir("adopt");
        let mut plain = Resolver::builder();
        plain.default_country("NL");
        let mut state = Durable::open_with(&dir, &plain, DurableOptions::default()).unwrap();
        let crm = state.add_source("crm", 10).unwrap();
        state.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, JAN)).unwrap();
        let refused = state.erase_and_suppress(EraseTarget::record(crm, "C-1"));
        assert!(matches!(refused, Err(StateError::Erase(EraseError::NoSuppressionSecret))));
        assert_eq!(state.n_records(), 1);
        drop(state);
        let mut state =
            Durable::open_with(&dir, &raw_builder(), DurableOptions::default()).unwrap();
        state.erase_and_suppress(EraseTarget::record(crm, "C-1")).unwrap();
        assert_eq!(state.n_suppressed(), 1);
        drop(state);
        assert!(Durable::open_with(&dir, &plain, DurableOptions::default()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
