//! Reading an `[[events]]` section's file: [`EventsMapping::read`] streams its rows into
//! [`EventInput`]s, chunk by chunk, without an allocation per row (see `cells.rs`),
//! and counts the rows whose values make no event in an [`EventsRead`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::bad_rows::BadRows;
use super::cells::{read_chunks, set_str, set_text};
use super::config::{EventKindFrom, EventsMapping};
use super::error::MappingError;
use super::reader::{Layout, Owner};
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
    /// A message of a mailbox source (`format = "mbox"`) in which no header could be read.
    Unparseable,
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
            EventRowProblem::Unparseable => "does not parse",
        }
    }
}

impl fmt::Display for EventRowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A row that made nothing, kept as an example for messages: a row of an events file
/// ([`EventRowProblem`]), or of a consent or contacts file
/// ([`TouchRowProblem`](super::TouchRowProblem)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedRow<P = EventRowProblem> {
    /// The row's line in the file, from 1.
    pub line: u64,
    /// Why it made nothing.
    pub problem: P,
    /// The offending cell, trimmed and cut to 80 bytes; empty for an empty or missing one.
    pub value: String,
}

/// Counts a skipped row under its problem, keeping it as an example if it is among the first
/// [`SKIPPED_EXAMPLES`] of that problem.
pub(super) fn note_skip<P: Copy + Ord>(
    skipped: &mut BTreeMap<P, u64>,
    examples: &mut Vec<SkippedRow<P>>,
    line: u64,
    problem: P,
    value: &str,
) {
    let n = skipped.entry(problem).or_default();
    *n += 1;
    if *n <= SKIPPED_EXAMPLES as u64 {
        let mut end = value.len().min(EXAMPLE_BYTES);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        let value = value.get(..end).unwrap_or_default().to_string();
        examples.push(SkippedRow { line, problem, value });
    }
}

/// Writes one line per problem: its count and examples (`\n  unknown event kind: 1 (line 3:
/// "webniar")`).
pub(super) fn write_skips<P: Copy + Ord + fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    skipped: &BTreeMap<P, u64>,
    examples: &[SkippedRow<P>],
) -> fmt::Result {
    for (problem, n) in skipped {
        write!(f, "\n  {problem}: {n}")?;
        let mut examples = examples.iter().filter(|e| e.problem == *problem).peekable();
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

/// Writes the malformed rows left out, if any, on a line of their own
/// (`\n  bad rows skipped: 1 — ragged row (…): 1 (line 4)`).
pub(super) fn write_bad_rows(f: &mut fmt::Formatter<'_>, bad: &BadRows) -> fmt::Result {
    if bad.is_empty() {
        return Ok(());
    }
    write!(f, "\n  bad rows skipped: {} — {bad}", bad.total())
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
    /// Events handed on: rows less the skipped ones (for a mailbox source, whose rows are
    /// messages, one per correspondent of each message that makes events).
    pub events: u64,
    /// Rows that made no event, by problem (each row counts once, for its first problem in
    /// the order record, kind, time, value).
    pub skipped: BTreeMap<EventRowProblem, u64>,
    /// The first [`SKIPPED_EXAMPLES`] skipped rows of each problem, in file order.
    pub examples: Vec<SkippedRow>,
    /// Malformed rows left out by `on_bad_row = "skip"` (not counted in `rows`).
    pub bad_rows: BadRows,
}

impl EventsRead {
    /// Rows that made no event.
    pub fn n_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }

    pub(super) fn skip(&mut self, line: u64, problem: EventRowProblem, value: &str) {
        note_skip(&mut self.skipped, &mut self.examples, line, problem, value);
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
        write_skips(f, &self.skipped, &self.examples)?;
        write_bad_rows(f, &self.bad_rows)
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

/// The values of one good row, borrowed from the reader (a section's row, or a mailbox's
/// message or a GA4 export's row).
pub(super) struct Fields<'a> {
    pub(super) record: &'a str,
    pub(super) kind: EventKind,
    pub(super) at: Timestamp,
    pub(super) topic: Option<&'a str>,
    pub(super) value: f64,
    pub(super) channel: Option<&'a str>,
    pub(super) id: Option<&'a str>,
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

/// Writes a row's event into `slot`, reusing its strings.
pub(super) fn fill(slot: &mut EventInput, source: SourceId, fields: &Fields<'_>) {
    slot.source = source;
    set_str(&mut slot.external_id, fields.record);
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
        let owner = Owner::Events { number: self.number, source: self.source.clone() };
        self.input.layout(owner, self.columns())
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
    /// [`InvalidUtf8`](MappingError::InvalidUtf8),
    /// [`UnterminatedQuote`](MappingError::UnterminatedQuote),
    /// [`InvalidJson`](MappingError::InvalidJson),
    /// [`NotAnObject`](MappingError::NotAnObject) or
    /// [`UnexpectedValue`](MappingError::UnexpectedValue) (a JSON array or object in a mapped
    /// field; a JSON number beyond `f64`'s range is invalid JSON to the parser, unlike the
    /// text `"1e999"`, which is a row with a value that is not finite), unless the section's
    /// `on_bad_row` is `"skip"`: such rows are then counted in [`EventsRead::bad_rows`]. Chunks
    /// handed to `f` before an error stay handed.
    pub fn read<E: From<MappingError>>(
        &self,
        source: SourceId,
        kinds: &EventKinds,
        chunk: usize,
        f: impl FnMut(&[EventInput]) -> Result<(), E>,
    ) -> Result<EventsRead, E> {
        let layout = self.layout();
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
        let mut bad_rows = BadRows::default();
        let mut report = EventsRead {
            source: self.source.clone(),
            file: self.input.path.clone(),
            ..EventsRead::default()
        };
        let (rows, events) = read_chunks(
            &layout,
            &mut bad_rows,
            chunk,
            || EventInput::new(source, String::new(), EventKind::from_raw(0), Timestamp(0)),
            |slot, cell| {
                let fields = plan.fields(kinds, cell)?;
                fill(slot, source, &fields);
                Ok(())
            },
            |line, problem, text| {
                let text = match (&plan.kind, problem) {
                    (KindPlan::Fixed(_, name), EventRowProblem::UnknownKind) => name,
                    _ => text,
                };
                report.skip(line, problem, text);
            },
            f,
        )?;
        (report.rows, report.events, report.bad_rows) = (rows, events, bad_rows);
        Ok(report)
    }
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
