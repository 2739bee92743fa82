//! What is in a snapshot file, and how is it written safely and read without trusting it?
//!
//! A header (magic number, format version, generation, its own CRC-32), then sections, each
//! `tag, length, payload, CRC-32`: configuration, sources (and the counts to come), keys,
//! attribute names, records (each with its customer id), free record slots, the suppression
//! list (keyed hashes), and an end section with the counts. Large sections are split (at most
//! [`KEYS_PER_SECTION`] keys, [`RECORDS_PER_SECTION`] records each), so neither side holds
//! more than one section in memory besides the resolver itself. Saving writes a temporary
//! file beside the target, syncs it, renames it over the target and syncs the directory: a
//! crash leaves the old snapshot or the new one, never a mix.
//!
//! `config` (the configuration section), `write` (the sections), `read` (header, order and
//! checksums of the sections), `loader` (keys and records back into a resolver; the saved
//! clusters are joined directly instead of linked again). The submodules share this module's
//! imports and constants.

mod config;
mod loader;
mod read;
mod write;

use config::{config_bytes, config_of, decode_config, describe_mismatch};
use loader::{LoadError, Loader};
use read::read_state;
pub(crate) use read::Opener;
pub(crate) use write::write_state;

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ahash::AHashMap;

use crate::behaviour::{
    EventClass, EventKind, EventKinds, StageRules, Window, BUILT_IN_EVENT_KINDS,
};
use crate::durable::codec::{self, crc32, Malformed, Reader, Writer};
use crate::durable::error::SnapshotError;
use crate::ids::{KeyIdx, KindId, RecordIdx, SourceId};
use crate::input::kind::{KindPolicy, KindSpec};
use crate::input::normalize::{NormalizeContext, Normalizer};
use crate::input::prepare::{hash_key, hash_record};
use crate::input::pseudonym::Pseudonymizer;
use crate::input::suppress::SUPPRESSION_VERIFIER;
use crate::journey::StageSetup;
use crate::resolver::persist::StateRef;
use crate::resolver::touch::TouchKind;
use crate::resolver::{Resolver, ResolverBuilder};
use crate::store::events::{EventStore, SavedEvent, SavedOwner};
use crate::store::graph::KeyFlags;
use crate::touchpoint::{CapRule, CapScope, TouchpointRules};

/// The first eight bytes of every state file.
pub(crate) const MAGIC: &[u8; 8] = b"IDSTITCH";
const SNAPSHOT: &[u8; 4] = b"SNAP";
/// The snapshot format this build writes and reads.
pub const FORMAT_VERSION: u32 = 4;
const HEADER_LEN: usize = 28;
/// Sections larger than this are refused as corrupt before anything is allocated.
const MAX_SECTION: u64 = 1 << 31;
pub(crate) const KEYS_PER_SECTION: usize = 1 << 16;
pub(crate) const RECORDS_PER_SECTION: usize = 1 << 14;
/// Events per events section (an owner's events may run past it).
pub(crate) const EVENTS_PER_SECTION: usize = 1 << 16;
/// Records stored together on loading (see `Loader::records`).
const RECORD_BLOCK: usize = 64;

const CONFIG: u8 = 1;
const SOURCES: u8 = 2;
const KEYS: u8 = 3;
const NAMES: u8 = 4;
const RECORDS: u8 = 5;
const FREE: u8 = 6;
const SUPPRESSED: u8 = 7;
const EVENTS: u8 = 8;
const TOUCHES: u8 = 9;
const CAMPAIGNS: u8 = 10;
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
        EVENTS => "events",
        TOUCHES => "consent and contacts",
        CAMPAIGNS => "campaigns",
        END => "end",
        _ => "unknown section",
    }
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
