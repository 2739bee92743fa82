//! One call from mapping file to customers, and the assignments written out as CSV.

use std::io::Write;

use super::config::Mapping;
use super::error::MappingError;
use super::input::InputReport;
use crate::adapter::{Progress, SourceError};
use crate::ids::SourceId;
use crate::partition::events::Changes;
use crate::resolver::Resolver;

/// The outcome of [`Mapping::run`]: the resolver holding every mapped record, what the ingest
/// reported, and what was read.
#[derive(Debug)]
#[non_exhaustive]
pub struct MappedRun {
    /// The resolver, built from the mapping, with every record ingested and resolved.
    pub resolver: Resolver,
    /// The mapping's sources, in mapping order.
    pub sources: Vec<SourceId>,
    /// The ingest's events and its report (values that did not normalise, skipped records).
    pub changes: Changes,
    /// What was read from the files (records, empty values, bad timestamps).
    pub input: InputReport,
}

impl Mapping {
    /// Builds a resolver from the mapping, registers its sources, reads every file and
    /// resolves, `batch_size` records at a time, calling `progress` after each batch.
    ///
    /// # Errors
    /// Any [`MappingError`] of [`Mapping::resolver_builder`], [`Mapping::register_sources`],
    /// [`Mapping::open`] or of reading the files.
    pub fn run(
        &self,
        batch_size: usize,
        progress: impl FnMut(Progress),
    ) -> Result<MappedRun, MappingError> {
        let mut resolver = self
            .resolver_builder()?
            .build()
            .map_err(|error| MappingError::Config { file: self.file().to_path_buf(), error })?;
        let sources = self.register_sources(&mut resolver)?;
        let mut input = self.open(&resolver)?;
        let changes =
            resolver.ingest_from(&mut input, batch_size, progress).map_err(|e| match e {
                SourceError::Source { error, .. } => error,
            })?;
        Ok(MappedRun { resolver, sources, changes, input: input.report() })
    }
}

/// Writes `source,record_id,customer_id` and one row per record of `resolver` (in storage
/// order) to `out`, quoting fields as CSV requires; returns the number of records written.
/// A record that links to nothing is a customer of its own, so every record has a row.
///
/// # Errors
/// Any error of `out`.
pub fn write_assignments(resolver: &Resolver, mut out: impl Write) -> std::io::Result<u64> {
    writeln!(out, "source,record_id,customer_id")?;
    let mut n = 0;
    for (record, customer) in resolver.assignments() {
        let source = resolver.source_name(record.source).unwrap_or_default();
        write_field(&mut out, source)?;
        out.write_all(b",")?;
        write_field(&mut out, record.external_id)?;
        writeln!(out, ",{customer}")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// One CSV field, quoted if it holds a comma, quote, line break or surrounding space.
fn write_field(out: &mut impl Write, value: &str) -> std::io::Result<()> {
    let needs_quotes = value.contains([',', '"', '\n', '\r'])
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace);
    if needs_quotes {
        write!(out, "\"{}\"", value.replace('"', "\"\""))
    } else {
        out.write_all(value.as_bytes())
    }
}
