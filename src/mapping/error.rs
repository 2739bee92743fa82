//! The error of the mapping module: what is wrong with a mapping file or with a mapped input.

use std::fmt;
use std::path::PathBuf;

use super::config::TouchTable;
use crate::behaviour::EventKindError;
use crate::durable::error::StateError;
use crate::error::ConfigError;

/// A place in a mapping file: file, line and column (both from 1), the table the key is in
/// (a `[[source]]`, `[[events]]`, `[[consent]]` or `[[contacts]]` table, if any) and the TOML
/// key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TomlPlace {
    /// The mapping file (`<string>` for [`Mapping::from_str`](super::Mapping::from_str)
    /// without a file).
    pub file: PathBuf,
    /// Line of the offending key or value, from 1.
    pub line: usize,
    /// Column (in characters) of the offending key or value, from 1.
    pub column: usize,
    /// The `name` of the `[[source]]` table the key is in, if it is in one; for a key in an
    /// `[[events]]`, `[[consent]]` or `[[contacts]]` table, the source its rows belong to,
    /// once that is known.
    pub source: Option<String>,
    /// The place (from 1) of the `[[events]]` table the key is in, if it is in one.
    pub events: Option<usize>,
    /// The `[[consent]]` or `[[contacts]]` table the key is in and its place among the tables
    /// of its kind (from 1), if it is in one.
    pub touch: Option<(TouchTable, usize)>,
    /// The TOML key, dotted: `kinds.legacy_no.limit`, `keys.email`, `composite.name_dob`,
    /// `event_kinds.webinar`.
    pub key: String,
}

impl fmt::Display for TomlPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        let table = match (self.events, self.touch) {
            (Some(n), _) => Some(format!("[[events]] #{n}")),
            (None, Some((table, n))) => Some(format!("{table} #{n}")),
            (None, None) => None,
        };
        match (table, &self.source) {
            (Some(table), Some(source)) => write!(f, "{table} ({source:?}), key `{}`", self.key),
            (Some(table), None) => write!(f, "{table}, key `{}`", self.key),
            (None, Some(source)) => write!(f, "[[source]] {source:?}, key `{}`", self.key),
            (None, None) => write!(f, "key `{}`", self.key),
        }
    }
}

/// What went wrong reading a mapping file or the files it maps.
///
/// Every variant names the file; errors in the mapping file name the TOML key and its line
/// ([`TomlPlace`]), errors in an input file name the line and, where there is one, the column.
/// Bad *values* (an empty cell, an unparseable `observed_at`) are not errors: they are
/// counted in the [`InputReport`](super::InputReport), for events in the
/// [`EventsRead`](super::EventsRead), and for consent and contacts in the
/// [`TouchRead`](super::TouchRead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The mapping file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read mapping file {}: {error}", file.display())]
    ReadMapping {
        /// The mapping file.
        file: PathBuf,
        /// Why.
        #[source]
        error: std::io::Error,
    },
    /// The mapping file is not valid TOML, or not of the mapping's shape: a syntax error, a
    /// value of the wrong type (`limit = "1"`), an unknown key (`limt = 1`), a missing
    /// required key (`[[source]]` without `id`).
    #[error("{}:{line}:{column}: {message}", file.display())]
    Toml {
        /// The mapping file.
        file: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column (in characters), from 1.
        column: usize,
        /// The TOML parser's message.
        message: String,
    },
    /// A source's `keys` or `composite` names a kind that is neither built in
    /// (`customer_no`, `email`, `phone`, `cookie`, `device`, `ip`) nor declared under
    /// `[kinds]`.
    #[error("{at}: unknown kind {kind:?} (not built in and not declared under [kinds])")]
    UnknownKind {
        /// Where.
        at: Box<TomlPlace>,
        /// The kind.
        kind: String,
    },
    /// A source's `composite` names a kind that has no `[kinds.NAME]` entry: a composite kind
    /// must be declared, since its policy cannot be guessed.
    #[error("{at}: composite kind {kind:?} has no [kinds.{kind}] entry")]
    UndeclaredComposite {
        /// Where.
        at: Box<TomlPlace>,
        /// The kind.
        kind: String,
    },
    /// A source's `composite` names a built-in kind; built-in kinds take one value per
    /// column and belong in `keys`.
    #[error("{at}: built-in kind {kind:?} cannot be composite; list it under `keys`")]
    BuiltInComposite {
        /// Where.
        at: Box<TomlPlace>,
        /// The kind.
        kind: String,
    },
    /// A kind appears in one source's `keys` and in another's (or the same) `composite`: a
    /// kind is either plain or composite.
    #[error("{at}: kind {kind:?} is used both in `keys` and in `composite`")]
    KeyAndComposite {
        /// Where the second use is.
        at: Box<TomlPlace>,
        /// The kind.
        kind: String,
    },
    /// Two sources join a different number of columns into one composite kind: its key value
    /// is made of parts in a fixed order, so every source must give the same number.
    #[error("{at}: composite kind {kind:?} joins {expected} columns elsewhere, {found} here")]
    CompositeParts {
        /// Where the differing use is.
        at: Box<TomlPlace>,
        /// The kind.
        kind: String,
        /// Parts in the first source that uses the kind.
        expected: usize,
        /// Parts here.
        found: usize,
    },
    /// A `keys` or `composite` entry lists no columns (`phone = []`).
    #[error("{at}: no columns given")]
    NoColumns {
        /// Where.
        at: Box<TomlPlace>,
    },
    /// A `normalizer` is not one of `email`, `email_provider_rules`, `phone`,
    /// `customer_no`, `ip`, `text`, `opaque`.
    #[error(
        "{at}: unknown normalizer {name:?} (expected email, email_provider_rules, phone, \
         customer_no, ip, text or opaque)"
    )]
    UnknownNormalizer {
        /// Where.
        at: Box<TomlPlace>,
        /// The name given.
        name: String,
    },
    /// A number is out of range: `limit` and `generic_cap` below 1 or above 4294967295,
    /// `priority` outside the 32-bit range, `trust` negative or above 4294967295.
    #[error("{at}: {value} is not {expected}")]
    BadNumber {
        /// Where.
        at: Box<TomlPlace>,
        /// The number given.
        value: i64,
        /// What was expected.
        expected: &'static str,
    },
    /// `default_country` is not an ISO 3166-1 alpha-2 code the phone normaliser knows.
    #[error("{at}: unknown country code {code:?}")]
    UnknownCountry {
        /// Where.
        at: Box<TomlPlace>,
        /// The code given.
        code: String,
    },
    /// Two `[[source]]` tables have the same `name`.
    #[error("{at}: a source named {name:?} is already mapped")]
    DuplicateSource {
        /// Where the second one is.
        at: Box<TomlPlace>,
        /// The name.
        name: String,
    },
    /// A kind, source, column or attribute name, or a `path`, is empty or only whitespace.
    #[error("{at}: empty name")]
    EmptyName {
        /// Where.
        at: Box<TomlPlace>,
    },
    /// A `delimiter` is not one ASCII character.
    #[error("{at}: delimiter {delimiter:?} is not one ASCII character")]
    BadDelimiter {
        /// Where.
        at: Box<TomlPlace>,
        /// The delimiter given.
        delimiter: String,
    },
    /// A source's `path` ends neither in `.csv` (CSV) nor in `.jsonl` or `.ndjson` (JSON
    /// Lines).
    #[error("{at}: {} is neither .csv nor .jsonl", path.display())]
    UnknownFormat {
        /// Where.
        at: Box<TomlPlace>,
        /// The path.
        path: PathBuf,
    },
    /// A `[[source]]`, `[[events]]`, `[[consent]]` or `[[contacts]]` table names neither a
    /// file (`path`) nor a database (`database` with `query`).
    #[error("{at}: no `path` (a file) and no `database` with a `query`")]
    NoInput {
        /// Where: the table.
        at: Box<TomlPlace>,
    },
    /// A table names both a file (`path`) and a database (`database`).
    #[error("{at}: `path` and `database` both given; a table reads one of them")]
    PathAndDatabase {
        /// Where: the `database` key.
        at: Box<TomlPlace>,
    },
    /// A table has `database` without `query`, or `query` without `database`.
    #[error("{at}: `database` and `query` go together")]
    DatabaseWithoutQuery {
        /// Where: the key given.
        at: Box<TomlPlace>,
    },
    /// A table reading a database has `encoding`, a key of files only: a database's rows
    /// come decoded.
    #[error("{at}: `{}` is for files; a database section has none", at.key)]
    FileKeyForDatabase {
        /// Where: the key.
        at: Box<TomlPlace>,
    },
    /// A `database` is neither `sqlite:PATH` nor a `postgres://` or `postgresql://` URL.
    #[error("{at}: unknown database {database:?} (expected \"sqlite:PATH\" or \"postgres://…\")")]
    UnknownDatabase {
        /// Where.
        at: Box<TomlPlace>,
        /// The value given, cut before any `@` so that no password shows.
        database: String,
    },
    /// A source's `mode` is neither `"export"` nor `"changes"`.
    #[error("{at}: unknown mode {mode:?} (expected \"export\" or \"changes\")")]
    UnknownMode {
        /// Where.
        at: Box<TomlPlace>,
        /// The mode given.
        mode: String,
    },
    /// An `encoding` is not one of `"utf-8"`, `"windows-1252"` or `"iso-8859-1"` (see
    /// [`FileEncoding`](super::FileEncoding)).
    #[error("{at}: unknown encoding {encoding:?} (expected {})", super::FileEncoding::LABELS)]
    UnknownEncoding {
        /// Where.
        at: Box<TomlPlace>,
        /// The encoding given.
        encoding: String,
    },
    /// An `encoding` other than UTF-8 for a JSON Lines file: JSON text is UTF-8 (RFC 8259,
    /// section 8.1), so a file in another encoding is not JSON Lines.
    #[error("{at}: JSON Lines files are UTF-8 (RFC 8259); encoding {encoding:?} is for CSV")]
    JsonEncoding {
        /// Where.
        at: Box<TomlPlace>,
        /// The encoding given.
        encoding: String,
    },
    /// An `on_bad_row` is neither `"fail"` nor `"skip"`.
    #[error("{at}: unknown on_bad_row {policy:?} (expected \"fail\" or \"skip\")")]
    UnknownBadRowPolicy {
        /// Where.
        at: Box<TomlPlace>,
        /// The value given.
        policy: String,
    },
    /// A source names a `deleted` column without `mode = "changes"`: only a change feed has
    /// rows that delete (a full export deletes by leaving records out).
    #[error("{at}: `deleted` marks deletions in a change feed; it needs mode = \"changes\"")]
    DeletedWithoutChanges {
        /// Where.
        at: Box<TomlPlace>,
    },
    /// An `[event_kinds]` entry's class is not one of `engagement`, `purchase`, `service`,
    /// `negative`.
    #[error(
        "{at}: unknown event class {class:?} (expected engagement, purchase, service or \
         negative)"
    )]
    UnknownEventClass {
        /// Where.
        at: Box<TomlPlace>,
        /// The class given.
        class: String,
    },
    /// An `[event_kinds]` entry names a built-in event kind (`order`, `page_view`, …; see
    /// [`BUILT_IN_EVENT_KINDS`](crate::behaviour::BUILT_IN_EVENT_KINDS)), whose class is fixed.
    #[error("{at}: {kind:?} is a built-in event kind; [event_kinds] declares the host's own")]
    BuiltInEventKind {
        /// Where.
        at: Box<TomlPlace>,
        /// The kind.
        kind: String,
    },
    /// An `[event_kinds]` name is not `snake_case` ASCII of 1 to 64 bytes starting with a
    /// letter (see [`EventKinds::declare`](crate::behaviour::EventKinds::declare)).
    #[error(
        "{at}: event kind name {kind:?} is not snake_case ASCII of 1 to 64 bytes starting \
         with a letter"
    )]
    BadEventKindName {
        /// Where.
        at: Box<TomlPlace>,
        /// The name given.
        kind: String,
    },
    /// `[event_kinds]` declares more kinds than fit beside the built-in ones (4,096 in all).
    #[error("{at}: more than 4096 event kinds")]
    TooManyEventKinds {
        /// Where the first kind too many is.
        at: Box<TomlPlace>,
    },
    /// An `[[events]]`, `[[consent]]` or `[[contacts]]` table's `source` names no
    /// `[[source]]` table.
    #[error("{at}: no [[source]] is named {name:?}")]
    UnknownEventSource {
        /// Where.
        at: Box<TomlPlace>,
        /// The name given.
        name: String,
    },
    /// An `[[events]]` table has neither `kind` (a column) nor `kind_is` (one kind for every
    /// row).
    #[error("{at}: give the kind column (`kind = \"COLUMN\"`) or one kind for every row (`kind_is = \"NAME\"`)")]
    NoEventKind {
        /// Where the table starts.
        at: Box<TomlPlace>,
    },
    /// An `[[events]]` table has both `kind` and `kind_is`.
    #[error("{at}: `kind` (a column) and `kind_is` (one kind for every row) exclude each other")]
    EventKindTwice {
        /// Where `kind_is` is.
        at: Box<TomlPlace>,
    },
    /// An `[[events]]` table's `kind_is`, or an event kind a GA4 source's `events` maps an
    /// event name to, is neither a built-in event kind nor declared under `[event_kinds]`.
    #[error(
        "{at}: unknown event kind {kind:?} (not built in and not declared under [event_kinds])"
    )]
    UnknownEventKind {
        /// Where.
        at: Box<TomlPlace>,
        /// The kind given.
        kind: String,
    },
    /// Two `[[events]]` tables read the same file into the same source: a section is known by
    /// its source and file (a section without an `id` column replaces what it loaded last
    /// time), so the pair must be unique.
    #[error("{at}: another [[events]] table reads {} into {source_name:?}", path.display())]
    DuplicateEvents {
        /// Where the second table's `path` is.
        at: Box<TomlPlace>,
        /// The source.
        source_name: String,
        /// The file.
        path: PathBuf,
    },
    /// A `[[consent]]` or `[[contacts]]` table has neither `channel` (a column) nor
    /// `channel_is` (one channel for every row).
    #[error(
        "{at}: give the channel column (`channel = \"COLUMN\"`) or one channel for every row \
         (`channel_is = \"NAME\"`)"
    )]
    NoChannel {
        /// Where the table starts.
        at: Box<TomlPlace>,
    },
    /// A `[[consent]]` or `[[contacts]]` table has both `channel` and `channel_is`.
    #[error(
        "{at}: `channel` (a column) and `channel_is` (one channel for every row) exclude each \
         other"
    )]
    ChannelTwice {
        /// Where `channel_is` is.
        at: Box<TomlPlace>,
    },
    /// Two `[[consent]]` tables, or two `[[contacts]]` tables, read files of the same name into
    /// the same source. A contacts section is known by its source and file name (one without
    /// an `id` column replaces what it loaded last time, by the file's name and the contact's
    /// position), so the pair must be unique; for consent a second table would only read the
    /// same statements again.
    #[error("{at}: another {table} table reads {} into {source_name:?}", path.display())]
    DuplicateTouch {
        /// Where the second table's `path` is.
        at: Box<TomlPlace>,
        /// `[[consent]]` or `[[contacts]]`.
        table: TouchTable,
        /// The source.
        source_name: String,
        /// The file.
        path: PathBuf,
    },
    /// A registry given to [`Mapping::declare_event_kinds`](super::Mapping::declare_event_kinds)
    /// has one of the mapping's event kinds with another class, or no room for them.
    #[error("{}: cannot declare event kind {kind:?}: {error}", file.display())]
    DeclareEventKind {
        /// The mapping file.
        file: PathBuf,
        /// The kind.
        kind: String,
        /// The registry's error.
        #[source]
        error: EventKindError,
    },
    /// A source's file format needs a crate feature that is not enabled (`csv` for `.csv`,
    /// `serde_json` for `.jsonl`, `sqlite` or `postgres` for a `database`; `file` is then the
    /// database). Reported when the sources are opened.
    #[error("{}: reading this file needs idstitch's {feature:?} feature", file.display())]
    FeatureDisabled {
        /// The input file.
        file: PathBuf,
        /// The feature to enable.
        feature: &'static str,
    },
    /// The resolver refused the mapping's configuration: a source registered twice
    /// ([`Mapping::register_sources`](super::Mapping::register_sources) on a resolver that
    /// has them), or a resolver lacking a mapped source or kind when the sources are opened.
    #[error("{}: {error}", file.display())]
    Config {
        /// The mapping file.
        file: PathBuf,
        /// The resolver's error.
        #[source]
        error: ConfigError,
    },
    /// An input file could not be opened (missing, unreadable).
    #[error("cannot open input file {}: {error}", file.display())]
    OpenInput {
        /// The input file.
        file: PathBuf,
        /// Why.
        #[source]
        error: std::io::Error,
    },
    /// Reading an input file failed after it was opened.
    #[error("{}:{line}: read error: {error}", file.display())]
    ReadInput {
        /// The input file.
        file: PathBuf,
        /// The line being read, from 1 (0 if the CSV reader does not say).
        line: u64,
        /// Why.
        #[source]
        error: std::io::Error,
    },
    /// A column the mapping names is not in the CSV file's header (checked before any row
    /// is read).
    #[error(
        "{}: no column {column:?} (mapped by [[source]] {source_name:?}, key `{key}`); \
         the header has {}",
        file.display(), header_list(header)
    )]
    MissingColumn {
        /// The input file.
        file: PathBuf,
        /// The column.
        column: String,
        /// The source whose mapping names the column.
        source_name: String,
        /// The TOML key that names it: `id`, `keys.email`, `attributes.city`, ….
        key: String,
        /// The columns the header does have (trimmed).
        header: Box<[String]>,
    },
    /// A column an `[[events]]` table names is not in its CSV file's header (checked before
    /// any row is read).
    #[error(
        "{}: no column {column:?} (mapped by [[events]] #{events} ({source_name:?}), key \
         `{key}`); the header has {}",
        file.display(), header_list(header)
    )]
    MissingEventColumn {
        /// The input file.
        file: PathBuf,
        /// The column.
        column: String,
        /// The place (from 1) of the `[[events]]` table that names the column.
        events: usize,
        /// The source whose records the events belong to.
        source_name: String,
        /// The TOML key that names it: `record`, `kind`, `at`, `topic`, ….
        key: String,
        /// The columns the header does have (trimmed).
        header: Box<[String]>,
    },
    /// A column a `[[consent]]` table names is not in its CSV file's header (checked before
    /// any row is read).
    #[error(
        "{}: no column {column:?} (mapped by [[consent]] #{consent} ({source_name:?}), key \
         `{key}`); the header has {}",
        file.display(), header_list(header)
    )]
    MissingConsentColumn {
        /// The input file.
        file: PathBuf,
        /// The column.
        column: String,
        /// The place (from 1) of the `[[consent]]` table that names the column.
        consent: usize,
        /// The source whose records made the statements.
        source_name: String,
        /// The TOML key that names it: `record`, `channel`, `status` or `at`.
        key: &'static str,
        /// The columns the header does have (trimmed).
        header: Box<[String]>,
    },
    /// A column a `[[contacts]]` table names is not in its CSV file's header (checked before
    /// any row is read).
    #[error(
        "{}: no column {column:?} (mapped by [[contacts]] #{contacts} ({source_name:?}), key \
         `{key}`); the header has {}",
        file.display(), header_list(header)
    )]
    MissingContactsColumn {
        /// The input file.
        file: PathBuf,
        /// The column.
        column: String,
        /// The place (from 1) of the `[[contacts]]` table that names the column.
        contacts: usize,
        /// The source whose records the contacts used.
        source_name: String,
        /// The TOML key that names it: `record`, `channel`, `at`, `campaign`, `transactional`
        /// or `id`.
        key: &'static str,
        /// The columns the header does have (trimmed).
        header: Box<[String]>,
    },
    /// A column the mapping names appears twice in the CSV header.
    #[error("{}: column {column:?} appears twice in the header", file.display())]
    DuplicateColumn {
        /// The input file.
        file: PathBuf,
        /// The column.
        column: String,
    },
    /// A CSV row has a different number of fields than the header (a bad row: see
    /// [`OnBadRow`](super::OnBadRow)).
    #[error("{}:{line}: {found} fields where the header has {expected}", file.display())]
    FieldCount {
        /// The input file.
        file: PathBuf,
        /// Line where the row starts, from 1.
        line: u64,
        /// Fields in the header.
        expected: u64,
        /// Fields in the row.
        found: u64,
    },
    /// A CSV field (or the header) or a JSON Lines line is not valid UTF-8 in a file read as
    /// UTF-8 (a bad row: see [`OnBadRow`](super::OnBadRow); a file in a legacy encoding
    /// needs its `encoding`).
    #[error("{}:{line}: column {column}: not valid UTF-8", file.display())]
    InvalidUtf8 {
        /// The input file.
        file: PathBuf,
        /// Line where the row starts, from 1.
        line: u64,
        /// The column: its header name, `#N` (from 1) in the header itself, or `byte N`
        /// (from 1) of a JSON Lines line.
        column: String,
    },
    /// A CSV quote is opened and never closed: the rest of the file, from the row's line on,
    /// would read as one field (a bad row: see [`OnBadRow`](super::OnBadRow)).
    #[error("{}:{line}: a quote opened in this row is never closed", file.display())]
    UnterminatedQuote {
        /// The input file.
        file: PathBuf,
        /// Line where the row starts, from 1.
        line: u64,
    },
    /// A JSON Lines line is not valid JSON (or not UTF-8).
    #[error("{}:{line}:{column}: invalid JSON: {message}", file.display())]
    InvalidJson {
        /// The input file.
        file: PathBuf,
        /// Line, from 1.
        line: u64,
        /// Column within the line, from 1.
        column: u64,
        /// The JSON parser's message.
        message: String,
    },
    /// A JSON Lines line is valid JSON but not an object.
    #[error("{}:{line}: expected a JSON object, found {found}", file.display())]
    NotAnObject {
        /// The input file.
        file: PathBuf,
        /// Line, from 1.
        line: u64,
        /// What was found (`an array`, `a string`, …).
        found: &'static str,
    },
    /// A change feed's `deleted` cell holds neither a truthy nor a falsy value (see
    /// [`deletion_flag`](super::deletion_flag)): whether the row deletes its record cannot be
    /// told, so the load stops there, as for a malformed row.
    #[error(
        "{}:{line}: column {column:?}: {value:?} is not a deletion flag (deleted: true, t, \
         yes, y, 1 or deleted; kept: false, f, no, n, 0 or empty)",
        file.display()
    )]
    BadDeletionFlag {
        /// The input file.
        file: PathBuf,
        /// Line where the row starts, from 1.
        line: u64,
        /// The `deleted` column.
        column: String,
        /// The cell, trimmed.
        value: String,
    },
    /// A `[[campaign]]` table is not a usable campaign: a name given twice, a hold-out share
    /// outside 0 to 1, a window outside 1 to 90 days, an unknown conversion kind, an empty
    /// name or channel.
    #[error("{at}: {message}")]
    BadCampaign {
        /// Where.
        at: Box<TomlPlace>,
        /// What is wrong.
        message: String,
    },
    /// A state already holds a campaign of this name with another definition
    /// ([`Mapping::apply`](super::Mapping::apply)): a campaign's definition is fixed once its
    /// customers are assigned.
    #[error("{file}: campaign {campaign:?} differs from the one the state holds", file = file.display())]
    CampaignChanged {
        /// The mapping file.
        file: PathBuf,
        /// The campaign.
        campaign: String,
    },
    /// Reading or changing a durable state failed while a mapping was applied to it
    /// ([`Mapping::apply`](super::Mapping::apply)); the error names what was being done.
    #[error("{}: {error}", dir.display())]
    State {
        /// The state directory.
        dir: PathBuf,
        /// The state's error.
        #[source]
        error: StateError,
    },
    /// A JSON field holds a value of the wrong shape: an object, an array inside an array, or
    /// an array for a field that takes one value (arrays are allowed only for `keys`).
    #[error("{}:{line}: field {field:?}: expected {expected}, found {found}", file.display())]
    UnexpectedValue {
        /// The input file.
        file: PathBuf,
        /// Line, from 1.
        line: u64,
        /// The field (column) name.
        field: String,
        /// What was found.
        found: &'static str,
        /// What the field takes.
        expected: &'static str,
    },
    /// A database section could not connect: the SQLite file is missing or no database, the
    /// PostgreSQL server refused or is not there. Reported when the sources are opened.
    #[error("{at}: cannot connect: {error}")]
    DatabaseConnect {
        /// The section and its database.
        at: Box<DatabaseSection>,
        /// The database's error.
        error: String,
    },
    /// A database section's query failed before any row: a syntax error, an unknown table or
    /// column, more than one statement.
    #[error("{at}: the query failed: {error}")]
    DatabaseQuery {
        /// The section and its database.
        at: Box<DatabaseSection>,
        /// The database's error.
        error: String,
    },
    /// A column the mapping names is not among a database section's result columns (checked
    /// before any row is read). Result columns are matched by name, exactly: alias them in
    /// the query (`SELECT mail AS email`).
    #[error(
        "{at}: the query gives no column {column:?} (key `{key}`); it gives {}",
        header_list(columns)
    )]
    MissingQueryColumn {
        /// The section and its database.
        at: Box<DatabaseSection>,
        /// The column.
        column: String,
        /// The TOML key that names it: `id`, `keys.email`, `record`, `at`, ….
        key: String,
        /// The columns the query does give.
        columns: Box<[String]>,
    },
    /// Reading a database section's rows failed part-way: the connection broke, the server
    /// stopped, the query failed on a row (a division by zero). Rows before it were read.
    #[error("{at}: reading row {row} failed: {error}")]
    DatabaseRow {
        /// The section and its database.
        at: Box<DatabaseSection>,
        /// The row being read, from 1.
        row: u64,
        /// The database's error.
        error: String,
    },
    /// A mapped column of a database row holds a value that is not read as text: a BLOB
    /// (PostgreSQL `bytea`), or SQLite text that is not UTF-8. Convert it in the query
    /// (`hex(col)`, `encode(col, 'hex')`) to read it. A bad row: under `on_bad_row = "skip"`
    /// the row is left out and counted ([`BadRowReason::BinaryValue`](super::BadRowReason),
    /// [`BadRowReason::Undecodable`](super::BadRowReason)) and the reading goes on.
    #[error("{at}: row {row}: column {column:?} holds {found}")]
    DatabaseValue {
        /// The section and its database.
        at: Box<DatabaseSection>,
        /// The row, from 1.
        row: u64,
        /// The column.
        column: String,
        /// What it holds: `a BLOB`, `bytea`, `text that is not UTF-8`.
        found: &'static str,
    },
    /// A CSV or JSON Lines `[[source]]` has no `id`: the column holding its records' ids is
    /// required unless the source has a `format` of its own.
    #[error("{at}: missing (a CSV or JSON Lines source needs the column holding its ids)")]
    NoIdColumn {
        /// Where: the `[[source]]` table.
        at: Box<TomlPlace>,
    },
    /// A source's `format` is neither `"mbox"` nor `"ga4"` (CSV and JSON Lines go by the
    /// file's extension and take no `format`).
    #[error("{at}: unknown format {format:?} (expected \"mbox\" or \"ga4\")")]
    UnknownSourceFormat {
        /// Where.
        at: Box<TomlPlace>,
        /// The format given.
        format: String,
    },
    /// A source has a key its format does not take: `id`, `keys`, `composite`,
    /// `attributes`, `observed_at`, `delimiter`, `deleted`, `encoding`, `on_bad_row` or
    /// `mode = "changes"` on a mailbox or GA4 source; `owner`, `user_id_kind` or `events` on a source of another format.
    #[error("{at}: a {format} source takes no such key")]
    NotForFormat {
        /// Where.
        at: Box<TomlPlace>,
        /// The source's format.
        format: super::InputFormat,
    },
    /// A mailbox or GA4 source's folder could not be listed (the files in it are read in
    /// name order).
    #[error("cannot list the folder {}: {error}", dir.display())]
    ListFolder {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        error: std::io::Error,
    },
}

/// The database section an error is about: its mapping table, the source its rows belong to
/// and the database. Shown as `[[events]] #2 ("shop") on sqlite:data/shop.sqlite`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseSection {
    /// The mapping table: `[[source]] "shop"`, `[[events]] #2 ("shop")`, ….
    pub table: String,
    /// The source the table's rows belong to.
    pub source_name: String,
    /// The database, with any password replaced by `***`.
    pub database: String,
}

impl fmt::Display for DatabaseSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.table, self.database)
    }
}

fn header_list(header: &[String]) -> String {
    if header.is_empty() {
        return "no columns".to_string();
    }
    let names: Vec<String> = header.iter().map(|h| format!("{h:?}")).collect();
    format!("columns {}", names.join(", "))
}
