//! How a mapped file is read: opening it and estimating its rows, and the CSV and JSON Lines
//! readers that yield its rows, each with its true line, for errors that name it.

use std::fs::File;
use std::io::Read;
#[cfg(feature = "serde_json")]
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::bad_rows::OnBadRow;
use super::config::{InputFormat, TouchTable};
use super::decode::FileEncoding;
#[cfg(feature = "csv")]
use super::decode::Input;
use super::error::MappingError;
use super::sql::DatabaseQuery;

/// What a reader needs to know of a mapped file: where it is, how it is written, the columns
/// to find in it and whose mapping names them (for errors).
#[derive(Clone, Debug)]
pub(super) struct Layout {
    pub(super) file: PathBuf,
    pub(super) format: InputFormat,
    #[cfg_attr(not(feature = "csv"), allow(dead_code))]
    pub(super) delimiter: u8,
    /// The file's text encoding (JSON Lines files are UTF-8).
    #[cfg_attr(not(feature = "csv"), allow(dead_code))]
    pub(super) encoding: FileEncoding,
    /// What a malformed row does.
    pub(super) on_bad_row: OnBadRow,
    /// Distinct column names the mapping reads.
    pub(super) columns: Vec<String>,
    /// The TOML key naming each column, for errors.
    #[cfg_attr(not(feature = "csv"), allow(dead_code))]
    pub(super) column_keys: Vec<String>,
    #[cfg_attr(not(feature = "csv"), allow(dead_code))]
    pub(super) owner: Owner,
    /// A database section's database and query (its `format` is [`InputFormat::Sql`]).
    pub(super) database: Option<DatabaseQuery>,
}

/// The table of the mapping file that maps a file.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "csv"), allow(dead_code))]
pub(super) enum Owner {
    /// A `[[source]]` table, by name.
    Source(String),
    /// An `[[events]]` table, by place (from 1) and the source of its events.
    Events { number: usize, source: String },
    /// A `[[consent]]` or `[[contacts]]` table, by place among its kind (from 1) and the
    /// source of its rows.
    Touch { table: TouchTable, number: usize, source: String },
}

/// One cell of a JSON Lines row.
#[derive(Clone, Debug, Default)]
#[cfg_attr(not(feature = "serde_json"), allow(dead_code))]
pub(super) enum Cell {
    #[default]
    Missing,
    One(String),
    /// A JSON array (allowed for key columns only).
    #[cfg_attr(not(feature = "serde_json"), allow(dead_code))]
    Many(Vec<String>),
}

/// An open file of one source, positioned at its next row.
pub(super) enum Reader {
    #[cfg(feature = "csv")]
    Csv {
        reader: csv::Reader<LineTracker>,
        record: csv::StringRecord,
        /// Header index of each mapped column.
        index: Vec<usize>,
        header: Vec<String>,
    },
    /// A JSON Lines file; `buf` holds the current row's line (without a byte-order mark).
    #[cfg(feature = "serde_json")]
    Jsonl {
        reader: BufReader<File>,
        line: u64,
        buf: Vec<u8>,
        /// The row's texts while it is parsed (kept: a row allocates nothing).
        texts: Vec<String>,
    },
    /// A database section's rows (see `sql.rs`); the row number stands for the line.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    Sql(super::sql::Rows),
}

impl Reader {
    /// Reads the next row (a CSV reader keeps it in its record, a JSON Lines row goes to
    /// `cells`); `Ok(None)` at the end of the file, else the row's line.
    #[cfg_attr(not(feature = "serde_json"), allow(unused_variables, clippy::ptr_arg))]
    pub(super) fn next_row(
        &mut self,
        layout: &Layout,
        cells: &mut Vec<Cell>,
    ) -> Result<Option<u64>, MappingError> {
        let Some(line) = self.advance(layout)? else { return Ok(None) };
        match self {
            #[cfg(feature = "serde_json")]
            Reader::Jsonl { buf, texts, .. } => {
                // Most rows hold no array: parsed straight into text cells, which allocate
                // nothing once grown (an empty text reads as a missing value). A row the
                // streaming reader refuses (an array of keys, or no JSON) is read again by
                // the general reader, which takes arrays and names what is wrong.
                let n = layout.columns.len();
                cells.resize_with(n, || Cell::One(String::new()));
                texts.clear();
                texts.extend(cells.iter_mut().map(|c| match c {
                    Cell::One(text) => std::mem::take(text),
                    _ => String::new(),
                }));
                match super::cells::json::cells(layout, line, buf, texts) {
                    Ok(()) => {
                        for (cell, text) in cells.iter_mut().zip(texts.drain(..)) {
                            *cell = Cell::One(text);
                        }
                    }
                    Err(_) => {
                        cells.clear();
                        cells.resize(n, Cell::Missing);
                        json_row(&layout.file, line, buf, &layout.columns, cells)?;
                    }
                }
            }
            // A CSV reader holds the row in its record.
            #[allow(unreachable_patterns)]
            _ => {}
        }
        Ok(Some(line))
    }

    /// Moves to the next row that is not blank: a CSV reader keeps it in its record, a JSON
    /// Lines reader its line in `buf`, unparsed. `Ok(None)` at the end of the file, else the
    /// row's line.
    // Only the file readers use the layout.
    #[cfg_attr(not(any(feature = "csv", feature = "serde_json")), allow(unused_variables))]
    pub(super) fn advance(&mut self, layout: &Layout) -> Result<Option<u64>, MappingError> {
        match self {
            #[cfg(not(any(
                feature = "csv",
                feature = "serde_json",
                feature = "sqlite",
                feature = "postgres"
            )))]
            reader => match *reader {},
            #[cfg(feature = "csv")]
            Reader::Csv { reader, record, header, .. } => loop {
                match reader.read_record(record) {
                    Ok(false) => return Ok(None),
                    Ok(true) => {
                        let byte = record.position().map_or(0, csv::Position::byte);
                        let tracker = reader.get_mut();
                        let line = tracker.line_of(byte);
                        // Only a row that ended at the end of the file can hold an open
                        // quote: one left open swallows the rest of the file.
                        if tracker.eof && tracker.quote_left_open(layout.delimiter) {
                            return Err(MappingError::UnterminatedQuote {
                                file: layout.file.clone(),
                                line,
                            });
                        }
                        if record.len() == header.len() {
                            return Ok(Some(line));
                        }
                        // A line of only whitespace reads as one blank field: skip it.
                        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
                            continue;
                        }
                        return Err(MappingError::FieldCount {
                            file: layout.file.clone(),
                            line,
                            expected: header.len() as u64,
                            found: record.len() as u64,
                        });
                    }
                    Err(e) => {
                        let byte = e.position().map_or(0, csv::Position::byte);
                        let line = reader.get_mut().line_of(byte);
                        return Err(csv_error(&layout.file, e, header, line));
                    }
                }
            },
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            Reader::Sql(rows) => rows.advance(),
            #[cfg(feature = "serde_json")]
            Reader::Jsonl { reader, line, buf, .. } => {
                loop {
                    buf.clear();
                    *line += 1;
                    let n = reader.read_until(b'\n', buf).map_err(|error| {
                        MappingError::ReadInput { file: layout.file.clone(), line: *line, error }
                    })?;
                    if n == 0 {
                        return Ok(None);
                    }
                    if *line == 1 && buf.starts_with(b"\xef\xbb\xbf") {
                        buf.drain(..3);
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Ok(Some(*line));
                }
            }
        }
    }
}

/// An error if the layout's format needs a feature that is not enabled.
pub(super) fn check_feature(layout: &Layout) -> Result<(), MappingError> {
    let feature = match layout.format {
        InputFormat::Csv if cfg!(not(feature = "csv")) => "csv",
        InputFormat::JsonLines if cfg!(not(feature = "serde_json")) => "serde_json",
        InputFormat::Sql => match &layout.database {
            Some(db) if db.database.enabled() => return Ok(()),
            Some(db) => db.database.feature(),
            None => return Ok(()),
        },
        _ => return Ok(()),
    };
    Err(MappingError::FeatureDisabled { file: layout.file.clone(), feature })
}

fn open_file(file: &Path) -> Result<File, MappingError> {
    File::open(file).map_err(|error| MappingError::OpenInput { file: file.to_path_buf(), error })
}

/// Bytes of a file [`estimate_lines`] reads at most.
const LINE_SAMPLE: usize = 1 << 20;

/// Non-blank lines of a file: counted exactly in a file of at most [`LINE_SAMPLE`] bytes,
/// estimated in a larger one from its size and the lines of its first [`LINE_SAMPLE`] bytes,
/// so that a large file is read once, by its reader, not twice.
pub(super) fn estimate_lines(file: &Path) -> Result<u64, MappingError> {
    let mut reader = open_file(file)?;
    let mut buf = vec![0u8; LINE_SAMPLE];
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                let lines_read = buf.get(..filled).unwrap_or_default();
                let line = lines_read.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                return Err(MappingError::ReadInput { file: file.to_path_buf(), line, error });
            }
        }
    }
    let sample = buf.get(..filled).unwrap_or_default();
    let (mut lines, mut blank) = (0u64, true);
    for &b in sample {
        if b == b'\n' {
            if !blank {
                lines += 1;
            }
            blank = true;
        } else if !b.is_ascii_whitespace() {
            blank = false;
        }
    }
    if filled < LINE_SAMPLE {
        return Ok(lines + u64::from(!blank));
    }
    // The sample's complete lines stand for the rest of the file.
    let size = reader.metadata().map_or(filled as u64, |m| m.len());
    let sampled = sample.iter().rposition(|&b| b == b'\n').map_or(filled, |i| i + 1) as u64;
    Ok((lines as f64 * size as f64 / sampled as f64).round() as u64)
}

/// Opens a mapped file; for CSV reads and checks the header.
pub(super) fn open_reader(layout: &Layout) -> Result<Reader, MappingError> {
    if let Some(db) = &layout.database {
        check_feature(layout)?;
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        return super::sql::open(layout, db).map(Reader::Sql);
        #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
        return Err(MappingError::FeatureDisabled {
            file: layout.file.clone(),
            feature: db.database.feature(),
        });
    }
    let file = open_file(&layout.file)?;
    match layout.format {
        #[cfg(feature = "csv")]
        InputFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(layout.delimiter)
                // Fields are trimmed where they are read: the csv crate trims a record by
                // building a new one, an allocation per row.
                .trim(csv::Trim::Headers)
                // Row lengths are checked here, so that blank lines can be told apart.
                .flexible(true)
                .has_headers(true)
                .from_reader(LineTracker::new(Input::new(file, layout.encoding)));
            let header: Vec<String> = reader
                .headers()
                .map_err(|e| csv_error(&layout.file, e, &[], 1))?
                .iter()
                .map(str::to_string)
                .collect();
            let mut index = Vec::with_capacity(layout.columns.len());
            for (column, key) in layout.columns.iter().zip(&layout.column_keys) {
                let mut found = header.iter().enumerate().filter(|(_, h)| *h == column);
                match (found.next(), found.next()) {
                    (Some((i, _)), None) => index.push(i),
                    (Some(_), Some(_)) => {
                        return Err(MappingError::DuplicateColumn {
                            file: layout.file.clone(),
                            column: column.clone(),
                        })
                    }
                    (None, _) => {
                        let (file, column, key) =
                            (layout.file.clone(), column.clone(), key.clone());
                        let header = header.into_boxed_slice();
                        return Err(match &layout.owner {
                            Owner::Source(source_name) => MappingError::MissingColumn {
                                file,
                                column,
                                source_name: source_name.clone(),
                                key,
                                header,
                            },
                            Owner::Events { number, source } => MappingError::MissingEventColumn {
                                file,
                                column,
                                events: *number,
                                source_name: source.clone(),
                                key,
                                header,
                            },
                            Owner::Touch { table: TouchTable::Consent, number, source } => {
                                MappingError::MissingConsentColumn {
                                    file,
                                    column,
                                    consent: *number,
                                    source_name: source.clone(),
                                    key: touch_key(&key),
                                    header,
                                }
                            }
                            Owner::Touch { table: TouchTable::Contacts, number, source } => {
                                MappingError::MissingContactsColumn {
                                    file,
                                    column,
                                    contacts: *number,
                                    source_name: source.clone(),
                                    key: touch_key(&key),
                                    header,
                                }
                            }
                        });
                    }
                }
            }
            Ok(Reader::Csv { reader, record: csv::StringRecord::new(), index, header })
        }
        #[cfg(feature = "serde_json")]
        InputFormat::JsonLines => Ok(Reader::Jsonl {
            reader: BufReader::new(file),
            line: 0,
            buf: Vec::new(),
            texts: Vec::new(),
        }),
        #[allow(unreachable_patterns)]
        _ => {
            drop(file);
            check_feature(layout)?;
            Err(MappingError::FeatureDisabled { file: layout.file.clone(), feature: "csv" })
        }
    }
}

/// A consent or contacts table's key as the static name it is (those tables' keys are fixed,
/// which keeps their errors small).
#[cfg(feature = "csv")]
fn touch_key(key: &str) -> &'static str {
    const KEYS: [&str; 7] =
        ["record", "channel", "status", "at", "campaign", "transactional", "id"];
    KEYS.into_iter().find(|k| *k == key).unwrap_or("?")
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
///
/// A file in a legacy encoding is decoded beneath it, so offsets and bytes are those of the
/// UTF-8 text the CSV reader sees (line breaks are where the file has them).
#[cfg(feature = "csv")]
pub(super) struct LineTracker {
    file: Input<File>,
    /// Bytes read from `base` on, from `pending[start]`: the bytes before `start` are
    /// passed, and dropped when they are most of the buffer (one move instead of one per
    /// record).
    pending: Vec<u8>,
    start: usize,
    base: u64,
    /// Line feeds before `base`.
    lines: u64,
    /// The file has been read to its end.
    eof: bool,
}

#[cfg(feature = "csv")]
impl LineTracker {
    fn new(file: Input<File>) -> Self {
        LineTracker { file, pending: Vec::new(), start: 0, base: 0, lines: 0, eof: false }
    }

    /// The bytes read and not yet passed.
    fn unpassed(&self) -> &[u8] {
        self.pending.get(self.start..).unwrap_or_default()
    }

    /// Whether the bytes from the last offset given to [`LineTracker::line_of`] to the end of
    /// what was read leave a quote open (see [`quote_left_open`]). Asked of the last row
    /// only, when the file has been read to its end.
    fn quote_left_open(&self, delimiter: u8) -> bool {
        quote_left_open(self.unpassed(), delimiter)
    }

    /// The line (from 1) of the first byte at or after `offset` that ends no line: where a
    /// record the CSV reader says starts at `offset` really starts. Offsets must not decrease.
    fn line_of(&mut self, offset: u64) -> u64 {
        let unpassed = self.pending.get(self.start..).unwrap_or_default();
        let passed = usize::try_from(offset.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(unpassed.len());
        let (before, after) = unpassed.split_at(passed);
        self.lines += line_feeds(before);
        let blank = after
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.start += passed;
        self.base += passed as u64;
        self.lines + blank + 1
    }
}

/// The line feeds in `bytes`. Counted in bytes per block of 128 (no count in a block can
/// pass 255), which the compiler turns into wide compares; a `usize` per byte it does not.
#[cfg(feature = "csv")]
fn line_feeds(bytes: &[u8]) -> u64 {
    let count =
        |block: &[u8]| block.iter().map(|&b| u8::from(b == b'\n')).fold(0u8, u8::wrapping_add);
    let blocks = bytes.chunks_exact(128);
    let tail = u64::from(count(blocks.remainder()));
    blocks.map(|block| u64::from(count(block))).sum::<u64>() + tail
}

/// Whether CSV text from the start of a row leaves a quote open at its end, read as the CSV
/// reader reads it (RFC 4180 quoting: a quote opens a field only at its start, and `""`
/// inside a quoted field is a quote; a quote followed by the end closes the field).
#[cfg(feature = "csv")]
fn quote_left_open<'a>(text: impl IntoIterator<Item = &'a u8>, delimiter: u8) -> bool {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        /// A quote inside a quoted field: its end, or the first of `""`.
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    for &b in text {
        let ends_field = b == delimiter || b == b'\n' || b == b'\r';
        state = match state {
            State::FieldStart if b == b'"' => State::Quoted,
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            _ if ends_field => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    state == State::Quoted
}

#[cfg(feature = "csv")]
impl Read for LineTracker {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.eof |= n == 0 && !buf.is_empty();
        if self.start > self.pending.len() / 2 {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        self.pending.extend_from_slice(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// Reads one JSON Lines line into `cells`, one per column.
#[cfg(feature = "serde_json")]
pub(super) fn json_row(
    file: &Path,
    line: u64,
    text: &[u8],
    columns: &[String],
    cells: &mut [Cell],
) -> Result<(), MappingError> {
    use serde_json::Value;

    let value: Value =
        serde_json::from_slice(text).map_err(|e| invalid_json(file, line, text, &e))?;
    let Value::Object(mut object) = value else {
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
    // Values are moved out of the parsed object (the columns are distinct), not copied.
    let scalar = |v: Value| match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(kind_of(&other)),
    };
    for (cell, column) in cells.iter_mut().zip(columns) {
        *cell = match object.remove(column) {
            None | Some(Value::Null) => Cell::Missing,
            Some(Value::Array(values)) => {
                let mut out = Vec::with_capacity(values.len());
                for v in values {
                    match v {
                        // Counted as an empty value, like a null field.
                        Value::Null => out.push(String::new()),
                        other => out.push(scalar(other).map_err(|found| {
                            unexpected(column, found, "strings, numbers or booleans in an array")
                        })?),
                    }
                }
                Cell::Many(out)
            }
            Some(v) => Cell::One(scalar(v).map_err(|found| {
                unexpected(column, found, "a string, a number, a boolean, null or an array")
            })?),
        };
    }
    Ok(())
}

/// The error for a JSON Lines line `text` that does not parse: [`MappingError::InvalidUtf8`]
/// if the line is not UTF-8 (checked only once parsing failed, so good lines are not read
/// twice), else [`MappingError::InvalidJson`].
#[cfg(feature = "serde_json")]
pub(super) fn invalid_json(
    file: &Path,
    line: u64,
    text: &[u8],
    e: &serde_json::Error,
) -> MappingError {
    if let Err(bad) = std::str::from_utf8(text) {
        return MappingError::InvalidUtf8 {
            file: file.to_path_buf(),
            line,
            column: format!("byte {}", bad.valid_up_to() + 1),
        };
    }
    MappingError::InvalidJson {
        file: file.to_path_buf(),
        line,
        column: e.column() as u64,
        // The position within the line is in the error's fields already.
        message: {
            let message = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            message.strip_suffix(&suffix).map_or(message.clone(), str::to_string)
        },
    }
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

#[cfg(all(test, feature = "csv"))]
mod tests {
    use proptest::prelude::*;

    use super::quote_left_open;

    /// Fields as they are written: text, and whether it is quoted (a field with a quote,
    /// delimiter or line break must be).
    fn rows() -> impl Strategy<Value = Vec<Vec<(String, bool)>>> {
        let field = ("[a;\" \n\r]{0,5}", any::<bool>()).prop_map(|(text, quote)| {
            let must = text.contains(['"', ';', '\n', '\r']) || text.is_empty() && quote;
            (text, quote || must)
        });
        proptest::collection::vec(proptest::collection::vec(field, 1..4), 1..5)
    }

    proptest! {
        /// Cut anywhere, text written by RFC 4180 leaves a quote open exactly where the cut
        /// falls inside a quoted field after an odd number of its quotes (its opening quote
        /// and pairs of escaped ones): known from how the text was written, not re-parsed.
        #[test]
        fn an_open_quote_is_found_exactly_where_the_text_was_cut_inside_one(
            rows in rows(),
            crlf in any::<bool>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut text = Vec::new();
            // Per byte: the start of the quoted field it is in (its opening quote), if any.
            let mut quoted_from: Vec<Option<usize>> = Vec::new();
            for row in &rows {
                for (i, (field, quoted)) in row.iter().enumerate() {
                    if i > 0 {
                        text.push(b';');
                        quoted_from.push(None);
                    }
                    if *quoted {
                        let start = text.len();
                        let body = format!("\"{}\"", field.replace('"', "\"\""));
                        text.extend_from_slice(body.as_bytes());
                        quoted_from.extend(std::iter::repeat_n(Some(start), body.len()));
                    } else {
                        text.extend_from_slice(field.as_bytes());
                        quoted_from.extend(std::iter::repeat_n(None, field.len()));
                    }
                }
                let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
                text.extend_from_slice(end);
                quoted_from.extend(std::iter::repeat_n(None, end.len()));
            }
            prop_assert!(!quote_left_open(&text, b';'), "the whole text closes every quote");
            let k = cut.index(text.len() + 1);
            let expected = match k.checked_sub(1).and_then(|last| quoted_from[last]) {
                Some(start) => text[start..k].iter().filter(|&&b| b == b'"').count() % 2 == 1,
                None => false,
            };
            prop_assert_eq!(quote_left_open(&text[..k], b';'), expected, "{:?}", String::from_utf8_lossy(&text[..k]));
        }
    }

    proptest! {
        /// Blocks of every length and fill count as a byte-by-byte count does: past 255 line
        /// feeds in a row, and on either side of a block's end.
        #[test]
        fn line_feeds_are_counted_as_one_by_one(
            bytes in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), any::<u8>()], 0..700),
            all in any::<bool>(),
        ) {
            let bytes = if all { vec![b'\n'; bytes.len()] } else { bytes };
            let expected = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
            prop_assert_eq!(super::line_feeds(&bytes), expected);
        }
    }

    #[test]
    fn quotes_inside_unquoted_fields_are_text() {
        assert!(!quote_left_open(b"a\"b,c", b','));
        assert!(!quote_left_open(b" \"b,c", b','), "a quote after a space opens nothing");
        assert!(quote_left_open(b"a,\"b\"\"c", b','));
        assert!(!quote_left_open(b"a,\"b\"\"c\"", b','));
    }
}

#[cfg(test)]
mod line_estimate_tests {
    use super::*;

    fn file_with(name: &str, content: &[u8]) -> PathBuf {
        let path = std::env::temp_dir()
            .join(format!("idstitch-reader-test-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Counted by hand: a small file's count is exact, blank lines and a missing last line
    /// feed included.
    #[test]
    fn a_small_file_is_counted_exactly() {
        let path = file_with("small", b"id,a\n1,x\n\n  \n2,y\r\n3,z");
        assert_eq!(estimate_lines(&path).unwrap(), 4);
        std::fs::remove_file(path).unwrap();
    }

    /// A file of 3 MiB of rows the same length as its first MiB's is estimated to within
    /// a row of its true count; rows twice as long after the first MiB make it an
    /// over-estimate, bounded by the size.
    #[test]
    fn a_large_file_is_estimated_from_its_first_mebibyte() {
        let row = b"12345678,someone@example.nl,+31612345678\n";
        let rows = 3 * LINE_SAMPLE / row.len();
        let mut content = b"id,mail,phone\n".to_vec();
        for _ in 0..rows {
            content.extend_from_slice(row);
        }
        let path = file_with("large", &content);
        let estimate = estimate_lines(&path).unwrap();
        assert!(estimate.abs_diff(rows as u64 + 1) <= 1, "{estimate} for {}", rows + 1);

        let mut content = content[..LINE_SAMPLE + 100].to_vec();
        let cut = content.iter().rposition(|&b| b == b'\n').unwrap() + 1;
        content.truncate(cut);
        let first = content.iter().filter(|&&b| b == b'\n').count();
        let long = b"12345678,someone.with.a.much.longer.address@example.nl,+31612345678,,,,,\n";
        let more = 2 * LINE_SAMPLE / long.len();
        for _ in 0..more {
            content.extend_from_slice(long);
        }
        std::fs::write(&path, &content).unwrap();
        let estimate = estimate_lines(&path).unwrap();
        let truth = (first + more) as u64;
        assert!(estimate > truth && estimate < 2 * truth, "{estimate} for {truth}");
        std::fs::remove_file(path).unwrap();
    }
}
