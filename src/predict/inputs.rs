//! A customer's purchase history as the BG/NBD model reads it: the repeat-purchase count x,
//! the time of the last repeat purchase t_x and the age T, all as of `now`.

use crate::behaviour::{Event, EventClass, DAY};
use crate::input::record::Timestamp;

/// The unit the model's times are measured in. Histories are kept in whole days; the unit
/// only scales them (and with them the fitted α and the horizon of a prediction).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum TimeUnit {
    /// Days of 86,400 s.
    #[default]
    Days,
    /// Weeks of 7 days.
    Weeks,
}

impl TimeUnit {
    /// Days in one unit.
    pub const fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    /// The lower-case plural name (`days`, `weeks`).
    pub const fn name(self) -> &'static str {
        match self {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
        }
    }
}

impl std::fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// A name that is no [`TimeUnit`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown time unit {0:?} (days or weeks)")]
pub struct UnknownTimeUnit(pub String);

impl std::str::FromStr for TimeUnit {
    type Err = UnknownTimeUnit;

    /// `days` or `weeks` (also `day`, `week`).
    fn from_str(name: &str) -> Result<TimeUnit, UnknownTimeUnit> {
        match name {
            "days" | "day" => Ok(TimeUnit::Days),
            "weeks" | "week" => Ok(TimeUnit::Weeks),
            _ => Err(UnknownTimeUnit(name.to_string())),
        }
    }
}

/// A customer's purchases as of `now`, at the resolution of UTC days: the figures the BG/NBD
/// model reads. Only events of the purchase class at or before `now` count, and several
/// purchases on one UTC day are one purchase occasion (as in Fader, Hardie & Lee's CDNOW
/// data).
///
/// - `repeat_purchases` (x): distinct purchase days after the first;
/// - `recency_days` (t_x): days from the first purchase day to the last (0 when x = 0);
/// - `age_days` (T): days from the first purchase day to the day of `now`.
///
/// ```
/// use idstitch::behaviour::{Event, EventClass, EventKind};
/// use idstitch::predict::{PurchaseHistory, TimeUnit};
/// use idstitch::Timestamp;
///
/// let day = 86_400;
/// let order = |d: i64| Event {
///     kind: EventKind::ORDER, class: EventClass::Purchase, at: Timestamp(d * day + 3_600),
///     topic: None, value: 20.0, channel: None,
/// };
/// // Two orders on day 10, one on day 24, one after `now` (ignored).
/// let events = [order(10), order(10), order(24), order(99)];
/// let h = PurchaseHistory::of(&events, Timestamp(38 * day)).unwrap();
/// assert_eq!((h.repeat_purchases, h.recency_days, h.age_days), (1, 14, 28));
/// assert_eq!((h.t_x(TimeUnit::Weeks), h.t(TimeUnit::Weeks)), (2.0, 4.0));
/// // No purchase, no history: not a zero.
/// assert_eq!(PurchaseHistory::of(&events[..0], Timestamp(38 * day)), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct PurchaseHistory {
    /// x: purchase days after the first.
    pub repeat_purchases: u32,
    /// t_x: days from the first purchase day to the last.
    pub recency_days: u32,
    /// T: days from the first purchase day to the day of `now`.
    pub age_days: u32,
}

/// The UTC day holding `at` (days since 1970-01-01, rounded down).
fn utc_day(at: Timestamp) -> i64 {
    at.0.div_euclid(DAY)
}

impl PurchaseHistory {
    /// A history from its figures. `None` unless `recency_days ≤ age_days`, and
    /// `recency_days > 0` exactly when `repeat_purchases > 0`, with no more repeat purchases
    /// than days after the first (as [`PurchaseHistory::of`] can give).
    pub fn new(repeat_purchases: u32, recency_days: u32, age_days: u32) -> Option<Self> {
        let consistent = recency_days <= age_days
            && (repeat_purchases == 0) == (recency_days == 0)
            && repeat_purchases <= recency_days;
        consistent.then_some(PurchaseHistory { repeat_purchases, recency_days, age_days })
    }

    /// The history of `events` (of one customer, in any order) as of `now`; `None` if none
    /// of them is a purchase at or before `now`. Time linear in the events.
    pub fn of(events: &[Event<'_>], now: Timestamp) -> Option<Self> {
        let mut days = Vec::new();
        PurchaseHistory::of_with(events, now, &mut days)
    }

    /// [`PurchaseHistory::of`] with a buffer for the purchase days, reused between customers.
    pub fn of_with(events: &[Event<'_>], now: Timestamp, days: &mut Vec<i64>) -> Option<Self> {
        days.clear();
        days.extend(
            events
                .iter()
                .filter(|e| e.class == EventClass::Purchase && e.at <= now)
                .map(|e| utc_day(e.at)),
        );
        let (&first, &last) = (days.iter().min()?, days.iter().max()?);
        days.sort_unstable();
        days.dedup();
        // Event times lie within ±2³⁹ s, so day differences fit in 32 bits.
        let span = |from: i64, to: i64| u32::try_from(to - from).unwrap_or(u32::MAX);
        Some(PurchaseHistory {
            repeat_purchases: (days.len() - 1) as u32,
            recency_days: span(first, last),
            age_days: span(first, utc_day(now)),
        })
    }

    /// x, as a float.
    pub fn x(&self) -> f64 {
        f64::from(self.repeat_purchases)
    }

    /// t_x in `unit`.
    pub fn t_x(&self, unit: TimeUnit) -> f64 {
        f64::from(self.recency_days) / unit.days()
    }

    /// T in `unit`.
    pub fn t(&self, unit: TimeUnit) -> f64 {
        f64::from(self.age_days) / unit.days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::EventKind;

    fn ev(class: EventClass, at: i64) -> Event<'static> {
        let kind =
            if class == EventClass::Purchase { EventKind::ORDER } else { EventKind::PAGE_VIEW };
        Event { kind, class, at: Timestamp(at), topic: None, value: 0.0, channel: None }
    }

    #[test]
    fn days_are_utc_days_and_now_is_inclusive() {
        let now = Timestamp(100 * DAY);
        let events = [
            ev(EventClass::Purchase, 40 * DAY + DAY - 1), // the last second of day 40
            ev(EventClass::Purchase, 41 * DAY),           // the first of day 41: a new day
            ev(EventClass::Purchase, 41 * DAY + 5),
            ev(EventClass::Purchase, 100 * DAY), // exactly at now: counted
            ev(EventClass::Purchase, 100 * DAY + 1), // after now: ignored
            ev(EventClass::Engagement, 20 * DAY), // not a purchase
        ];
        let h = PurchaseHistory::of(&events, now).unwrap();
        assert_eq!(h, PurchaseHistory::new(2, 60, 60).unwrap());
        let mut reversed = events;
        reversed.reverse();
        assert_eq!(PurchaseHistory::of(&reversed, now), Some(h), "order does not matter");
        // One purchase only: x = 0, t_x = 0, T counts from its day.
        let h = PurchaseHistory::of(&events[..1], now).unwrap();
        assert_eq!((h.repeat_purchases, h.recency_days, h.age_days), (0, 0, 60));
        assert_eq!(PurchaseHistory::of(&events[5..], now), None, "engagement only");
        // Before the epoch days still round down.
        let h = PurchaseHistory::of(&[ev(EventClass::Purchase, -1)], Timestamp(0)).unwrap();
        assert_eq!(h.age_days, 1);
    }

    #[test]
    fn new_refuses_inconsistent_figures() {
        assert!(PurchaseHistory::new(0, 0, 0).is_some());
        assert!(PurchaseHistory::new(3, 3, 10).is_some());
        assert!(PurchaseHistory::new(1, 0, 10).is_none());
        assert!(PurchaseHistory::new(0, 2, 10).is_none());
        assert!(PurchaseHistory::new(4, 3, 10).is_none());
        assert!(PurchaseHistory::new(1, 11, 10).is_none());
        assert_eq!("weeks".parse::<TimeUnit>(), Ok(TimeUnit::Weeks));
        assert!("months".parse::<TimeUnit>().is_err());
    }
}
