//! Parsing and validating a mapping file into a [`Mapping`]: read into the TOML shapes of
//! `shape`, then checked, every error naming the file, line, column and TOML key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::bad_rows::OnBadRow;
use super::config::{
    part_name, ChannelFrom, ConsentMapping, ContactsMapping, EventKindFrom, EventsMapping,
    InputFormat, KindMapping, Mapping, SourceMapping, SourceMode, TouchTable,
};
use super::decode::FileEncoding;
use super::error::{MappingError, TomlPlace};
use super::sql::{Database, DatabaseQuery};
use super::table_input::TableInput;
use crate::behaviour::{EventClass, EventKindError, EventKinds, Window};
use crate::campaign::{CampaignSpec, MAX_CONVERSION_DAYS};
use crate::ids::KindId;
use crate::input::kind::{built_in_spec, KindPolicy, KindSpec, BUILT_IN_KINDS};
use crate::input::normalize::{NormalizeContext, Normalizer};
use section::{head, table_input, Table};
use shape::{
    CampaignToml, Columns, ConsentToml, ContactsToml, EventsToml, MappingToml, SourceToml,
};
use tables::{campaigns, consent, contacts, event_kinds, events};

mod formats;
mod section;
mod shape;
mod tables;

// --- validation ------------------------------------------------------------------------------

/// Turns byte offsets of the mapping text into places.
struct Locator<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset.min(self.text.len())).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }

    fn at(
        &self,
        span: std::ops::Range<usize>,
        source: Option<&str>,
        key: String,
    ) -> Box<TomlPlace> {
        let (line, column) = self.line_column(span.start);
        Box::new(TomlPlace {
            file: self.file.to_path_buf(),
            line,
            column,
            source: source.map(str::to_string),
            events: None,
            touch: None,
            key,
        })
    }

    /// A place in table `table`, whose rows belong to `source` if that is known yet.
    fn at_table(
        &self,
        span: std::ops::Range<usize>,
        table: Table,
        source: Option<&str>,
        key: &str,
    ) -> Box<TomlPlace> {
        let mut at = self.at(span, source, key.to_string());
        match table {
            Table::Events(number) => at.events = Some(number),
            Table::Touch(kind, number) => at.touch = Some((kind, number)),
        }
        at
    }
}

/// A column or other name in a table of rows: trimmed, and not empty.
fn section_name(
    loc: &Locator<'_>,
    table: Table,
    value: &Spanned<String>,
    source: Option<&str>,
    key: &str,
) -> Result<String, MappingError> {
    let v = value.get_ref().trim();
    if v.is_empty() {
        return Err(MappingError::EmptyName { at: loc.at_table(value.span(), table, source, key) });
    }
    Ok(v.to_string())
}

/// An optional column of a table of rows, checked as [`section_name`] checks a name.
fn optional_name(
    loc: &Locator<'_>,
    table: Table,
    value: Option<&Spanned<String>>,
    source: Option<&str>,
    key: &str,
) -> Result<Option<String>, MappingError> {
    value.map(|v| section_name(loc, table, v, source, key)).transpose()
}

/// A touch table's channel: the `channel` column or `channel_is`, exactly one of them.
fn channel_from(
    loc: &Locator<'_>,
    table: Table,
    span: std::ops::Range<usize>,
    column: Option<&Spanned<String>>,
    fixed: Option<&Spanned<String>>,
    source: Option<&str>,
) -> Result<ChannelFrom, MappingError> {
    match (column, fixed) {
        (Some(_), Some(fixed)) => Err(MappingError::ChannelTwice {
            at: loc.at_table(fixed.span(), table, source, "channel_is"),
        }),
        (None, None) => {
            Err(MappingError::NoChannel { at: loc.at_table(span, table, source, "channel") })
        }
        (Some(column), None) => {
            Ok(ChannelFrom::Column(section_name(loc, table, column, source, "channel")?))
        }
        (None, Some(fixed)) => {
            Ok(ChannelFrom::Fixed(section_name(loc, table, fixed, source, "channel_is")?))
        }
    }
}

/// The format of a file, by its extension.
fn format_of(path: &Path) -> Option<InputFormat> {
    let extension =
        path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    match extension.as_str() {
        "csv" => Some(InputFormat::Csv),
        "jsonl" | "ndjson" => Some(InputFormat::JsonLines),
        _ => None,
    }
}

/// A `delimiter` as a byte: one ASCII character that is not a quote or a line break.
fn delimiter_of(d: &str) -> Option<u8> {
    match d.as_bytes() {
        [b] if b.is_ascii() && *b != b'"' && *b != b'\n' && *b != b'\r' => Some(*b),
        _ => None,
    }
}

fn event_class_named(name: &str) -> Option<EventClass> {
    EventClass::ALL.into_iter().find(|c| c.name() == name)
}

/// What the sources make of a kind: plain keys or a composite with a number of parts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Key,
    Composite(usize),
}

fn in_range(
    loc: &Locator<'_>,
    value: &Spanned<i64>,
    source: Option<&str>,
    key: String,
    range: std::ops::RangeInclusive<i64>,
    expected: &'static str,
) -> Result<i64, MappingError> {
    let v = *value.get_ref();
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(MappingError::BadNumber { at: loc.at(value.span(), source, key), value: v, expected })
    }
}

fn non_empty(
    loc: &Locator<'_>,
    value: &Spanned<String>,
    source: Option<&str>,
    key: impl FnOnce() -> String,
) -> Result<String, MappingError> {
    let v = value.get_ref().trim();
    if v.is_empty() {
        return Err(MappingError::EmptyName { at: loc.at(value.span(), source, key()) });
    }
    Ok(v.to_string())
}

fn normalizer_named(name: &str) -> Option<Normalizer> {
    Some(match name {
        "email" => Normalizer::Email,
        "email_provider_rules" => Normalizer::EmailProviderRules,
        "phone" => Normalizer::Phone,
        "customer_no" => Normalizer::CustomerNo,
        "ip" => Normalizer::Ip,
        "text" => Normalizer::Text,
        "opaque" => Normalizer::Opaque,
        _ => return None,
    })
}

const U32_AT_LEAST_ONE: &str = "an integer from 1 to 4294967295";

fn built_in_id(name: &str) -> Option<KindId> {
    BUILT_IN_KINDS.iter().position(|k| *k == name).map(|i| KindId(i as u16))
}

impl Mapping {
    /// Reads and validates the mapping file at `path`; source paths in it are relative to
    /// its directory.
    ///
    /// # Errors
    /// [`MappingError::ReadMapping`] if the file cannot be read, otherwise as
    /// [`Mapping::from_str`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, MappingError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|error| MappingError::ReadMapping { file: path.to_path_buf(), error })?;
        let base = path.parent().unwrap_or_else(|| Path::new(""));
        Self::parse(&text, base, path)
    }

    /// Parses and validates mapping text; source paths in it are relative to `base_dir`.
    /// Errors name the file as `<string>`. No input file is touched: they are opened by
    /// [`Mapping::open`].
    ///
    /// # Errors
    /// [`MappingError::Toml`] for TOML that does not parse or is not of the mapping's shape;
    /// [`MappingError::UnknownKind`], [`UndeclaredComposite`](MappingError::UndeclaredComposite),
    /// [`BuiltInComposite`](MappingError::BuiltInComposite),
    /// [`KeyAndComposite`](MappingError::KeyAndComposite),
    /// [`CompositeParts`](MappingError::CompositeParts), [`NoColumns`](MappingError::NoColumns),
    /// [`UnknownNormalizer`](MappingError::UnknownNormalizer),
    /// [`BadNumber`](MappingError::BadNumber), [`UnknownCountry`](MappingError::UnknownCountry),
    /// [`DuplicateSource`](MappingError::DuplicateSource), [`EmptyName`](MappingError::EmptyName),
    /// [`BadDelimiter`](MappingError::BadDelimiter),
    /// [`UnknownEncoding`](MappingError::UnknownEncoding),
    /// [`JsonEncoding`](MappingError::JsonEncoding),
    /// [`UnknownBadRowPolicy`](MappingError::UnknownBadRowPolicy),
    /// [`UnknownFormat`](MappingError::UnknownFormat),
    /// [`UnknownMode`](MappingError::UnknownMode),
    /// [`DeletedWithoutChanges`](MappingError::DeletedWithoutChanges),
    /// [`UnknownEventClass`](MappingError::UnknownEventClass),
    /// [`BuiltInEventKind`](MappingError::BuiltInEventKind),
    /// [`BadEventKindName`](MappingError::BadEventKindName),
    /// [`TooManyEventKinds`](MappingError::TooManyEventKinds),
    /// [`UnknownEventSource`](MappingError::UnknownEventSource),
    /// [`NoEventKind`](MappingError::NoEventKind),
    /// [`EventKindTwice`](MappingError::EventKindTwice),
    /// [`UnknownEventKind`](MappingError::UnknownEventKind),
    /// [`DuplicateEvents`](MappingError::DuplicateEvents),
    /// [`NoChannel`](MappingError::NoChannel), [`ChannelTwice`](MappingError::ChannelTwice) or
    /// [`DuplicateTouch`](MappingError::DuplicateTouch) for content that does not make sense.
    pub fn from_str(text: &str, base_dir: impl AsRef<Path>) -> Result<Self, MappingError> {
        Self::parse(text, base_dir.as_ref(), Path::new("<string>"))
    }

    fn parse(text: &str, base_dir: &Path, file: &Path) -> Result<Self, MappingError> {
        let loc = Locator { file, text };
        let raw: MappingToml = toml::from_str(text).map_err(|e| {
            let (line, column) = loc.line_column(e.span().map_or(0, |s| s.start));
            MappingError::Toml {
                file: file.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;

        let default_country = match &raw.default_country {
            None => None,
            Some(code) => {
                let c = code.get_ref().trim();
                if NormalizeContext::for_country(c).is_none() {
                    return Err(MappingError::UnknownCountry {
                        at: loc.at(code.span(), None, "default_country".into()),
                        code: code.get_ref().clone(),
                    });
                }
                Some(c.to_string())
            }
        };

        // Before the sources: a GA4 source's `events` name event kinds.
        let event_kinds = event_kinds(&loc, &raw.event_kinds)?;
        // How the sources use each kind, checked against the declarations afterwards.
        let mut uses: BTreeMap<String, (Use, Box<TomlPlace>)> = BTreeMap::new();
        let mut sources: Vec<SourceMapping> = Vec::with_capacity(raw.source.len());
        let n_sources = raw.source.len() as i64;
        for (position, table) in raw.source.iter().enumerate() {
            let s = table.get_ref();
            let name = non_empty(&loc, &s.name, None, || "name".into())?;
            let src = Some(name.as_str());
            if sources.iter().any(|o| o.name == name) {
                return Err(MappingError::DuplicateSource {
                    at: loc.at(s.name.span(), None, "name".into()),
                    name,
                });
            }
            let trust = match &s.trust {
                Some(t) => in_range(
                    &loc,
                    t,
                    src,
                    "trust".into(),
                    0..=i64::from(u32::MAX),
                    "an integer from 0 to 4294967295",
                )?,
                None => (n_sources - position as i64).saturating_mul(10).min(i64::from(u32::MAX)),
            } as u32;
            let place = |span, key: &str| loc.at(span, src, key.to_string());
            if s.format.is_some() {
                // A mailbox or GA4 export is a file or a folder, never a database.
                if let Some(db) = s.database.as_ref().or(s.query.as_ref()) {
                    return Err(MappingError::PathAndDatabase { at: place(db.span(), "database") });
                }
                let Some(path_text) = &s.path else {
                    return Err(MappingError::NoInput { at: place(table.span(), "path") });
                };
                let path = base_dir.join(non_empty(&loc, path_text, src, || "path".into())?);
                if let Some(source) = formats::format_source(
                    &loc,
                    table,
                    (&name, trust),
                    &event_kinds,
                    path,
                    &mut uses,
                )? {
                    sources.push(source);
                    continue;
                }
            }
            let input = table_input(&place, base_dir, table.span(), s.input_keys())?;
            // Keys only a mailbox or GA4 export takes are refused here.
            formats::format_source(
                &loc,
                table,
                (&name, trust),
                &event_kinds,
                input.path.clone(),
                &mut uses,
            )?;
            let Some(id) = &s.id else {
                return Err(MappingError::NoIdColumn {
                    at: loc.at(table.span(), src, "id".into()),
                });
            };
            let id = non_empty(&loc, id, src, || "id".into())?;

            let mut keys = Vec::with_capacity(s.keys.len());
            for (kind, columns) in &s.keys {
                let key = format!("keys.{}", kind.get_ref());
                let kind_name = non_empty(&loc, kind, src, || key.clone())?;
                let columns = column_list(&loc, columns, src, &key)?;
                let at = loc.at(kind.span(), src, key);
                if let Some((Use::Composite(_), _)) = uses.get(&kind_name) {
                    return Err(MappingError::KeyAndComposite { at, kind: kind_name });
                }
                uses.entry(kind_name.clone()).or_insert((Use::Key, at));
                keys.push((kind_name, columns));
            }

            let mut composite = Vec::with_capacity(s.composite.len());
            for (kind, columns) in &s.composite {
                let key = format!("composite.{}", kind.get_ref());
                let kind_name = non_empty(&loc, kind, src, || key.clone())?;
                let columns = column_list(&loc, columns, src, &key)?;
                let at = loc.at(kind.span(), src, key);
                if built_in_id(&kind_name).is_some() {
                    return Err(MappingError::BuiltInComposite { at, kind: kind_name });
                }
                match uses.get(&kind_name) {
                    Some((Use::Key, _)) => {
                        return Err(MappingError::KeyAndComposite { at, kind: kind_name })
                    }
                    Some((Use::Composite(n), _)) if *n != columns.len() => {
                        return Err(MappingError::CompositeParts {
                            at,
                            kind: kind_name,
                            expected: *n,
                            found: columns.len(),
                        })
                    }
                    Some(_) => {}
                    None => {
                        uses.insert(kind_name.clone(), (Use::Composite(columns.len()), at));
                    }
                }
                composite.push((kind_name, columns));
            }

            let mut attributes = Vec::with_capacity(s.attributes.len());
            for (attribute, column) in &s.attributes {
                let key = format!("attributes.{}", attribute.get_ref());
                let attribute = non_empty(&loc, attribute, src, || key.clone())?;
                let column = non_empty(&loc, column, src, || key.clone())?;
                attributes.push((attribute, column));
            }
            let observed_at = match &s.observed_at {
                Some(c) => Some(non_empty(&loc, c, src, || "observed_at".into())?),
                None => None,
            };
            let mode = match s.mode.as_ref().map(|m| (m, m.get_ref().trim())) {
                None | Some((_, "export")) => SourceMode::Export,
                Some((_, "changes")) => SourceMode::Changes { deleted: None },
                Some((m, _)) => {
                    return Err(MappingError::UnknownMode {
                        at: loc.at(m.span(), src, "mode".into()),
                        mode: m.get_ref().clone(),
                    })
                }
            };
            let mode = match (mode, &s.deleted) {
                (mode, None) => mode,
                (SourceMode::Changes { .. }, Some(c)) => SourceMode::Changes {
                    deleted: Some(non_empty(&loc, c, src, || "deleted".into())?),
                },
                (_, Some(c)) => {
                    return Err(MappingError::DeletedWithoutChanges {
                        at: loc.at(c.span(), src, "deleted".into()),
                    })
                }
            };
            sources.push(SourceMapping {
                name,
                trust,
                input,
                id,
                keys,
                composite,
                attributes,
                observed_at,
                mode,
                options: None,
            });
        }

        let mut kinds = Vec::with_capacity(raw.kinds.len());
        for (name, decl) in &raw.kinds {
            let key = format!("kinds.{}", name.get_ref());
            let kind_name = non_empty(&loc, name, None, || key.clone())?;
            let d = decl.get_ref();
            let built_in = built_in_id(&kind_name).and_then(built_in_spec);
            let (mut normalizer, mut policy, built_in_identifying) = match built_in {
                Some(spec) => (spec.normalizer, spec.policy, spec.identifying),
                None => (Normalizer::Opaque, KindPolicy::new(0), false),
            };
            let parts = match uses.get(&kind_name) {
                Some((Use::Composite(n), _)) => Some(*n),
                _ => None,
            };
            if parts.is_some() {
                normalizer = Normalizer::Text;
            }
            if let Some(n) = &d.normalizer {
                normalizer = normalizer_named(n.get_ref().trim()).ok_or_else(|| {
                    MappingError::UnknownNormalizer {
                        at: loc.at(n.span(), None, format!("{key}.normalizer")),
                        name: n.get_ref().clone(),
                    }
                })?;
            }
            let u32_max = i64::from(u32::MAX);
            if let Some(v) = &d.limit {
                let at_key = format!("{key}.limit");
                policy.limit =
                    Some(in_range(&loc, v, None, at_key, 1..=u32_max, U32_AT_LEAST_ONE)? as u32);
            }
            if let Some(v) = &d.generic_cap {
                let at_key = format!("{key}.generic_cap");
                policy.generic_cap =
                    Some(in_range(&loc, v, None, at_key, 1..=u32_max, U32_AT_LEAST_ONE)? as u32);
            }
            if let Some(v) = &d.priority {
                policy.priority = in_range(
                    &loc,
                    v,
                    None,
                    format!("{key}.priority"),
                    i64::from(i32::MIN)..=i64::from(i32::MAX),
                    "a 32-bit integer",
                )? as i32;
            }
            if let Some(deny) = &d.deny {
                policy.deny.extend(deny.iter().cloned());
            }
            if let Some(links) = d.links {
                policy.links = links;
            }
            if let Some(on) = d.builtin_placeholders {
                policy.builtin_placeholders = on;
            }
            let composite = parts.map(|n| (0..n).map(|i| part_name(&kind_name, i)).collect());
            kinds.push(KindMapping {
                name: kind_name,
                spec: KindSpec {
                    normalizer,
                    policy,
                    composite,
                    identifying: d.identifying.unwrap_or(built_in_identifying),
                },
            });
        }

        for (kind, (usage, at)) in uses {
            let declared = kinds.iter().any(|k| k.name == kind);
            match usage {
                Use::Composite(_) if !declared => {
                    return Err(MappingError::UndeclaredComposite { at, kind })
                }
                Use::Key if !declared && built_in_id(&kind).is_none() => {
                    return Err(MappingError::UnknownKind { at, kind })
                }
                _ => {}
            }
        }

        let events = events(&loc, base_dir, &raw.events, &sources, &event_kinds)?;
        let consent = consent(&loc, base_dir, &raw.consent, &sources)?;
        let contacts = contacts(&loc, base_dir, &raw.contacts, &sources)?;
        let campaigns = campaigns(&loc, &raw.campaign, &event_kinds)?;
        Ok(Mapping {
            file: file.to_path_buf(),
            default_country,
            kinds,
            sources,
            event_kinds,
            events,
            consent,
            contacts,
            campaigns,
        })
    }
}

fn column_list(
    loc: &Locator<'_>,
    columns: &Spanned<Columns>,
    source: Option<&str>,
    key: &str,
) -> Result<Vec<String>, MappingError> {
    let list = &columns.get_ref().0;
    if list.is_empty() {
        return Err(MappingError::NoColumns { at: loc.at(columns.span(), source, key.into()) });
    }
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let c = c.trim();
        if c.is_empty() {
            return Err(MappingError::EmptyName { at: loc.at(columns.span(), source, key.into()) });
        }
        out.push(c.to_string());
    }
    Ok(out)
}
