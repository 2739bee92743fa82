//! Journey stages (specification §8): the stages, the reasons that come with them, and the
//! [`StageClassifier`] trait a host may implement instead of the built-in rules.

use crate::behaviour::event::Event;
use crate::behaviour::window::{Window, DAY};
use crate::input::record::Timestamp;

/// Where a customer is in their journey.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Stage {
    /// No record carries an identifying key.
    Anonymous,
    /// Known, and no other stage applies.
    Identified,
    /// Engaging often lately.
    Engaged,
    /// Bought lately.
    Customer,
    /// Bought repeatedly lately.
    Loyal,
    /// Was active, has gone quiet.
    Lapsing,
    /// Nothing for a long time.
    Lapsed,
}

impl Stage {
    /// Every stage, in the table's order.
    pub const ALL: [Stage; 7] = [
        Stage::Anonymous,
        Stage::Identified,
        Stage::Engaged,
        Stage::Customer,
        Stage::Loyal,
        Stage::Lapsing,
        Stage::Lapsed,
    ];

    /// The lower-case name (`anonymous`, `identified`, …), as `Display` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Anonymous => "anonymous",
            Stage::Identified => "identified",
            Stage::Engaged => "engaged",
            Stage::Customer => "customer",
            Stage::Loyal => "loyal",
            Stage::Lapsing => "lapsing",
            Stage::Lapsed => "lapsed",
        }
    }
}

/// A name that is no stage (see [`Stage::from_str`](std::str::FromStr)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage {0:?} (anonymous, identified, engaged, customer, loyal, lapsing or lapsed)")]
pub struct UnknownStage(pub String);

impl std::str::FromStr for Stage {
    type Err = UnknownStage;

    /// A stage by its lower-case name, as `Display` prints it.
    fn from_str(name: &str) -> Result<Stage, UnknownStage> {
        Stage::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| UnknownStage(name.into()))
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// The rule that decided a stage, with the figures it read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum StageReason {
    /// No record of the customer carries an identifying key.
    Anonymous,
    /// The customer has events, none in `window`.
    Lapsed {
        /// The quiet window (180 days by default).
        window: Window,
        /// The latest event at or before `now`.
        last_event: Timestamp,
    },
    /// No engagement or purchase in `quiet`, but enough of them in `lookback`.
    Lapsing {
        /// The quiet window (30 days by default).
        quiet: Window,
        /// The window looked back over (180 days by default).
        lookback: Window,
        /// Engagement events in `lookback`.
        engagement: u32,
        /// Purchases in `lookback`.
        purchases: u32,
    },
    /// Enough purchases in `window` for loyal.
    Loyal {
        /// Purchases in the window.
        purchases: u32,
        /// The window (365 days by default).
        window: Window,
    },
    /// Enough purchases in `window` for customer.
    Customer {
        /// Purchases in the window.
        purchases: u32,
        /// The window (365 days by default).
        window: Window,
    },
    /// Enough engagement events in `window`.
    Engaged {
        /// Engagement events in the window.
        engagement: u32,
        /// The window (30 days by default).
        window: Window,
    },
    /// No other rule matched.
    Identified {
        /// Engagement events in the engaged rule's window (fewer than it needs).
        engagement: u32,
        /// The engaged rule's window.
        window: Window,
    },
    /// A host classifier's stage, in its own words.
    Host {
        /// The stage.
        stage: Stage,
        /// Why, as the host puts it.
        why: String,
    },
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl StageReason {
    /// The stage this reason decides.
    pub fn stage(&self) -> Stage {
        match self {
            StageReason::Anonymous => Stage::Anonymous,
            StageReason::Lapsed { .. } => Stage::Lapsed,
            StageReason::Lapsing { .. } => Stage::Lapsing,
            StageReason::Loyal { .. } => Stage::Loyal,
            StageReason::Customer { .. } => Stage::Customer,
            StageReason::Engaged { .. } => Stage::Engaged,
            StageReason::Identified { .. } => Stage::Identified,
            StageReason::Host { stage, .. } => *stage,
        }
    }
}

impl std::fmt::Display for StageReason {
    /// The stage, the rule and its figures: `loyal: 3 purchases in the last 365 days`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: ", self.stage())?;
        match self {
            StageReason::Anonymous => f.write_str("no record carries an identifying key"),
            StageReason::Lapsed { window, last_event } => {
                write!(f, "no event in {window} (the last on {last_event})")
            }
            StageReason::Lapsing { quiet, lookback, engagement, purchases } => write!(
                f,
                "no engagement or purchase in {quiet}, after {} and {} in {lookback}",
                plural(*engagement, "engagement event", "engagement events"),
                plural(*purchases, "purchase", "purchases"),
            ),
            StageReason::Loyal { purchases, window }
            | StageReason::Customer { purchases, window } => {
                write!(f, "{} in {window}", plural(*purchases, "purchase", "purchases"))
            }
            StageReason::Engaged { engagement, window } => write!(
                f,
                "{} in {window}",
                plural(*engagement, "engagement event", "engagement events")
            ),
            StageReason::Identified { engagement, window } => write!(
                f,
                "no other rule matched ({} in {window})",
                plural(*engagement, "engagement event", "engagement events")
            ),
            StageReason::Host { why, .. } => f.write_str(why),
        }
    }
}

/// A stage and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Classification {
    /// The stage.
    pub stage: Stage,
    /// The rule and figures that decided it.
    pub reason: StageReason,
}

impl Classification {
    /// The classification `reason` gives.
    pub fn new(reason: StageReason) -> Self {
        Classification { stage: reason.stage(), reason }
    }
}

impl std::fmt::Display for Classification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.reason.fmt(f)
    }
}

/// What a classifier reads about a customer.
#[derive(Clone, Copy, Debug)]
pub struct StageInput<'a> {
    /// Whether any record of the customer carries a valid, non-deny-listed value of an
    /// identifying kind (a shared or refused value still counts); the resolver decides it.
    pub identified: bool,
    /// The events of all the customer's records, in any order (events after `now` included:
    /// the classifier ignores them, but they tell it when the stage will change).
    pub events: &'a [Event<'a>],
}

/// How far back [`StageClassifier::next_change`]'s default looks for window boundaries: ten
/// years (3,660 days).
pub const DEFAULT_HORIZON_DAYS: u32 = 3_660;

/// Decides a customer's stage: a pure function of whether it is identified, its events and
/// `now`.
///
/// The resolver keeps a schedule of the next instant each customer's stage could change with
/// no new event ([`StageClassifier::next_change`]), so that advancing its journey clock costs
/// in proportion to the customers whose stage changes.
///
/// ```
/// use idstitch::behaviour::{Classification, Stage, StageClassifier, StageInput, StageReason};
/// use idstitch::Timestamp;
///
/// /// Everyone known is "identified".
/// struct Flat;
/// impl StageClassifier for Flat {
///     fn classify(&self, input: &StageInput<'_>, _now: Timestamp) -> Classification {
///         let stage = if input.identified { Stage::Identified } else { Stage::Anonymous };
///         Classification::new(StageReason::Host { stage, why: "flat".into() })
///     }
///     fn next_change(&self, _input: &StageInput<'_>, _now: Timestamp) -> Option<Timestamp> {
///         None
///     }
/// }
/// let input = StageInput { identified: true, events: &[] };
/// assert_eq!(Flat.classify(&input, Timestamp(0)).to_string(), "identified: flat");
/// ```
pub trait StageClassifier: Send + Sync {
    /// The stage as of `now`; events after `now` are ignored.
    fn classify(&self, input: &StageInput<'_>, now: Timestamp) -> Classification;

    /// The earliest instant after `now` at which the stage could differ with no new event, or
    /// `None` if time alone never changes it. Returning an instant earlier than the true
    /// change is allowed (the resolver classifies again then and asks anew); a later one
    /// makes the journey clock report the change late.
    ///
    /// The default suits classifiers whose rules count events in windows of whole days of at
    /// most [`DEFAULT_HORIZON_DAYS`] (as every rule of the specification does): the earliest
    /// instant after `now` at which an event enters the window of the past (its own time, for a
    /// future-dated event) or becomes a whole number of days old. That can be as often as
    /// daily per customer with recent events; a classifier that knows its windows should say
    /// exactly when its rules flip, as the built-in `RuleClassifier` does.
    fn next_change(&self, input: &StageInput<'_>, now: Timestamp) -> Option<Timestamp> {
        let horizon = Window::days(DEFAULT_HORIZON_DAYS);
        input
            .events
            .iter()
            .filter_map(|e| {
                if e.at > now {
                    return Some(e.at);
                }
                if !horizon.contains(e.at, now) {
                    return None;
                }
                // The next whole-day anniversary of the event after `now`.
                let age = now.0 as i128 - e.at.0 as i128;
                let next = e.at.0 as i128 + (age / DAY as i128 + 1) * DAY as i128;
                i64::try_from(next).ok().map(Timestamp)
            })
            .min()
    }
}

/// A shared classifier classifies as the one it points to.
impl<T: StageClassifier + ?Sized> StageClassifier for std::sync::Arc<T> {
    fn classify(&self, input: &StageInput<'_>, now: Timestamp) -> Classification {
        (**self).classify(input, now)
    }

    fn next_change(&self, input: &StageInput<'_>, now: Timestamp) -> Option<Timestamp> {
        (**self).next_change(input, now)
    }
}

/// A boxed classifier classifies as the one it holds.
impl<T: StageClassifier + ?Sized> StageClassifier for Box<T> {
    fn classify(&self, input: &StageInput<'_>, now: Timestamp) -> Classification {
        (**self).classify(input, now)
    }

    fn next_change(&self, input: &StageInput<'_>, now: Timestamp) -> Option<Timestamp> {
        (**self).next_change(input, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::kind::{EventClass, EventKind};

    #[test]
    fn reasons_read_with_their_figures() {
        let year = Window::days(365);
        let cases = [
            (
                StageReason::Loyal { purchases: 3, window: year },
                "loyal: 3 purchases in the last 365 days",
            ),
            (
                StageReason::Customer { purchases: 1, window: year },
                "customer: 1 purchase in the last 365 days",
            ),
            (
                StageReason::Engaged { engagement: 4, window: Window::days(30) },
                "engaged: 4 engagement events in the last 30 days",
            ),
            (
                StageReason::Lapsing {
                    quiet: Window::days(30),
                    lookback: Window::days(180),
                    engagement: 1,
                    purchases: 2,
                },
                "lapsing: no engagement or purchase in the last 30 days, after 1 engagement event \
                 and 2 purchases in the last 180 days",
            ),
            (
                StageReason::Lapsed { window: Window::days(180), last_event: Timestamp(0) },
                "lapsed: no event in the last 180 days (the last on 1970-01-01T00:00:00Z)",
            ),
            (
                StageReason::Identified { engagement: 0, window: Window::days(30) },
                "identified: no other rule matched (0 engagement events in the last 30 days)",
            ),
            (StageReason::Anonymous, "anonymous: no record carries an identifying key"),
        ];
        for (reason, text) in cases {
            assert_eq!(Classification::new(reason).to_string(), text);
        }
    }

    struct Opaque;
    impl StageClassifier for Opaque {
        fn classify(&self, _: &StageInput<'_>, _: Timestamp) -> Classification {
            Classification::new(StageReason::Anonymous)
        }
    }

    #[test]
    fn default_next_change_is_the_next_day_boundary_or_future_event() {
        let at = |t| Event {
            kind: EventKind::PAGE_VIEW,
            class: EventClass::Engagement,
            at: Timestamp(t),
            topic: None,
            value: 0.0,
            channel: None,
        };
        let now = Timestamp(100 * DAY);
        let events = [at(100 * DAY - 10), at(90 * DAY + 5), at(100 * DAY + 7)];
        let input = StageInput { identified: true, events: &events };
        assert_eq!(Opaque.next_change(&input, now), Some(Timestamp(100 * DAY + 5)));
        let input = StageInput { identified: true, events: &events[..1] };
        assert_eq!(Opaque.next_change(&input, now), Some(Timestamp(101 * DAY - 10)));
        let old = [at(now.0 - i64::from(DEFAULT_HORIZON_DAYS) * DAY)];
        assert_eq!(Opaque.next_change(&StageInput { identified: true, events: &old }, now), None);
    }
}
