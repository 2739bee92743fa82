//! The SQLite producer: opens the file read-only, prepares the query, checks its columns and
//! steps through its rows, sending them in batches.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{bad_value, bare, found, Context, Message, Sender, Task, BATCH_ROWS};
use crate::mapping::error::MappingError;
use crate::mapping::reader::Layout;

/// Reads `query` on the SQLite file at `path` for `task`, sending to `sender`; returns when
/// every row is sent, the reader is gone (a failed send) or reading fails.
pub(super) fn produce(
    ctx: &Context,
    path: &Path,
    query: &str,
    layout: &Layout,
    task: Task,
    sender: &Sender,
) -> Result<(), MappingError> {
    // Read-only and without creating: a missing file is an error, not a new empty database.
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags).map_err(|e| ctx.connect(e))?;
    let mut statement = connection.prepare(query).map_err(|e| ctx.query(e))?;
    let names: Vec<String> = statement.column_names().into_iter().map(str::to_string).collect();
    let index = ctx.index(layout, &names)?;
    if task == Task::Check {
        let count = connection
            .query_row(&format!("SELECT count(*) FROM ({})", bare(query)), [], |row| {
                row.get::<_, i64>(0)
            })
            .ok()
            .and_then(|n| u64::try_from(n).ok());
        let _ = sender.send(Message::Ready(count));
        return Ok(());
    }
    if sender.send(Message::Ready(None)).is_err() {
        return Ok(());
    }
    let mut rows = statement.query([]).map_err(|e| ctx.query(e))?;
    let width = index.len();
    let mut batch: Vec<Option<String>> = Vec::with_capacity(BATCH_ROWS * width);
    let mut number = 0u64;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => return Err(ctx.row(number + 1, e)),
        };
        number += 1;
        let (row_start, mut bad) = (batch.len(), None);
        for (&i, column) in index.iter().zip(&layout.columns) {
            match cell(row.get_ref(i).map_err(|e| ctx.row(number, e))?) {
                Ok(cell) => batch.push(cell),
                Err(found) => {
                    bad = Some(ctx.value(number, column, found));
                    break;
                }
            }
        }
        if let Some(error) = bad {
            if !bad_value(layout, &mut batch, row_start, error, sender)? {
                return Ok(());
            }
            continue;
        }
        if batch.len() >= BATCH_ROWS * width {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS * width));
            if sender.send(Message::Rows(full)).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() && sender.send(Message::Rows(batch)).is_err() {
        return Ok(());
    }
    Ok(())
}

/// A value as a cell's text (`None` for `NULL`), or what it holds that is not read as text.
fn cell(value: ValueRef<'_>) -> Result<Option<String>, &'static str> {
    Ok(match value {
        ValueRef::Null => None,
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Text(bytes) => {
            Some(std::str::from_utf8(bytes).map_err(|_| found::NOT_UTF8)?.to_string())
        }
        ValueRef::Blob(_) => return Err(found::BLOB),
    })
}
