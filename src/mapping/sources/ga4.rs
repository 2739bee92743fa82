//! GA4 daily exports (`format = "ga4"`, feature `ga4`): JSON Lines rows of the BigQuery
//! export's `events_YYYYMMDD` table, one event per row.
//!
//! The schema is Google's "[GA4] BigQuery Export schema"
//! (<https://support.google.com/analytics/answer/7029846>, also
//! <https://developers.google.com/analytics/bigquery/event-schema>). Fields read:
//!
//! | field | use |
//! |---|---|
//! | `user_pseudo_id` (STRING) | the record's id and its `cookie` key; a row without one makes nothing (counted) |
//! | `user_id` (STRING) | a key of the source's `user_id_kind` (default `customer_no`) on the pseudo id's record; missing or `null` is no key |
//! | `event_timestamp` (INTEGER, microseconds since the epoch, UTC) | the event's time, truncated to the second; a JSON number or a string of digits (BigQuery's JSON writes INT64 as strings) |
//! | `event_name` (STRING) | the event kind, through the source's table ([`GA4_DEFAULT_EVENTS`](super::GA4_DEFAULT_EVENTS): `page_view`, `search` and `view_search_results` → `search`, `purchase` → `order`); other names are counted, not read |
//! | `event_params` (REPEATED RECORD of `key` and `value` {`string_value`, `int_value`, `float_value`, `double_value`}) | `search_term` or `page_title` (string) as the topic; `value` as the value when the row has no revenue |
//! | `ecommerce.purchase_revenue` (FLOAT) | the value (an order's amount) |
//! | `items[].item_name` (STRING) | the topic of a row with no `search_term` (a purchase's first item) |
//! | `device.category`, `geo.country` (STRING) | attributes `device_category` and `country` of the record, from its latest row |
//!
//! Other fields are ignored; `null` is the same as a missing field. Topic: `search_term`,
//! else the first item's `item_name`, else `page_title`. Events get channel `web`.
//!
//! **Records.** One per `user_pseudo_id`, gathered over all rows: its `cookie` key, one key
//! per distinct `user_id` seen with it, and the device and country attributes of its latest
//! row (observed at that row's time). A row whose `event_timestamp` is missing or not a
//! number still gives its ids (counted in [`SourceReport::bad_timestamps`]).
//!
//! **Errors.** A line that is not JSON, or a field of the wrong JSON type (an `event_name`
//! that is a number, `event_params` that is not an array), stops the read with
//! [`MappingError::InvalidJson`] naming file, line and column, as the JSON Lines reader does;
//! blank lines are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;

use super::Ga4Options;
use crate::behaviour::{EventInput, EventKind, EventKinds};
use crate::ids::{KindId, SourceId};
use crate::input::record::{Attribute, RecordInput, Timestamp};
use crate::mapping::chunk::Chunk;
use crate::mapping::error::MappingError;
use crate::mapping::events::{fill, EventRowProblem, EventsRead, Fields};
#[cfg(doc)]
use crate::mapping::input::SourceReport;
use crate::mapping::row::Plan;

/// A number as BigQuery's JSON writes it: a JSON number, or a string holding one.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum Loose {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Loose {
    fn as_i64(&self) -> Option<i64> {
        match self {
            Loose::Int(v) => Some(*v),
            Loose::Float(_) => None,
            Loose::Text(t) => t.trim().parse().ok(),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Loose::Int(v) => Some(*v as f64),
            Loose::Float(v) => Some(*v),
            Loose::Text(t) => t.trim().parse().ok(),
        }
        .filter(|v: &f64| v.is_finite())
    }
}

/// One row of the export, the fields read (see the module docs).
#[derive(Deserialize, Debug, Default)]
struct Row {
    event_timestamp: Option<Loose>,
    event_name: Option<String>,
    event_params: Option<Vec<Param>>,
    user_pseudo_id: Option<String>,
    user_id: Option<String>,
    device: Option<Device>,
    geo: Option<Geo>,
    ecommerce: Option<Ecommerce>,
    items: Option<Vec<Item>>,
}

#[derive(Deserialize, Debug)]
struct Param {
    key: Option<String>,
    value: Option<ParamValue>,
}

#[derive(Deserialize, Debug, Default)]
struct ParamValue {
    string_value: Option<String>,
    int_value: Option<Loose>,
    float_value: Option<Loose>,
    double_value: Option<Loose>,
}

#[derive(Deserialize, Debug)]
struct Device {
    category: Option<String>,
}

#[derive(Deserialize, Debug)]
struct Geo {
    country: Option<String>,
}

#[derive(Deserialize, Debug)]
struct Ecommerce {
    purchase_revenue: Option<Loose>,
}

#[derive(Deserialize, Debug)]
struct Item {
    item_name: Option<String>,
}

/// A non-empty trimmed text.
fn text(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

impl Row {
    fn param(&self, key: &str) -> Option<&ParamValue> {
        self.event_params
            .iter()
            .flatten()
            .find(|p| p.key.as_deref() == Some(key))
            .and_then(|p| p.value.as_ref())
    }

    fn param_text(&self, key: &str) -> Option<&str> {
        text(self.param(key).and_then(|v| v.string_value.as_ref()))
    }

    fn pseudo_id(&self) -> Option<&str> {
        text(self.user_pseudo_id.as_ref())
    }

    /// The time, or why there is none.
    fn at(&self) -> Result<Timestamp, (EventRowProblem, String)> {
        let micros =
            self.event_timestamp.as_ref().ok_or((EventRowProblem::EmptyTime, String::new()))?;
        let bad = || {
            let shown = match micros {
                Loose::Text(t) => t.clone(),
                Loose::Int(v) => v.to_string(),
                Loose::Float(v) => v.to_string(),
            };
            (EventRowProblem::BadTime, shown)
        };
        match micros {
            Loose::Text(t) if t.trim().is_empty() => {
                Err((EventRowProblem::EmptyTime, String::new()))
            }
            _ => micros.as_i64().map(|m| Timestamp(m.div_euclid(1_000_000))).ok_or_else(bad),
        }
    }

    fn topic(&self) -> Option<&str> {
        let first_item = self.items.iter().flatten().find_map(|i| text(i.item_name.as_ref()));
        self.param_text("search_term").or(first_item).or_else(|| self.param_text("page_title"))
    }

    fn value(&self) -> f64 {
        let revenue = self.ecommerce.as_ref().and_then(|e| e.purchase_revenue.as_ref());
        let param = self.param("value").and_then(|v| {
            v.double_value.as_ref().or(v.float_value.as_ref()).or(v.int_value.as_ref())
        });
        revenue.or(param).and_then(Loose::as_f64).unwrap_or(0.0)
    }
}

/// Calls `f` with every row of `files` (in order), its line; blank lines skipped.
fn for_each_row<E: From<MappingError>>(
    files: &[PathBuf],
    mut f: impl FnMut(u64, Row) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf = String::new();
    for file in files {
        let reader = File::open(file)
            .map_err(|error| MappingError::OpenInput { file: file.clone(), error })?;
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let mut line = 0u64;
        loop {
            buf.clear();
            let read = reader.read_line(&mut buf).map_err(|error| {
                // A line that is not UTF-8 is an I/O error of kind InvalidData here.
                MappingError::ReadInput { file: file.clone(), line: line + 1, error }
            })?;
            if read == 0 {
                break;
            }
            line += 1;
            if buf.trim().is_empty() {
                continue;
            }
            let row: Row = serde_json::from_str(&buf).map_err(|e| MappingError::InvalidJson {
                file: file.clone(),
                line,
                column: e.column() as u64,
                message: e.to_string(),
            })?;
            f(line, row)?;
        }
    }
    Ok(())
}

/// A pseudo id's record as gathered.
#[derive(Default)]
struct Gathered {
    user_ids: BTreeSet<String>,
    /// The latest row's time and its device and country.
    latest: Option<(Timestamp, Option<String>, Option<String>)>,
}

/// The records of a GA4 source's files, by pseudo id; counts in `plan.report`.
pub(super) fn records(
    files: &[PathBuf],
    plan: &mut Plan,
    kinds: &[KindId],
) -> Result<Vec<RecordInput>, MappingError> {
    let mut gathered: BTreeMap<String, Gathered> = BTreeMap::new();
    let report = &mut plan.report;
    for_each_row(files, |_, row| {
        report.records_read += 1;
        let Some(pseudo) = row.pseudo_id() else {
            report.empty_ids += 1;
            return Ok::<_, MappingError>(());
        };
        let held = match gathered.get_mut(pseudo) {
            Some(held) => held,
            None => gathered.entry(pseudo.to_string()).or_default(),
        };
        if let Some(user) = text(row.user_id.as_ref()) {
            if !held.user_ids.contains(user) {
                held.user_ids.insert(user.to_string());
            }
        }
        match row.at() {
            Ok(at) => {
                if held.latest.as_ref().is_none_or(|(held_at, _, _)| at >= *held_at) {
                    let device = row.device.as_ref().and_then(|d| text(d.category.as_ref()));
                    let country = row.geo.as_ref().and_then(|g| text(g.country.as_ref()));
                    held.latest =
                        Some((at, device.map(str::to_string), country.map(str::to_string)));
                }
            }
            Err(_) => report.bad_timestamps += 1,
        }
        Ok(())
    })?;
    let (cookie, user_kind) = match kinds {
        [cookie, user, ..] => (*cookie, *user),
        _ => (KindId(0), KindId(0)),
    };
    let (device_name, country_name): (Arc<str>, Arc<str>) =
        (Arc::from("device_category"), Arc::from("country"));
    Ok(gathered
        .into_iter()
        .map(|(pseudo, g)| {
            let mut record = RecordInput::new(plan.source, pseudo.clone());
            record.keys.push((cookie, pseudo));
            record.keys.extend(g.user_ids.into_iter().map(|u| (user_kind, u)));
            if let Some((at, device, country)) = g.latest {
                for (name, value) in [(&device_name, device), (&country_name, country)] {
                    if let Some(value) = value {
                        let name = Arc::clone(name);
                        record.attributes.push(Attribute { name, value, observed_at: Some(at) });
                    }
                }
            }
            record
        })
        .collect())
}

/// Streams the events of a GA4 source's files to `f`, `chunk` at a time; counts in `read`.
pub(super) fn events<E: From<MappingError>>(
    files: &[PathBuf],
    options: &Ga4Options,
    source: SourceId,
    kinds: &EventKinds,
    chunk: usize,
    read: &mut EventsRead,
    mut f: impl FnMut(&[EventInput]) -> Result<(), E>,
) -> Result<(), E> {
    let table: Vec<(&str, Option<crate::behaviour::EventKind>, &str)> = options
        .events
        .iter()
        .map(|(name, kind)| (name.as_str(), kinds.lookup(kind), kind.as_str()))
        .collect();
    let mut items = Chunk::new(chunk);
    let make = || EventInput::new(source, String::new(), EventKind::from_raw(0), Timestamp(0));
    for_each_row::<E>(files, |line, row| {
        read.rows += 1;
        let Some(pseudo) = row.pseudo_id() else {
            read.skip(line, EventRowProblem::EmptyRecordId, "");
            return Ok(());
        };
        let name = text(row.event_name.as_ref()).unwrap_or_default();
        if name.is_empty() {
            read.skip(line, EventRowProblem::EmptyKind, "");
            return Ok(());
        }
        // A name the table lacks, or one mapped to a kind the registry lacks (then the
        // example shows the kind).
        let kind = match table.iter().find(|(n, _, _)| *n == name) {
            None => {
                read.skip(line, EventRowProblem::UnknownKind, name);
                return Ok(());
            }
            Some((_, None, kind_name)) => {
                read.skip(line, EventRowProblem::UnknownKind, kind_name);
                return Ok(());
            }
            Some((_, Some(kind), _)) => *kind,
        };
        let at = match row.at() {
            Ok(at) => at,
            Err((problem, shown)) => {
                read.skip(line, problem, &shown);
                return Ok(());
            }
        };
        let fields = Fields {
            record: pseudo,
            kind,
            at,
            topic: row.topic(),
            value: row.value(),
            channel: Some("web"),
            id: None,
        };
        fill(items.slot(make), source, &fields);
        read.events += 1;
        items.commit(&mut f)
    })?;
    items.finish(&mut f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: &str) -> Row {
        serde_json::from_str(json).expect("valid row")
    }

    #[test]
    fn reads_times_as_numbers_and_strings() {
        let n = row(r#"{"event_timestamp": 1751364000123456}"#);
        let s = row(r#"{"event_timestamp": "1751364000123456"}"#);
        assert_eq!(n.at(), Ok(Timestamp(1_751_364_000)));
        assert_eq!(s.at(), Ok(Timestamp(1_751_364_000)));
        assert_eq!(row("{}").at(), Err((EventRowProblem::EmptyTime, String::new())));
        assert_eq!(
            row(r#"{"event_timestamp": "soon"}"#).at(),
            Err((EventRowProblem::BadTime, "soon".to_string()))
        );
    }

    #[test]
    fn takes_topic_and_value_from_the_documented_fields() {
        let r =
            row(r#"{"event_params": [{"key": "page_title", "value": {"string_value": "Checkout"}},
                 {"key": "value", "value": {"int_value": "7"}}],
                "items": [{"item_name": "Atlas"}], "ecommerce": {"purchase_revenue": 24.5}}"#);
        assert_eq!(r.topic(), Some("Atlas"));
        assert_eq!(r.value(), 24.5);
        let no_revenue = row(
            r#"{"event_params": [{"key": "value", "value": {"int_value": "7", "double_value": null}}],
                "ecommerce": {"purchase_revenue": null}}"#,
        );
        assert_eq!(no_revenue.value(), 7.0);
        let search = row(
            r#"{"event_params": [{"key": "search_term", "value": {"string_value": " pensions "}},
                 {"key": "page_title", "value": {"string_value": "Search"}}]}"#,
        );
        assert_eq!(search.topic(), Some("pensions"));
    }

    /// Events are handed in chunks of the size asked, their slots reused with no field left
    /// over from an earlier chunk's event.
    #[test]
    fn events_come_in_chunks_and_reuse_no_stale_field() {
        let dir = std::env::temp_dir().join(format!("idstitch-ga4-chunks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("events.jsonl");
        let mut text = String::new();
        for i in 0..7u64 {
            // Every other row has a title and a value, so a reused slot must drop them.
            let params = if i % 2 == 0 {
                r#","event_params":[{"key":"page_title","value":{"string_value":"Home"}},{"key":"value","value":{"int_value":"3"}}]"#
            } else {
                ""
            };
            let micros = (1_751_364_000 + i) * 1_000_000;
            text.push_str(&format!(
                "{{\"user_pseudo_id\":\"p{i}\",\"event_name\":\"page_view\",\"event_timestamp\":{micros}{params}}}\n"
            ));
        }
        std::fs::write(&file, text).expect("written");
        let kinds = EventKinds::new();
        let got = super::super::read_in_chunks(3, |size, read, f| {
            let options = Ga4Options::default();
            let files = std::slice::from_ref(&file);
            events(files, &options, SourceId::from_raw(0), &kinds, size, read, f)
        });
        let page_view = kinds.lookup("page_view").expect("built in");
        let want: Vec<EventInput> = (0..7)
            .map(|i| {
                let e = EventInput::new(
                    SourceId::from_raw(0),
                    format!("p{i}"),
                    page_view,
                    Timestamp(1_751_364_000 + i),
                );
                let e = EventInput { channel: Some("web".to_string()), ..e };
                if i % 2 == 0 {
                    EventInput { topic: Some("Home".to_string()), value: 3.0, ..e }
                } else {
                    e
                }
            })
            .collect();
        assert_eq!(got, want);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
