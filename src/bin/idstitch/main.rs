//! `idstitch`: resolve the files a TOML mapping names into customers, and ask why records are
//! one customer, what a customer looks like, and what its graph is (feature `cli`).
//!
//! ```sh
//! idstitch resolve examples/data/publisher.toml -o customers.csv
//! idstitch explain examples/data/publisher.toml crm:C-1 web:W-9
//! idstitch view examples/data/publisher.toml crm:C-1 --json
//! idstitch dot examples/data/publisher.toml crm:C-1 -o customer.dot
//! idstitch resolve examples/data/publisher.toml --state state/ -o customers.csv
//! idstitch view examples/data/publisher.toml crm:C-1 --state state/
//! idstitch snapshot --state state/
//! idstitch stages examples/data/publisher.toml --now 2026-06-30T00:00:00Z -o stages.csv
//! idstitch stages examples/data/publisher.toml --now 2026-06-30 -o stages.csv --html report.html
//! idstitch predict examples/data/publisher.toml --now 2026-06-30 --unit weeks --horizon 52 -o predictions.csv
//! ```
//!
//! Without `--state`, every subcommand loads the mapping and resolves all its files first
//! (with a progress bar on stderr when stderr is a terminal). With `--state DIR`, `resolve`
//! brings the state in DIR up to date with the files (full exports and change feeds, every
//! change journaled, customer ids kept from run to run) and compacts it; the questions read
//! the state instead of the files. A mistake ends the program with one line on stderr: the
//! mapping error with its file, line and column, the state directory and what failed, or the
//! offending argument.
//!
//! The modules: [`load`] reads the mapping and resolves or applies it to a state, opens a
//! state, and turns `SOURCE:ID` arguments into records; [`output`] writes results to a file or
//! stdout and renders a customer view as text; [`failure`] is the one-line error and its exit
//! code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod campaign;
mod failure;
mod load;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use idstitch::behaviour::Stage;
use idstitch::mapping::{parse_timestamp, write_assignments};
use idstitch::predict::TimeUnit;
use idstitch::report::{render_html, ReportData, Transition};
use idstitch::view::ViewConfig;
use idstitch::{EraseTarget, Timestamp};

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
                  and resolves all its files, then answers. With --state DIR, `resolve` keeps \
                  the customers in a state directory and brings it up to date with the files \
                  (customer ids stay from run to run), and the other commands read that state \
                  instead of the files. A record is named SOURCE:ID: the source's name from \
                  the mapping, a colon, the record's id in that source (split at the first \
                  colon, so ids may contain colons).",
    after_help = "Exit status: 0 on success, 1 for a bad mapping, input file, record, state \
                  directory or output, 2 for bad arguments. Errors are one line on stderr."
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
    ///
    /// With --state DIR the customers live in DIR (created with the mapping's configuration
    /// if it holds no state): every source is applied to it as its mapping says — a full
    /// export (`mode = "export"`, the default) adds and updates its rows' records and removes
    /// the source's records it no longer holds, a change feed (`mode = "changes"`) adds and
    /// updates its rows' records and removes those its `deleted` column marks. Every change
    /// is journaled, the state is compacted at the end, and customer ids are kept from run to
    /// run: a second run over the same files changes nothing. The summary adds per source the
    /// records added, updated, unchanged and removed, and the number of change events. A run
    /// cut short (killed, a crash) is finished by running the command again.
    Resolve {
        /// The mapping file.
        mapping: PathBuf,
        /// Write the CSV to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Keep the customers in this state directory and bring it up to date.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
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
        /// Read the customers from this state directory instead of the mapping's files.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
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
        /// Read the customers from this state directory instead of the mapping's files.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
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
        /// Read the customers from this state directory instead of the mapping's files.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
    },
    /// Erase a person from a state directory: every record of the customer a record or a
    /// key resolves to, with its keys and attributes.
    ///
    /// The state is compacted at the end, so no byte of the erased records is left in the
    /// directory. Prints the erased customer and its records (SOURCE:ID, one per line: what a
    /// host deletes downstream). A key shared by several customers (an office phone,
    /// info@company.nl) is refused, listing them; erase each by record then.
    ///
    /// With --suppress the erased keys also go on the state's suppression list (keyed
    /// hashes under the secret in the environment variable IDSTITCH_SUPPRESSION_SECRET,
    /// never the values): later records carrying them are stored but link nothing through
    /// them. Every later command on that state needs the same variable set.
    #[command(group(clap::ArgGroup::new("target").required(true).args(["record", "key"])))]
    Erase {
        /// The state directory.
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
        /// A record of the person, SOURCE:ID.
        #[arg(long, value_name = "SOURCE:ID")]
        record: Option<RecordArg>,
        /// A key of the person, KIND=VALUE (the value is normalised as on ingest).
        #[arg(long, value_name = "KIND=VALUE")]
        key: Option<String>,
        /// Also suppress the erased keys (secret in IDSTITCH_SUPPRESSION_SECRET).
        #[arg(long)]
        suppress: bool,
    },
    /// Write every customer's journey stage as of a time, as CSV.
    ///
    /// One row per customer: `customer_id,stage,reason,last_event_at,engagement_30d,
    /// purchases_365d` (the stage by the built-in rules, the reason with its figures, the last
    /// event's time or empty, engagement events in the 30 days and purchases in the 365 days
    /// before --now), and `stage_at_since` with --since. The mapping's `[[events]]` files are
    /// read with its sources. With --customers, the record assignment of the same run
    /// (`source,record_id,customer_id`) goes to that file.
    Stages {
        /// The mapping file.
        mapping: PathBuf,
        /// The time the stages are as of: RFC 3339 or YYYY-MM-DD.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        now: Timestamp,
        /// Write the CSV to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also write each record's customer to this file.
        #[arg(long, value_name = "FILE")]
        customers: Option<PathBuf>,
        /// Add each customer's stage as of this earlier time (column stage_at_since).
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        since: Option<Timestamp>,
        /// Read the customers from this state directory instead of the mapping's files.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// Also write a report a marketer can open to this file: one self-contained HTML page
        /// with the stage distribution, the stage transitions of the 30 days before --now
        /// (each customer's stage at the end of each day against the day before) and the
        /// evaluation of the state's campaigns as of --now.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Fit the BG/NBD model to the customers' purchases and predict who is alive and who
    /// buys again.
    ///
    /// Each customer's purchase-class events as of --now give x (purchase days after the
    /// first, in UTC days), t_x (first to last purchase) and T (first purchase to --now); the
    /// model's parameters (r, alpha, a, b) are fitted by maximum likelihood and printed with
    /// the log-likelihood on stderr. The CSV has one row per customer with a purchase:
    /// customer_id, x, t_x, T (in --unit), p_alive and expected_purchases in the next
    /// --horizon units.
    Predict {
        /// The mapping file.
        mapping: PathBuf,
        /// The time the histories are as of: RFC 3339 or YYYY-MM-DD.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        now: Timestamp,
        /// The unit of t_x, T, alpha and the horizon: days or weeks.
        #[arg(long, value_name = "UNIT", default_value = "weeks")]
        unit: TimeUnit,
        /// Predict the purchases of the next this many units.
        #[arg(long, value_name = "UNITS", default_value_t = 52.0)]
        horizon: f64,
        /// Write the CSV to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Read the customers from this state directory instead of the mapping's files.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
    },
    /// Campaigns of the mapping's `[[campaign]]` tables: assign groups, evaluate.
    Campaign {
        #[command(subcommand)]
        action: CampaignCommand,
    },
    /// Print the contact pressure per channel and stage as of a time.
    ///
    /// Per channel and stage: customers, counted contacts in the window, customers by contacts
    /// received (0, 1, 2–3, ≥ 4), reachable, saturated (at a cap) and under-reached (engaged,
    /// customer and loyal customers with no contact on the channel in 30 days).
    Pressure {
        /// The mapping file.
        mapping: PathBuf,
        /// The time the report is as of: RFC 3339 or YYYY-MM-DD.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        now: Timestamp,
        /// The window contacts are counted in, in days.
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        window_days: u32,
        /// Write the table to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Read the customers from this state directory instead of the mapping's files.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
    },
    /// Compact a state directory: fold its journal into a new snapshot.
    ///
    /// Prints the new snapshot's generation, the records and customers it holds and the bytes
    /// the directory takes. `resolve --state` compacts at the end of every run already; this
    /// is for a state a run left uncompacted, or to see what it holds.
    Snapshot {
        /// The state directory.
        #[arg(long, value_name = "DIR")]
        state: PathBuf,
    },
}

/// `idstitch campaign …`.
#[derive(Debug, Subcommand)]
enum CampaignCommand {
    /// Assign the eligible customers to the campaign's groups and write
    /// `customer_id,group,decision,reason` as CSV.
    ///
    /// A customer's group is drawn once and kept (with --state, in the state: a later run
    /// gives the same groups). `decision` is `may_contact` on the campaign's channel for
    /// treatment customers (`yes`, or `no` with the reason), `no` for control ones (reason
    /// `holdout`).
    Assign {
        /// The mapping file, with the campaign's `[[campaign]]` table.
        mapping: PathBuf,
        /// The campaign's name.
        #[arg(long, value_name = "NAME")]
        campaign: String,
        /// The time of the assignment: RFC 3339 or YYYY-MM-DD.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        now: Timestamp,
        /// Only customers in these stages as of --now (comma-separated; default: all).
        #[arg(long, value_name = "STAGES", value_delimiter = ',')]
        stage: Vec<Stage>,
        /// Write the CSV to this file instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Assign in this state directory (journaled, compacted) instead of in memory.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
    },
    /// Print the campaign's evaluation as of a time: per group customers, converters and
    /// rates, the uplift with its 95 % interval and p-value, by stage and by channel.
    Report {
        /// The mapping file.
        mapping: PathBuf,
        /// The campaign's name.
        #[arg(long, value_name = "NAME")]
        campaign: String,
        /// The time the evaluation is as of: RFC 3339 or YYYY-MM-DD.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        now: Timestamp,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also write the marketer's report (HTML) with this campaign to this file.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Read the state directory (where the assignments were kept) instead of the files.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
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
        Command::Resolve { mapping, output, state: None } => {
            let run = load::resolve(&mapping)?;
            let out = Output::open(output.as_deref())?;
            let name = out.name();
            let written = write_assignments(&run.resolver, out)
                .map_err(|error| Failure::write(&name, &error))?;
            eprint!("{}", run.summary());
            eprintln!("\nwrote {written} rows to {name}");
            Ok(())
        }
        Command::Resolve { mapping, output, state: Some(dir) } => {
            let (state, run) = load::resolve_state(&mapping, &dir)?;
            let out = Output::open(output.as_deref())?;
            let name = out.name();
            let written =
                write_assignments(&state, out).map_err(|error| Failure::write(&name, &error))?;
            eprint!("{}", run.summary(&state));
            eprintln!("\nwrote {written} rows to {name}");
            eprintln!("state {}: snapshot generation {}", dir.display(), state.generation());
            Ok(())
        }
        Command::Explain { mapping, first, second, state } => {
            let loaded = load::Loaded::new(&mapping, state.as_deref())?;
            let resolver = loaded.resolver();
            let a = first.find(resolver)?;
            let b = second.find(resolver)?;
            let explanation = resolver
                .explain(a.source, &a.id, b.source, &b.id)
                .map_err(|error| Failure::new(error.to_string()))?;
            Output::stdout().write_text(&resolver.describe(&explanation))
        }
        Command::View { mapping, record, json, state } => {
            let loaded = load::Loaded::new(&mapping, state.as_deref())?;
            let resolver = loaded.resolver();
            let customer = record.find(resolver)?.customer;
            let view =
                resolver.customer_view(customer, &ViewConfig::default()).ok_or_else(|| {
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
        Command::Dot { mapping, record, output, state } => {
            let loaded = load::Loaded::new(&mapping, state.as_deref())?;
            let resolver = loaded.resolver();
            let customer = record.find(resolver)?.customer;
            let dot = resolver.customer_dot(customer).ok_or_else(|| {
                Failure::new(format!("customer {customer} of {record} has no graph"))
            })?;
            Output::open(output.as_deref())?.write_text(&dot)
        }
        Command::Erase { state: dir, record, key, suppress } => {
            if suppress && load::suppression_secret().is_none() {
                return Err(Failure::new(format!(
                    "erase --suppress needs the suppression secret in the environment variable \
                     {}",
                    load::SUPPRESSION_SECRET_ENV
                )));
            }
            let mut state = load::open_state(&dir, None)?;
            let target = match (record, key) {
                (Some(record), _) => {
                    let source = state.source_id(record.source.trim()).ok_or_else(|| {
                        Failure::new(format!("no source {:?} in {}", record.source, dir.display()))
                    })?;
                    EraseTarget::record(source, record.id)
                }
                (None, Some(key)) => {
                    let (kind, value) = key.split_once('=').ok_or_else(|| {
                        Failure::new(format!("--key {key:?}: expected KIND=VALUE"))
                    })?;
                    let kind = state.kind_id(kind.trim()).ok_or_else(|| {
                        Failure::new(format!("no key kind {kind:?} in {}", dir.display()))
                    })?;
                    EraseTarget::key(kind, value)
                }
                (None, None) => return Err(Failure::new("give --record or --key")),
            };
            let erasure =
                if suppress { state.erase_and_suppress(target) } else { state.erase(target) };
            let erasure = erasure.map_err(|error| Failure::state("erase in", &dir, &error))?;
            let mut text = format!(
                "erased customer {} from {}: {} records\n",
                erasure.customer,
                dir.display(),
                erasure.records.len()
            );
            if suppress {
                eprintln!(
                    "suppressed {} keys ({} on the list)",
                    erasure.suppressed,
                    state.n_suppressed()
                );
            }
            for (source, id) in &erasure.records {
                let name = state.source_name(*source).unwrap_or("?");
                text.push_str(&format!("{name}:{id}\n"));
            }
            Output::stdout().write_text(&text)
        }
        Command::Predict { mapping, now, unit, horizon, output, state } => {
            let loaded = load::Loaded::new(&mapping, state.as_deref())?;
            let resolver = loaded.resolver();
            let fit = resolver
                .fit_purchase_model(now, unit)
                .map_err(|error| Failure::new(format!("cannot fit the model: {error}")))?;
            eprintln!("{fit}");
            let predictions = resolver
                .predictions(now, &fit.model, horizon)
                .map_err(|error| Failure::new(format!("cannot predict: {error}")))?;
            let out = Output::open(output.as_deref())?;
            let name = out.name();
            let written = output::write_predictions(&predictions, unit, out)
                .map_err(|error| Failure::write(&name, &error))?;
            eprintln!("wrote {written} customers' predictions as of {now} to {name}");
            Ok(())
        }
        Command::Stages { mapping, now, output, customers, since, state, html } => {
            let loaded = load::Loaded::new(&mapping, state.as_deref())?;
            let resolver = loaded.resolver();
            let out = Output::open(output.as_deref())?;
            let name = out.name();
            let written = output::write_stages(resolver, now, since, out)
                .map_err(|error| Failure::write(&name, &error))?;
            eprintln!("wrote {written} customers' stages as of {now} to {name}");
            if let Some(path) = customers {
                let out = Output::open(Some(&path))?;
                let name = out.name();
                let rows = write_assignments(resolver, out)
                    .map_err(|error| Failure::write(&name, &error))?;
                eprintln!("wrote {rows} rows to {name}");
            }
            if let Some(path) = html {
                let title = mapping.file_stem().map_or("idstitch".into(), |s| s.to_string_lossy());
                let mut data = ReportData::from_resolver(resolver, title, now);
                data.transitions = Transition::day_by_day(resolver, now);
                let out = Output::open(Some(&path))?;
                let name = out.name();
                out.write_text(&render_html(&data))?;
                eprintln!("wrote the report as of {now} to {name}");
            }
            Ok(())
        }
        Command::Campaign { action } => match action {
            CampaignCommand::Assign { mapping, campaign, now, stage, output, state } => {
                campaign::assign(
                    &mapping,
                    state.as_deref(),
                    &campaign,
                    now,
                    &stage,
                    output.as_deref(),
                )
            }
            CampaignCommand::Report { mapping, campaign, now, json, html, state } => {
                campaign::report(&mapping, state.as_deref(), &campaign, now, json, html.as_deref())
            }
        },
        Command::Pressure { mapping, now, window_days, output, state } => {
            campaign::pressure(&mapping, state.as_deref(), now, window_days, output.as_deref())
        }
        Command::Snapshot { state: dir } => {
            let mut state = load::open_state(&dir, None)?;
            state.compact().map_err(|error| Failure::state("compact", &dir, &error))?;
            let bytes = output::dir_bytes(&dir)
                .map_err(|error| Failure::new(format!("cannot read {}: {error}", dir.display())))?;
            Output::stdout().write_text(&format!(
                "{}: snapshot generation {}, {} records, {} customers, {bytes} bytes\n",
                dir.display(),
                state.generation(),
                state.n_records(),
                state.n_customers(),
            ))
        }
    }
}

/// A time argument: RFC 3339 or `YYYY-MM-DD` (midnight UTC).
fn parse_time(text: &str) -> Result<Timestamp, String> {
    parse_timestamp(text).ok_or_else(|| "not a time (RFC 3339 or YYYY-MM-DD)".to_string())
}
