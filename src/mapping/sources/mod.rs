//! Sources whose files are not tables of columns: mailboxes (`format = "mbox"`, [`mbox`])
//! and GA4 daily exports (`format = "ga4"`, [`ga4`]). Each yields both records and events
//! from one file (or a folder of them).
//!
//! **Records** are gathered in one pass over the files, then handed on sorted by id: a record
//! whose keys grow later in the stream (a correspondent met again, a pseudo id that logs in)
//! is emitted once, complete. Memory holds one entry per distinct correspondent or pseudo id,
//! never the messages or rows, which are read one at a time.
//!
//! **Events** are read in a second pass, streamed a chunk at a time into the resolver after
//! the records (an event may arrive before or after its record, DESIGN §7, so the order is
//! free): reading the files twice costs a second parse, but keeps memory at one chunk, where
//! buffering every event would hold a multi-GB mailbox's worth. [`Mapping::run`] and
//! [`Mapping::apply`] read them after the `[[events]]` sections; into a state, a source's
//! events are a full export, as an `[[events]]` section without `id` column is (ids of the
//! file's name and the event's position).

use std::path::{Path, PathBuf};

use super::config::{EventsMapping, InputFormat, Mapping, SourceMapping};
use super::error::MappingError;
use super::events::EventsRead;
use super::row::Plan;
use super::table_input::TableInput;
use crate::behaviour::{EventInput, EventKinds};
use crate::ids::{KindId, SourceId};
use crate::input::record::RecordInput;
use crate::resolver::Resolver;

#[cfg(feature = "ga4")]
pub(super) mod ga4;
#[cfg(feature = "mbox")]
pub(super) mod mbox;

/// The GA4 event names a `format = "ga4"` source maps by default, and their event kinds;
/// `events = { … }` in the source adds to them or overrides them.
pub const GA4_DEFAULT_EVENTS: [(&str, &str); 4] = [
    ("page_view", "page_view"),
    ("search", "search"),
    ("view_search_results", "search"),
    ("purchase", "order"),
];

/// What a mailbox or GA4 source reads beyond its file ([`SourceMapping::options`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatOptions {
    /// `format = "mbox"`.
    Mbox(MboxOptions),
    /// `format = "ga4"`.
    Ga4(Ga4Options),
}

/// The options of a mailbox source (`format = "mbox"`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MboxOptions {
    /// The mailbox owners' addresses (`owner`), trimmed and lower-cased, sorted: they are not
    /// correspondents, whatever their case in a header.
    pub owners: Vec<String>,
}

/// The options of a GA4 export source (`format = "ga4"`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ga4Options {
    /// The kind of `user_id` values (`user_id_kind`, default `customer_no`).
    pub user_id_kind: String,
    /// GA4 event name → event kind: [`GA4_DEFAULT_EVENTS`] with the source's `events` table
    /// applied (an empty kind drops a name). Rows of other names are skipped and counted.
    pub events: Vec<(String, String)>,
}

impl Default for Ga4Options {
    fn default() -> Self {
        Ga4Options {
            user_id_kind: "customer_no".to_string(),
            events: GA4_DEFAULT_EVENTS
                .iter()
                .map(|(n, k)| (n.to_string(), k.to_string()))
                .collect(),
        }
    }
}

/// The files of a mailbox or GA4 source: its `path` if that is a file; if it is a folder,
/// every regular file in it (not in sub-folders, and not those whose name starts with `.`),
/// in name order.
pub(crate) fn files_of(path: &Path) -> Result<Vec<PathBuf>, MappingError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let list = |error| MappingError::ListFolder { dir: path.to_path_buf(), error };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(list)? {
        let entry = entry.map_err(list)?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        // Follows symbolic links, so a link to a mailbox is read as the mailbox.
        if !hidden && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort_unstable();
    Ok(files)
}

/// The records of one mailbox or GA4 source, gathered when the source is opened (so that
/// the total reported for progress bars is exact) and handed on from there.
#[derive(Debug)]
pub(super) struct FormatRecords {
    records: std::vec::IntoIter<RecordInput>,
}

impl FormatRecords {
    /// Reads source `s`'s files into its records, counting in `plan`'s report; `None` for a
    /// CSV or JSON Lines source.
    #[cfg_attr(not(any(feature = "mbox", feature = "ga4")), allow(unused_variables))]
    pub(super) fn open(
        mapping: &Mapping,
        s: &SourceMapping,
        resolver: &Resolver,
        plan: &mut Plan,
    ) -> Result<Option<Self>, MappingError> {
        let Some(options) = &s.options else { return Ok(None) };
        check_feature(s)?;
        let kind = |name: &str| {
            resolver.kind_id(name).ok_or_else(|| MappingError::Config {
                file: mapping.file().to_path_buf(),
                error: crate::ConfigError::UnknownKind(name.to_string()),
            })
        };
        let kinds: Vec<KindId> = match options {
            FormatOptions::Mbox(_) => vec![kind("email")?],
            FormatOptions::Ga4(o) => vec![kind("cookie")?, kind(&o.user_id_kind)?],
        };
        if !s.input.path.exists() {
            return Err(MappingError::OpenInput {
                file: s.input.path.clone(),
                error: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let files = files_of(&s.input.path)?;
        let records: Vec<RecordInput> = match options {
            #[cfg(feature = "mbox")]
            FormatOptions::Mbox(o) => mbox::records(&files, o, plan, &kinds)?,
            #[cfg(feature = "ga4")]
            FormatOptions::Ga4(_) => ga4::records(&files, plan, &kinds)?,
            #[allow(unreachable_patterns)]
            _ => Vec::new(),
        };
        Ok(Some(FormatRecords { records: records.into_iter() }))
    }

    /// The records not yet handed on.
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// Moves records into `batch` until it holds `max`; returns whether records are left.
    pub(super) fn fill(&mut self, batch: &mut Vec<RecordInput>, max: usize) -> bool {
        while batch.len() < max {
            match self.records.next() {
                Some(record) => batch.push(record),
                None => return false,
            }
        }
        !self.records.as_slice().is_empty()
    }
}

/// A file of events [`Mapping::run`] and [`Mapping::apply`] read: an `[[events]]` section's,
/// or a mailbox or GA4 source's own.
#[derive(Clone, Copy, Debug)]
pub(crate) enum EventFile<'a> {
    Section(&'a EventsMapping),
    Format(&'a SourceMapping),
}

impl EventFile<'_> {
    /// The name of the source whose records the events belong to.
    pub(crate) fn source_name(&self) -> &str {
        match self {
            EventFile::Section(s) => &s.source,
            EventFile::Format(s) => &s.name,
        }
    }

    /// Whether the events carry their own ids; a mailbox's or GA4 export's do not, so into a
    /// state they are a full export of the file's events.
    pub(crate) fn has_ids(&self) -> bool {
        match self {
            EventFile::Section(s) => s.has_ids(),
            EventFile::Format(_) => false,
        }
    }

    /// Where the events come from: the section's file or database, or the source's file (or
    /// folder).
    pub(crate) fn input(&self) -> &TableInput {
        match self {
            EventFile::Section(s) => &s.input,
            EventFile::Format(s) => &s.input,
        }
    }

    /// Reads the events, as [`EventsMapping::read`] does.
    #[cfg_attr(not(any(feature = "mbox", feature = "ga4")), allow(unused_variables))]
    pub(crate) fn read<E: From<MappingError>>(
        &self,
        source: SourceId,
        kinds: &EventKinds,
        chunk: usize,
        f: impl FnMut(&[EventInput]) -> Result<(), E>,
    ) -> Result<EventsRead, E> {
        let s = match self {
            EventFile::Section(section) => return section.read(source, kinds, chunk, f),
            EventFile::Format(s) => s,
        };
        #[cfg_attr(not(any(feature = "mbox", feature = "ga4")), allow(unused_mut))]
        let mut read = EventsRead {
            source: s.name.clone(),
            file: s.input.path.clone(),
            ..EventsRead::default()
        };
        check_feature(s)?;
        let files = files_of(&s.input.path)?;
        match &s.options {
            #[cfg(feature = "mbox")]
            Some(FormatOptions::Mbox(o)) => {
                mbox::events(&files, o, source, chunk.max(1), &mut read, f)?
            }
            #[cfg(feature = "ga4")]
            Some(FormatOptions::Ga4(o)) => {
                ga4::events(&files, o, source, kinds, chunk.max(1), &mut read, f)?
            }
            _ => {}
        }
        Ok(read)
    }
}

/// An error if a mailbox or GA4 source is read without its feature.
pub(super) fn check_feature(s: &SourceMapping) -> Result<(), MappingError> {
    let feature = match s.input.format {
        InputFormat::Mbox if cfg!(not(feature = "mbox")) => "mbox",
        InputFormat::Ga4 if cfg!(not(feature = "ga4")) => "ga4",
        _ => return Ok(()),
    };
    Err(MappingError::FeatureDisabled { file: s.input.path.clone(), feature })
}

impl Mapping {
    /// The files of events to read after the records: the `[[events]]` sections in file
    /// order, then the mailbox and GA4 sources in source order.
    pub(crate) fn event_files(&self) -> impl Iterator<Item = EventFile<'_>> + '_ {
        let formats = self.sources().iter().filter(|s| s.options.is_some());
        self.events().iter().map(EventFile::Section).chain(formats.map(EventFile::Format))
    }
}

/// The events a mailbox or GA4 reader (`read`, given the chunk size, the counts and the
/// taker of chunks) hands on in chunks of `size`, after checking that every chunk but the
/// last has `size` events, the last is not empty, the counted events are those handed, and
/// one chunk holds the same events: a slot written over keeps nothing of its last event.
#[cfg(all(test, any(feature = "mbox", feature = "ga4")))]
pub(super) fn read_in_chunks(
    size: usize,
    read: impl Fn(
        usize,
        &mut EventsRead,
        &mut dyn FnMut(&[EventInput]) -> Result<(), MappingError>,
    ) -> Result<(), MappingError>,
) -> Vec<EventInput> {
    let run = |size: usize| {
        let (mut counts, mut chunks) = (EventsRead::default(), Vec::new());
        read(size, &mut counts, &mut |c: &[EventInput]| {
            chunks.push(c.to_vec());
            Ok(())
        })
        .expect("reads");
        (chunks, counts.events)
    };
    let (chunks, n) = run(size);
    let (last, full) = chunks.split_last().expect("events");
    assert!(full.iter().all(|c| c.len() == size), "full chunks of {size}");
    assert!(!last.is_empty() && last.len() <= size, "a last chunk of 1 to {size}");
    let events = chunks.concat();
    assert_eq!(n, events.len() as u64, "counted as handed");
    assert_eq!(run(1 << 20).0.concat(), events, "one chunk holds the same events");
    events
}
