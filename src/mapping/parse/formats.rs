//! The `[[source]]` keys of mailbox and GA4 sources (`format = "mbox"`, `format = "ga4"`):
//! checked here, so that the table sources' parsing stays as it is.

use std::collections::BTreeMap;
use std::path::PathBuf;

use toml::Spanned;

use super::{format_of, non_empty, Locator, SourceToml, Use};
use crate::behaviour::{EventClass, EventKinds};
use crate::mapping::config::{InputFormat, SourceMapping, SourceMode};
use crate::mapping::error::{MappingError, TomlPlace};
use crate::mapping::sources::{FormatOptions, Ga4Options, MboxOptions};
use crate::mapping::table_input::TableInput;

/// The source of a `[[source]]` table with a `format`, or `None` for a CSV or JSON Lines
/// table (which may then have none of the format keys). Kinds the format stores are noted in
/// `uses`, so that an unknown `user_id_kind` fails as an unknown kind does; the event kinds a
/// GA4 source's `events` names are checked against the built-in ones and `event_kinds`, so
/// that a misspelt one fails here as an `[[events]]` table's `kind_is` does.
pub(super) fn format_source(
    loc: &Locator<'_>,
    table: &Spanned<SourceToml>,
    (name, trust): (&str, u32),
    event_kinds: &[(String, EventClass)],
    path: PathBuf,
    uses: &mut BTreeMap<String, (Use, Box<TomlPlace>)>,
) -> Result<Option<SourceMapping>, MappingError> {
    let s = table.get_ref();
    let src = Some(name);
    let at = |span: std::ops::Range<usize>, key: &str| loc.at(span, src, key.to_string());
    let Some(format_text) = &s.format else {
        let format = format_of(&path).unwrap_or(InputFormat::Csv);
        let owner = s.owner.as_ref().map(|o| (o.span(), "owner"));
        let kind = s.user_id_kind.as_ref().map(|k| (k.span(), "user_id_kind"));
        let events = s.events.as_ref().map(|e| (e.span(), "events"));
        if let Some((span, key)) = owner.or(kind).or(events) {
            return Err(MappingError::NotForFormat { at: at(span, key), format });
        }
        return Ok(None);
    };
    let format = match format_text.get_ref().trim() {
        "mbox" => InputFormat::Mbox,
        "ga4" => InputFormat::Ga4,
        other => {
            return Err(MappingError::UnknownSourceFormat {
                at: at(format_text.span(), "format"),
                format: other.to_string(),
            })
        }
    };
    // Keys of table sources: these formats know their own fields.
    let not_for = |span, key: &str| Err(MappingError::NotForFormat { at: at(span, key), format });
    if let Some(id) = &s.id {
        return not_for(id.span(), "id");
    }
    if let Some((kind, _)) = s.keys.iter().next() {
        return not_for(kind.span(), &format!("keys.{}", kind.get_ref()));
    }
    if let Some((kind, _)) = s.composite.iter().next() {
        return not_for(kind.span(), &format!("composite.{}", kind.get_ref()));
    }
    if let Some((attribute, _)) = s.attributes.iter().next() {
        return not_for(attribute.span(), &format!("attributes.{}", attribute.get_ref()));
    }
    for (value, key) in [
        (&s.observed_at, "observed_at"),
        (&s.delimiter, "delimiter"),
        (&s.deleted, "deleted"),
        // Mail headers name their charsets (RFC 2047); GA4 exports are UTF-8 JSON.
        (&s.encoding, "encoding"),
        (&s.on_bad_row, "on_bad_row"),
    ] {
        if let Some(value) = value {
            return not_for(value.span(), key);
        }
    }
    if let Some(mode) = &s.mode {
        match mode.get_ref().trim() {
            "export" => {}
            "changes" => return not_for(mode.span(), "mode"),
            other => {
                return Err(MappingError::UnknownMode {
                    at: at(mode.span(), "mode"),
                    mode: other.to_string(),
                })
            }
        }
    }

    let mut note_use = |kind: &str, span: std::ops::Range<usize>, key: &str| {
        let place = at(span, key);
        match uses.get(kind) {
            Some((Use::Composite(_), _)) => {
                Err(MappingError::KeyAndComposite { at: place, kind: kind.to_string() })
            }
            Some(_) => Ok(()),
            None => {
                uses.insert(kind.to_string(), (Use::Key, place));
                Ok(())
            }
        }
    };
    let options = match format {
        InputFormat::Mbox => {
            for (value, key) in [
                (s.user_id_kind.as_ref().map(Spanned::span), "user_id_kind"),
                (s.events.as_ref().map(Spanned::span), "events"),
            ] {
                if let Some(span) = value {
                    return not_for(span, key);
                }
            }
            note_use("email", table.span(), "format")?;
            let mut owners = Vec::new();
            if let Some(owner) = &s.owner {
                for address in &owner.get_ref().0 {
                    let address = address.trim();
                    if address.is_empty() {
                        return Err(MappingError::EmptyName { at: at(owner.span(), "owner") });
                    }
                    owners.push(address.to_lowercase());
                }
            }
            owners.sort_unstable();
            owners.dedup();
            FormatOptions::Mbox(MboxOptions { owners })
        }
        _ => {
            if let Some(owner) = &s.owner {
                return not_for(owner.span(), "owner");
            }
            let mut options = Ga4Options::default();
            note_use("cookie", table.span(), "format")?;
            if let Some(kind) = &s.user_id_kind {
                options.user_id_kind = non_empty(loc, kind, src, || "user_id_kind".into())?;
                note_use(&options.user_id_kind, kind.span(), "user_id_kind")?;
            } else {
                note_use(&options.user_id_kind, table.span(), "format")?;
            }
            if let Some(events) = &s.events {
                let built_in = EventKinds::new();
                let known = |kind: &str| {
                    built_in.lookup(kind).is_some() || event_kinds.iter().any(|(k, _)| k == kind)
                };
                for (event_name, kind) in events.get_ref() {
                    let key = format!("events.{}", event_name.get_ref());
                    let event_name = non_empty(loc, event_name, src, || key.clone())?;
                    // An empty kind drops a default mapping: those rows are unknown events.
                    let (kind_name, kind) = (kind, kind.get_ref().trim().to_string());
                    if !kind.is_empty() && !known(&kind) {
                        let at = at(kind_name.span(), &key);
                        return Err(MappingError::UnknownEventKind { at, kind });
                    }
                    match options.events.iter_mut().find(|(n, _)| *n == event_name) {
                        Some(held) => held.1 = kind,
                        None => options.events.push((event_name, kind)),
                    }
                }
                options.events.retain(|(_, kind)| !kind.is_empty());
            }
            FormatOptions::Ga4(options)
        }
    };
    Ok(Some(SourceMapping {
        name: name.to_string(),
        trust,
        input: TableInput::file(path, format),
        id: String::new(),
        keys: Vec::new(),
        composite: Vec::new(),
        attributes: Vec::new(),
        observed_at: None,
        mode: SourceMode::Export,
        options: Some(options),
    }))
}
