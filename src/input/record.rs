//! The input record: what a host hands to the resolver for one row of one source.

use std::sync::Arc;

use crate::ids::{KindId, SourceId};

/// A point in time, in whole seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct Timestamp(pub i64);

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
    use super::trim_external_id;

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
