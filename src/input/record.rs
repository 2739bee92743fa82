//! The input record: what a host hands to the resolver for one row of one source.

use std::sync::Arc;

use crate::ids::{KindId, SourceId};

/// A point in time, in whole seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct Timestamp(pub i64);

impl std::fmt::Display for Timestamp {
    /// RFC 3339 in UTC, `2024-05-01T09:30:00Z`, in the proleptic Gregorian calendar (after
    /// Howard Hinnant's `civil_from_days`); years outside 0000–9999 get more digits or a sign.
    ///
    /// ```
    /// use idstitch::Timestamp;
    ///
    /// assert_eq!(Timestamp(1_714_555_800).to_string(), "2024-05-01T09:30:00Z");
    /// assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59Z");
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (days, secs) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        write!(f, "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    }
}

/// One named attribute value of a record (`name = "Jan Jansen"`), with when it was observed.
///
/// The name is shared (an [`Arc<str>`]): every record of a source carries the same few
/// names, so a host that makes each name once and clones it (a reference count, no copy)
/// hands in records whose names cost no allocation and whose bytes stay in the cache while
/// the resolver reads them. A `&str` or `String` converts too, at one allocation each.
///
/// ```
/// use std::sync::Arc;
/// use idstitch::{RecordInput, SourceId};
///
/// let city: Arc<str> = Arc::from("city");
/// let rows = [("r1", "Utrecht"), ("r2", "Delft")];
/// let records: Vec<RecordInput> = rows
///     .iter()
///     .map(|&(id, value)| {
///         RecordInput::new(SourceId::from_raw(0), id).with_attribute(city.clone(), value)
///     })
///     .collect();
/// assert!(Arc::ptr_eq(&records[0].attributes[0].name, &records[1].attributes[0].name));
/// assert_eq!(records[1].attribute("city"), Some("Delft"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Attribute {
    /// Attribute name, as the host calls it (`given_name`, `city`).
    pub name: Arc<str>,
    /// The raw value.
    pub value: String,
    /// When the source observed this value, if known.
    pub observed_at: Option<Timestamp>,
}

/// One row of one source, as the host supplies it.
///
/// A record is identified by `(source, external_id)`. Its keys are raw values per kind; the
/// resolver normalises them. Composite kinds take their parts from the attributes.
///
/// ```
/// use idstitch::{KindId, RecordInput, Resolver};
///
/// let mut resolver = Resolver::builder().default_country("NL").build()?;
/// let crm = resolver.add_source("crm", 10)?;
/// let record = RecordInput::new(crm, "C-1001")
///     .with_key(KindId::EMAIL, " Jan@Example.NL")
///     .with_key(KindId::PHONE, "06-12345678")
///     .with_attribute("name", "Jan Jansen");
/// resolver.upsert(record)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RecordInput {
    /// The source system this record comes from.
    pub source: SourceId,
    /// The record's id in its source system.
    pub external_id: String,
    /// Raw key values by kind; a kind may appear several times.
    pub keys: Vec<(KindId, String)>,
    /// Attributes, also the fields composite kinds are built from.
    pub attributes: Vec<Attribute>,
}

impl RecordInput {
    /// A record with no keys and no attributes.
    pub fn new(source: SourceId, external_id: impl Into<String>) -> Self {
        RecordInput {
            source,
            external_id: external_id.into(),
            keys: Vec::new(),
            attributes: Vec::new(),
        }
    }

    /// Adds a raw key value (builder style).
    pub fn with_key(mut self, kind: KindId, raw: impl Into<String>) -> Self {
        self.keys.push((kind, raw.into()));
        self
    }

    /// Adds an attribute without observation time (builder style).
    pub fn with_attribute(mut self, name: impl Into<Arc<str>>, value: impl Into<String>) -> Self {
        self.attributes.push(Attribute {
            name: name.into(),
            value: value.into(),
            observed_at: None,
        });
        self
    }

    /// Adds an attribute observed at `at` (builder style).
    pub fn with_attribute_at(
        mut self,
        name: impl Into<Arc<str>>,
        value: impl Into<String>,
        at: Timestamp,
    ) -> Self {
        self.attributes.push(Attribute {
            name: name.into(),
            value: value.into(),
            observed_at: Some(at),
        });
        self
    }

    /// The value of the first attribute called `name`, if any.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|a| *a.name == *name).map(|a| a.value.as_str())
    }
}

/// An external id as records are keyed by it: without leading and trailing whitespace (as
/// [`str::trim`]). Most ids start and end with a visible ASCII character; those are returned
/// without the Unicode scan, which showed in a bulk load's profile (it runs a few times per
/// record).
#[inline]
pub(crate) fn trim_external_id(id: &str) -> &str {
    match (id.as_bytes().first(), id.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => id,
        _ => id.trim(),
    }
}

/// A record as the host knows it: source and external id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordRef<'a> {
    /// The record's source.
    pub source: SourceId,
    /// The record's id in its source.
    pub external_id: &'a str,
}

#[cfg(test)]
mod tests {
    use super::{trim_external_id, Timestamp};

    #[test]
    fn timestamps_display_as_rfc3339_utc() {
        for (seconds, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_799, "2000-02-29T23:59:59Z"),
            (4_107_456_000, "2100-02-28T00:00:00Z"),
            (-2_208_988_800, "1900-01-01T00:00:00Z"),
            (-62_135_596_800, "0001-01-01T00:00:00Z"),
        ] {
            assert_eq!(Timestamp(seconds).to_string(), text, "{seconds}");
        }
        // Extremes neither panic nor overflow.
        for seconds in [i64::MIN, i64::MAX] {
            assert!(Timestamp(seconds).to_string().ends_with('Z'));
        }
    }

    proptest::proptest! {
        #[test]
        fn external_ids_trim_as_str_trim(
            id in proptest::prop_oneof![
                "\\PC{0,12}",
                "[ \\t\\n\\x0B\\x0C\\r\\u{85}\\u{A0}\\u{2003}a-z0-9-]{0,12}",
            ]
        ) {
            proptest::prop_assert_eq!(trim_external_id(&id), id.trim());
        }
    }

    /// A shared name is written as a plain string and read back as one (serde's `rc`).
    #[cfg(feature = "serde_json")]
    #[test]
    fn records_round_trip_through_json_with_names_as_strings() {
        use super::{RecordInput, Timestamp};
        use crate::ids::{KindId, SourceId};
        let city: std::sync::Arc<str> = "city".into();
        let record = RecordInput::new(SourceId::from_raw(2), "r-1")
            .with_key(KindId::EMAIL, "a@b.nl")
            .with_attribute(city.clone(), "Delft")
            .with_attribute_at(city, "Utrecht", Timestamp(7));
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains(r#"{"name":"city","value":"Delft","observed_at":null}"#), "{json}");
        assert_eq!(serde_json::from_str::<RecordInput>(&json).unwrap(), record);
    }
}
