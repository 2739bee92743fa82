//! Dosing (specification §9): cap rules over rolling, half-open windows, consent per channel,
//! and the answer to "may we contact this customer on this channel now?" with its reason.

use std::fmt;

use crate::behaviour::Window;
use crate::input::record::Timestamp;
use crate::touchpoint::consent::{Consent, ConsentState};
use crate::touchpoint::contact::Contact;

/// Which contacts a cap rule counts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum CapScope {
    /// Every channel on its own: contacts on the channel asked about.
    EachChannel,
    /// All channels together.
    AllChannels,
    /// One channel: applies only when that channel is asked about.
    Channel(String),
}

impl fmt::Display for CapScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapScope::EachChannel => f.write_str("per channel"),
            CapScope::AllChannels => f.write_str("over all channels"),
            CapScope::Channel(c) => write!(f, "on {c}"),
        }
    }
}

/// At most `max` counted contacts in `window`, over the contacts of `scope`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct CapRule {
    /// Which contacts count.
    pub scope: CapScope,
    /// The most contacts allowed in the window (at least 1).
    pub max: u32,
    /// The rolling window: `now − D days < at ≤ now`.
    pub window: Window,
}

impl CapRule {
    /// A rule.
    pub fn new(scope: CapScope, max: u32, window: Window) -> Self {
        CapRule { scope, max, window }
    }

    /// Whether the rule counts contacts when `channel` is asked about, and if so whether a
    /// contact on `other` counts.
    fn counts(&self, channel: &str, other: &str) -> bool {
        match &self.scope {
            CapScope::EachChannel => other == channel,
            CapScope::AllChannels => true,
            CapScope::Channel(c) => c == channel && other == channel,
        }
    }

    fn applies_to(&self, channel: &str) -> bool {
        match &self.scope {
            CapScope::Channel(c) => c == channel,
            _ => true,
        }
    }
}

impl fmt::Display for CapRule {
    /// `at most 2 per channel in 7 days`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at most {} {} in {} days", self.max, self.scope, self.window.len_days())
    }
}

/// Touchpoint rules: which channels need granted consent, and the cap rules.
///
/// The defaults are the specification's: every channel but `banner` needs granted consent; at
/// most 2 contacts per channel in 7 days, 4 over all channels in 7 days, and 1 by `phone` in 30
/// days.
///
/// ```
/// use idstitch::touchpoint::TouchpointRules;
///
/// let rules = TouchpointRules::default();
/// assert!(rules.needs_consent("newsletter") && !rules.needs_consent("banner"));
/// assert_eq!(rules.caps[2].to_string(), "at most 1 on phone in 30 days");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct TouchpointRules {
    /// Channels that may be used without granted consent (a denial still stops them).
    pub consent_free: Vec<String>,
    /// The cap rules; the strictest that caps decides.
    pub caps: Vec<CapRule>,
}

impl Default for TouchpointRules {
    fn default() -> Self {
        TouchpointRules {
            consent_free: vec!["banner".to_string()],
            caps: vec![
                CapRule::new(CapScope::EachChannel, 2, Window::days(7)),
                CapRule::new(CapScope::AllChannels, 4, Window::days(7)),
                CapRule::new(CapScope::Channel("phone".to_string()), 1, Window::days(30)),
            ],
        }
    }
}

impl TouchpointRules {
    /// Whether `channel` needs granted consent.
    pub fn needs_consent(&self, channel: &str) -> bool {
        !self.consent_free.iter().any(|c| c == channel)
    }

    /// The first problem of the rules: a cap of 0 (a channel nobody may use is a consent
    /// question, not a cap), an empty or overlong channel name.
    pub(crate) fn check(&self) -> Result<(), String> {
        let bad_name = |c: &str| c.trim().is_empty() || c.len() > crate::behaviour::MAX_EVENT_TEXT;
        if let Some(c) = self.consent_free.iter().find(|c| bad_name(c)) {
            return Err(format!("consent-free channel {c:?}: empty or over 1,024 bytes"));
        }
        for rule in &self.caps {
            if rule.max == 0 {
                return Err(format!("cap rule \"{rule}\": at most 0 contacts"));
            }
            if let CapScope::Channel(c) = &rule.scope {
                if bad_name(c) {
                    return Err(format!("cap rule channel {c:?}: empty or over 1,024 bytes"));
                }
            }
        }
        Ok(())
    }
}

/// Why a customer may not be contacted on a channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ContactRefusal {
    /// The channel needs granted consent and the customer's is denied (by the record it
    /// names) or unknown.
    NoConsent(Consent),
    /// A cap rule holds: `contacts` counted contacts in its window already; the earliest
    /// moment a contact is allowed again is `until` (when enough of them leave the window).
    Capped {
        /// The rule that caps (of several, the one that frees last).
        rule: CapRule,
        /// The counted contacts in its window.
        contacts: u32,
        /// When the rule frees.
        until: Timestamp,
    },
}

/// The answer of [`decide`] and `Resolver::may_contact`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum ContactDecision {
    /// The customer may be contacted.
    Yes,
    /// The customer may not, and why.
    No(ContactRefusal),
}

impl ContactDecision {
    /// Whether the answer is yes.
    pub fn is_yes(&self) -> bool {
        matches!(self, ContactDecision::Yes)
    }
}

impl fmt::Display for ContactDecision {
    /// `yes`; `no: consent denied by source 1 record N-7 at …`; `no: consent unknown`; `no:
    /// at most 2 per channel in 7 days (2 contacts) until 2026-03-08T09:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContactDecision::Yes => f.write_str("yes"),
            ContactDecision::No(ContactRefusal::NoConsent(consent)) => {
                write!(f, "no: consent {consent}")
            }
            ContactDecision::No(ContactRefusal::Capped { rule, contacts, until }) => {
                write!(f, "no: {rule} ({contacts} contacts) until {until}")
            }
        }
    }
}

/// May a customer with `consent` on `channel` and these `contacts` be contacted on `channel`
/// at `now`? Consent first (when the channel needs it: granted, else no; a denial stops even a
/// consent-free channel), then every applicable cap rule over the counted (not transactional)
/// contacts in its window as of `now`; of the rules that cap, the one that frees last decides
/// (ties: the first in `rules.caps`). The answer does not depend on the order of `contacts`.
///
/// ```
/// use idstitch::touchpoint::{decide, Consent, Contact, ContactDecision, TouchpointRules};
/// use idstitch::{SourceId, Timestamp};
///
/// let day = 86_400;
/// let sent = |at| Contact {
///     source: SourceId::from_raw(0), channel: "banner", at: Timestamp(at), campaign: None,
///     transactional: false,
/// };
/// let rules = TouchpointRules::default();
/// let contacts = [sent(0), sent(day)];
/// // Two banners in 7 days: capped until the first is exactly 7 days old.
/// let now = Timestamp(2 * day);
/// let answer = decide(&rules, "banner", &Consent::UNKNOWN, &contacts, now);
/// assert_eq!(answer.to_string(), "no: at most 2 per channel in 7 days (2 contacts) until 1970-01-08T00:00:00Z");
/// assert!(decide(&rules, "banner", &Consent::UNKNOWN, &contacts, Timestamp(7 * day)).is_yes());
/// ```
pub fn decide(
    rules: &TouchpointRules,
    channel: &str,
    consent: &Consent,
    contacts: &[Contact<'_>],
    now: Timestamp,
) -> ContactDecision {
    let refused = match consent.state {
        ConsentState::Denied => true,
        ConsentState::Unknown => rules.needs_consent(channel),
        ConsentState::Granted => false,
    };
    if refused {
        return ContactDecision::No(ContactRefusal::NoConsent(consent.clone()));
    }
    let mut worst: Option<(usize, u32, Timestamp)> = None;
    let mut ats: Vec<Timestamp> = Vec::new();
    for (i, rule) in rules.caps.iter().enumerate() {
        if !rule.applies_to(channel) {
            continue;
        }
        ats.clear();
        ats.extend(
            contacts
                .iter()
                .filter(|c| !c.transactional && rule.counts(channel, c.channel))
                .filter(|c| rule.window.contains(c.at, now))
                .map(|c| c.at),
        );
        let count = ats.len();
        if count < rule.max as usize {
            continue;
        }
        // Allowed again once count − max + 1 of them left the window: the (count − max)-th
        // oldest (from 0) leaves last among those.
        ats.sort_unstable();
        let until =
            rule.window.leaves_at(ats[count - rule.max as usize]).unwrap_or(Timestamp(i64::MAX));
        if worst.is_none_or(|(_, _, w)| until > w) {
            worst = Some((i, count as u32, until));
        }
    }
    match worst {
        None => ContactDecision::Yes,
        Some((i, contacts, until)) => ContactDecision::No(ContactRefusal::Capped {
            rule: rules.caps[i].clone(),
            contacts,
            until,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::SourceId;
    use crate::touchpoint::consent::ConsentState;

    const DAY: i64 = 86_400;

    fn c(channel: &'static str, at: i64) -> Contact<'static> {
        Contact {
            source: SourceId::from_raw(0),
            channel,
            at: Timestamp(at),
            campaign: None,
            transactional: false,
        }
    }

    fn granted() -> Consent {
        Consent {
            state: ConsentState::Granted,
            decided_by: Some((SourceId::from_raw(0), "A".into(), Timestamp(0))),
        }
    }

    #[test]
    fn a_contact_exactly_seven_days_old_no_longer_counts() {
        let rules = TouchpointRules::default();
        let contacts = [c("email", 0), c("email", 3 * DAY)];
        let capped = decide(&rules, "email", &granted(), &contacts, Timestamp(7 * DAY - 1));
        let ContactDecision::No(ContactRefusal::Capped { until, contacts: n, .. }) = capped else {
            panic!("{capped:?}")
        };
        assert_eq!((until, n), (Timestamp(7 * DAY), 2));
        assert!(decide(&rules, "email", &granted(), &contacts, Timestamp(7 * DAY)).is_yes());
    }

    #[test]
    fn transactional_contacts_are_exempt_and_future_ones_do_not_count() {
        let rules = TouchpointRules::default();
        let mut receipt = c("email", DAY);
        receipt.transactional = true;
        let contacts = [c("email", 0), receipt, receipt, c("email", 5 * DAY)];
        assert!(decide(&rules, "email", &granted(), &contacts, Timestamp(2 * DAY)).is_yes());
    }

    #[test]
    fn the_strictest_rule_decides_and_phone_has_its_own() {
        let rules = TouchpointRules::default();
        // Four contacts over three channels in a week: the all-channel rule caps email too.
        let contacts = [c("email", 0), c("banner", DAY), c("banner", 2 * DAY), c("phone", 3 * DAY)];
        let answer = decide(&rules, "email", &granted(), &contacts, Timestamp(4 * DAY));
        let ContactDecision::No(ContactRefusal::Capped { rule, until, .. }) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!((rule.scope, until), (CapScope::AllChannels, Timestamp(7 * DAY)));
        // Phone: the 30-day rule frees later than the 7-day ones.
        let answer = decide(&rules, "phone", &granted(), &contacts, Timestamp(4 * DAY));
        let ContactDecision::No(ContactRefusal::Capped { rule, until, .. }) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(rule.scope, CapScope::Channel("phone".into()));
        assert_eq!(until, Timestamp(33 * DAY));
    }

    #[test]
    fn consent_decides_first_and_a_denial_stops_even_a_banner() {
        let rules = TouchpointRules::default();
        let unknown = decide(&rules, "email", &Consent::UNKNOWN, &[], Timestamp(0));
        assert_eq!(unknown.to_string(), "no: consent unknown");
        assert!(decide(&rules, "banner", &Consent::UNKNOWN, &[], Timestamp(0)).is_yes());
        let denied = Consent {
            state: ConsentState::Denied,
            decided_by: Some((SourceId::from_raw(1), "N-7".into(), Timestamp(0))),
        };
        let answer = decide(&rules, "banner", &denied, &[], Timestamp(0));
        assert_eq!(
            answer.to_string(),
            "no: consent denied by source 1 record N-7 at 1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn rules_with_a_zero_cap_or_an_empty_channel_are_refused() {
        let mut rules = TouchpointRules::default();
        assert_eq!(rules.check(), Ok(()));
        rules.caps[0].max = 0;
        assert!(rules.check().is_err());
        let mut rules = TouchpointRules::default();
        rules.consent_free.push(" ".into());
        assert!(rules.check().is_err());
    }
}
