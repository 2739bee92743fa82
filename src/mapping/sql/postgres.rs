//! The PostgreSQL producer: connects, prepares the query (for its columns, before any row),
//! then reads it through a cursor in a read-only transaction, a batch of rows a fetch, with
//! every value in PostgreSQL's text form.

use postgres::types::Type;
use postgres::{Client, NoTls, SimpleQueryMessage};

use super::{bad_value, bare, found, Context, Message, Sender, Task, BATCH_ROWS};
use crate::mapping::error::MappingError;
use crate::mapping::reader::Layout;

/// How a mapped column's text is passed on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Text {
    /// As the server writes it.
    Plain,
    /// A `timestamptz`: the server writes `2024-05-01 07:30:00+00` (the session is in UTC),
    /// passed on as RFC 3339 (`…+00:00`), which [`parse_timestamp`] reads.
    ///
    /// [`parse_timestamp`]: crate::mapping::parse_timestamp
    Timestamp,
    /// `bytea`: not read, a bad row (see the module docs of `sql`).
    Bytes,
}

/// Reads `query` on the server at `url` for `task`, sending to `sender`; returns when every
/// row is sent, the reader is gone (a failed send) or reading fails.
pub(super) fn produce(
    ctx: &Context,
    url: &str,
    query: &str,
    layout: &Layout,
    task: Task,
    sender: &Sender,
) -> Result<(), MappingError> {
    let mut client = Client::connect(url, NoTls).map_err(|e| ctx.connect(describe(&e)))?;
    // Times in UTC and ISO order, so `timestamptz` text converts without a time zone table.
    client
        .batch_execute("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'")
        .map_err(|e| ctx.connect(describe(&e)))?;
    let statement = client.prepare(query).map_err(|e| ctx.query(describe(&e)))?;
    let names: Vec<String> = statement.columns().iter().map(|c| c.name().to_string()).collect();
    let index = ctx.index(layout, &names)?;
    let texts: Vec<Text> = index
        .iter()
        .map(|&i| match statement.columns().get(i).map(|c| c.type_()) {
            Some(t) if *t == Type::TIMESTAMPTZ => Text::Timestamp,
            Some(t) if *t == Type::BYTEA => Text::Bytes,
            _ => Text::Plain,
        })
        .collect();
    if task == Task::Check {
        let count = client
            .query_one(&format!("SELECT count(*) FROM ({}) AS idstitch_count", bare(query)), &[])
            .ok()
            .and_then(|row| row.try_get::<_, i64>(0).ok())
            .and_then(|n| u64::try_from(n).ok());
        let _ = sender.send(Message::Ready(count));
        return Ok(());
    }
    if sender.send(Message::Ready(None)).is_err() {
        return Ok(());
    }
    let mut transaction =
        client.build_transaction().read_only(true).start().map_err(|e| ctx.query(describe(&e)))?;
    transaction
        .batch_execute(&format!("DECLARE idstitch_rows NO SCROLL CURSOR FOR {}", bare(query)))
        .map_err(|e| ctx.query(describe(&e)))?;
    let fetch = format!("FETCH FORWARD {BATCH_ROWS} FROM idstitch_rows");
    let width = index.len();
    let mut number = 0u64;
    loop {
        let messages =
            transaction.simple_query(&fetch).map_err(|e| ctx.row(number + 1, describe(&e)))?;
        let mut batch: Vec<Option<String>> = Vec::with_capacity(BATCH_ROWS * width);
        let fetched_before = number;
        for message in &messages {
            let SimpleQueryMessage::Row(row) = message else { continue };
            number += 1;
            let (row_start, mut bad) = (batch.len(), None);
            for ((&i, text), column) in index.iter().zip(&texts).zip(&layout.columns) {
                let value = row.try_get(i).map_err(|e| ctx.row(number, describe(&e)))?;
                batch.push(match (value, text) {
                    (None, _) => None,
                    (Some(_), Text::Bytes) => {
                        bad = Some(ctx.value(number, column, found::BYTEA));
                        break;
                    }
                    (Some(v), Text::Timestamp) => Some(rfc3339_offset(v)),
                    (Some(v), Text::Plain) => Some(v.to_string()),
                });
            }
            if let Some(error) = bad {
                if !bad_value(layout, &mut batch, row_start, error, sender)? {
                    return Ok(());
                }
            }
        }
        // A fetch of no rows is the end; one whose rows were all skipped is not.
        if number == fetched_before {
            break;
        }
        if !batch.is_empty() && sender.send(Message::Rows(batch)).is_err() {
            return Ok(());
        }
    }
    // Read-only: nothing to keep, but ending cleanly frees the cursor at once.
    transaction.commit().map_err(|e| ctx.row(number + 1, describe(&e)))
}

/// The client's error as people need it: the server's message and SQLSTATE for a database
/// error (the client's own `Display` says only "db error"), else the error and its cause.
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// A `timestamptz` text with its offset written as RFC 3339 wants it: `+00` becomes `+00:00`
/// (`+05:30` stays).
fn rfc3339_offset(text: &str) -> String {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let short_offset = n >= 3
        && matches!(bytes.get(n - 3), Some(b'+' | b'-'))
        && bytes.get(n - 2..).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        && bytes.get(n.saturating_sub(4)).is_some_and(u8::is_ascii_digit);
    if short_offset {
        format!("{text}:00")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::rfc3339_offset;
    use crate::mapping::parse_timestamp;

    #[test]
    fn server_times_read_as_rfc3339() {
        assert_eq!(rfc3339_offset("2024-05-01 07:30:00+00"), "2024-05-01 07:30:00+00:00");
        assert_eq!(rfc3339_offset("2024-05-01 07:30:00.25-03"), "2024-05-01 07:30:00.25-03:00");
        assert_eq!(rfc3339_offset("2024-05-01 07:30:00+05:30"), "2024-05-01 07:30:00+05:30");
        assert_eq!(rfc3339_offset("infinity"), "infinity");
        // 07:30 UTC on 1 May 2024, counted by hand: 19844 days × 86400 + 7.5 h.
        assert_eq!(
            parse_timestamp(&rfc3339_offset("2024-05-01 07:30:00+00")),
            Some(crate::Timestamp(19_844 * 86_400 + 27_000))
        );
    }
}
