//! Behaviour and journey stages through the façade: events in, summaries, stages and
//! cross-sell topics out, and the journey clock that reports what time changes.

use std::borrow::Borrow;

use crate::behaviour::{
    Classification, Event, EventInput, EventKinds, EventRejectReason, EventReport, Stage,
    StageInput, Summary, SummaryScratch, TopicCount,
};
use crate::error::{ClockError, LookupError};
use crate::ids::{CustomerId, RecordIdx, SourceId};
use crate::input::kind::KindTable;
use crate::input::record::Timestamp;
use crate::partition::events::{ChangeEvent, Changes, StageCause, StageChanged};
use crate::partition::Partition;
use crate::predict::{BgNbd, PredictError, Prediction, PurchaseHistory};
use crate::resolver::Resolver;
use crate::store::events::{EventOwner, EventStore};
use crate::store::graph::IdentityGraph;

/// A [`Resolver::record_events`] call under way: what it counted and the records whose events
/// it changed.
#[derive(Debug, Default)]
pub(crate) struct PendingEvents {
    report: EventReport,
    touched: Vec<RecordIdx>,
}

/// A customer's behaviour and stage as of one instant: what [`Resolver::journey`] and
/// [`Resolver::journeys`] give.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Journey {
    /// The customer.
    pub customer: CustomerId,
    /// Its behaviour summary (DESIGN §7).
    pub summary: Summary,
    /// Its stage and why (DESIGN §8).
    pub classification: Classification,
    /// What the BG/NBD model says about it (DESIGN §10), when the journeys were asked with a
    /// model ([`Journeys::with_model`]) and it has a purchase; also none in the (never seen)
    /// case of parameters under which its expected purchases are not finite
    /// ([`PredictError::NotComputable`]).
    pub prediction: Option<Prediction>,
}

/// Every customer's [`Journey`] as of one instant, by ascending id; buffers are reused from
/// customer to customer. Made by [`Resolver::journeys`].
pub struct Journeys<'a> {
    resolver: &'a Resolver,
    customers: std::vec::IntoIter<CustomerId>,
    now: Timestamp,
    events: Vec<Event<'a>>,
    scratch: SummaryScratch,
    /// The model and horizon of [`Journeys::with_model`], and its buffer of purchase days.
    model: Option<(BgNbd, f64)>,
    days: Vec<i64>,
}

impl Journeys<'_> {
    /// Adds each customer's BG/NBD prediction under `model` (P(alive) and the expected
    /// purchases in the next `horizon` units of the model) to its journey.
    ///
    /// ```
    /// use idstitch::behaviour::{EventInput, EventKind};
    /// use idstitch::predict::{BgNbd, TimeUnit};
    /// use idstitch::{KindId, RecordInput, Resolver, Timestamp};
    ///
    /// let day = 86_400;
    /// let mut resolver = Resolver::new();
    /// let shop = resolver.add_source("shop", 10)?;
    /// resolver.upsert(RecordInput::new(shop, "S-1").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// for d in [10, 40] {
    ///     resolver.record_event(&EventInput::new(shop, "S-1", EventKind::ORDER, Timestamp(d * day)))?;
    /// }
    /// let model = BgNbd::new(0.243, 4.414, 0.793, 2.426, TimeUnit::Weeks)?;
    /// for journey in resolver.journeys(Timestamp(100 * day)).with_model(model, 52.0)? {
    ///     let p = journey.prediction.unwrap();
    ///     assert_eq!(p.history.repeat_purchases, 1);
    ///     assert!(p.p_alive < 1.0 && p.expected_purchases > 0.0);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`PredictError::InvalidHorizon`] for a negative or non-finite horizon.
    pub fn with_model(mut self, model: BgNbd, horizon: f64) -> Result<Self, PredictError> {
        if !horizon.is_finite() || horizon < 0.0 {
            return Err(PredictError::InvalidHorizon(horizon));
        }
        self.model = Some((model, horizon));
        Ok(self)
    }
}

impl Iterator for Journeys<'_> {
    type Item = Journey;

    fn next(&mut self) -> Option<Journey> {
        loop {
            let customer = self.customers.next()?;
            let resolver = self.resolver;
            if let Some(mut j) =
                resolver.journey_with(customer, self.now, &mut self.events, &mut self.scratch)
            {
                if let Some((model, horizon)) = &self.model {
                    j.prediction = PurchaseHistory::of_with(&self.events, self.now, &mut self.days)
                        .and_then(|h| model.predict(&h, *horizon).ok());
                }
                return Some(j);
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.customers.len()))
    }
}

/// Reads `customer`'s events into `buf` and tells whether it is identified (DESIGN §8: one
/// of its records carries a value of an identifying kind that is not deny-listed; a shared
/// or refused value counts). `None` for no such customer. Time in its records, keys and
/// events.
fn customer_input<'a>(
    (graph, partition, kinds, events): (&IdentityGraph, &Partition, &KindTable, &'a EventStore),
    customer: CustomerId,
    buf: &mut Vec<Event<'a>>,
) -> Option<bool> {
    buf.clear();
    let root = partition.record_of(customer)?;
    let mut identified = false;
    for r in partition.members(root) {
        buf.extend(events.events(r));
        identified = identified
            || graph.key_list(r).iter().any(|&k| {
                kinds.entry(graph.key(k).kind).spec.identifying && !graph.key_flags(k).denied
            });
    }
    Some(identified)
}

impl Resolver {
    /// The event kinds this resolver knows: the built-in ones and those declared with
    /// [`ResolverBuilder::event_kind`](crate::ResolverBuilder::event_kind).
    pub fn event_kinds(&self) -> &EventKinds {
        &self.event_kinds
    }

    /// Takes one event. It joins its record `(source, external id)` if that is stored, or
    /// waits for it (a record that arrives later finds its events; one removed takes them
    /// along). An event whose id its source already used replaces the held one.
    ///
    /// While the journey clock runs, the returned changes hold the stage change of the
    /// event's customer ([`StageCause::Activity`]).
    ///
    /// ```
    /// use idstitch::behaviour::{EventInput, EventKind};
    /// use idstitch::{KindId, RecordInput, Resolver, Timestamp};
    ///
    /// let mut resolver = Resolver::new();
    /// let shop = resolver.add_source("shop", 10)?;
    /// let order = EventInput::new(shop, "S-1", EventKind::ORDER, Timestamp(1_700_000_000))
    ///     .with_value(49.5)
    ///     .with_id("order-1");
    /// resolver.record_event(&order)?; // before its record: held for it
    /// resolver.upsert(RecordInput::new(shop, "S-1").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// resolver.record_event(&order)?; // a replay replaces, never counts twice
    /// let ann = resolver.customer_of(shop, "S-1").unwrap();
    /// let summary = resolver.summary(ann, Timestamp(1_700_000_000))?;
    /// assert_eq!(summary.monetary, 49.5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The [`EventRejectReason`] of a malformed event (unknown source or kind, bad value,
    /// time out of range, …); nothing is changed then.
    pub fn record_event(&mut self, event: &EventInput) -> Result<Changes, EventRejectReason> {
        let mut touched = Vec::new();
        let replaced = self.store_event(event, &mut touched)?;
        let mut changes = Changes::default();
        changes.event_report.accepted = 1;
        changes.event_report.replaced = u64::from(replaced);
        self.track_records(&touched, &mut changes.stages);
        Ok(changes)
    }

    /// Takes many events, as [`Resolver::record_event`] each; a malformed one is skipped and
    /// counted in [`Changes::event_report`] by source and reason. Stages are classified once
    /// per touched customer, at the end.
    pub fn record_events<I>(&mut self, events: I) -> Changes
    where
        I: IntoIterator,
        I::Item: Borrow<EventInput>,
    {
        let mut pending = PendingEvents::default();
        for event in events {
            self.store_pending_event(&mut pending, event.borrow());
        }
        self.finish_events(pending)
    }

    /// One event of a [`Resolver::record_events`] call: stored and counted, its stage
    /// classified at [`Resolver::finish_events`].
    pub(crate) fn store_pending_event(&mut self, pending: &mut PendingEvents, event: &EventInput) {
        match self.store_event(event, &mut pending.touched) {
            Ok(replaced) => {
                pending.report.accepted += 1;
                pending.report.replaced += u64::from(replaced);
            }
            Err(reason) => pending.report.reject(event.source, reason),
        }
    }

    /// Ends a [`Resolver::record_events`] call: the touched customers' stages.
    pub(crate) fn finish_events(&mut self, pending: PendingEvents) -> Changes {
        let mut changes = Changes { event_report: pending.report, ..Changes::default() };
        self.track_records(&pending.touched, &mut changes.stages);
        changes
    }

    /// Removes the event whose id is `id` in `source` (a retracted event, or one a full
    /// export no longer holds). `None` if no event has that id; else the stage change of its
    /// customer while the journey clock runs.
    pub fn remove_event(&mut self, source: SourceId, id: &str) -> Option<Changes> {
        let owner = self.events.remove_id(source, id)?;
        let mut changes = Changes::default();
        if let EventOwner::Record(r) = owner {
            self.track_records(&[r], &mut changes.stages);
        }
        Some(changes)
    }

    /// Whether an event with id `id` in `source` is held.
    pub fn has_event_id(&self, source: SourceId, id: &str) -> bool {
        self.events.has_id(source, id)
    }

    /// Whether `event` would be refused for its own sake (source, kind, values), as
    /// [`Resolver::record_event`] checks it before storing.
    pub(crate) fn check_event(&self, event: &EventInput) -> Result<(), EventRejectReason> {
        if event.source.index() >= self.sources.len() {
            return Err(EventRejectReason::UnknownSource);
        }
        event.validate(&self.event_kinds).map(|_| ())
    }

    /// Stores one event; returns whether it replaced a held one, and adds the records whose
    /// events changed to `touched`.
    fn store_event(
        &mut self,
        event: &EventInput,
        touched: &mut Vec<RecordIdx>,
    ) -> Result<bool, EventRejectReason> {
        if event.source.index() >= self.sources.len() {
            return Err(EventRejectReason::UnknownSource);
        }
        let class = event.validate(&self.event_kinds)?;
        let record = self.graph.find_record(event.source, event.record_id());
        let replaced = self.events.push(record, event, class)?;
        touched.extend(record);
        if let Some(EventOwner::Record(old)) = replaced {
            if Some(old) != record {
                touched.push(old);
            }
        }
        Ok(replaced.is_some())
    }

    /// The events of `customer`'s records, in no particular order.
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn customer_events(&self, customer: CustomerId) -> Result<Vec<Event<'_>>, LookupError> {
        let mut buf = Vec::new();
        customer_input(self.journey_parts(), customer, &mut buf)
            .ok_or(LookupError::UnknownCustomer(customer))?;
        Ok(buf)
    }

    /// `customer`'s behaviour as of `now` (DESIGN §7): counts per class and kind in the last
    /// 7, 30, 90 and 365 days, recency, frequency, monetary, reading seconds, channels and top
    /// topics. Time in the customer's records and events.
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn summary(&self, customer: CustomerId, now: Timestamp) -> Result<Summary, LookupError> {
        Ok(Summary::of(&self.customer_events(customer)?, now))
    }

    /// `customer`'s summary and stage as of `now` together: one read of its events for both.
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn journey(&self, customer: CustomerId, now: Timestamp) -> Result<Journey, LookupError> {
        let (mut events, mut scratch) = (Vec::new(), SummaryScratch::default());
        self.journey_with(customer, now, &mut events, &mut scratch)
            .ok_or(LookupError::UnknownCustomer(customer))
    }

    /// Every customer's summary and stage as of `now`, by ascending id: what a nightly export
    /// of stages reads. Time in all records and events.
    ///
    /// ```
    /// use idstitch::{KindId, RecordInput, Resolver, Timestamp};
    ///
    /// let mut resolver = Resolver::new();
    /// let crm = resolver.add_source("crm", 10)?;
    /// resolver.upsert(RecordInput::new(crm, "C-1").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// for journey in resolver.journeys(Timestamp(1_700_000_000)) {
    ///     assert_eq!(journey.classification.to_string(), "identified: no other rule matched (0 engagement events in the last 30 days)");
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn journeys(&self, now: Timestamp) -> Journeys<'_> {
        let customers: Vec<CustomerId> = self.partition.customer_ids().collect();
        Journeys {
            resolver: self,
            customers: customers.into_iter(),
            now,
            events: Vec::new(),
            scratch: SummaryScratch::default(),
            model: None,
            days: Vec::new(),
        }
    }

    fn journey_with<'a>(
        &'a self,
        customer: CustomerId,
        now: Timestamp,
        events: &mut Vec<Event<'a>>,
        scratch: &mut SummaryScratch,
    ) -> Option<Journey> {
        let identified = customer_input(self.journey_parts(), customer, events)?;
        let input = StageInput { identified, events };
        let classification = self.journey.classifier().classify(&input, now);
        let summary = Summary::of_with(events, now, scratch);
        Some(Journey { customer, summary, classification, prediction: None })
    }

    /// `customer`'s journey stage as of `now`, with the rule and figures that decided it.
    /// Any instant may be asked, before or after the journey clock.
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn stage(
        &self,
        customer: CustomerId,
        now: Timestamp,
    ) -> Result<Classification, LookupError> {
        self.classify_with(customer, now, &mut Vec::new())
            .ok_or(LookupError::UnknownCustomer(customer))
    }

    /// [`Resolver::stage`] reading the events into `events`, so that a pass over many
    /// customers reuses one buffer; `None` for no such customer.
    pub(crate) fn classify_with<'a>(
        &'a self,
        customer: CustomerId,
        now: Timestamp,
        events: &mut Vec<Event<'a>>,
    ) -> Option<Classification> {
        let identified = customer_input(self.journey_parts(), customer, events)?;
        let input = StageInput { identified, events };
        Some(self.journey.classifier().classify(&input, now))
    }

    /// `customer`'s cross-sell topics as of `now` (DESIGN §8, by the built-in rules): for a
    /// `customer` or `loyal`, the topics of enough recent engagement that it bought nothing
    /// of; none for other stages.
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn cross_sell(
        &self,
        customer: CustomerId,
        now: Timestamp,
    ) -> Result<Vec<TopicCount>, LookupError> {
        let mut buf = Vec::new();
        let identified = customer_input(self.journey_parts(), customer, &mut buf)
            .ok_or(LookupError::UnknownCustomer(customer))?;
        Ok(self.journey.cross_sell(&StageInput { identified, events: &buf }, now))
    }

    /// The journey clock, once [`Resolver::advance_to`] started it.
    pub fn journey_clock(&self) -> Option<Timestamp> {
        self.journey.clock()
    }

    /// `customer`'s stage as of the journey clock, as tracked (no classification: constant
    /// time). `None` while the clock is not running or for no such customer.
    pub fn tracked_stage(&self, customer: CustomerId) -> Option<Stage> {
        self.journey.stage(customer)
    }

    /// Advances the journey clock to `now` and returns every stage change the passing time
    /// caused, in time order (then by customer), each at the instant it took effect
    /// ([`StageCause::Time`]). Time in the customers whose stage changes, not in all of them:
    /// each customer waits in a schedule at the next instant its stage could change.
    ///
    /// The first call starts the clock: it classifies every customer as of `now` (time in all
    /// customers and events, once) and reports nothing. From then on every mutating call
    /// reports the stage changes it causes in [`Changes::stages`].
    ///
    /// ```
    /// use idstitch::behaviour::{EventInput, EventKind, Stage};
    /// use idstitch::{KindId, RecordInput, Resolver, Timestamp};
    ///
    /// let day = 86_400;
    /// let mut resolver = Resolver::new();
    /// let shop = resolver.add_source("shop", 10)?;
    /// resolver.upsert(RecordInput::new(shop, "S-1").with_key(KindId::EMAIL, "ann@example.nl"))?;
    /// let ann = resolver.customer_of(shop, "S-1").unwrap();
    /// resolver.advance_to(Timestamp(1_000 * day))?;
    /// let order = EventInput::new(shop, "S-1", EventKind::ORDER, Timestamp(1_000 * day));
    /// let changes = resolver.record_event(&order)?;
    /// assert_eq!(changes.stages[0].to, Stage::Customer);
    /// // A month later the order is 30 days old: no activity in the quiet window.
    /// let moved = resolver.advance_to(Timestamp(1_031 * day))?;
    /// assert_eq!((moved[0].customer, moved[0].to), (ann, Stage::Lapsing));
    /// assert_eq!(moved[0].at, Timestamp(1_030 * day));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`ClockError::Backwards`] for an instant before the clock; nothing changes then.
    pub fn advance_to(&mut self, now: Timestamp) -> Result<Vec<StageChanged>, ClockError> {
        let mut moved = Vec::new();
        match self.journey.clock() {
            Some(clock) if now < clock => return Err(ClockError::Backwards { clock, now }),
            Some(_) => {
                let mut buf = Vec::new();
                let parts = (&self.graph, &self.partition, &*self.kinds, &self.events);
                while let Some((at, customer)) = self.journey.take_due(now) {
                    let Some(identified) = customer_input(parts, customer, &mut buf) else {
                        continue;
                    };
                    let input = StageInput { identified, events: &buf };
                    moved.extend(self.journey.check_due(customer, &input, at));
                }
                self.journey.set_clock(now);
            }
            None => self.restart_journey(now),
        }
        Ok(moved)
    }

    /// Starts the journey clock at `now`, classifying every customer as of then (a first
    /// [`Resolver::advance_to`], or a snapshot's clock put back).
    pub(crate) fn restart_journey(&mut self, now: Timestamp) {
        self.journey.start(now);
        let customers: Vec<CustomerId> = self.partition.customer_ids().collect();
        // Everyone is new to the tracking: nothing to report.
        self.track_customers(customers.into_iter().map(|c| (c, StageCause::Time)));
    }

    fn journey_parts(&self) -> (&IdentityGraph, &Partition, &KindTable, &EventStore) {
        (&self.graph, &self.partition, &self.kinds, &self.events)
    }

    /// Classifies the customers of `records` again after their events changed.
    fn track_records(&mut self, records: &[RecordIdx], out: &mut Vec<StageChanged>) {
        if self.journey.clock().is_none() || records.is_empty() {
            return;
        }
        let customers: Vec<_> = records
            .iter()
            .filter(|&&r| self.graph.record(r).is_some())
            .map(|&r| (self.partition.customer_of(r), StageCause::Activity))
            .collect();
        out.extend(self.track_customers(customers));
    }

    /// Classifies again the customers a call's change events name, each once with the cause
    /// of its first event, and forgets those that ceased to exist; adds the stage changes to
    /// `changes.stages`, by customer.
    pub(super) fn track_changes(&mut self, changes: &mut Changes) {
        if self.journey.clock().is_none() {
            return;
        }
        let mut todo = Vec::new();
        for event in &changes.events {
            match event {
                ChangeEvent::Created { customers } => {
                    todo.extend(customers.iter().map(|c| (c, StageCause::Record)));
                }
                ChangeEvent::Merged { survivor, absorbed } => {
                    absorbed.iter().for_each(|&c| self.journey.forget(c));
                    todo.push((*survivor, StageCause::Merge));
                }
                ChangeEvent::Split { from, into } => {
                    todo.push((*from, StageCause::Split));
                    todo.extend(into.iter().map(|&c| (c, StageCause::Split)));
                }
                ChangeEvent::Updated { customer } => todo.push((*customer, StageCause::Record)),
                ChangeEvent::Removed { customer } => self.journey.forget(*customer),
            }
        }
        let moved = self.track_customers(todo);
        changes.stages.extend(moved);
    }

    /// Classifies each customer of `todo` once (the first cause given wins), in id order.
    fn track_customers(
        &mut self,
        todo: impl IntoIterator<Item = (CustomerId, StageCause)>,
    ) -> Vec<StageChanged> {
        let mut todo: Vec<_> = todo.into_iter().collect();
        todo.sort_by_key(|&(c, _)| c);
        todo.dedup_by_key(|&mut (c, _)| c);
        let mut buf = Vec::new();
        let parts = (&self.graph, &self.partition, &*self.kinds, &self.events);
        let mut moved = Vec::new();
        for (customer, cause) in todo {
            let Some(identified) = customer_input(parts, customer, &mut buf) else {
                self.journey.forget(customer);
                continue;
            };
            let input = StageInput { identified, events: &buf };
            moved.extend(self.journey.track(customer, &input, cause));
        }
        moved
    }
}
