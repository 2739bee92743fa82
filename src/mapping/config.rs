//! What a mapping says: [`Mapping`] with its kinds ([`KindMapping`]), sources
//! ([`SourceMapping`]), event kinds and events sections ([`EventsMapping`]), consent and
//! contacts sections ([`ConsentMapping`], [`ContactsMapping`]), each reading a
//! [`TableInput`], and the resolver set-up they give.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::MappingError;
use super::sources::FormatOptions;
use super::table_input::TableInput;
use crate::behaviour::{EventClass, EventKindError, EventKinds, MAX_EVENT_KINDS};
use crate::campaign::CampaignSpec;
use crate::ids::SourceId;
use crate::input::kind::KindSpec;
use crate::resolver::{Resolver, ResolverBuilder};

/// A parsed, validated mapping file: the default phone country, the kinds to declare or
/// override, and how every source's file becomes records. See the [module docs](super) for
/// the format.
#[derive(Clone, Debug)]
pub struct Mapping {
    pub(super) file: PathBuf,
    pub(super) default_country: Option<String>,
    pub(super) kinds: Vec<KindMapping>,
    pub(super) sources: Vec<SourceMapping>,
    /// The host's event kinds (`[event_kinds]`), in file order.
    pub(super) event_kinds: Vec<(String, EventClass)>,
    pub(super) events: Vec<EventsMapping>,
    pub(super) consent: Vec<ConsentMapping>,
    pub(super) contacts: Vec<ContactsMapping>,
    pub(super) campaigns: Vec<CampaignSpec>,
}

/// One kind the mapping declares (`[kinds.NAME]`): a host kind, a composite kind or a
/// built-in kind with a changed policy. Built-in kinds without an entry keep their defaults.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct KindMapping {
    /// The kind's name.
    pub name: String,
    /// The spec the resolver gets: for a built-in kind its default spec with the mapping's
    /// changes; for a composite kind one part per joined column, named `NAME#0`, `NAME#1`, …
    /// (the mapped sources store each part's value in an attribute of that name).
    pub spec: KindSpec,
}

/// The file format of a source, chosen by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputFormat {
    /// `.csv`: comma-separated values with a header row (feature `csv`).
    Csv,
    /// `.jsonl` or `.ndjson`: one JSON object per line (feature `serde_json`).
    JsonLines,
    /// No file: the rows of a query on a database (`database` and `query`; features `sqlite`
    /// and `postgres`), whose [`DatabaseQuery`](super::DatabaseQuery) the table's `database` field holds.
    Sql,
    /// `format = "mbox"`: a mailbox, or a folder of them (feature `mbox`); see
    /// [`MboxOptions`](super::MboxOptions).
    Mbox,
    /// `format = "ga4"`: rows of GA4's daily BigQuery export as JSON Lines (feature `ga4`);
    /// see [`Ga4Options`](super::Ga4Options).
    Ga4,
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputFormat::Csv => "CSV",
            InputFormat::JsonLines => "JSON Lines",
            InputFormat::Sql => "SQL",
            InputFormat::Mbox => "mbox",
            InputFormat::Ga4 => "GA4 export",
        })
    }
}

/// What a source's file is: everything the source holds now, or what changed since the last
/// load (`mode` in the mapping).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceMode {
    /// `mode = "export"` (the default): the file holds every record of the source. Applied to
    /// a state ([`Mapping::apply`](super::Mapping::apply)), the source's stored records that
    /// are not in the file are removed.
    #[default]
    Export,
    /// `mode = "changes"`: the file holds records added or changed since the last load, and,
    /// with `deleted = "COLUMN"`, rows that remove a record. Stored records the file does not
    /// name stay as they are.
    Changes {
        /// The column whose truthy cell marks a row as a deletion (see
        /// [`deletion_flag`](super::deletion_flag)).
        deleted: Option<String>,
    },
}

/// One `[[source]]` table: a source system and how its file's columns become a record.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SourceMapping {
    /// The source's name, as registered with the resolver.
    pub name: String,
    /// Its trust rank: `trust` if given, else descending by position (10 × the number of
    /// sources for the first, 10 less for each next one).
    pub trust: u32,
    /// Where the table's rows come from: its file (or database and query) and how it is
    /// written.
    pub input: TableInput,
    /// The column holding the record's id in its source.
    pub id: String,
    /// Plain kinds and the columns holding their values; every non-empty cell is one value.
    pub keys: Vec<(String, Vec<String>)>,
    /// Composite kinds and the columns whose values are joined, in order, into one value.
    pub composite: Vec<(String, Vec<String>)>,
    /// Attributes: attribute name and the column holding its value.
    pub attributes: Vec<(String, String)>,
    /// The column holding when the record's values were observed, if any.
    pub observed_at: Option<String>,
    /// A full export or a change feed.
    pub mode: SourceMode,
    /// For a mailbox or GA4 source, what the format reads (then `id`, `keys`, `composite`,
    /// `attributes` and `observed_at` are empty); `None` for CSV and JSON Lines.
    pub options: Option<FormatOptions>,
}

impl SourceMapping {
    /// Every column the source reads, each once, in mapping order (id first), with the TOML
    /// key that names it.
    pub(crate) fn columns(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = vec![(self.id.clone(), "id".to_string())];
        let mut push = |column: &str, key: String| {
            if !out.iter().any(|(c, _)| c == column) {
                out.push((column.to_string(), key));
            }
        };
        for (kind, columns) in &self.keys {
            for c in columns {
                push(c, format!("keys.{kind}"));
            }
        }
        for (kind, columns) in &self.composite {
            for c in columns {
                push(c, format!("composite.{kind}"));
            }
        }
        for (name, c) in &self.attributes {
            push(c, format!("attributes.{name}"));
        }
        if let Some(c) = &self.observed_at {
            push(c, "observed_at".to_string());
        }
        if let SourceMode::Changes { deleted: Some(c) } = &self.mode {
            push(c, "deleted".to_string());
        }
        out
    }
}

/// Where the kind of an events section's rows comes from: `kind` or `kind_is`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKindFrom {
    /// `kind = "COLUMN"`: each row names its kind in this column.
    Column(String),
    /// `kind_is = "NAME"`: every row of the file is an event of this kind.
    Fixed(String),
}

/// One `[[events]]` table: a file of behavioural events and how its columns become
/// [`EventInput`](crate::behaviour::EventInput)s; [`EventsMapping::read`] reads it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EventsMapping {
    /// Its place among the `[[events]]` tables, from 1: errors name the table by it.
    pub number: usize,
    /// The name of the `[[source]]` whose records the events belong to.
    pub source: String,
    /// Where the table's rows come from: its file (or database and query) and how it is
    /// written.
    pub input: TableInput,
    /// The column holding the external id of the event's record in `source`.
    pub record: String,
    /// The column naming each row's kind, or the one kind of every row.
    pub kind: EventKindFrom,
    /// The column holding the event's time.
    pub at: String,
    /// The column holding the topic (a title, product or search query), if any.
    pub topic: Option<String>,
    /// The column holding the value (an amount, or seconds spent reading), if any.
    pub value: Option<String>,
    /// The column holding the channel, if any.
    pub channel: Option<String>,
    /// The column holding the event's id within its source, if any.
    pub id: Option<String>,
}

impl EventsMapping {
    /// Whether the section has an `id` column. With one, an event replaces the held event of
    /// the same id, so a replayed file counts each event once; without one, the file is a full
    /// export of the section's events and replaces what the section loaded last time.
    pub fn has_ids(&self) -> bool {
        self.id.is_some()
    }

    /// Every column the section reads, each once, in mapping order (`record` first), with
    /// the TOML key that names it.
    pub(crate) fn columns(&self) -> Vec<(String, String)> {
        let kind = match &self.kind {
            EventKindFrom::Column(c) => Some(c),
            EventKindFrom::Fixed(_) => None,
        };
        distinct_columns([
            (Some(&self.record), "record"),
            (kind, "kind"),
            (Some(&self.at), "at"),
            (self.topic.as_ref(), "topic"),
            (self.value.as_ref(), "value"),
            (self.channel.as_ref(), "channel"),
            (self.id.as_ref(), "id"),
        ])
    }
}

/// A table of touchpoints in a mapping: `[[consent]]` or `[[contacts]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TouchTable {
    /// `[[consent]]`: consent statements ([`ConsentMapping`]).
    Consent,
    /// `[[contacts]]`: contacts ([`ContactsMapping`]).
    Contacts,
}

impl TouchTable {
    /// The table's name as the mapping file writes it: `[[consent]]` or `[[contacts]]`.
    pub const fn name(self) -> &'static str {
        match self {
            TouchTable::Consent => "[[consent]]",
            TouchTable::Contacts => "[[contacts]]",
        }
    }
}

impl fmt::Display for TouchTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the channel of a consent or contacts section's rows comes from: `channel` or
/// `channel_is`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelFrom {
    /// `channel = "COLUMN"`: each row names its channel in this column.
    Column(String),
    /// `channel_is = "NAME"`: every row of the file is about this channel.
    Fixed(String),
}

/// One `[[consent]]` table: a file of consent statements and how its columns become
/// [`ConsentInput`](crate::touchpoint::ConsentInput)s; [`ConsentMapping::read`] reads it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConsentMapping {
    /// Its place among the `[[consent]]` tables, from 1: errors name the table by it.
    pub number: usize,
    /// The name of the `[[source]]` whose records made the statements.
    pub source: String,
    /// Where the table's rows come from: its file (or database and query) and how it is
    /// written.
    pub input: TableInput,
    /// The column holding the external id of the statement's record in `source`.
    pub record: String,
    /// The column naming each row's channel, or the one channel of every row.
    pub channel: ChannelFrom,
    /// The column holding `granted` or `denied`.
    pub status: String,
    /// The column holding when the statement was made.
    pub at: String,
}

impl ConsentMapping {
    /// Every column the section reads, each once, in mapping order (`record` first), with
    /// the TOML key that names it.
    pub(crate) fn columns(&self) -> Vec<(String, String)> {
        let channel = match &self.channel {
            ChannelFrom::Column(c) => Some(c),
            ChannelFrom::Fixed(_) => None,
        };
        distinct_columns([
            (Some(&self.record), "record"),
            (channel, "channel"),
            (Some(&self.status), "status"),
            (Some(&self.at), "at"),
        ])
    }
}

/// One `[[contacts]]` table: a file of contacts (messages sent, calls made, banners shown) and
/// how its columns become [`ContactInput`](crate::touchpoint::ContactInput)s;
/// [`ContactsMapping::read`] reads it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ContactsMapping {
    /// Its place among the `[[contacts]]` tables, from 1: errors name the table by it.
    pub number: usize,
    /// The name of the `[[source]]` whose record's address each contact used.
    pub source: String,
    /// Where the table's rows come from: its file (or database and query) and how it is
    /// written.
    pub input: TableInput,
    /// The column holding the external id of the contact's record in `source`.
    pub record: String,
    /// The column naming each row's channel, or the one channel of every row.
    pub channel: ChannelFrom,
    /// The column holding the contact's time.
    pub at: String,
    /// The column holding the campaign, if any.
    pub campaign: Option<String>,
    /// The column whose truthy cell marks a transactional contact (read as
    /// [`deletion_flag`](super::deletion_flag) reads a cell), if any.
    pub transactional: Option<String>,
    /// The column holding the contact's id within its source, if any.
    pub id: Option<String>,
}

impl ContactsMapping {
    /// Whether the section has an `id` column. With one, a contact replaces the held contact
    /// of the same id, so a replayed file counts each contact once; without one, the file is
    /// a full export of the section's contacts and replaces what the section loaded last time.
    pub fn has_ids(&self) -> bool {
        self.id.is_some()
    }

    /// Every column the section reads, each once, in mapping order (`record` first), with
    /// the TOML key that names it.
    pub(crate) fn columns(&self) -> Vec<(String, String)> {
        let channel = match &self.channel {
            ChannelFrom::Column(c) => Some(c),
            ChannelFrom::Fixed(_) => None,
        };
        distinct_columns([
            (Some(&self.record), "record"),
            (channel, "channel"),
            (Some(&self.at), "at"),
            (self.campaign.as_ref(), "campaign"),
            (self.transactional.as_ref(), "transactional"),
            (self.id.as_ref(), "id"),
        ])
    }
}

/// The columns given, each once (the first key that names it), in order.
fn distinct_columns<'a>(
    columns: impl IntoIterator<Item = (Option<&'a String>, &'a str)>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (column, key) in columns {
        if let Some(c) = column.filter(|c| !out.iter().any(|(o, _)| o == *c)) {
            out.push((c.clone(), key.to_string()));
        }
    }
    out
}

/// The attribute name of part `i` of composite kind `kind`.
pub(crate) fn part_name(kind: &str, i: usize) -> String {
    format!("{kind}#{i}")
}

impl Mapping {
    /// The mapping file (`<string>` if parsed from a string).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The default phone country, if the mapping sets one.
    pub fn default_country(&self) -> Option<&str> {
        self.default_country.as_deref()
    }

    /// The declared kinds, by name.
    pub fn kinds(&self) -> &[KindMapping] {
        &self.kinds
    }

    /// The sources, in file order.
    pub fn sources(&self) -> &[SourceMapping] {
        &self.sources
    }

    /// The host's event kinds declared under `[event_kinds]`, with their classes, in file
    /// order.
    pub fn event_kinds(&self) -> &[(String, EventClass)] {
        &self.event_kinds
    }

    /// The `[[events]]` sections, in file order.
    pub fn events(&self) -> &[EventsMapping] {
        &self.events
    }

    /// The `[[consent]]` sections, in file order.
    pub fn consent(&self) -> &[ConsentMapping] {
        &self.consent
    }

    /// The `[[contacts]]` sections, in file order.
    pub fn contacts(&self) -> &[ContactsMapping] {
        &self.contacts
    }

    /// The `[[campaign]]` definitions, in file order.
    pub fn campaigns(&self) -> &[CampaignSpec] {
        &self.campaigns
    }

    /// The built-in event kinds and the mapping's own (`[event_kinds]`, in file order), as
    /// [`EventsMapping::read`] wants them: the registry of a resolver built from
    /// [`Mapping::resolver_builder`], for a host that reads events without one.
    ///
    /// ```
    /// use idstitch::behaviour::EventClass;
    /// use idstitch::mapping::Mapping;
    ///
    /// let mapping = Mapping::from_str("[event_kinds]\nwebinar = \"engagement\"\n", ".")?;
    /// let kinds = mapping.event_kind_registry();
    /// let webinar = kinds.lookup("webinar").unwrap();
    /// assert_eq!(kinds.class(webinar), Some(EventClass::Engagement));
    /// assert!(kinds.lookup("order").is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn event_kind_registry(&self) -> EventKinds {
        let mut kinds = EventKinds::new();
        for (name, class) in &self.event_kinds {
            // Parsing declared every name on a fresh registry already, so none fails here.
            let _ = kinds.declare(name, *class);
        }
        kinds
    }

    /// Declares the mapping's event kinds in a registry the host holds. A kind the registry
    /// has already with the same class is left as it is, so declaring twice is harmless.
    ///
    /// # Errors
    /// [`MappingError::DeclareEventKind`] if the registry has one of the kinds with another
    /// class or has no room for them; the registry is then unchanged.
    pub fn declare_event_kinds(&self, kinds: &mut EventKinds) -> Result<(), MappingError> {
        let error = |kind: &str, error| MappingError::DeclareEventKind {
            file: self.file.clone(),
            kind: kind.to_string(),
            error,
        };
        let mut new = 0;
        for (name, class) in &self.event_kinds {
            match kinds.lookup(name) {
                Some(held) if kinds.class(held) == Some(*class) => {}
                Some(_) => return Err(error(name, EventKindError::Duplicate(name.clone()))),
                None => new += 1,
            }
        }
        // Checked before declaring any, so that a registry without room is left unchanged.
        if kinds.len() + new > MAX_EVENT_KINDS {
            let first_new = self.event_kinds.iter().find(|(n, _)| kinds.lookup(n).is_none());
            let name = first_new.map_or("", |(n, _)| n.as_str());
            return Err(error(name, EventKindError::TooMany));
        }
        for (name, class) in &self.event_kinds {
            if kinds.lookup(name).is_none() {
                kinds.declare(name, *class).map_err(|e| error(name, e))?;
            }
        }
        Ok(())
    }

    fn config_error(&self, error: crate::ConfigError) -> MappingError {
        MappingError::Config { file: self.file.clone(), error }
    }

    /// A resolver builder with the mapping's default country, kinds and event kinds, on top
    /// of the built-in ones, so that the resolver's
    /// [`event_kinds`](crate::Resolver::event_kinds) are what [`EventsMapping::read`] wants.
    /// Adjust it further before building if you like; a problem shows when it builds
    /// (validation when parsing makes one unexpected).
    pub fn resolver_builder(&self) -> ResolverBuilder {
        let mut builder = ResolverBuilder::new();
        if let Some(country) = &self.default_country {
            builder.default_country(country);
        }
        for kind in &self.kinds {
            builder.kind(&kind.name, kind.spec.clone());
        }
        for (name, class) in &self.event_kinds {
            builder.event_kind(name, *class);
        }
        builder
    }

    /// Registers the mapping's sources with their trust ranks, in file order, and returns
    /// their ids.
    ///
    /// # Errors
    /// [`MappingError::Config`] with [`ConfigError::DuplicateSource`](crate::ConfigError)
    /// if the resolver has a source of the same name already.
    pub fn register_sources(&self, resolver: &mut Resolver) -> Result<Vec<SourceId>, MappingError> {
        self.sources
            .iter()
            .map(|s| resolver.add_source(&s.name, s.trust).map_err(|e| self.config_error(e)))
            .collect()
    }
}
