//! An event as a host hands it in, why one is refused, and the borrowed view the summary and
//! the stage rules read.

use std::collections::BTreeMap;

use crate::behaviour::kind::{EventClass, EventKind, EventKinds};
use crate::ids::SourceId;
use crate::input::record::{trim_external_id, Timestamp};

/// Longest external id, topic, channel or event id, in bytes (as for record ids and keys).
pub const MAX_EVENT_TEXT: usize = 1024;

/// Events are held between these instants (inclusive), about ±17,000 years around 1970: the
/// event store packs a time into 40 bits.
pub const EVENT_TIME_RANGE: (Timestamp, Timestamp) =
    (Timestamp(-(1 << 39)), Timestamp((1 << 39) - 1));

/// One behavioural event, as the host supplies it: it names its record by `(source,
/// external id)`, which may arrive before or after it.
///
/// ```
/// use idstitch::behaviour::{EventInput, EventKind, EventKinds};
/// use idstitch::{SourceId, Timestamp};
///
/// let web = SourceId::from_raw(3);
/// let read = EventInput::new(web, "cookie-17", EventKind::ARTICLE_READ, Timestamp(1_714_555_800))
///     .with_topic("Rates rise again")
///     .with_value(95.0)
///     .with_channel("web")
///     .with_id("ev-88121");
/// read.validate(&EventKinds::new())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EventInput {
    /// The source of the record the event belongs to (and the scope of its id).
    pub source: SourceId,
    /// The record's id in that source; trimmed as record ids are.
    pub external_id: String,
    /// What happened.
    pub kind: EventKind,
    /// When (UTC).
    pub at: Timestamp,
    /// A title, product or search query; empty counts as none.
    pub topic: Option<String>,
    /// An amount (purchases) or seconds spent reading (`article_read`); 0 when meaningless.
    pub value: f64,
    /// Where it happened (`email`, `web`, …); empty counts as none.
    pub channel: Option<String>,
    /// The event's id within its source: an event whose id is held replaces the held one, so a
    /// replayed feed does not count twice. Empty counts as none.
    pub id: Option<String>,
}

impl EventInput {
    /// An event with no topic, value 0, no channel and no id.
    pub fn new(
        source: SourceId,
        external_id: impl Into<String>,
        kind: EventKind,
        at: Timestamp,
    ) -> Self {
        EventInput {
            source,
            external_id: external_id.into(),
            kind,
            at,
            topic: None,
            value: 0.0,
            channel: None,
            id: None,
        }
    }

    /// Sets the topic (builder style).
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Sets the value (builder style).
    pub fn with_value(mut self, value: f64) -> Self {
        self.value = value;
        self
    }

    /// Sets the channel (builder style).
    pub fn with_channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// Sets the event id (builder style).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The external id as records are keyed by it.
    pub(crate) fn record_id(&self) -> &str {
        trim_external_id(&self.external_id)
    }

    /// Checks everything that does not need the resolver (the source is checked there) and
    /// returns the kind's class.
    ///
    /// # Errors
    /// The first [`EventRejectReason`] that applies, in declaration order.
    pub fn validate(&self, kinds: &EventKinds) -> Result<EventClass, EventRejectReason> {
        let class = kinds.class(self.kind).ok_or(EventRejectReason::UnknownKind)?;
        let id = self.record_id();
        if id.is_empty() {
            return Err(EventRejectReason::EmptyExternalId);
        }
        let long = |s: &Option<String>| s.as_ref().is_some_and(|s| s.len() > MAX_EVENT_TEXT);
        if id.len() > MAX_EVENT_TEXT || long(&self.topic) || long(&self.channel) || long(&self.id) {
            return Err(EventRejectReason::TextTooLong);
        }
        if self.at < EVENT_TIME_RANGE.0 || self.at > EVENT_TIME_RANGE.1 {
            return Err(EventRejectReason::TimeOutOfRange);
        }
        if !self.value.is_finite() {
            return Err(EventRejectReason::NonFiniteValue);
        }
        // Amounts and reading seconds are summed; a negative one would cancel real ones.
        if self.value < 0.0
            && (class == EventClass::Purchase || self.kind == EventKind::ARTICLE_READ)
        {
            return Err(EventRejectReason::NegativeValue);
        }
        Ok(class)
    }
}

/// Why an event was refused. Refused events are counted per source and reason, never fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum EventRejectReason {
    /// The event names a source that was never registered (checked by the resolver).
    #[error("unknown source")]
    UnknownSource,
    /// The event's kind was never declared.
    #[error("unknown event kind")]
    UnknownKind,
    /// The external id is empty after trimming.
    #[error("empty external record id")]
    EmptyExternalId,
    /// The external id, topic, channel or event id is longer than 1,024 bytes.
    #[error("external id, topic, channel or event id longer than 1024 bytes")]
    TextTooLong,
    /// The time is outside [`EVENT_TIME_RANGE`] (about ±17,000 years around 1970).
    #[error("time outside the range events are held in")]
    TimeOutOfRange,
    /// The value is NaN or infinite.
    #[error("value is not a finite number")]
    NonFiniteValue,
    /// A purchase's amount or an `article_read`'s reading seconds is negative.
    #[error("negative amount or reading seconds")]
    NegativeValue,
    /// A consent statement or contact names no channel (empty after trimming).
    #[error("empty channel")]
    EmptyChannel,
    /// The store holds as many events, distinct topics or distinct channels as it can
    /// (2³² − 2 events or topics, 4,095 channels).
    #[error("event store capacity reached")]
    CapacityExceeded,
}

/// What became of a batch of events: bad events are counted per source and reason, never
/// fatal.
///
/// ```
/// use idstitch::behaviour::{EventRejectReason, EventReport};
/// use idstitch::SourceId;
///
/// let mut report = EventReport::default();
/// report.reject(SourceId::from_raw(2), EventRejectReason::NegativeValue);
/// report.reject(SourceId::from_raw(2), EventRejectReason::NegativeValue);
/// assert_eq!(report.n_rejected(), 2);
/// assert_eq!(report.rejected[&(SourceId::from_raw(2), EventRejectReason::NegativeValue)], 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct EventReport {
    /// Events stored (new or replacing a held one).
    pub accepted: u64,
    /// Of those, events whose id was held: they replaced the held event.
    pub replaced: u64,
    /// Events refused, by source and reason.
    pub rejected: BTreeMap<(SourceId, EventRejectReason), u64>,
}

impl EventReport {
    /// Counts one refused event.
    pub fn reject(&mut self, source: SourceId, reason: EventRejectReason) {
        *self.rejected.entry((source, reason)).or_default() += 1;
    }

    /// Total events refused.
    pub fn n_rejected(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Adds another report's counts to this one.
    pub fn absorb(&mut self, other: &EventReport) {
        self.accepted += other.accepted;
        self.replaced += other.replaced;
        for (key, n) in &other.rejected {
            *self.rejected.entry(*key).or_default() += n;
        }
    }
}

/// A held event, borrowed from the store: what the summary and the stage rules read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event<'a> {
    /// What happened.
    pub kind: EventKind,
    /// The kind's class.
    pub class: EventClass,
    /// When.
    pub at: Timestamp,
    /// The topic, if any.
    pub topic: Option<&'a str>,
    /// The amount or reading seconds; 0 when meaningless.
    pub value: f64,
    /// The channel, if any.
    pub channel: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// A view of `input` as held (empty texts as none), once [`EventInput::validate`] gave
    /// its class: for hosts and tests that classify events they hold themselves.
    ///
    /// ```
    /// use idstitch::behaviour::{Event, EventClass, EventInput, EventKind};
    /// use idstitch::{SourceId, Timestamp};
    ///
    /// let input = EventInput::new(SourceId::from_raw(0), "r1", EventKind::ORDER, Timestamp(5))
    ///     .with_value(20.0);
    /// let event = Event::from_input(&input, EventClass::Purchase);
    /// assert_eq!((event.value, event.topic), (20.0, None));
    /// ```
    pub fn from_input(input: &'a EventInput, class: EventClass) -> Self {
        let text = |s: &'a Option<String>| s.as_deref().filter(|s| !s.is_empty());
        Event {
            kind: input.kind,
            class,
            at: input.at,
            topic: text(&input.topic),
            value: input.value,
            channel: text(&input.channel),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: EventKind) -> EventInput {
        EventInput::new(SourceId::from_raw(1), " r1 ", kind, Timestamp(0))
    }

    #[test]
    fn validation_names_the_first_problem() {
        let kinds = EventKinds::new();
        assert_eq!(input(EventKind::ORDER).validate(&kinds), Ok(EventClass::Purchase));
        assert_eq!(input(EventKind(99)).validate(&kinds), Err(EventRejectReason::UnknownKind));
        let mut e = input(EventKind::PAGE_VIEW);
        e.external_id = "  ".into();
        assert_eq!(e.validate(&kinds), Err(EventRejectReason::EmptyExternalId));
        let long = "x".repeat(MAX_EVENT_TEXT + 1);
        for e in [
            input(EventKind::SEARCH).with_topic(&long),
            input(EventKind::SEARCH).with_channel(&long),
            input(EventKind::SEARCH).with_id(&long),
        ] {
            assert_eq!(e.validate(&kinds), Err(EventRejectReason::TextTooLong));
        }
        assert!(input(EventKind::SEARCH)
            .with_topic("x".repeat(MAX_EVENT_TEXT))
            .validate(&kinds)
            .is_ok());
        for at in [EVENT_TIME_RANGE.0 .0 - 1, EVENT_TIME_RANGE.1 .0 + 1, i64::MIN, i64::MAX] {
            let mut e = input(EventKind::SEARCH);
            e.at = Timestamp(at);
            assert_eq!(e.validate(&kinds), Err(EventRejectReason::TimeOutOfRange));
        }
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(
                input(EventKind::PAGE_VIEW).with_value(v).validate(&kinds),
                Err(EventRejectReason::NonFiniteValue)
            );
        }
        for kind in [EventKind::ORDER, EventKind::SUBSCRIPTION, EventKind::ARTICLE_READ] {
            assert_eq!(
                input(kind).with_value(-1.0).validate(&kinds),
                Err(EventRejectReason::NegativeValue)
            );
        }
        assert!(
            input(EventKind::TICKET).with_value(-1.0).validate(&kinds).is_ok(),
            "no meaning, no check"
        );
    }
}
