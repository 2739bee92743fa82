//! Customer views: one merged profile per customer, each value with where it came from.
//!
//! A [`CustomerView`] lists a customer's records by source, its keys by kind, and one *golden*
//! value per attribute chosen by a survivorship [`Rule`] — source priority, most recent, most
//! frequent, longest, or the host's own [`Survivorship`] — with the losing candidates kept.
//! Building a view costs time in the size of that customer, never a scan of the graph.
//!
//! ```
//! use idstitch::view::{Rule, ViewConfig};
//! use idstitch::{KindId, RecordInput, Resolver, Timestamp};
//!
//! let mut resolver = Resolver::new();
//! let crm = resolver.add_source("crm", 100)?;
//! let newsletter = resolver.add_source("newsletter", 10)?;
//! resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "jan@x.nl")
//!     .with_attribute_at("city", "Utrecht", Timestamp(1_600_000_000)))?;
//! resolver.upsert(RecordInput::new(newsletter, "N-1").with_key(KindId::EMAIL, "jan@x.nl")
//!     .with_attribute_at("city", "Amsterdam", Timestamp(1_700_000_000)))?;
//! let customer = resolver.customer_of(crm, "C-1").unwrap();
//!
//! // By default the most trusted source wins…
//! let view = resolver.customer_view(customer, &ViewConfig::default()).unwrap();
//! assert_eq!(view.attributes["city"].value, "Utrecht");
//! assert_eq!(view.attributes["city"].candidates[0].value, "Amsterdam");
//! // …but for the city the most recent observation may be the better rule.
//! let config = ViewConfig::default().rule("city", Rule::MostRecent);
//! let view = resolver.customer_view(customer, &config).unwrap();
//! assert_eq!(view.attributes["city"].value, "Amsterdam");
//! assert_eq!(view.attributes["city"].provenance.source, "newsletter");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::ids::{CustomerId, SourceId};
use crate::input::normalize::{NormalizeContext, Normalizer};
use crate::input::record::Timestamp;
use crate::inspect::Parts;
use crate::partition::events::ChangeEvent;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Provenance {
    /// The source's name.
    pub source: String,
    /// The record's id in that source.
    pub record: String,
    /// When the source observed the value, if it said.
    pub observed_at: Option<Timestamp>,
}

/// One candidate value of an attribute, as a survivorship rule sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Candidate {
    /// The value as the source holds it.
    pub value: String,
    /// Where it came from.
    pub provenance: Provenance,
    /// The source's trust rank (higher is more trusted).
    pub trust: u32,
}

/// The chosen value of one attribute, with the candidates that lost.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct GoldenValue {
    /// The winning value.
    pub value: String,
    /// Where the winning value came from.
    pub provenance: Provenance,
    /// The rule that chose it.
    pub rule: String,
    /// The other candidates, in the order the rule ranks them (best first).
    pub candidates: Vec<Candidate>,
}

/// A record of a customer, as a view lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct RecordEntry {
    /// The source's name.
    pub source: String,
    /// The record's id in that source.
    pub external_id: String,
}

/// A key of a customer with the records that carry it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct KeyEntry {
    /// The normalised value (composite parts joined by ` | `).
    pub value: String,
    /// The customer's records carrying it.
    pub records: Vec<RecordEntry>,
}

/// The merged profile of one customer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct CustomerView {
    /// The customer.
    pub customer: CustomerId,
    /// Its records by source name (records sorted by id).
    pub records: BTreeMap<String, Vec<String>>,
    /// Its keys by kind name (values sorted).
    pub keys: BTreeMap<String, Vec<KeyEntry>>,
    /// One golden value per attribute name.
    pub attributes: BTreeMap<String, GoldenValue>,
}

/// The host's own survivorship rule.
pub trait Survivorship: Send + Sync {
    /// A short name, reported in [`GoldenValue::rule`].
    fn name(&self) -> &str;

    /// Orders two candidates of `attribute`: `Ordering::Less` means `a` is better. The view
    /// breaks remaining ties by source trust, recency, record and value, so the result is
    /// deterministic.
    fn compare(&self, attribute: &str, a: &Candidate, b: &Candidate) -> Ordering;
}

/// How the golden value of an attribute is chosen. Every rule breaks its ties by source
/// trust, then recency, then source name, record id and value.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Rule {
    /// The value from the most trusted source.
    #[default]
    SourcePriority,
    /// The most recently observed value (values without a time count as oldest).
    MostRecent,
    /// The value most records agree on (compared as normalised text: case, spacing, Unicode
    /// forms do not matter); the shown value is that group's best candidate.
    MostFrequent,
    /// The longest value (in characters): often the most complete spelling.
    Longest,
    /// The host's own rule.
    Custom(Arc<dyn Survivorship>),
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Rule {
    fn name(&self) -> String {
        match self {
            Rule::SourcePriority => "source_priority".into(),
            Rule::MostRecent => "most_recent".into(),
            Rule::MostFrequent => "most_frequent".into(),
            Rule::Longest => "longest".into(),
            Rule::Custom(s) => s.name().to_string(),
        }
    }
}

/// Which rule decides which attribute.
#[derive(Clone, Debug, Default)]
pub struct ViewConfig {
    /// The rule for attributes without a rule of their own.
    pub default_rule: Rule,
    /// Rules by attribute name.
    pub rules: BTreeMap<String, Rule>,
}

impl ViewConfig {
    /// Sets the rule for one attribute (builder style).
    pub fn rule(mut self, attribute: impl Into<String>, rule: Rule) -> Self {
        self.rules.insert(attribute.into(), rule);
        self
    }

    /// Sets the rule for attributes without one of their own (builder style).
    pub fn default_rule(mut self, rule: Rule) -> Self {
        self.default_rule = rule;
        self
    }

    fn rule_for(&self, attribute: &str) -> &Rule {
        self.rules.get(attribute).unwrap_or(&self.default_rule)
    }
}

/// What a host must do to its own store of views after a call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ViewUpdate {
    /// Store (insert or replace) this view.
    Upsert(CustomerView),
    /// Delete the view of this id: the customer ceased to exist.
    Delete(CustomerId),
}

/// Trust first, then recency, then provenance and value: the fixed tie-break of every rule.
fn tie_break(a: &Candidate, b: &Candidate) -> Ordering {
    b.trust
        .cmp(&a.trust)
        .then_with(|| b.provenance.observed_at.cmp(&a.provenance.observed_at))
        .then_with(|| a.provenance.cmp(&b.provenance))
        .then_with(|| a.value.cmp(&b.value))
}

fn text_key(value: &str) -> String {
    Normalizer::Text.normalize(value, &NormalizeContext::default()).unwrap_or_default()
}

/// Ranks candidates best first under `rule`.
fn rank(attribute: &str, rule: &Rule, candidates: &mut [Candidate]) {
    match rule {
        Rule::SourcePriority => candidates.sort_by(tie_break),
        Rule::MostRecent => candidates.sort_by(|a, b| {
            b.provenance.observed_at.cmp(&a.provenance.observed_at).then_with(|| tie_break(a, b))
        }),
        Rule::Longest => candidates.sort_by(|a, b| {
            b.value.chars().count().cmp(&a.value.chars().count()).then_with(|| tie_break(a, b))
        }),
        Rule::MostFrequent => {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            let mut keyed: Vec<(String, Candidate)> = candidates
                .iter()
                .map(|c| {
                    let key = text_key(&c.value);
                    *counts.entry(key.clone()).or_default() += 1;
                    (key, c.clone())
                })
                .collect();
            // Largest group first; within a group (and between equal-sized groups, by the
            // group's text) the best candidate first.
            keyed.sort_by(|(ka, a), (kb, b)| {
                counts[kb].cmp(&counts[ka]).then_with(|| ka.cmp(kb)).then_with(|| tie_break(a, b))
            });
            for (slot, (_, c)) in candidates.iter_mut().zip(keyed) {
                *slot = c;
            }
        }
        Rule::Custom(s) => {
            candidates.sort_by(|a, b| s.compare(attribute, a, b).then_with(|| tie_break(a, b)))
        }
    }
}

impl<'a> Parts<'a> {
    /// The work of `Resolver::customer_view`.
    pub(crate) fn customer_view(
        &self,
        customer: CustomerId,
        config: &ViewConfig,
    ) -> Option<CustomerView> {
        let records: Vec<_> = self.customer_records(customer)?.collect();
        let source_name = |s: SourceId| self.source_name(s).unwrap_or("?").to_string();
        let mut by_source: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut keys: BTreeMap<String, BTreeMap<String, BTreeSet<RecordEntry>>> = BTreeMap::new();
        let mut candidates: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
        for r in &records {
            let source = source_name(r.source);
            by_source.entry(source.clone()).or_default().push(r.external_id.to_string());
            let entry =
                RecordEntry { source: source.clone(), external_id: r.external_id.to_string() };
            for (kind, value) in self.record_keys(r.source, r.external_id).unwrap_or_default() {
                let kind = self.kind_name(kind).unwrap_or("?").to_string();
                let value = value.replace(crate::input::kind::COMPOSITE_SEPARATOR, " | ");
                keys.entry(kind).or_default().entry(value).or_default().insert(entry.clone());
            }
            let trust = self.source_trust(r.source).unwrap_or(0);
            for a in self.record_attributes(r.source, r.external_id).into_iter().flatten() {
                if a.value.trim().is_empty() {
                    continue;
                }
                candidates.entry(a.name.to_string()).or_default().push(Candidate {
                    value: a.value.to_string(),
                    provenance: Provenance {
                        source: source.clone(),
                        record: r.external_id.to_string(),
                        observed_at: a.observed_at,
                    },
                    trust,
                });
            }
        }
        for ids in by_source.values_mut() {
            ids.sort_unstable();
        }
        let keys = keys
            .into_iter()
            .map(|(kind, values)| {
                let entries = values
                    .into_iter()
                    .map(|(value, records)| KeyEntry {
                        value,
                        records: records.into_iter().collect(),
                    })
                    .collect();
                (kind, entries)
            })
            .collect();
        let attributes = candidates
            .into_iter()
            .filter_map(|(name, mut cands)| {
                let rule = config.rule_for(&name);
                rank(&name, rule, &mut cands);
                let mut cands = cands.into_iter();
                let best = cands.next()?;
                let golden = GoldenValue {
                    value: best.value,
                    provenance: best.provenance,
                    rule: rule.name(),
                    candidates: cands.collect(),
                };
                Some((name, golden))
            })
            .collect();
        Some(CustomerView { customer, records: by_source, keys, attributes })
    }

    /// The work of `Resolver::view_updates`.
    pub(crate) fn view_updates(
        &self,
        events: &[ChangeEvent],
        config: &ViewConfig,
    ) -> Vec<ViewUpdate> {
        let mut refresh = BTreeSet::new();
        let mut delete = BTreeSet::new();
        for event in events {
            match event {
                ChangeEvent::Created { customers } => refresh.extend(customers),
                ChangeEvent::Updated { customer } => {
                    refresh.insert(*customer);
                }
                ChangeEvent::Merged { survivor, absorbed } => {
                    refresh.insert(*survivor);
                    delete.extend(absorbed.iter().copied());
                }
                ChangeEvent::Split { from, into } => {
                    refresh.insert(*from);
                    refresh.extend(into.iter().copied());
                }
                ChangeEvent::Removed { customer } => {
                    delete.insert(*customer);
                }
            }
        }
        let mut updates = Vec::with_capacity(refresh.len() + delete.len());
        for id in refresh {
            match self.customer_view(id, config) {
                Some(view) => updates.push(ViewUpdate::Upsert(view)),
                // An id absorbed later in the same call: its view goes.
                None => {
                    delete.insert(id);
                }
            }
        }
        updates.extend(
            delete.into_iter().filter(|&id| !self.contains_customer(id)).map(ViewUpdate::Delete),
        );
        updates
    }
}
