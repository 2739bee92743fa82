//! The floor of the speed issue, shared by `benches/core.rs` and `examples/scale.rs`: the
//! normalised keys idstitch derived for a set of records, hashed into an `AHashMap<&str, u32>`
//! and joined with a bare union-find — no policy, no graph, no events, no normalisation. What
//! idstitch costs above this is what its policy, storage and events cost.
//!
//! [`run_floor_hashed`] is a lower floor still: keys stand for their 64-bit hash alone, so the
//! map holds no string and a hit compares none. It can merge two keys whose hashes collide, so
//! it is a bound on the machine's speed for this work, not a resolver.
//!
//! [`run_normalise`] is the other part no resolver can skip: turning the records' raw values
//! into key values (each kind's normaliser, composite parts as text) and hashing them, with
//! nothing checked against placeholders and nothing kept. A floor plus this is a bound on a
//! bulk load from raw input on this machine, before anything is stored.

use idstitch::{KindSpec, RecordInput, Resolver};

/// Every stored record's normalised keys, kind-prefixed (`"{kind}:{value}"`) so equal values
/// of different kinds stay apart, back to back in one string.
pub struct FloorInput {
    text: String,
    /// End of each key in `text`.
    key_ends: Vec<usize>,
    /// End of each record's keys in `key_ends`.
    record_ends: Vec<usize>,
}

impl FloorInput {
    /// The keys of every record `resolver` holds (prepared outside any timing).
    pub fn from_resolver(resolver: &Resolver) -> Self {
        let mut input =
            FloorInput { text: String::new(), key_ends: Vec::new(), record_ends: Vec::new() };
        for (record, _) in resolver.assignments() {
            for (kind, value) in
                resolver.record_keys(record.source, record.external_id).unwrap_or_default()
            {
                input.text.push_str(&kind.get().to_string());
                input.text.push(':');
                input.text.push_str(value);
                input.key_ends.push(input.text.len());
            }
            input.record_ends.push(input.key_ends.len());
        }
        input
    }

    /// Number of records.
    pub fn n_records(&self) -> usize {
        self.record_ends.len()
    }

    /// Number of keys over all records.
    pub fn n_keys(&self) -> usize {
        self.key_ends.len()
    }
}

/// Hashes every key into a map (first record seen per key) and unions each record with it;
/// returns the number of clusters.
pub fn run_floor(input: &FloorInput) -> usize {
    let mut first: ahash::AHashMap<&str, u32> = ahash::AHashMap::with_capacity(input.n_keys());
    link(input, |value, record| *first.entry(value).or_insert(record))
}

/// [`run_floor`] with each key replaced by its 64-bit hash (computed inside the timing).
pub fn run_floor_hashed(input: &FloorInput) -> usize {
    let state = ahash::RandomState::new();
    let mut first: ahash::AHashMap<u64, u32> = ahash::AHashMap::with_capacity(input.n_keys());
    link(input, |value, record| *first.entry(state.hash_one(value)).or_insert(record))
}

/// Unions every record with the record `first_with` names for each of its keys (the first to
/// carry it); returns the number of clusters.
fn link<'a>(input: &'a FloorInput, mut first_with: impl FnMut(&'a str, u32) -> u32) -> usize {
    let n = input.n_records();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let grand = parent[parent[x as usize] as usize];
            parent[x as usize] = grand;
            x = grand;
        }
        x
    }
    let (mut key, mut key_start) = (0usize, 0usize);
    for (i, &record_end) in input.record_ends.iter().enumerate() {
        while key < record_end {
            let end = input.key_ends[key];
            let value = &input.text[key_start..end];
            (key, key_start) = (key + 1, end);
            let j = first_with(value, i as u32);
            let (a, b) = (find(&mut parent, j), find(&mut parent, i as u32));
            if a != b {
                parent[a.max(b) as usize] = a.min(b);
            }
        }
    }
    (0..n as u32).filter(|&i| parent[i as usize] == i).count()
}

/// Normalises every raw value of `records` as `resolver` would (its kinds' normalisers, its
/// default country; a composite kind's parts as text, joined) and hashes each value; returns
/// the number of values that normalised.
pub fn run_normalise(records: &[RecordInput], resolver: &Resolver) -> usize {
    let ctx = resolver.normalize_context();
    let mut specs: Vec<Option<&KindSpec>> = Vec::new();
    for (kind, _) in resolver.kinds() {
        let i = usize::from(kind.get());
        if specs.len() <= i {
            specs.resize(i + 1, None);
        }
        specs[i] = resolver.kind_spec(kind);
    }
    let composites: Vec<&KindSpec> =
        specs.iter().flatten().copied().filter(|s| s.composite.is_some()).collect();
    let state = ahash::RandomState::new();
    let (mut out, mut joined) = (String::new(), String::new());
    let (mut n, mut acc) = (0, 0u64);
    for record in records {
        for (kind, raw) in &record.keys {
            let Some(spec) = specs.get(usize::from(kind.get())).copied().flatten() else {
                continue;
            };
            if spec.normalizer.normalize_into(raw, ctx, &mut out).is_ok() {
                acc ^= state.hash_one(out.as_str());
                n += 1;
            }
        }
        for spec in &composites {
            joined.clear();
            let complete = spec.composite.iter().flatten().all(|part| {
                let Some(raw) = record.attribute(part) else { return false };
                let ok = spec.normalizer.normalize_into(raw, ctx, &mut out).is_ok();
                joined.push_str(&out);
                joined.push('\u{1f}');
                ok
            });
            if complete {
                acc ^= state.hash_one(joined.as_str());
                n += 1;
            }
        }
    }
    std::hint::black_box(acc);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use idstitch::KindId;

    /// The floor links records through any shared normalised key, but a value of one kind
    /// never meets the same value of another (the kind prefix), as in the resolver.
    #[test]
    fn floor_links_through_shared_keys_of_one_kind() {
        let mut resolver = Resolver::builder().build().unwrap();
        let web = resolver.add_source("web", 10).unwrap();
        let records = [
            RecordInput::new(web, "a").with_key(KindId::EMAIL, "Jan@Example.nl"),
            RecordInput::new(web, "b").with_key(KindId::EMAIL, "jan@example.nl"),
            RecordInput::new(web, "c")
                .with_key(KindId::COOKIE, "x1")
                .with_key(KindId::DEVICE, "d9"),
            RecordInput::new(web, "d").with_key(KindId::DEVICE, "x1"),
        ];
        resolver.ingest(records.iter().cloned());

        let input = FloorInput::from_resolver(&resolver);
        assert_eq!((input.n_records(), input.n_keys()), (4, 5));
        assert_eq!(run_floor(&input), 3);
        assert_eq!(run_floor_hashed(&input), 3);
        assert_eq!(run_normalise(&records, &resolver), 5);
    }
}
