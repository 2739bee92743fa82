//! Where is each customer in their journey now, and when will time alone move them?
//!
//! The journey clock starts when the host first advances it. From then on every customer has
//! a tracked stage, the classification of its events as of the clock, and an entry in a
//! schedule at the next instant its stage could change with no new event
//! ([`StageClassifier::next_change`]). A call that changes a customer's records or events
//! classifies it again; advancing the clock takes the schedule's entries up to the new time
//! in order, so its cost follows the customers whose stage time changes, never all of them.
//!
//! Invariant: while the clock runs, every live customer's tracked stage is its classification
//! as of the clock, and its schedule entry is the classifier's next change from then.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::behaviour::{
    Classification, RuleClassifier, Stage, StageClassifier, StageInput, StageRules, TopicCount,
};
use crate::ids::CustomerId;
use crate::input::record::Timestamp;
use crate::partition::events::{StageCause, StageChanged};

/// No scheduled change.
const NEVER: i64 = i64::MAX;

/// How a resolver classifies journey stages.
#[derive(Clone)]
pub(crate) enum StageSetup {
    /// The built-in rules with these thresholds.
    Rules(StageRules),
    /// A host's classifier (cross-sell topics then follow the default rules).
    Custom(Arc<dyn StageClassifier>),
}

impl std::fmt::Debug for StageSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StageSetup::Rules(rules) => f.debug_tuple("Rules").field(rules).finish(),
            StageSetup::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// The stage tracking of a resolver: see the module documentation.
#[derive(Clone)]
pub(crate) struct Journey {
    setup: StageSetup,
    classifier: Arc<dyn StageClassifier>,
    /// Cross-sell topics: the built-in rules' (the configured ones, or the defaults beside a
    /// host's classifier).
    rules: RuleClassifier,
    clock: Option<Timestamp>,
    /// Per customer id: its tracked stage (`None`: no customer, or the clock is not running).
    stages: Vec<Option<Stage>>,
    /// Per customer id: its entry in `schedule`, or `NEVER`.
    next: Vec<i64>,
    /// `(instant, customer)` of every scheduled check, earliest first.
    schedule: BTreeSet<(i64, u64)>,
}

impl std::fmt::Debug for Journey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journey")
            .field("clock", &self.clock)
            .field("tracked", &self.stages.iter().flatten().count())
            .field("scheduled", &self.schedule.len())
            .finish_non_exhaustive()
    }
}

impl Default for Journey {
    fn default() -> Self {
        Journey::new(StageSetup::Rules(StageRules::default()))
    }
}

impl Journey {
    /// Stage tracking as `setup` says, the clock not running.
    pub fn new(setup: StageSetup) -> Self {
        let (classifier, rules): (Arc<dyn StageClassifier>, _) = match &setup {
            StageSetup::Rules(rules) => {
                let rules = RuleClassifier::new(rules.clone());
                (Arc::new(rules.clone()), rules)
            }
            StageSetup::Custom(classifier) => (Arc::clone(classifier), RuleClassifier::default()),
        };
        Journey {
            setup,
            classifier,
            rules,
            clock: None,
            stages: Vec::new(),
            next: Vec::new(),
            schedule: BTreeSet::new(),
        }
    }

    /// The classifier.
    pub fn classifier(&self) -> &dyn StageClassifier {
        &*self.classifier
    }

    /// How stages are classified.
    pub fn setup(&self) -> &StageSetup {
        &self.setup
    }

    /// The cross-sell topics of a customer as of `now` (DESIGN §8), by the built-in rules:
    /// only a `customer` or `loyal` has any.
    pub fn cross_sell(&self, input: &StageInput<'_>, now: Timestamp) -> Vec<TopicCount> {
        self.rules.cross_sell(input, now)
    }

    /// The clock, once the host has advanced it.
    pub fn clock(&self) -> Option<Timestamp> {
        self.clock
    }

    /// The tracked stage of `customer`.
    pub fn stage(&self, customer: CustomerId) -> Option<Stage> {
        self.stages.get(customer.0 as usize).copied().flatten()
    }

    /// Starts the clock at `now`, tracking nobody yet: the caller classifies every customer
    /// with [`Journey::track`] next.
    pub fn start(&mut self, now: Timestamp) {
        self.clock = Some(now);
        self.stages.clear();
        self.next.clear();
        self.schedule.clear();
    }

    /// Classifies `customer` as of the clock and schedules its next check; returns the change
    /// from its tracked stage (`from: None` for a customer not tracked before), caused by
    /// `cause`, or nothing if the clock is not running or the stage stays.
    pub fn track(
        &mut self,
        customer: CustomerId,
        input: &StageInput<'_>,
        cause: StageCause,
    ) -> Option<StageChanged> {
        let now = self.clock?;
        self.classify_at(customer, input, now, cause)
    }

    fn classify_at(
        &mut self,
        customer: CustomerId,
        input: &StageInput<'_>,
        now: Timestamp,
        cause: StageCause,
    ) -> Option<StageChanged> {
        let Classification { stage, .. } = self.classifier.classify(input, now);
        let next = self.classifier.next_change(input, now).map_or(NEVER, |t| t.0.max(now.0 + 1));
        let i = customer.0 as usize;
        if self.stages.len() <= i {
            self.stages.resize(i + 1, None);
            self.next.resize(i + 1, NEVER);
        }
        self.reschedule(customer, next);
        let from = self.stages[i].replace(stage);
        (from != Some(stage)).then_some(StageChanged { customer, from, to: stage, at: now, cause })
    }

    fn reschedule(&mut self, customer: CustomerId, next: i64) {
        let i = customer.0 as usize;
        let old = std::mem::replace(&mut self.next[i], next);
        if old != NEVER {
            self.schedule.remove(&(old, customer.0));
        }
        if next != NEVER {
            self.schedule.insert((next, customer.0));
        }
    }

    /// Stops tracking `customer` (it ceased to exist).
    pub fn forget(&mut self, customer: CustomerId) {
        let i = customer.0 as usize;
        if i < self.stages.len() {
            self.stages[i] = None;
            self.reschedule(customer, NEVER);
        }
    }

    /// The earliest scheduled check at or before `until`, taken off the schedule.
    pub fn take_due(&mut self, until: Timestamp) -> Option<(Timestamp, CustomerId)> {
        let &(at, customer) = self.schedule.first().filter(|&&(at, _)| at <= until.0)?;
        self.schedule.remove(&(at, customer));
        self.next[customer as usize] = NEVER;
        Some((Timestamp(at), CustomerId(customer)))
    }

    /// Classifies `customer` as of `at`, a due check of [`Journey::take_due`] (time alone
    /// moved it), and schedules its next check.
    pub fn check_due(
        &mut self,
        customer: CustomerId,
        input: &StageInput<'_>,
        at: Timestamp,
    ) -> Option<StageChanged> {
        self.classify_at(customer, input, at, StageCause::Time)
    }

    /// Moves the clock to `now` once every check due by then has been taken.
    pub fn set_clock(&mut self, now: Timestamp) {
        debug_assert!(self.schedule.first().is_none_or(|&(at, _)| at > now.0));
        self.clock = Some(now);
    }

    /// Heap bytes held.
    pub fn memory(&self) -> usize {
        self.stages.capacity()
            + self.next.capacity() * 8
            // A B-tree node holds up to 11 entries of 16 bytes; count them about 2/3 full.
            + self.schedule.len() * 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{Event, EventClass, EventKind, DAY};

    fn order(days_ago: i64, now: i64) -> Event<'static> {
        Event {
            kind: EventKind::ORDER,
            class: EventClass::Purchase,
            at: Timestamp(now - days_ago * DAY),
            topic: None,
            value: 10.0,
            channel: None,
        }
    }

    #[test]
    fn a_stage_is_tracked_only_while_the_clock_runs_and_changes_are_reported_once() {
        let now = 1_000 * DAY;
        let events = [order(1, now)];
        let input = StageInput { identified: true, events: &events };
        let mut j = Journey::default();
        assert_eq!(j.track(CustomerId(3), &input, StageCause::Record), None, "no clock");
        j.start(Timestamp(now));
        let change = j.track(CustomerId(3), &input, StageCause::Record).unwrap();
        assert_eq!((change.from, change.to, change.at), (None, Stage::Customer, Timestamp(now)));
        assert_eq!(j.track(CustomerId(3), &input, StageCause::Activity), None, "unchanged");
        assert_eq!(j.stage(CustomerId(3)), Some(Stage::Customer));
        // Bought a day ago: nothing for 29 days makes it lapsing.
        let (due, who) = j.take_due(Timestamp(now + 400 * DAY)).unwrap();
        assert_eq!((due, who), (Timestamp(now + 29 * DAY), CustomerId(3)));
        let change = j.check_due(CustomerId(3), &input, due).unwrap();
        assert_eq!((change.from, change.to), (Some(Stage::Customer), Stage::Lapsing));
        assert_eq!(change.cause, StageCause::Time);
        j.forget(CustomerId(3));
        assert_eq!(j.stage(CustomerId(3)), None);
        assert_eq!(
            j.take_due(Timestamp(i64::MAX - 1)),
            None,
            "forgotten customers are unscheduled"
        );
    }
}
