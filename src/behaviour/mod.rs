//! Behaviour: events, the summary as of an instant, and journey stages (specification §7, §8).
//!
//! An event names its record by `(source, external id)`; the store keeps it with that record
//! (or pending until the record arrives), so a customer's behaviour is the union of its
//! records' events and merges and splits copy nothing. Everything here reads events through
//! the borrowed [`Event`] view and is a pure function of the events and `now`:
//!
//! - [`Window`] is the one definition of "in the last D days as of `now`": `now − D × 86,400 s
//!   < at ≤ now`. Events after `now` are ignored.
//! - [`Summary`] counts per class and kind in 7/30/90/365 days, recency, frequency, monetary,
//!   reading seconds, channels and top topics, in one pass.
//! - [`StageClassifier`] decides a [`Stage`] with a [`StageReason`] that carries its figures,
//!   and says when time alone next changes it; [`RuleClassifier`] is the specification's table
//!   with every threshold in [`StageRules`], and computes cross-sell topics.
//!
//! Sums of amounts and seconds are order-independent (fixed point), and lists are sorted, so
//! a customer's figures do not depend on the order its records or events are visited in.
//!
//! # Example: a stage, why, and when time next changes it
//!
//! ```
//! use idstitch::behaviour::{
//!     Event, EventClass, EventKind, RuleClassifier, Stage, StageClassifier, StageInput,
//! };
//! use idstitch::Timestamp;
//!
//! let day = 86_400;
//! let now = Timestamp(20_000 * day);
//! let view = |days_ago: i64| Event {
//!     kind: EventKind::PAGE_VIEW,
//!     class: EventClass::Engagement,
//!     at: Timestamp(now.0 - days_ago * day),
//!     topic: Some("bikes"),
//!     value: 0.0,
//!     channel: Some("web"),
//! };
//! let events = [view(1), view(2), view(29)];
//! let input = StageInput { identified: true, events: &events };
//! let rules = RuleClassifier::default();
//! let stage = rules.classify(&input, now);
//! assert_eq!(stage.to_string(), "engaged: 3 engagement events in the last 30 days");
//! // A journey clock schedules the customer at the next change and classifies again then:
//! // the view of 29 days ago leaves the month in a day, and with two views left the
//! // customer is merely identified.
//! let next = rules.next_change(&input, now).unwrap();
//! assert_eq!(next, Timestamp(now.0 + day));
//! assert_eq!(rules.classify(&input, Timestamp(next.0 - 1)).stage, Stage::Engaged);
//! assert_eq!(rules.classify(&input, next).stage, Stage::Identified);
//! ```

pub(crate) mod event;
pub(crate) mod kind;
pub(crate) mod rules;
pub(crate) mod stage;
pub(crate) mod summary;
pub(crate) mod window;

pub use event::{
    Event, EventInput, EventRejectReason, EventReport, EVENT_TIME_RANGE, MAX_EVENT_TEXT,
};
pub use kind::{
    EventClass, EventKind, EventKindError, EventKinds, BUILT_IN_EVENT_KINDS, MAX_EVENT_KINDS,
    MAX_EVENT_KIND_NAME,
};
pub use rules::{ChangeScratch, RuleClassifier, StageRules};
pub use stage::{
    Classification, Stage, StageClassifier, StageInput, StageReason, UnknownStage,
    DEFAULT_HORIZON_DAYS,
};
pub use summary::{
    ClassCounts, KindCounts, Summary, SummaryScratch, TopicCount, WindowCounts, TOP_TOPICS,
};
pub use window::{Window, DAY};

#[cfg(test)]
mod rules_tests;

#[cfg(test)]
mod tests {
    /// Hosts share classifiers and summaries between threads: none may hold an `Rc` or a
    /// `Cell`.
    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::EventKinds>();
        check::<super::EventInput>();
        check::<super::EventReport>();
        check::<super::Event<'_>>();
        check::<super::Summary>();
        check::<super::SummaryScratch>();
        check::<super::Classification>();
        check::<super::RuleClassifier>();
        check::<super::ChangeScratch>();
        check::<Box<dyn super::StageClassifier>>();
    }
}
