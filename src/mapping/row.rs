//! How one row of a source's file becomes a [`RecordInput`]: the source's [`Plan`] (its
//! columns, kinds and attributes, resolved against the resolver) and the record built from a
//! row's cells by it, counting empty values and unparsed times on the way.

use std::collections::BTreeSet;
use std::sync::Arc;

use smallvec::SmallVec;

use super::config::{part_name, Mapping, SourceMapping, SourceMode};
use super::error::MappingError;
use super::input::SourceReport;
use super::reader::{Layout, Owner};
use super::timestamp::parse_timestamp;
use crate::ids::{KindId, SourceId};
use crate::input::record::{Attribute, RecordInput, Timestamp};
use crate::resolver::Resolver;

/// How one source's row becomes a record; columns are indices into `columns`.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) source: SourceId,
    /// The file and the distinct columns the source reads.
    pub(super) layout: Layout,
    id: usize,
    keys: Vec<(KindId, usize, Vec<usize>)>,
    /// Composite kinds: their columns and part attribute names.
    composites: Vec<CompositePlan>,
    /// Attribute names (shared: each record's attributes clone them, see
    /// [`Attribute::name`]) and their columns.
    attributes: Vec<(Arc<str>, usize)>,
    observed_at: Option<usize>,
    /// A change feed's `deleted` column.
    deleted: Option<usize>,
    /// The ids whose last row so far marks them deleted.
    pub(super) deletions: BTreeSet<String>,
    /// Kind names for `empty`.
    pub(super) kind_names: Vec<String>,
    pub(super) report: SourceReport,
    pub(super) empty: Vec<u64>,
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

impl Mapping {
    /// The plan for reading source `s` into `resolver`.
    pub(super) fn plan(
        &self,
        s: &SourceMapping,
        resolver: &Resolver,
    ) -> Result<Plan, MappingError> {
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
            id: col(&s.id),
            keys,
            composites,
            attributes,
            observed_at: s.observed_at.as_deref().map(col),
            deleted: match &s.mode {
                SourceMode::Changes { deleted: Some(c) } => Some(col(c)),
                _ => None,
            },
            deletions: BTreeSet::new(),
            layout: Layout {
                file: s.input.path.clone(),
                format: s.input.format,
                delimiter: s.input.delimiter,
                encoding: s.input.encoding,
                on_bad_row: s.input.on_bad_row,
                columns,
                column_keys,
                owner: Owner::Source(s.name.clone()),
                database: s.input.database.clone(),
            },
            kind_names,
            report: SourceReport {
                source: s.name.clone(),
                file: s.input.path.clone(),
                ..SourceReport::default()
            },
            empty: vec![0; n_kinds],
        })
    }
}

/// A cell of the row being turned into a record.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "serde_json"), allow(dead_code))]
pub(super) enum CellRef<'a> {
    Missing,
    One(&'a str),
    Many(&'a [String]),
}

/// What a change feed's `deleted` cell says: `Some(true)` for a row that deletes its record,
/// `Some(false)` for one that adds or changes it, `None` for a value that says neither.
///
/// The cell is trimmed and read without regard to ASCII case: `true`, `t`, `yes`, `y`, `1`
/// and `deleted` delete; `false`, `f`, `no`, `n`, `0` and the empty cell keep (so do a
/// missing field and `null` in JSON Lines, and JSON's `true`, `false`, `1` and `0` read as
/// their text). Anything else stops the load with [`MappingError::BadDeletionFlag`].
///
/// ```
/// use idstitch::mapping::deletion_flag;
///
/// assert_eq!(deletion_flag(" Yes "), Some(true));
/// assert_eq!(deletion_flag("DELETED"), Some(true));
/// assert_eq!(deletion_flag("0"), Some(false));
/// assert_eq!(deletion_flag(""), Some(false));
/// assert_eq!(deletion_flag("2024-05-01"), None);
/// ```
pub fn deletion_flag(cell: &str) -> Option<bool> {
    const DELETES: [&str; 6] = ["true", "t", "yes", "y", "1", "deleted"];
    const KEEPS: [&str; 6] = ["false", "f", "no", "n", "0", ""];
    let cell = cell.trim();
    if DELETES.iter().any(|v| cell.eq_ignore_ascii_case(v)) {
        Some(true)
    } else if KEEPS.iter().any(|v| cell.eq_ignore_ascii_case(v)) {
        Some(false)
    } else {
        None
    }
}

/// The record of one row whose cells (by plan column) `cell` gives, counting bad values in
/// the plan's report; `None` for a change feed's row that deletes its record (noted in the
/// plan's `deletions`). The record is written over one of `spare` if there is one, reusing its
/// buffers (see [`Refill`]).
#[cfg_attr(
    not(any(feature = "csv", feature = "serde_json", feature = "sqlite", feature = "postgres")),
    allow(dead_code)
)]
pub(super) fn build<'a>(
    plan: &mut Plan,
    line: u64,
    cell: impl Fn(usize) -> CellRef<'a>,
    spare: &mut Spares,
) -> Result<Option<RecordInput>, MappingError> {
    plan.report.records_read += 1;
    let file = &plan.layout.file;
    let columns = &plan.layout.columns;
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
    if let Some(col) = plan.deleted {
        let flag = single(col)?.unwrap_or_default();
        let deletes = deletion_flag(flag).ok_or_else(|| MappingError::BadDeletionFlag {
            file: file.clone(),
            line,
            column: columns.get(col).cloned().unwrap_or_default(),
            value: flag.to_string(),
        })?;
        // The last row of an id decides: a deletion after an upsert removes the record, an
        // upsert after a deletion keeps it.
        if deletes {
            plan.report.deletions += 1;
            match id {
                Some(id) => {
                    plan.deletions.insert(id.to_string());
                }
                None => plan.report.empty_ids += 1,
            }
            return Ok(None);
        }
        if let Some(id) = id.filter(|_| !plan.deletions.is_empty()) {
            plan.deletions.remove(id);
        }
    }
    if id.is_none() {
        plan.report.empty_ids += 1;
    }
    let mut record = spare.records.pop().unwrap_or_else(|| RecordInput::new(plan.source, ""));
    let mut fill = Refill::new(&mut record, plan.source, id.unwrap_or_default(), &mut spare.texts);
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
            let mut add = |v: &str| match v.trim() {
                "" => empty += 1,
                v => fill.key(*kind, v),
            };
            match cell(col) {
                CellRef::One(v) => add(v),
                CellRef::Many(values) => values.iter().for_each(|v| add(v)),
                CellRef::Missing => empty += 1,
            }
        }
        if let Some(n) = plan.empty.get_mut(*slot) {
            *n += empty;
        }
    }
    for CompositePlan { slot, columns, parts } in &plan.composites {
        let mut values: SmallVec<[Option<&str>; 4]> = SmallVec::new();
        for &col in columns {
            values.push(single(col)?);
        }
        if values.iter().all(Option::is_some) {
            for (part, value) in parts.iter().zip(values.into_iter().flatten()) {
                fill.attribute(part, value, observed_at);
            }
        } else if let Some(n) = plan.empty.get_mut(*slot) {
            *n += 1;
        }
    }
    for (name, col) in &plan.attributes {
        if let Some(value) = single(*col)? {
            fill.attribute(name, value, observed_at);
        }
    }
    fill.finish();
    Ok(Some(record))
}

/// What used records leave for the next rows to write over (see [`Refill`]): whole records
/// a source got back, and the texts of the values a row needed fewer of than the record it
/// was written over held, so that rows of varying lengths neither free nor allocate.
#[derive(Debug, Default)]
pub(super) struct Spares {
    pub(super) records: Vec<RecordInput>,
    texts: Vec<String>,
}

/// Spare texts kept at most: enough for the values two batches of one source's records
/// hold beyond another's, where the reading moves from one source to the next.
const MAX_SPARE_TEXTS: usize = 1 << 16;

/// Writes a record over a used one, keeping the buffers of its id, key values and attribute
/// values: a source that gets its batches back ([`RecordSource::recycle`]) then allocates
/// nothing per record once the buffers have grown to its rows' sizes.
///
/// [`RecordSource::recycle`]: crate::adapter::RecordSource::recycle
pub(super) struct Refill<'r> {
    record: &'r mut RecordInput,
    keys: usize,
    attributes: usize,
    /// Texts of values other records did not need, taken before allocating.
    texts: &'r mut Vec<String>,
}

impl<'r> Refill<'r> {
    /// Starts writing `record` anew as record `id` of `source`, with no keys or attributes,
    /// taking any texts it needs beyond the record's own from `texts`.
    pub(super) fn new(
        record: &'r mut RecordInput,
        source: SourceId,
        id: &str,
        texts: &'r mut Vec<String>,
    ) -> Self {
        record.source = source;
        record.external_id.clear();
        record.external_id.push_str(id);
        Refill { record, keys: 0, attributes: 0, texts }
    }

    /// A text holding `value`: a spare one if there is one.
    fn text(&mut self, value: &str) -> String {
        let mut text = self.texts.pop().unwrap_or_default();
        text.clear();
        text.push_str(value);
        text
    }

    /// Adds a key value.
    pub(super) fn key(&mut self, kind: KindId, value: &str) {
        match self.record.keys.get_mut(self.keys) {
            Some((k, v)) => {
                *k = kind;
                v.clear();
                v.push_str(value);
            }
            None => {
                let value = self.text(value);
                self.record.keys.push((kind, value));
            }
        }
        self.keys += 1;
    }

    /// Adds an attribute.
    pub(super) fn attribute(&mut self, name: &Arc<str>, value: &str, at: Option<Timestamp>) {
        match self.record.attributes.get_mut(self.attributes) {
            Some(a) => {
                if !Arc::ptr_eq(&a.name, name) {
                    a.name = Arc::clone(name);
                }
                a.value.clear();
                a.value.push_str(value);
                a.observed_at = at;
            }
            None => {
                let value = self.text(value);
                self.record.attributes.push(Attribute {
                    name: Arc::clone(name),
                    value,
                    observed_at: at,
                });
            }
        }
        self.attributes += 1;
    }

    /// Takes off what the used record held beyond what was written, keeping its texts.
    pub(super) fn finish(self) {
        while self.record.keys.len() > self.keys {
            let text = self.record.keys.pop().map(|(_, v)| v).unwrap_or_default();
            if self.texts.len() < MAX_SPARE_TEXTS {
                self.texts.push(text);
            }
        }
        while self.record.attributes.len() > self.attributes {
            let text = self.record.attributes.pop().map(|a| a.value).unwrap_or_default();
            if self.texts.len() < MAX_SPARE_TEXTS {
                self.texts.push(text);
            }
        }
    }
}
