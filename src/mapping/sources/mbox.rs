//! Mailboxes (`format = "mbox"`, feature `mbox`): every correspondent of a message is a
//! record keyed by its e-mail address, every message an `email_exchange` event on its
//! correspondents' records.
//!
//! **Splitting.** A line starting with `From ` begins a message (mboxo and mboxrd); a body
//! line the writer quoted as `>From ` (or `>>From `, …) is not a separator. Text before the
//! first `From ` line is a message of its own, so a folder of single `.eml` files reads too.
//! Only a message's header (up to its first blank line, at most 1 MiB) is kept and handed to
//! `mail-parser`; bodies are skipped line by line, so memory holds one header, whatever the
//! size of the mailbox.
//!
//! **Correspondents.** The addresses in From, To, Cc and Reply-To (groups included), trimmed
//! and lower-cased, less the owners', each once per message; an address without `@` is no
//! correspondent (counted as an empty `email` value). RFC 2047 encoded names
//! (`=?UTF-8?Q?M=C3=BCller?=`, `=?ISO-8859-1?B?…?=`) are decoded by `mail-parser`.
//!
//! **Records.** One per correspondent: id = the lower-cased address, an `email` key of the
//! address, and attribute `name` = the display name of the latest-dated message that gives
//! one (observed at that message's Date; of equal dates the later message in the file), or,
//! when no dated message names the address, the first name given by one without a Date.
//!
//! **Events.** One `email_exchange` per correspondent of a message: time = its Date header,
//! topic = its subject, channel `email`. A message without a usable Date still gives its
//! correspondents their records, but no event (counted as "no time" or "time does not
//! parse"); a message that does not parse (`mail-parser` finds no header in it) gives neither
//! and is counted (records: [`SourceReport::unparsed`], events:
//! [`EventRowProblem::Unparseable`]); a message whose only addresses are the owners' is
//! counted as "no record id".

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mail_parser::{HeaderName, MessageParser};

use super::MboxOptions;
use crate::behaviour::{EventInput, EventKind};
use crate::ids::{KindId, SourceId};
use crate::input::record::{Attribute, RecordInput, Timestamp};
use crate::mapping::chunk::Chunk;
use crate::mapping::error::MappingError;
use crate::mapping::events::{fill, EventRowProblem, EventsRead, Fields};
#[cfg(doc)]
use crate::mapping::input::SourceReport;
use crate::mapping::row::Plan;

/// A header longer than this is cut: a message without a blank line would otherwise keep its
/// whole body.
const MAX_HEADER: usize = 1 << 20;

/// One correspondent of a message: its lower-cased address and its display name, if any.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Correspondent {
    pub(super) address: String,
    pub(super) name: Option<String>,
}

/// When a message was sent, as its Date header says.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Sent {
    At(Timestamp),
    /// No Date header.
    Missing,
    /// A Date header that does not parse; its text.
    Bad(String),
}

/// What one message gives.
#[derive(Debug)]
pub(super) enum Parsed {
    Message {
        correspondents: Vec<Correspondent>,
        /// Addresses without `@`.
        not_addresses: u64,
        sent: Sent,
        subject: Option<String>,
    },
    /// `mail-parser` found no header.
    Unparseable,
}

/// Parses one message's header.
pub(super) fn parse(header: &[u8], owners: &[String]) -> Parsed {
    let Some(message) = MessageParser::new().parse_headers(header) else {
        return Parsed::Unparseable;
    };
    if message.parts.first().is_none_or(|p| p.headers.is_empty()) {
        return Parsed::Unparseable;
    }
    let mut correspondents: Vec<Correspondent> = Vec::new();
    let mut not_addresses = 0;
    let lists = [message.from(), message.to(), message.cc(), message.reply_to()];
    for addr in lists.into_iter().flatten().flat_map(|a| a.iter()) {
        let Some(address) = addr.address().map(str::trim).filter(|a| a.contains('@')) else {
            not_addresses += 1;
            continue;
        };
        let address = address.to_lowercase();
        if owners.binary_search(&address).is_ok() {
            continue;
        }
        let name = addr.name().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
        match correspondents.iter_mut().find(|c| c.address == address) {
            Some(held) => {
                if held.name.is_none() {
                    held.name = name;
                }
            }
            None => correspondents.push(Correspondent { address, name }),
        }
    }
    let sent = match message.date() {
        Some(date) if date.is_valid() => Sent::At(Timestamp(date.to_timestamp())),
        _ => match message.header_raw(HeaderName::Date) {
            None => Sent::Missing,
            Some(raw) => Sent::Bad(raw.trim().to_string()),
        },
    };
    let subject = message.subject().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    Parsed::Message { correspondents, not_addresses, sent, subject }
}

/// Calls `f` with every message of `files` (in order), its file and the line it starts on.
fn for_each_message<E: From<MappingError>>(
    files: &[PathBuf],
    owners: &[String],
    mut f: impl FnMut(&Path, u64, Parsed) -> Result<(), E>,
) -> Result<(), E> {
    let mut line = Vec::new();
    let mut header = Vec::new();
    for file in files {
        let reader = File::open(file)
            .map_err(|error| MappingError::OpenInput { file: file.clone(), error })?;
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let (mut n, mut start) = (0u64, 0u64);
        // Whether a message is open, and whether its header is still being read.
        let (mut open, mut in_header) = (false, false);
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line).map_err(|error| {
                MappingError::ReadInput { file: file.clone(), line: n + 1, error }
            })?;
            let at_end = read == 0;
            if !at_end {
                n += 1;
            }
            if at_end || line.starts_with(b"From ") {
                if open {
                    f(file, start, parse(&header, owners))?;
                }
                if at_end {
                    break;
                }
                header.clear();
                (open, in_header, start) = (true, true, n);
                continue;
            }
            let blank = line.iter().all(u8::is_ascii_whitespace);
            if !open {
                // Text before the first `From ` line: a message without envelope line.
                if blank {
                    continue;
                }
                header.clear();
                (open, in_header, start) = (true, true, n);
            }
            if !in_header {
                continue;
            }
            if blank {
                in_header = false;
                continue;
            }
            if header.len() < MAX_HEADER {
                header.extend_from_slice(unquote(&line));
            }
        }
    }
    Ok(())
}

/// A line with one `>` taken off if it is a quoted `From ` line (`>From `, `>>From `, …).
fn unquote(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    match line.get(quotes..) {
        Some(rest) if quotes > 0 && rest.starts_with(b"From ") => line.get(1..).unwrap_or(line),
        _ => line,
    }
}

/// A correspondent's record as gathered: its name and when that name was given.
struct Gathered {
    name: Option<(Option<Timestamp>, String)>,
}

/// The records of a mailbox source's files, by id; counts in `plan.report`.
pub(super) fn records(
    files: &[PathBuf],
    options: &MboxOptions,
    plan: &mut Plan,
    kinds: &[KindId],
) -> Result<Vec<RecordInput>, MappingError> {
    let mut gathered: BTreeMap<String, Gathered> = BTreeMap::new();
    let mut not_addresses = 0;
    let report = &mut plan.report;
    for_each_message(files, &options.owners, |_, _, parsed| {
        report.records_read += 1;
        let Parsed::Message { correspondents, not_addresses: n, sent, .. } = parsed else {
            report.unparsed += 1;
            return Ok::<_, MappingError>(());
        };
        not_addresses += n;
        let at = match sent {
            Sent::At(at) => Some(at),
            Sent::Missing | Sent::Bad(_) => {
                report.bad_timestamps += 1;
                None
            }
        };
        for c in correspondents {
            let held = gathered.entry(c.address).or_insert(Gathered { name: None });
            let Some(name) = c.name else { continue };
            // The latest Date wins; an undated name only where no name is held.
            let newer = match (&held.name, at) {
                (None, _) => true,
                (Some((Some(held_at), _)), Some(at)) => at >= *held_at,
                (Some((None, _)), Some(_)) => true,
                (Some(_), None) => false,
            };
            if newer {
                held.name = Some((at, name));
            }
        }
        Ok(())
    })?;
    if not_addresses > 0 {
        *plan.report.empty_values.entry("email".to_string()).or_default() += not_addresses;
    }
    let email = kinds.first().copied().unwrap_or(KindId(0));
    let name: Arc<str> = Arc::from("name");
    Ok(gathered
        .into_iter()
        .map(|(address, g)| {
            let mut record = RecordInput::new(plan.source, address.clone());
            record.keys.push((email, address));
            if let Some((observed_at, value)) = g.name {
                record.attributes.push(Attribute { name: Arc::clone(&name), value, observed_at });
            }
            record
        })
        .collect())
}

/// Streams the `email_exchange` events of a mailbox source's files to `f`, `chunk` at a time;
/// counts in `read`.
pub(super) fn events<E: From<MappingError>>(
    files: &[PathBuf],
    options: &MboxOptions,
    source: SourceId,
    chunk: usize,
    read: &mut EventsRead,
    mut f: impl FnMut(&[EventInput]) -> Result<(), E>,
) -> Result<(), E> {
    let mut items = Chunk::new(chunk);
    let make = || EventInput::new(source, String::new(), EventKind::EMAIL_EXCHANGE, Timestamp(0));
    for_each_message::<E>(files, &options.owners, |_, line, parsed| {
        read.rows += 1;
        let (correspondents, sent, subject) = match parsed {
            Parsed::Unparseable => {
                read.skip(line, EventRowProblem::Unparseable, "");
                return Ok(());
            }
            Parsed::Message { correspondents, sent, subject, .. } => {
                (correspondents, sent, subject)
            }
        };
        let at = match sent {
            Sent::At(at) => at,
            Sent::Missing => {
                read.skip(line, EventRowProblem::EmptyTime, subject.as_deref().unwrap_or(""));
                return Ok(());
            }
            Sent::Bad(text) => {
                read.skip(line, EventRowProblem::BadTime, &text);
                return Ok(());
            }
        };
        if correspondents.is_empty() {
            read.skip(line, EventRowProblem::EmptyRecordId, subject.as_deref().unwrap_or(""));
            return Ok(());
        }
        for c in correspondents {
            let fields = Fields {
                record: &c.address,
                kind: EventKind::EMAIL_EXCHANGE,
                at,
                topic: subject.as_deref(),
                value: 0.0,
                channel: Some("email"),
                id: None,
            };
            fill(items.slot(make), source, &fields);
            read.events += 1;
            items.commit(&mut f)?;
        }
        Ok(())
    })?;
    items.finish(&mut f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str, owners: &[&str]) -> Parsed {
        let owners: Vec<String> = owners.iter().map(|o| o.to_string()).collect();
        parse(text.as_bytes(), &owners)
    }

    #[test]
    fn decodes_encoded_names_and_drops_owners() {
        let parsed = message(
            "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <Juergen@Example.DE>\r\n\
             To: Anna <ANNA@publisher.nl>, =?ISO-8859-1?B?UmVu6Q==?= <rene@example.fr>\r\n\
             Date: Tue, 1 Jul 2025 10:00:00 +0200\r\n\
             Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n",
            &["anna@publisher.nl"],
        );
        let Parsed::Message { correspondents, sent, subject, .. } = parsed else {
            panic!("parses")
        };
        let got: Vec<(&str, Option<&str>)> =
            correspondents.iter().map(|c| (c.address.as_str(), c.name.as_deref())).collect();
        assert_eq!(
            got,
            [("juergen@example.de", Some("Jürgen Müller")), ("rene@example.fr", Some("René"))]
        );
        // 2025-07-01T08:00:00Z: 20_270 days after the epoch, plus 8 hours.
        assert_eq!(sent, Sent::At(Timestamp(20_270 * 86_400 + 8 * 3600)));
        assert_eq!(subject.as_deref(), Some("Café"));
    }

    #[test]
    fn tells_missing_from_bad_dates() {
        let Parsed::Message { sent, .. } = message("From: a@b.nl\nSubject: x\n", &[]) else {
            panic!("parses")
        };
        assert_eq!(sent, Sent::Missing);
        let Parsed::Message { sent, .. } = message("From: a@b.nl\nDate: someday\n", &[]) else {
            panic!("parses")
        };
        assert_eq!(sent, Sent::Bad("someday".to_string()));
    }

    #[test]
    fn unquotes_one_level_of_from() {
        assert_eq!(unquote(b">From here\n"), b"From here\n");
        assert_eq!(unquote(b">>From here\n"), b">From here\n");
        assert_eq!(unquote(b">not from\n"), b">not from\n");
        assert_eq!(unquote(b"plain\n"), b"plain\n");
    }

    /// Events (one per correspondent) are handed in chunks of the size asked, their slots
    /// reused with no subject left over from an earlier chunk's event.
    #[test]
    fn events_come_in_chunks_and_reuse_no_stale_field() {
        let dir = std::env::temp_dir().join(format!("idstitch-mbox-chunks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("box.mbox");
        // Two correspondents a message; every other message has a subject.
        let mut text = String::new();
        for i in 0..4 {
            let subject = if i % 2 == 0 { format!("Subject: s{i}\n") } else { String::new() };
            text.push_str(&format!(
                "From x@y Mon Jun  1 10:00:00 2026\nFrom: a{i}@x.nl\nTo: b{i}@x.nl\n\
                 Date: Mon, 1 Jun 2026 10:00:0{i} +0000\n{subject}\nbody\n"
            ));
        }
        std::fs::write(&file, text).expect("written");
        let got = super::super::read_in_chunks(3, |size, read, f| {
            let files = std::slice::from_ref(&file);
            events(files, &MboxOptions::default(), SourceId::from_raw(0), size, read, f)
        });
        // 2026-06-01T10:00:00Z: 20_605 days after the epoch, plus 10 hours.
        let at = |i: i64| Timestamp(20_605 * 86_400 + 10 * 3600 + i);
        let want: Vec<EventInput> = (0..4)
            .flat_map(|i| {
                [format!("a{i}@x.nl"), format!("b{i}@x.nl")].map(|address| {
                    let e = EventInput::new(
                        SourceId::from_raw(0),
                        address,
                        EventKind::EMAIL_EXCHANGE,
                        at(i),
                    );
                    let topic = (i % 2 == 0).then(|| format!("s{i}"));
                    EventInput { topic, channel: Some("email".to_string()), ..e }
                })
            })
            .collect();
        assert_eq!(got, want);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
