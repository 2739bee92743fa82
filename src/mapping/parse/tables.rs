//! The mapping's tables beyond the sources: `[event_kinds]`, `[[events]]`, `[[consent]]`,
//! `[[contacts]]` and `[[campaign]]`, each checked against the sources and kinds parsed before.

use super::*;

/// The `[[campaign]]` tables: each a valid [`CampaignSpec`] with a unique name, its conversion
/// kinds named among the built-in and declared event kinds.
pub(super) fn campaigns(
    loc: &Locator<'_>,
    tables: &[Spanned<CampaignToml>],
    event_kinds: &[(String, EventClass)],
) -> Result<Vec<CampaignSpec>, MappingError> {
    let mut registry = EventKinds::new();
    for (name, class) in event_kinds {
        let _ = registry.declare(name, *class);
    }
    let mut out: Vec<CampaignSpec> = Vec::with_capacity(tables.len());
    for (i, table) in tables.iter().enumerate() {
        let t = table.get_ref();
        let name = t.name.get_ref().clone();
        let bad =
            |span: std::ops::Range<usize>, key: &str, message: String| MappingError::BadCampaign {
                at: loc.at(span, None, format!("campaign[{}].{key}", i + 1)),
                message: format!("campaign {name:?}: {message}"),
            };
        if out.iter().any(|c| c.name == name) {
            return Err(bad(t.name.span(), "name", "defined twice".into()));
        }
        let mut spec = CampaignSpec::new(name.clone(), t.channel.get_ref().clone());
        if let Some(h) = &t.holdout {
            if !(0.0..=1.0).contains(h.get_ref()) {
                return Err(bad(h.span(), "holdout", "a share from 0 to 1".into()));
            }
            spec = spec.with_holdout(*h.get_ref());
        }
        if let Some(salt) = &t.salt {
            spec = spec.with_salt(salt.clone());
        }
        if let Some(names) = &t.conversions {
            let mut kinds = Vec::with_capacity(names.get_ref().len());
            for kind in names.get_ref() {
                let Some(k) = registry.lookup(kind) else {
                    return Err(bad(
                        names.span(),
                        "conversions",
                        format!("unknown event kind {kind:?}"),
                    ));
                };
                kinds.push(k);
            }
            spec = spec.with_conversions(kinds);
        }
        if let Some(days) = &t.window_days {
            let max = i64::from(MAX_CONVERSION_DAYS);
            if !(1..=max).contains(days.get_ref()) {
                return Err(bad(days.span(), "window_days", format!("1 to {max} days")));
            }
            spec = spec.with_window(Window::days(*days.get_ref() as u32));
        }
        if let Err(message) = spec.check() {
            return Err(bad(table.span(), "name", message));
        }
        out.push(spec);
    }
    Ok(out)
}

/// The `[event_kinds]` table in file order, each name declared on a fresh registry so that
/// the mapping refuses exactly what [`EventKinds::declare`] would.
pub(super) fn event_kinds(
    loc: &Locator<'_>,
    table: &BTreeMap<Spanned<String>, Spanned<String>>,
) -> Result<Vec<(String, EventClass)>, MappingError> {
    let mut entries: Vec<_> = table.iter().collect();
    // TOML tables are read into a sorted map; the spans give back the file's order.
    entries.sort_by_key(|(name, _)| name.span().start);
    let mut registry = EventKinds::new();
    let mut out = Vec::with_capacity(entries.len());
    for (name, class) in entries {
        let kind = name.get_ref().clone();
        let at = || loc.at(name.span(), None, format!("event_kinds.{kind}"));
        let Some(class_named) = event_class_named(class.get_ref().trim()) else {
            return Err(MappingError::UnknownEventClass {
                at: loc.at(class.span(), None, format!("event_kinds.{kind}")),
                class: class.get_ref().clone(),
            });
        };
        match registry.declare(&kind, class_named) {
            Ok(_) => out.push((kind, class_named)),
            // TOML refuses a key given twice, so the name is taken by a built-in kind.
            Err(EventKindError::Duplicate(_)) => {
                return Err(MappingError::BuiltInEventKind { at: at(), kind })
            }
            Err(EventKindError::BadName(_)) => {
                return Err(MappingError::BadEventKindName { at: at(), kind })
            }
            Err(_) => return Err(MappingError::TooManyEventKinds { at: at() }),
        }
    }
    Ok(out)
}

/// The `[[events]]` tables, checked against the sources and the event kinds.
pub(super) fn events(
    loc: &Locator<'_>,
    base_dir: &Path,
    tables: &[Spanned<EventsToml>],
    sources: &[SourceMapping],
    event_kinds: &[(String, EventClass)],
) -> Result<Vec<EventsMapping>, MappingError> {
    let mut out: Vec<EventsMapping> = Vec::with_capacity(tables.len());
    for (i, table) in tables.iter().enumerate() {
        let at_table = Table::Events(i + 1);
        let e = table.get_ref();
        let head = head(
            loc,
            base_dir,
            (at_table, table.span()),
            &e.source,
            e.input_keys(),
            sources,
            out.iter().map(|o| (o.source.as_str(), &o.input)),
        )?;
        let src = Some(head.source.as_str());
        let name =
            |value: &Spanned<String>, key: &str| section_name(loc, at_table, value, src, key);
        let record = name(&e.record, "record")?;
        let kind = match (&e.kind, &e.kind_is) {
            (Some(_), Some(fixed)) => {
                return Err(MappingError::EventKindTwice {
                    at: loc.at_table(fixed.span(), at_table, src, "kind_is"),
                })
            }
            (None, None) => {
                return Err(MappingError::NoEventKind {
                    at: loc.at_table(table.span(), at_table, src, "kind"),
                })
            }
            (Some(column), None) => EventKindFrom::Column(name(column, "kind")?),
            (None, Some(fixed)) => {
                let kind = name(fixed, "kind_is")?;
                let built_in = EventKinds::new().lookup(&kind).is_some();
                if !built_in && !event_kinds.iter().any(|(k, _)| *k == kind) {
                    return Err(MappingError::UnknownEventKind {
                        at: loc.at_table(fixed.span(), at_table, src, "kind_is"),
                        kind,
                    });
                }
                EventKindFrom::Fixed(kind)
            }
        };
        let at = name(&e.at, "at")?;
        let optional = |value: &Option<Spanned<String>>, key: &str| {
            optional_name(loc, at_table, value.as_ref(), src, key)
        };
        out.push(EventsMapping {
            number: i + 1,
            record,
            kind,
            at,
            topic: optional(&e.topic, "topic")?,
            value: optional(&e.value, "value")?,
            channel: optional(&e.channel, "channel")?,
            id: optional(&e.id, "id")?,
            source: head.source,
            input: head.input,
        });
    }
    Ok(out)
}

/// The `[[consent]]` tables, checked against the sources.
pub(super) fn consent(
    loc: &Locator<'_>,
    base_dir: &Path,
    tables: &[Spanned<ConsentToml>],
    sources: &[SourceMapping],
) -> Result<Vec<ConsentMapping>, MappingError> {
    let mut out: Vec<ConsentMapping> = Vec::with_capacity(tables.len());
    for (i, table) in tables.iter().enumerate() {
        let at_table = Table::Touch(TouchTable::Consent, i + 1);
        let c = table.get_ref();
        let head = head(
            loc,
            base_dir,
            (at_table, table.span()),
            &c.source,
            c.input_keys(),
            sources,
            out.iter().map(|o| (o.source.as_str(), &o.input)),
        )?;
        let src = Some(head.source.as_str());
        let name =
            |value: &Spanned<String>, key: &str| section_name(loc, at_table, value, src, key);
        let record = name(&c.record, "record")?;
        let channel = channel_from(
            loc,
            at_table,
            table.span(),
            c.channel.as_ref(),
            c.channel_is.as_ref(),
            src,
        )?;
        out.push(ConsentMapping {
            number: i + 1,
            record,
            channel,
            status: name(&c.status, "status")?,
            at: name(&c.at, "at")?,
            source: head.source,
            input: head.input,
        });
    }
    Ok(out)
}

/// The `[[contacts]]` tables, checked against the sources.
pub(super) fn contacts(
    loc: &Locator<'_>,
    base_dir: &Path,
    tables: &[Spanned<ContactsToml>],
    sources: &[SourceMapping],
) -> Result<Vec<ContactsMapping>, MappingError> {
    let mut out: Vec<ContactsMapping> = Vec::with_capacity(tables.len());
    for (i, table) in tables.iter().enumerate() {
        let at_table = Table::Touch(TouchTable::Contacts, i + 1);
        let c = table.get_ref();
        let head = head(
            loc,
            base_dir,
            (at_table, table.span()),
            &c.source,
            c.input_keys(),
            sources,
            out.iter().map(|o| (o.source.as_str(), &o.input)),
        )?;
        let src = Some(head.source.as_str());
        let name =
            |value: &Spanned<String>, key: &str| section_name(loc, at_table, value, src, key);
        let optional = |value: &Option<Spanned<String>>, key: &str| {
            optional_name(loc, at_table, value.as_ref(), src, key)
        };
        let record = name(&c.record, "record")?;
        let channel = channel_from(
            loc,
            at_table,
            table.span(),
            c.channel.as_ref(),
            c.channel_is.as_ref(),
            src,
        )?;
        out.push(ContactsMapping {
            number: i + 1,
            record,
            channel,
            at: name(&c.at, "at")?,
            campaign: optional(&c.campaign, "campaign")?,
            transactional: optional(&c.transactional, "transactional")?,
            id: optional(&c.id, "id")?,
            source: head.source,
            input: head.input,
        });
    }
    Ok(out)
}
