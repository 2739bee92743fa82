//! Reading the mapped files: [`MappedSource`], a [`RecordSource`] over every source's file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
#[cfg(feature = "serde_json")]
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::{part_name, InputFormat, Mapping, SourceMapping};
use super::error::MappingError;
use super::timestamp::parse_timestamp;
use crate::adapter::RecordSource;
use crate::ids::{KindId, SourceId};
use crate::input::record::{Attribute, RecordInput, Timestamp};
use crate::resolver::Resolver;

/// What was read from one source's file. Bad values are counted here, never fatal; values
/// that do not normalise are counted by the resolver's
/// [`IngestReport`](crate::IngestReport).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceReport {
    /// The source's name.
    pub source: String,
    /// Its file.
    pub file: PathBuf,
    /// Rows (CSV) or objects (JSON Lines) read.
    pub records_read: u64,
    /// Records with an empty or missing id (the resolver skips them).
    pub empty_ids: u64,
    /// Empty or missing key values by kind name: per cell for plain kinds, per record for a
    /// composite kind with any part empty (such a record has no key of the kind).
    pub empty_values: BTreeMap<String, u64>,
    /// `observed_at` values that did not parse (the record's attributes then carry no time).
    pub bad_timestamps: u64,
}

/// What was read, per source in mapping order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputReport {
    /// One report per mapped source.
    pub sources: Vec<SourceReport>,
}

impl InputReport {
    /// Records read from all files.
    pub fn records_read(&self) -> u64 {
        self.sources.iter().map(|s| s.records_read).sum()
    }
}

/// One cell of a JSON Lines row.
#[derive(Clone, Debug, Default)]
#[cfg_attr(not(feature = "serde_json"), allow(dead_code))]
enum Cell {
    #[default]
    Missing,
    One(String),
    /// A JSON array (allowed for key columns only).
    #[cfg_attr(not(feature = "serde_json"), allow(dead_code))]
    Many(Vec<String>),
}

/// How one source's row becomes a record; columns are indices into `columns`.
#[derive(Debug)]
struct Plan {
    source: SourceId,
    format: InputFormat,
    #[cfg_attr(not(feature = "csv"), allow(dead_code))]
    delimiter: u8,
    file: PathBuf,
    /// Distinct column names the source reads.
    columns: Vec<String>,
    /// The TOML key naming each column, for errors.
    #[cfg_attr(not(feature = "csv"), allow(dead_code))]
    column_keys: Vec<String>,
    id: usize,
    keys: Vec<(KindId, usize, Vec<usize>)>,
    /// Composite kinds: their columns and part attribute names.
    composites: Vec<CompositePlan>,
    /// Attribute names (shared: each record's attributes clone them, see
    /// [`Attribute::name`]) and their columns.
    attributes: Vec<(Arc<str>, usize)>,
    observed_at: Option<usize>,
    /// Kind names for `empty`.
    kind_names: Vec<String>,
    report: SourceReport,
    empty: Vec<u64>,
}

/// How a composite kind's columns become attributes.
#[derive(Debug)]
struct CompositePlan {
    /// Slot in `Plan::empty`.
    slot: usize,
    columns: Vec<usize>,
    /// The part attribute names, one per column (shared, as `Plan::attributes`).
    parts: Vec<Arc<str>>,
}

enum Reader {
    #[cfg(feature = "csv")]
    Csv {
        reader: csv::Reader<LineTracker>,
        record: csv::StringRecord,
        /// Header index of each plan column.
        index: Vec<usize>,
        header: Vec<String>,
    },
    #[cfg(feature = "serde_json")]
    Jsonl { reader: BufReader<File>, line: u64, buf: Vec<u8> },
}

/// A [`RecordSource`] over every file of a [`Mapping`], read in mapping order: each CSV row or
/// JSON Lines object becomes one [`RecordInput`].
///
/// [`Mapping::open`] checks before reading any row that every file opens, that its format's
/// feature is enabled and that every mapped column is in its CSV header. While reading,
/// malformed rows stop the source with a [`MappingError`] naming file, line and column; bad
/// values are counted in the [`InputReport`].
///
/// - **CSV** (feature `csv`): a header row; header names and fields are trimmed of
///   surrounding whitespace (`id, name` names the columns `id` and `name`); quoting as
///   RFC 4180; a UTF-8 byte-order mark is skipped; blank lines are skipped. A row with
///   another number of fields than the header is an error.
/// - **JSON Lines** (feature `serde_json`): one object per line, blank lines skipped. Values
///   may be strings, numbers (used as their JSON text) or booleans; `null` or a missing field
///   is no value; a key column may hold an array of such values, one key each.
///
/// Every value is trimmed; an empty value is no value. A record gets its keys from the key
/// columns, one attribute per composite part (named `KIND#0`, `KIND#1`, …, only when all parts
/// are non-empty) and per mapped attribute, each observed at the `observed_at` time if that
/// parses.
pub struct MappedSource {
    plans: Vec<Plan>,
    current: usize,
    reader: Option<Reader>,
    total: u64,
    /// The JSON Lines row being read.
    #[cfg_attr(not(feature = "serde_json"), allow(dead_code))]
    cells: Vec<Cell>,
}

impl std::fmt::Debug for MappedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedSource")
            .field("current", &self.current)
            .field("total", &self.total)
            .field("report", &self.report())
            .finish_non_exhaustive()
    }
}

impl Mapping {
    /// Opens every source's file for reading, checking first that each exists, that its
    /// format can be read and that its header holds every mapped column. `resolver` must have
    /// the mapping's kinds and sources ([`Mapping::resolver_builder`],
    /// [`Mapping::register_sources`]).
    ///
    /// The record total reported for progress bars is counted from the files' non-blank lines
    /// (less one header line for CSV), so a CSV file with line breaks inside quoted fields
    /// makes it an over-estimate.
    ///
    /// # Errors
    /// [`MappingError::Config`] if the resolver lacks a source or kind;
    /// [`MappingError::FeatureDisabled`], [`MappingError::OpenInput`],
    /// [`MappingError::ReadInput`], [`MappingError::MissingColumn`],
    /// [`MappingError::DuplicateColumn`] or [`MappingError::InvalidUtf8`] for a CSV header.
    pub fn open(&self, resolver: &Resolver) -> Result<MappedSource, MappingError> {
        let mut plans = Vec::with_capacity(self.sources().len());
        let mut total = 0u64;
        for s in self.sources() {
            let plan = self.plan(s, resolver)?;
            check_feature(&plan)?;
            let lines = count_lines(&plan.file)?;
            total += match plan.format {
                InputFormat::Csv => lines.saturating_sub(1),
                InputFormat::JsonLines => lines,
            };
            if plan.format == InputFormat::Csv {
                // Read the header now so that a missing column fails before any row is read.
                open_reader(&plan)?;
            }
            plans.push(plan);
        }
        Ok(MappedSource { plans, current: 0, reader: None, total, cells: Vec::new() })
    }

    fn plan(&self, s: &SourceMapping, resolver: &Resolver) -> Result<Plan, MappingError> {
        let config = |error| MappingError::Config { file: self.file().to_path_buf(), error };
        let source = resolver
            .source_id(&s.name)
            .ok_or_else(|| config(crate::ConfigError::UnknownSource(s.name.clone())))?;
        let kind = |name: &str| {
            resolver
                .kind_id(name)
                .ok_or_else(|| config(crate::ConfigError::UnknownKind(name.to_string())))
        };
        let (columns, column_keys): (Vec<String>, Vec<String>) = s.columns().into_iter().unzip();
        let col = |name: &str| columns.iter().position(|c| c == name).unwrap_or(0);
        let mut kind_names = Vec::new();
        let mut keys = Vec::with_capacity(s.keys.len());
        for (name, cols) in &s.keys {
            keys.push((kind(name)?, kind_names.len(), cols.iter().map(|c| col(c)).collect()));
            kind_names.push(name.clone());
        }
        let mut composites = Vec::with_capacity(s.composite.len());
        for (name, cols) in &s.composite {
            // Checked here, so that an unknown kind is a configuration error.
            kind(name)?;
            composites.push(CompositePlan {
                slot: kind_names.len(),
                columns: cols.iter().map(|c| col(c)).collect(),
                parts: (0..cols.len()).map(|i| Arc::from(part_name(name, i))).collect(),
            });
            kind_names.push(name.clone());
        }
        let attributes =
            s.attributes.iter().map(|(name, c)| (Arc::from(name.as_str()), col(c))).collect();
        let n_kinds = kind_names.len();
        Ok(Plan {
            source,
            format: s.format,
            delimiter: s.delimiter,
            file: s.path.clone(),
            id: col(&s.id),
            keys,
            composites,
            attributes,
            observed_at: s.observed_at.as_deref().map(col),
            columns,
            column_keys,
            kind_names,
            report: SourceReport {
                source: s.name.clone(),
                file: s.path.clone(),
                ..SourceReport::default()
            },
            empty: vec![0; n_kinds],
        })
    }
}

fn check_feature(plan: &Plan) -> Result<(), MappingError> {
    let feature = match plan.format {
        InputFormat::Csv if cfg!(not(feature = "csv")) => "csv",
        InputFormat::JsonLines if cfg!(not(feature = "serde_json")) => "serde_json",
        _ => return Ok(()),
    };
    Err(MappingError::FeatureDisabled { file: plan.file.clone(), feature })
}

fn open_file(file: &Path) -> Result<File, MappingError> {
    File::open(file).map_err(|error| MappingError::OpenInput { file: file.to_path_buf(), error })
}

/// Non-blank lines of a file.
fn count_lines(file: &Path) -> Result<u64, MappingError> {
    let mut reader = open_file(file)?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut lines, mut blank, mut read_lines) = (0u64, true, 0u64);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(MappingError::ReadInput {
                    file: file.to_path_buf(),
                    line: read_lines + 1,
                    error,
                })
            }
        };
        for &b in buf.get(..n).unwrap_or_default() {
            if b == b'\n' {
                read_lines += 1;
                if !blank {
                    lines += 1;
                }
                blank = true;
            } else if !b.is_ascii_whitespace() {
                blank = false;
            }
        }
    }
    Ok(lines + u64::from(!blank))
}

/// Opens a plan's file; for CSV reads and checks the header.
fn open_reader(plan: &Plan) -> Result<Reader, MappingError> {
    let file = open_file(&plan.file)?;
    match plan.format {
        #[cfg(feature = "csv")]
        InputFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(plan.delimiter)
                .trim(csv::Trim::All)
                // Row lengths are checked here, so that blank lines can be told apart.
                .flexible(true)
                .has_headers(true)
                .from_reader(LineTracker::new(file));
            let header: Vec<String> = reader
                .headers()
                .map_err(|e| csv_error(&plan.file, e, &[], 1))?
                .iter()
                .map(str::to_string)
                .collect();
            let mut index = Vec::with_capacity(plan.columns.len());
            for (column, key) in plan.columns.iter().zip(&plan.column_keys) {
                let mut found = header.iter().enumerate().filter(|(_, h)| *h == column);
                match (found.next(), found.next()) {
                    (Some((i, _)), None) => index.push(i),
                    (Some(_), Some(_)) => {
                        return Err(MappingError::DuplicateColumn {
                            file: plan.file.clone(),
                            column: column.clone(),
                        })
                    }
                    (None, _) => {
                        return Err(MappingError::MissingColumn {
                            file: plan.file.clone(),
                            column: column.clone(),
                            source_name: plan.report.source.clone(),
                            key: key.clone(),
                            header: header.into_boxed_slice(),
                        })
                    }
                }
            }
            Ok(Reader::Csv { reader, record: csv::StringRecord::new(), index, header })
        }
        #[cfg(feature = "serde_json")]
        InputFormat::JsonLines => {
            Ok(Reader::Jsonl { reader: BufReader::new(file), line: 0, buf: Vec::new() })
        }
        #[allow(unreachable_patterns)]
        _ => {
            drop(file);
            check_feature(plan)?;
            Err(MappingError::FeatureDisabled { file: plan.file.clone(), feature: "csv" })
        }
    }
}

#[cfg(feature = "csv")]
fn csv_error(file: &Path, error: csv::Error, header: &[String], line: u64) -> MappingError {
    let file = file.to_path_buf();
    let message = error.to_string();
    match error.into_kind() {
        csv::ErrorKind::Io(error) => MappingError::ReadInput { file, line, error },
        csv::ErrorKind::Utf8 { err, .. } => MappingError::InvalidUtf8 {
            file,
            line,
            column: header
                .get(err.field())
                .cloned()
                .unwrap_or_else(|| format!("#{}", err.field() + 1)),
        },
        // Rows of another length are checked by the caller (the reader is flexible), and
        // reading text records fails in no other way; should a csv version add one, it is
        // still a read error of this file.
        _ => MappingError::ReadInput {
            file,
            line,
            error: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
        },
    }
}

/// The file under a CSV reader, keeping the bytes the reader has taken but not yet passed as
/// records, to give every record its true line: the CSV reader's own line numbers are off
/// after blank lines and in CRLF files.
#[cfg(feature = "csv")]
struct LineTracker {
    file: File,
    /// Bytes read from `base` on.
    pending: std::collections::VecDeque<u8>,
    base: u64,
    /// Line feeds before `base`.
    lines: u64,
}

#[cfg(feature = "csv")]
impl LineTracker {
    fn new(file: File) -> Self {
        LineTracker { file, pending: std::collections::VecDeque::new(), base: 0, lines: 0 }
    }

    /// The line (from 1) of the first byte at or after `offset` that ends no line: where a
    /// record the CSV reader says starts at `offset` really starts. Offsets must not decrease.
    fn line_of(&mut self, offset: u64) -> u64 {
        let passed = usize::try_from(offset.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.pending.len());
        let (front, back) = self.pending.as_slices();
        let in_front = passed.min(front.len());
        let line_feeds = |bytes: Option<&[u8]>| {
            bytes.unwrap_or_default().iter().filter(|&&b| b == b'\n').count() as u64
        };
        self.lines += line_feeds(front.get(..in_front)) + line_feeds(back.get(..passed - in_front));
        self.pending.drain(..passed);
        self.base += passed as u64;
        let blank = self
            .pending
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.lines + blank + 1
    }
}

#[cfg(feature = "csv")]
impl Read for LineTracker {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.pending.extend(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// Reads one JSON Lines line into `cells`, one per column.
#[cfg(feature = "serde_json")]
fn json_row(
    file: &Path,
    line: u64,
    text: &[u8],
    columns: &[String],
    cells: &mut [Cell],
) -> Result<(), MappingError> {
    use serde_json::Value;

    let value: Value = serde_json::from_slice(text).map_err(|e| MappingError::InvalidJson {
        file: file.to_path_buf(),
        line,
        column: e.column() as u64,
        // The position within the line is in the error's fields already.
        message: {
            let message = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            message.strip_suffix(&suffix).map_or(message.clone(), str::to_string)
        },
    })?;
    let Value::Object(object) = value else {
        return Err(MappingError::NotAnObject {
            file: file.to_path_buf(),
            line,
            found: kind_of(&value),
        });
    };
    let unexpected = |field: &str, found, expected| MappingError::UnexpectedValue {
        file: file.to_path_buf(),
        line,
        field: field.to_string(),
        found,
        expected,
    };
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    for (cell, column) in cells.iter_mut().zip(columns) {
        *cell = match object.get(column) {
            None | Some(Value::Null) => Cell::Missing,
            Some(Value::Array(values)) => {
                let mut out = Vec::with_capacity(values.len());
                for v in values {
                    match v {
                        // Counted as an empty value, like a null field.
                        Value::Null => out.push(String::new()),
                        other => out.push(scalar(other).ok_or_else(|| {
                            unexpected(
                                column,
                                kind_of(other),
                                "strings, numbers or booleans in an array",
                            )
                        })?),
                    }
                }
                Cell::Many(out)
            }
            Some(v) => Cell::One(scalar(v).ok_or_else(|| {
                unexpected(column, kind_of(v), "a string, a number, a boolean, null or an array")
            })?),
        };
    }
    Ok(())
}

#[cfg(feature = "serde_json")]
fn kind_of(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl MappedSource {
    /// What has been read so far, per source.
    pub fn report(&self) -> InputReport {
        InputReport {
            sources: self
                .plans
                .iter()
                .map(|p| {
                    let mut report = p.report.clone();
                    for (name, &n) in p.kind_names.iter().zip(&p.empty) {
                        if n > 0 {
                            *report.empty_values.entry(name.clone()).or_default() += n;
                        }
                    }
                    report
                })
                .collect(),
        }
    }

    /// Reads the next row of the current file (a CSV reader keeps it in its record, a JSON
    /// Lines row goes to `self.cells`); `Ok(None)` at the end of the file, else the row's line.
    #[cfg_attr(not(any(feature = "csv", feature = "serde_json")), allow(unused_variables))]
    fn next_row(&mut self) -> Result<Option<u64>, MappingError> {
        let Some(plan) = self.plans.get(self.current) else { return Ok(None) };
        match self.reader.as_mut() {
            None => Ok(None),
            #[cfg(not(any(feature = "csv", feature = "serde_json")))]
            Some(reader) => match *reader {},
            #[cfg(feature = "csv")]
            Some(Reader::Csv { reader, record, header, .. }) => loop {
                match reader.read_record(record) {
                    Ok(false) => return Ok(None),
                    Ok(true) => {
                        let byte = record.position().map_or(0, csv::Position::byte);
                        let line = reader.get_mut().line_of(byte);
                        if record.len() == header.len() {
                            return Ok(Some(line));
                        }
                        // A line of only whitespace reads as one empty field: skip it.
                        if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
                            continue;
                        }
                        return Err(MappingError::FieldCount {
                            file: plan.file.clone(),
                            line,
                            expected: header.len() as u64,
                            found: record.len() as u64,
                        });
                    }
                    Err(e) => {
                        let byte = e.position().map_or(0, csv::Position::byte);
                        let line = reader.get_mut().line_of(byte);
                        return Err(csv_error(&plan.file, e, header, line));
                    }
                }
            },
            #[cfg(feature = "serde_json")]
            Some(Reader::Jsonl { reader, line, buf }) => {
                loop {
                    buf.clear();
                    *line += 1;
                    let n = reader.read_until(b'\n', buf).map_err(|error| {
                        MappingError::ReadInput { file: plan.file.clone(), line: *line, error }
                    })?;
                    if n == 0 {
                        return Ok(None);
                    }
                    let mut text: &[u8] = buf;
                    if *line == 1 {
                        text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
                    }
                    if text.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    self.cells.clear();
                    self.cells.resize(plan.columns.len(), Cell::Missing);
                    json_row(&plan.file, *line, text, &plan.columns, &mut self.cells)?;
                    return Ok(Some(*line));
                }
            }
        }
    }

    /// The record of the row just read.
    #[cfg_attr(not(any(feature = "csv", feature = "serde_json")), allow(unused_variables))]
    fn record(&mut self, line: u64) -> Result<Option<RecordInput>, MappingError> {
        let Some(plan) = self.plans.get_mut(self.current) else { return Ok(None) };
        match &self.reader {
            None => Ok(None),
            #[cfg(not(any(feature = "csv", feature = "serde_json")))]
            Some(reader) => match *reader {},
            #[cfg(feature = "csv")]
            Some(Reader::Csv { record, index, .. }) => build(plan, line, |col| {
                index.get(col).and_then(|&i| record.get(i)).map_or(CellRef::Missing, CellRef::One)
            })
            .map(Some),
            #[cfg(feature = "serde_json")]
            Some(Reader::Jsonl { .. }) => {
                let cells = &self.cells;
                build(plan, line, |col| match cells.get(col) {
                    Some(Cell::One(v)) => CellRef::One(v),
                    Some(Cell::Many(v)) => CellRef::Many(v),
                    _ => CellRef::Missing,
                })
                .map(Some)
            }
        }
    }
}

/// A cell of the row being turned into a record.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "serde_json"), allow(dead_code))]
enum CellRef<'a> {
    Missing,
    One(&'a str),
    Many(&'a [String]),
}

/// The record of one row whose cells (by plan column) `cell` gives, counting bad values in
/// the plan's report.
#[cfg_attr(not(any(feature = "csv", feature = "serde_json")), allow(dead_code))]
fn build<'a>(
    plan: &mut Plan,
    line: u64,
    cell: impl Fn(usize) -> CellRef<'a>,
) -> Result<RecordInput, MappingError> {
    plan.report.records_read += 1;
    let file = &plan.file;
    let columns = &plan.columns;
    let single = |col: usize| -> Result<Option<&'a str>, MappingError> {
        match cell(col) {
            CellRef::One(v) => Ok(Some(v.trim()).filter(|v| !v.is_empty())),
            CellRef::Many(_) => Err(MappingError::UnexpectedValue {
                file: file.clone(),
                line,
                field: columns.get(col).cloned().unwrap_or_default(),
                found: "an array",
                expected: "one value (arrays are allowed for keys only)",
            }),
            CellRef::Missing => Ok(None),
        }
    };
    let id = single(plan.id)?;
    if id.is_none() {
        plan.report.empty_ids += 1;
    }
    let mut record = RecordInput::new(plan.source, id.unwrap_or_default());
    let observed_at: Option<Timestamp> = match plan.observed_at {
        None => None,
        Some(col) => match single(col)? {
            None => None,
            Some(text) => {
                let parsed = parse_timestamp(text);
                if parsed.is_none() {
                    plan.report.bad_timestamps += 1;
                }
                parsed
            }
        },
    };
    for (kind, slot, cols) in &plan.keys {
        let mut empty = 0;
        for &col in cols {
            match cell(col) {
                CellRef::One(v) if !v.trim().is_empty() => {
                    record.keys.push((*kind, v.trim().to_string()))
                }
                CellRef::Many(values) => {
                    for v in values {
                        if v.trim().is_empty() {
                            empty += 1;
                        } else {
                            record.keys.push((*kind, v.trim().to_string()));
                        }
                    }
                }
                _ => empty += 1,
            }
        }
        if let Some(n) = plan.empty.get_mut(*slot) {
            *n += empty;
        }
    }
    let attribute = |name: &Arc<str>, value: &str| Attribute {
        name: Arc::clone(name),
        value: value.to_string(),
        observed_at,
    };
    let mut values = Vec::new();
    for CompositePlan { slot, columns, parts, .. } in &plan.composites {
        values.clear();
        for &col in columns {
            values.push(single(col)?);
        }
        if values.iter().all(Option::is_some) {
            for (part, value) in parts.iter().zip(values.iter().flatten()) {
                record.attributes.push(attribute(part, value));
            }
        } else if let Some(n) = plan.empty.get_mut(*slot) {
            *n += 1;
        }
    }
    for (name, col) in &plan.attributes {
        if let Some(value) = single(*col)? {
            record.attributes.push(attribute(name, value));
        }
    }
    Ok(record)
}

impl RecordSource for MappedSource {
    type Error = MappingError;

    fn next_batch(
        &mut self,
        batch: &mut Vec<RecordInput>,
        max: usize,
    ) -> Result<bool, MappingError> {
        let max = max.max(1);
        while batch.len() < max && self.current < self.plans.len() {
            if self.reader.is_none() {
                if let Some(plan) = self.plans.get(self.current) {
                    self.reader = Some(open_reader(plan)?);
                }
            }
            match self.next_row()? {
                Some(line) => batch.extend(self.record(line)?),
                None => {
                    self.reader = None;
                    self.current += 1;
                }
            }
        }
        Ok(!batch.is_empty())
    }

    fn total(&self) -> Option<u64> {
        Some(self.total)
    }
}
