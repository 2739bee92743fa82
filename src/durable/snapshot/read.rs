//! How is a snapshot read back: the header, sections in their order each checked against
//! its checksum, and the resolver they describe?

use super::*;

/// Reads sections back, checking each one's checksum.
pub(super) struct SectionReader<R: Read> {
    input: R,
    offset: u64,
    /// The file's length.
    size: u64,
    buf: Vec<u8>,
}

impl<R: Read> SectionReader<R> {
    /// The next section: its tag, payload and start offset.
    fn next(&mut self) -> Result<(u8, u64), SnapshotError> {
        let start = self.offset;
        let mut frame = [0u8; 9];
        self.read_exact(&mut frame, "section header", start)?;
        let tag = frame[0];
        let mut len = [0u8; 8];
        len.copy_from_slice(&frame[1..]);
        let len = u64::from_le_bytes(len);
        let section = section_name(tag);
        if len > MAX_SECTION {
            return Err(SnapshotError::Corrupt {
                section,
                offset: start,
                reason: "section too long",
            });
        }
        // A length past the end of the file is damage, found before anything is allocated.
        if len > self.size.saturating_sub(self.offset) {
            return Err(SnapshotError::Truncated { section, offset: self.size });
        }
        self.buf.clear();
        self.buf.resize(len as usize, 0);
        let mut payload = std::mem::take(&mut self.buf);
        let read = self.read_exact(&mut payload, section, start);
        self.buf = payload;
        read?;
        let mut crc = [0u8; 4];
        self.read_exact(&mut crc, section, start)?;
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&frame);
        hasher.update(&self.buf);
        if hasher.finalize() != u32::from_le_bytes(crc) {
            return Err(SnapshotError::Checksum { section, offset: start });
        }
        Ok((tag, start))
    }

    fn read_exact(
        &mut self,
        out: &mut [u8],
        section: &'static str,
        _start: u64,
    ) -> Result<(), SnapshotError> {
        match self.input.read_exact(out) {
            Ok(()) => {
                self.offset += out.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(SnapshotError::Truncated { section, offset: self.offset })
            }
            Err(source) => Err(SnapshotError::Io { what: "read", source }),
        }
    }
}

/// How a snapshot is opened: configured by itself, or by the host's builder (required when a
/// kind has a custom normaliser), which must match it.
///
/// `FromFile` may carry a raw-mode suppression secret: required when the file keys its
/// suppression list with one (and checked against its verifier), adopted when it has none.
pub(crate) enum Opener<'a> {
    FromFile(Option<&'a Pseudonymizer>),
    With(&'a ResolverBuilder),
}

/// Reads a snapshot from `input`: the resolver it holds and its generation.
pub(crate) fn read_state(
    input: impl Read,
    size_hint: u64,
    opener: Opener<'_>,
) -> Result<(Resolver, u64), SnapshotError> {
    let mut s = SectionReader { input, offset: 0, size: size_hint, buf: Vec::new() };
    let mut header = [0u8; HEADER_LEN];
    match s.input.read_exact(&mut header) {
        Ok(()) => s.offset = HEADER_LEN as u64,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(if header.starts_with(MAGIC) || header.iter().all(|&b| b == 0) {
                SnapshotError::Truncated { section: "header", offset: 0 }
            } else {
                SnapshotError::NotASnapshot
            })
        }
        Err(source) => return Err(SnapshotError::Io { what: "read", source }),
    }
    if &header[..8] != MAGIC || &header[8..12] != SNAPSHOT {
        return Err(SnapshotError::NotASnapshot);
    }
    let word =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    if crc32(&header[..24]) != word(24) {
        return Err(SnapshotError::Checksum { section: "header", offset: 0 });
    }
    let version = word(12);
    if version != FORMAT_VERSION {
        return Err(SnapshotError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let generation = u64::from(word(16)) | (u64::from(word(20)) << 32);
    let mut loader = Loader::default();
    let mut resolver: Option<Resolver> = None;
    let mut expected = CONFIG;
    // Whether the configuration keys a suppression list with a raw-mode secret.
    let mut file_keyed = false;
    loop {
        let (tag, offset) = s.next()?;
        let section = section_name(tag);
        let corrupt = |reason| SnapshotError::Corrupt { section, offset, reason };
        let malformed = |m: Malformed| match m {
            Malformed::Truncated => corrupt("a value runs past the section's end"),
            Malformed::Invalid(reason) => corrupt(reason),
        };
        // Sections come in a fixed order; keys and records may repeat.
        let allowed = match expected {
            CONFIG => tag == CONFIG,
            SOURCES => tag == SOURCES,
            KEYS => tag == KEYS || tag == NAMES,
            RECORDS => tag == RECORDS || tag == FREE,
            SUPPRESSED => matches!(tag, EVENTS | TOUCHES | CAMPAIGNS | SUPPRESSED),
            END => tag == END,
            _ => false,
        };
        if !allowed {
            return Err(corrupt("section out of order"));
        }
        let mut r = Reader::new(&s.buf);
        match tag {
            CONFIG => {
                let from_file;
                (from_file, file_keyed) = decode_config(&mut r).map_err(malformed)?;
                let built = match opener {
                    Opener::FromFile(secret) => {
                        let mut builder = from_file?;
                        if let Some(secret) = secret {
                            builder.suppression_state(secret.clone());
                        }
                        if file_keyed {
                            if secret.is_none() {
                                return Err(SnapshotError::SecretRequired);
                            }
                            if config_of(&builder, true) != s.buf {
                                return Err(SnapshotError::ConfigMismatch {
                                    what: "another suppression secret".to_string(),
                                });
                            }
                        }
                        builder.build()?
                    }
                    Opener::With(builder) => {
                        // A builder's suppression secret is adopted by a snapshot without
                        // one (whose list is empty): the rest must match.
                        let adopt = !file_keyed && builder.effective_suppression_secret().is_some();
                        if config_of(builder, !adopt) != s.buf {
                            return Err(SnapshotError::ConfigMismatch {
                                what: describe_mismatch(from_file, file_keyed, builder),
                            });
                        }
                        builder.build()?
                    }
                };
                resolver = Some(built);
                expected = SOURCES;
            }
            SOURCES => {
                let resolver = resolver.as_mut().ok_or_else(|| corrupt("no configuration"))?;
                let n = r.count(2).map_err(malformed)?;
                for _ in 0..n {
                    let name = r.str().map_err(malformed)?;
                    let trust = r.var_u32().map_err(malformed)?;
                    resolver
                        .add_source(name, trust)
                        .map_err(|_| corrupt("invalid or repeated source"))?;
                }
                // Counts a damaged file could inflate are bounded by its size: every key and
                // record takes at least two bytes.
                let bound = size_hint / 2;
                let n_keys = r.var().map_err(malformed)?.min(bound) as usize;
                let n_records = r.var().map_err(malformed)?.min(bound) as usize;
                resolver.reserve_exact(n_records, n_keys);
                loader.expect(n_keys, n_records);
                expected = KEYS;
            }
            KEYS => {
                let resolver = resolver.as_mut().ok_or_else(|| corrupt("no configuration"))?;
                loader.keys(resolver, &mut r).map_err(|e| e.at(section, offset))?;
            }
            NAMES => {
                let resolver = resolver.as_mut().ok_or_else(|| corrupt("no configuration"))?;
                let graph = resolver.state_mut().graph;
                let n = r.count(1).map_err(malformed)?;
                for _ in 0..n {
                    let name = r.str().map_err(malformed)?;
                    loader.names.push(graph.restored_name(name).map_err(corrupt)?);
                }
                expected = RECORDS;
            }
            RECORDS => {
                let resolver = resolver.as_mut().ok_or_else(|| corrupt("no configuration"))?;
                loader.records(resolver, &mut r).map_err(|e| e.at(section, offset))?;
            }
            FREE => {
                let n = r.count(1).map_err(malformed)?;
                loader.free = (0..n)
                    .map(|_| r.var_u32().map(RecordIdx))
                    .collect::<Result<_, _>>()
                    .map_err(malformed)?;
                expected = SUPPRESSED;
            }
            EVENTS => {
                let resolver = resolver.as_mut().ok_or_else(|| corrupt("no configuration"))?;
                read_events(resolver, &mut r, false).map_err(|e| e.at(section, offset))?;
            }
            CAMPAIGNS => {
                let resolver = resolver.as_mut().ok_or_else(|| corrupt("no configuration"))?;
                let n = r.count(6).map_err(malformed)?;
                for _ in 0..n {
                    let spec = codec::read_campaign(&mut r).map_err(malformed)?;
                    resolver.add_campaign(spec).map_err(|_| corrupt("an invalid campaign"))?;
                }
            }
            TOUCHES => {
                let resolver = resolver.as_mut().ok_or_else(|| corrupt("no configuration"))?;
                read_events(resolver, &mut r, true).map_err(|e| e.at(section, offset))?;
            }
            SUPPRESSED => {
                let resolver = resolver.as_mut().ok_or_else(|| corrupt("no configuration"))?;
                let n = r.count(33).map_err(malformed)?;
                let state = resolver.state_mut();
                if n > 0 && state.kinds.pseudonymizer.is_none() && !file_keyed {
                    return Err(corrupt("a suppression list without a secret"));
                }
                for _ in 0..n {
                    let kind = KindId(r.var_u16().map_err(malformed)?);
                    if state.kinds.get(kind).is_none() {
                        return Err(corrupt("unknown kind"));
                    }
                    let mut digest = [0u8; 32];
                    for byte in &mut digest {
                        *byte = r.u8().map_err(malformed)?;
                    }
                    if !state.suppression.insert(kind, digest) {
                        return Err(corrupt("repeated suppression entry"));
                    }
                }
                expected = END;
            }
            END => {
                let mut resolver = resolver.take().ok_or_else(|| corrupt("no configuration"))?;
                let counts: Vec<u64> =
                    (0..5).map(|_| r.var()).collect::<Result<_, _>>().map_err(malformed)?;
                let clock = match r.u8().map_err(malformed)? {
                    0 => None,
                    1 => Some(crate::Timestamp(r.var_i64().map_err(malformed)?)),
                    _ => return Err(corrupt("option tag")),
                };
                if !r.is_empty() {
                    return Err(corrupt("bytes after the counts"));
                }
                loader.finish(&mut resolver, &counts).map_err(corrupt)?;
                if let Some(clock) = clock {
                    resolver.restart_journey(clock);
                }
                let mut rest = [0u8; 1];
                return match s.input.read(&mut rest) {
                    Ok(0) => Ok((resolver, generation)),
                    Ok(_) => Err(SnapshotError::Corrupt {
                        section: "end",
                        offset: s.offset,
                        reason: "bytes after the end section",
                    }),
                    Err(source) => Err(SnapshotError::Io { what: "read", source }),
                };
            }
            _ => return Err(corrupt("unknown section")),
        }
        if !r.is_empty() {
            return Err(corrupt("bytes left at the section's end"));
        }
    }
}

/// An events section (or with `touches`, a consent and contacts section): owners, each with
/// its rows.
fn read_events(
    resolver: &mut Resolver,
    r: &mut Reader<'_>,
    touches: bool,
) -> Result<(), LoadError> {
    let n_sources = resolver.state().sources.len();
    let state = resolver.state_mut();
    while !r.is_empty() {
        let owner = match r.u8()? {
            0 => {
                let slot = RecordIdx(r.var_u32()?);
                if state.graph.record(slot).is_none() {
                    return Err(LoadError::Invalid("events of an empty record slot"));
                }
                SavedOwner::Record(slot)
            }
            1 => {
                let source = SourceId(r.var_u16()?);
                let external_id = r.str()?;
                if source.index() >= n_sources || external_id.is_empty() {
                    return Err(LoadError::Invalid("events of an unknown source or no record"));
                }
                SavedOwner::Pending(source, external_id)
            }
            _ => return Err(LoadError::Invalid("event owner tag")),
        };
        let n = r.count(13)?;
        for _ in 0..n {
            let kind = EventKind::from_raw(r.var_u16()?);
            let class = match touches {
                false => state.event_kinds.class(kind),
                true => TouchKind::of(kind).map(|_| EventClass::Engagement),
            };
            let class = class.ok_or(LoadError::Invalid("unknown event kind"))?;
            let at = crate::Timestamp(r.var_i64()?);
            let value = f64::from_bits(r.u64()?);
            let (topic, channel) = (r.str()?, r.str()?);
            let fp = r.u64()?;
            let event = SavedEvent { kind, at, value, topic, channel, fp };
            let store = if touches { &mut *state.touches } else { &mut *state.events };
            store.restore(owner, &event, class).map_err(LoadError::Invalid)?;
        }
    }
    Ok(())
}
