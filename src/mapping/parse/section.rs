//! Where a table's rows come from: the keys every table shares (`path` or `database` +
//! `query`, `delimiter`, `encoding`, `on_bad_row`), checked into a [`TableInput`] by
//! [`table_input`], and the `source` every table of rows names first ([`head`]).

use super::*;

/// A table of rows that belong to a source's records: an `[[events]]` table or a
/// `[[consent]]` or `[[contacts]]` one, with its place (from 1) among the tables of its kind.
#[derive(Clone, Copy)]
pub(super) enum Table {
    Events(usize),
    Touch(TouchTable, usize),
}

/// What every table of rows says first: whose records its rows belong to, and its input.
pub(super) struct Head {
    pub(super) source: String,
    pub(super) input: TableInput,
}

/// The keys of a table that say where its rows come from, as written ([`table_input`] checks
/// them): the same in every kind of table.
pub(super) struct InputKeys<'a> {
    pub(super) path: Option<&'a Spanned<String>>,
    pub(super) database: Option<&'a Spanned<String>>,
    pub(super) query: Option<&'a Spanned<String>>,
    pub(super) delimiter: Option<&'a Spanned<String>>,
    pub(super) encoding: Option<&'a Spanned<String>>,
    pub(super) on_bad_row: Option<&'a Spanned<String>>,
}

/// The keys every table of rows shares, checked: `source` names a `[[source]]`, and the
/// [`table_input`] is one that no earlier table of the kind reads into the same source
/// (`taken`: by source and [`TableInput::key`], which makes the export ids of a section
/// without an `id` column). `span` is the whole table's.
pub(super) fn head<'a>(
    loc: &Locator<'_>,
    base_dir: &Path,
    (table, span): (Table, std::ops::Range<usize>),
    source: &Spanned<String>,
    keys: InputKeys<'_>,
    sources: &[SourceMapping],
    mut taken: impl Iterator<Item = (&'a str, &'a TableInput)>,
) -> Result<Head, MappingError> {
    let source_name = section_name(loc, table, source, None, "source")?;
    if !sources.iter().any(|s| s.name == source_name) {
        return Err(MappingError::UnknownEventSource {
            at: loc.at_table(source.span(), table, None, "source"),
            name: source_name,
        });
    }
    let src = Some(source_name.as_str());
    let place = |span, key: &str| loc.at_table(span, table, src, key);
    let duplicate_at = keys.path.or(keys.query).map_or(0..0, Spanned::span);
    let input = table_input(&place, base_dir, span, keys)?;
    let key = input.key();
    if taken.any(|(s, other)| s == source_name && other.key() == key) {
        let (at, path) = (place(duplicate_at, "path"), input.path);
        return Err(match table {
            Table::Events(_) => MappingError::DuplicateEvents { at, source_name, path },
            Table::Touch(table, _) => MappingError::DuplicateTouch { at, table, source_name, path },
        });
    }
    Ok(Head { source: source_name, input })
}

/// A table's input, checked: its [`input`] (exactly one of `path` or `database` and
/// `query`), a `delimiter` of one ASCII character, and its [`file_options`]. `place` makes
/// the place of a key; `table` is the whole table's span.
pub(super) fn table_input(
    place: &dyn Fn(std::ops::Range<usize>, &str) -> Box<TomlPlace>,
    base_dir: &Path,
    table: std::ops::Range<usize>,
    keys: InputKeys<'_>,
) -> Result<TableInput, MappingError> {
    let Input { path, format, database } =
        input(place, base_dir, table, keys.path, keys.database, keys.query)?;
    let delimiter = match keys.delimiter {
        None => b',',
        Some(d) => delimiter_of(d.get_ref()).ok_or_else(|| MappingError::BadDelimiter {
            at: place(d.span(), "delimiter"),
            delimiter: d.get_ref().clone(),
        })?,
    };
    let (encoding, on_bad_row) = file_options(format, keys.encoding, keys.on_bad_row, place)?;
    Ok(TableInput { path, format, database, delimiter, encoding, on_bad_row })
}

/// Where a table's rows come from, checked.
struct Input {
    /// The file, or the database's label.
    path: PathBuf,
    format: InputFormat,
    database: Option<DatabaseQuery>,
}

/// A table's `path`, or its `database` and `query`: exactly one of the two. `place` makes the
/// place of a key; `table` is the whole table's span.
fn input(
    place: &dyn Fn(std::ops::Range<usize>, &str) -> Box<TomlPlace>,
    base_dir: &Path,
    table: std::ops::Range<usize>,
    path: Option<&Spanned<String>>,
    database: Option<&Spanned<String>>,
    query: Option<&Spanned<String>>,
) -> Result<Input, MappingError> {
    let text = |value: &Spanned<String>, key: &str| {
        let v = value.get_ref().trim();
        if v.is_empty() {
            return Err(MappingError::EmptyName { at: place(value.span(), key) });
        }
        Ok(v.to_string())
    };
    match (path, database, query) {
        (Some(_), Some(db), _) => {
            Err(MappingError::PathAndDatabase { at: place(db.span(), "database") })
        }
        (Some(_), None, Some(q)) | (None, None, Some(q)) => {
            Err(MappingError::DatabaseWithoutQuery { at: place(q.span(), "query") })
        }
        (None, Some(db), None) => {
            Err(MappingError::DatabaseWithoutQuery { at: place(db.span(), "database") })
        }
        (None, None, None) => Err(MappingError::NoInput { at: place(table, "path") }),
        (None, Some(db), Some(q)) => {
            let written = text(db, "database")?;
            let Some(database) = Database::parse(&written, base_dir) else {
                // Cut before any `@`, so that a password in a mistyped URL does not show.
                let shown = written.split('@').next().unwrap_or_default().to_string();
                return Err(MappingError::UnknownDatabase {
                    at: place(db.span(), "database"),
                    database: shown,
                });
            };
            let query = text(q, "query")?;
            Ok(Input {
                path: database.label(),
                format: InputFormat::Sql,
                database: Some(DatabaseQuery { database, query }),
            })
        }
        (Some(path), None, None) => {
            let file = base_dir.join(text(path, "path")?);
            let Some(format) = format_of(&file) else {
                return Err(MappingError::UnknownFormat {
                    at: place(path.span(), "path"),
                    path: file,
                });
            };
            Ok(Input { path: file, format, database: None })
        }
    }
}

/// A table's `encoding` and `on_bad_row`, checked: a known encoding (UTF-8 for JSON Lines)
/// and policy. `at` places an error at a span and key.
fn file_options(
    format: InputFormat,
    encoding: Option<&Spanned<String>>,
    on_bad_row: Option<&Spanned<String>>,
    at: &dyn Fn(std::ops::Range<usize>, &str) -> Box<TomlPlace>,
) -> Result<(FileEncoding, OnBadRow), MappingError> {
    if let (InputFormat::Sql, Some(value)) = (format, encoding) {
        // A database's rows come decoded: `on_bad_row` still says what a value the mapping
        // cannot read as text does.
        return Err(MappingError::FileKeyForDatabase { at: at(value.span(), "encoding") });
    }
    let encoding = match encoding {
        None => FileEncoding::Utf8,
        Some(e) => {
            let named = FileEncoding::from_label(e.get_ref()).ok_or_else(|| {
                MappingError::UnknownEncoding {
                    at: at(e.span(), "encoding"),
                    encoding: e.get_ref().clone(),
                }
            })?;
            if format == InputFormat::JsonLines && named != FileEncoding::Utf8 {
                return Err(MappingError::JsonEncoding {
                    at: at(e.span(), "encoding"),
                    encoding: e.get_ref().clone(),
                });
            }
            named
        }
    };
    let on_bad_row = match on_bad_row {
        None => OnBadRow::Fail,
        Some(p) => {
            OnBadRow::from_name(p.get_ref()).ok_or_else(|| MappingError::UnknownBadRowPolicy {
                at: at(p.span(), "on_bad_row"),
                policy: p.get_ref().clone(),
            })?
        }
    };
    Ok((encoding, on_bad_row))
}
