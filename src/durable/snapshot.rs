//! What is in a snapshot file, and how is it written safely and read without trusting it?
//!
//! A header (magic number, format version, generation, its own CRC-32), then sections, each
//! `tag, length, payload, CRC-32`: configuration, sources (and the counts to come), keys,
//! attribute names, records (each with its customer id), free record slots, the suppression
//! list (keyed hashes), and an end section with the counts. Large sections are split (at most [`KEYS_PER_SECTION`] keys,
//! [`RECORDS_PER_SECTION`] records each), so neither side holds more than one section in
//! memory besides the resolver itself. Loading joins the saved clusters directly instead of
//! linking the graph again. Saving writes a
//! temporary file beside the target, syncs it, renames it over the target and syncs the
//! directory: a crash leaves the old snapshot or the new one, never a mix.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ahash::AHashMap;

use crate::durable::codec::{crc32, Malformed, Reader, Writer};
use crate::durable::error::SnapshotError;
use crate::ids::{CustomerId, KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::kind::{KindPolicy, KindSpec};
use crate::input::normalize::{NormalizeContext, Normalizer};
use crate::input::prepare::{hash_key, hash_record};
use crate::input::pseudonym::Pseudonymizer;
use crate::input::suppress::SUPPRESSION_VERIFIER;
use crate::resolver::persist::StateRef;
use crate::resolver::{Resolver, ResolverBuilder};
use crate::store::graph::KeyFlags;

/// The first eight bytes of every state file.
pub(crate) const MAGIC: &[u8; 8] = b"IDSTITCH";
const SNAPSHOT: &[u8; 4] = b"SNAP";
/// The snapshot format this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 28;
/// Sections larger than this are refused as corrupt before anything is allocated.
const MAX_SECTION: u64 = 1 << 31;
pub(crate) const KEYS_PER_SECTION: usize = 1 << 16;
pub(crate) const RECORDS_PER_SECTION: usize = 1 << 14;
/// Keys inserted together on loading (see `Loader::keys`).
const KEY_BLOCK: usize = 128;
/// Records stored together on loading (see `Loader::records`).
const RECORD_BLOCK: usize = 64;

const CONFIG: u8 = 1;
const SOURCES: u8 = 2;
const KEYS: u8 = 3;
const NAMES: u8 = 4;
const RECORDS: u8 = 5;
const FREE: u8 = 6;
const SUPPRESSED: u8 = 7;
const END: u8 = 0xff;

/// What the secret's verifier is the pseudonym of.
const SECRET_VERIFIER: &str = "\u{0}idstitch snapshot secret";

fn section_name(tag: u8) -> &'static str {
    match tag {
        CONFIG => "configuration",
        SOURCES => "sources",
        KEYS => "keys",
        NAMES => "attribute names",
        RECORDS => "records",
        FREE => "free slots",
        SUPPRESSED => "suppression list",
        END => "end",
        _ => "unknown section",
    }
}

/// The configuration bytes of a resolver: compared byte for byte when a snapshot is opened
/// with a builder.
pub(crate) fn encode_config(
    kinds: &[(String, KindSpec)],
    ctx: &NormalizeContext,
    pseudonymizer: Option<&Pseudonymizer>,
    suppression_secret: Option<&Pseudonymizer>,
    w: &mut Writer,
) {
    // Pseudonymised mode: a pseudonym of a value no normaliser gives, which tells whether a
    // builder holds the same secret without storing it.
    let mut verifier = String::new();
    if let Some(p) = pseudonymizer {
        p.push_pseudonym(SECRET_VERIFIER, &mut verifier);
    }
    w.str(&verifier);
    // Raw mode with a suppression secret: the same for that secret.
    verifier.clear();
    if let Some(p) = suppression_secret {
        p.push_pseudonym(SUPPRESSION_VERIFIER, &mut verifier);
    }
    w.str(&verifier);
    w.opt_var(ctx.default_calling_code.map(u64::from));
    w.var(kinds.len() as u64);
    for (name, spec) in kinds {
        w.str(name);
        w.u8(match spec.normalizer {
            Normalizer::Email => 0,
            Normalizer::EmailProviderRules => 1,
            Normalizer::Phone => 2,
            Normalizer::CustomerNo => 3,
            Normalizer::Ip => 4,
            Normalizer::Text => 5,
            Normalizer::Opaque => 6,
            Normalizer::Custom(_) => 7,
        });
        let p = &spec.policy;
        w.opt_var(p.limit.map(u64::from));
        w.var_i64(i64::from(p.priority));
        w.opt_var(p.generic_cap.map(u64::from));
        w.var(p.deny.len() as u64);
        for d in &p.deny {
            w.str(d);
        }
        w.u8(u8::from(p.builtin_placeholders));
        w.u8(u8::from(p.links));
        match &spec.composite {
            None => w.u8(0),
            Some(fields) => {
                w.u8(1);
                w.var(fields.len() as u64);
                for f in fields {
                    w.str(f);
                }
            }
        }
    }
}

/// The configuration bytes of a resolver's state.
fn config_bytes(state: &StateRef<'_>) -> Vec<u8> {
    let mut config = Writer::default();
    let specs: Vec<(String, KindSpec)> =
        (state.kinds.entries.iter()).map(|e| (e.name.to_string(), e.spec.clone())).collect();
    let (pseudonymizer, suppression) =
        (state.kinds.pseudonymizer.as_ref(), state.suppression.secret());
    encode_config(&specs, state.ctx, pseudonymizer, suppression, &mut config);
    config.buf
}

/// A builder configured as the snapshot's configuration says, or why a file cannot configure
/// one alone.
///
/// The flag says whether the file keys a suppression list with a raw-mode secret (whose
/// verifier the builder must then match).
#[allow(clippy::type_complexity)]
fn decode_config(
    r: &mut Reader<'_>,
) -> Result<(Result<ResolverBuilder, SnapshotError>, bool), Malformed> {
    let pseudonymized = !r.str()?.is_empty();
    let suppression_keyed = !r.str()?.is_empty();
    let code = r.opt_var()?;
    let ctx = NormalizeContext {
        default_calling_code: code
            .map(|c| u16::try_from(c).map_err(|_| Malformed::Invalid("calling code")))
            .transpose()?,
    };
    let mut builder = ResolverBuilder::new();
    builder.context(ctx);
    let n = r.count(10)?;
    let mut custom = None;
    for _ in 0..n {
        let name = r.str()?.to_string();
        let normalizer = match r.u8()? {
            0 => Normalizer::Email,
            1 => Normalizer::EmailProviderRules,
            2 => Normalizer::Phone,
            3 => Normalizer::CustomerNo,
            4 => Normalizer::Ip,
            5 => Normalizer::Text,
            6 => Normalizer::Opaque,
            7 => {
                custom.get_or_insert(name.clone());
                Normalizer::Opaque
            }
            _ => return Err(Malformed::Invalid("normaliser")),
        };
        let to_u32 = |v: Option<u64>| {
            v.map(|v| u32::try_from(v).map_err(|_| Malformed::Invalid("limit or cap"))).transpose()
        };
        let limit = to_u32(r.opt_var()?)?;
        let priority =
            i32::try_from(r.var_i64()?).map_err(|_| Malformed::Invalid("kind priority"))?;
        let generic_cap = to_u32(r.opt_var()?)?;
        let n_deny = r.count(1)?;
        let deny = (0..n_deny).map(|_| r.str().map(str::to_string)).collect::<Result<_, _>>()?;
        let builtin_placeholders = r.bool()?;
        let links = r.bool()?;
        let composite = match r.u8()? {
            0 => None,
            1 => {
                let n = r.count(1)?;
                Some((0..n).map(|_| r.str().map(str::to_string)).collect::<Result<_, _>>()?)
            }
            _ => return Err(Malformed::Invalid("composite tag")),
        };
        let policy = KindPolicy { limit, priority, generic_cap, deny, builtin_placeholders, links };
        builder.kind(&name, KindSpec { normalizer, policy, composite });
    }
    let builder = match custom {
        _ if pseudonymized => Err(SnapshotError::SecretRequired),
        Some(kind) => Err(SnapshotError::CustomNormalizer { kind }),
        None => Ok(builder),
    };
    Ok((builder, suppression_keyed))
}

/// Writes sections to a file, each with its CRC-32.
struct SectionWriter<W: Write> {
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
    s.flush_section(END)?;
    s.out.flush()
}

/// Writes `resolver` to `path` atomically: a temporary file beside it, synced, renamed over
/// `path`, and the directory synced.
pub(crate) fn save(resolver: &Resolver, path: &Path, generation: u64) -> Result<(), SnapshotError> {
    let io = |what| move |source| SnapshotError::Io { what, source };
    let tmp = temporary_path(path);
    let state = resolver.state();
    let config = config_bytes(&state);
    let file = File::create(&tmp).map_err(io("create"))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write_state(&state, &config, generation, &mut out).map_err(io("write"))?;
    let file = out.into_inner().map_err(|e| io("write")(e.into_error()))?;
    file.sync_all().map_err(io("sync"))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io("rename"))?;
    sync_dir(path).map_err(io("sync directory"))
}

/// The temporary file a snapshot is written to before it replaces `path`.
pub(crate) fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Syncs the directory holding `path`, so a rename or a new file in it survives a crash.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Reads sections back, checking each one's checksum.
struct SectionReader<R: Read> {
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
            SUPPRESSED => tag == SUPPRESSED,
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
                expected = KEYS;
            }
            KEYS => {
                let resolver = resolver.as_mut().ok_or_else(|| corrupt("no configuration"))?;
                loader.keys(resolver, &mut r).map_err(|e| e.at(section, offset))?;
            }
            NAMES => {
                let n = r.count(1).map_err(malformed)?;
                loader.names = (0..n)
                    .map(|_| r.str().map(Arc::from))
                    .collect::<Result<_, _>>()
                    .map_err(malformed)?;
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
                if !r.is_empty() {
                    return Err(corrupt("bytes after the counts"));
                }
                loader.finish(&mut resolver, &counts).map_err(corrupt)?;
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

/// The configuration bytes `builder` gives (with its suppression secret's verifier if
/// `with_suppression`).
fn config_of(builder: &ResolverBuilder, with_suppression: bool) -> Vec<u8> {
    let (kinds, ctx, pseudonymizer) = builder.config();
    let suppression = builder.effective_suppression_secret().filter(|_| with_suppression);
    let mut mine = Writer::default();
    encode_config(kinds, ctx, pseudonymizer, suppression, &mut mine);
    mine.buf
}

/// Names the first difference between a snapshot's configuration and a builder's.
fn describe_mismatch(
    from_file: Result<ResolverBuilder, SnapshotError>,
    file_keyed: bool,
    builder: &ResolverBuilder,
) -> String {
    let pseudonymized = builder.config().2.is_some();
    let keyed = builder.effective_suppression_secret().is_some();
    let file = match from_file {
        Ok(_) if pseudonymized => return "the snapshot is not pseudonymised".to_string(),
        Ok(_) if file_keyed && !keyed => {
            return "the snapshot keys its suppression list with a secret".to_string()
        }
        Ok(_) if file_keyed => {
            return "another suppression secret, or other kinds or policies".to_string()
        }
        Ok(file) => file,
        Err(SnapshotError::SecretRequired) if pseudonymized => {
            return "another pseudonymisation secret, or other kinds or policies".to_string()
        }
        Err(SnapshotError::SecretRequired) => return "the snapshot is pseudonymised".to_string(),
        Err(_) => return "kinds or their policies".to_string(),
    };
    let (theirs, their_ctx, _) = file.config();
    let (mine, my_ctx, _) = builder.config();
    if their_ctx != my_ctx {
        return "default phone country".to_string();
    }
    for (i, (name, spec)) in mine.iter().enumerate() {
        match theirs.get(i) {
            None => return format!("kind {name:?} is not in the snapshot"),
            Some((n, _)) if n != name => return format!("kind {name:?} is {n:?} in the snapshot"),
            Some((_, s)) if format!("{s:?}") != format!("{spec:?}") => {
                return format!("kind {name:?} is configured differently")
            }
            _ => {}
        }
    }
    match theirs.get(mine.len()) {
        Some((n, _)) => format!("the snapshot has kind {n:?}"),
        None => "kinds or their policies".to_string(),
    }
}

/// A loading error before the section is known.
#[derive(Debug)]
enum LoadError {
    Malformed(Malformed),
    Invalid(&'static str),
}

impl From<Malformed> for LoadError {
    fn from(m: Malformed) -> Self {
        LoadError::Malformed(m)
    }
}

impl LoadError {
    fn at(self, section: &'static str, offset: u64) -> SnapshotError {
        let reason = match self {
            LoadError::Malformed(Malformed::Truncated) => "a value runs past the section's end",
            LoadError::Malformed(Malformed::Invalid(reason)) | LoadError::Invalid(reason) => reason,
        };
        SnapshotError::Corrupt { section, offset, reason }
    }
}

/// A record read from a block, not stored yet.
struct Pending<'b> {
    slot: RecordIdx,
    seq: u32,
    source: SourceId,
    external_id: &'b str,
    hash: u64,
    /// Its keys in `Loader::keys`.
    keys: std::ops::Range<usize>,
    customer: CustomerId,
    /// Its attributes in the block's values.
    values: std::ops::Range<usize>,
}

/// What loading collects across sections.
#[derive(Default)]
struct Loader {
    names: Vec<Arc<str>>,
    free: Vec<RecordIdx>,
    /// Each record's customer.
    customers: Vec<(RecordIdx, CustomerId)>,
    /// Keys saved as refused: resolving the loaded graph may decide otherwise, and the
    /// saved state is what the next operation must see.
    refused: Vec<KeyIdx>,
    keys: Vec<KeyIdx>,
    attributes: Vec<crate::Attribute>,
}

impl Loader {
    fn keys(&mut self, resolver: &mut Resolver, r: &mut Reader<'_>) -> Result<(), LoadError> {
        let state = resolver.state_mut();
        // Read a block, bring in the index lines its keys will land in, then insert it: the
        // cache misses of a block overlap instead of coming one after the other.
        let mut block: Vec<(KindId, &str, KeyFlags, u64, u64)> = Vec::with_capacity(KEY_BLOCK);
        while !r.is_empty() {
            block.clear();
            while block.len() < KEY_BLOCK && !r.is_empty() {
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
                block.push((kind, value, flags, order_tag, hash));
            }
            std::hint::black_box(state.graph.touch_keys(block.iter().map(|b| b.4)));
            for &(kind, value, flags, order_tag, hash) in &block {
                let k = (state.graph.restore_key(kind, value, flags, order_tag, hash))
                    .map_err(LoadError::Invalid)?;
                if flags.refused {
                    self.refused.push(k);
                }
            }
        }
        Ok(())
    }

    fn records(&mut self, resolver: &mut Resolver, r: &mut Reader<'_>) -> Result<(), LoadError> {
        let n_sources = resolver.state().sources.len();
        let state = resolver.state_mut();
        let n_keys = state.graph.n_keys() as u64;
        // As keys: a block is read, the index lines and key slots it will touch are brought
        // in together, then its records are stored.
        let mut block: Vec<Pending<'_>> = Vec::with_capacity(RECORD_BLOCK);
        let mut values: Vec<(usize, &str, Option<crate::Timestamp>)> = Vec::new();
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
                let customer = CustomerId(r.var()?);
                let n = r.count(3)?;
                let values_from = values.len();
                for _ in 0..n {
                    let name = usize::try_from(r.var()?).ok().filter(|&i| i < self.names.len());
                    let name = name.ok_or(LoadError::Invalid("attribute name index"))?;
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
            let hashes = block.iter().map(|p| p.hash);
            std::hint::black_box(state.graph.touch_records(hashes, &self.keys));
            for p in &block {
                let keys = &self.keys[p.keys.clone()];
                state
                    .graph
                    .restore_record(p.slot, p.source, p.external_id, p.seq, p.hash)
                    .map_err(LoadError::Invalid)?;
                let has_limited = keys.iter().any(|&k| {
                    state.kinds.entry(state.graph.key(k).kind).spec.policy.limit.is_some()
                });
                self.customers.push((p.slot, p.customer));
                // The buffer's strings are reused from record to record: no allocation per
                // value.
                let n = p.values.len();
                if self.attributes.len() < n {
                    self.attributes.resize_with(n, || crate::Attribute {
                        name: Arc::from(""),
                        value: String::new(),
                        observed_at: None,
                    });
                }
                for (a, &(name, value, observed_at)) in
                    self.attributes.iter_mut().zip(&values[p.values.clone()])
                {
                    a.name = Arc::clone(&self.names[name]);
                    a.value.clear();
                    a.value.push_str(value);
                    a.observed_at = observed_at;
                }
                let attributes = &self.attributes[..n];
                let too_large = |_| LoadError::Invalid("record too large");
                state.graph.check_room(keys.len(), attributes).map_err(too_large)?;
                state.graph.set_keys(p.slot, keys, has_limited).map_err(too_large)?;
                state.graph.set_attributes(p.slot, attributes).map_err(too_large)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, resolver: &mut Resolver, counts: &[u64]) -> Result<(), &'static str> {
        let state = resolver.state_mut();
        let [n_keys, n_records, n_customers, next_seq, next_customer] = counts else {
            return Err("counts");
        };
        if *n_keys != state.graph.n_keys() as u64 || *n_records != state.graph.n_records() as u64 {
            return Err("counts differ from the sections: a section is missing");
        }
        let next_seq = u32::try_from(*next_seq).map_err(|_| "next record number")?;
        state.graph.finish_restore(std::mem::take(&mut self.free), next_seq)?;
        state.partition.restore(state.graph, &self.customers, *next_customer)?;
        if *n_customers != state.partition.n_customers() as u64 {
            return Err("customer count differs from the records' customers");
        }
        for (k, _) in state.graph.keys().collect::<Vec<_>>() {
            state.graph.set_refused(k, false);
        }
        for &k in &self.refused {
            state.graph.set_refused(k, true);
        }
        state.graph.trim();
        Ok(())
    }
}

/// Opens the snapshot at `path`.
pub(crate) fn load(path: &Path, opener: Opener<'_>) -> Result<(Resolver, u64), SnapshotError> {
    let file = File::open(path).map_err(|source| SnapshotError::Io { what: "open", source })?;
    let size = file.metadata().map_err(|source| SnapshotError::Io { what: "open", source })?.len();
    read_state(BufReader::with_capacity(1 << 20, file), size, opener)
}

impl Resolver {
    /// Writes the whole state to a snapshot file at `path`: sources, kinds and their
    /// policies, records with their keys and attributes, customers with their ids, the next
    /// id, and which values were refused. The file is written beside `path`, synced and
    /// renamed over it, so a crash while saving leaves the old file intact. Keys no record
    /// carries any more are left out.
    ///
    /// A [`Durable`](crate::Durable) resolver saves and journals for you; this is for hosts
    /// that manage their own files.
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-save-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 10)?;
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "jan@example.nl"))?;
    /// resolver.save_snapshot(dir.join("state.snapshot"))?;
    ///
    /// let restored = Resolver::load_snapshot(dir.join("state.snapshot"))?;
    /// assert_eq!(restored.customer_of(crm, "C-1"), resolver.customer_of(crm, "C-1"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`SnapshotError::Io`] if the file cannot be written; the old file is then untouched.
    pub fn save_snapshot(&self, path: impl AsRef<Path>) -> Result<(), SnapshotError> {
        save(self, path.as_ref(), 0)
    }

    /// Reads a resolver back from a snapshot written by [`Resolver::save_snapshot`],
    /// configured as the snapshot says. It holds the same records, customers and ids, and
    /// the next operation gives the same change events as it would have on the saved one.
    ///
    /// # Errors
    /// A [`SnapshotError`] for a file that is not a snapshot, is of another format version,
    /// is cut short or damaged (every section is checksummed and every value checked), or
    /// uses a custom normaliser (open it with [`ResolverBuilder::load_snapshot`] then).
    pub fn load_snapshot(path: impl AsRef<Path>) -> Result<Resolver, SnapshotError> {
        load(path.as_ref(), Opener::FromFile(None)).map(|(resolver, _)| resolver)
    }
}

impl Resolver {
    /// [`Resolver::save_snapshot`] to any writer (a buffer, a socket, object storage),
    /// without the temporary file and the sync: the caller decides how the bytes are kept.
    ///
    /// # Errors
    /// [`SnapshotError::Io`] if writing fails.
    pub fn write_snapshot(&self, out: impl Write) -> Result<(), SnapshotError> {
        let state = self.state();
        write_state(&state, &config_bytes(&state), 0, out)
            .map_err(|source| SnapshotError::Io { what: "write", source })
    }

    /// [`Resolver::load_snapshot`] from bytes in memory (what [`Resolver::write_snapshot`]
    /// wrote).
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver};
    ///
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 10)?;
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::PHONE, "+31612345678"))?;
    /// let mut bytes = Vec::new();
    /// resolver.write_snapshot(&mut bytes)?;
    /// let restored = Resolver::read_snapshot(&bytes)?;
    /// assert_eq!(restored.n_customers(), 1);
    /// assert!(Resolver::read_snapshot(&bytes[..bytes.len() - 1]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Resolver::load_snapshot`].
    pub fn read_snapshot(bytes: &[u8]) -> Result<Resolver, SnapshotError> {
        read_state(bytes, bytes.len() as u64, Opener::FromFile(None)).map(|(resolver, _)| resolver)
    }
}

impl ResolverBuilder {
    /// [`ResolverBuilder::load_snapshot`] from bytes in memory.
    ///
    /// # Errors
    /// As [`ResolverBuilder::load_snapshot`].
    pub fn read_snapshot(&self, bytes: &[u8]) -> Result<Resolver, SnapshotError> {
        read_state(bytes, bytes.len() as u64, Opener::With(self)).map(|(resolver, _)| resolver)
    }

    /// Reads a resolver back from a snapshot, configured by this builder, which must be
    /// configured as the resolver that saved it was (kinds, policies, phone country, secrets;
    /// custom normalisers are matched by kind name). A raw-mode suppression secret
    /// ([`ResolverBuilder::suppression_secret`]) must match the snapshot's, or is adopted by
    /// a snapshot that has none.
    ///
    /// # Errors
    /// As [`Resolver::load_snapshot`], and [`SnapshotError::ConfigMismatch`] when the
    /// configurations differ.
    pub fn load_snapshot(&self, path: impl AsRef<Path>) -> Result<Resolver, SnapshotError> {
        load(path.as_ref(), Opener::With(self)).map(|(resolver, _)| resolver)
    }
}
