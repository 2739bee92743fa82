//! Bulk loads against the general path on generated data: the fresh-bulk shortcut hands out
//! the general path's ids, and changes after a load end in the batch partition.

use idstitch::{ChangeEvent, CustomerId, RecordInput, Resolver, SourceId};

fn synth_resolver() -> (Resolver, idstitch_testkit::synth::SynthIds) {
    let mut r = idstitch_testkit::synth::resolver_builder().build().unwrap();
    let ids = idstitch_testkit::synth::SynthIds::register(&mut r).unwrap();
    (r, ids)
}

/// The fresh-bulk shortcut (`settle_fresh`) hands out the ids the general path does: a
/// resolver that once held a record takes the general path on the same batch and must give
/// every record the same id, shifted by the one id the earlier record used.
#[test]
fn fresh_bulk_gives_the_ids_of_the_general_path() {
    use idstitch_testkit::synth::{self, SynthConfig};
    let (mut fresh, ids) = synth_resolver();
    let (mut general, _) = synth_resolver();
    let inputs: Vec<RecordInput> =
        synth::records(&SynthConfig::new(2_000, 7)).map(|r| ids.input(&r)).collect();
    let crm = ids.source("crm").unwrap();
    general.upsert(RecordInput::new(crm, "earlier")).unwrap();
    general.remove(crm, "earlier").unwrap();

    let fresh_events = fresh.ingest(inputs.clone()).events;
    let general_events = general.ingest(inputs.clone()).events;
    let created = |events: &[ChangeEvent]| -> Vec<u64> {
        events
            .iter()
            .flat_map(|e| match e {
                ChangeEvent::Created { customers } => customers.iter().map(CustomerId::get),
                other => panic!("a bulk into an empty resolver only creates: {other:?}"),
            })
            .collect()
    };
    let n = fresh.n_customers() as u64;
    assert!(n > 100 && n < inputs.len() as u64, "some records link, not all");
    assert_eq!((fresh_events.len(), general_events.len()), (1, 1), "one run of new ids");
    assert_eq!(created(&fresh_events), (1..=n).collect::<Vec<_>>());
    assert_eq!(created(&general_events), (2..=n + 1).collect::<Vec<_>>());
    for input in &inputs {
        let a = fresh.customer_of(input.source, &input.external_id).unwrap();
        let b = general.customer_of(input.source, &input.external_id).unwrap();
        assert_eq!(a.get() + 1, b.get(), "{}", input.external_id);
    }
}

/// Changes after a bulk load re-resolve regions (the generated data's biggest raw
/// component among them): batches of new records, removals and replaced records must end
/// in the customers a bulk load of the final records gives.
#[test]
fn changes_in_big_regions_end_in_the_batch_partition() {
    use idstitch_testkit::synth::{self, SynthConfig};
    let partition = |r: &Resolver| {
        let mut groups: Vec<Vec<(SourceId, String)>> = r
            .customers()
            .map(|c| {
                let mut g: Vec<(SourceId, String)> = r
                    .customer_records(c)
                    .unwrap()
                    .map(|rec| (rec.source, rec.external_id.to_string()))
                    .collect();
                g.sort();
                g
            })
            .collect();
        groups.sort();
        groups
    };
    let (mut incremental, ids) = synth_resolver();
    let mut inputs: Vec<RecordInput> =
        synth::records(&SynthConfig::new(3_000, 11)).map(|r| ids.input(&r)).collect();
    // A stride, not a prefix: every source and trap is in the first load and the rest.
    let (first, rest): (Vec<_>, Vec<_>) =
        inputs.iter().cloned().enumerate().partition(|(i, _)| i % 10 < 7);
    incremental.ingest(first.into_iter().map(|(_, r)| r));
    for batch in rest.chunks(rest.len() / 3 + 1) {
        incremental.ingest(batch.iter().map(|(_, r)| r));
    }
    let mut removed = 0;
    for input in inputs.iter().step_by(13) {
        incremental.remove(input.source, &input.external_id).unwrap();
        removed += 1;
    }
    inputs = inputs.into_iter().enumerate().filter(|(i, _)| i % 13 != 0).map(|(_, r)| r).collect();
    // Replace every 7th remaining record by itself without its last key.
    let replaced: Vec<RecordInput> = inputs
        .iter()
        .step_by(7)
        .map(|r| {
            let mut r = r.clone();
            r.keys.pop();
            r
        })
        .collect();
    incremental.ingest(&replaced);
    for (i, r) in inputs.iter_mut().enumerate() {
        if i % 7 == 0 {
            r.keys.pop();
        }
    }
    let (mut batch, _) = synth_resolver();
    batch.ingest(&inputs);
    assert!(removed > 100);
    assert_eq!(incremental.n_records(), inputs.len());
    let expected = partition(&batch);
    assert!(expected.len() > 1000 && expected.len() < inputs.len(), "some links made");
    assert_eq!(partition(&incremental), expected);
}

/// Repeated ids within one bulk ingest are counted per source, against a plain model: a row
/// is a repeat when an earlier row of the same call had its (source, trimmed id); rows with
/// an empty id are skipped, not repeats; records held before the call are not repeats; the
/// examples are the first five distinct repeated ids in order. Across `LOAD_CHUNK` (2,048)
/// and across the batches of `ingest_from`, which are one load.
mod repeats {
    use std::collections::{BTreeMap, HashSet};

    use idstitch::adapter::memory::IterSource;
    use idstitch::{KindId, RecordInput, Resolver, SourceId};
    use proptest::prelude::*;

    fn model(rows: &[(u16, String)]) -> (BTreeMap<u16, u64>, BTreeMap<u16, Vec<String>>) {
        let mut seen = HashSet::new();
        let (mut counts, mut examples) = (BTreeMap::new(), BTreeMap::<u16, Vec<String>>::new());
        for (source, id) in rows {
            let id = id.trim();
            if id.is_empty() {
                continue;
            }
            if !seen.insert((*source, id.to_string())) {
                *counts.entry(*source).or_default() += 1;
                let list = examples.entry(*source).or_default();
                if list.len() < 5 && !list.iter().any(|e| e == id) {
                    list.push(id.to_string());
                }
            }
        }
        (counts, examples)
    }

    fn row() -> impl Strategy<Value = (u16, String)> {
        (0u16..2, 0u32..40, 0u8..10).prop_map(|(s, id, pad)| {
            let id = if pad == 0 {
                String::new()
            } else {
                format!("{}r{id}", " ".repeat(usize::from(pad % 2)))
            };
            (s, id)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn repeats_are_counted_as_the_model_says(
            before in proptest::collection::vec(row(), 0..30),
            rows in proptest::collection::vec(row(), 0..3000),
            batch in 1usize..700,
        ) {
            let mut resolver = Resolver::new();
            let sources: Vec<SourceId> =
                (0..2).map(|i| resolver.add_source(&format!("s{i}"), 10).unwrap()).collect();
            let input = |(s, id): &(u16, String)| {
                RecordInput::new(sources[usize::from(*s)], id.clone())
                    .with_key(KindId::EMAIL, format!("{}@x.nl", id.trim()))
            };
            resolver.ingest(before.iter().map(input));
            let inputs: Vec<RecordInput> = rows.iter().map(input).collect();
            let mut source = IterSource::new(inputs);
            let changes = resolver.ingest_from(&mut source, batch, |_| {}).unwrap();
            let (counts, examples) = model(&rows);
            let by_source = |m: &BTreeMap<SourceId, u64>| -> BTreeMap<u16, u64> {
                m.iter().map(|(s, n)| (sources.iter().position(|x| x == s).unwrap() as u16, *n)).collect()
            };
            prop_assert_eq!(by_source(&changes.report.records_repeated), counts);
            let got: BTreeMap<u16, Vec<String>> = changes
                .report
                .repeated_examples
                .iter()
                .map(|(s, v)| (sources.iter().position(|x| x == s).unwrap() as u16, v.clone()))
                .collect();
            prop_assert_eq!(got, examples);
        }
    }
}
