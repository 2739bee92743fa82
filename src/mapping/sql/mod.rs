//! Database tables as mapped sections: a `[[source]]` (or `[[events]]`, `[[consent]]`,
//! `[[contacts]]`) table with `database` and `query` instead of `path` reads the query's rows,
//! each result column by name as a file's column.
//!
//! The rows are streamed, never collected: a producer thread owns the connection and steps
//! through the result (SQLite: the statement row by row; PostgreSQL: a cursor, a thousand rows
//! a fetch) and hands batches of rows through a bounded channel to [`Rows`], the reader the
//! mapping's readers see. The thread is there because a row iterator borrows its statement,
//! which borrows its connection: that state cannot live in an owned reader without `unsafe`,
//! and the thread also runs the database's work beside the resolving on a second core. At
//! most [`BATCHES`] batches wait in the channel, so memory stays bounded however many rows the
//! query gives; when the reader is dropped the thread's next send fails and it stops.
//!
//! Cells: SQL `NULL` is no value (as JSON `null`), integers and reals are their decimal text,
//! text is as it is; a BLOB (PostgreSQL `bytea`) or text that is not UTF-8 in a mapped column
//! is [`MappingError::DatabaseValue`] (cast it in the query, e.g. `hex(col)`, to read it),
//! which stops the load, or under `on_bad_row = "skip"` leaves the row out, counted: the
//! producer then sends the rows before it and the row's error, and reads on.

// Without a database feature nothing reads a database, so the reader goes unused.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::bad_rows::OnBadRow;
use super::config::TouchTable;
use super::error::{DatabaseSection, MappingError};
use super::reader::{Layout, Owner};

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

/// Batches of rows that may wait in the channel between the producer thread and the reader.
pub(super) const BATCHES: usize = 2;

/// Rows in one batch.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(super) const BATCH_ROWS: usize = 1000;

/// Where a database section's rows come from: a database and the query run on it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseQuery {
    /// The database.
    pub database: Database,
    /// The query, as written (a single `SELECT`, `WITH …` or `VALUES` statement).
    pub query: String,
}

/// A database a section reads: `database = "sqlite:PATH"` or `database = "postgres://…"`.
///
/// Its `Display` and `Debug` never show a password: a PostgreSQL connection string prints
/// with the password in its user part and any `password=` parameter replaced by `***`.
///
/// ```
/// use idstitch::mapping::Database;
///
/// let db = Database::parse("postgres://shop:s3cret@db.local:5432/shop?password=x", ".".as_ref());
/// let text = db.unwrap().to_string();
/// assert_eq!(text, "postgres://shop:***@db.local:5432/shop?password=***");
/// assert!(!format!("{:?}", Database::parse("postgres://a:s3cret@h/d", ".".as_ref())).contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Database {
    /// `sqlite:PATH`: a SQLite file, relative to the mapping file's directory (feature
    /// `sqlite`). It is opened read-only and must exist.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`: a PostgreSQL server, by libpq-style URL (feature
    /// `postgres`); the query runs in a read-only transaction.
    Postgres(ConnectionString),
}

/// A PostgreSQL connection URL, which may hold a password: shown only redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString(String);

impl ConnectionString {
    /// The URL with its password replaced by `***` (in the user part and in a `password`
    /// parameter).
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }

    /// The URL as written, password and all: for connecting, never for messages.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(super) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Database {
    /// Reads a `database` value: `sqlite:PATH` (PATH relative to `base_dir`, the mapping
    /// file's directory) or a `postgres://` or `postgresql://` URL; `None` for anything else.
    pub fn parse(text: &str, base_dir: &Path) -> Option<Database> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            return (!path.is_empty()).then(|| Database::Sqlite(base_dir.join(path)));
        }
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Some(Database::Postgres(ConnectionString(text.to_string())));
        }
        None
    }

    /// The crate feature that reads this database.
    pub const fn feature(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// Whether this build reads the database (its feature is enabled).
    pub const fn enabled(&self) -> bool {
        match self {
            Database::Sqlite(_) => cfg!(feature = "sqlite"),
            Database::Postgres(_) => cfg!(feature = "postgres"),
        }
    }

    /// What errors and reports name as the section's file: the SQLite file, or the redacted
    /// PostgreSQL URL.
    pub fn label(&self) -> PathBuf {
        match self {
            Database::Sqlite(path) => path.clone(),
            Database::Postgres(url) => PathBuf::from(url.redacted()),
        }
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Database::Postgres(url) => fmt::Display::fmt(url, f),
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Database::Postgres(url) => f.debug_tuple("Postgres").field(url).finish(),
        }
    }
}

impl DatabaseQuery {
    /// The name a section without an `id` column gives its items' ids in a state (as a file
    /// section gives its file's name): the database's file or database name and a checksum of
    /// the query with its whitespace collapsed, so two queries on one database stay apart.
    /// Editing the query otherwise changes it, and with it the ids: give such a section an
    /// `id` column to keep them.
    pub(crate) fn export_name(&self) -> String {
        let name = match &self.database {
            Database::Sqlite(path) => {
                path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            }
            Database::Postgres(url) => {
                let r = url.redacted();
                let path = r.split(['?', '#']).next().unwrap_or_default();
                path.rsplit('/').next().unwrap_or_default().to_string()
            }
        };
        let query: Vec<&str> = self.query.split_whitespace().collect();
        format!("{name}#{:08x}", crc32fast::hash(query.join(" ").as_bytes()))
    }
}

/// `url` with the password of its user part and of a `password` parameter replaced by `***`.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    // The authority ends at the first `/`, `?` or `#`; its user part at the last `@` in it.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        None => tail.to_string(),
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
    };
    format!("{scheme}://{authority}{tail}")
}

/// Who a database error is about: the mapping table, its source and the database.
#[derive(Clone, Debug)]
pub(super) struct Context(Box<DatabaseSection>);

impl Context {
    fn new(layout: &Layout, db: &Database) -> Self {
        let (table, source_name) = match &layout.owner {
            Owner::Source(name) => (format!("[[source]] {name:?}"), name.clone()),
            Owner::Events { number, source } => {
                (format!("[[events]] #{number} ({source:?})"), source.clone())
            }
            Owner::Touch { table, number, source } => {
                let name = match table {
                    TouchTable::Consent => "[[consent]]",
                    TouchTable::Contacts => "[[contacts]]",
                };
                (format!("{name} #{number} ({source:?})"), source.clone())
            }
        };
        Context(Box::new(DatabaseSection { table, source_name, database: db.to_string() }))
    }

    /// The connection failed.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(super) fn connect(&self, error: impl fmt::Display) -> MappingError {
        MappingError::DatabaseConnect { at: self.0.clone(), error: error.to_string() }
    }

    /// The query did not prepare or start.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(super) fn query(&self, error: impl fmt::Display) -> MappingError {
        MappingError::DatabaseQuery { at: self.0.clone(), error: error.to_string() }
    }

    /// Reading row `row` (from 1) failed.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(super) fn row(&self, row: u64, error: impl fmt::Display) -> MappingError {
        MappingError::DatabaseRow { at: self.0.clone(), row, error: error.to_string() }
    }

    /// Row `row` holds a value in mapped column `column` that is not read.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(super) fn value(&self, row: u64, column: &str, found: &'static str) -> MappingError {
        MappingError::DatabaseValue { at: self.0.clone(), row, column: column.to_string(), found }
    }

    /// The index in the result's `columns` of each mapped column of `layout`, or the error
    /// for the first one missing or given twice.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(super) fn index(
        &self,
        layout: &Layout,
        columns: &[String],
    ) -> Result<Vec<usize>, MappingError> {
        let mut index = Vec::with_capacity(layout.columns.len());
        for (column, key) in layout.columns.iter().zip(&layout.column_keys) {
            let mut found = columns.iter().enumerate().filter(|(_, c)| *c == column);
            match (found.next(), found.next()) {
                (Some((i, _)), None) => index.push(i),
                (Some(_), Some(_)) => {
                    return Err(MappingError::DuplicateColumn {
                        file: layout.file.clone(),
                        column: column.clone(),
                    })
                }
                (None, _) => {
                    return Err(MappingError::MissingQueryColumn {
                        at: self.0.clone(),
                        column: column.clone(),
                        key: key.clone(),
                        columns: columns.to_vec().into_boxed_slice(),
                    })
                }
            }
        }
        Ok(index)
    }
}

/// What a [`MappingError::DatabaseValue`] says a mapped column holds; [`BadRowReason::of`]
/// tells the reasons apart by it.
///
/// [`BadRowReason::of`]: super::BadRowReason::of
pub(super) mod found {
    /// A SQLite BLOB.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(in crate::mapping) const BLOB: &str = "a BLOB";
    /// A PostgreSQL `bytea`.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(in crate::mapping) const BYTEA: &str = "bytea";
    /// SQLite text that is not UTF-8.
    pub(in crate::mapping) const NOT_UTF8: &str = "text that is not UTF-8";
}

/// What the producer thread tells the reader.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(super) enum Message {
    /// Connected, and the query's columns hold every mapped column: rows follow. With the
    /// query's row count when only checking.
    Ready(Option<u64>),
    /// Rows, each `width` cells in the mapped columns' order, one after another.
    Rows(Vec<Option<String>>),
    /// The next row holds a value not read as text ([`MappingError::DatabaseValue`]) and the
    /// section skips bad rows: the reader counts it, and rows follow.
    Bad(MappingError),
    /// The reading stopped here.
    Failed(MappingError),
    /// Every row was sent.
    End,
}

/// What the producer thread is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(super) enum Task {
    /// Connect, check the columns and count the rows, then stop.
    Check,
    /// Connect, check the columns and send every row.
    Read,
}

/// The sending end the producer threads write to: a closed channel (the reader is gone)
/// stops them.
pub(super) type Sender = SyncSender<Message>;

/// The rows of a database section, as the readers see them: positioned at a row, whose
/// cells are by index into the layout's columns.
pub(super) struct Rows {
    receiver: Receiver<Message>,
    ctx: Context,
    width: usize,
    batch: Vec<Option<String>>,
    /// The current row's first cell in `batch`, once a row is read.
    at: Option<usize>,
    /// Rows read so far: the current row's number, from 1.
    row: u64,
    done: bool,
}

impl fmt::Debug for Rows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rows").field("ctx", &self.ctx).field("row", &self.row).finish()
    }
}

impl Rows {
    /// Moves to the next row: `Ok(None)` after the last, else the row's number (from 1).
    ///
    /// # Errors
    /// The producer's error ([`MappingError::DatabaseRow`] for a broken connection), or
    /// [`MappingError::DatabaseRow`] if it stopped without saying why.
    pub(super) fn advance(&mut self) -> Result<Option<u64>, MappingError> {
        if self.done {
            return Ok(None);
        }
        let next = self.at.map_or(0, |at| at + self.width);
        if next < self.batch.len() {
            self.at = Some(next);
            self.row += 1;
            return Ok(Some(self.row));
        }
        loop {
            match self.receiver.recv() {
                // Every layout has a column (the id or record), so a row has a cell.
                Ok(Message::Rows(rows)) if !rows.is_empty() => {
                    self.batch = rows;
                    self.at = Some(0);
                    self.row += 1;
                    return Ok(Some(self.row));
                }
                Ok(Message::Rows(_) | Message::Ready(_)) => {}
                Ok(Message::End) => {
                    self.done = true;
                    self.at = None;
                    return Ok(None);
                }
                Ok(Message::Bad(e)) => {
                    // The bad row has its number; the next row starts a batch of its own.
                    self.row += 1;
                    self.batch.clear();
                    self.at = None;
                    return Err(e);
                }
                Ok(Message::Failed(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(self.ctx.row(self.row + 1, "the reading thread stopped"));
                }
            }
        }
    }

    /// The current row's cell of layout column `col`; `None` for SQL `NULL`.
    pub(super) fn cell(&self, col: usize) -> Option<&str> {
        let at = self.at?;
        self.batch.get(at + col)?.as_deref()
    }
}

/// What the producer does with a row holding a value not read as text (`error`), whose
/// cells from `row_start` on `batch` holds: they are dropped; under `on_bad_row = "skip"` the
/// rows before it are sent, then the error, and `Ok(true)` says to read on (`Ok(false)`: the
/// reader is gone); otherwise the error stops the reading.
///
/// # Errors
/// `error`, unless the section skips bad rows.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(super) fn bad_value(
    layout: &Layout,
    batch: &mut Vec<Option<String>>,
    row_start: usize,
    error: MappingError,
    sender: &Sender,
) -> Result<bool, MappingError> {
    batch.truncate(row_start);
    if layout.on_bad_row != OnBadRow::Skip {
        return Err(error);
    }
    if !batch.is_empty() {
        let rows = std::mem::replace(batch, Vec::with_capacity(batch.capacity()));
        if sender.send(Message::Rows(rows)).is_err() {
            return Ok(false);
        }
    }
    Ok(sender.send(Message::Bad(error)).is_ok())
}

/// Starts the producer thread for a database section and waits for it to connect and check
/// the columns.
fn start(
    layout: &Layout,
    db: &DatabaseQuery,
    task: Task,
) -> Result<(Rows, Option<u64>), MappingError> {
    let ctx = Context::new(layout, &db.database);
    let (sender, receiver) = sync_channel::<Message>(BATCHES);
    let spawned = {
        let (ctx, db, layout) = (ctx.clone(), db.clone(), layout.clone());
        std::thread::Builder::new().name("idstitch-sql".into()).spawn(move || {
            produce(&ctx, &db, &layout, task, &sender);
        })
    };
    spawned.map_err(|e| ctx.connect(format!("cannot start the reading thread: {e}")))?;
    let width = layout.columns.len();
    let rows = Rows { receiver, ctx, width, batch: Vec::new(), at: None, row: 0, done: false };
    match rows.receiver.recv() {
        Ok(Message::Ready(count)) => Ok((rows, count)),
        Ok(Message::Failed(e)) => Err(e),
        Ok(_) | Err(_) => Err(rows.ctx.connect("the reading thread stopped")),
    }
}

/// Runs on the producer thread: the database's reader for `task`.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(unused_variables))]
fn produce(ctx: &Context, db: &DatabaseQuery, layout: &Layout, task: Task, sender: &Sender) {
    let result = match &db.database {
        #[cfg(feature = "sqlite")]
        Database::Sqlite(path) => sqlite::produce(ctx, path, &db.query, layout, task, sender),
        #[cfg(feature = "postgres")]
        Database::Postgres(url) => {
            postgres::produce(ctx, url.secret(), &db.query, layout, task, sender)
        }
        #[allow(unreachable_patterns)]
        other => {
            Err(MappingError::FeatureDisabled { file: other.label(), feature: other.feature() })
        }
    };
    // A failed send means the reader is gone; nobody is left to tell.
    let _ = sender.send(match result {
        Ok(()) => Message::End,
        Err(e) => Message::Failed(e),
    });
}

/// Opens a database section for reading, once the columns are checked.
///
/// # Errors
/// [`MappingError::FeatureDisabled`], [`MappingError::DatabaseConnect`],
/// [`MappingError::DatabaseQuery`], [`MappingError::MissingQueryColumn`] or
/// [`MappingError::DuplicateColumn`].
pub(super) fn open(layout: &Layout, db: &DatabaseQuery) -> Result<Rows, MappingError> {
    start(layout, db, Task::Read).map(|(rows, _)| rows)
}

/// Checks that a database section connects and that its query gives every mapped column,
/// and counts its rows (`SELECT count(*)` over the query; 0 if that fails).
///
/// # Errors
/// As [`open`].
pub(super) fn check(layout: &Layout, db: &DatabaseQuery) -> Result<u64, MappingError> {
    start(layout, db, Task::Check).map(|(_, count)| count.unwrap_or(0))
}

/// The query without trailing semicolons and whitespace, to wrap in another statement.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(super) fn bare(query: &str) -> &str {
    query.trim().trim_end_matches(|c: char| c == ';' || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let cases = [
            ("postgres://u:pw@h/d", "postgres://u:***@h/d"),
            ("postgres://u@h:5/d", "postgres://u@h:5/d"),
            (
                "postgresql://h/d?user=u&password=pw&sslmode=disable",
                "postgresql://h/d?user=u&password=***&sslmode=disable",
            ),
            ("postgres://u:p@ss@h/d", "postgres://u:***@h/d"),
            ("postgres://h", "postgres://h"),
        ];
        for (url, want) in cases {
            assert_eq!(redact(url), want, "{url}");
            assert!(!redact(url).contains("pw"));
        }
    }

    #[test]
    fn database_values_parse() {
        let base = Path::new("/maps");
        assert_eq!(
            Database::parse("sqlite:shop.db", base),
            Some(Database::Sqlite("/maps/shop.db".into()))
        );
        assert_eq!(
            Database::parse("sqlite:/var/x.db", base),
            Some(Database::Sqlite("/var/x.db".into()))
        );
        assert_eq!(
            Database::parse(" sqlite://rel/x.db", base),
            Some(Database::Sqlite("/maps/rel/x.db".into()))
        );
        assert!(matches!(Database::parse("POSTGRES://h/d", base), Some(Database::Postgres(_))));
        assert_eq!(Database::parse("sqlite:", base), None);
        assert_eq!(Database::parse("mysql://h/d", base), None);
        assert_eq!(Database::parse("shop.db", base), None);
    }

    #[test]
    fn export_names_tell_queries_apart() {
        let q = |query: &str| DatabaseQuery {
            database: Database::Sqlite("/d/shop.sqlite".into()),
            query: query.into(),
        };
        let a = q("SELECT * FROM orders");
        assert!(a.export_name().starts_with("shop.sqlite#"), "{}", a.export_name());
        assert_eq!(a.export_name(), q("SELECT *\n  FROM   orders").export_name());
        assert_ne!(a.export_name(), q("SELECT * FROM refunds").export_name());
    }

    #[test]
    fn bare_strips_semicolons() {
        assert_eq!(bare(" SELECT 1 ;\n; "), "SELECT 1");
    }
}
