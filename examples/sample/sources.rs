//! The sample's mailbox and GA4 export, made from the generated publisher: the account
//! managers' mail with the CRM's people (`account_managers.mbox`), and the web shop's GA4
//! daily export (`ga4_events.jsonl`).
//!
//! The GA4 rows follow Google's "[GA4] BigQuery Export schema"
//! (<https://support.google.com/analytics/answer/7029846>, also
//! <https://developers.google.com/analytics/bigquery/event-schema>): `event_date` (STRING,
//! YYYYMMDD), `event_timestamp` (INTEGER, microseconds UTC; BigQuery's JSON writes INT64 as a
//! string, so every third row does too), `event_name`, `event_params` (an array of `key` and
//! `value` {`string_value`, `int_value`, `float_value`, `double_value`}), `user_pseudo_id`,
//! `user_id` (null before a visitor logs in), `device` {`category`, `operating_system`},
//! `geo` {`country`, `city`}, `ecommerce` {`purchase_revenue`, `transaction_id`} and `items`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use idstitch_testkit::synth::SynthRecord;

/// The account managers: the mailbox's owners.
pub const OWNERS: [&str; 2] = ["anna@publisher.nl", "mark@publisher.nl"];

/// 2025-07-01T00:00:00Z, the start of the sample's year of behaviour.
const YEAR_START: i64 = 20_270 * 86_400;

/// SplitMix64: a small fixed generator, so the files are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A CRM person the sample writes to: address and name.
struct Person {
    email: String,
    name: String,
}

fn key<'a>(r: &'a SynthRecord, kind: &str) -> Option<&'a str> {
    r.keys.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.as_str())
}

fn attribute<'a>(r: &'a SynthRecord, name: &str) -> Option<&'a str> {
    r.attributes.iter().find(|a| *a.name == *name).map(|a| a.value.as_str())
}

/// The CRM's people with a clean address (the generator's noisy ones stay in the CRM).
fn people<'a>(crm: impl Iterator<Item = &'a SynthRecord>) -> Vec<Person> {
    crm.filter_map(|r| {
        let email = key(r, "email")?;
        let clean = email.contains('@') && !email.contains(char::is_whitespace);
        let name = format!("{} {}", attribute(r, "given_name")?, attribute(r, "surname")?);
        clean.then(|| Person { email: email.to_string(), name })
    })
    .collect()
}

/// `name` as an RFC 2047 encoded word: Q in UTF-8, or B in ISO-8859-1 when it fits.
fn encoded(name: &str, style: usize) -> String {
    let latin1: Option<Vec<u8>> = name.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
    match (style, latin1) {
        (1, Some(bytes)) => format!("=?ISO-8859-1?B?{}?=", base64(&bytes)),
        _ => {
            let mut out = String::from("=?UTF-8?Q?");
            for b in name.bytes() {
                match b {
                    b' ' => out.push('_'),
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => out.push(char::from(b)),
                    _ => out.push_str(&format!("={b:02X}")),
                }
            }
            out.push_str("?=");
            out
        }
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
        for _ in chunk.len()..3 {
            out.push('=');
        }
    }
    out
}

/// RFC 5322 date of `seconds` (UTC written as +0000).
fn rfc5322(seconds: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = seconds.div_euclid(86_400);
    let (y, m, d) = super::publisher_files::civil_from_days(days);
    let s = seconds.rem_euclid(86_400);
    format!(
        "{}, {d} {} {y} {:02}:{:02}:{:02} +0000",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Writes `account_managers.mbox`: 300 messages between the owners and 60 of the CRM's
/// people, plus two outside correspondents with accented names. Every 7th name is a Q-encoded
/// word, every 11th a B-encoded ISO-8859-1 one; every 40th message has no Date; one message
/// has no header at all; some bodies quote a `>From ` line. Returns the messages written.
pub fn write_mailbox<'a>(
    path: &Path,
    crm: impl Iterator<Item = &'a SynthRecord>,
) -> std::io::Result<usize> {
    let mut people = people(crm);
    people.truncate(60);
    people
        .push(Person {
            email: "juergen.mueller@example.de".into(), name: "Jürgen Müller".into()
        });
    people.push(Person { email: "rene.dupont@example.fr".into(), name: "René Dupont".into() });
    const SUBJECTS: [&str; 6] =
        ["Renewal", "Invoice", "Your subscription", "Café event", "Advertising rates", "Meeting"];
    let mut rng = Rng(2026);
    let mut out = BufWriter::new(File::create(path)?);
    let n = 300;
    for i in 0..n {
        let person = &people[rng.below(people.len())];
        let owner = OWNERS[i % 2];
        let at = YEAR_START + (rng.below(365 * 86_400)) as i64;
        let name = if i % 7 == 0 {
            encoded(&person.name, 0)
        } else if i % 11 == 0 {
            encoded(&person.name, 1)
        } else {
            format!("\"{}\"", person.name)
        };
        let contact = format!("{name} <{}>", person.email);
        let (from, to) = if i % 3 == 0 {
            (contact.clone(), owner.to_string())
        } else {
            (owner.to_string(), contact)
        };
        let sender = if i % 3 == 0 { &person.email } else { owner };
        writeln!(out, "From {sender} Mon Jan  5 00:00:00 2026")?;
        if i == 150 {
            // A message whose header was lost: no header at all.
            writeln!(out, "\nthe rest of a message whose header was lost\n")?;
            continue;
        }
        writeln!(out, "From: {from}")?;
        writeln!(out, "To: {to}")?;
        if i % 5 == 0 {
            let other = &people[rng.below(people.len())];
            writeln!(out, "Cc: \"{}\" <{}>", other.name, other.email)?;
        }
        if i % 13 == 0 {
            writeln!(out, "Reply-To: {}", OWNERS[(i + 1) % 2])?;
        }
        if i % 40 != 3 {
            writeln!(out, "Date: {}", rfc5322(at))?;
        }
        let subject = SUBJECTS[rng.below(SUBJECTS.len())];
        let subject = if subject.is_ascii() { subject.to_string() } else { encoded(subject, 0) };
        writeln!(out, "Subject: {subject}")?;
        writeln!(out, "Message-ID: <{i}.sample@publisher.nl>")?;
        writeln!(out, "\nHello,\n")?;
        if i % 9 == 0 {
            writeln!(out, ">From the desk of {owner}: see below.")?;
        }
        writeln!(out, "Kind regards\n")?;
    }
    out.flush()?;
    Ok(n)
}

/// Writes `ga4_events.jsonl`: a year of web shop events of 70 visitors, 40 of whom log in
/// with a CRM customer number after their first visit (their earlier rows have `user_id`
/// null) and 30 who never do; page views, searches, purchases, and events the mapping does not
/// read (`session_start`, `scroll`). Returns the rows written.
pub fn write_ga4<'a>(
    path: &Path,
    crm: impl Iterator<Item = &'a SynthRecord>,
) -> std::io::Result<usize> {
    let numbers: Vec<&str> = crm.filter_map(|r| key(r, "customer_no")).take(40).collect();
    const PAGES: [&str; 5] =
        ["Home", "Pensions explained", "Mortgage rates", "Atlas of the Netherlands", "Contact"];
    const SEARCHES: [&str; 4] = ["mortgage", "pension", "atlas", "subscription"];
    const PRODUCTS: [(&str, f64); 3] =
        [("Atlas", 59.0), ("Yearbook", 24.5), ("Subscription", 120.0)];
    const DEVICES: [(&str, &str); 3] =
        [("mobile", "Android"), ("desktop", "Windows"), ("tablet", "iOS")];
    let mut rng = Rng(4);
    let mut out = BufWriter::new(File::create(path)?);
    let mut rows = 0;
    for visitor in 0..70 {
        let pseudo = format!(
            "{}.{}",
            1_000_000_000 + rng.below(999_999_999),
            1_700_000_000 + rng.below(60_000_000)
        );
        let user = numbers.get(visitor).copied();
        let (category, os) = DEVICES[rng.below(DEVICES.len())];
        // At most 200 days, then up to 8 visits of up to 20 days: all within the year.
        let mut at = YEAR_START + rng.below(200 * 86_400) as i64;
        for visit in 0..(3 + rng.below(6)) {
            at += 3600 + rng.below(20 * 86_400) as i64;
            let (name, params, ecommerce, items) = match rng.below(10) {
                0 => ("session_start", vec![], None, None),
                1 => ("scroll", vec![("percent_scrolled", Value::Int(90))], None, None),
                2 | 3 => {
                    let term = SEARCHES[rng.below(SEARCHES.len())];
                    (
                        "view_search_results",
                        vec![("search_term", Value::Text(term.into()))],
                        None,
                        None,
                    )
                }
                4 => {
                    let (product, price) = PRODUCTS[rng.below(PRODUCTS.len())];
                    let params = vec![
                        ("page_title", Value::Text("Thank you".into())),
                        ("value", Value::Double(price)),
                        ("currency", Value::Text("EUR".into())),
                    ];
                    let transaction = format!("T{visitor}-{visit}");
                    let ecommerce = serde_json::json!({
                        "purchase_revenue": price, "purchase_revenue_in_usd": price * 1.1,
                        "transaction_id": transaction, "total_item_quantity": 1, "unique_items": 1,
                    });
                    let items = serde_json::json!([{ "item_name": product, "price": price, "quantity": 1 }]);
                    ("purchase", params, Some(ecommerce), Some(items))
                }
                _ => {
                    let page = PAGES[rng.below(PAGES.len())];
                    (
                        "page_view",
                        vec![
                            ("page_title", Value::Text(page.into())),
                            ("engagement_time_msec", Value::Int(4000)),
                        ],
                        None,
                        None,
                    )
                }
            };
            let micros = at * 1_000_000 + rng.below(1_000_000) as i64;
            let timestamp = if rows % 3 == 1 {
                serde_json::json!(micros.to_string())
            } else {
                serde_json::json!(micros)
            };
            let (y, m, d) = super::publisher_files::civil_from_days(at.div_euclid(86_400));
            let event_params: Vec<serde_json::Value> = params
                .iter()
                .map(|(key, value)| serde_json::json!({ "key": key, "value": value.json() }))
                .collect();
            let logged_in = user.filter(|_| visit > 0);
            let row = serde_json::json!({
                "event_date": format!("{y:04}{m:02}{d:02}"),
                "event_timestamp": timestamp,
                "event_name": name,
                "event_params": event_params,
                "event_bundle_sequence_id": rows,
                "user_id": logged_in,
                "user_pseudo_id": pseudo,
                "device": { "category": category, "operating_system": os, "web_info": { "browser": "Chrome" } },
                "geo": { "country": "Netherlands", "city": "Utrecht" },
                "platform": "WEB",
                "ecommerce": ecommerce,
                "items": items.unwrap_or_else(|| serde_json::json!([])),
            });
            writeln!(out, "{row}")?;
            rows += 1;
        }
    }
    out.flush()?;
    Ok(rows)
}

/// An `event_params` value as the export writes it: one of the four typed fields set.
enum Value {
    Text(String),
    Int(i64),
    Double(f64),
}

impl Value {
    fn json(&self) -> serde_json::Value {
        let (s, i, d) = match self {
            Value::Text(t) => (Some(t.clone()), None, None),
            // BigQuery's JSON writes INT64 as a string.
            Value::Int(v) => (None, Some(v.to_string()), None),
            Value::Double(v) => (None, None, Some(*v)),
        };
        serde_json::json!({ "string_value": s, "int_value": i, "float_value": null, "double_value": d })
    }
}
