//! Rows a file cannot give as rows (`on_bad_row` in the mapping): whether they stop the load
//! or are skipped, and the count of those skipped, per reason, with their first lines.

use std::collections::BTreeMap;
use std::fmt;

use super::error::MappingError;
use super::sql::found;

/// What a malformed row does (`on_bad_row` in a `[[source]]`, `[[events]]`, `[[consent]]`
/// or `[[contacts]]` table): a row of another number of fields than the header, a field that
/// is not valid UTF-8, a quote left open to the end of the file, a JSON Lines line that is
/// not a JSON object or holds an array or object in a mapped field; for a database section, a
/// row with a mapped value that is not read as text (a BLOB or `bytea`, text that is not
/// UTF-8), whose row number stands for the line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OnBadRow {
    /// `"fail"` (the default): the first bad row stops the load with a [`MappingError`]
    /// naming the file, the line and what is wrong.
    #[default]
    Fail,
    /// `"skip"`: bad rows are left out and counted per [`BadRowReason`] in the file's
    /// [`BadRows`], with their first lines.
    Skip,
}

impl OnBadRow {
    /// The policy a mapping's `on_bad_row` value names (`"fail"` or `"skip"`, trimmed, any
    /// ASCII case).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "fail" => Some(OnBadRow::Fail),
            "skip" => Some(OnBadRow::Skip),
            _ => None,
        }
    }
}

/// Why a row was not read as a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum BadRowReason {
    /// A CSV row with another number of fields than the header
    /// ([`MappingError::FieldCount`] when it fails).
    Ragged,
    /// A field that is not valid UTF-8 in a file read as UTF-8
    /// ([`MappingError::InvalidUtf8`]), or a database's text that is not UTF-8
    /// ([`MappingError::DatabaseValue`]).
    Undecodable,
    /// A CSV quote opened and never closed: the rest of the file reads as one field, so the
    /// row from that line to the end is left out ([`MappingError::UnterminatedQuote`]).
    UnterminatedQuote,
    /// A JSON Lines line that is not JSON, or not a JSON object
    /// ([`MappingError::InvalidJson`], [`MappingError::NotAnObject`]).
    NotAnObject,
    /// A JSON Lines object with an array or object in a mapped field where a single value
    /// belongs ([`MappingError::UnexpectedValue`]).
    UnexpectedValue,
    /// A database row with a BLOB (PostgreSQL `bytea`) in a mapped column
    /// ([`MappingError::DatabaseValue`]).
    BinaryValue,
}

impl BadRowReason {
    /// What the reason is, in a few words for people.
    pub const fn describe(self) -> &'static str {
        match self {
            BadRowReason::Ragged => "ragged row (field count differs from the header)",
            BadRowReason::Undecodable => "undecodable field (not UTF-8)",
            BadRowReason::UnterminatedQuote => "unterminated quote",
            BadRowReason::NotAnObject => "not a JSON object",
            BadRowReason::UnexpectedValue => "array or object in a mapped field",
            BadRowReason::BinaryValue => "binary value (BLOB or bytea) in a mapped column",
        }
    }

    /// The reason and line of an error that is one bad row, `None` for any other error (a
    /// file that cannot be read, a column missing from the header, a bad deletion flag).
    pub fn of(error: &MappingError) -> Option<(BadRowReason, u64)> {
        Some(match error {
            MappingError::FieldCount { line, .. } => (BadRowReason::Ragged, *line),
            MappingError::InvalidUtf8 { line, .. } => (BadRowReason::Undecodable, *line),
            MappingError::UnterminatedQuote { line, .. } => {
                (BadRowReason::UnterminatedQuote, *line)
            }
            MappingError::InvalidJson { line, .. } | MappingError::NotAnObject { line, .. } => {
                (BadRowReason::NotAnObject, *line)
            }
            MappingError::UnexpectedValue { line, .. } => (BadRowReason::UnexpectedValue, *line),
            MappingError::DatabaseValue { row, found, .. } if *found == found::NOT_UTF8 => {
                (BadRowReason::Undecodable, *row)
            }
            MappingError::DatabaseValue { row, .. } => (BadRowReason::BinaryValue, *row),
            _ => return None,
        })
    }
}

impl fmt::Display for BadRowReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// At most this many lines are kept per [`BadRowReason`].
pub const BAD_ROW_LINES: usize = 5;

/// The bad rows of one file that `on_bad_row = "skip"` left out: per reason, how many and
/// the lines (from 1) of the first [`BAD_ROW_LINES`].
///
/// Its `Display` is one line per reason (empty when nothing was skipped):
/// `ragged row (field count differs from the header): 2 (lines 3, 7)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BadRows {
    /// Rows left out, by reason.
    pub counts: BTreeMap<BadRowReason, u64>,
    /// The lines of the first [`BAD_ROW_LINES`] rows of each reason, in file order.
    pub lines: BTreeMap<BadRowReason, Vec<u64>>,
}

impl BadRows {
    /// Rows left out, over all reasons.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Whether no row was left out.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Counts a row left out.
    pub(super) fn note(&mut self, reason: BadRowReason, line: u64) {
        let n = self.counts.entry(reason).or_default();
        *n += 1;
        if *n <= BAD_ROW_LINES as u64 {
            self.lines.entry(reason).or_default().push(line);
        }
    }

    /// What to do with the outcome of reading one row under `policy`: a bad row is counted
    /// and `Ok(None)` returned under [`OnBadRow::Skip`] (the caller reads on); anything else
    /// is passed on.
    pub(super) fn sift<T>(
        &mut self,
        policy: OnBadRow,
        outcome: Result<T, MappingError>,
    ) -> Result<Option<T>, MappingError> {
        match outcome {
            Ok(row) => Ok(Some(row)),
            Err(error) => match (policy, BadRowReason::of(&error)) {
                (OnBadRow::Skip, Some((reason, line))) => {
                    self.note(reason, line);
                    Ok(None)
                }
                _ => Err(error),
            },
        }
    }

    /// Adds another file's counts (for a total over files).
    pub fn absorb(&mut self, other: &BadRows) {
        for (&reason, &n) in &other.counts {
            *self.counts.entry(reason).or_default() += n;
        }
        for (&reason, lines) in &other.lines {
            let held = self.lines.entry(reason).or_default();
            let room = BAD_ROW_LINES.saturating_sub(held.len());
            held.extend(lines.iter().take(room));
        }
    }
}

impl fmt::Display for BadRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (reason, n)) in self.counts.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{reason}: {n}")?;
            if let Some(lines) = self.lines.get(reason).filter(|l| !l.is_empty()) {
                let word = if lines.len() == 1 { "line" } else { "lines" };
                let list: Vec<String> = lines.iter().map(u64::to_string).collect();
                let more = if *n > lines.len() as u64 { ", …" } else { "" };
                write!(f, " ({word} {}{more})", list.join(", "))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn names() {
        assert_eq!(OnBadRow::from_name(" Skip "), Some(OnBadRow::Skip));
        assert_eq!(OnBadRow::from_name("fail"), Some(OnBadRow::Fail));
        assert_eq!(OnBadRow::from_name("ignore"), None);
    }

    #[test]
    fn counts_every_row_and_keeps_the_first_lines() {
        let mut bad = BadRows::default();
        for line in 2..10 {
            bad.note(BadRowReason::Ragged, line);
        }
        bad.note(BadRowReason::UnterminatedQuote, 40);
        assert_eq!(bad.total(), 9);
        assert_eq!(bad.lines[&BadRowReason::Ragged], [2, 3, 4, 5, 6]);
        assert_eq!(
            bad.to_string(),
            "ragged row (field count differs from the header): 8 (lines 2, 3, 4, 5, 6, …); \
             unterminated quote: 1 (line 40)"
        );
        let mut sum = BadRows::default();
        sum.absorb(&bad);
        sum.absorb(&bad);
        assert_eq!(sum.counts[&BadRowReason::Ragged], 16);
        assert_eq!(sum.lines[&BadRowReason::Ragged].len(), BAD_ROW_LINES);
    }

    #[test]
    fn sift_skips_bad_rows_only_when_asked() {
        let ragged = || MappingError::FieldCount {
            file: PathBuf::from("a.csv"),
            line: 4,
            expected: 3,
            found: 2,
        };
        let mut bad = BadRows::default();
        assert!(matches!(
            bad.sift::<()>(OnBadRow::Fail, Err(ragged())),
            Err(MappingError::FieldCount { .. })
        ));
        assert!(bad.is_empty());
        assert!(matches!(bad.sift::<()>(OnBadRow::Skip, Err(ragged())), Ok(None)));
        assert_eq!(bad.lines[&BadRowReason::Ragged], [4]);
        let missing = MappingError::OpenInput {
            file: PathBuf::from("a.csv"),
            error: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(bad.sift::<()>(OnBadRow::Skip, Err(missing)).is_err(), "not a bad row");
        assert_eq!(bad.sift(OnBadRow::Skip, Ok(7)).unwrap(), Some(7));
    }
}
