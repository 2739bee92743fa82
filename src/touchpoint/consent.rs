//! Consent (specification §9): statements per record and channel, and a customer's consent as
//! the most restrictive of its records' latest statements, so a merge never turns a "no" into
//! a "yes".

use std::fmt;

use crate::behaviour::{EventRejectReason, EVENT_TIME_RANGE, MAX_EVENT_TEXT};
use crate::ids::SourceId;
use crate::input::record::{trim_external_id, Timestamp};

/// What a record said about a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ConsentStatus {
    /// The person agreed to be contacted on the channel.
    Granted,
    /// The person refused (or withdrew) contact on the channel.
    Denied,
}

impl ConsentStatus {
    /// `granted` or `denied`.
    pub const fn name(self) -> &'static str {
        match self {
            ConsentStatus::Granted => "granted",
            ConsentStatus::Denied => "denied",
        }
    }
}

impl fmt::Display for ConsentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A customer's consent on a channel: the most restrictive of its records' latest statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum ConsentState {
    /// A record's latest statement grants, and none denies.
    Granted,
    /// A record's latest statement denies.
    Denied,
    /// No record made a statement on the channel.
    Unknown,
}

impl ConsentState {
    /// `granted`, `denied` or `unknown`.
    pub const fn name(self) -> &'static str {
        match self {
            ConsentState::Granted => "granted",
            ConsentState::Denied => "denied",
            ConsentState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ConsentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A consent statement as the host hands it in: a record, by `(source, external id)`, said
/// `status` about `channel` at `at`. Like an event, it may arrive before its record and follows
/// the record through merges and splits.
///
/// ```
/// use idstitch::touchpoint::{ConsentInput, ConsentStatus};
/// use idstitch::{SourceId, Timestamp};
///
/// let opt_out = ConsentInput::denied(SourceId::from_raw(0), "N-7", "newsletter", Timestamp(0));
/// assert_eq!(opt_out.status, ConsentStatus::Denied);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ConsentInput {
    /// The source of the record that made the statement.
    pub source: SourceId,
    /// The record's id in that source; trimmed as record ids are.
    pub external_id: String,
    /// The channel it is about (`email`, `newsletter`, `banner`, `phone`, `invitation`, or
    /// the host's own).
    pub channel: String,
    /// Granted or denied.
    pub status: ConsentStatus,
    /// When it was said (UTC).
    pub at: Timestamp,
}

impl ConsentInput {
    /// A statement.
    pub fn new(
        source: SourceId,
        external_id: impl Into<String>,
        channel: impl Into<String>,
        status: ConsentStatus,
        at: Timestamp,
    ) -> Self {
        ConsentInput {
            source,
            external_id: external_id.into(),
            channel: channel.into(),
            status,
            at,
        }
    }

    /// A statement granting consent.
    pub fn granted(
        source: SourceId,
        external_id: impl Into<String>,
        channel: impl Into<String>,
        at: Timestamp,
    ) -> Self {
        Self::new(source, external_id, channel, ConsentStatus::Granted, at)
    }

    /// A statement denying consent.
    pub fn denied(
        source: SourceId,
        external_id: impl Into<String>,
        channel: impl Into<String>,
        at: Timestamp,
    ) -> Self {
        Self::new(source, external_id, channel, ConsentStatus::Denied, at)
    }

    /// Checks everything that does not need the resolver (the source is checked there).
    ///
    /// # Errors
    /// [`EventRejectReason::EmptyExternalId`], [`EventRejectReason::EmptyChannel`],
    /// [`EventRejectReason::TextTooLong`] or [`EventRejectReason::TimeOutOfRange`].
    pub fn validate(&self) -> Result<(), EventRejectReason> {
        check_touch(&self.external_id, &self.channel, None, self.at)
    }
}

/// The checks a consent statement and a contact share.
pub(super) fn check_touch(
    external_id: &str,
    channel: &str,
    extra: Option<&str>,
    at: Timestamp,
) -> Result<(), EventRejectReason> {
    let id = trim_external_id(external_id);
    if id.is_empty() {
        return Err(EventRejectReason::EmptyExternalId);
    }
    if channel.trim().is_empty() {
        return Err(EventRejectReason::EmptyChannel);
    }
    if [id, channel, extra.unwrap_or_default()].iter().any(|s| s.len() > MAX_EVENT_TEXT) {
        return Err(EventRejectReason::TextTooLong);
    }
    if at < EVENT_TIME_RANGE.0 || at > EVENT_TIME_RANGE.1 {
        return Err(EventRejectReason::TimeOutOfRange);
    }
    Ok(())
}

/// One held statement, as [`customer_consent`] reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The record's source.
    pub source: SourceId,
    /// The record's id in its source.
    pub external_id: &'a str,
    /// The channel.
    pub channel: &'a str,
    /// What it said.
    pub status: ConsentStatus,
    /// When.
    pub at: Timestamp,
}

/// A customer's consent on a channel, with the statement that decided it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Consent {
    /// Granted, denied or unknown.
    pub state: ConsentState,
    /// The deciding statement's record (source and external id) and time; `None` when
    /// unknown.
    pub decided_by: Option<(SourceId, String, Timestamp)>,
}

impl Consent {
    /// No statement.
    pub const UNKNOWN: Consent = Consent { state: ConsentState::Unknown, decided_by: None };
}

impl fmt::Display for Consent {
    /// `denied by source 1 record N-7 at 2026-03-01T00:00:00Z`, or `unknown`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.decided_by {
            Some((source, id, at)) => {
                write!(f, "{} by source {} record {id} at {at}", self.state, source.get())
            }
            None => write!(f, "{}", self.state),
        }
    }
}

/// The consent on `channel` the `statements` of one customer's records give as of `now`
/// (statements after `now` do not count; `None` counts them all): per record its latest
/// statement on the channel (a denial wins a tie), then any denied → denied, else any granted
/// → granted, else unknown. The deciding statement is the latest of the deciding status (ties
/// by source, then external id), so the answer does not depend on the order of `statements`.
///
/// ```
/// use idstitch::touchpoint::{customer_consent, ConsentState, ConsentStatus, Statement};
/// use idstitch::{SourceId, Timestamp};
///
/// let s = |id, status, at| Statement {
///     source: SourceId::from_raw(0), external_id: id, channel: "email", status, at: Timestamp(at),
/// };
/// // C-1 granted, then withdrew; C-2 granted. Merged, the customer is denied by C-1.
/// let held = [
///     s("C-1", ConsentStatus::Granted, 10),
///     s("C-1", ConsentStatus::Denied, 20),
///     s("C-2", ConsentStatus::Granted, 30),
/// ];
/// let consent = customer_consent(&held, "email", None);
/// assert_eq!(consent.state, ConsentState::Denied);
/// assert_eq!(consent.decided_by.unwrap().1, "C-1");
/// // As of time 15, C-1's latest statement granted.
/// assert_eq!(customer_consent(&held, "email", Some(Timestamp(15))).state, ConsentState::Granted);
/// ```
pub fn customer_consent(
    statements: &[Statement<'_>],
    channel: &str,
    now: Option<Timestamp>,
) -> Consent {
    // Latest statement per record: sort the channel's statements by record, then time, denial
    // last, and take each record's last.
    let mut held: Vec<&Statement<'_>> = statements
        .iter()
        .filter(|s| s.channel == channel && now.is_none_or(|now| s.at <= now))
        .collect();
    held.sort_unstable_by(|a, b| {
        (a.source, a.external_id, a.at, a.status).cmp(&(b.source, b.external_id, b.at, b.status))
    });
    let mut best: Option<&Statement<'_>> = None;
    for (i, s) in held.iter().enumerate() {
        let last_of_record = held
            .get(i + 1)
            .is_none_or(|next| (next.source, next.external_id) != (s.source, s.external_id));
        if !last_of_record {
            continue;
        }
        // Denied beats granted; then the later; then the smaller record.
        let better = best.is_none_or(|b| {
            (s.status, s.at, std::cmp::Reverse((s.source, s.external_id)))
                > (b.status, b.at, std::cmp::Reverse((b.source, b.external_id)))
        });
        if better {
            best = Some(s);
        }
    }
    match best {
        None => Consent::UNKNOWN,
        Some(s) => Consent {
            state: match s.status {
                ConsentStatus::Granted => ConsentState::Granted,
                ConsentStatus::Denied => ConsentState::Denied,
            },
            decided_by: Some((s.source, s.external_id.to_string(), s.at)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(
        source: u16,
        id: &'static str,
        channel: &'static str,
        status: ConsentStatus,
        at: i64,
    ) -> Statement<'static> {
        Statement {
            source: SourceId::from_raw(source),
            external_id: id,
            channel,
            status,
            at: Timestamp(at),
        }
    }

    use ConsentStatus::{Denied, Granted};

    #[test]
    fn a_later_grant_on_the_same_record_lifts_its_denial() {
        let held = [s(0, "A", "email", Denied, 1), s(0, "A", "email", Granted, 2)];
        let c = customer_consent(&held, "email", None);
        assert_eq!(c.state, ConsentState::Granted);
        assert_eq!(c.decided_by, Some((SourceId::from_raw(0), "A".into(), Timestamp(2))));
    }

    #[test]
    fn any_records_denial_wins_over_another_records_later_grant() {
        let held = [s(0, "A", "email", Denied, 1), s(1, "B", "email", Granted, 9)];
        assert_eq!(customer_consent(&held, "email", None).state, ConsentState::Denied);
    }

    #[test]
    fn a_tie_in_time_on_one_record_denies() {
        let mut held = [s(0, "A", "phone", Granted, 5), s(0, "A", "phone", Denied, 5)];
        assert_eq!(customer_consent(&held, "phone", None).state, ConsentState::Denied);
        held.reverse();
        assert_eq!(customer_consent(&held, "phone", None).state, ConsentState::Denied);
    }

    #[test]
    fn other_channels_and_later_statements_do_not_count() {
        let held = [s(0, "A", "phone", Denied, 5), s(0, "A", "email", Granted, 7)];
        assert_eq!(customer_consent(&held, "sms", None), Consent::UNKNOWN);
        assert_eq!(customer_consent(&held, "email", Some(Timestamp(6))), Consent::UNKNOWN);
        assert_eq!(
            customer_consent(&held, "email", Some(Timestamp(7))).state,
            ConsentState::Granted
        );
    }

    #[test]
    fn the_answer_does_not_depend_on_the_order_of_the_statements() {
        let mut held = vec![
            s(1, "B", "email", Granted, 3),
            s(0, "A", "email", Granted, 3),
            s(0, "C", "email", Denied, 2),
            s(2, "D", "email", Denied, 2),
            s(0, "C", "email", Granted, 1),
        ];
        let first = customer_consent(&held, "email", None);
        assert_eq!(first.decided_by, Some((SourceId::from_raw(0), "C".into(), Timestamp(2))));
        held.reverse();
        assert_eq!(customer_consent(&held, "email", None), first);
        held.rotate_left(2);
        assert_eq!(customer_consent(&held, "email", None), first);
    }

    #[test]
    fn bad_statements_are_typed_errors() {
        let src = SourceId::from_raw(0);
        let ok = ConsentInput::granted(src, "A", "email", Timestamp(0));
        assert_eq!(ok.validate(), Ok(()));
        let mut bad = ok.clone();
        bad.channel = " ".into();
        assert_eq!(bad.validate(), Err(EventRejectReason::EmptyChannel));
        bad = ok.clone();
        bad.external_id = "  ".into();
        assert_eq!(bad.validate(), Err(EventRejectReason::EmptyExternalId));
        bad = ok.clone();
        bad.at = Timestamp(i64::MAX);
        assert_eq!(bad.validate(), Err(EventRejectReason::TimeOutOfRange));
        bad = ok;
        bad.channel = "x".repeat(MAX_EVENT_TEXT + 1);
        assert_eq!(bad.validate(), Err(EventRejectReason::TextTooLong));
    }
}
