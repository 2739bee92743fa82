//! Prediction through the façade (DESIGN §10): every customer's purchase history as of an
//! instant, a BG/NBD fit over them, and each customer's prediction under a model the host
//! holds.
//!
//! The model is not resolver state: it is four numbers and a unit that the host fits when it
//! chooses (nightly, say) and keeps as it likes (`BgNbd` is `Copy` and, with `serde`,
//! serialisable), so snapshots, journals and erasure are untouched by it. Predictions are
//! computed from the current events on every call, so they follow merges, splits and
//! erasure like summaries do.

use crate::behaviour::{Event, EventClass};
use crate::error::LookupError;
use crate::ids::CustomerId;
use crate::input::record::Timestamp;
use crate::predict::{BgNbd, Fit, PredictError, Prediction, PurchaseHistory, TimeUnit};
use crate::resolver::Resolver;

/// One customer's prediction, as [`Resolver::predictions`] lists them.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct CustomerPrediction {
    /// The customer.
    pub customer: CustomerId,
    /// Its history and what the model says.
    pub prediction: Prediction,
}

impl Resolver {
    /// `customer`'s purchase history as of `now`: `None` if it has no purchase then.
    ///
    /// # Errors
    /// [`LookupError::UnknownCustomer`] if no customer has this id.
    pub fn purchase_history(
        &self,
        customer: CustomerId,
        now: Timestamp,
    ) -> Result<Option<PurchaseHistory>, LookupError> {
        let (mut events, mut days) = (Vec::new(), Vec::new());
        self.history_with(customer, now, &mut events, &mut days)
            .ok_or(LookupError::UnknownCustomer(customer))
    }

    /// Every customer's purchase history as of `now`, by ascending id; customers without a
    /// purchase then are left out (they have no history, not an empty one). Time in all
    /// records and events.
    pub fn purchase_histories(&self, now: Timestamp) -> Vec<(CustomerId, PurchaseHistory)> {
        let (mut events, mut days) = (Vec::new(), Vec::new());
        let mut customers: Vec<CustomerId> = self.partition.customer_ids().collect();
        customers.sort_unstable();
        customers
            .into_iter()
            .filter_map(|c| Some((c, self.history_with(c, now, &mut events, &mut days)??)))
            .collect()
    }

    /// Fits the BG/NBD model to every customer's purchase history as of `now`, times in
    /// `unit` ([`BgNbd::fit`]).
    ///
    /// ```
    /// use idstitch::behaviour::{EventInput, EventKind};
    /// use idstitch::predict::TimeUnit;
    /// use idstitch::{KindId, RecordInput, Resolver, Timestamp};
    ///
    /// let day = 86_400;
    /// let mut resolver = Resolver::new();
    /// let shop = resolver.add_source("shop", 10)?;
    /// for (id, days) in [("A", &[1, 20, 40][..]), ("B", &[5]), ("C", &[2, 9]), ("D", &[30, 31, 50, 60])] {
    ///     resolver.upsert(RecordInput::new(shop, id).with_key(KindId::CUSTOMER_NO, id))?;
    ///     for d in days {
    ///         resolver.record_event(&EventInput::new(shop, id, EventKind::ORDER, Timestamp(d * day)))?;
    ///     }
    /// }
    /// let now = Timestamp(70 * day);
    /// let fit = resolver.fit_purchase_model(now, TimeUnit::Days)?;
    /// assert_eq!(fit.customers, 4);
    /// let predictions = resolver.predictions(now, &fit.model, 30.0)?;
    /// let d = resolver.customer_of(shop, "D").unwrap();
    /// let best = predictions.iter().max_by(|p, q| p.prediction.expected_purchases.total_cmp(&q.prediction.expected_purchases));
    /// assert_eq!(best.unwrap().customer, d);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`BgNbd::fit`]: no customer with a purchase, or none with a repeat purchase.
    pub fn fit_purchase_model(&self, now: Timestamp, unit: TimeUnit) -> Result<Fit, PredictError> {
        let histories: Vec<PurchaseHistory> =
            self.purchase_histories(now).into_iter().map(|(_, h)| h).collect();
        BgNbd::fit(&histories, unit)
    }

    /// `customer`'s probability of being alive and expected purchases in the next `horizon`
    /// units of `model` as of `now`: `Ok(None)` if it has no purchase then.
    ///
    /// # Errors
    /// [`PredictError`] for a bad horizon; an unknown customer is
    /// [`PredictError::UnknownCustomer`].
    pub fn prediction(
        &self,
        customer: CustomerId,
        now: Timestamp,
        model: &BgNbd,
        horizon: f64,
    ) -> Result<Option<Prediction>, PredictError> {
        let history = self
            .purchase_history(customer, now)
            .map_err(|_| PredictError::UnknownCustomer(customer))?;
        history.map(|h| model.predict(&h, horizon)).transpose()
    }

    /// Every customer's prediction as of `now` under `model` (see [`Resolver::prediction`]),
    /// by ascending id, customers without purchases left out. Time in all records and
    /// events.
    ///
    /// # Errors
    /// The first [`PredictError`] of a customer: a bad horizon, or one too long for the
    /// model's time scale.
    pub fn predictions(
        &self,
        now: Timestamp,
        model: &BgNbd,
        horizon: f64,
    ) -> Result<Vec<CustomerPrediction>, PredictError> {
        self.purchase_histories(now)
            .into_iter()
            .map(|(customer, h)| {
                Ok(CustomerPrediction { customer, prediction: model.predict(&h, horizon)? })
            })
            .collect()
    }

    /// `customer`'s purchase history, reading its events into `events` (and its purchase days
    /// into `days`); `None` for no such customer, `Some(None)` for one without purchases.
    fn history_with<'a>(
        &'a self,
        customer: CustomerId,
        now: Timestamp,
        events: &mut Vec<Event<'a>>,
        days: &mut Vec<i64>,
    ) -> Option<Option<PurchaseHistory>> {
        let root = self.partition.record_of(customer)?;
        events.clear();
        for r in self.partition.members(root) {
            events.extend(self.events.events(r).filter(|e| e.class == EventClass::Purchase));
        }
        Some(PurchaseHistory::of_with(events, now, days))
    }
}
