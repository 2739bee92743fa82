//! Random histories of upserts, removals, bulk loads, rebuilds, compactions and erasures over
//! five opaque kinds that exercise every protection, as `tests/incremental.rs` and
//! `tests/pseudonymize.rs` run them.

use std::collections::BTreeSet;

use idstitch::{KindPolicy, KindSpec, Normalizer, ResolverBuilder};
use proptest::prelude::*;

use super::reference::RefKind;

pub const VALUES: [&str; 7] = ["a", "b", "c", "d", "e", "f", "z"];

/// A record's keys: (kind index, value).
pub type Keys = BTreeSet<(usize, String)>;

#[derive(Clone, Debug)]
pub enum Op {
    Upsert(u16, u8, Keys),
    Remove(u16, u8),
    Bulk(Vec<(u16, u8, Keys)>),
    Rebuild,
    /// `Resolver::compact`: changes nothing a host sees, drops every key without records.
    Compact,
    /// `Resolver::erase` by record: every record of its customer goes.
    EraseRecord(u16, u8),
    /// `Resolver::erase` by key `(kind index, value)`: refused if its records belong to
    /// several customers.
    EraseKey(usize, String),
}

impl Op {
    pub fn is_erase(&self) -> bool {
        matches!(self, Op::EraseRecord(..) | Op::EraseKey(..))
    }
}

/// A key to erase by: popular values, so that it is often carried, and often by several
/// customers.
pub fn erase_key_strategy() -> impl Strategy<Value = Op> {
    let value = prop_oneof![2 => 0usize..2, 1 => 0usize..VALUES.len()];
    (0usize..5, value).prop_map(|(k, v)| Op::EraseKey(k, VALUES[v].to_string()))
}

pub fn keys_strategy() -> impl Strategy<Value = Keys> {
    proptest::collection::btree_set((0usize..5, 0usize..VALUES.len()), 0..5)
        .prop_map(|s| s.into_iter().map(|(k, v)| (k, VALUES[v].to_string())).collect())
}

pub fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u16..2, 0u8..10, keys_strategy()).prop_map(|(s, i, k)| Op::Upsert(s, i, k)),
        2 => (0u16..2, 0u8..10).prop_map(|(s, i)| Op::Remove(s, i)),
        2 => proptest::collection::vec((0u16..2, 0u8..10, keys_strategy()), 1..10).prop_map(Op::Bulk),
        1 => Just(Op::Rebuild),
        1 => Just(Op::Compact),
        1 => (0u16..2, 0u8..10).prop_map(|(s, i)| Op::EraseRecord(s, i)),
        1 => erase_key_strategy(),
    ]
}

/// Five opaque kinds exercising every protection: a strict limit with a cap, a looser limit,
/// a kind with the same priority (tie broken by name) and a deny-list, an uncapped kind, and a
/// constraint that links nothing but allows one value per customer, unless the value is
/// generic. Not `wide`: `k1` and `k3` have no limit, so the limits (of `k0` and `k4`, 1 each)
/// take 2 + 2 bits to count.
pub fn kinds(wide: bool) -> Vec<RefKind> {
    let k = |name: &str, priority, limit, cap, deny: &[&str]| RefKind {
        name: name.to_string(),
        priority,
        limit,
        cap,
        deny: deny.iter().map(|s| s.to_string()).collect(),
        links: true,
    };
    let wide_only = |limit| if wide { Some(limit) } else { None };
    vec![
        k("k0", 100, Some(1), Some(4), &[]),
        k("k1", 50, wide_only(2), Some(3), &[]),
        k("k2", 50, None, Some(3), &["z"]),
        k("k3", 10, wide_only(3), None, &[]),
        RefKind { links: false, ..k("k4", 0, Some(1), Some(2), &[]) },
    ]
}

/// The built-in kinds that have a limit by default.
pub const LIMITED_BUILT_INS: [&str; 5] = ["customer_no", "email", "phone", "cookie", "device"];

/// Declares `kinds` as opaque kinds on `builder` (without built-in placeholders), each
/// deny-listed value written as `deny_value` gives it; unless `wide`, the built-in kinds'
/// limits are lifted (see `kinds`).
pub fn declare_kinds(
    builder: &mut ResolverBuilder,
    kinds: &[RefKind],
    wide: bool,
    deny_value: impl Fn(&str) -> String,
) {
    declare_kinds_with(builder, kinds, wide, deny_value, |_| false);
}

/// [`declare_kinds`], the kinds `identifying` names identifying a person.
pub fn declare_kinds_with(
    builder: &mut ResolverBuilder,
    kinds: &[RefKind],
    wide: bool,
    deny_value: impl Fn(&str) -> String,
    identifying: impl Fn(&str) -> bool,
) {
    if !wide {
        for name in LIMITED_BUILT_INS {
            builder.policy(name, KindPolicy::new(0));
        }
    }
    for k in kinds {
        let deny: Vec<String> = k.deny.iter().map(|v| deny_value(v)).collect();
        let mut policy = KindPolicy::new(k.priority).builtin_placeholders(false).deny(deny);
        if let Some(limit) = k.limit {
            policy = policy.limit(limit as u32);
        }
        if let Some(cap) = k.cap {
            policy = policy.generic_cap(cap as u32);
        }
        if !k.links {
            policy = policy.constraint_only();
        }
        let spec = KindSpec::new(Normalizer::Opaque, policy).identifying(identifying(&k.name));
        builder.kind(&k.name, spec);
    }
}
