//! Source mappings: a TOML file that says how each source's export becomes records, so CSV and
//! JSON Lines files, database tables, mailboxes and GA4 exports are resolved without glue code
//! (feature `mapping`; reading CSV needs feature `csv`, JSON Lines `serde_json`, SQLite
//! `sqlite`, PostgreSQL `postgres`, mailboxes `mbox`, GA4 exports `ga4`).
//!
//! # The mapping file
//!
//! ```toml
//! default_country = "NL"        # phones without a country code
//! [kinds.legacy_no]              # a host-defined kind; built-ins need no entry
//! normalizer = "opaque"          # email | phone | customer_no | ip | text | opaque
//! limit = 1
//! priority = 15
//! [kinds.name_dob]               # a composite kind: its value joins several columns
//! normalizer = "text"
//! limit = 1
//! [kinds.ip]                     # overrides a built-in kind's policy
//! limit = 3
//! [[source]]
//! name = "crm"
//! path = "crm.csv"               # relative to the mapping file; .jsonl means JSON Lines
//! id = "record_id"
//! keys = { customer_no = "customer_no", email = "email", phone = ["phone", "mobile"] }
//! composite = { name_dob = ["given_name", "surname", "date_of_birth"] }
//! attributes = { name = "name", city = "city" }
//! observed_at = "updated_at"     # optional; RFC 3339 or YYYY-MM-DD
//! ```
//!
//! **Top level.** `default_country` (optional): the ISO 3166-1 alpha-2 country of phone
//! numbers written without a country code.
//!
//! **`[kinds.NAME]`** declares a kind or changes one; every key is optional.
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `normalizer` | `email`, `email_provider_rules`, `phone`, `customer_no`, `ip`, `text` or `opaque` (see [`Normalizer`](crate::Normalizer)) | built-in kind: its own; composite kind: `text` (applied to each part); host kind: `opaque` |
//! | `limit` | at most this many distinct values in one customer (≥ 1) | built-in: its own; else none |
//! | `priority` | kinds link in descending priority | built-in: its own; else 0 |
//! | `generic_cap` | a value carried by more records than this links nothing (≥ 1) | built-in: its own; else none |
//! | `deny` | array of placeholder values that link nothing, added to the kind's list | `[]` |
//! | `links` | `false` makes a *constraint* kind: it links nothing but counts toward its limit (given name + surname, `limit = 1`, keeps differently named people apart) | built-in: its own (`ip` links nothing); else `true` |
//! | `builtin_placeholders` | whether the built-in placeholders (`test@test.com`, `n/a`, …) link nothing | `true` |
//! | `identifying` | whether a value identifies a person: a customer without one is `anonymous` in the journey stages | built-in: `customer_no`, `email`, `phone`; else `false` |
//!
//! The built-in kinds (`customer_no`, `email`, `phone`, `cookie`, `device`, `ip`) need no
//! entry; an entry for one changes only the keys it gives and keeps the other defaults of
//! [`built_in_spec`](crate::built_in_spec). So `[kinds.ip]` with `limit = 3` gives IP
//! addresses a limit but leaves them links-nothing; add `links = true` (and a `generic_cap`)
//! to link on them. A kind that a source uses under `composite` is composite; it must have an
//! entry. A declared kind that no source uses is still registered, as a plain kind.
//!
//! **`[[source]]`**, one table per source system, read in file order:
//!
//! | key | meaning |
//! |---|---|
//! | `name` | the source's name (unique) |
//! | `path` | its file, relative to the mapping file's directory; `.csv` is CSV, `.jsonl` or `.ndjson` is JSON Lines |
//! | `format` | `"mbox"` or `"ga4"` for a mailbox or GA4 export (see below); CSV and JSON Lines go by the extension |
//! | `id` | the column holding the record's id in the source (required for CSV and JSON Lines, [`MappingError::NoIdColumn`]) |
//! | `keys` | kind → column, or array of columns: each non-empty cell is one value of the kind |
//! | `composite` | composite kind → array of columns, joined in order into one value; a record with any of them empty has no value of the kind. Every source must give a composite kind the same number of columns (column names may differ) |
//! | `attributes` | attribute name → column |
//! | `observed_at` | optional column: when the values were observed, RFC 3339 (`2024-05-01T09:30:00+02:00`) or `YYYY-MM-DD` (midnight UTC); see [`parse_timestamp`] |
//! | `trust` | optional trust rank (0 to 4294967295); by default 10 × the number of sources for the first source and 10 less for each next one |
//! | `delimiter` | optional CSV field delimiter, one ASCII character (`","`) |
//! | `encoding` | optional text encoding: `"utf-8"` (default), `"windows-1252"` or `"iso-8859-1"` (read as windows-1252); see below |
//! | `on_bad_row` | optional: `"fail"` (default) stops at a malformed row, `"skip"` leaves it out and counts it; see below |
//! | `mode` | `"export"` (default): the file holds every record of the source; `"changes"`: a change feed, the records added or changed since the last load (see [`SourceMode`]) |
//! | `deleted` | with `mode = "changes"` only: the column marking rows that remove their record; see below |
//!
//! **Database tables.** Instead of `path`, a `[[source]]` (and an `[[events]]`, `[[consent]]`
//! or `[[contacts]]` table) may read the rows of a SQL query: `database` names the database,
//! `query` the statement, and the mapping's columns are the query's result columns, by name
//! (alias them: `SELECT mail AS email`). The rest of the table is as for a file.
//!
//! ```toml
//! [[source]]
//! name = "shop"
//! database = "sqlite:shop.sqlite"  # relative to the mapping file; or "postgres://user@host/db"
//! query = "SELECT id, mail, phone, updated FROM customers"
//! id = "id"
//! keys = { email = "mail", phone = "phone" }
//! observed_at = "updated"
//! ```
//!
//! | key | meaning |
//! |---|---|
//! | `database` | `sqlite:PATH` (feature `sqlite`; the file opened read-only, relative to the mapping file's directory) or a `postgres://` / `postgresql://` URL (feature `postgres`; the query runs in a read-only transaction). Errors and reports show the URL with its password as `***` |
//! | `query` | one `SELECT` (or `WITH …`, `VALUES`) statement; with `database` only |
//!
//! The rows are streamed, never collected: SQLite's statement is stepped row by row and
//! PostgreSQL's result read through a cursor a thousand rows at a time, on a thread of their
//! own, a few batches ahead of the resolving. [`Mapping::open`] connects and checks that the
//! query gives every mapped column before any row is read ([`MappingError::MissingQueryColumn`]),
//! and counts the query's rows (`SELECT count(*)` over it) for the progress total. A cell is
//! SQL `NULL` (no value, as an empty CSV cell), an integer or real (its decimal text), or text;
//! PostgreSQL values come as the server writes them, `timestamptz` in UTC as RFC 3339 (so
//! `observed_at` and `at` read it; a `timestamp` without time zone names no point in time and
//! counts as a bad time, as in a file: convert it with `AT TIME ZONE`). A BLOB (`bytea`), or
//! SQLite text that is not UTF-8, in a mapped column stops the load
//! ([`MappingError::DatabaseValue`]): convert it in the query; with `on_bad_row = "skip"` its
//! row is left out and counted, as a file's malformed row is ([`BadRowReason::BinaryValue`],
//! [`BadRowReason::Undecodable`], with the first row numbers). `encoding` is a key of files
//! only ([`MappingError::FileKeyForDatabase`]).
//! Errors name the table, its source and the database ([`DatabaseSection`]): a failed
//! connection ([`MappingError::DatabaseConnect`]), a query that does not run
//! ([`MappingError::DatabaseQuery`]), and a connection broken part-way
//! ([`MappingError::DatabaseRow`], with the row); where an error names a line, a database
//! section's is the row number, from 1. An events, consent or contacts section without an `id`
//! column names its items' ids in a state after the database and a checksum of the query, so
//! editing its query renews them: give it an `id` column to keep them.
//! **Mailboxes and GA4 exports.** A `[[source]]` with a `format` reads a file that is not a
//! table of columns, and makes both records and events of it; it takes `name`, `path` (a file,
//! or a folder: every regular file in it whose name does not start with `.`, in name order,
//! sub-folders not read), `trust`, `mode = "export"` (the only mode) and the keys of its
//! format, and none of `id`, `keys`, `composite`, `attributes`, `observed_at`, `delimiter`,
//! `deleted`, `encoding` or `on_bad_row` ([`MappingError::NotForFormat`]; mail headers name
//! their charsets, GA4 exports are UTF-8; so are the format keys on a CSV or JSON
//! Lines source). Another `format` is [`MappingError::UnknownSourceFormat`].
//!
//! ```toml
//! [[source]]
//! name = "mail"
//! format = "mbox"                 # feature `mbox`
//! path = "account_managers.mbox"  # or a folder of mailboxes
//! owner = ["anna@publisher.nl"]   # optional: the owners' addresses, in any case
//! [[source]]
//! name = "shop"
//! format = "ga4"                  # feature `ga4`
//! path = "events_20260630.jsonl"  # rows of GA4's daily BigQuery export, or a folder of days
//! user_id_kind = "customer_no"    # optional: the kind of `user_id` (the default)
//! events = { add_to_cart = "page_view", search = "" }  # optional: event name → kind
//! ```
//!
//! | key | format | meaning | default |
//! |---|---|---|---|
//! | `owner` | `mbox` | an address or array of addresses that are not correspondents (compared in lower case) | none |
//! | `user_id_kind` | `ga4` | the kind of `user_id` values: built in or under `[kinds]` | `customer_no` |
//! | `events` | `ga4` | GA4 event name → event kind (built in or under `[event_kinds]`, else [`MappingError::UnknownEventKind`] when the mapping is parsed), over [`GA4_DEFAULT_EVENTS`] (`page_view`; `search` and `view_search_results` → `search`; `purchase` → `order`); an empty kind drops a name | the defaults |
//!
//! A **mailbox** makes one record per correspondent (From, To, Cc, Reply-To, the owners left
//! out), id = the lower-cased address, with an `email` key and attribute `name` = the display
//! name (RFC 2047 encoded words decoded) of the latest-dated message that gives one; each
//! message is an `email_exchange` event on each correspondent's record (time = Date, topic =
//! subject, channel `email`). A **GA4 export** makes one record per `user_pseudo_id`, with a
//! `cookie` key of it, a key of `user_id_kind` per `user_id` seen with it, and attributes
//! `device_category` and `country` from its latest row; each row whose `event_name` maps to a
//! kind is an event (time = `event_timestamp` in microseconds, a number or a string; topic =
//! `search_term`, a purchase's first `item_name` or `page_title`; value =
//! `ecommerce.purchase_revenue` or the `value` parameter; channel `web`). Details, and what
//! is counted rather than read (a message that does not parse or has no Date, a row without
//! `user_pseudo_id`, an unknown event name, a bad timestamp), in [`SourceReport`] and
//! [`EventsRead`]: the records are gathered when the sources are opened
//! ([`Mapping::open`]), one per correspondent or pseudo id, never the messages or rows; the
//! events are streamed in a second read after the `[[events]]` sections, and into a state
//! ([`Mapping::apply`]) they are a full export of the source's events, as an `[[events]]`
//! section without `id` column is. A GA4 line that is not JSON, or a field of the wrong JSON
//! type, is [`MappingError::InvalidJson`] naming file and line, as in JSON Lines.
//!
//! **Files as they really come.** Legacy CRM exports are rarely UTF-8: `encoding =
//! "windows-1252"` reads a Western European export (`M\xfcller` is `Müller`, `\x80` is `€`).
//! `"iso-8859-1"` (or `"latin1"`) reads the same, as the WHATWG Encoding Standard and browsers
//! read it: ISO-8859-1 differs only in bytes 0x80–0x9F, control characters no export means,
//! where files labelled Latin-1 hold Windows-1252's `€` and curly quotes. Windows-1252 gives
//! every byte a character, so such a file has no undecodable field. A file that starts with a
//! UTF-8 byte-order mark is read as UTF-8 whatever `encoding` says, the mark skipped. JSON
//! Lines files are UTF-8 (RFC 8259): another `encoding` for one is
//! [`MappingError::JsonEncoding`]; an unknown label is [`MappingError::UnknownEncoding`]. See
//! [`FileEncoding`].
//!
//! A *malformed row* is a CSV row of another number of fields than the header, a field that
//! is not valid UTF-8 in a file read as UTF-8, a quote left open to the end of the file (the
//! rest of the file would read as one field), or a JSON Lines line that is not a JSON object
//! or holds an array or object where a single value belongs. With `on_bad_row = "fail"` (the
//! default) the first one stops the load with a [`MappingError`] naming file, line and what
//! is wrong ([`FieldCount`](MappingError::FieldCount),
//! [`InvalidUtf8`](MappingError::InvalidUtf8),
//! [`UnterminatedQuote`](MappingError::UnterminatedQuote),
//! [`InvalidJson`](MappingError::InvalidJson), [`NotAnObject`](MappingError::NotAnObject),
//! [`UnexpectedValue`](MappingError::UnexpectedValue)); in a database section, a row with a
//! mapped value not read as text ([`DatabaseValue`](MappingError::DatabaseValue)). With
//! `"skip"` each is left out and counted per [`BadRowReason`] with its first
//! [`BAD_ROW_LINES`] lines (a database's row numbers) in the file's [`BadRows`]
//! ([`SourceReport::bad_rows`], [`EventsRead::bad_rows`], [`TouchRead::bad_rows`]), shown in
//! [`MappedRun::summary`]. `encoding` and `on_bad_row` are keys of the `[[events]]`,
//! `[[consent]]` and `[[contacts]]` tables too.
//!
//! **An id read twice.** When a source's file has two rows of one id, the later row's record
//! replaces the earlier one's (its keys and attributes are the ones held). The repeat is
//! counted, with the first few such ids, in [`SourceReport::duplicate_ids`] and
//! [`SourceReport::duplicate_examples`] and shown in the summary, in [`Mapping::run`] and
//! [`Mapping::apply`] alike (an identical repeat too).
//!
//! **Full exports and change feeds.** Applied to a durable state ([`Mapping::apply`]), an
//! export's rows add or replace their records and then the source's stored records that no row
//! named are removed; a change feed's rows add or replace their records and its deletion rows
//! remove theirs, while the records it does not name stay. A deletion row is one whose
//! `deleted` cell reads as true by [`deletion_flag`]: trimmed and in any ASCII case, `true`,
//! `t`, `yes`, `y`, `1` and `deleted` delete; `false`, `f`, `no`, `n`, `0`, an empty cell, a
//! missing field or JSON `null` keep; anything else stops the load at that row
//! ([`MappingError::BadDeletionFlag`], naming file, line and column). A deletion row needs only
//! its id; when an id has several rows, the last decides. Deleting a record the state does not
//! hold is counted ([`SourceTally::unknown_deletions`]), not an error. Into a fresh resolver
//! ([`Mapping::run`]) both modes load their rows, and a feed's deletions remove what earlier
//! rows of the same load added. `deleted` without `mode = "changes"` is
//! [`MappingError::DeletedWithoutChanges`]; another mode is [`MappingError::UnknownMode`].
//!
//! **Events.** A mapping may also name files of behavioural events (see
//! [`behaviour`](crate::behaviour)): each row is one event on a record of a mapped source.
//!
//! ```toml
//! [event_kinds]                   # the host's own event kinds; built-ins need no entry
//! webinar = "engagement"          # engagement | purchase | service | negative
//! [[events]]
//! source = "newsletter"           # whose records the events belong to (a [[source]] name)
//! path = "newsletter_events.csv"  # CSV, or .jsonl (format by extension, as sources)
//! record = "subscriber_id"        # column: the record's external id in that source
//! kind = "event"                  # column holding the kind, or kind_is = "newsletter_open"
//! at = "ts"                       # RFC 3339 or YYYY-MM-DD
//! topic = "title"                 # optional columns: topic, value, channel, id
//! value = "amount"
//! ```
//!
//! **`[event_kinds]`** declares the host's event kinds, one key each, in addition to the
//! built-in ones ([`BUILT_IN_EVENT_KINDS`](crate::behaviour::BUILT_IN_EVENT_KINDS):
//! `newsletter_open`, `order`, `ticket`, …).
//!
//! | key | meaning | default |
//! |---|---|---|
//! | the kind's name | its class: `"engagement"`, `"purchase"`, `"service"` or `"negative"` (see [`EventClass`](crate::behaviour::EventClass)). The name is `snake_case` ASCII of 1 to 64 bytes starting with a letter, and not a built-in kind's | no host kinds |
//!
//! [`Mapping::event_kinds`] lists them in file order; [`Mapping::resolver_builder`] declares
//! them, so a resolver built from it knows them
//! ([`Resolver::event_kinds`](crate::Resolver::event_kinds)); without a resolver,
//! [`Mapping::event_kind_registry`] gives the registry that reading the events wants, and
//! [`Mapping::declare_event_kinds`] adds them to one the host holds.
//!
//! **`[[events]]`**, one table per events file, read in file order ([`EventsMapping`]):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `source` | the `[[source]]` whose records the events belong to, by name | required |
//! | `path` | the file, relative to the mapping file's directory; `.csv` is CSV, `.jsonl` or `.ndjson` is JSON Lines | required |
//! | `record` | the column holding the external id of the event's record in `source`; the record may arrive before or after its events | required |
//! | `kind` | the column holding each row's kind, by name (matched exactly, after trimming): a built-in kind or one under `[event_kinds]` | `kind` or `kind_is` is required, not both |
//! | `kind_is` | instead of `kind`: the one kind of every row (a built-in kind or one under `[event_kinds]`) | |
//! | `at` | the column holding the event's time: RFC 3339 or `YYYY-MM-DD` (midnight UTC); see [`parse_timestamp`] | required |
//! | `topic` | the column holding a title, product or search query | no topic |
//! | `value` | the column holding a decimal number: an amount (purchases) or seconds spent reading (`article_read`) | 0 |
//! | `channel` | the column holding where it happened (`email`, `web`, …) | no channel |
//! | `id` | the column holding the event's id within its source | no ids: see below |
//! | `delimiter` | the CSV field delimiter, one ASCII character | `","` |
//! | `encoding` | the file's text encoding, as for `[[source]]` | `"utf-8"` |
//! | `on_bad_row` | `"fail"` or `"skip"`, as for `[[source]]`; rows skipped so are counted in [`EventsRead::bad_rows`] | `"fail"` |
//!
//! **Replays and full exports of events.** A section *with* an `id` column replaces held
//! events by id: an event whose id (within its source) is held replaces the held one, so a
//! file replayed, or read again with more rows, counts each event once. A row whose id cell
//! is empty is an event without id, added as it is. A section *without* an `id` column is a
//! full export of that file's events: loading it into a state ([`Mapping::apply`]) replaces
//! what the same section loaded last time. Its events get ids of their own, the file's name
//! and the event's position among the file's events the state takes (a refused one, such as
//! a negative amount, takes none) behind a U+0001 (`\u{1}web_events.jsonl:17`): the file read
//! again replaces each event in place, and the positions past its end that the last load
//! used are removed. A section is known by its source and file, so two `[[events]]` tables
//! may not read the same file into the same source ([`MappingError::DuplicateEvents`]), nor
//! two directories' files of one name.
//! [`EventsMapping::has_ids`] says which a section is.
//!
//! [`EventsMapping::read`] streams a section's file into
//! [`EventInput`](crate::behaviour::EventInput)s, a chunk at a time, without an allocation
//! per row. A missing file, a missing column or a malformed row stops it with a
//! [`MappingError`] naming file, line and column; a row whose values make no event (an empty
//! record id, an empty or unknown kind, a time or value that does not parse, a value that is
//! not finite) is skipped and counted per [`EventRowProblem`] in its [`EventsRead`], which
//! keeps the first few lines of each as examples; the host hands the chunks to
//! [`Resolver::record_events`](crate::Resolver::record_events). [`Mapping::open`] reads the
//! sources' files only; [`Mapping::run`] and [`Mapping::apply`] read the events files after
//! them.
//!
//! **Touchpoints.** A mapping may also name files of consent statements and of contacts (see
//! [`touchpoint`](crate::touchpoint)), each row on a record of a mapped source:
//!
//! ```toml
//! [[consent]]
//! source = "newsletter"
//! path = "consent.csv"            # CSV, or .jsonl
//! record = "subscriber_id"
//! channel_is = "newsletter"       # or channel = "COLUMN"
//! status = "status"               # granted | denied (trimmed, any case)
//! at = "changed_at"               # RFC 3339 or YYYY-MM-DD
//! [[contacts]]
//! source = "crm"
//! path = "contacts.csv"
//! record = "customer_id"
//! channel = "channel"             # or channel_is = "phone"
//! at = "sent_at"
//! campaign = "campaign"           # optional columns: campaign, transactional, id
//! transactional = "transactional" # true/false cells, as deletion_flag reads them
//! id = "send_id"
//! ```
//!
//! **`[[consent]]`**, one table per file of statements, read in file order
//! ([`ConsentMapping`]); every key but `delimiter`, `encoding` and `on_bad_row` is required:
//!
//! | key | meaning |
//! |---|---|
//! | `source` | the `[[source]]` whose records made the statements, by name |
//! | `path` | the file, relative to the mapping file's directory; `.csv` is CSV, `.jsonl` or `.ndjson` is JSON Lines |
//! | `record` | the column holding the external id of the statement's record in `source`; the record may arrive before or after its statements |
//! | `channel` | the column holding the channel each row is about (`email`, `newsletter`, `phone`, …); `channel` or `channel_is` is required, not both |
//! | `channel_is` | instead of `channel`: the one channel of every row |
//! | `status` | the column holding `granted` or `denied` (trimmed, in any ASCII case) |
//! | `at` | the column holding when the statement was made: RFC 3339 or `YYYY-MM-DD` (midnight UTC) |
//! | `delimiter` | the CSV field delimiter, one ASCII character (default `","`) |
//! | `encoding` | the file's text encoding, as for `[[source]]` (default `"utf-8"`) |
//! | `on_bad_row` | `"fail"` (default) or `"skip"`, as for `[[source]]`; rows skipped so are counted in [`TouchRead::bad_rows`] |
//!
//! **`[[contacts]]`**, one table per file of contacts (messages sent, calls made), read in
//! file order ([`ContactsMapping`]):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `source`, `path`, `record`, `channel`, `channel_is`, `at`, `delimiter`, `encoding`, `on_bad_row` | as for `[[consent]]`; `record` names the record whose address was used | required but `delimiter`, `encoding` and `on_bad_row` |
//! | `campaign` | the column holding the campaign | no campaign |
//! | `transactional` | the column marking a receipt or password reset, exempt from caps: a cell reads as [`deletion_flag`] reads one (`true`, `yes`, `1`, … or `false`, `no`, `0`, empty) | not transactional |
//! | `id` | the column holding the contact's id within its source | no ids: see below |
//!
//! **Loading them again.** A consent statement is known by its content (record, channel,
//! status and time), so a file read again holds each statement once, and
//! [`Mapping::apply`] journals only the statements the state does not hold. Contacts are
//! replaced as events are: a section *with* an `id` column replaces held contacts by id (an
//! empty id cell is a contact without id, added as it is); a section *without* one is a full
//! export of that file's contacts, whose contacts get ids of their file's name and position
//! (`\u{1}contacts.csv:3`, counting the contacts the state takes) and whose positions past
//! the end of this load are removed ([`TouchLoad::removed`]). Two `[[consent]]` tables, or
//! two `[[contacts]]` tables, may not read files of one name into one source
//! ([`MappingError::DuplicateTouch`]).
//!
//! [`ConsentMapping::read`] and [`ContactsMapping::read`] stream a section's file into
//! [`ConsentInput`](crate::touchpoint::ConsentInput)s or
//! [`ContactInput`](crate::touchpoint::ContactInput)s as [`EventsMapping::read`] does: a
//! missing file or column or a malformed row stops with a [`MappingError`] naming file, line
//! and column, a row whose values make nothing (an empty record id, channel or status, a
//! status that is neither `granted` nor `denied`, a time that does not parse, a
//! `transactional` cell that is neither true nor false) is skipped and counted per
//! [`TouchRowProblem`] in its [`TouchRead`]. [`Mapping::run`] hands them to
//! [`Resolver::record_consents`](crate::Resolver::record_consents) and
//! [`Resolver::record_contacts`](crate::Resolver::record_contacts) after the events;
//! [`Mapping::apply`] to [`Durable::record_consents`](crate::Durable::record_consents) and
//! [`Durable::record_contacts`](crate::Durable::record_contacts); both report them in a
//! [`TouchLoad`] each.
//!
//! A composite kind's parts are registered as attributes named `NAME#0`, `NAME#1`, … (see
//! [`KindMapping::spec`]); each source stores its columns' values under those names, so
//! sources may name the columns differently. Kinds and sources are checked when the mapping is
//! parsed: an unknown kind, a composite kind without an entry, an unknown normaliser, a number
//! out of range are [`MappingError`]s naming the file, line, column and TOML key. So are, for
//! events, an unknown field, a `source` no `[[source]]` has, neither or both of `kind` and
//! `kind_is`, an unknown class, and an event kind named like a built-in one; for consent and
//! contacts, an unknown field, a missing required key, a `source` no `[[source]]` has, and
//! neither or both of `channel` and `channel_is` ([`MappingError::NoChannel`],
//! [`MappingError::ChannelTwice`]).
//!
//! # Reading the files
//!
//! [`Mapping::open`] gives a [`MappedSource`], a [`RecordSource`](crate::adapter::RecordSource)
//! for [`Resolver::ingest_from`](crate::Resolver::ingest_from); it checks every file and CSV
//! header before reading a row. Malformed input (bad UTF-8, a row with the wrong number of
//! fields, invalid JSON) stops it with an error naming file, line and column; bad values (an
//! empty cell, an `observed_at` that does not parse) are counted in an [`InputReport`].
//! [`Mapping::run`] does all of it in one call, and [`write_assignments`] writes every
//! record's customer as CSV. [`Mapping::apply`] brings a [`Durable`](crate::Durable) state up
//! to date with the files instead, journaling every change, leaving out the rows the state
//! already holds and keeping customer ids from load to load; its [`AppliedRun`] says per
//! source what was added, updated, left unchanged and removed. Records that change feeds
//! delete are not yielded by the [`MappedSource`]: [`MappedSource::deletions`] lists them.
//!
//! # Example
//!
//! ```
//! use idstitch::mapping::{Mapping, MappingError};
//!
//! let mapping = Mapping::from_str(
//!     r#"
//!     default_country = "NL"
//!     [kinds.name_dob]
//!     limit = 1
//!     priority = 50
//!     [[source]]
//!     name = "crm"
//!     path = "crm.csv"
//!     id = "record_id"
//!     keys = { email = "email", phone = ["phone", "mobile"] }
//!     composite = { name_dob = ["given_name", "surname", "date_of_birth"] }
//!     [[source]]
//!     name = "shop"
//!     path = "orders.jsonl"
//!     id = "order"
//!     keys = { email = "buyer" }
//!     composite = { name_dob = ["first", "last", "born"] }
//!     "#,
//!     "/data/exports",
//! )?;
//! assert_eq!(mapping.sources()[1].input.path, std::path::Path::new("/data/exports/orders.jsonl"));
//! assert_eq!(mapping.sources()[0].trust, 20);
//! // Each source stores its own columns under the composite kind's part names.
//! let parts = mapping.kinds()[0].spec.composite.clone().unwrap_or_default();
//! assert_eq!(parts, ["name_dob#0", "name_dob#1", "name_dob#2"]);
//!
//! let mut resolver = mapping.resolver_builder().build()?;
//! mapping.register_sources(&mut resolver)?;
//! assert!(resolver.kind_id("name_dob").is_some());
//!
//! // Mistakes name the file, the line and the key.
//! let text = "[[source]]\nname = \"crm\"\npath = \"crm.csv\"\nid = \"id\"\nkeys = { emial = \"email\" }\n";
//! let err = Mapping::from_str(text, ".").unwrap_err();
//! assert!(matches!(err, MappingError::UnknownKind { .. }));
//! assert_eq!(
//!     err.to_string(),
//!     "<string>:5:10: [[source]] \"crm\", key `keys.emial`: unknown kind \"emial\" \
//!      (not built in and not declared under [kinds])"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! From files to customers in one call (with feature `csv`); a host that keeps its resolver
//! uses [`Mapping::open`] and [`Resolver::ingest_from`](crate::Resolver::ingest_from) instead.
//!
//! ```
//! # #[cfg(feature = "csv")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use idstitch::mapping::Mapping;
//!
//! let dir = std::env::temp_dir().join(format!("idstitch-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(
//!     dir.join("crm.csv"),
//!     "id, email, phone\nC1, jan@example.nl, 06-12345678\nC2, JAN@Example.nl,\n",
//! )?;
//! std::fs::write(
//!     dir.join("mapping.toml"),
//!     r#"
//!     default_country = "NL"
//!     [[source]]
//!     name = "crm"
//!     path = "crm.csv"
//!     id = "id"
//!     keys = { email = "email", phone = "phone" }
//!     "#,
//! )?;
//! let run = Mapping::from_path(dir.join("mapping.toml"))?.run(1024, |_progress| {})?;
//! let crm = run.sources[0];
//! assert_eq!(run.resolver.customer_of(crm, "C1"), run.resolver.customer_of(crm, "C2"));
//! assert_eq!(run.input.sources[0].records_read, 2);
//! assert_eq!(run.input.sources[0].empty_values.get("phone"), Some(&1));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "csv"))]
//! # fn main() {}
//! ```

mod apply;
mod assignments;
mod bad_rows;
mod cells;
mod chunk;
mod config;
mod decode;
mod error;
mod events;
mod input;
mod parse;
mod reader;
mod row;
mod run;
mod sources;
mod sql;
mod table_input;
mod timestamp;
mod touch;

pub use apply::{AppliedRun, SourceTally};
pub use assignments::write_assignments;
pub use bad_rows::{BadRowReason, BadRows, OnBadRow, BAD_ROW_LINES};
pub use config::{
    ChannelFrom, ConsentMapping, ContactsMapping, EventKindFrom, EventsMapping, InputFormat,
    KindMapping, Mapping, SourceMapping, SourceMode, TouchTable,
};
pub use decode::FileEncoding;
pub use error::{DatabaseSection, MappingError, TomlPlace};
pub use events::{EventRowProblem, EventsRead, SkippedRow, SKIPPED_EXAMPLES};
pub use input::{InputReport, MappedSource, SourceReport};
pub use row::deletion_flag;
pub use run::MappedRun;
pub use sources::{FormatOptions, Ga4Options, MboxOptions, GA4_DEFAULT_EVENTS};
pub use sql::{ConnectionString, Database, DatabaseQuery};
pub use table_input::TableInput;
pub use timestamp::parse_timestamp;
pub use touch::{TouchLoad, TouchRead, TouchRowProblem};
