//! How are keys and records put back into a resolver, and how is the saved partition
//! restored? Keys and records are appended as read, their hashes gathered by home bucket, and
//! both indexes built once at the end in an order the cache follows; records go in blocks
//! whose key-slot reads overlap. Every value is checked before it is used.

use super::*;
use crate::store::hash_index::HomeBuckets;

/// A loading error before the section is known.
#[derive(Debug)]
pub(super) enum LoadError {
    Malformed(Malformed),
    Invalid(&'static str),
}

impl From<Malformed> for LoadError {
    fn from(m: Malformed) -> Self {
        LoadError::Malformed(m)
    }
}

impl LoadError {
    pub(super) fn at(self, section: &'static str, offset: u64) -> SnapshotError {
        let reason = match self {
            LoadError::Malformed(Malformed::Truncated) => "a value runs past the section's end",
            LoadError::Malformed(Malformed::Invalid(reason)) | LoadError::Invalid(reason) => reason,
        };
        SnapshotError::Corrupt { section, offset, reason }
    }
}

/// A record read from a block, not stored yet.
pub(super) struct Pending<'b> {
    slot: RecordIdx,
    seq: u32,
    source: SourceId,
    external_id: &'b str,
    hash: u64,
    /// Its keys in `Loader::keys`.
    keys: std::ops::Range<usize>,
    customer: u32,
    /// Its attributes in the block's values.
    values: std::ops::Range<usize>,
}

/// What loading collects across sections.
#[derive(Default)]
pub(super) struct Loader {
    /// The attribute store's id of each name the file lists.
    pub(super) names: Vec<u16>,
    pub(super) free: Vec<RecordIdx>,
    /// Each record's customer.
    customers: Vec<(RecordIdx, u32)>,
    /// Keys saved as refused: resolving the loaded graph may decide otherwise, and the
    /// saved state is what the next operation must see.
    refused: Vec<KeyIdx>,
    keys: Vec<KeyIdx>,
    /// `(hash, key)` and `(hash, record slot)` of everything loaded, indexed at the end in
    /// one pass that reads the index in order (`IdentityGraph::index_restored`).
    key_hashes: Option<HomeBuckets>,
    record_hashes: Option<HomeBuckets>,
}

impl Loader {
    /// Makes room for about `n_keys` keys and `n_records` records (the snapshot's counts,
    /// which the caller bounds by the file's size: wrong ones only cost locality).
    pub(super) fn expect(&mut self, n_keys: usize, n_records: usize) {
        self.customers.reserve_exact(n_records);
        self.key_hashes = Some(HomeBuckets::new(n_keys));
        self.record_hashes = Some(HomeBuckets::new(n_records));
    }

    pub(super) fn keys(
        &mut self,
        resolver: &mut Resolver,
        r: &mut Reader<'_>,
    ) -> Result<(), LoadError> {
        let state = resolver.state_mut();
        while !r.is_empty() {
            let kind = KindId(r.var_u16()?);
            if state.kinds.get(kind).is_none() {
                return Err(LoadError::Invalid("key of an unknown kind"));
            }
            let flags = r.u8()?;
            if flags > 3 {
                return Err(LoadError::Invalid("key flags"));
            }
            let value = r.str()?;
            let order_tag = r.var()?;
            let flags = KeyFlags { denied: flags & 1 != 0, refused: flags & 2 != 0 };
            let hash = hash_key(state.graph.key_hasher(), kind, value);
            let k = (state.graph.push_restored_key(kind, value, flags, order_tag))
                .map_err(LoadError::Invalid)?;
            self.key_hashes.get_or_insert_with(|| HomeBuckets::new(0)).push(hash, k.0);
            if flags.refused {
                self.refused.push(k);
            }
        }
        Ok(())
    }

    pub(super) fn records(
        &mut self,
        resolver: &mut Resolver,
        r: &mut Reader<'_>,
    ) -> Result<(), LoadError> {
        let n_sources = resolver.state().sources.len();
        let state = resolver.state_mut();
        let n_keys = state.graph.n_keys() as u64;
        // A block is read, the key slots its records will join are brought in together, then
        // its records are stored.
        let mut block: Vec<Pending<'_>> = Vec::with_capacity(RECORD_BLOCK);
        let mut values: Vec<(u16, &str, Option<crate::Timestamp>)> = Vec::new();
        while !r.is_empty() {
            block.clear();
            values.clear();
            self.keys.clear();
            while block.len() < RECORD_BLOCK && !r.is_empty() {
                let slot = RecordIdx(r.var_u32()?);
                let seq = r.var_u32()?;
                let source = SourceId(r.var_u16()?);
                if source.index() >= n_sources {
                    return Err(LoadError::Invalid("record of an unknown source"));
                }
                let external_id = r.str()?;
                let n = r.count(1)?;
                let keys_from = self.keys.len();
                let mut next = 0u64;
                for _ in 0..n {
                    let k = next.checked_add(r.var()?).filter(|&k| k < n_keys);
                    let k = k.ok_or(LoadError::Invalid("key index out of range"))?;
                    self.keys.push(KeyIdx(k as u32));
                    next = k + 1;
                }
                // Ids past `MAX_CUSTOMER_ID` (`u32::MAX`) are refused here: 4 bytes each below.
                let customer = u32::try_from(r.var()?)
                    .map_err(|_| LoadError::Invalid("customer id out of range"))?;
                let n = r.count(3)?;
                let values_from = values.len();
                for _ in 0..n {
                    let name = usize::try_from(r.var()?).ok().and_then(|i| self.names.get(i));
                    let name = *name.ok_or(LoadError::Invalid("attribute name index"))?;
                    let value = r.str()?;
                    let observed_at = match r.u8()? {
                        0 => None,
                        1 => Some(crate::Timestamp(r.var_i64()?)),
                        _ => return Err(LoadError::Invalid("option tag")),
                    };
                    values.push((name, value, observed_at));
                }
                let hash = hash_record(state.graph.key_hasher(), source, external_id);
                block.push(Pending {
                    slot,
                    seq,
                    source,
                    external_id,
                    hash,
                    keys: keys_from..self.keys.len(),
                    customer,
                    values: values_from..values.len(),
                });
            }
            // The key slots the block's records will join are brought in together.
            std::hint::black_box(state.graph.touch_records(std::iter::empty(), &self.keys));
            for p in &block {
                let keys = &self.keys[p.keys.clone()];
                (state.graph.push_restored_record(p.slot, p.source, p.external_id, p.seq))
                    .map_err(LoadError::Invalid)?;
                let hashes = self.record_hashes.get_or_insert_with(|| HomeBuckets::new(0));
                hashes.push(p.hash, p.slot.0);
                let has_limited = keys.iter().any(|&k| {
                    state.kinds.entry(state.graph.key(k).kind).spec.policy.limit.is_some()
                });
                self.customers.push((p.slot, p.customer));
                let too_large = |_| LoadError::Invalid("record too large");
                state.graph.check_room(keys.len(), &[]).map_err(too_large)?;
                state.graph.set_keys(p.slot, keys, has_limited).map_err(too_large)?;
                (state.graph.restore_attributes(p.slot, &values[p.values.clone()]))
                    .map_err(LoadError::Invalid)?;
            }
        }
        Ok(())
    }

    pub(super) fn finish(
        &mut self,
        resolver: &mut Resolver,
        counts: &[u64],
    ) -> Result<(), &'static str> {
        let state = resolver.state_mut();
        let [n_keys, n_records, n_customers, next_seq, next_customer] = counts else {
            return Err("counts");
        };
        if *n_keys != state.graph.n_keys() as u64 || *n_records != state.graph.n_records() as u64 {
            return Err("counts differ from the sections: a section is missing");
        }
        let next_seq = u32::try_from(*next_seq).map_err(|_| "next record number")?;
        let keys = self.key_hashes.take().unwrap_or_else(|| HomeBuckets::new(0));
        let records = self.record_hashes.take().unwrap_or_else(|| HomeBuckets::new(0));
        state.graph.index_restored(keys, records)?;
        state.graph.finish_restore(std::mem::take(&mut self.free), next_seq)?;
        state.partition.restore(state.graph, &self.customers, *next_customer)?;
        if *n_customers != state.partition.n_customers() as u64 {
            return Err("customer count differs from the records' customers");
        }
        for k in 0..state.graph.n_keys() {
            state.graph.set_refused(KeyIdx(k as u32), false);
        }
        for &k in &self.refused {
            state.graph.set_refused(k, true);
        }
        state.graph.trim();
        Ok(())
    }
}
