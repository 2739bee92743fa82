//! Every lookup by `(source, external id)` reads the id as ingest stored it: trimmed.

use idstitch::{Explanation, KindId, RecordInput, Resolver};

#[test]
fn every_lookup_by_external_id_trims_it_as_ingest_does() {
    let mut r = Resolver::new();
    let crm = r.add_source("crm", 10).unwrap();
    r.upsert(
        RecordInput::new(crm, " C-1 ")
            .with_key(KindId::EMAIL, "a@x.nl")
            .with_attribute("name", "Ann"),
    )
    .unwrap();
    r.upsert(RecordInput::new(crm, "C-2").with_key(KindId::EMAIL, "a@x.nl")).unwrap();
    let customer = r.customer_of(crm, "C-1").expect("stored trimmed");
    for spelled in ["C-1", " C-1 ", "\tC-1\n"] {
        assert_eq!(r.customer_of(crm, spelled), Some(customer), "{spelled:?}");
        assert!(r.record_idx(crm, spelled).is_some(), "{spelled:?}");
        assert_eq!(r.record_keys(crm, spelled).unwrap(), vec![(KindId::EMAIL, "a@x.nl")]);
        let names: Vec<_> = r.record_attributes(crm, spelled).unwrap().map(|a| a.value).collect();
        assert_eq!(names, ["Ann"], "{spelled:?}");
        assert!(matches!(
            r.explain(crm, spelled, crm, " C-2 ").unwrap(),
            Explanation::Linked { customer: c, .. } if c == customer
        ));
    }
    assert_eq!(r.record_at(r.record_idx(crm, " C-1").unwrap()).unwrap().external_id, "C-1");
    r.remove(crm, " C-1\t").unwrap();
    assert_eq!(r.customer_of(crm, "C-1"), None);
    assert_eq!(r.n_records(), 1);
}
