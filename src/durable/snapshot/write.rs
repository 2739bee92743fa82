//! How are a resolver's parts written as checksummed sections?

use super::*;

/// Writes sections to a file, each with its CRC-32.
pub(super) struct SectionWriter<W: Write> {
    out: W,
    w: Writer,
}

impl<W: Write> SectionWriter<W> {
    fn flush_section(&mut self, tag: u8) -> io::Result<()> {
        let payload = std::mem::take(&mut self.w.buf);
        let mut frame = [0u8; 9];
        frame[0] = tag;
        frame[1..].copy_from_slice(&(payload.len() as u64).to_le_bytes());
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&frame);
        hasher.update(&payload);
        self.out.write_all(&frame)?;
        self.out.write_all(&payload)?;
        self.out.write_all(&hasher.finalize().to_le_bytes())?;
        self.w.buf = payload;
        self.w.buf.clear();
        Ok(())
    }
}

/// Writes the whole state of `state` to `out` as generation `generation`.
pub(crate) fn write_state(
    state: &StateRef<'_>,
    config: &[u8],
    generation: u64,
    out: impl Write,
) -> io::Result<()> {
    let mut s = SectionWriter { out, w: Writer::default() };
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(SNAPSHOT);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&generation.to_le_bytes());
    header.extend_from_slice(&crc32(&header).to_le_bytes());
    s.out.write_all(&header)?;

    s.w.buf.extend_from_slice(config);
    s.flush_section(CONFIG)?;

    s.w.var(state.sources.len() as u64);
    for (id, name) in state.sources.iter() {
        s.w.str(name);
        s.w.var(u64::from(state.sources.trust(id).unwrap_or(0)));
    }
    // The sizes to come, so that loading makes room once instead of growing its tables.
    let graph = state.graph;
    let live_keys = graph.keys().filter(|(_, info)| info.n_records > 0).count();
    s.w.var(live_keys as u64);
    s.w.var(graph.n_records() as u64);
    s.flush_section(SOURCES)?;

    // Keys no record carries are left out (reclaimed); the others keep their order.
    let mut remap = vec![u32::MAX; graph.n_keys()];
    let mut n_keys = 0u32;
    let mut in_section = 0;
    for (k, info) in graph.keys() {
        if info.n_records == 0 {
            continue;
        }
        if in_section == 0 {
            s.w.buf.clear();
        }
        remap[k.index()] = n_keys;
        n_keys += 1;
        let flags = graph.key_flags(k);
        s.w.var(u64::from(info.kind.get()));
        s.w.u8(u8::from(flags.denied) | (u8::from(flags.refused) << 1));
        s.w.str(graph.key_value(k));
        s.w.var(graph.order_tag(k));
        in_section += 1;
        if in_section == KEYS_PER_SECTION {
            s.flush_section(KEYS)?;
            in_section = 0;
        }
    }
    if in_section > 0 {
        s.flush_section(KEYS)?;
    }

    let mut names: AHashMap<&str, u64> = AHashMap::new();
    let mut name_list: Vec<&str> = Vec::new();
    for (_, slot) in graph.records() {
        for a in graph.attributes(slot) {
            names.entry(a.name).or_insert_with(|| {
                name_list.push(a.name);
                name_list.len() as u64 - 1
            });
        }
    }
    s.w.var(name_list.len() as u64);
    for name in &name_list {
        s.w.str(name);
    }
    s.flush_section(NAMES)?;

    let mut in_section = 0;
    for (r, slot) in graph.records() {
        s.w.var(u64::from(r.0));
        s.w.var(u64::from(slot.seq()));
        s.w.var(u64::from(slot.source.get()));
        s.w.str(graph.external_id(slot));
        let keys = graph.key_list(r);
        s.w.var(keys.len() as u64);
        let mut previous = 0u32;
        for (i, k) in keys.iter().enumerate() {
            let k = remap[k.index()];
            // Sorted and distinct: each after the first is the gap to the one before.
            s.w.var(u64::from(if i == 0 { k } else { k - previous - 1 }));
            previous = k;
        }
        s.w.var(state.partition.customer_of(r).0);
        let attributes: Vec<_> = graph.attributes(slot).collect();
        s.w.var(attributes.len() as u64);
        for a in attributes {
            s.w.var(names.get(a.name).copied().unwrap_or_default());
            s.w.str(a.value);
            match a.observed_at {
                None => s.w.u8(0),
                Some(t) => {
                    s.w.u8(1);
                    s.w.var_i64(t.0);
                }
            }
        }
        in_section += 1;
        if in_section == RECORDS_PER_SECTION {
            s.flush_section(RECORDS)?;
            in_section = 0;
        }
    }
    if in_section > 0 {
        s.flush_section(RECORDS)?;
    }

    let free = graph.free_records();
    s.w.var(free.len() as u64);
    for r in free {
        s.w.var(u64::from(r.0));
    }
    s.flush_section(FREE)?;

    write_store(&mut s, state.events, EVENTS)?;
    write_store(&mut s, state.touches, TOUCHES)?;
    if !state.campaigns.is_empty() {
        s.w.var(state.campaigns.len() as u64);
        for c in state.campaigns {
            codec::write_campaign(&mut s.w, c);
        }
        s.flush_section(CAMPAIGNS)?;
    }

    // Keyed hashes only: `(kind, 32 bytes)`, ascending.
    let suppression = state.suppression;
    s.w.var(suppression.len() as u64);
    for (kind, digest) in suppression.entries() {
        s.w.var(u64::from(kind.get()));
        s.w.buf.extend_from_slice(digest);
    }
    s.flush_section(SUPPRESSED)?;

    let partition = state.partition;
    s.w.var(u64::from(n_keys));
    s.w.var(graph.n_records() as u64);
    s.w.var(partition.n_customers() as u64);
    s.w.var(u64::from(graph.next_seq()));
    s.w.var(partition.next_customer());
    // The journey clock; tracked stages are classified again on loading, as of it.
    match state.journey.clock() {
        None => s.w.u8(0),
        Some(clock) => {
            s.w.u8(1);
            s.w.var_i64(clock.0);
        }
    }
    s.flush_section(END)?;
    s.out.flush()
}

/// Each owner's rows of an event store as `tag` sections: a record by slot or a pending list
/// by source and external id, then its rows with their id's fingerprint (never the id).
fn write_store<W: Write>(s: &mut SectionWriter<W>, store: &EventStore, tag: u8) -> io::Result<()> {
    let mut in_section = 0;
    for (owner, events) in store.saved_owners() {
        match owner {
            SavedOwner::Record(r) => {
                s.w.u8(0);
                s.w.var(u64::from(r.0));
            }
            SavedOwner::Pending(source, external_id) => {
                s.w.u8(1);
                s.w.var(u64::from(source.get()));
                s.w.str(external_id);
            }
        }
        s.w.var(events.len() as u64);
        for e in &events {
            s.w.var(u64::from(e.kind.get()));
            s.w.var_i64(e.at.0);
            s.w.buf.extend_from_slice(&e.value.to_bits().to_le_bytes());
            s.w.str(e.topic);
            s.w.str(e.channel);
            s.w.buf.extend_from_slice(&e.fp.to_le_bytes());
        }
        in_section += events.len();
        if in_section >= EVENTS_PER_SECTION {
            s.flush_section(tag)?;
            in_section = 0;
        }
    }
    if in_section > 0 {
        s.flush_section(tag)?;
    }
    Ok(())
}
