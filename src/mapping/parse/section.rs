//! Where a table's rows come from: the keys every table of rows shares (`source`, `path` or
//! `database` + `query`, `delimiter`, `encoding`, `on_bad_row`), checked.

use super::*;

/// A table of rows that belong to a source's records: an `[[events]]` table or a
/// `[[consent]]` or `[[contacts]]` one, with its place (from 1) among the tables of its kind.
#[derive(Clone, Copy)]
pub(super) enum Table {
    Events(usize),
    Touch(TouchTable, usize),
}

/// What every table of rows says first: whose records its rows belong to, and its file.
pub(super) struct Head {
    pub(super) source: String,
    pub(super) path: PathBuf,
    pub(super) format: InputFormat,
    pub(super) delimiter: u8,
    pub(super) database: Option<DatabaseQuery>,
    pub(super) encoding: FileEncoding,
    pub(super) on_bad_row: OnBadRow,
}

/// The keys every table of rows has, as written.
pub(super) struct HeadToml<'a> {
    /// The whole table, for errors about keys it lacks.
    pub(super) table: std::ops::Range<usize>,
    pub(super) source: &'a Spanned<String>,
    pub(super) path: Option<&'a Spanned<String>>,
    pub(super) database: Option<&'a Spanned<String>>,
    pub(super) query: Option<&'a Spanned<String>>,
    pub(super) delimiter: Option<&'a Spanned<String>>,
    pub(super) encoding: Option<&'a Spanned<String>>,
    pub(super) on_bad_row: Option<&'a Spanned<String>>,
}

/// The keys every table of rows shares, checked: `source` names a `[[source]]`, `path` a
/// file of a known format (or `database` and `query` a database's rows) that no earlier table
/// of the kind reads into the same source (`taken`, by source and [`section_key`]: the key
/// makes the export ids of a section without an `id` column), and `delimiter` is one ASCII
/// character.
pub(super) fn head(
    loc: &Locator<'_>,
    base_dir: &Path,
    table: Table,
    HeadToml { table: span, source, path, database, query, delimiter, encoding, on_bad_row }: HeadToml<'_>,
    sources: &[SourceMapping],
    taken: &[(&str, String)],
    duplicate: impl FnOnce(Box<TomlPlace>, String, PathBuf) -> MappingError,
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
    let Input { path: file, format, database } =
        input(&place, base_dir, span, path, database, query)?;
    let key = section_key(&file, database.as_ref());
    if taken.iter().any(|(s, k)| *s == source_name && *k == key) {
        let span = path.or(query).map_or(0..0, Spanned::span);
        return Err(duplicate(place(span, "path"), source_name, file));
    }
    let delimiter = match delimiter {
        None => b',',
        Some(d) => delimiter_of(d.get_ref()).ok_or_else(|| MappingError::BadDelimiter {
            at: loc.at_table(d.span(), table, src, "delimiter"),
            delimiter: d.get_ref().clone(),
        })?,
    };
    let at = |span, key: &str| loc.at_table(span, table, src, key);
    let (encoding, on_bad_row) = file_options(format, encoding, on_bad_row, at)?;
    Ok(Head { source: source_name, path: file, format, delimiter, encoding, on_bad_row, database })
}

/// What tells two tables of rows apart: the file's name, or for a database section its
/// [`DatabaseQuery::export_name`].
pub(super) fn section_key(path: &Path, database: Option<&DatabaseQuery>) -> String {
    match database {
        Some(db) => db.export_name(),
        None => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    }
}

/// Where a table's rows come from, checked.
pub(super) struct Input {
    /// The file, or the database's label.
    pub(super) path: PathBuf,
    pub(super) format: InputFormat,
    pub(super) database: Option<DatabaseQuery>,
}

/// A table's `path`, or its `database` and `query`: exactly one of the two. `place` makes the
/// place of a key; `table` is the whole table's span.
pub(super) fn input(
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
pub(super) fn file_options(
    format: InputFormat,
    encoding: Option<&Spanned<String>>,
    on_bad_row: Option<&Spanned<String>>,
    at: impl Fn(std::ops::Range<usize>, &str) -> Box<TomlPlace>,
) -> Result<(FileEncoding, OnBadRow), MappingError> {
    if format == InputFormat::Sql {
        // A database's rows come decoded and whole: neither key means anything there.
        let given = [(encoding, "encoding"), (on_bad_row, "on_bad_row")];
        if let Some((value, key)) = given.iter().find_map(|(v, k)| v.map(|v| (v, *k))) {
            return Err(MappingError::FileKeyForDatabase { at: at(value.span(), key) });
        }
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
