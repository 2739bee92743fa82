//! Where results go (a file or stdout), and a customer view as text.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use idstitch::predict::TimeUnit;
use idstitch::view::CustomerView;
use idstitch::{CustomerPrediction, Resolver, Timestamp};

use crate::failure::Failure;

/// A file given with `-o`, or stdout; buffered either way.
pub enum Output {
    /// A file, created (or truncated) when opened.
    File {
        /// The buffered file.
        file: BufWriter<File>,
        /// Its path, for messages.
        name: String,
    },
    /// The standard output.
    Stdout(BufWriter<io::Stdout>),
}

impl Output {
    /// The file at `path`, or stdout if there is none.
    pub fn open(path: Option<&Path>) -> Result<Output, Failure> {
        let Some(path) = path else {
            return Ok(Output::stdout());
        };
        let name = path.display().to_string();
        match File::create(path) {
            Ok(file) => Ok(Output::File { file: BufWriter::new(file), name }),
            Err(error) => Err(Failure::new(format!("cannot create {name}: {error}"))),
        }
    }

    /// The standard output.
    pub fn stdout() -> Output {
        Output::Stdout(BufWriter::new(io::stdout()))
    }

    /// The file's path, or `stdout`, for messages.
    pub fn name(&self) -> String {
        match self {
            Output::File { name, .. } => name.clone(),
            Output::Stdout(_) => "stdout".to_string(),
        }
    }

    /// Writes `text` and flushes.
    pub fn write_text(mut self, text: &str) -> Result<(), Failure> {
        let name = self.name();
        self.write_all(text.as_bytes())
            .and_then(|()| self.flush())
            .map_err(|error| Failure::write(&name, &error))
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::File { file, .. } => file.write(buf),
            Output::Stdout(out) => out.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::File { file, .. } => file.flush(),
            Output::Stdout(out) => out.flush(),
        }
    }
}

/// The bytes the files directly in `dir` take.
pub fn dir_bytes(dir: &Path) -> io::Result<u64> {
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir)? {
        let metadata = entry?.metadata()?;
        if metadata.is_file() {
            bytes += metadata.len();
        }
    }
    Ok(bytes)
}

/// A customer view as text: the records by source, the keys by kind with the records that
/// carry them, and each attribute's golden value with its provenance and the other
/// candidates.
///
/// ```text
/// customer 72: 8 records
/// records
///   crm: C-100 C-101
/// keys
///   email: jan@example.nl (crm/C-100, web/W-7)
/// attributes
///   city: Utrecht (crm/C-100, 2024-05-01T00:00:00Z; source_priority)
///     also: Amsterdam (partner/P-3)
/// ```
pub fn view_text(view: &CustomerView) -> String {
    let mut text = String::new();
    let n: usize = view.records.values().map(Vec::len).sum();
    let plural = if n == 1 { "" } else { "s" };
    let _ = writeln!(text, "customer {}: {n} record{plural}", view.customer);
    let _ = writeln!(text, "records");
    for (source, ids) in &view.records {
        let _ = writeln!(text, "  {source}: {}", ids.join(" "));
    }
    let _ = writeln!(text, "keys");
    for (kind, entries) in &view.keys {
        for entry in entries {
            let carriers: Vec<String> =
                entry.records.iter().map(|r| format!("{}/{}", r.source, r.external_id)).collect();
            let _ = writeln!(text, "  {kind}: {} ({})", entry.value, carriers.join(", "));
        }
    }
    let _ = writeln!(text, "attributes");
    for (name, golden) in &view.attributes {
        let p = &golden.provenance;
        let when = p.observed_at.map(|t| format!(", {t}")).unwrap_or_default();
        let _ = writeln!(
            text,
            "  {name}: {} ({}/{}{when}; {})",
            golden.value, p.source, p.record, golden.rule
        );
        for c in &golden.candidates {
            let p = &c.provenance;
            let _ = writeln!(text, "    also: {} ({}/{})", c.value, p.source, p.record);
        }
    }
    text
}

/// Writes every customer's stage as of `now` (and `since`) as CSV to `out`; returns the rows
/// written.
pub fn write_stages(
    resolver: &Resolver,
    now: Timestamp,
    since: Option<Timestamp>,
    out: impl Write,
) -> io::Result<u64> {
    let mut csv = csv::Writer::from_writer(out);
    let mut header =
        vec!["customer_id", "stage", "reason", "last_event_at", "engagement_30d", "purchases_365d"];
    if since.is_some() {
        header.push("stage_at_since");
    }
    csv.write_record(&header)?;
    let mut rows = 0;
    for journey in resolver.journeys(now) {
        let summary = &journey.summary;
        let mut row = vec![
            journey.customer.to_string(),
            journey.classification.stage.to_string(),
            journey.classification.to_string(),
            summary.last_event.map_or_else(String::new, |t| t.to_string()),
            summary.by_class.engagement.last_30_days.to_string(),
            summary.by_class.purchase.last_365_days.to_string(),
        ];
        if let Some(since) = since {
            let stage = resolver.stage(journey.customer, since).map_err(io::Error::other)?;
            row.push(stage.stage.to_string());
        }
        csv.write_record(&row)?;
        rows += 1;
    }
    csv.flush()?;
    Ok(rows)
}

/// Writes one row per prediction, `customer_id,x,t_x,T,p_alive,expected_purchases`, times in
/// `unit`; returns the rows written.
pub fn write_predictions(
    predictions: &[CustomerPrediction],
    unit: TimeUnit,
    out: impl Write,
) -> io::Result<u64> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(["customer_id", "x", "t_x", "T", "p_alive", "expected_purchases"])?;
    for p in predictions {
        let q = p.prediction;
        csv.write_record([
            p.customer.to_string(),
            q.history.repeat_purchases.to_string(),
            q.history.t_x(unit).to_string(),
            q.history.t(unit).to_string(),
            q.p_alive.to_string(),
            q.expected_purchases.to_string(),
        ])?;
    }
    csv.flush()?;
    Ok(predictions.len() as u64)
}
