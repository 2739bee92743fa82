//! Reading an `[[events]]` section's file: [`EventsMapping::read`] streams its rows into
//! [`EventInput`]s, chunk by chunk, and counts the rows whose values make no event in an
//! [`EventsRead`].
//!
//! Files of events are large (tens of millions of rows), so a row costs no allocation: CSV
//! rows are read into one reused record, JSON Lines rows are parsed straight into reused
//! cells (no `serde_json::Value`), and the chunk's events are overwritten in place, their
//! strings keeping their capacity from chunk to chunk. (A JSON string with escapes is the
//! exception: the parser, made per line, unescapes it in a buffer of its own.)
//! `tests/mapping_events_alloc.rs` counts the allocations.

// Without a reader feature no file can be read, so the row machinery goes unused.
#![cfg_attr(not(any(feature = "csv", feature = "serde_json")), allow(dead_code, unused_imports))]

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::config::{EventKindFrom, EventsMapping};
use super::error::MappingError;
#[cfg(any(feature = "csv", feature = "serde_json"))]
use super::reader::Reader;
use super::reader::{check_feature, open_reader, Layout, Owner};
use super::timestamp::parse_timestamp;
use crate::behaviour::{EventInput, EventKind, EventKinds};
use crate::ids::SourceId;
use crate::input::record::Timestamp;

/// At most this many [`SkippedRow`] examples are kept per [`EventRowProblem`].
pub const SKIPPED_EXAMPLES: usize = 3;

/// Examples keep at most this many bytes of the offending cell.
const EXAMPLE_BYTES: usize = 80;

/// Why a row of an events file made no event. Such rows are counted, never fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventRowProblem {
    /// The `record` cell is empty or missing: the event names no record.
    EmptyRecordId,
    /// The `kind` cell is empty or missing.
    EmptyKind,
    /// The kind is not in the registry the file was read with: neither built in nor declared
    /// (under `[event_kinds]`, or by the host). Names are matched exactly, after trimming.
    UnknownKind,
    /// The `at` cell is empty or missing.
    EmptyTime,
    /// The `at` cell is neither RFC 3339 nor `YYYY-MM-DD` (see
    /// [`parse_timestamp`](super::parse_timestamp)).
    BadTime,
    /// The `value` cell is not a number.
    BadValue,
    /// The `value` cell is a number but not a finite one (`inf`, `NaN`, `1e999`).
    NonFiniteValue,
}

impl EventRowProblem {
    /// What the problem is, in a few words for people.
    pub const fn describe(self) -> &'static str {
        match self {
            EventRowProblem::EmptyRecordId => "no record id",
            EventRowProblem::EmptyKind => "no kind",
            EventRowProblem::UnknownKind => "unknown event kind",
            EventRowProblem::EmptyTime => "no time",
            EventRowProblem::BadTime => "time does not parse",
            EventRowProblem::BadValue => "value is not a number",
            EventRowProblem::NonFiniteValue => "value is not finite",
        }
    }
}

impl fmt::Display for EventRowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A row that made no event, kept as an example for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedRow {
    /// The row's line in the file, from 1.
    pub line: u64,
    /// Why it made no event.
    pub problem: EventRowProblem,
    /// The offending cell, trimmed and cut to 80 bytes; empty for an empty or missing one.
    pub value: String,
}

/// What reading one events section's file gave: rows read, events handed on, and the rows
/// that made no event, counted per problem with the first few of each as examples.
///
/// Its `Display` is a short account for people:
///
/// ```text
/// newsletter_events.csv ("newsletter"): 4 rows, 2 events, 2 skipped
///   unknown event kind: 1 (line 3: "webniar")
///   time does not parse: 1 (line 5: "31-12-2025")
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventsRead {
    /// The source the events belong to.
    pub source: String,
    /// The file read.
    pub file: PathBuf,
    /// Rows (CSV) or objects (JSON Lines) read; blank lines are not rows.
    pub rows: u64,
    /// Events handed on: rows less the skipped ones.
    pub events: u64,
    /// Rows that made no event, by problem (each row counts once, for its first problem in
    /// the order record, kind, time, value).
    pub skipped: BTreeMap<EventRowProblem, u64>,
    /// The first [`SKIPPED_EXAMPLES`] skipped rows of each problem, in file order.
    pub examples: Vec<SkippedRow>,
}

impl EventsRead {
    /// Rows that made no event.
    pub fn n_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }

    fn skip(&mut self, line: u64, problem: EventRowProblem, value: &str) {
        let n = self.skipped.entry(problem).or_default();
        *n += 1;
        if *n <= SKIPPED_EXAMPLES as u64 {
            let mut end = value.len().min(EXAMPLE_BYTES);
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            let value = value.get(..end).unwrap_or_default().to_string();
            self.examples.push(SkippedRow { line, problem, value });
        }
    }
}

impl fmt::Display for EventsRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.file.file_name().map_or(self.file.as_os_str(), |n| n);
        write!(
            f,
            "{} ({:?}): {} rows, {} events, {} skipped",
            name.to_string_lossy(),
            self.source,
            self.rows,
            self.events,
            self.n_skipped()
        )?;
        for (problem, n) in &self.skipped {
            write!(f, "\n  {problem}: {n}")?;
            let mut examples = self.examples.iter().filter(|e| e.problem == *problem).peekable();
            if examples.peek().is_some() {
                f.write_str(" (")?;
                for (i, e) in examples.enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}line {}: {:?}", e.line, e.value)?;
                }
                f.write_str(")")?;
            }
        }
        Ok(())
    }
}

/// Where a row's kind comes from, resolved against the registry.
enum KindPlan<'a> {
    /// The column (index into the layout's columns).
    Column(usize),
    /// One kind for every row; `None` when the registry lacks it (every row is then counted
    /// as an unknown kind, with the name as example).
    Fixed(Option<EventKind>, &'a str),
}

/// The columns of an events section, as indices into its layout's columns.
struct EventPlan<'a> {
    record: usize,
    kind: KindPlan<'a>,
    at: usize,
    topic: Option<usize>,
    value: Option<usize>,
    channel: Option<usize>,
    id: Option<usize>,
}

/// The values of one good row, borrowed from the reader.
struct Fields<'a> {
    record: &'a str,
    kind: EventKind,
    at: Timestamp,
    topic: Option<&'a str>,
    value: f64,
    channel: Option<&'a str>,
    id: Option<&'a str>,
}

impl EventPlan<'_> {
    /// The event of a row whose trimmed cells `cell` gives (`""` for a missing one), or its
    /// first problem with the offending text.
    fn fields<'c>(
        &self,
        kinds: &EventKinds,
        cell: impl Fn(usize) -> &'c str,
    ) -> Result<Fields<'c>, (EventRowProblem, &'c str)> {
        let record = cell(self.record);
        if record.is_empty() {
            return Err((EventRowProblem::EmptyRecordId, ""));
        }
        let kind = match &self.kind {
            KindPlan::Column(col) => {
                let name = cell(*col);
                if name.is_empty() {
                    return Err((EventRowProblem::EmptyKind, ""));
                }
                kinds.lookup(name).ok_or((EventRowProblem::UnknownKind, name))?
            }
            // The name is not borrowed from the row; the caller's example takes it from the
            // plan.
            KindPlan::Fixed(kind, _) => kind.ok_or((EventRowProblem::UnknownKind, ""))?,
        };
        let at_text = cell(self.at);
        if at_text.is_empty() {
            return Err((EventRowProblem::EmptyTime, ""));
        }
        let at = parse_timestamp(at_text).ok_or((EventRowProblem::BadTime, at_text))?;
        let value = match self.value.map(&cell).filter(|v| !v.is_empty()) {
            None => 0.0,
            Some(text) => {
                let v: f64 = text.parse().map_err(|_| (EventRowProblem::BadValue, text))?;
                if !v.is_finite() {
                    return Err((EventRowProblem::NonFiniteValue, text));
                }
                v
            }
        };
        let optional = |col: Option<usize>| col.map(&cell).filter(|v| !v.is_empty());
        Ok(Fields {
            record,
            kind,
            at,
            topic: optional(self.topic),
            value,
            channel: optional(self.channel),
            id: optional(self.id),
        })
    }
}

/// Overwrites an optional text, keeping the string's buffer when there is text again.
fn set_text(slot: &mut Option<String>, text: Option<&str>) {
    match (slot.as_mut(), text) {
        (Some(s), Some(t)) => {
            s.clear();
            s.push_str(t);
        }
        (None, Some(t)) => *slot = Some(t.to_string()),
        (_, None) => *slot = None,
    }
}

/// Writes a row's event into `slot`, reusing its strings.
fn fill(slot: &mut EventInput, source: SourceId, fields: &Fields<'_>) {
    slot.source = source;
    slot.external_id.clear();
    slot.external_id.push_str(fields.record);
    slot.kind = fields.kind;
    slot.at = fields.at;
    slot.value = fields.value;
    set_text(&mut slot.topic, fields.topic);
    set_text(&mut slot.channel, fields.channel);
    set_text(&mut slot.id, fields.id);
}

impl EventsMapping {
    /// The file and columns of the section, for the readers.
    fn layout(&self) -> Layout {
        let (columns, column_keys) = self.columns().into_iter().unzip();
        Layout {
            file: self.path.clone(),
            format: self.format,
            delimiter: self.delimiter,
            columns,
            column_keys,
            owner: Owner::Events { number: self.number, source: self.source.clone() },
        }
    }

    /// Reads the section's file and hands its events to `f`, `chunk` at a time (the last
    /// chunk may be shorter; `f` never gets an empty one). Every event gets `source`, the id
    /// the host's resolver gave the section's [`source`](EventsMapping::source), and a kind
    /// looked up in `kinds`: the built-in kinds and the mapping's own, as the
    /// [`event_kinds`](crate::Resolver::event_kinds) of a resolver built from
    /// [`Mapping::resolver_builder`](super::Mapping::resolver_builder) hold them (or
    /// [`Mapping::event_kind_registry`](super::Mapping::event_kind_registry), or a registry
    /// with them declared by [`Mapping::declare_event_kinds`](super::Mapping::declare_event_kinds)).
    /// A host hands the chunks to [`Resolver::record_events`](crate::Resolver::record_events).
    ///
    /// Each row is one event: `record` is its record's external id, `at` its time (RFC 3339
    /// or `YYYY-MM-DD`, midnight UTC), `value` a decimal number (0 when the section has no
    /// `value` column or the cell is empty), and `topic`, `channel` and `id` are `None` when
    /// their column is absent or the cell empty. Cells are trimmed; in JSON Lines, numbers
    /// and booleans are read as their JSON text and `null` as an empty cell. A row whose
    /// values make no event (no record id, no or an unknown kind, a time or value that does
    /// not parse) is skipped and counted in the returned [`EventsRead`]; whether the events
    /// are valid otherwise (text lengths, negative amounts) is left to whoever takes them
    /// ([`EventInput::validate`]).
    ///
    /// The events are overwritten after `f` returns, their strings reused: copy what you
    /// keep. Memory stays at one chunk of events however large the file.
    ///
    /// ```
    /// # #[cfg(feature = "csv")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use idstitch::behaviour::{EventInput, EventKind};
    /// use idstitch::mapping::{Mapping, MappingError};
    /// use idstitch::{SourceId, Timestamp};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-events-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(
    ///     dir.join("opens.csv"),
    ///     "subscriber,kind,ts,title\n\
    ///      nl-1,newsletter_open,2026-06-01,Rates rise\n\
    ///      nl-2,webinar,2026-06-02T09:00:00Z,Pensions\n\
    ///      nl-3,webniar,2026-06-02,Pensions\n",
    /// )?;
    /// let mapping = Mapping::from_str(
    ///     r#"
    ///     [event_kinds]
    ///     webinar = "engagement"
    ///     [[source]]
    ///     name = "newsletter"
    ///     path = "newsletter.csv"
    ///     id = "subscriber"
    ///     [[events]]
    ///     source = "newsletter"
    ///     path = "opens.csv"
    ///     record = "subscriber"
    ///     kind = "kind"
    ///     at = "ts"
    ///     topic = "title"
    ///     "#,
    ///     &dir,
    /// )?;
    /// let kinds = mapping.event_kind_registry();
    /// let newsletter = SourceId::from_raw(0); // as the resolver registered it
    /// let mut events: Vec<EventInput> = Vec::new();
    /// let read = mapping.events()[0].read(newsletter, &kinds, 1024, |chunk| {
    ///     events.extend_from_slice(chunk);
    ///     Ok::<_, MappingError>(())
    /// })?;
    /// assert_eq!(
    ///     events[0],
    ///     EventInput::new(newsletter, "nl-1", EventKind::NEWSLETTER_OPEN, Timestamp(1_780_272_000))
    ///         .with_topic("Rates rise")
    /// );
    /// assert_eq!(events[1].kind, kinds.lookup("webinar").unwrap());
    /// assert_eq!((read.rows, read.events, read.n_skipped()), (3, 2, 1));
    /// assert!(read.to_string().contains("unknown event kind: 1 (line 4: \"webniar\")"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "csv"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// The error of `f`, which stops the reading; a [`MappingError`], converted into `f`'s
    /// error type, when the file cannot be read: [`FeatureDisabled`](MappingError::FeatureDisabled),
    /// [`OpenInput`](MappingError::OpenInput), [`ReadInput`](MappingError::ReadInput),
    /// [`MissingEventColumn`](MappingError::MissingEventColumn) and
    /// [`DuplicateColumn`](MappingError::DuplicateColumn) before any row is read; then, naming
    /// the line (and the column where there is one), [`FieldCount`](MappingError::FieldCount),
    /// [`InvalidUtf8`](MappingError::InvalidUtf8), [`InvalidJson`](MappingError::InvalidJson),
    /// [`NotAnObject`](MappingError::NotAnObject) or
    /// [`UnexpectedValue`](MappingError::UnexpectedValue) (a JSON array or object in a mapped
    /// field; a JSON number beyond `f64`'s range is invalid JSON to the parser, unlike the
    /// text `"1e999"`, which is a row with a value that is not finite). Chunks handed to `f`
    /// before an error stay handed.
    pub fn read<E: From<MappingError>>(
        &self,
        source: SourceId,
        kinds: &EventKinds,
        chunk: usize,
        f: impl FnMut(&[EventInput]) -> Result<(), E>,
    ) -> Result<EventsRead, E> {
        let layout = self.layout();
        check_feature(&layout)?;
        let reader = open_reader(&layout)?;
        #[cfg(not(any(feature = "csv", feature = "serde_json")))]
        {
            // Without a reader feature `open_reader` fails, so there is no reader here.
            let _ = (source, kinds, chunk, f);
            match reader {}
        }
        #[cfg(any(feature = "csv", feature = "serde_json"))]
        self.read_rows(reader, &layout, source, kinds, chunk, f)
    }

    /// The rows of an open file, read as [`EventsMapping::read`] says.
    #[cfg(any(feature = "csv", feature = "serde_json"))]
    fn read_rows<E: From<MappingError>>(
        &self,
        mut reader: Reader,
        layout: &Layout,
        source: SourceId,
        kinds: &EventKinds,
        chunk: usize,
        mut f: impl FnMut(&[EventInput]) -> Result<(), E>,
    ) -> Result<EventsRead, E> {
        let col = |name: &str| layout.columns.iter().position(|c| c == name).unwrap_or(0);
        let plan = EventPlan {
            record: col(&self.record),
            kind: match &self.kind {
                EventKindFrom::Column(c) => KindPlan::Column(col(c)),
                EventKindFrom::Fixed(name) => KindPlan::Fixed(kinds.lookup(name), name),
            },
            at: col(&self.at),
            topic: self.topic.as_deref().map(col),
            value: self.value.as_deref().map(col),
            channel: self.channel.as_deref().map(col),
            id: self.id.as_deref().map(col),
        };
        let mut report = EventsRead {
            source: self.source.clone(),
            file: self.path.clone(),
            ..EventsRead::default()
        };
        let chunk = chunk.max(1);
        // Events are overwritten in place from the second chunk on; `n` of them are filled.
        let mut events: Vec<EventInput> = Vec::with_capacity(chunk.min(1 << 16));
        let mut n = 0;
        #[cfg_attr(not(feature = "serde_json"), allow(unused_mut, unused_variables))]
        let mut cells: Vec<String> = vec![String::new(); layout.columns.len()];
        while let Some(line) = reader.advance(layout)? {
            report.rows += 1;
            let outcome = match &reader {
                #[cfg(feature = "csv")]
                Reader::Csv { record, index, .. } => plan.fields(kinds, |col| {
                    index.get(col).and_then(|&i| record.get(i)).unwrap_or_default().trim()
                }),
                #[cfg(feature = "serde_json")]
                Reader::Jsonl { buf, .. } => {
                    json::cells(layout, line, buf, &mut cells)?;
                    plan.fields(kinds, |col| cells.get(col).map_or("", |s| s.trim()))
                }
            };
            match outcome {
                Ok(fields) => {
                    match events.get_mut(n) {
                        Some(slot) => fill(slot, source, &fields),
                        None => {
                            let mut event =
                                EventInput::new(source, String::new(), fields.kind, fields.at);
                            fill(&mut event, source, &fields);
                            events.push(event);
                        }
                    }
                    n += 1;
                    if n == chunk {
                        report.events += n as u64;
                        f(events.get(..n).unwrap_or_default())?;
                        n = 0;
                    }
                }
                Err((problem, text)) => {
                    let text = match (&plan.kind, problem) {
                        (KindPlan::Fixed(_, name), EventRowProblem::UnknownKind) => name,
                        _ => text,
                    };
                    report.skip(line, problem, text);
                }
            }
        }
        if n > 0 {
            report.events += n as u64;
            f(events.get(..n).unwrap_or_default())?;
        }
        Ok(report)
    }
}

/// JSON Lines rows parsed straight into the section's cells: the object's fields are
/// matched against the mapped columns as they are read, unmapped ones skipped, so a row
/// allocates nothing once the cells have grown to their values' length.
#[cfg(feature = "serde_json")]
mod json {
    use std::fmt::Write as _;

    use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

    use super::super::error::MappingError;
    use super::super::reader::{invalid_json, json_row, Layout};

    /// What a mapped field held that is not a cell: the column and what was found.
    type Unexpected = Option<(usize, &'static str)>;

    /// Reads the JSON object on `text` into `cells` (one per layout column; empty for a
    /// missing field or `null`).
    pub(super) fn cells(
        layout: &Layout,
        line: u64,
        text: &[u8],
        cells: &mut [String],
    ) -> Result<(), MappingError> {
        for cell in cells.iter_mut() {
            cell.clear();
        }
        let first = text.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            // Not an object: the general reader names what it is (or why it is no JSON).
            json_row(&layout.file, line, text, &[], &mut [])?;
            return Err(MappingError::NotAnObject {
                file: layout.file.clone(),
                line,
                found: "something else",
            });
        }
        let mut unexpected: Unexpected = None;
        let mut de = serde_json::Deserializer::from_slice(text);
        let seed = Row { columns: &layout.columns, cells, unexpected: &mut unexpected };
        let parsed = seed.deserialize(&mut de).and_then(|()| de.end());
        match (parsed, unexpected) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some((col, found))) => Err(MappingError::UnexpectedValue {
                file: layout.file.clone(),
                line,
                field: layout.columns.get(col).cloned().unwrap_or_default(),
                found,
                expected: "a string, a number, a boolean or null",
            }),
            (Err(e), None) => Err(invalid_json(&layout.file, line, &e)),
        }
    }

    /// The seed of one row: the object whose mapped fields fill `cells`.
    struct Row<'a> {
        columns: &'a [String],
        cells: &'a mut [String],
        unexpected: &'a mut Unexpected,
    }

    impl<'de> DeserializeSeed<'de> for Row<'_> {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Row<'_> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(col) = map.next_key_seed(Key(self.columns))? {
                match col.and_then(|c| self.cells.get_mut(c).map(|cell| (c, cell))) {
                    Some((col, cell)) => {
                        // A field given twice counts as its last value, as in a JSON object
                        // read whole.
                        cell.clear();
                        map.next_value_seed(Value { col, cell, unexpected: self.unexpected })?;
                    }
                    None => map.next_value_seed(Skip)?,
                }
            }
            Ok(())
        }
    }

    /// An unmapped field's value, skipped. Not `serde::de::IgnoredAny`: serde_json skips that
    /// with a stack in its scratch buffer, which a parser made per row would allocate anew
    /// for every row with a nested value.
    struct Skip;

    impl<'de> DeserializeSeed<'de> for Skip {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Skip {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }

        fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
            Ok(())
        }

        fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
            Ok(())
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        // serde_json limits the nesting (to 128), so this recursion is bounded.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Skip)?.is_some() {}
            Ok(())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while map.next_key_seed(Skip)?.is_some() {
                map.next_value_seed(Skip)?;
            }
            Ok(())
        }
    }

    /// A field name, as the index of the mapped column of that name (`None` if unmapped).
    struct Key<'a>(&'a [String]);

    impl<'de> DeserializeSeed<'de> for Key<'_> {
        type Value = Option<usize>;

        fn deserialize<D: de::Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Option<usize>, D::Error> {
            deserializer.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key<'_> {
        type Value = Option<usize>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a field name")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
            Ok(self.0.iter().position(|c| c == v))
        }
    }

    /// A mapped field's value, written as text into its cell.
    struct Value<'a> {
        col: usize,
        cell: &'a mut String,
        unexpected: &'a mut Unexpected,
    }

    impl Value<'_> {
        /// Numbers read as the text `serde_json::Value` gives them, so that an id reads the
        /// same here as in a source's file.
        fn number<E>(self, n: serde_json::Number) -> Result<(), E> {
            // Writing into a String cannot fail.
            let _ = write!(self.cell, "{n}");
            Ok(())
        }

        fn refuse<E: de::Error>(self, found: &'static str) -> Result<(), E> {
            *self.unexpected = Some((self.col, found));
            Err(E::custom(format_args!("{found} in a mapped field")))
        }
    }

    impl<'de> DeserializeSeed<'de> for Value<'_> {
        type Value = ();

        fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Value<'_> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string, a number, a boolean or null")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
            self.cell.push_str(v);
            Ok(())
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
            self.cell.push_str(if v { "true" } else { "false" });
            Ok(())
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
            self.number(v.into())
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
            self.number(v.into())
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
            match serde_json::Number::from_f64(v) {
                Some(n) => self.number(n),
                // JSON has no infinite or NaN numbers; should one come, it is no number.
                None => self.refuse("a non-finite number"),
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<(), A::Error> {
            self.refuse("an array")
        }

        fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
            self.refuse("an object")
        }
    }

    /// The row parser against the general one (`serde_json::Value`), on generated objects,
    /// other JSON values and lines with a byte changed.
    #[cfg(test)]
    mod tests {
        use std::path::PathBuf;

        use proptest::prelude::*;
        use serde_json::Value as Json;

        use super::super::super::reader::{json_row, Cell, Layout, Owner};
        use super::cells;
        use crate::mapping::{InputFormat, MappingError};

        const COLUMNS: [&str; 4] = ["sid", "kind", "ts", "t"];

        fn layout() -> Layout {
            Layout {
                file: PathBuf::from("e.jsonl"),
                format: InputFormat::JsonLines,
                delimiter: b',',
                columns: COLUMNS.map(String::from).into(),
                column_keys: COLUMNS.map(String::from).into(),
                owner: Owner::Events { number: 1, source: "s".into() },
            }
        }

        fn json() -> impl Strategy<Value = Json> {
            let leaf = prop_oneof![
                Just(Json::Null),
                any::<bool>().prop_map(Json::Bool),
                any::<i64>().prop_map(Json::from),
                any::<u64>().prop_map(Json::from),
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Json::from),
                "\\PC{0,6}".prop_map(Json::String),
                "[ a\"\\\\\n\t\u{e9}\u{1f600}]{0,6}".prop_map(Json::String),
            ];
            leaf.prop_recursive(3, 16, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                    proptest::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                        .prop_map(|m| Json::Object(m.into_iter().collect())),
                ]
            })
        }

        /// A line: mostly an object with some of the mapped fields, sometimes another value;
        /// with a byte replaced, inserted or removed now and then.
        fn line() -> impl Strategy<Value = Vec<u8>> {
            let keys = prop::sample::select(vec!["sid", "kind", "ts", "t", "x", "params"]);
            let object = proptest::collection::btree_map(keys, json(), 0..6)
                .prop_map(|m| Json::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect()));
            let value = prop_oneof![8 => object, 1 => json()];
            let edit = prop_oneof![
                4 => Just(None),
                1 => (any::<prop::sample::Index>(), any::<u8>(), 0u8..3).prop_map(Some),
            ];
            (value, any::<bool>(), edit).prop_map(|(value, pretty, edit)| {
                let mut text = if pretty {
                    serde_json::to_vec_pretty(&value).unwrap_or_default()
                } else {
                    serde_json::to_vec(&value).unwrap_or_default()
                };
                if let Some((at, byte, how)) = edit {
                    let i = at.index(text.len() + 1);
                    match how {
                        0 if i < text.len() => text[i] = byte,
                        1 => text.insert(i, byte),
                        _ if i < text.len() => {
                            text.remove(i);
                        }
                        _ => {}
                    }
                }
                text
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]

            #[test]
            fn rows_parse_as_the_general_reader_reads_them(text in line()) {
                let layout = layout();
                let mut fast = vec![String::new(); COLUMNS.len()];
                let fast = cells(&layout, 1, &text, &mut fast).map(|()| fast);
                let mut slow = vec![Cell::Missing; COLUMNS.len()];
                let slow = json_row(&layout.file, 1, &text, &layout.columns, &mut slow)
                    .map(|()| slow);
                match (slow, fast) {
                    (Ok(slow), Ok(fast)) => {
                        for (s, f) in slow.iter().zip(&fast) {
                            match s {
                                Cell::Missing => prop_assert_eq!(f.as_str(), ""),
                                Cell::One(v) => prop_assert_eq!(f, v),
                                Cell::Many(_) => prop_assert!(false, "an array read as {f:?}"),
                            }
                        }
                    }
                    // The general reader takes arrays (for keys); events refuse them.
                    (Ok(slow), Err(MappingError::UnexpectedValue { found: "an array", .. })) => {
                        prop_assert!(slow.iter().any(|c| matches!(c, Cell::Many(_))));
                    }
                    (Ok(slow), Err(e)) => prop_assert!(false, "{e} where {slow:?} was read"),
                    (Err(e), Ok(fast)) => prop_assert!(false, "{fast:?} read where {e}"),
                    (Err(slow), Err(fast)) => match (&slow, &fast) {
                        (MappingError::NotAnObject { .. }, MappingError::NotAnObject { .. })
                        | (MappingError::UnexpectedValue { .. }, MappingError::UnexpectedValue { .. })
                        // The row parser stops at the first mapped array or object, which may
                        // come before a syntax error the general reader reports.
                        | (MappingError::InvalidJson { .. }, MappingError::UnexpectedValue { .. }) => {}
                        (
                            MappingError::InvalidJson { line: 1, column: a, .. },
                            MappingError::InvalidJson { line: 1, column: b, .. },
                        ) => prop_assert_eq!(a, b, "{} / {}", slow, fast),
                        _ => prop_assert!(false, "{slow} / {fast}"),
                    },
                }
            }
        }

        #[test]
        fn a_field_given_twice_counts_as_its_last_value() {
            let mut fast = vec![String::new(); COLUMNS.len()];
            cells(&layout(), 1, br#"{"sid": "a", "sid": 7, "kind": "x"}"#, &mut fast).unwrap();
            assert_eq!(fast, ["7", "x", "", ""]);
        }
    }
}

/// The id an event of a section without an `id` column gets in a state: the file's name and
/// the event's position (see the module documentation on full exports).
pub(crate) fn export_id(section: &EventsMapping, position: u64) -> String {
    let name = section
        .path
        .file_name()
        .map_or_else(|| section.path.to_string_lossy(), |n| n.to_string_lossy());
    format!("\u{1}{name}:{position}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Examples are cut at a character boundary, and only the first few of a problem kept.
    #[test]
    fn examples_are_short_and_few() {
        let mut read = EventsRead {
            source: "web".into(),
            file: PathBuf::from("exports/web.jsonl"),
            ..EventsRead::default()
        };
        let long = format!("a{}", "é".repeat(50));
        read.skip(7, EventRowProblem::BadTime, &long);
        assert_eq!(read.examples[0].value, format!("a{}", "é".repeat(39)), "79 bytes, not 80");
        for line in 8..20 {
            read.skip(line, EventRowProblem::BadTime, "x");
        }
        read.skip(30, EventRowProblem::EmptyRecordId, "");
        assert_eq!(read.n_skipped(), 14);
        assert_eq!(read.examples.len(), SKIPPED_EXAMPLES + 1);
        let lines: Vec<u64> = read.examples.iter().map(|e| e.line).collect();
        assert_eq!(lines, [7, 8, 9, 30]);
        let text = read.to_string();
        assert!(
            text.starts_with(
                "web.jsonl (\"web\"): 0 rows, 0 events, 14 skipped\n  no record id: 1 (line 30: \"\")\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("é\", line 8: \"x\", line 9: \"x\")"), "{text}");
    }
}
