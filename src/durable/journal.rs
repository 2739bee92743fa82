//! What is a journal entry, how is it appended, and how is a segment read back after a
//! crash?
//!
//! A segment is a header (magic number, `JRNL`, format version, the generation of the
//! snapshot it follows, a CRC-32 of the header) and then entries, each `length (u32), CRC-32
//! of the payload, payload`. Entries are written with one `write` each, so a killed process
//! leaves whole entries and at most one torn one at the end; the sync policy decides when
//! they reach the disk. Reading stops at the first entry that is cut short or fails its
//! checksum: what follows it cannot be trusted, and it is cut off and reported.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::behaviour::{EventInput, EventKind};
use crate::campaign::CampaignSpec;
use crate::durable::codec::{crc32, read_campaign, write_campaign, Malformed, Reader, Writer};
use crate::durable::snapshot::MAGIC;
use crate::ids::{KindId, SourceId};
use crate::input::record::{Attribute, Timestamp};
use crate::input::stored::{StoredKey, StoredRecord};
use crate::touchpoint::{ConsentInput, ConsentStatus, ContactInput};

const JOURNAL: &[u8; 4] = b"JRNL";
/// The journal format this build writes and reads.
const JOURNAL_VERSION: u32 = 1;
pub(crate) const HEADER_LEN: u64 = 28;
/// Entries longer than this are taken for damage (a bulk load is journaled in chunks).
const MAX_ENTRY: u32 = 1 << 30;

/// When the journal is synced to the disk. Entries always reach the operating system before
/// the call that wrote them returns, so a killed process loses nothing it acknowledged under
/// any policy; the policy decides what a power cut or an operating-system crash may lose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// Sync before every mutating call returns: nothing acknowledged is ever lost.
    #[default]
    EveryCall,
    /// Sync when a write finds the last sync older than this: a crash of the machine loses
    /// at most the calls of that interval (and of an idle tail; [`Durable::sync`](crate::Durable::sync)
    /// syncs on demand).
    Interval(Duration),
    /// Leave syncing to the operating system.
    Never,
}

/// One journaled operation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Entry {
    AddSource {
        name: String,
        trust: u32,
    },
    Upsert(StoredRecord),
    Remove {
        source: SourceId,
        external_id: String,
    },
    /// Part of a bulk load; applied only once its `IngestCommit` follows.
    IngestChunk(Vec<StoredRecord>),
    IngestCommit,
    Rebuild,
    /// `Resolver::erase` of the customer holding this record, or
    /// `Resolver::erase_and_suppress` if `suppress`.
    Erase {
        source: SourceId,
        external_id: String,
        suppress: bool,
    },
    /// Part of a `record_events` call; applied only once its `EventCommit` follows.
    EventChunk(Vec<EventInput>),
    EventCommit,
    /// `Resolver::advance_to`.
    AdvanceTo(Timestamp),
    /// `Resolver::remove_event`.
    RemoveEvent {
        source: SourceId,
        id: String,
    },
    /// `Resolver::record_consent`.
    Consent(ConsentInput),
    /// `Resolver::record_contact`.
    Contact(ContactInput),
    /// `Resolver::remove_contact`.
    RemoveContact {
        source: SourceId,
        id: String,
    },
    /// `Resolver::add_campaign`.
    AddCampaign(CampaignSpec),
    /// `Resolver::assign` of the customer holding this record.
    Assign {
        campaign: String,
        source: SourceId,
        external_id: String,
        at: Timestamp,
    },
}

const ADD_SOURCE: u8 = 1;
const UPSERT: u8 = 2;
const REMOVE: u8 = 3;
const INGEST_CHUNK: u8 = 4;
const INGEST_COMMIT: u8 = 5;
const REBUILD: u8 = 6;
const ERASE: u8 = 7;
const ERASE_SUPPRESS: u8 = 8;
const EVENT_CHUNK: u8 = 9;
const EVENT_COMMIT: u8 = 10;
const ADVANCE_TO: u8 = 11;
const REMOVE_EVENT: u8 = 12;
const CONSENT: u8 = 13;
const CONTACT: u8 = 14;
const REMOVE_CONTACT: u8 = 15;
const ADD_CAMPAIGN: u8 = 16;
const ASSIGN: u8 = 17;

fn write_opt_str(w: &mut Writer, s: Option<&str>) {
    match s {
        None => w.u8(0),
        Some(s) => {
            w.u8(1);
            w.str(s);
        }
    }
}

fn read_opt_str(r: &mut Reader<'_>) -> Result<Option<String>, Malformed> {
    match r.u8()? {
        0 => Ok(None),
        1 => Ok(Some(r.str()?.to_string())),
        _ => Err(Malformed::Invalid("option tag")),
    }
}

/// An event as the host gave it (kinds by id: the configuration fixes their numbering).
fn write_event(w: &mut Writer, e: &EventInput) {
    w.var(u64::from(e.source.get()));
    w.str(&e.external_id);
    w.var(u64::from(e.kind.get()));
    w.var_i64(e.at.0);
    write_opt_str(w, e.topic.as_deref());
    w.buf.extend_from_slice(&e.value.to_bits().to_le_bytes());
    write_opt_str(w, e.channel.as_deref());
    write_opt_str(w, e.id.as_deref());
}

fn read_event(r: &mut Reader<'_>) -> Result<EventInput, Malformed> {
    let source = SourceId(r.var_u16()?);
    let external_id = r.str()?.to_string();
    let kind = EventKind::from_raw(r.var_u16()?);
    let at = Timestamp(r.var_i64()?);
    let topic = read_opt_str(r)?;
    let value = f64::from_bits(r.u64()?);
    let channel = read_opt_str(r)?;
    let id = read_opt_str(r)?;
    let mut event = EventInput::new(source, external_id, kind, at).with_value(value);
    (event.topic, event.channel, event.id) = (topic, channel, id);
    Ok(event)
}

fn write_record(w: &mut Writer, r: &StoredRecord) {
    w.var(u64::from(r.source.get()));
    w.str(&r.external_id);
    w.var(r.keys.len() as u64);
    for k in &r.keys {
        w.var(u64::from(k.kind.get()));
        w.u8(match k.denied {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
        w.str(&k.value);
        w.var(k.order_tag);
    }
    w.var(r.attributes.len() as u64);
    for a in &r.attributes {
        w.str(&a.name);
        w.str(&a.value);
        w.opt_var(a.observed_at.map(|t| ((t.0 << 1) ^ (t.0 >> 63)) as u64));
    }
}

fn read_record(r: &mut Reader<'_>) -> Result<StoredRecord, Malformed> {
    let source = SourceId(r.var_u16()?);
    let external_id = r.str()?.to_string();
    let n = r.count(3)?;
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = KindId(r.var_u16()?);
        let denied = match r.u8()? {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            _ => return Err(Malformed::Invalid("deny flag")),
        };
        let value = r.str()?;
        if value.is_empty() {
            return Err(Malformed::Invalid("empty key value"));
        }
        let order_tag = r.var()?;
        keys.push(StoredKey { kind, value: value.to_string(), denied, order_tag });
    }
    let n = r.count(3)?;
    let mut attributes = Vec::with_capacity(n);
    for _ in 0..n {
        let name: Arc<str> = Arc::from(r.str()?);
        let value = r.str()?.to_string();
        let observed_at = r.opt_var()?.map(|v| Timestamp(((v >> 1) as i64) ^ -((v & 1) as i64)));
        attributes.push(Attribute { name, value, observed_at });
    }
    Ok(StoredRecord { source, external_id, keys, attributes })
}

impl Entry {
    pub fn encode(&self, w: &mut Writer) {
        match self {
            Entry::AddSource { name, trust } => {
                w.u8(ADD_SOURCE);
                w.str(name);
                w.var(u64::from(*trust));
            }
            Entry::Upsert(record) => {
                w.u8(UPSERT);
                write_record(w, record);
            }
            Entry::Remove { source, external_id } => {
                w.u8(REMOVE);
                w.var(u64::from(source.get()));
                w.str(external_id);
            }
            Entry::IngestChunk(records) => {
                w.u8(INGEST_CHUNK);
                w.var(records.len() as u64);
                for r in records {
                    write_record(w, r);
                }
            }
            Entry::IngestCommit => w.u8(INGEST_COMMIT),
            Entry::Rebuild => w.u8(REBUILD),
            Entry::Erase { source, external_id, suppress } => {
                w.u8(if *suppress { ERASE_SUPPRESS } else { ERASE });
                w.var(u64::from(source.get()));
                w.str(external_id);
            }
            Entry::EventChunk(events) => {
                w.u8(EVENT_CHUNK);
                w.var(events.len() as u64);
                for e in events {
                    write_event(w, e);
                }
            }
            Entry::EventCommit => w.u8(EVENT_COMMIT),
            Entry::AdvanceTo(now) => {
                w.u8(ADVANCE_TO);
                w.var_i64(now.0);
            }
            Entry::RemoveEvent { source, id } => {
                w.u8(REMOVE_EVENT);
                w.var(u64::from(source.get()));
                w.str(id);
            }
            Entry::Consent(c) => {
                w.u8(CONSENT);
                w.var(u64::from(c.source.get()));
                w.str(&c.external_id);
                w.str(&c.channel);
                w.u8(u8::from(c.status == ConsentStatus::Denied));
                w.var_i64(c.at.0);
            }
            Entry::Contact(c) => {
                w.u8(CONTACT);
                w.var(u64::from(c.source.get()));
                w.str(&c.external_id);
                w.str(&c.channel);
                w.var_i64(c.at.0);
                write_opt_str(w, c.campaign.as_deref());
                w.u8(u8::from(c.transactional));
                write_opt_str(w, c.id.as_deref());
            }
            Entry::RemoveContact { source, id } => {
                w.u8(REMOVE_CONTACT);
                w.var(u64::from(source.get()));
                w.str(id);
            }
            Entry::AddCampaign(c) => {
                w.u8(ADD_CAMPAIGN);
                write_campaign(w, c);
            }
            Entry::Assign { campaign, source, external_id, at } => {
                w.u8(ASSIGN);
                w.str(campaign);
                w.var(u64::from(source.get()));
                w.str(external_id);
                w.var_i64(at.0);
            }
        }
    }

    pub fn decode(payload: &[u8]) -> Result<Entry, Malformed> {
        let mut r = Reader::new(payload);
        let entry = match r.u8()? {
            ADD_SOURCE => Entry::AddSource { name: r.str()?.to_string(), trust: r.var_u32()? },
            UPSERT => Entry::Upsert(read_record(&mut r)?),
            REMOVE => {
                Entry::Remove { source: SourceId(r.var_u16()?), external_id: r.str()?.to_string() }
            }
            INGEST_CHUNK => {
                let n = r.count(3)?;
                let records = (0..n).map(|_| read_record(&mut r)).collect::<Result<_, _>>()?;
                Entry::IngestChunk(records)
            }
            INGEST_COMMIT => Entry::IngestCommit,
            REBUILD => Entry::Rebuild,
            tag @ (ERASE | ERASE_SUPPRESS) => Entry::Erase {
                source: SourceId(r.var_u16()?),
                external_id: r.str()?.to_string(),
                suppress: tag == ERASE_SUPPRESS,
            },
            EVENT_CHUNK => {
                let n = r.count(14)?;
                Entry::EventChunk((0..n).map(|_| read_event(&mut r)).collect::<Result<_, _>>()?)
            }
            EVENT_COMMIT => Entry::EventCommit,
            ADVANCE_TO => Entry::AdvanceTo(Timestamp(r.var_i64()?)),
            REMOVE_EVENT => {
                Entry::RemoveEvent { source: SourceId(r.var_u16()?), id: r.str()?.to_string() }
            }
            CONSENT => {
                let (source, external_id) = (SourceId(r.var_u16()?), r.str()?.to_string());
                let channel = r.str()?.to_string();
                let status = match r.u8()? {
                    0 => ConsentStatus::Granted,
                    1 => ConsentStatus::Denied,
                    _ => return Err(Malformed::Invalid("consent status")),
                };
                let at = Timestamp(r.var_i64()?);
                Entry::Consent(ConsentInput::new(source, external_id, channel, status, at))
            }
            CONTACT => {
                let (source, external_id) = (SourceId(r.var_u16()?), r.str()?.to_string());
                let channel = r.str()?.to_string();
                let mut c =
                    ContactInput::new(source, external_id, channel, Timestamp(r.var_i64()?));
                c.campaign = read_opt_str(&mut r)?;
                c.transactional = r.bool()?;
                c.id = read_opt_str(&mut r)?;
                Entry::Contact(c)
            }
            REMOVE_CONTACT => {
                Entry::RemoveContact { source: SourceId(r.var_u16()?), id: r.str()?.to_string() }
            }
            ADD_CAMPAIGN => Entry::AddCampaign(read_campaign(&mut r)?),
            ASSIGN => Entry::Assign {
                campaign: r.str()?.to_string(),
                source: SourceId(r.var_u16()?),
                external_id: r.str()?.to_string(),
                at: Timestamp(r.var_i64()?),
            },
            _ => return Err(Malformed::Invalid("unknown entry")),
        };
        if !r.is_empty() {
            return Err(Malformed::Invalid("bytes after the entry"));
        }
        Ok(entry)
    }
}

/// The bytes of a segment header for `generation`.
fn header(generation: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN as usize);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(JOURNAL);
    h.extend_from_slice(&JOURNAL_VERSION.to_le_bytes());
    h.extend_from_slice(&generation.to_le_bytes());
    h.extend_from_slice(&crc32(&h).to_le_bytes());
    h
}

/// The file name of the segment that follows snapshot generation `generation`.
pub(crate) fn segment_name(generation: u64) -> String {
    format!("journal-{generation:020}")
}

/// A damaged end of a segment, cut off when it was read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// Where the first entry that could not be read starts (bytes from the segment's start).
    pub offset: u64,
    /// How many bytes were cut off from there to the end.
    pub bytes: u64,
    /// Why the entry could not be read.
    pub reason: &'static str,
}

/// A segment read back: its entries' payloads, in order, and what was cut.
#[derive(Debug, Default)]
pub(crate) struct ReadSegment {
    pub entries: Vec<(u64, Vec<u8>)>,
    /// Where the last whole entry ends: the segment is cut here.
    pub good_len: u64,
    pub torn: Option<TornTail>,
}

/// Reads every whole entry of the segment bytes `bytes` written for `generation`.
pub(crate) fn read_segment(bytes: &[u8], generation: u64) -> Result<ReadSegment, &'static str> {
    let mut out = ReadSegment::default();
    let want = header(generation);
    if bytes.len() < want.len() {
        // Created but its header never fully written: no entry was acknowledged in it.
        out.torn = (!bytes.is_empty()).then_some(TornTail {
            offset: 0,
            bytes: bytes.len() as u64,
            reason: "segment header cut short",
        });
        return Ok(out);
    }
    if bytes[..8] != want[..8] || bytes[8..12] != want[8..12] {
        return Err("not a journal segment");
    }
    if bytes[..want.len()] != want[..] {
        return Err("segment header of another generation or version, or damaged");
    }
    let mut pos = want.len();
    out.good_len = pos as u64;
    while pos < bytes.len() {
        let torn =
            |reason| TornTail { offset: pos as u64, bytes: (bytes.len() - pos) as u64, reason };
        let Some(frame) = bytes.get(pos..pos + 8) else {
            out.torn = Some(torn("entry header cut short"));
            break;
        };
        let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        if len > MAX_ENTRY {
            out.torn = Some(torn("entry length impossible"));
            break;
        }
        let Some(payload) = bytes.get(pos + 8..pos + 8 + len as usize) else {
            out.torn = Some(torn("entry cut short"));
            break;
        };
        if crc32(payload) != crc {
            out.torn = Some(torn("entry checksum mismatch"));
            break;
        }
        out.entries.push((pos as u64, payload.to_vec()));
        pos += 8 + len as usize;
        out.good_len = pos as u64;
    }
    Ok(out)
}

/// The segment being appended to.
#[derive(Debug)]
pub(crate) struct Journal {
    file: File,
    pub path: PathBuf,
    pub generation: u64,
    policy: SyncPolicy,
    last_sync: Instant,
    /// Written since the last sync.
    dirty: bool,
    buf: Writer,
    /// Bytes in the segment.
    pub len: u64,
}

impl Journal {
    /// Creates the segment for `generation` in `dir` (replacing one that may be there) and
    /// syncs it and the directory.
    pub fn create(dir: &Path, generation: u64, policy: SyncPolicy) -> io::Result<Journal> {
        let path = dir.join(segment_name(generation));
        let mut file = OpenOptions::new().create(true).write(true).truncate(true).open(&path)?;
        let h = header(generation);
        file.write_all(&h)?;
        file.sync_all()?;
        crate::durable::snapshot::sync_dir(&path)?;
        Ok(Journal::with(file, path, generation, policy, HEADER_LEN))
    }

    /// Opens an existing segment to append after its first `good_len` bytes (what follows,
    /// a torn tail, is cut off first).
    pub fn reopen(
        path: PathBuf,
        generation: u64,
        policy: SyncPolicy,
        good_len: u64,
    ) -> io::Result<Journal> {
        let mut file = OpenOptions::new().read(true).write(true).open(&path)?;
        if file.metadata()?.len() != good_len {
            file.set_len(good_len)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::Start(good_len))?;
        Ok(Journal::with(file, path, generation, policy, good_len))
    }

    fn with(file: File, path: PathBuf, generation: u64, policy: SyncPolicy, len: u64) -> Journal {
        Journal {
            file,
            path,
            generation,
            policy,
            last_sync: Instant::now(),
            dirty: false,
            buf: Writer::default(),
            len,
        }
    }

    /// Appends one entry with a single write, then syncs if the policy says so (`commit`:
    /// the end of a call; a bulk load's chunks are synced with its commit).
    pub fn append(&mut self, entry: &Entry, commit: bool) -> io::Result<()> {
        self.buf.buf.clear();
        self.buf.buf.extend_from_slice(&[0u8; 8]);
        entry.encode(&mut self.buf);
        let len = self.buf.buf.len() - 8;
        let len32 = u32::try_from(len).ok().filter(|&l| l <= MAX_ENTRY);
        let len32 = len32.ok_or_else(|| io::Error::other("journal entry too large"))?;
        let crc = crc32(&self.buf.buf[8..]);
        self.buf.buf[..4].copy_from_slice(&len32.to_le_bytes());
        self.buf.buf[4..8].copy_from_slice(&crc.to_le_bytes());
        self.file.write_all(&self.buf.buf)?;
        self.len += self.buf.buf.len() as u64;
        self.dirty = true;
        if commit {
            self.commit()?;
        }
        Ok(())
    }

    /// Syncs what was written if the policy says a sync is due: at the end of a mutating
    /// call, whose last entry was appended without `commit`.
    pub fn commit(&mut self) -> io::Result<()> {
        let due = match self.policy {
            SyncPolicy::EveryCall => true,
            SyncPolicy::Interval(every) => self.last_sync.elapsed() >= every,
            SyncPolicy::Never => false,
        };
        if due {
            self.sync()?;
        }
        Ok(())
    }

    /// Syncs what was written to the disk.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.dirty {
            self.file.sync_data()?;
            self.dirty = false;
        }
        self.last_sync = Instant::now();
        Ok(())
    }
}

/// Reads a whole segment file.
pub(crate) fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u32) -> StoredRecord {
        StoredRecord {
            source: SourceId(1),
            external_id: format!("r{i}"),
            keys: vec![StoredKey {
                kind: KindId(1),
                value: format!("v{i}@x.nl"),
                denied: Some(i.is_multiple_of(2)),
                order_tag: u64::from(i) << 60,
            }],
            attributes: vec![Attribute {
                name: "name".into(),
                value: "Jan".into(),
                observed_at: Some(Timestamp(-5)),
            }],
        }
    }

    #[test]
    fn entries_read_back_as_written_and_a_cut_keeps_the_whole_ones() {
        let entries = vec![
            Entry::AddSource { name: "crm".into(), trust: 7 },
            Entry::Upsert(record(1)),
            Entry::Remove { source: SourceId(1), external_id: "r1".into() },
            Entry::IngestChunk(vec![record(2), record(3)]),
            Entry::IngestCommit,
            Entry::Rebuild,
            Entry::Erase { source: SourceId(0), external_id: "r2".into(), suppress: false },
            Entry::Erase { source: SourceId(1), external_id: "r3".into(), suppress: true },
        ];
        let mut bytes = header(9);
        let mut ends = vec![bytes.len()];
        for e in &entries {
            let mut w = Writer::default();
            e.encode(&mut w);
            bytes.extend_from_slice(&(w.buf.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32(&w.buf).to_le_bytes());
            bytes.extend_from_slice(&w.buf);
            ends.push(bytes.len());
        }
        for cut in 0..=bytes.len() {
            let read = read_segment(&bytes[..cut], 9).unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut).count().saturating_sub(1);
            assert_eq!(read.entries.len(), whole, "cut at {cut}");
            for ((_, payload), e) in read.entries.iter().zip(&entries) {
                assert_eq!(&Entry::decode(payload).unwrap(), e);
            }
            let good = if cut < ends[0] { 0 } else { ends[whole] };
            assert_eq!(read.good_len as usize, good);
            assert_eq!(read.torn.is_some(), cut != good, "cut at {cut}");
        }
        assert!(read_segment(&bytes, 8).is_err(), "another generation's segment");
    }
}
