//! The pressure report (specification §9): per channel and journey stage, how many customers
//! there are, how often they were contacted, how many are held back by a cap, and how many of
//! the valuable ones the channel may reach but has left alone. The definitions are on
//! [`PressureReport`]; the accumulation is [`PressureTally`], a pure function of each
//! customer's stage, statements and contacts.

use std::fmt;

use ahash::AHashMap;

use crate::behaviour::{Stage, Window};
use crate::input::record::Timestamp;
use crate::touchpoint::consent::{customer_consent, Consent, ConsentState, Statement};
use crate::touchpoint::contact::Contact;
use crate::touchpoint::dosing::{
    decide, CapScope, ContactDecision, ContactRefusal, TouchpointRules,
};

/// The channels of the specification, which every report has rows for: `banner`, `email`,
/// `invitation`, `newsletter`, `phone`.
pub const BUILT_IN_CHANNELS: [&str; 5] = ["banner", "email", "invitation", "newsletter", "phone"];

/// How long a reachable `engaged`, `customer` or `loyal` customer may go without a counted
/// contact on a channel before it is under-reached there: the last 30 days.
pub const UNDER_REACHED_WINDOW: Window = Window::days(30);

/// The stages whose customers can be under-reached: `engaged`, `customer` and `loyal`.
pub const UNDER_REACHED_STAGES: [Stage; 3] = [Stage::Engaged, Stage::Customer, Stage::Loyal];

/// The labels of [`PressureRow::received`]'s buckets: contacts received in the window.
pub const RECEIVED_BUCKETS: [&str; 4] = ["0", "1", "2–3", "≥ 4"];

/// The bucket of [`RECEIVED_BUCKETS`] a number of contacts falls in.
const fn bucket(contacts: u64) -> usize {
    match contacts {
        0 => 0,
        1 => 1,
        2 | 3 => 2,
        _ => 3,
    }
}

/// Whether customers of `stage` can be under-reached.
fn may_be_under_reached(stage: Stage) -> bool {
    UNDER_REACHED_STAGES.contains(&stage)
}

/// The figures of one channel and stage (precise definitions on [`PressureReport`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PressureRow {
    /// The channel.
    pub channel: String,
    /// The journey stage as of the report's instant.
    pub stage: Stage,
    /// The customers in the stage.
    pub customers: u64,
    /// Their counted (not transactional) contacts on the channel in the report's window.
    pub contacts: u64,
    /// The customers by those contacts: 0, 1, 2–3 and ≥ 4 ([`RECEIVED_BUCKETS`]); the four
    /// add up to `customers`.
    pub received: [u64; 4],
    /// The customers a cap rule holds back on the channel (consent allows, a cap does not).
    pub saturated: u64,
    /// The customers consent allows on the channel: granted, or unknown on a consent-free
    /// channel.
    pub reachable: u64,
    /// The reachable customers with no counted contact on the channel in the last 30 days;
    /// 0 unless the stage is `engaged`, `customer` or `loyal`.
    pub under_reached: u64,
}

/// `part / whole`, or `None` when `whole` is 0.
fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl PressureRow {
    /// The share of the customers consent allows on the channel: `reachable / customers`.
    pub fn reachable_share(&self) -> Option<f64> {
        share(self.reachable, self.customers)
    }

    /// The share at a cap of those consent allows: `saturated / reachable` (only a reachable
    /// customer can be capped, so this is the share of the channel's audience it may not
    /// contact now for pressure alone). `None` when no customer is reachable.
    pub fn saturated_share(&self) -> Option<f64> {
        share(self.saturated, self.reachable)
    }

    /// The share of the reachable customers with no contact on the channel in 30 days:
    /// `under_reached / reachable`. `None` when no customer is reachable, and for stages
    /// other than `engaged`, `customer` and `loyal`, which are never under-reached.
    pub fn under_reached_share(&self) -> Option<f64> {
        if !may_be_under_reached(self.stage) {
            return None;
        }
        share(self.under_reached, self.reachable)
    }

    /// The share of the customers in each bucket of [`PressureRow::received`]; `None` when
    /// the row has no customers.
    pub fn received_shares(&self) -> Option<[f64; 4]> {
        (self.customers > 0).then(|| self.received.map(|n| n as f64 / self.customers as f64))
    }
}

/// Contact pressure per channel and journey stage as of an instant (DESIGN §9), made by
/// [`Resolver::pressure_report`](crate::Resolver::pressure_report). `Display` prints a plain
/// text table.
///
/// The definitions, for a report as of `now` over a `window` of D days:
///
/// - **customers**: the customers whose stage as of `now` is the row's. Every channel has the
///   same customers per stage: a row is about the channel, not about who used it.
/// - **contacts**: the counted (not transactional) contacts on the row's channel in the
///   window, `now − D days < at ≤ now` ([`Window::contains`]); later ones are not counted.
/// - **received**: the customers by those contacts: 0, 1, 2–3, ≥ 4 ([`RECEIVED_BUCKETS`]).
/// - **reachable**: the customers consent allows on the channel as of `now` (statements after
///   `now` do not count): consent granted, or unknown on a channel that needs none
///   ([`TouchpointRules::consent_free`]). A denial always refuses.
/// - **saturated**: the customers a cap holds back on the channel at `now`: those
///   `Resolver::may_contact` ([`decide`]) answers "capped" for, each cap rule over its own
///   window (not the report's). Consent is decided first, so only a reachable customer can be
///   saturated, and [`PressureRow::saturated_share`] is a share of the reachable.
/// - **under-reached**: the reachable customers in stage `engaged`, `customer` or `loyal`
///   ([`UNDER_REACHED_STAGES`]) with no counted contact *on the row's channel* in the last 30
///   days ([`UNDER_REACHED_WINDOW`]), whatever the report's window: the row reads "ours to
///   reach on this channel, and this channel left them alone" (a contact on another channel
///   does not count).
///
/// Channels: the five of the specification ([`BUILT_IN_CHANNELS`]) and every channel named by
/// a contact or consent statement a customer's records hold (transactional or not, before or
/// after `now`). Rows: every (channel, stage) pair whose stage has a customer, by channel (byte
/// order), then stage (journey order: [`Stage`]'s `Ord`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PressureReport {
    /// The instant the stages, consent and caps are taken at, and the window ends at.
    pub now: Timestamp,
    /// The window contacts are counted in: `now − D days < at ≤ now`.
    pub window: Window,
    /// One row per channel and stage with customers, by channel (byte order), then stage.
    pub rows: Vec<PressureRow>,
}

impl PressureReport {
    /// The row of `channel` and `stage`, if the report has one.
    pub fn row(&self, channel: &str, stage: Stage) -> Option<&PressureRow> {
        self.rows
            .binary_search_by(|r| (r.channel.as_str(), r.stage).cmp(&(channel, stage)))
            .ok()
            .map(|i| &self.rows[i])
    }

    /// The report's channels, in order.
    pub fn channels(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.rows.iter().map(|r| r.channel.as_str()).collect();
        out.dedup();
        out
    }
}

/// `12 (40.0%)`, or just the count when the share has no denominator.
fn with_share(n: u64, share: Option<f64>) -> String {
    match share {
        Some(s) => format!("{n} ({:.1}%)", s * 100.0),
        None => n.to_string(),
    }
}

impl fmt::Display for PressureReport {
    /// A heading with the instant and windows, then one line per row: channel, stage,
    /// customers, contacts, the four buckets, reachable (share of the customers), saturated
    /// and under-reached (shares of the reachable; `-` for stages never under-reached).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "contact pressure as of {}: contacts in {}; under-reached: reachable engaged, \
             customer or loyal with no contact on the channel in {}",
            self.now, self.window, UNDER_REACHED_WINDOW
        )?;
        if self.rows.is_empty() {
            return writeln!(f, "no customers");
        }
        let header = [
            "channel",
            "stage",
            "customers",
            "contacts",
            RECEIVED_BUCKETS[0],
            RECEIVED_BUCKETS[1],
            RECEIVED_BUCKETS[2],
            RECEIVED_BUCKETS[3],
            "reachable",
            "saturated",
            "under-reached",
        ];
        let lines: Vec<[String; 11]> = self
            .rows
            .iter()
            .map(|r| {
                let under = if may_be_under_reached(r.stage) {
                    with_share(r.under_reached, r.under_reached_share())
                } else {
                    "-".to_string()
                };
                [
                    r.channel.clone(),
                    r.stage.to_string(),
                    r.customers.to_string(),
                    r.contacts.to_string(),
                    r.received[0].to_string(),
                    r.received[1].to_string(),
                    r.received[2].to_string(),
                    r.received[3].to_string(),
                    with_share(r.reachable, r.reachable_share()),
                    with_share(r.saturated, r.saturated_share()),
                    under,
                ]
            })
            .collect();
        // Widths in characters, as the padding of `format!` counts them ("≥" is one).
        let mut widths = header.map(|h| h.chars().count());
        for line in &lines {
            for (w, cell) in widths.iter_mut().zip(line) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let write_line = |f: &mut fmt::Formatter<'_>, cells: [&str; 11]| -> fmt::Result {
            for (i, (cell, &w)) in cells.iter().zip(&widths).enumerate() {
                let sep = if i == 0 { "" } else { "  " };
                // Names read left-aligned, figures right-aligned; the last column is not
                // padded, so lines carry no trailing blanks.
                match i {
                    0 | 1 => write!(f, "{sep}{cell:<w$}")?,
                    10 => write!(f, "{sep}{cell}")?,
                    _ => write!(f, "{sep}{cell:>w$}")?,
                }
            }
            writeln!(f)
        };
        write_line(f, header)?;
        for line in &lines {
            write_line(f, line.each_ref().map(String::as_str))?;
        }
        Ok(())
    }
}

/// The counters of one channel and stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    customers: u64,
    contacts: u64,
    received: [u64; 4],
    saturated: u64,
    reachable: u64,
    under_reached: u64,
}

/// What one customer counts for on one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outcome {
    contacts: u64,
    reachable: bool,
    saturated: bool,
    under_reached: bool,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        self.customers += 1;
        self.contacts += o.contacts;
        self.received[bucket(o.contacts)] += 1;
        self.saturated += u64::from(o.saturated);
        self.reachable += u64::from(o.reachable);
        self.under_reached += u64::from(o.under_reached);
    }

    /// `self − less + more`, field by field; `less` is part of `self`, so nothing underflows.
    fn replace(self, less: &Tally, more: &Tally) -> Tally {
        let f = |a: u64, b: u64, c: u64| a - b + c;
        Tally {
            customers: f(self.customers, less.customers, more.customers),
            contacts: f(self.contacts, less.contacts, more.contacts),
            received: std::array::from_fn(|i| {
                f(self.received[i], less.received[i], more.received[i])
            }),
            saturated: f(self.saturated, less.saturated, more.saturated),
            reachable: f(self.reachable, less.reachable, more.reachable),
            under_reached: f(self.under_reached, less.under_reached, more.under_reached),
        }
    }
}

/// The figures of the customers that named one channel, per stage: what they count for, and
/// what they would have counted for had they not named it (the part of the untouched totals
/// they replace).
#[derive(Clone, Copy, Debug, Default)]
struct Touched {
    actual: [Tally; 7],
    displaced: [Tally; 7],
}

/// Accumulates a [`PressureReport`] one customer at a time, from slices of its statements
/// and contacts, in time linear in them (after sorting) and independent of the number of
/// channels other customers named.
///
/// The cap rules split in two: per-channel and one-channel caps count only the asked
/// channel's contacts, all-channel caps every contact (the same answer for every channel). So
/// a channel caps a customer when its own statements and contacts do under the first, or all
/// its contacts under the second, and each channel reads only its own slice.
///
/// A customer with no statement or contact on a channel counts the same on every such channel
/// of one consent class: not reachable where consent is needed; where it is not, reachable,
/// saturated exactly when an all-channel cap holds it, and under-reached by its stage. So each
/// customer adds to two untouched totals per stage, and to its own channels only the
/// difference it makes; [`PressureTally::finish`] adds those differences to the totals.
pub(crate) struct PressureTally<'a> {
    now: Timestamp,
    window: Window,
    /// The rules without their all-channel caps: what a channel's own statements and
    /// contacts decide.
    own_rules: TouchpointRules,
    /// Only the all-channel caps: what every contact decides, the same for every channel.
    all_rules: TouchpointRules,
    /// Per consent class (0: needs consent, 1: consent-free) and stage, every customer as if
    /// it named no channel.
    untouched: [[Tally; 7]; 2],
    /// The channels customers named, and where their figures are in `touched`.
    channels: AHashMap<&'a str, usize>,
    touched: Vec<Touched>,
}

/// A consent that lets [`decide`] go straight to the caps.
const GRANTED: Consent = Consent { state: ConsentState::Granted, decided_by: None };

impl<'a> PressureTally<'a> {
    /// An empty report as of `now`, counting contacts in `window`, under `rules`.
    pub(crate) fn new(rules: &TouchpointRules, now: Timestamp, window: Window) -> Self {
        let all_channels = |r: &crate::touchpoint::CapRule| r.scope == CapScope::AllChannels;
        let mut own_rules = rules.clone();
        own_rules.caps.retain(|r| !all_channels(r));
        let mut all_rules = rules.clone();
        all_rules.caps.retain(all_channels);
        PressureTally {
            now,
            window,
            own_rules,
            all_rules,
            untouched: Default::default(),
            channels: AHashMap::new(),
            touched: Vec::new(),
        }
    }

    /// Counts one customer in `stage` with these consent `statements` and `contacts` (all of
    /// its records', in any order: both slices are sorted here).
    pub(crate) fn add_customer(
        &mut self,
        stage: Stage,
        statements: &mut [Statement<'a>],
        contacts: &mut [Contact<'a>],
    ) {
        let now = self.now;
        // Only all-channel caps are left in `all_rules`, so the channel asked about is
        // irrelevant, and a granted consent goes straight to them.
        let all_capped = !self.all_rules.caps.is_empty()
            && !decide(&self.all_rules, "", &GRANTED, contacts, now).is_yes();
        let under = may_be_under_reached(stage);
        // On a channel it named nothing on, the customer has no contact there and consent
        // unknown: only a consent-free channel reaches it, and only an all-channel cap holds.
        let default = |consent_free: bool| Outcome {
            contacts: 0,
            reachable: consent_free,
            saturated: consent_free && all_capped,
            under_reached: consent_free && under,
        };
        let s = stage as usize;
        for class in [false, true] {
            self.untouched[usize::from(class)][s].add(default(class));
        }

        statements.sort_unstable_by_key(|x| x.channel);
        contacts.sort_unstable_by_key(|x| x.channel);
        let (mut i, mut j) = (0, 0);
        while i < statements.len() || j < contacts.len() {
            let channel = match (statements.get(i), contacts.get(j)) {
                (Some(a), Some(b)) => a.channel.min(b.channel),
                (Some(a), None) => a.channel,
                (None, Some(b)) => b.channel,
                (None, None) => break,
            };
            let i_end = i + statements[i..].iter().take_while(|x| x.channel == channel).count();
            let j_end = j + contacts[j..].iter().take_while(|x| x.channel == channel).count();
            let (own_statements, own_contacts) = (&statements[i..i_end], &contacts[j..j_end]);
            (i, j) = (i_end, j_end);

            let consent = customer_consent(own_statements, channel, Some(now));
            let answer = decide(&self.own_rules, channel, &consent, own_contacts, now);
            let reachable = !matches!(answer, ContactDecision::No(ContactRefusal::NoConsent(_)));
            let counted = |w: Window| {
                own_contacts.iter().filter(|c| !c.transactional && w.contains(c.at, now)).count()
                    as u64
            };
            let actual = Outcome {
                contacts: counted(self.window),
                reachable,
                saturated: matches!(answer, ContactDecision::No(ContactRefusal::Capped { .. }))
                    || reachable && all_capped,
                under_reached: reachable && under && counted(UNDER_REACHED_WINDOW) == 0,
            };
            let consent_free = !self.own_rules.needs_consent(channel);
            let next = self.touched.len();
            let k = *self.channels.entry(channel).or_insert(next);
            if k == next {
                self.touched.push(Touched::default());
            }
            self.touched[k].actual[s].add(actual);
            self.touched[k].displaced[s].add(default(consent_free));
        }
    }

    /// The report: a row per channel (built-in or named) and stage with customers.
    pub(crate) fn finish(self) -> PressureReport {
        let mut channels: Vec<&str> = BUILT_IN_CHANNELS.to_vec();
        channels.extend(self.channels.keys().copied());
        channels.sort_unstable();
        channels.dedup();
        let mut rows = Vec::new();
        for channel in channels {
            let totals = &self.untouched[usize::from(!self.own_rules.needs_consent(channel))];
            let touched = self.channels.get(channel).map(|&k| &self.touched[k]);
            for stage in Stage::ALL {
                let s = stage as usize;
                let t = match touched {
                    Some(t) => totals[s].replace(&t.displaced[s], &t.actual[s]),
                    None => totals[s],
                };
                if t.customers == 0 {
                    continue;
                }
                rows.push(PressureRow {
                    channel: channel.to_string(),
                    stage,
                    customers: t.customers,
                    contacts: t.contacts,
                    received: t.received,
                    saturated: t.saturated,
                    reachable: t.reachable,
                    under_reached: t.under_reached,
                });
            }
        }
        PressureReport { now: self.now, window: self.window, rows }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::behaviour::DAY;
    use crate::ids::SourceId;
    use crate::touchpoint::{CapRule, ConsentStatus};

    const NOW: Timestamp = Timestamp(1_000 * DAY);

    fn sent(channel: &'static str, days_ago: i64) -> Contact<'static> {
        Contact {
            source: SourceId::from_raw(0),
            channel,
            at: Timestamp(NOW.0 - days_ago * DAY),
            campaign: None,
            transactional: false,
        }
    }

    fn said(channel: &'static str, status: ConsentStatus, days_ago: i64) -> Statement<'static> {
        Statement {
            source: SourceId::from_raw(0),
            external_id: "A",
            channel,
            status,
            at: Timestamp(NOW.0 - days_ago * DAY),
        }
    }

    fn report(
        rules: &TouchpointRules,
        window: Window,
        customers: &[(Stage, Vec<Statement<'static>>, Vec<Contact<'static>>)],
    ) -> PressureReport {
        let mut tally = PressureTally::new(rules, NOW, window);
        for (stage, statements, contacts) in customers {
            tally.add_customer(*stage, &mut statements.clone(), &mut contacts.clone());
        }
        tally.finish()
    }

    /// The tally indexes its per-stage arrays by `stage as usize`.
    #[test]
    fn stages_index_their_own_slot() {
        for (i, s) in Stage::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i);
        }
        assert!(Stage::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn customers_fall_in_buckets_by_contacts_in_the_window_only() {
        use ConsentStatus::Granted;
        // 0 … 5 counted e-mails in the week; older, later and transactional ones not counted.
        let mut customers = Vec::new();
        for n in 0..6 {
            let mut contacts: Vec<_> = (0..n).map(|_| sent("email", 1)).collect();
            contacts.push(sent("email", 7)); // exactly 7 days old: out
            contacts.push(sent("email", -1)); // tomorrow: out
            let mut receipt = sent("email", 0);
            receipt.transactional = true;
            contacts.push(receipt);
            customers.push((Stage::Identified, vec![said("email", Granted, 30)], contacts));
        }
        let r = report(&TouchpointRules::default(), Window::days(7), &customers);
        let row = r.row("email", Stage::Identified).unwrap();
        assert_eq!(row.customers, 6);
        assert_eq!(row.contacts, 1 + 2 + 3 + 4 + 5);
        assert_eq!(row.received, [1, 1, 2, 2]);
        // The per-channel cap (2 in 7 days) holds those with 2 or more.
        assert_eq!((row.reachable, row.saturated), (6, 4));
        assert_eq!(row.received_shares(), Some([1.0 / 6.0, 1.0 / 6.0, 2.0 / 6.0, 2.0 / 6.0]));
    }

    #[test]
    fn an_all_channel_cap_saturates_untouched_consent_free_channels_only() {
        use ConsentStatus::Granted;
        let contacts =
            vec![sent("email", 1), sent("newsletter", 1), sent("sms", 2), sent("sms", 3)];
        let statements = vec![said("email", Granted, 9), said("newsletter", Granted, 9)];
        let r = report(
            &TouchpointRules::default(),
            Window::days(7),
            &[(Stage::Engaged, statements, contacts)],
        );
        // Four contacts over all channels in a week: every reachable channel is capped.
        for channel in ["banner", "email", "newsletter"] {
            let row = r.row(channel, Stage::Engaged).unwrap();
            assert_eq!((row.reachable, row.saturated), (1, 1), "{channel}");
        }
        // Phone, invitation and the host's sms need consent nobody gave.
        for channel in ["invitation", "phone", "sms"] {
            let row = r.row(channel, Stage::Engaged).unwrap();
            assert_eq!((row.reachable, row.saturated, row.under_reached), (0, 0, 0), "{channel}");
        }
        assert_eq!(r.channels(), ["banner", "email", "invitation", "newsletter", "phone", "sms"]);
        assert_eq!(r.row("sms", Stage::Engaged).unwrap().contacts, 2);
        // The banner showed nothing in 30 days to an engaged customer it may reach.
        assert_eq!(r.row("banner", Stage::Engaged).unwrap().under_reached, 1);
        assert_eq!(r.row("email", Stage::Engaged).unwrap().under_reached, 0);
    }

    #[test]
    fn under_reached_counts_only_valuable_stages_and_the_rows_own_channel() {
        use ConsentStatus::{Denied, Granted};
        let granted = |c| vec![said(c, Granted, 100)];
        let customers = [
            // E-mailed 29 days ago: reached on e-mail, not on the newsletter.
            (
                Stage::Loyal,
                vec![said("email", Granted, 100), said("newsletter", Granted, 100)],
                vec![sent("email", 29)],
            ),
            // E-mailed exactly 30 days ago: under-reached.
            (Stage::Customer, granted("email"), vec![sent("email", 30)]),
            // Identified customers are never under-reached.
            (Stage::Identified, granted("email"), vec![]),
            // A withdrawn consent: not reachable, so not under-reached.
            (Stage::Engaged, vec![said("email", Granted, 100), said("email", Denied, 5)], vec![]),
        ];
        let r = report(&TouchpointRules::default(), Window::days(7), &customers);
        let under = |c, s| r.row(c, s).unwrap().under_reached;
        assert_eq!(under("email", Stage::Loyal), 0);
        assert_eq!(under("newsletter", Stage::Loyal), 1);
        assert_eq!(under("email", Stage::Customer), 1);
        assert_eq!(under("email", Stage::Identified), 0);
        assert_eq!(under("email", Stage::Engaged), 0);
        assert_eq!(r.row("email", Stage::Engaged).unwrap().reachable, 0);
        assert_eq!(r.row("email", Stage::Identified).unwrap().under_reached_share(), None);
        assert_eq!(r.row("email", Stage::Customer).unwrap().under_reached_share(), Some(1.0));
        assert_eq!(r.row("email", Stage::Engaged).unwrap().under_reached_share(), None);
        // No stage without customers gets a row.
        assert!(r.row("email", Stage::Lapsed).is_none());
        assert_eq!(r.rows.len(), 5 * 4);
    }

    #[test]
    fn a_statement_after_now_does_not_count_but_names_its_channel() {
        let later = said("sms", ConsentStatus::Granted, -1);
        let r = report(
            &TouchpointRules::default(),
            Window::days(7),
            &[(Stage::Identified, vec![later], vec![])],
        );
        let row = r.row("sms", Stage::Identified).unwrap();
        assert_eq!((row.customers, row.reachable), (1, 0));
    }

    #[test]
    fn no_customers_no_rows_and_shares_without_a_denominator_are_none() {
        let r = report(&TouchpointRules::default(), Window::days(7), &[]);
        assert!(r.rows.is_empty());
        assert!(r.to_string().ends_with("no customers\n"));
        let row = PressureRow {
            channel: "email".into(),
            stage: Stage::Loyal,
            customers: 0,
            contacts: 0,
            received: [0; 4],
            saturated: 0,
            reachable: 0,
            under_reached: 0,
        };
        assert_eq!(
            (row.reachable_share(), row.saturated_share(), row.under_reached_share()),
            (None, None, None)
        );
        assert_eq!(row.received_shares(), None);
    }

    #[test]
    fn the_table_reads_plainly() {
        use ConsentStatus::Granted;
        let customers = [
            (Stage::Identified, vec![], vec![sent("banner", 1)]),
            (Stage::Loyal, vec![said("phone", Granted, 60)], vec![sent("phone", 3)]),
            (Stage::Loyal, vec![said("phone", Granted, 60)], vec![]),
        ];
        let mut rules = TouchpointRules::default();
        rules.caps.truncate(1);
        let mut r = report(&rules, Window::days(7), &customers);
        r.rows.retain(|row| row.channel != "email" && row.channel != "invitation");
        let expected = "\
contact pressure as of 1972-09-27T00:00:00Z: contacts in the last 7 days; under-reached: reachable engaged, customer or loyal with no contact on the channel in the last 30 days
channel     stage       customers  contacts  0  1  2–3  ≥ 4   reachable  saturated  under-reached
banner      identified          1         1  0  1    0    0  1 (100.0%)   0 (0.0%)  -
banner      loyal               2         0  2  0    0    0  2 (100.0%)   0 (0.0%)  2 (100.0%)
newsletter  identified          1         0  1  0    0    0    0 (0.0%)          0  -
newsletter  loyal               2         0  2  0    0    0    0 (0.0%)          0  0
phone       identified          1         0  1  0    0    0    0 (0.0%)          0  -
phone       loyal               2         1  1  1    0    0  2 (100.0%)   0 (0.0%)  1 (50.0%)
";
        assert_eq!(r.to_string(), expected);
    }

    /// A customer's stage, statements and contacts, drawn from few channels, days and records
    /// so that consent conflicts and caps bind.
    fn customer() -> impl Strategy<Value = (Stage, Vec<Statement<'static>>, Vec<Contact<'static>>)>
    {
        const CHANNELS: [&str; 4] = ["email", "banner", "phone", "sms"];
        const IDS: [&str; 2] = ["A", "B"];
        let statement = (0..CHANNELS.len(), 0..IDS.len(), any::<bool>(), -2i64..40).prop_map(
            |(c, id, denied, days_ago)| Statement {
                source: SourceId::from_raw(0),
                external_id: IDS[id],
                channel: CHANNELS[c],
                status: if denied { ConsentStatus::Denied } else { ConsentStatus::Granted },
                at: Timestamp(NOW.0 - days_ago * DAY),
            },
        );
        let contact = (0..CHANNELS.len(), -2i64..40, prop::bool::weighted(0.2)).prop_map(
            |(c, days_ago, transactional)| Contact { transactional, ..sent(CHANNELS[c], days_ago) },
        );
        (
            prop::sample::select(Stage::ALL.to_vec()),
            prop::collection::vec(statement, 0..5),
            prop::collection::vec(contact, 0..9),
        )
    }

    fn rules() -> impl Strategy<Value = TouchpointRules> {
        let scope = prop_oneof![
            Just(CapScope::EachChannel),
            Just(CapScope::AllChannels),
            Just(CapScope::Channel("sms".into())),
            Just(CapScope::Channel("banner".into())),
        ];
        let cap =
            (scope, 1u32..4, 1u32..31).prop_map(|(s, m, d)| CapRule::new(s, m, Window::days(d)));
        let free = prop::sample::subsequence(vec!["banner", "sms", "email"], 0..=3);
        (free, prop::collection::vec(cap, 0..4)).prop_map(|(free, caps)| TouchpointRules {
            consent_free: free.into_iter().map(String::from).collect(),
            caps,
        })
    }

    /// The report computed plainly: every channel, every customer, [`decide`] over all its
    /// statements and contacts.
    fn plain(
        rules: &TouchpointRules,
        window: Window,
        customers: &[(Stage, Vec<Statement<'static>>, Vec<Contact<'static>>)],
    ) -> PressureReport {
        let mut channels: Vec<&str> = BUILT_IN_CHANNELS.to_vec();
        for (_, statements, contacts) in customers {
            channels.extend(statements.iter().map(|s| s.channel));
            channels.extend(contacts.iter().map(|c| c.channel));
        }
        channels.sort_unstable();
        channels.dedup();
        let mut rows = Vec::new();
        for channel in channels {
            for stage in Stage::ALL {
                let mut row = PressureRow {
                    channel: channel.to_string(),
                    stage,
                    customers: 0,
                    contacts: 0,
                    received: [0; 4],
                    saturated: 0,
                    reachable: 0,
                    under_reached: 0,
                };
                for (_, statements, contacts) in customers.iter().filter(|c| c.0 == stage) {
                    let consent = customer_consent(statements, channel, Some(NOW));
                    let answer = decide(rules, channel, &consent, contacts, NOW);
                    let counted = |w: Window| {
                        contacts
                            .iter()
                            .filter(|c| c.channel == channel && !c.transactional)
                            .filter(|c| w.contains(c.at, NOW))
                            .count() as u64
                    };
                    let reachable =
                        !matches!(answer, ContactDecision::No(ContactRefusal::NoConsent(_)));
                    row.customers += 1;
                    row.contacts += counted(window);
                    row.received[bucket(counted(window))] += 1;
                    row.reachable += u64::from(reachable);
                    row.saturated += u64::from(reachable && !answer.is_yes());
                    row.under_reached += u64::from(
                        reachable
                            && UNDER_REACHED_STAGES.contains(&stage)
                            && counted(UNDER_REACHED_WINDOW) == 0,
                    );
                }
                if row.customers > 0 {
                    rows.push(row);
                }
            }
        }
        PressureReport { now: NOW, window, rows }
    }

    proptest! {
        /// Counting each customer on its own channels only, against the untouched totals,
        /// gives what deciding every channel for every customer gives, under any rules.
        #[test]
        fn the_tally_equals_deciding_every_channel_for_every_customer(
            rules in rules(),
            days in 0u32..20,
            customers in prop::collection::vec(customer(), 0..8),
        ) {
            let window = Window::days(days);
            prop_assert_eq!(report(&rules, window, &customers), plain(&rules, window, &customers));
        }
    }
}
