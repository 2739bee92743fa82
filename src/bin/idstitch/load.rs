//! From a mapping file to a resolver, with a progress bar, or to a state directory brought up
//! to date; a state read back for questions; from `SOURCE:ID` to a record.

use std::fmt;
use std::io::IsTerminal;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use idstitch::adapter::Progress;
use idstitch::mapping::{AppliedRun, MappedRun, Mapping};
use idstitch::{CustomerId, Durable, DurableOptions, Resolver, SourceId, SyncPolicy};
use indicatif::{ProgressBar, ProgressStyle};

use crate::failure::Failure;

/// Records read and resolved per batch (and per progress report): few enough that a batch's
/// texts are still in the cache when they are normalised (4096 took 2–7 % longer on the
/// generated publisher's files, BENCHMARKS.md).
const BATCH: usize = 1024;

/// Reads the mapping and every file it names, and resolves. Draws a progress bar on stderr
/// when stderr is a terminal, and nothing otherwise.
pub fn resolve(mapping: &Path) -> Result<MappedRun, Failure> {
    let mapping = Mapping::from_path(mapping)?;
    let bar = progress_bar();
    let run = mapping.run(BATCH, |progress| show(&bar, progress));
    bar.finish_and_clear();
    Ok(run?)
}

/// Opens (or creates) the state in `dir` with the mapping's configuration, applies every
/// source (full exports and change feeds, journaled) and compacts if anything was journaled.
/// Says on stderr what
/// opening recovered from a run that was cut short.
///
/// The journal is left to the operating system to sync: a killed process loses nothing
/// written, and the run ends in a compaction that writes and syncs a new snapshot. A machine
/// that crashes before it keeps the previous snapshot; running the command again finishes the
/// job.
pub fn resolve_state(mapping: &Path, dir: &Path) -> Result<(Durable, AppliedRun), Failure> {
    let mapping = Mapping::from_path(mapping)?;
    let options = DurableOptions::default().sync(SyncPolicy::Never);
    let mut state = Durable::open_with(dir, &builder_of(&mapping), options)
        .map_err(|error| Failure::state("open", dir, &error))?;
    report_recovery(&state);
    let recovery = state.recovery();
    let clean = recovery.entries_replayed == 0
        && recovery.uncommitted_records == 0
        && recovery.torn_tail.is_none();
    let journal = state.journal_len();
    let bar = progress_bar();
    let run = mapping.apply(&mut state, BATCH, |progress| show(&bar, progress));
    bar.finish_and_clear();
    let run = run?;
    // Compacted unless the journal holds nothing: a run that changed nothing rewrites no
    // snapshot.
    if !clean || state.journal_len() > journal {
        state.compact().map_err(|error| Failure::state("compact", dir, &error))?;
    }
    Ok((state, run))
}

/// The environment variable holding the secret that keys a state's suppression list
/// (`idstitch erase --suppress`): every command that opens such a state needs it.
pub const SUPPRESSION_SECRET_ENV: &str = "IDSTITCH_SUPPRESSION_SECRET";

/// The suppression secret from [`SUPPRESSION_SECRET_ENV`], if set and not empty.
pub fn suppression_secret() -> Option<String> {
    std::env::var(SUPPRESSION_SECRET_ENV).ok().filter(|s| !s.is_empty())
}

/// The mapping's resolver configuration, with the suppression secret if one is set.
fn builder_of(mapping: &Mapping) -> idstitch::ResolverBuilder {
    let mut builder = mapping.resolver_builder();
    if let Some(secret) = suppression_secret() {
        builder.suppression_secret(secret);
    }
    builder
}

/// Opens the state in `dir`, which must exist: with the mapping's configuration (checked
/// against the state's) if one is given. Reads no input file.
pub fn open_state(dir: &Path, mapping: Option<&Path>) -> Result<Durable, Failure> {
    open_state_syncing(dir, mapping, SyncPolicy::EveryCall)
}

/// [`open_state`] with the journal synced as `sync` says: a command that writes many entries
/// and compacts at the end leaves syncing to the operating system, as `resolve` does.
pub fn open_state_syncing(
    dir: &Path,
    mapping: Option<&Path>,
    sync: SyncPolicy,
) -> Result<Durable, Failure> {
    if !Durable::exists(dir) {
        return Err(Failure::new(format!(
            "{}: no idstitch state there (`idstitch resolve MAPPING --state {}` makes one)",
            dir.display(),
            dir.display()
        )));
    }
    let opened = match mapping {
        Some(mapping) => {
            let mapping = Mapping::from_path(mapping)?;
            Durable::open_with(dir, &builder_of(&mapping), DurableOptions::default().sync(sync))
        }
        None => {
            let mut options = DurableOptions::default().sync(sync);
            if let Some(secret) = suppression_secret() {
                options = options.suppression_secret(secret);
            }
            Durable::open(dir, options)
        }
    };
    let state = opened.map_err(|error| Failure::state("open", dir, &error))?;
    report_recovery(&state);
    Ok(state)
}

/// One line on stderr if opening the state replayed a journal or cut a damaged end off it.
fn report_recovery(state: &Durable) {
    let recovery = state.recovery();
    let mut what = Vec::new();
    if recovery.entries_replayed > 0 {
        what.push(format!("replayed {} journal entries", recovery.entries_replayed));
    }
    if recovery.uncommitted_records > 0 {
        what.push(format!(
            "left out {} records of a load that never finished",
            recovery.uncommitted_records
        ));
    }
    if let Some(torn) = &recovery.torn_tail {
        what.push(format!(
            "cut {} damaged bytes off the journal at byte {} ({})",
            torn.bytes, torn.offset, torn.reason
        ));
    }
    if !what.is_empty() {
        eprintln!("recovered {}: {}", state.dir().display(), what.join(", "));
    }
}

/// The resolver a question is answered from: the mapping's files resolved now, or a state.
pub enum Loaded {
    /// The files, resolved in memory.
    Run(Box<MappedRun>),
    /// A state directory.
    State(Box<Durable>),
}

impl Loaded {
    /// Resolves the mapping's files, or reads the state in `state` if one is given (the
    /// mapping's configuration checked against it).
    pub fn new(mapping: &Path, state: Option<&Path>) -> Result<Loaded, Failure> {
        match state {
            Some(dir) => Ok(Loaded::State(Box::new(open_state(dir, Some(mapping))?))),
            None => Ok(Loaded::Run(Box::new(resolve(mapping)?))),
        }
    }

    /// The resolver.
    pub fn resolver(&self) -> &Resolver {
        match self {
            Loaded::Run(run) => &run.resolver,
            Loaded::State(state) => state,
        }
    }
}

/// A bar on stderr if it is a terminal, else one that draws nothing.
fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{spinner} [{bar:40}] {percent:>3}% {human_pos}/{human_len} records ({elapsed})",
    )
    .map(|style| style.progress_chars("#>-"))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(0).with_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Moves the bar to `progress`.
fn show(bar: &ProgressBar, progress: Progress) {
    if let Some(total) = progress.total {
        bar.set_length(total.max(progress.done));
    } else {
        bar.set_length(progress.done);
    }
    bar.set_position(progress.done);
}

/// A record named on the command line: `SOURCE:ID`, split at the first colon (so ids may
/// contain colons).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordArg {
    /// The source's name, as the mapping has it.
    pub source: String,
    /// The record's id in that source.
    pub id: String,
}

impl FromStr for RecordArg {
    type Err = String;

    fn from_str(arg: &str) -> Result<Self, String> {
        match arg.split_once(':') {
            Some((source, id)) if !source.trim().is_empty() && !id.trim().is_empty() => {
                Ok(RecordArg { source: source.to_string(), id: id.to_string() })
            }
            Some(_) => {
                Err("expected SOURCE:ID with a source and an id on either side of ':'".into())
            }
            None => Err("expected SOURCE:ID (no ':' in it)".into()),
        }
    }
}

impl fmt::Display for RecordArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.id)
    }
}

/// A stored record and its customer.
#[derive(Clone, Debug)]
pub struct Found {
    /// The record's source.
    pub source: SourceId,
    /// The record's id in it.
    pub id: String,
    /// The customer it belongs to.
    pub customer: CustomerId,
}

impl RecordArg {
    /// Looks the record up: an unknown source or record is a failure naming the argument
    /// (and, for a source, the sources there are).
    pub fn find(&self, resolver: &Resolver) -> Result<Found, Failure> {
        let Some(source) = resolver.source_id(&self.source) else {
            let known: Vec<&str> = resolver.sources().map(|(_, name)| name).collect();
            return Err(Failure::new(format!(
                "{self}: unknown source {:?} (the mapping has {})",
                self.source,
                known.join(", ")
            )));
        };
        let Some(customer) = resolver.customer_of(source, &self.id) else {
            return Err(Failure::new(format!(
                "{self}: no record {:?} in source {:?}",
                self.id, self.source
            )));
        };
        Ok(Found { source, id: self.id.clone(), customer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_first_colon() {
        let arg: RecordArg = "web:urn:client:7".parse().unwrap();
        assert_eq!(arg, RecordArg { source: "web".into(), id: "urn:client:7".into() });
        assert_eq!(arg.to_string(), "web:urn:client:7");
    }

    #[test]
    fn refuses_what_is_not_source_colon_id() {
        assert!("crm".parse::<RecordArg>().unwrap_err().contains("no ':'"));
        assert!(":C-1".parse::<RecordArg>().is_err());
        assert!("crm:".parse::<RecordArg>().is_err());
        assert!(" :C-1".parse::<RecordArg>().is_err());
    }
}
