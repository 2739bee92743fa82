//! DESIGN §9's consent and dosing rules written plainly, sharing nothing with the crate: the
//! oracle for `tests/touch_props.rs`.
//!
//! A record is `(source, external id)`; times are Unix seconds; windows are `now − D days <
//! at ≤ now`.

#![allow(dead_code)]

pub const DAY: i64 = 86_400;

/// A consent statement.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RefStatement {
    pub record: (u16, String),
    pub channel: String,
    pub denied: bool,
    pub at: i64,
}

/// A contact.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RefContact {
    pub channel: String,
    pub at: i64,
    pub transactional: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefConsent {
    Granted,
    Denied,
    Unknown,
}

/// The deciding statement's `(record, at)`.
pub type Decider = Option<((u16, String), i64)>;

/// The consent on `channel` and the deciding `(record, at)`.
///
/// For each record its latest statement on the channel (a "no" wins a tie in time); the
/// customer is denied if any record's latest is a "no" (deciding: the latest such, then the
/// smallest record), else granted if any is a "yes" (likewise), else unknown.
pub fn consent(
    statements: &[RefStatement],
    channel: &str,
    now: Option<i64>,
) -> (RefConsent, Decider) {
    let mut records: Vec<&(u16, String)> = statements.iter().map(|s| &s.record).collect();
    records.sort();
    records.dedup();
    let mut latest: Vec<&RefStatement> = Vec::new();
    for record in records {
        let mut best: Option<&RefStatement> = None;
        for s in statements {
            if &s.record != record || s.channel != channel {
                continue;
            }
            if let Some(now) = now {
                if s.at > now {
                    continue;
                }
            }
            best = match best {
                None => Some(s),
                Some(b) if s.at > b.at || (s.at == b.at && s.denied && !b.denied) => Some(s),
                Some(b) => Some(b),
            };
        }
        latest.extend(best);
    }
    for want_denied in [true, false] {
        let mut decider: Option<&RefStatement> = None;
        for s in latest.iter().filter(|s| s.denied == want_denied) {
            decider = match decider {
                None => Some(s),
                Some(d) if s.at > d.at || (s.at == d.at && s.record < d.record) => Some(s),
                Some(d) => Some(d),
            };
        }
        if let Some(d) = decider {
            let state = if want_denied { RefConsent::Denied } else { RefConsent::Granted };
            return (state, Some((d.record.clone(), d.at)));
        }
    }
    (RefConsent::Unknown, None)
}

/// A cap rule: at most `max` counted contacts in `days` days, on `channel` (None: every
/// channel on its own when `each`, all channels together otherwise).
#[derive(Clone, Debug)]
pub struct RefCap {
    pub channel: Option<&'static str>,
    pub each: bool,
    pub max: usize,
    pub days: i64,
}

/// DESIGN §9's defaults, in the crate's order.
pub fn default_caps() -> Vec<RefCap> {
    vec![
        RefCap { channel: None, each: true, max: 2, days: 7 },
        RefCap { channel: None, each: false, max: 4, days: 7 },
        RefCap { channel: Some("phone"), each: false, max: 1, days: 30 },
    ]
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefDecision {
    Yes,
    NoConsent(RefConsent),
    /// The rule's index, its counted contacts, and when it frees.
    Capped(usize, usize, i64),
}

/// May the customer be contacted on `channel` at `now`?
pub fn decide(
    caps: &[RefCap],
    consent_free: &[&str],
    channel: &str,
    consent: RefConsent,
    contacts: &[RefContact],
    now: i64,
) -> RefDecision {
    let needs = !consent_free.contains(&channel);
    if consent == RefConsent::Denied || (consent == RefConsent::Unknown && needs) {
        return RefDecision::NoConsent(consent);
    }
    let mut worst: Option<(usize, usize, i64)> = None;
    for (i, cap) in caps.iter().enumerate() {
        if cap.channel.is_some_and(|c| c != channel) {
            continue;
        }
        let window = cap.days * DAY;
        let counted = |c: &&RefContact| {
            !c.transactional && (cap.channel.is_none() && !cap.each || c.channel == channel)
        };
        let inside: Vec<i64> = contacts
            .iter()
            .filter(counted)
            .filter(|c| now - window < c.at && c.at <= now)
            .map(|c| c.at)
            .collect();
        if inside.len() < cap.max {
            continue;
        }
        // The first instant after now at which fewer than max of them are still inside.
        let mut candidates: Vec<i64> = inside.iter().map(|at| at + window).collect();
        candidates.sort();
        let until = candidates
            .into_iter()
            .find(|&t| inside.iter().filter(|&&at| t - window < at).count() < cap.max)
            .expect("every contact leaves the window at last");
        if worst.is_none_or(|(_, _, w)| until > w) {
            worst = Some((i, inside.len(), until));
        }
    }
    match worst {
        None => RefDecision::Yes,
        Some((i, n, until)) => RefDecision::Capped(i, n, until),
    }
}
