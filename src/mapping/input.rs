//! Reading the mapped files: [`MappedSource`], a [`RecordSource`] over every source's file,
//! and the [`InputReport`] of what was read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::bad_rows::BadRows;
#[cfg(doc)]
use super::config::SourceMode;
use super::config::{InputFormat, Mapping};
use super::error::MappingError;
use super::reader::{check_feature, estimate_lines, open_reader, Cell, Reader};
#[cfg(any(feature = "csv", feature = "serde_json", feature = "sqlite", feature = "postgres"))]
use super::row::{build, CellRef};
use super::row::{Plan, Spares};
use super::sources::FormatRecords;
use crate::adapter::RecordSource;
use crate::ids::SourceId;
use crate::input::record::RecordInput;
use crate::input::report::IngestReport;
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
    /// Rows (CSV) or objects (JSON Lines) read; for a mailbox its messages, for a GA4 export
    /// its rows (several of which may make one record).
    pub records_read: u64,
    /// Records with an empty or missing id (the resolver skips them); for a GA4 export, rows
    /// without `user_pseudo_id` (which make no record).
    pub empty_ids: u64,
    /// Empty or missing key values by kind name: per cell for plain kinds, per record for a
    /// composite kind with any part empty (such a record has no key of the kind).
    pub empty_values: BTreeMap<String, u64>,
    /// `observed_at` values that did not parse (the record's attributes then carry no time);
    /// for a mailbox, messages without a Date header or with one that does not parse; for a
    /// GA4 export, rows whose `event_timestamp` is missing or not a number.
    pub bad_timestamps: u64,
    /// Messages of a mailbox in which no header could be read: they make no record.
    pub unparsed: u64,
    /// Rows of a change feed that delete their record (its `deleted` cell is truthy).
    pub deletions: u64,
    /// Malformed rows left out by `on_bad_row = "skip"`, per reason with their first lines
    /// (not counted in `records_read`).
    pub bad_rows: BadRows,
    /// Rows whose id an earlier row of the same source had in this load: the later row
    /// replaced the earlier one's record (the last row of an id is the one held). Filled in
    /// by [`Mapping::run`] and [`Mapping::apply`] from the ingest's
    /// [`IngestReport::records_repeated`](crate::IngestReport::records_repeated); a host
    /// ingesting a [`MappedSource`] itself finds the counts there.
    pub duplicate_ids: u64,
    /// The first few ids counted in `duplicate_ids`, each once, in the order their repeats
    /// were stored.
    pub duplicate_examples: Vec<String>,
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

    /// Malformed rows left out over all files.
    pub fn bad_rows(&self) -> u64 {
        self.sources.iter().map(|s| s.bad_rows.total()).sum()
    }

    /// Fills each source's `duplicate_ids` from the ingest's repeats; `sources` are the
    /// sources' ids in mapping order.
    pub(super) fn note_repeats(&mut self, sources: &[SourceId], report: &IngestReport) {
        for (read, source) in self.sources.iter_mut().zip(sources) {
            read.duplicate_ids = report.records_repeated.get(source).copied().unwrap_or(0);
            read.duplicate_examples =
                report.repeated_examples.get(source).cloned().unwrap_or_default();
        }
    }
}

/// A [`RecordSource`] over every file of a [`Mapping`], read in mapping order: each CSV row or
/// JSON Lines object becomes one [`RecordInput`].
///
/// [`Mapping::open`] checks before reading any row that every file opens, that its format's
/// feature is enabled and that every mapped column is in its CSV header. While reading,
/// malformed rows stop the source with a [`MappingError`] naming file, line and column, or,
/// with `on_bad_row = "skip"`, are left out and counted in the source's
/// [`SourceReport::bad_rows`]; bad values are counted in the [`InputReport`].
///
/// - **CSV** (feature `csv`): a header row; header names and fields are trimmed of
///   surrounding whitespace (`id, name` names the columns `id` and `name`); quoting as
///   RFC 4180; a UTF-8 byte-order mark is skipped; blank lines are skipped. A row with
///   another number of fields than the header, or a quote left open to the end of the file,
///   is a malformed row. A file in another `encoding` is decoded as it is read.
/// - **JSON Lines** (feature `serde_json`): one object per line, blank lines skipped. Values
///   may be strings, numbers (used as their JSON text) or booleans; `null` or a missing field
///   is no value; a key column may hold an array of such values, one key each.
///
/// - **Mailboxes and GA4 exports** (features `mbox`, `ga4`): read whole when the source
///   opens, into one record per correspondent or `user_pseudo_id`, yielded in id order (see
///   the [module docs](super)).
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
    /// Per plan, the records of a mailbox or GA4 source (`None` for CSV and JSON Lines).
    formats: Vec<Option<FormatRecords>>,
    /// Records handed back by [`RecordSource::recycle`], written over by the next rows.
    spare: Spares,
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
    /// The record total reported for progress bars ([`RecordSource::total`]) is counted from
    /// the files' non-blank lines (less one header line for CSV): exactly in a file of up to
    /// 1 MiB, and estimated in a larger one from its size and its first MiB, so that each file
    /// is read once. A CSV file with line breaks inside quoted fields makes it an
    /// over-estimate; rows of a large file longer or shorter than its first MiB's make it
    /// off by as much. [`Resolver::ingest_from`] makes room for that many records up front.
    ///
    /// # Errors
    /// [`MappingError::Config`] if the resolver lacks a source or kind;
    /// [`MappingError::FeatureDisabled`], [`MappingError::OpenInput`],
    /// [`MappingError::ReadInput`], [`MappingError::MissingColumn`],
    /// [`MappingError::DuplicateColumn`] or [`MappingError::InvalidUtf8`] for a CSV header.
    /// A mailbox or GA4 source's files are read here, whole, into its records (one per
    /// correspondent or pseudo id; see the [module docs](super)), so their errors
    /// ([`MappingError::ListFolder`], [`MappingError::InvalidJson`], …) come from here too.
    pub fn open(&self, resolver: &Resolver) -> Result<MappedSource, MappingError> {
        let mut plans = Vec::with_capacity(self.sources().len());
        let mut formats = Vec::with_capacity(self.sources().len());
        let mut total = 0u64;
        for s in self.sources() {
            let mut plan = self.plan(s, resolver)?;
            // A mailbox or GA4 source is read here, so its records count in the total.
            let format = FormatRecords::open(self, s, resolver, &mut plan)?;
            if let Some(format) = format {
                total += format.len() as u64;
                formats.push(Some(format));
                plans.push(plan);
                continue;
            }
            formats.push(None);
            check_feature(&plan.layout)?;
            if let Some(db) = &plan.layout.database {
                // Connect and check the query's columns now, so that a missing column fails
                // before any row is read; its rows are counted by the database.
                total += super::sql::check(&plan.layout, db)?;
                plans.push(plan);
                continue;
            }
            let lines = estimate_lines(&plan.layout.file)?;
            total += match plan.layout.format {
                InputFormat::Csv => lines.saturating_sub(1),
                InputFormat::JsonLines
                | InputFormat::Sql
                | InputFormat::Mbox
                | InputFormat::Ga4 => lines,
            };
            if plan.layout.format == InputFormat::Csv {
                // Read the header now so that a missing column fails before any row is read.
                open_reader(&plan.layout)?;
            }
            plans.push(plan);
        }
        Ok(MappedSource {
            plans,
            current: 0,
            reader: None,
            total,
            cells: Vec::new(),
            formats,
            spare: Spares::default(),
        })
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

    /// The records the change feeds read so far delete, by source in mapping order and by id:
    /// those whose last row marks them deleted (see [`SourceMode::Changes`]). The records
    /// themselves are not yielded by [`RecordSource::next_batch`]: a host that ingests the
    /// rest removes these afterwards, as [`Mapping::run`] and [`Mapping::apply`] do.
    pub fn deletions(&self) -> impl Iterator<Item = (SourceId, &str)> + '_ {
        self.plans.iter().flat_map(|p| p.deletions.iter().map(move |id| (p.source, id.as_str())))
    }

    /// Reads the next row of the current file (a CSV reader keeps it in its record, a JSON
    /// Lines row goes to `self.cells`); `Ok(None)` at the end of the file, else the row's line.
    fn next_row(&mut self) -> Result<Option<u64>, MappingError> {
        let Some(plan) = self.plans.get_mut(self.current) else { return Ok(None) };
        let Some(reader) = self.reader.as_mut() else { return Ok(None) };
        // A malformed row skipped by `on_bad_row` is counted, and the next one read.
        loop {
            let row = reader.next_row(&plan.layout, &mut self.cells);
            if let Some(line) = plan.report.bad_rows.sift(plan.layout.on_bad_row, row)? {
                return Ok(line);
            }
        }
    }

    /// The record of the row just read.
    #[cfg_attr(
        not(any(
            feature = "csv",
            feature = "serde_json",
            feature = "sqlite",
            feature = "postgres"
        )),
        allow(unused_variables)
    )]
    fn record(&mut self, line: u64) -> Result<Option<RecordInput>, MappingError> {
        let Some(plan) = self.plans.get_mut(self.current) else { return Ok(None) };
        let spare = &mut self.spare;
        match &self.reader {
            None => Ok(None),
            #[cfg(not(any(
                feature = "csv",
                feature = "serde_json",
                feature = "sqlite",
                feature = "postgres"
            )))]
            Some(reader) => match *reader {},
            #[cfg(feature = "csv")]
            Some(Reader::Csv { record, index, .. }) => build(
                plan,
                line,
                |col| {
                    let field = index.get(col).and_then(|&i| record.get(i));
                    field.map_or(CellRef::Missing, CellRef::One)
                },
                spare,
            ),
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            Some(Reader::Sql(rows)) => build(
                plan,
                line,
                |col| rows.cell(col).map_or(CellRef::Missing, CellRef::One),
                spare,
            ),
            #[cfg(feature = "serde_json")]
            Some(Reader::Jsonl { .. }) => {
                let cells = &self.cells;
                let cell = |col| match cells.get(col) {
                    Some(Cell::One(v)) => CellRef::One(v),
                    Some(Cell::Many(v)) => CellRef::Many(v),
                    _ => CellRef::Missing,
                };
                build(plan, line, cell, spare)
            }
        }
    }
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
            if let Some(Some(format)) = self.formats.get_mut(self.current) {
                if !format.fill(batch, max) {
                    self.current += 1;
                }
                continue;
            }
            if self.reader.is_none() {
                if let Some(plan) = self.plans.get(self.current) {
                    self.reader = Some(open_reader(&plan.layout)?);
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

    fn recycle(&mut self, batch: &mut Vec<RecordInput>) {
        // Kept for the next rows to write over (`row::Refill`); a batch's worth at most.
        let keep = batch.len().min(MAX_SPARE.saturating_sub(self.spare.records.len()));
        self.spare.records.extend(batch.drain(..keep));
        batch.clear();
    }
}

/// Used records a [`MappedSource`] keeps for reuse at most: more than any batch a host asks
/// for is never needed.
const MAX_SPARE: usize = 1 << 16;
