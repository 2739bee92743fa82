//! Writes the sample exports in `examples/data/` that `publisher.toml` maps: one file per source
//! of the generated publisher (`idstitch_testkit::synth`, 300 people, seed 2026), as its system
//! would export it.
//!
//! `cargo run --features serde_json,sqlite --example make_sample_data [-- OUT_DIR [PEOPLE]]`
//!
//! With a larger `PEOPLE` (default 300) it makes input for measuring the file path, e.g.
//! `-- /tmp/big 100000` and then `resolve_csv` on a copy of `publisher.toml` in `/tmp/big`.
//!
//! The files differ the way real exports do: each system names its columns its own way, the
//! legacy CRM writes `, ` between fields (header included) and some dates as `DD-MM-YYYY`
//! (counted as bad timestamps when read), the partner writes times with a `+01:00` offset, and
//! web analytics exports JSON Lines with `null` for what it does not know, and the event
//! agency's registrations are a table in a SQLite database (`publisher.sqlite`, `NULL` for an
//! empty cell). The values are the
//! generator's own, noise included, so resolving the files through `publisher.toml` gives
//! the customers that resolving the generated records with `synth::resolver_builder` gives
//! (`tests/mapping.rs` checks it).
//!
//! Besides, it writes the account managers' mailbox (`account_managers.mbox`) and the web
//! shop's GA4 daily export (`ga4_events.jsonl`) of the CRM's people (`sample/sources.rs`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use idstitch_testkit::synth::{self, SynthConfig, SynthRecord};

#[path = "sample/sources.rs"]
mod sources;

/// People behind the sample, unless the command line says otherwise.
const PEOPLE: usize = 300;
/// The generator's seed.
const SEED: u64 = 2026;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let people = match std::env::args().nth(2) {
        Some(n) => n.parse().map_err(|_| format!("PEOPLE must be a number, not {n:?}"))?,
        None => PEOPLE,
    };
    let out: PathBuf = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/data"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&out)?;
    let data = synth::generate(&SynthConfig::new(people, SEED));
    let of = |source: &'static str| data.records.iter().filter(move |r| r.source == source);

    // (column, what goes in it) per CSV source.
    let crm: &[(&str, Field)] = &[
        ("record_id", Field::Id),
        ("customer_no", Field::Key("customer_no")),
        ("email", Field::Key("email")),
        ("phone", Field::Key("phone")),
        ("given_name", Field::Attr("given_name")),
        ("surname", Field::Attr("surname")),
        ("date_of_birth", Field::Attr("date_of_birth")),
        ("postcode", Field::Attr("postcode")),
        ("house_number", Field::Attr("house_number")),
        ("city", Field::Attr("city")),
        ("updated_at", Field::Time(TimeStyle::Utc)),
    ];
    let legacy: &[(&str, Field)] = &[
        ("id", Field::Id),
        ("legacy_no", Field::Key("legacy_no")),
        ("customer_no", Field::Key("customer_no")),
        ("e_mail", Field::Key("email")),
        ("telephone", Field::Key("phone")),
        ("first_name", Field::Attr("given_name")),
        ("last_name", Field::Attr("surname")),
        ("birth_date", Field::Attr("date_of_birth")),
        ("zip", Field::Attr("postcode")),
        ("house_no", Field::Attr("house_number")),
        ("town", Field::Attr("city")),
        ("last_modified", Field::Time(TimeStyle::DateSometimesDutch)),
    ];
    let partner: &[(&str, Field)] = &[
        ("partner_id", Field::Id),
        ("email", Field::Key("email")),
        ("phone", Field::Key("phone")),
        ("first_name", Field::Attr("given_name")),
        ("surname", Field::Attr("surname")),
        ("born", Field::Attr("date_of_birth")),
        ("postcode", Field::Attr("postcode")),
        ("house_number", Field::Attr("house_number")),
        ("city", Field::Attr("city")),
        ("modified", Field::Time(TimeStyle::Amsterdam)),
    ];
    let helpdesk: &[(&str, Field)] = &[
        ("ticket_id", Field::Id),
        ("customer_no", Field::Key("customer_no")),
        ("email", Field::Key("email")),
        ("phone", Field::Key("phone")),
        ("given_name", Field::Attr("given_name")),
        ("surname", Field::Attr("surname")),
        ("opened_at", Field::Time(TimeStyle::Utc)),
    ];
    let events: &[(&str, Field)] = &[
        ("registration_id", Field::Id),
        ("email", Field::Key("email")),
        ("phone", Field::Key("phone")),
        ("given_name", Field::Attr("given_name")),
        ("surname", Field::Attr("surname")),
        ("company", Field::Attr("company")),
        ("registered_at", Field::Time(TimeStyle::Utc)),
    ];
    let newsletter: &[(&str, Field)] =
        &[("subscriber_id", Field::Id), ("email", Field::Key("email"))];

    write_csv(&out.join("crm.csv"), crm, of("crm"), ",")?;
    write_csv(&out.join("legacy_crm.csv"), legacy, of("legacy_crm"), ", ")?;
    write_csv(&out.join("partner.csv"), partner, of("partner"), ",")?;
    write_csv(&out.join("helpdesk.csv"), helpdesk, of("helpdesk"), ",")?;
    write_sqlite(&out.join("publisher.sqlite"), "registrations", events, of("events"))?;
    write_csv(&out.join("newsletter.csv"), newsletter, of("newsletter"), ",")?;

    let mut web = BufWriter::new(File::create(out.join("web.jsonl"))?);
    for r in of("web") {
        let key = |kind: &str| key(r, kind).map_or(serde_json::Value::Null, Into::into);
        let line = serde_json::json!({
            "client_id": r.external_id,
            "cookie": key("cookie"),
            "ip": key("ip"),
            "device": key("device"),
            "login_email": key("email"),
        });
        writeln!(web, "{line}")?;
    }
    web.flush()?;

    // The account managers' mailbox and the web shop's GA4 export, of the CRM's people.
    let messages = sources::write_mailbox(&out.join("account_managers.mbox"), of("crm"))?;
    let ga4_rows = sources::write_ga4(&out.join("ga4_events.jsonl"), of("crm"))?;

    for (source, n) in data.records_per_source() {
        println!("{source:<12} {n:>5} records");
    }
    println!("mailbox      {messages:>5} messages");
    println!("ga4          {ga4_rows:>5} rows");
    println!("written to {}", out.display());
    Ok(())
}

#[derive(Clone, Copy)]
enum Field {
    Id,
    Key(&'static str),
    Attr(&'static str),
    Time(TimeStyle),
}

#[derive(Clone, Copy)]
enum TimeStyle {
    /// `2024-05-01T07:30:00Z`
    Utc,
    /// `2024-05-01T09:30:00+02:00`, with the Dutch summer-time offset for April–October.
    Amsterdam,
    /// `2024-05-01`, but one row in 25 as `01-05-2024`, as a spreadsheet would.
    DateSometimesDutch,
}

fn key<'a>(r: &'a SynthRecord, kind: &str) -> Option<&'a str> {
    r.keys.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.as_str())
}

fn write_csv<'a>(
    path: &std::path::Path,
    columns: &[(&str, Field)],
    records: impl Iterator<Item = &'a SynthRecord>,
    separator: &str,
) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    let header: Vec<String> = columns.iter().map(|(c, _)| c.to_string()).collect();
    writeln!(out, "{}", join(&header, separator))?;
    for (row, r) in records.enumerate() {
        writeln!(out, "{}", join(&fields(columns, r, row), separator))?;
    }
    out.flush()
}

/// A record's cells, one per column, as its system writes them (`""` for no value).
fn fields(columns: &[(&str, Field)], r: &SynthRecord, row: usize) -> Vec<String> {
    columns
        .iter()
        .map(|&(_, field)| match field {
            Field::Id => r.external_id.clone(),
            Field::Key(kind) => key(r, kind).unwrap_or_default().to_string(),
            Field::Attr(name) => attribute(r, name).unwrap_or_default().to_string(),
            Field::Time(style) => r
                .attributes
                .first()
                .and_then(|a| a.observed_at)
                .map_or_else(String::new, |t| format_time(t.0, style, row)),
        })
        .collect()
}

/// Writes the records as table `table` of a new SQLite database at `path` (replacing the
/// file), every column `TEXT`, `NULL` where a CSV file would have an empty cell.
fn write_sqlite<'a>(
    path: &std::path::Path,
    table: &str,
    columns: &[(&str, Field)],
    records: impl Iterator<Item = &'a SynthRecord>,
) -> Result<(), Box<dyn std::error::Error>> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let mut db = rusqlite::Connection::open(path)?;
    let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
    let types: Vec<String> = names.iter().map(|c| format!("{c} TEXT")).collect();
    db.execute(
        &format!("CREATE TABLE {table} ({}, PRIMARY KEY ({}))", types.join(", "), names[0]),
        [],
    )?;
    let insert = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        vec!["?"; names.len()].join(", ")
    );
    let tx = db.transaction()?;
    {
        let mut statement = tx.prepare(&insert)?;
        for (row, r) in records.enumerate() {
            let cells: Vec<Option<String>> = fields(columns, r, row)
                .into_iter()
                .map(|f| Some(f).filter(|f| !f.is_empty()))
                .collect();
            statement.execute(rusqlite::params_from_iter(cells))?;
        }
    }
    tx.commit()?;
    // One file, no journal left beside it, pages packed.
    db.execute_batch("VACUUM")?;
    Ok(())
}

/// Joins fields, quoting those that need it (a quoted field never gets a leading space, which
/// would hide its quote from a CSV reader).
fn join(fields: &[String], separator: &str) -> String {
    let mut line = String::new();
    for (i, f) in fields.iter().enumerate() {
        let quote = f.contains([',', '"', '\n', '\r']);
        if i > 0 {
            line.push_str(if quote { "," } else { separator });
        }
        if quote {
            line.push('"');
            line.push_str(&f.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(f);
        }
    }
    line
}

fn attribute<'a>(r: &'a SynthRecord, name: &str) -> Option<&'a str> {
    r.attributes.iter().find(|a| *a.name == *name).map(|a| a.value.as_str())
}

fn format_time(seconds: i64, style: TimeStyle, row: usize) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let s = seconds.rem_euclid(86_400);
    match style {
        TimeStyle::Utc => {
            format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
        }
        TimeStyle::Amsterdam => {
            let offset = if (4..=10).contains(&m) { 2 } else { 1 };
            let local = seconds + offset * 3600;
            let (y, m, d) = civil_from_days(local.div_euclid(86_400));
            let s = local.rem_euclid(86_400);
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+{offset:02}:00",
                s / 3600,
                s / 60 % 60,
                s % 60
            )
        }
        TimeStyle::DateSometimesDutch if row % 25 == 7 => format!("{d:02}-{m:02}-{y:04}"),
        TimeStyle::DateSometimesDutch => format!("{y:04}-{m:02}-{d:02}"),
    }
}

/// The proleptic Gregorian date of a day number since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
