//! The generated publisher's records written as its seven systems would export them: the
//! files `examples/data/publisher.toml` maps (shared by `make_sample_data`, `file_scale` and
//! `tests/file_path.rs`).

// Each includer uses a part of it.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use idstitch_testkit::synth::{SynthData, SynthRecord};

/// Where the event agency's registrations go.
pub enum Registrations {
    /// `events.csv`, beside the other files.
    Csv,
    /// Not written here: the caller writes them (`make_sample_data`: a SQLite table).
    Elsewhere,
}

/// Writes `crm.csv`, `legacy_crm.csv`, `partner.csv`, `helpdesk.csv`, `events.csv` (as
/// `registrations` says), `newsletter.csv` and `web.jsonl` of `data` into `out`.
pub fn write_publisher_files(
    out: &Path,
    data: &SynthData,
    registrations: Registrations,
) -> std::io::Result<()> {
    let of = |source: &'static str| data.records.iter().filter(move |r| r.source == source);

    write_csv(&out.join("crm.csv"), CRM, of("crm"), ",")?;
    write_csv(&out.join("legacy_crm.csv"), LEGACY, of("legacy_crm"), ", ")?;
    write_csv(&out.join("partner.csv"), PARTNER, of("partner"), ",")?;
    write_csv(&out.join("helpdesk.csv"), HELPDESK, of("helpdesk"), ",")?;
    if let Registrations::Csv = registrations {
        write_csv(&out.join("events.csv"), REGISTRATIONS, of("events"), ",")?;
    }
    write_csv(&out.join("newsletter.csv"), NEWSLETTER, of("newsletter"), ",")?;

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

    Ok(())
}

// (column, what goes in it) per source.
const CRM: &[(&str, Field)] = &[
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
const LEGACY: &[(&str, Field)] = &[
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
const PARTNER: &[(&str, Field)] = &[
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
const HELPDESK: &[(&str, Field)] = &[
    ("ticket_id", Field::Id),
    ("customer_no", Field::Key("customer_no")),
    ("email", Field::Key("email")),
    ("phone", Field::Key("phone")),
    ("given_name", Field::Attr("given_name")),
    ("surname", Field::Attr("surname")),
    ("opened_at", Field::Time(TimeStyle::Utc)),
];
/// The event agency's registrations (`make_sample_data` writes them as a SQLite table).
pub const REGISTRATIONS: &[(&str, Field)] = &[
    ("registration_id", Field::Id),
    ("email", Field::Key("email")),
    ("phone", Field::Key("phone")),
    ("given_name", Field::Attr("given_name")),
    ("surname", Field::Attr("surname")),
    ("company", Field::Attr("company")),
    ("registered_at", Field::Time(TimeStyle::Utc)),
];
const NEWSLETTER: &[(&str, Field)] =
    &[("subscriber_id", Field::Id), ("email", Field::Key("email"))];

#[derive(Clone, Copy)]
pub enum Field {
    Id,
    Key(&'static str),
    Attr(&'static str),
    Time(TimeStyle),
}

#[derive(Clone, Copy)]
pub enum TimeStyle {
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

/// Joins fields, quoting those that need it (a quoted field never gets a leading space, which
/// would hide its quote from a CSV reader).
/// A record's cells, one per column, as its system writes them (`""` for no value).
pub fn fields(columns: &[(&str, Field)], r: &SynthRecord, row: usize) -> Vec<String> {
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
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
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
