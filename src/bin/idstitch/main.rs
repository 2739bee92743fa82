//! `idstitch`: resolve the files a TOML mapping names into customers, and ask why records are
//! one customer, what a customer looks like, and what its graph is (feature `cli`).
//!
//! ```sh
//! idstitch resolve examples/data/publisher.toml -o customers.csv
//! idstitch explain examples/data/publisher.toml crm:C-1 web:W-9
//! idstitch view examples/data/publisher.toml crm:C-1 --json
//! idstitch dot examples/data/publisher.toml crm:C-1 -o customer.dot
//! ```
//!
//! Every subcommand loads the mapping and resolves all its files first (with a progress bar
//! on stderr when stderr is a terminal). A mistake ends the program with one line on stderr:
//! the mapping error with its file, line and column, or the offending argument.
//!
//! The modules: [`load`] reads the mapping and resolves, and turns `SOURCE:ID` arguments into
//! records; [`output`] writes results to a file or stdout and renders a customer view as text;
//! [`failure`] is the one-line error and its exit code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod failure;
mod load;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use idstitch::mapping::write_assignments;
use idstitch::view::ViewConfig;

use failure::Failure;
use load::RecordArg;
use output::Output;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "idstitch",
    version,
    about = "Customer identity resolution: link the records of many source systems into customers",
    long_about = "Customer identity resolution: link the records of many source systems into \
                  customers.\n\nEvery command reads a TOML mapping (the sources, their files \
                  and columns, the kinds' policies; see the `idstitch::mapping` docs), reads \
                  and resolves all its files, then answers. A record is named SOURCE:ID: the \
                  source's name from the mapping, a colon, the record's id in that source \
                  (split at the first colon, so ids may contain colons).",
    after_help = "Exit status: 0 on success, 1 for a bad mapping, input file, record or \
                  output, 2 for bad arguments. Errors are one line on stderr."
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Resolve every record and write each one's customer as CSV.
    ///
    /// The CSV (a `source,record_id,customer_id` header, then one row per record; a record
    /// that links to nothing is a customer of its own) goes to the file given with -o, or to
    /// stdout without it. A summary goes to stderr: per source the records read and the
    /// values rejected by kind, the records skipped, the records and customers, the largest
    /// customer and the refused links by reason.
    Resolve {
        /// The mapping file.
        mapping: PathBuf,
        /// Write the CSV to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Explain why two records are one customer, or why they are apart.
    ///
    /// Linked records get a shortest chain of shared keys between them; records apart get the
    /// chain of shared keys that would connect them with the steps that do not link and why
    /// (a placeholder, a generic value, a limit), or the news that no chain exists.
    Explain {
        /// The mapping file.
        mapping: PathBuf,
        /// The first record, SOURCE:ID.
        first: RecordArg,
        /// The second record, SOURCE:ID.
        second: RecordArg,
    },
    /// Show the merged view of a record's customer.
    ///
    /// Its records by source, its keys by kind with the records carrying them, and per
    /// attribute the golden value (by source trust) with where it came from and the other
    /// candidates.
    View {
        /// The mapping file.
        mapping: PathBuf,
        /// A record of the customer, SOURCE:ID.
        record: RecordArg,
        /// Print the view as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Draw a record's customer and its identity graph as Graphviz DOT.
    ///
    /// Render it with `dot -Tsvg customer.dot -o customer.svg`.
    Dot {
        /// The mapping file.
        mapping: PathBuf,
        /// A record of the customer, SOURCE:ID.
        record: RecordArg,
        /// Write the DOT to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return failure::usage(&error),
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// Runs one subcommand.
fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Resolve { mapping, output } => {
            let run = load::resolve(&mapping)?;
            let out = Output::open(output.as_deref())?;
            let name = out.name();
            let written = write_assignments(&run.resolver, out)
                .map_err(|error| Failure::write(&name, &error))?;
            eprint!("{}", run.summary());
            eprintln!("\nwrote {written} rows to {name}");
            Ok(())
        }
        Command::Explain { mapping, first, second } => {
            let run = load::resolve(&mapping)?;
            let resolver = &run.resolver;
            let a = first.find(resolver)?;
            let b = second.find(resolver)?;
            let explanation = resolver
                .explain(a.source, &a.id, b.source, &b.id)
                .map_err(|error| Failure::new(error.to_string()))?;
            Output::stdout().write_text(&resolver.describe(&explanation))
        }
        Command::View { mapping, record, json } => {
            let run = load::resolve(&mapping)?;
            let customer = record.find(&run.resolver)?.customer;
            let view =
                run.resolver.customer_view(customer, &ViewConfig::default()).ok_or_else(|| {
                    Failure::new(format!("customer {customer} of {record} has no view"))
                })?;
            let text = if json {
                let mut text = serde_json::to_string_pretty(&view)
                    .map_err(|error| Failure::new(format!("cannot write JSON: {error}")))?;
                text.push('\n');
                text
            } else {
                output::view_text(&view)
            };
            Output::stdout().write_text(&text)
        }
        Command::Dot { mapping, record, output } => {
            let run = load::resolve(&mapping)?;
            let customer = record.find(&run.resolver)?.customer;
            let dot = run.resolver.customer_dot(customer).ok_or_else(|| {
                Failure::new(format!("customer {customer} of {record} has no graph"))
            })?;
            Output::open(output.as_deref())?.write_text(&dot)
        }
    }
}
