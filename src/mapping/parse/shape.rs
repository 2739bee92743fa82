//! What a mapping file's TOML looks like: the shapes serde reads it into, every table's keys
//! with their places in the file (`Spanned`), checked and turned into a `Mapping` by the
//! parent module.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use super::section::InputKeys;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MappingToml {
    pub(super) default_country: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) kinds: BTreeMap<Spanned<String>, Spanned<KindToml>>,
    #[serde(default)]
    pub(super) source: Vec<Spanned<SourceToml>>,
    #[serde(default)]
    pub(super) event_kinds: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub(super) events: Vec<Spanned<EventsToml>>,
    #[serde(default)]
    pub(super) consent: Vec<Spanned<ConsentToml>>,
    #[serde(default)]
    pub(super) contacts: Vec<Spanned<ContactsToml>>,
    #[serde(default)]
    pub(super) campaign: Vec<Spanned<CampaignToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CampaignToml {
    pub(super) name: Spanned<String>,
    pub(super) channel: Spanned<String>,
    pub(super) holdout: Option<Spanned<f64>>,
    pub(super) salt: Option<String>,
    pub(super) conversions: Option<Spanned<Vec<String>>>,
    pub(super) window_days: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KindToml {
    pub(super) normalizer: Option<Spanned<String>>,
    pub(super) limit: Option<Spanned<i64>>,
    pub(super) priority: Option<Spanned<i64>>,
    pub(super) generic_cap: Option<Spanned<i64>>,
    pub(super) deny: Option<Vec<String>>,
    pub(super) links: Option<bool>,
    pub(super) builtin_placeholders: Option<bool>,
    pub(super) identifying: Option<bool>,
}

/// A TOML table of rows: the struct with its own keys, and the keys every table shares
/// (`path`, `database`, `query`, `delimiter`, `encoding`, `on_bad_row`) with the
/// [`InputKeys`] that borrows them. The keys stay flat in the table, and unknown keys are
/// refused, so they cannot be a `serde(flatten)`ed struct (toml's `deny_unknown_fields` does
/// not see through one).
macro_rules! table_shape {
    ($(#[$meta:meta])* struct $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $name {
            $($(#[$fmeta])* pub(super) $field: $ty,)*
            pub(super) path: Option<Spanned<String>>,
            pub(super) database: Option<Spanned<String>>,
            pub(super) query: Option<Spanned<String>>,
            pub(super) delimiter: Option<Spanned<String>>,
            pub(super) encoding: Option<Spanned<String>>,
            pub(super) on_bad_row: Option<Spanned<String>>,
        }

        impl $name {
            pub(super) fn input_keys(&self) -> InputKeys<'_> {
                InputKeys {
                    path: self.path.as_ref(),
                    database: self.database.as_ref(),
                    query: self.query.as_ref(),
                    delimiter: self.delimiter.as_ref(),
                    encoding: self.encoding.as_ref(),
                    on_bad_row: self.on_bad_row.as_ref(),
                }
            }
        }
    };
}

table_shape! {
struct SourceToml {
    name: Spanned<String>,
    id: Option<Spanned<String>>,
    trust: Option<Spanned<i64>>,
    #[serde(default)]
    keys: BTreeMap<Spanned<String>, Spanned<Columns>>,
    #[serde(default)]
    composite: BTreeMap<Spanned<String>, Spanned<Columns>>,
    #[serde(default)]
    attributes: BTreeMap<Spanned<String>, Spanned<String>>,
    observed_at: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    deleted: Option<Spanned<String>>,
    // The keys of mailbox and GA4 sources, checked in `formats.rs`.
    format: Option<Spanned<String>>,
    owner: Option<Spanned<Columns>>,
    user_id_kind: Option<Spanned<String>>,
    events: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
}
}

table_shape! {
struct EventsToml {
    source: Spanned<String>,
    record: Spanned<String>,
    kind: Option<Spanned<String>>,
    kind_is: Option<Spanned<String>>,
    at: Spanned<String>,
    topic: Option<Spanned<String>>,
    value: Option<Spanned<String>>,
    channel: Option<Spanned<String>>,
    id: Option<Spanned<String>>,
}
}

table_shape! {
struct ConsentToml {
    source: Spanned<String>,
    record: Spanned<String>,
    channel: Option<Spanned<String>>,
    channel_is: Option<Spanned<String>>,
    status: Spanned<String>,
    at: Spanned<String>,
}
}

table_shape! {
struct ContactsToml {
    source: Spanned<String>,
    record: Spanned<String>,
    channel: Option<Spanned<String>>,
    channel_is: Option<Spanned<String>>,
    at: Spanned<String>,
    campaign: Option<Spanned<String>>,
    transactional: Option<Spanned<String>>,
    id: Option<Spanned<String>>,
}
}

/// A column name or an array of column names.
pub(super) struct Columns(pub(super) Vec<String>);

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Columns;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a column name or an array of column names")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Columns, E> {
                Ok(Columns(vec![v.to_string()]))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Columns, A::Error> {
                let mut columns = Vec::new();
                while let Some(c) = seq.next_element::<String>()? {
                    columns.push(c);
                }
                Ok(Columns(columns))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
