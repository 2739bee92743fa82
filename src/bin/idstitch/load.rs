//! From a mapping file to a resolver, with a progress bar; from `SOURCE:ID` to a record.

use std::fmt;
use std::io::IsTerminal;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use idstitch::adapter::Progress;
use idstitch::mapping::{MappedRun, Mapping};
use idstitch::{CustomerId, Resolver, SourceId};
use indicatif::{ProgressBar, ProgressStyle};

use crate::failure::Failure;

/// Records read and resolved per batch (and per progress report).
const BATCH: usize = 4096;

/// Reads the mapping and every file it names, and resolves. Draws a progress bar on stderr
/// when stderr is a terminal, and nothing otherwise.
pub fn resolve(mapping: &Path) -> Result<MappedRun, Failure> {
    let mapping = Mapping::from_path(mapping)?;
    let bar = progress_bar();
    let run = mapping.run(BATCH, |progress| show(&bar, progress));
    bar.finish_and_clear();
    Ok(run?)
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
