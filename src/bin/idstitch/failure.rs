//! Why the program stops: one line on stderr and a non-zero exit status.

use std::process::ExitCode;

use clap::error::ErrorKind;

/// Exit status of a bad mapping, input file, record, state directory or output.
const FAILED: u8 = 1;
/// Exit status of bad arguments (as clap's own).
const USAGE: u8 = 2;

/// A failure: the message (printed as one line) and the exit status.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, naming the file and place or the argument.
    message: String,
    /// The exit status.
    code: u8,
    /// Whether to exit without a message: the reader of stdout went away
    /// (`idstitch resolve m.toml | head`), which is not worth one.
    quiet: bool,
}

impl Failure {
    /// A failure of the mapping, the input or the output (exit status 1).
    pub fn new(message: impl Into<String>) -> Self {
        Failure { message: message.into(), code: FAILED, quiet: false }
    }

    /// Writing to `name` failed; quietly if it is a pipe whose reader went away.
    pub fn write(name: &str, error: &std::io::Error) -> Self {
        let mut failure = Failure::new(format!("cannot write {name}: {error}"));
        failure.quiet = error.kind() == std::io::ErrorKind::BrokenPipe;
        failure
    }

    /// Doing `what` (open, compact) to the state in `dir` failed.
    pub fn state(what: &str, dir: &std::path::Path, error: &idstitch::StateError) -> Self {
        let hint = match error {
            idstitch::StateError::Snapshot(idstitch::SnapshotError::ConfigMismatch { .. }) => {
                " (the mapping's kinds or default_country are not those the state was made with)"
            }
            _ => "",
        };
        Failure::new(format!("cannot {what} state {}: {error}{hint}", dir.display()))
    }

    /// Prints the message as one line on stderr (unless quiet) and gives the exit status.
    pub fn report(self) -> ExitCode {
        if !self.quiet {
            eprintln!("idstitch: {}", one_line(&self.message));
        }
        ExitCode::from(self.code)
    }
}

impl From<idstitch::mapping::MappingError> for Failure {
    fn from(error: idstitch::mapping::MappingError) -> Self {
        Failure::new(error.to_string())
    }
}

/// Reports a command-line parse error: `--help` and `--version` go to stdout with status 0,
/// no arguments at all print the help on stderr with status 2, anything else becomes one line
/// on stderr with status 2 (clap's first paragraph, without the usage block that follows it).
pub fn usage(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            return match error.print() {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(FAILED),
            };
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            return ExitCode::from(USAGE);
        }
        _ => {}
    }
    let text = error.to_string();
    let first = text.split("\n\n").next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("idstitch: {} (see `idstitch --help`)", one_line(message));
    ExitCode::from(USAGE)
}

/// The message on one line: each line break, with the indentation around it, becomes one
/// space.
fn one_line(message: &str) -> String {
    message.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}
