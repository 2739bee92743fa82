//! Key kinds and their policies: how values are normalised and how far they may link.

use ahash::AHashSet;

use crate::error::ConfigError;
use crate::ids::KindId;
use crate::input::normalize::{NormalizeContext, Normalizer};
use crate::input::pseudonym::Pseudonymizer;

/// How far a key kind is trusted to link records into one customer.
///
/// ```
/// use idstitch::KindPolicy;
///
/// // A legacy account number: one per customer, trusted just below the customer number.
/// let policy = KindPolicy::new(90).limit(1).generic_cap(20).deny(["0", "none"]);
/// assert_eq!(policy.limit, Some(1));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct KindPolicy {
    /// At most this many distinct values of the kind in one customer; `None` for no limit.
    /// A link that would break a limit is not made.
    pub limit: Option<u32>,
    /// Kinds link in order of descending priority (ties by kind name).
    pub priority: i32,
    /// A value carried by more than this many records is generic and links nothing;
    /// `None` for no cap.
    pub generic_cap: Option<u32>,
    /// Extra placeholder values (raw; normalised with the kind's normaliser) that link nothing.
    pub deny: Vec<String>,
    /// Whether the normaliser's built-in placeholders (`test@test.com`, `0000000000`, `n/a`, …)
    /// link nothing. On by default.
    pub builtin_placeholders: bool,
    /// Whether values of the kind link records. A kind that does not link is a constraint:
    /// its values only count toward its limit, so that (with `limit = 1`) records with two
    /// different full names can never become one customer. On by default.
    pub links: bool,
}

impl KindPolicy {
    /// A policy with the given priority, no limit, no generic cap, built-in placeholders on.
    pub fn new(priority: i32) -> Self {
        KindPolicy {
            limit: None,
            priority,
            generic_cap: None,
            deny: Vec::new(),
            builtin_placeholders: true,
            links: true,
        }
    }

    /// Sets the limit of distinct values per customer.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets the number of records above which a value is generic.
    pub fn generic_cap(mut self, cap: u32) -> Self {
        self.generic_cap = Some(cap);
        self
    }

    /// Adds placeholder values that link nothing.
    pub fn deny<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.deny.extend(values.into_iter().map(Into::into));
        self
    }

    /// Makes the kind a constraint that only counts toward its limit and links nothing.
    pub fn constraint_only(mut self) -> Self {
        self.links = false;
        self
    }

    /// Turns the normaliser's built-in placeholder list on or off.
    pub fn builtin_placeholders(mut self, on: bool) -> Self {
        self.builtin_placeholders = on;
        self
    }
}

/// A key kind: its normaliser, its policy and, for composite kinds, the attributes it joins.
#[derive(Clone, Debug)]
pub struct KindSpec {
    /// How raw values become key values. For composite kinds, applied to each part.
    pub normalizer: Normalizer,
    /// How far values of the kind may link.
    pub policy: KindPolicy,
    /// For a composite kind, the attribute names whose normalised values are joined into one
    /// key value. A record missing any of them (or with one empty) has no key of this kind.
    pub composite: Option<Vec<String>>,
    /// Whether a value of the kind identifies a person for the journey stages: a customer
    /// none of whose records carries a valid, non-deny-listed value of an identifying kind is
    /// `anonymous`. Built in: `customer_no`, `email` and `phone`; never `cookie`, `device`
    /// or `ip`; host kinds only when declared.
    pub identifying: bool,
}

impl KindSpec {
    /// A kind whose values come from the record's keys.
    pub fn new(normalizer: Normalizer, policy: KindPolicy) -> Self {
        KindSpec { normalizer, policy, composite: None, identifying: false }
    }

    /// The same kind, identifying a person or not (see [`KindSpec::identifying`]).
    ///
    /// ```
    /// use idstitch::{KindPolicy, KindSpec, Normalizer};
    ///
    /// let legacy_no = KindSpec::new(Normalizer::CustomerNo, KindPolicy::new(90)).identifying(true);
    /// assert!(legacy_no.identifying);
    /// ```
    #[must_use]
    pub fn identifying(mut self, identifying: bool) -> Self {
        self.identifying = identifying;
        self
    }

    /// A composite kind built from several attributes, each normalised as text.
    ///
    /// ```
    /// use idstitch::{KindPolicy, KindSpec};
    ///
    /// let name_dob = KindSpec::composite(
    ///     ["given_name", "surname", "date_of_birth"],
    ///     KindPolicy::new(70).limit(1).generic_cap(5),
    /// );
    /// assert_eq!(name_dob.composite.as_ref().map(Vec::len), Some(3));
    /// ```
    pub fn composite<I, S>(fields: I, policy: KindPolicy) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        KindSpec {
            normalizer: Normalizer::Text,
            policy,
            composite: Some(fields.into_iter().map(Into::into).collect()),
            identifying: false,
        }
    }
}

/// Whether two normalisers are the same built-in one (a host function is never assumed equal
/// to another: two may differ while looking alike).
fn same_builtin(a: &Normalizer, b: &Normalizer) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b) && !matches!(a, Normalizer::Custom(_))
}

/// The canonical order of values within a kind: a fixed hash (platform- and run-independent,
/// 64-bit FNV-1a of the normalised value), ties broken by the stored value itself.
#[inline]
pub(crate) fn value_order_hash(value: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in value.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The separator between the parts of a composite key value (ASCII unit separator).
pub(crate) const COMPOSITE_SEPARATOR: char = '\u{1f}';

/// Names of the built-in kinds, indexed by their `KindId`.
pub const BUILT_IN_KINDS: [&str; KindId::N_BUILT_IN as usize] =
    ["customer_no", "email", "phone", "cookie", "device", "ip"];

/// The default spec of a built-in kind.
///
/// | kind | limit | priority | generic cap |
/// |---|---|---|---|
/// | customer_no | 1 | 100 | 50 |
/// | email | 3 | 80 | 12 |
/// | phone | 3 | 60 | 8 |
/// | device | 4 | 40 | 8 |
/// | cookie | 10 | 30 | 20 |
/// | ip | — | 10 | — (links nothing: see below) |
///
/// IP addresses link nothing by default (`links = false`): a home IP is shared by a household
/// and an office IP by a company, and in the generated publisher data linking on them costs
/// more precision than any other kind. Opt in with, for instance,
/// `builder.policy("ip", KindPolicy::new(10).limit(8).generic_cap(3))`.
pub fn built_in_spec(kind: KindId) -> Option<KindSpec> {
    let (normalizer, policy) = match kind {
        KindId::CUSTOMER_NO => {
            (Normalizer::CustomerNo, KindPolicy::new(100).limit(1).generic_cap(50))
        }
        KindId::EMAIL => (Normalizer::Email, KindPolicy::new(80).limit(3).generic_cap(12)),
        KindId::PHONE => (Normalizer::Phone, KindPolicy::new(60).limit(3).generic_cap(8)),
        KindId::COOKIE => (Normalizer::Opaque, KindPolicy::new(30).limit(10).generic_cap(20)),
        KindId::DEVICE => (Normalizer::Opaque, KindPolicy::new(40).limit(4).generic_cap(8)),
        // A home IP is a household and an office IP a company: by default IPs are kept (for
        // explanations and exports) but link nothing. Hosts opt in with a policy of their own.
        KindId::IP => (Normalizer::Ip, KindPolicy::new(10).constraint_only()),
        _ => return None,
    };
    let identifying = matches!(kind, KindId::CUSTOMER_NO | KindId::EMAIL | KindId::PHONE);
    Some(KindSpec::new(normalizer, policy).identifying(identifying))
}

/// One kind as the resolver holds it: spec plus derived lookups.
#[derive(Clone, Debug)]
pub(crate) struct KindEntry {
    pub name: Box<str>,
    pub spec: KindSpec,
    /// Normalised deny-list values.
    pub deny: AHashSet<Box<str>>,
    /// Position in linking order: 0 links first.
    pub rank: u16,
}

/// All kinds of a resolver, indexed by `KindId`.
#[derive(Clone, Debug)]
pub(crate) struct KindTable {
    pub entries: Vec<KindEntry>,
    /// Kind ids in linking order (descending priority, then name).
    pub order: Vec<KindId>,
    /// Composite kinds, for record ingestion.
    pub composites: Vec<KindId>,
    /// The distinct parts of the composite kinds: an attribute and the normaliser it goes
    /// through. A part two composites share (given name and surname in both "name + date of
    /// birth" and "full name") is normalised once per record.
    pub composite_parts: Vec<CompositePart>,
    /// For each of `composites`, in order, the indices of its fields in `composite_parts`.
    pub composite_part_ids: Vec<Box<[usize]>>,
    /// In pseudonymised mode, the keyed hash every normalised value is replaced by (after
    /// its deny-list question is decided on the normalised value).
    pub pseudonymizer: Option<Pseudonymizer>,
}

/// One distinct part of the composite kinds (see [`KindTable::composite_parts`]).
#[derive(Clone, Debug)]
pub(crate) struct CompositePart {
    /// The attribute the part is read from.
    pub field: Box<str>,
    /// A composite kind the part belongs to, whose normaliser it goes through.
    pub kind: KindId,
}

/// What the store needs to know of a kind's policy to tell a key's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KindRule {
    /// A key of the kind carried by more records than this is generic.
    pub generic_cap: u32,
    /// The kind links records (false for constraint-only kinds, whose values only count
    /// toward limits).
    pub links: bool,
}

impl Default for KindRule {
    fn default() -> Self {
        KindRule { generic_cap: u32::MAX, links: true }
    }
}

impl KindTable {
    /// What the graph keeps of each kind's policy, by kind index.
    pub fn kind_rules(&self) -> Vec<KindRule> {
        self.entries
            .iter()
            .map(|e| KindRule {
                generic_cap: e.spec.policy.generic_cap.unwrap_or(u32::MAX),
                links: e.spec.policy.links,
            })
            .collect()
    }

    pub fn new(
        specs: Vec<(String, KindSpec)>,
        ctx: &NormalizeContext,
    ) -> Result<Self, ConfigError> {
        if specs.len() > usize::from(u16::MAX) {
            return Err(ConfigError::TooManyKinds);
        }
        let mut entries = Vec::with_capacity(specs.len());
        let mut out = String::new();
        for (name, spec) in specs {
            if spec.policy.limit == Some(0) {
                return Err(ConfigError::ZeroLimit { kind: name });
            }
            if let Some(fields) = &spec.composite {
                if fields.is_empty() {
                    return Err(ConfigError::EmptyComposite { kind: name });
                }
            }
            let mut deny = AHashSet::new();
            for raw in &spec.policy.deny {
                // A deny entry that does not normalise can never match a key: skip it.
                if spec.normalizer.normalize_into(raw, ctx, &mut out).is_ok() {
                    deny.insert(Box::from(out.as_str()));
                } else if spec.composite.is_some() {
                    deny.insert(Box::from(raw.as_str()));
                }
            }
            entries.push(KindEntry { name: name.into_boxed_str(), spec, deny, rank: 0 });
        }
        let mut order: Vec<KindId> = (0..entries.len() as u16).map(KindId).collect();
        order.sort_by(|a, b| {
            let (ea, eb) = (&entries[a.index()], &entries[b.index()]);
            eb.spec
                .policy
                .priority
                .cmp(&ea.spec.policy.priority)
                .then_with(|| ea.name.cmp(&eb.name))
        });
        for (rank, kind) in order.iter().enumerate() {
            entries[kind.index()].rank = rank as u16;
        }
        let composites: Vec<KindId> =
            order.iter().copied().filter(|k| entries[k.index()].spec.composite.is_some()).collect();
        let mut composite_parts: Vec<CompositePart> = Vec::new();
        let mut composite_part_ids = Vec::with_capacity(composites.len());
        for &kind in &composites {
            let spec = &entries[kind.index()].spec;
            let fields = spec.composite.as_deref().unwrap_or_default();
            let ids = fields
                .iter()
                .map(|field| {
                    let shared = composite_parts.iter().position(|part| {
                        *part.field == **field
                            && same_builtin(
                                &entries[part.kind.index()].spec.normalizer,
                                &spec.normalizer,
                            )
                    });
                    shared.unwrap_or_else(|| {
                        composite_parts.push(CompositePart { field: field.as_str().into(), kind });
                        composite_parts.len() - 1
                    })
                })
                .collect();
            composite_part_ids.push(ids);
        }
        Ok(KindTable {
            entries,
            order,
            composites,
            composite_parts,
            composite_part_ids,
            pseudonymizer: None,
        })
    }

    #[inline]
    pub fn get(&self, kind: KindId) -> Option<&KindEntry> {
        self.entries.get(kind.index())
    }

    #[inline]
    pub fn entry(&self, kind: KindId) -> &KindEntry {
        &self.entries[kind.index()]
    }

    pub fn id_of(&self, name: &str) -> Option<KindId> {
        self.entries.iter().position(|e| &*e.name == name).map(|i| KindId(i as u16))
    }

    /// Whether key values are stored as pseudonyms.
    #[inline]
    pub fn is_pseudonymized(&self) -> bool {
        self.pseudonymizer.is_some()
    }

    /// Whether a normalised value of `kind` is a placeholder that links nothing.
    pub fn is_denied(&self, kind: KindId, value: &str) -> bool {
        let entry = self.entry(kind);
        (entry.spec.policy.builtin_placeholders
            && entry.spec.normalizer.is_builtin_placeholder(value))
            || entry.deny.contains(value)
    }
}
