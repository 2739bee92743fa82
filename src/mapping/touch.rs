//! Reading a `[[consent]]` or `[[contacts]]` section's file: [`ConsentMapping::read`] and
//! [`ContactsMapping::read`] stream its rows into [`ConsentInput`]s or [`ContactInput`]s,
//! chunk by chunk, without an allocation per row (see `cells.rs`), and count the rows whose
//! values make nothing in a [`TouchRead`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::bad_rows::BadRows;
use super::cells::{read_chunks, set_str, set_text};
use super::config::{ChannelFrom, ConsentMapping, ContactsMapping, TouchTable};
use super::error::MappingError;
use super::events::{note_skip, write_bad_rows, write_skips, SkippedRow};
use super::reader::{Layout, Owner};
use super::row::deletion_flag;
use super::timestamp::parse_timestamp;
use crate::behaviour::EventReport;
use crate::ids::SourceId;
use crate::input::record::Timestamp;
use crate::touchpoint::{ConsentInput, ConsentStatus, ContactInput};

/// Why a row of a consent or contacts file made no statement or contact. Such rows are
/// counted, never fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TouchRowProblem {
    /// The `record` cell is empty or missing: the row names no record.
    EmptyRecordId,
    /// The `channel` cell is empty or missing.
    EmptyChannel,
    /// The `at` cell is empty or missing.
    EmptyTime,
    /// The `at` cell is neither RFC 3339 nor `YYYY-MM-DD` (see
    /// [`parse_timestamp`](super::parse_timestamp)).
    BadTime,
    /// The `status` cell of a consent row is empty or missing.
    EmptyStatus,
    /// The `status` cell of a consent row is neither `granted` nor `denied` (trimmed, in any
    /// ASCII case).
    UnknownStatus,
    /// The `transactional` cell of a contacts row reads neither as true nor as false (see
    /// [`deletion_flag`](super::deletion_flag), which reads it).
    BadTransactional,
}

impl TouchRowProblem {
    /// What the problem is, in a few words for people.
    pub const fn describe(self) -> &'static str {
        match self {
            TouchRowProblem::EmptyRecordId => "no record id",
            TouchRowProblem::EmptyChannel => "no channel",
            TouchRowProblem::EmptyTime => "no time",
            TouchRowProblem::BadTime => "time does not parse",
            TouchRowProblem::EmptyStatus => "no status",
            TouchRowProblem::UnknownStatus => "status is neither granted nor denied",
            TouchRowProblem::BadTransactional => "transactional is neither true nor false",
        }
    }
}

impl fmt::Display for TouchRowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// What reading one consent or contacts section's file gave: rows read, statements or
/// contacts handed on, and the rows that made nothing, counted per problem with the first few
/// of each as examples.
///
/// Its `Display` is a short account for people:
///
/// ```text
/// consent.csv ("newsletter"): 12 rows, 11 statements, 1 skipped
///   status is neither granted nor denied: 1 (line 7: "maybe")
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TouchRead {
    /// `[[consent]]` or `[[contacts]]`.
    pub table: TouchTable,
    /// The source whose records the rows belong to.
    pub source: String,
    /// The file read.
    pub file: PathBuf,
    /// Rows (CSV) or objects (JSON Lines) read; blank lines are not rows.
    pub rows: u64,
    /// Statements (consent) or contacts handed on: rows less the skipped ones.
    pub items: u64,
    /// Rows that made nothing, by problem (each row counts once, for its first problem in
    /// the order record, channel, time, then status or transactional).
    pub skipped: BTreeMap<TouchRowProblem, u64>,
    /// The first [`SKIPPED_EXAMPLES`](super::SKIPPED_EXAMPLES) skipped rows of each problem,
    /// in file order.
    pub examples: Vec<SkippedRow<TouchRowProblem>>,
    /// Malformed rows left out by `on_bad_row = "skip"` (not counted in `rows`).
    pub bad_rows: BadRows,
}

impl TouchRead {
    fn new(table: TouchTable, source: &str, file: &Path) -> Self {
        TouchRead {
            table,
            source: source.to_string(),
            file: file.to_path_buf(),
            rows: 0,
            items: 0,
            skipped: BTreeMap::new(),
            examples: Vec::new(),
            bad_rows: BadRows::default(),
        }
    }

    /// Rows that made nothing.
    pub fn n_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }

    fn skip(&mut self, line: u64, problem: TouchRowProblem, value: &str) {
        note_skip(&mut self.skipped, &mut self.examples, line, problem, value);
    }
}

impl fmt::Display for TouchRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.file.file_name().map_or(self.file.as_os_str(), |n| n);
        write!(
            f,
            "{} ({:?}): {} rows, {} {}, {} skipped",
            name.to_string_lossy(),
            self.source,
            self.rows,
            self.items,
            noun(self.table),
            self.n_skipped()
        )?;
        write_skips(f, &self.skipped, &self.examples)?;
        write_bad_rows(f, &self.bad_rows)
    }
}

/// What the items of a table are called: `statements` or `contacts`.
fn noun(table: TouchTable) -> &'static str {
    match table {
        TouchTable::Consent => "statements",
        TouchTable::Contacts => "contacts",
    }
}

/// What loading the `[[consent]]` or the `[[contacts]]` sections of a mapping did: what was
/// read from each file, what the resolver did with the statements or contacts, and, applied
/// to a state, how many contacts of full exports were removed.
///
/// Its `Display` gives each file's [`TouchRead`] and a line of totals:
///
/// ```text
/// contacts.csv ("crm"): 8 rows, 8 contacts, 0 skipped
/// contacts stored: 8, replacing one held: 8, removed: 1
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TouchLoad {
    /// `[[consent]]` or `[[contacts]]`.
    pub table: TouchTable,
    /// What was read from each file, in mapping order.
    pub files: Vec<TouchRead>,
    /// What the resolver did with them: stored, of those replacing a held one (for consent,
    /// the same statement was held already: each statement is held once), and refused by
    /// source and reason.
    pub report: EventReport,
    /// Contacts that a section without an `id` column held, in its last load, past the end of
    /// this one, removed ([`Mapping::apply`](super::Mapping::apply) only; always 0 for
    /// consent, whose statements are known by their content).
    pub removed: u64,
}

impl TouchLoad {
    pub(super) fn new(table: TouchTable) -> Self {
        TouchLoad { table, files: Vec::new(), report: EventReport::default(), removed: 0 }
    }
}

impl fmt::Display for TouchLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for read in &self.files {
            writeln!(f, "{read}")?;
        }
        let (noun, replaced) = match self.table {
            TouchTable::Consent => ("consent statements", "already held"),
            TouchTable::Contacts => ("contacts", "replacing one held"),
        };
        write!(f, "{noun} stored: {}, {replaced}: {}", self.report.accepted, self.report.replaced)?;
        if self.report.n_rejected() > 0 {
            write!(f, ", refused: {}", self.report.n_rejected())?;
        }
        if self.table == TouchTable::Contacts {
            write!(f, ", removed: {}", self.removed)?;
        }
        Ok(())
    }
}

/// The channel column's index (`None` for one channel for every row), and the one channel
/// (empty for a column).
fn channel_plan(channel: &ChannelFrom, col: impl Fn(&str) -> usize) -> (Option<usize>, &str) {
    match channel {
        ChannelFrom::Column(c) => (Some(col(c)), ""),
        ChannelFrom::Fixed(name) => (None, name),
    }
}

/// The cells shared by consent and contacts rows: the record, the channel (`None` for the
/// section's one channel) and the time, or the first problem of the three with the offending
/// text.
fn record_channel_at<'c>(
    record: usize,
    channel: Option<usize>,
    at: usize,
    cell: &impl Fn(usize) -> &'c str,
) -> Result<(&'c str, Option<&'c str>, Timestamp), (TouchRowProblem, &'c str)> {
    let record = cell(record);
    if record.is_empty() {
        return Err((TouchRowProblem::EmptyRecordId, ""));
    }
    let channel = channel.map(cell);
    if channel.is_some_and(str::is_empty) {
        return Err((TouchRowProblem::EmptyChannel, ""));
    }
    let at_text = cell(at);
    if at_text.is_empty() {
        return Err((TouchRowProblem::EmptyTime, ""));
    }
    let at = parse_timestamp(at_text).ok_or((TouchRowProblem::BadTime, at_text))?;
    Ok((record, channel, at))
}

/// The columns of a consent section, as indices into its layout's columns.
struct ConsentPlan {
    record: usize,
    /// The channel column, if any.
    channel: Option<usize>,
    status: usize,
    at: usize,
}

/// The values of one good consent row, borrowed from the reader.
struct ConsentFields<'a> {
    record: &'a str,
    /// `None` for the section's one channel.
    channel: Option<&'a str>,
    status: ConsentStatus,
    at: Timestamp,
}

impl ConsentPlan {
    fn fields<'c>(
        &self,
        cell: impl Fn(usize) -> &'c str,
    ) -> Result<ConsentFields<'c>, (TouchRowProblem, &'c str)> {
        let (record, channel, at) = record_channel_at(self.record, self.channel, self.at, &cell)?;
        let status = match cell(self.status) {
            "" => return Err((TouchRowProblem::EmptyStatus, "")),
            text if text.eq_ignore_ascii_case("granted") => ConsentStatus::Granted,
            text if text.eq_ignore_ascii_case("denied") => ConsentStatus::Denied,
            text => return Err((TouchRowProblem::UnknownStatus, text)),
        };
        Ok(ConsentFields { record, channel, status, at })
    }
}

/// The columns of a contacts section, as indices into its layout's columns.
struct ContactsPlan {
    record: usize,
    /// The channel column, if any.
    channel: Option<usize>,
    at: usize,
    campaign: Option<usize>,
    transactional: Option<usize>,
    id: Option<usize>,
}

/// The values of one good contacts row, borrowed from the reader.
struct ContactFields<'a> {
    record: &'a str,
    /// `None` for the section's one channel.
    channel: Option<&'a str>,
    at: Timestamp,
    campaign: Option<&'a str>,
    transactional: bool,
    id: Option<&'a str>,
}

impl ContactsPlan {
    fn fields<'c>(
        &self,
        cell: impl Fn(usize) -> &'c str,
    ) -> Result<ContactFields<'c>, (TouchRowProblem, &'c str)> {
        let (record, channel, at) = record_channel_at(self.record, self.channel, self.at, &cell)?;
        let transactional = match self.transactional.map(&cell) {
            None => false,
            Some(text) => deletion_flag(text).ok_or((TouchRowProblem::BadTransactional, text))?,
        };
        let optional = |col: Option<usize>| col.map(&cell).filter(|v| !v.is_empty());
        Ok(ContactFields {
            record,
            channel,
            at,
            campaign: optional(self.campaign),
            transactional,
            id: optional(self.id),
        })
    }
}

/// The column's index in a layout's columns.
fn index_in(layout: &Layout) -> impl Fn(&str) -> usize + '_ {
    |name| layout.columns.iter().position(|c| c == name).unwrap_or(0)
}

impl ConsentMapping {
    /// Reads the section's file and hands its statements to `f`, `chunk` at a time (the last
    /// chunk may be shorter; `f` never gets an empty one). Every statement gets `source`, the
    /// id the host's resolver gave the section's [`source`](ConsentMapping::source); a host
    /// hands the chunks to [`Resolver::record_consents`](crate::Resolver::record_consents).
    ///
    /// Each row is one statement: `record` is its record's external id, `channel` (or
    /// `channel_is`) the channel it is about, `status` `granted` or `denied` (trimmed, in any
    /// ASCII case), and `at` its time (RFC 3339 or `YYYY-MM-DD`, midnight UTC). Cells are
    /// trimmed; in JSON Lines, numbers and booleans are read as their JSON text and `null` as
    /// an empty cell. A row whose values make no statement (no record id, channel or status,
    /// a status that is neither, a time that does not parse) is skipped and counted in the
    /// returned [`TouchRead`]; whether the statements are valid otherwise (text lengths) is
    /// left to whoever takes them ([`ConsentInput::validate`]).
    ///
    /// The statements are overwritten after `f` returns, their strings reused: copy what you
    /// keep. Memory stays at one chunk however large the file.
    ///
    /// ```
    /// # #[cfg(feature = "csv")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use idstitch::mapping::{Mapping, MappingError, TouchRowProblem};
    /// use idstitch::touchpoint::ConsentInput;
    /// use idstitch::{SourceId, Timestamp};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-consent-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(
    ///     dir.join("consent.csv"),
    ///     "subscriber,status,changed_at\n\
    ///      nl-1,granted,2026-06-01\n\
    ///      nl-2, DENIED ,2026-06-02T09:00:00Z\n\
    ///      nl-3,maybe,2026-06-02\n",
    /// )?;
    /// let mapping = Mapping::from_str(
    ///     r#"
    ///     [[source]]
    ///     name = "newsletter"
    ///     path = "newsletter.csv"
    ///     id = "subscriber"
    ///     [[consent]]
    ///     source = "newsletter"
    ///     path = "consent.csv"
    ///     record = "subscriber"
    ///     channel_is = "newsletter"
    ///     status = "status"
    ///     at = "changed_at"
    ///     "#,
    ///     &dir,
    /// )?;
    /// let newsletter = SourceId::from_raw(0); // as the resolver registered it
    /// let mut statements: Vec<ConsentInput> = Vec::new();
    /// let read = mapping.consent()[0].read(newsletter, 1024, |chunk| {
    ///     statements.extend_from_slice(chunk);
    ///     Ok::<_, MappingError>(())
    /// })?;
    /// assert_eq!(
    ///     statements,
    ///     [
    ///         ConsentInput::granted(newsletter, "nl-1", "newsletter", Timestamp(1_780_272_000)),
    ///         ConsentInput::denied(newsletter, "nl-2", "newsletter", Timestamp(1_780_390_800)),
    ///     ]
    /// );
    /// assert_eq!((read.rows, read.items), (3, 2));
    /// assert_eq!(read.skipped.get(&TouchRowProblem::UnknownStatus), Some(&1));
    /// assert!(read.to_string().ends_with(
    ///     "3 rows, 2 statements, 1 skipped\n  status is neither granted nor denied: 1 (line 4: \"maybe\")"
    /// ));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "csv"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// The error of `f`, which stops the reading; a [`MappingError`], converted into `f`'s
    /// error type, when the file cannot be read, as for
    /// [`EventsMapping::read`](super::EventsMapping::read) (a column missing from a CSV
    /// header is [`MissingConsentColumn`](MappingError::MissingConsentColumn), or
    /// [`MissingContactsColumn`](MappingError::MissingContactsColumn) for contacts). Chunks
    /// handed to `f` before an error stay handed.
    pub fn read<E: From<MappingError>>(
        &self,
        source: SourceId,
        chunk: usize,
        f: impl FnMut(&[ConsentInput]) -> Result<(), E>,
    ) -> Result<TouchRead, E> {
        let table = TouchTable::Consent;
        let owner = Owner::Touch { table, number: self.number, source: self.source.clone() };
        let layout = self.input.layout(owner, self.columns());
        let col = index_in(&layout);
        let (channel, one_channel) = channel_plan(&self.channel, &col);
        let plan = ConsentPlan {
            record: col(&self.record),
            channel,
            status: col(&self.status),
            at: col(&self.at),
        };
        let mut bad_rows = BadRows::default();
        let mut report = TouchRead::new(table, &self.source, &self.input.path);
        let (rows, items) = read_chunks(
            &layout,
            &mut bad_rows,
            chunk,
            || ConsentInput::granted(source, String::new(), String::new(), Timestamp(0)),
            |slot, cell| {
                let fields = plan.fields(cell)?;
                slot.source = source;
                set_str(&mut slot.external_id, fields.record);
                set_str(&mut slot.channel, fields.channel.unwrap_or(one_channel));
                slot.status = fields.status;
                slot.at = fields.at;
                Ok(())
            },
            |line, problem, text| report.skip(line, problem, text),
            f,
        )?;
        (report.rows, report.items, report.bad_rows) = (rows, items, bad_rows);
        Ok(report)
    }
}

impl ContactsMapping {
    /// Reads the section's file and hands its contacts to `f`, `chunk` at a time (the last
    /// chunk may be shorter; `f` never gets an empty one). Every contact gets `source`, the
    /// id the host's resolver gave the section's [`source`](ContactsMapping::source); a host
    /// hands the chunks to [`Resolver::record_contacts`](crate::Resolver::record_contacts).
    ///
    /// Each row is one contact: `record` is the external id of the record whose address was
    /// used, `channel` (or `channel_is`) the channel, `at` its time (RFC 3339 or
    /// `YYYY-MM-DD`, midnight UTC); `campaign` and `id` are `None` when their column is absent
    /// or the cell empty, and `transactional` is the `transactional` cell read as
    /// [`deletion_flag`](super::deletion_flag) reads a cell (`true`, `yes`, `1`, … or
    /// `false`, `no`, `0`, empty; `false` without the column). Cells are trimmed, as for
    /// [`ConsentMapping::read`]. A row whose values make no contact (no record id or channel,
    /// a time that does not parse, a transactional cell that is neither) is skipped and
    /// counted in the returned [`TouchRead`]; whether the contacts are valid otherwise (text
    /// lengths) is left to whoever takes them ([`ContactInput::validate`]).
    ///
    /// The contacts are overwritten after `f` returns, their strings reused: copy what you
    /// keep. Memory stays at one chunk however large the file.
    ///
    /// ```
    /// # #[cfg(feature = "csv")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use idstitch::mapping::{Mapping, MappingError};
    /// use idstitch::touchpoint::ContactInput;
    /// use idstitch::{SourceId, Timestamp};
    ///
    /// let dir = std::env::temp_dir().join(format!("idstitch-doc-contacts-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(
    ///     dir.join("contacts.csv"),
    ///     "customer,channel,sent_at,campaign,receipt,send_id\n\
    ///      C-1,email,2026-06-01,spring-sale,no,s-1\n\
    ///      C-1,email,2026-06-02,,yes,s-2\n\
    ///      C-2,,2026-06-02,spring-sale,no,s-3\n",
    /// )?;
    /// let mapping = Mapping::from_str(
    ///     r#"
    ///     [[source]]
    ///     name = "crm"
    ///     path = "crm.csv"
    ///     id = "customer"
    ///     [[contacts]]
    ///     source = "crm"
    ///     path = "contacts.csv"
    ///     record = "customer"
    ///     channel = "channel"
    ///     at = "sent_at"
    ///     campaign = "campaign"
    ///     transactional = "receipt"
    ///     id = "send_id"
    ///     "#,
    ///     &dir,
    /// )?;
    /// let crm = SourceId::from_raw(0); // as the resolver registered it
    /// let mut contacts: Vec<ContactInput> = Vec::new();
    /// let read = mapping.contacts()[0].read(crm, 1024, |chunk| {
    ///     contacts.extend_from_slice(chunk);
    ///     Ok::<_, MappingError>(())
    /// })?;
    /// let day = |d: i64| Timestamp(1_780_272_000 + d * 86_400);
    /// assert_eq!(
    ///     contacts,
    ///     [
    ///         ContactInput::new(crm, "C-1", "email", day(0))
    ///             .with_campaign("spring-sale")
    ///             .with_id("s-1"),
    ///         ContactInput::new(crm, "C-1", "email", day(1)).transactional().with_id("s-2"),
    ///     ]
    /// );
    /// assert_eq!((read.rows, read.items, read.n_skipped()), (3, 2, 1));
    /// assert!(read.to_string().ends_with("no channel: 1 (line 4: \"\")"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "csv"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    /// As [`ConsentMapping::read`].
    pub fn read<E: From<MappingError>>(
        &self,
        source: SourceId,
        chunk: usize,
        f: impl FnMut(&[ContactInput]) -> Result<(), E>,
    ) -> Result<TouchRead, E> {
        let table = TouchTable::Contacts;
        let owner = Owner::Touch { table, number: self.number, source: self.source.clone() };
        let layout = self.input.layout(owner, self.columns());
        let col = index_in(&layout);
        let (channel, one_channel) = channel_plan(&self.channel, &col);
        let plan = ContactsPlan {
            record: col(&self.record),
            channel,
            at: col(&self.at),
            campaign: self.campaign.as_deref().map(&col),
            transactional: self.transactional.as_deref().map(&col),
            id: self.id.as_deref().map(&col),
        };
        let mut bad_rows = BadRows::default();
        let mut report = TouchRead::new(table, &self.source, &self.input.path);
        let (rows, items) = read_chunks(
            &layout,
            &mut bad_rows,
            chunk,
            || ContactInput::new(source, String::new(), String::new(), Timestamp(0)),
            |slot, cell| {
                let fields = plan.fields(cell)?;
                slot.source = source;
                set_str(&mut slot.external_id, fields.record);
                set_str(&mut slot.channel, fields.channel.unwrap_or(one_channel));
                slot.at = fields.at;
                set_text(&mut slot.campaign, fields.campaign);
                slot.transactional = fields.transactional;
                set_text(&mut slot.id, fields.id);
                Ok(())
            },
            |line, problem, text| report.skip(line, problem, text),
            f,
        )?;
        (report.rows, report.items, report.bad_rows) = (rows, items, bad_rows);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells<'a>(row: &'a [&'a str]) -> impl Fn(usize) -> &'a str {
        move |i| row.get(i).copied().unwrap_or_default()
    }

    /// Each consent row counts for its first problem, in the documented order.
    #[test]
    fn consent_rows_count_for_their_first_problem() {
        let plan = ConsentPlan { record: 0, channel: Some(1), status: 2, at: 3 };
        let problem =
            |row: &[&str]| plan.fields(cells(row)).err().map(|(p, text)| (p, text.to_string()));
        use TouchRowProblem as P;
        assert_eq!(problem(&["", "", "", ""]), Some((P::EmptyRecordId, String::new())));
        assert_eq!(problem(&["r", "", "maybe", "x"]), Some((P::EmptyChannel, String::new())));
        assert_eq!(problem(&["r", "mail", "maybe", ""]), Some((P::EmptyTime, String::new())));
        assert_eq!(
            problem(&["r", "mail", "", "2026-13-01"]),
            Some((P::BadTime, "2026-13-01".into())),
            "the time before the status"
        );
        let day = "2026-06-01";
        assert_eq!(problem(&["r", "mail", "", day]), Some((P::EmptyStatus, String::new())));
        assert_eq!(problem(&["r", "mail", "maybe", day]), Some((P::UnknownStatus, "maybe".into())));
        assert_eq!(problem(&["r", "mail", "GrAnTeD", day]), None);
        let good = plan.fields(cells(&["r", "mail", "Denied", "1970-01-02"])).ok().unwrap();
        assert_eq!(
            (good.record, good.channel, good.status, good.at),
            ("r", Some("mail"), ConsentStatus::Denied, Timestamp(86_400))
        );
        // A fixed channel needs no cell.
        let fixed = ConsentPlan { record: 0, channel: None, status: 1, at: 2 };
        let good = fixed.fields(cells(&["r", "granted", "1970-01-01"])).ok().unwrap();
        assert_eq!((good.channel, good.status), (None, ConsentStatus::Granted));
    }

    /// Contacts: the transactional cell as the deletion flag reads it, empty optional cells
    /// as none.
    #[test]
    fn contact_rows_read_the_transactional_flag() {
        let plan = ContactsPlan {
            record: 0,
            channel: Some(1),
            at: 2,
            campaign: Some(3),
            transactional: Some(4),
            id: Some(5),
        };
        let row = |flag: &'static str| ["r", "email", "1970-01-01", "", flag, ""];
        for (flag, transactional) in [("", false), (" YES ", true), ("0", false), ("t", true)] {
            let cells_of = row(flag.trim());
            let fields = plan.fields(cells(&cells_of)).ok().unwrap();
            assert_eq!(fields.transactional, transactional, "{flag:?}");
            assert_eq!((fields.campaign, fields.id), (None, None));
        }
        let cells_of = row("receipt");
        let err = plan.fields(cells(&cells_of)).err().unwrap();
        assert_eq!(err, (TouchRowProblem::BadTransactional, "receipt"));
        // A bad time comes before a bad flag.
        let cells_of = ["r", "email", "soon", "", "receipt", ""];
        assert_eq!(plan.fields(cells(&cells_of)).err().unwrap().0, TouchRowProblem::BadTime);
    }

    #[test]
    fn a_loads_summary_names_what_it_counted() {
        let mut load = TouchLoad::new(TouchTable::Contacts);
        let mut read = TouchRead::new(TouchTable::Contacts, "crm", Path::new("data/contacts.csv"));
        (read.rows, read.items) = (3, 2);
        read.skip(4, TouchRowProblem::EmptyChannel, "");
        load.files.push(read);
        load.report.accepted = 2;
        load.report.reject(SourceId::from_raw(0), crate::behaviour::EventRejectReason::TextTooLong);
        load.removed = 1;
        assert_eq!(
            load.to_string(),
            "contacts.csv (\"crm\"): 3 rows, 2 contacts, 1 skipped\n  no channel: 1 (line 4: \"\")\n\
             contacts stored: 2, replacing one held: 0, refused: 1, removed: 1"
        );
        let consent = TouchLoad::new(TouchTable::Consent);
        assert_eq!(consent.to_string(), "consent statements stored: 0, already held: 0");
    }
}
