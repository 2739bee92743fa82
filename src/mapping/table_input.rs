//! Where a mapped table's rows come from: [`TableInput`], the keys every `[[source]]`,
//! `[[events]]`, `[[consent]]` and `[[contacts]]` table shares (a file and how it is written,
//! or a database and a query).

use std::path::PathBuf;

use super::bad_rows::OnBadRow;
use super::config::InputFormat;
use super::decode::FileEncoding;
use super::reader::{Layout, Owner};
use super::sql::DatabaseQuery;

/// Where a mapped table's rows come from, and how they are written: the keys `path` (or
/// `database` and `query`), `delimiter`, `encoding` and `on_bad_row` that a `[[source]]`,
/// `[[events]]`, `[[consent]]` and `[[contacts]]` table each write among their own keys.
/// Every such mapping holds one as its `input` ([`SourceMapping::input`](super::SourceMapping::input),
/// [`EventsMapping::input`](super::EventsMapping::input), …).
///
/// ```
/// use idstitch::mapping::{FileEncoding, InputFormat, Mapping, OnBadRow};
///
/// let mapping = Mapping::from_str(
///     r#"
///     [[source]]
///     name = "crm"
///     path = "crm.csv"
///     id = "id"
///     delimiter = ";"
///     encoding = "windows-1252"
///     [[events]]
///     source = "crm"
///     database = "sqlite:shop.db"
///     query = "SELECT customer, kind, ts FROM orders"
///     record = "customer"
///     kind = "kind"
///     at = "ts"
///     on_bad_row = "skip"
///     "#,
///     "/data",
/// )?;
/// let crm = &mapping.sources()[0].input;
/// assert_eq!(crm.path, std::path::Path::new("/data/crm.csv"));
/// assert_eq!((crm.format, crm.delimiter), (InputFormat::Csv, b';'));
/// assert_eq!((crm.encoding, crm.on_bad_row), (FileEncoding::Windows1252, OnBadRow::Fail));
/// let orders = &mapping.events()[0].input;
/// assert_eq!(orders.format, InputFormat::Sql);
/// assert_eq!(orders.path, std::path::Path::new("/data/shop.db"));
/// assert_eq!(orders.database.as_ref().map(|d| d.query.as_str()), Some("SELECT customer, kind, ts FROM orders"));
/// assert_eq!(orders.on_bad_row, OnBadRow::Skip);
/// # Ok::<(), idstitch::mapping::MappingError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableInput {
    /// The input file, resolved against the mapping file's directory (for a mailbox or GA4
    /// source, a file or a folder of them); for a database section the database's
    /// [`label`](super::Database::label) (the SQLite file, or the PostgreSQL URL without its
    /// password).
    pub path: PathBuf,
    /// The file format: from the extension, from a source's `format`, or
    /// [`InputFormat::Sql`] for a database section.
    pub format: InputFormat,
    /// A database section's database and query (`database` and `query` instead of `path`).
    pub database: Option<DatabaseQuery>,
    /// The CSV field delimiter (`,` unless `delimiter` says otherwise).
    pub delimiter: u8,
    /// The file's text encoding (`encoding`; UTF-8 unless it says otherwise).
    pub encoding: FileEncoding,
    /// What a malformed row does (`on_bad_row`; [`OnBadRow::Fail`] unless it says otherwise).
    pub on_bad_row: OnBadRow,
}

impl TableInput {
    /// A file (or folder) of `format` with every other key at its default: how a mailbox or
    /// GA4 source, which takes none of them, reads.
    pub(super) fn file(path: PathBuf, format: InputFormat) -> Self {
        TableInput {
            path,
            format,
            database: None,
            delimiter: b',',
            encoding: FileEncoding::Utf8,
            on_bad_row: OnBadRow::Fail,
        }
    }

    /// What the readers need to read `columns` (each with the TOML key that names it) of the
    /// table `owner`.
    pub(super) fn layout(&self, owner: Owner, columns: Vec<(String, String)>) -> Layout {
        let (columns, column_keys) = columns.into_iter().unzip();
        Layout {
            file: self.path.clone(),
            format: self.format,
            delimiter: self.delimiter,
            encoding: self.encoding,
            on_bad_row: self.on_bad_row,
            columns,
            column_keys,
            owner,
            database: self.database.clone(),
        }
    }

    /// What tells two tables of rows of one source apart, and names the export ids of one
    /// without an `id` column: the file's name (the whole path if it has none), or for a
    /// database section its [`DatabaseQuery::export_name`].
    pub(crate) fn key(&self) -> String {
        match &self.database {
            Some(db) => db.export_name(),
            None => self
                .path
                .file_name()
                .unwrap_or(self.path.as_os_str())
                .to_string_lossy()
                .into_owned(),
        }
    }
}
