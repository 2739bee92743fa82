//! A report a marketer can open (specification §9): one self-contained HTML page with four
//! charts and the exact numbers under each (feature `report`).
//!
//! The caller fills a [`ReportData`] — the stage distribution, the stage transitions of the
//! last 30 days, contact pressure by channel and stage, the campaigns' evaluations — and
//! [`render_html`] turns it into one HTML document:
//!
//! 1. **Stage distribution**: a bar per stage with its count.
//! 2. **Stage transitions over the last 30 days**: a stacked bar per day of the customers
//!    that moved *into* each stage, coloured by that stage; under it, per stage the moves in,
//!    out and the net change, and the most frequent moves (`engaged → customer`).
//! 3. **Contact pressure by channel and stage**: a grid of contacts per customer, darker for
//!    more, beside a table of customers, contacts and the saturated and under-reached shares.
//! 4. **Campaign uplift**: per campaign, and per stage at assignment, the uplift (treatment −
//!    control) as a point with its 95 % interval against a zero line; a group under 30
//!    customers shows as "too small", never as a number.
//!
//! The page holds everything it needs: charts as inline SVG (drawn with plotters' SVG
//! backend, whose text the browser lays out, so no font library is involved), inline CSS, no
//! script and no reference to anything outside the file, so it opens the same from a mail
//! attachment as from a web server. Every text from the data (campaign names, channels, the
//! title) is escaped. The same data always gives the same bytes.
//!
//! ```
//! use idstitch::behaviour::Stage;
//! use idstitch::report::{render_html, PressureCell, ReportData, Transition};
//! use idstitch::Timestamp;
//!
//! let now = Timestamp(1_782_777_600); // 2026-06-30T00:00:00Z
//! let mut data = ReportData::new("Publisher, June", now);
//! data.stages = vec![(Stage::Identified, 1_200), (Stage::Engaged, 310), (Stage::Loyal, 42)];
//! data.transitions =
//!     vec![Transition::new(Timestamp(now.0 - 86_400), Some(Stage::Engaged), Stage::Customer, 7)];
//! data.pressure =
//!     vec![PressureCell::new("newsletter", Stage::Engaged, 310, 620).with_saturated_share(0.25)];
//! let html = render_html(&data);
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert!(html.contains("Publisher, June") && html.contains("1,200"));
//! assert!(!html.contains("<script") && !html.contains("http"));
//! ```

mod charts;
mod html;

use std::collections::BTreeMap;

use crate::behaviour::{Stage, Window, DAY};
use crate::campaign::Evaluation;
use crate::input::record::Timestamp;
use crate::partition::events::StageChanged;
use crate::resolver::Resolver;
use crate::touchpoint::PressureReport;

/// The days the transitions chart covers: the 30 days ending with the day of
/// [`ReportData::now`].
pub const TRANSITION_DAYS: u32 = 30;

/// Everything a report shows, filled by the caller. A section with no data renders as a
/// sentence saying so.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReportData {
    /// The page's title.
    pub title: String,
    /// As of when: the transitions chart ends with this day.
    pub now: Timestamp,
    /// Customers per stage; a stage left out counts 0, a stage given twice adds up.
    pub stages: Vec<(Stage, u64)>,
    /// Stage changes per day and move ([`Transition::tally`] makes them from
    /// [`StageChanged`]s); those outside the last [`TRANSITION_DAYS`] days are not shown.
    pub transitions: Vec<Transition>,
    /// The window the contacts of [`ReportData::pressure`] were counted in (default: the last
    /// 30 days), for the captions.
    pub pressure_window: Window,
    /// Contact pressure per channel and stage; a later cell for the same channel and stage
    /// replaces an earlier one.
    pub pressure: Vec<PressureCell>,
    /// The campaigns' evaluations, in the order to show them.
    pub campaigns: Vec<Evaluation>,
}

impl ReportData {
    /// An empty report titled `title` as of `now`, its contact pressure counted over the last
    /// 30 days.
    pub fn new(title: impl Into<String>, now: Timestamp) -> Self {
        ReportData {
            title: title.into(),
            now,
            stages: Vec::new(),
            transitions: Vec::new(),
            pressure_window: Window::days(30),
            pressure: Vec::new(),
            campaigns: Vec::new(),
        }
    }

    /// A report of what `resolver` knows as of `now`: every customer's stage (as tracked when
    /// the journey clock stands at `now`, else classified as of `now`) and the evaluation of
    /// every campaign as of `now`. Transitions and contact pressure are the caller's to add:
    /// the first needs the stage changes collected over time, the second a count of contacts.
    /// Time in all customers and their events.
    pub fn from_resolver(resolver: &Resolver, title: impl Into<String>, now: Timestamp) -> Self {
        let tracked = resolver.journey_clock() == Some(now);
        let mut counts: BTreeMap<Stage, u64> = BTreeMap::new();
        for customer in resolver.customers() {
            let stage = if tracked {
                resolver.tracked_stage(customer)
            } else {
                resolver.stage(customer, now).ok().map(|c| c.stage)
            };
            if let Some(stage) = stage {
                *counts.entry(stage).or_default() += 1;
            }
        }
        let mut data = ReportData::new(title, now);
        data.stages = counts.into_iter().collect();
        let pressure = resolver.pressure_report(now, data.pressure_window);
        data.pressure = PressureCell::from_report(&pressure);
        data.campaigns = resolver
            .campaigns()
            .iter()
            .filter_map(|spec| resolver.evaluate(&spec.name, now).ok())
            .collect();
        data
    }
}

/// The customers that moved from one stage to another on one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct Transition {
    /// The day, as its midnight (UTC) — see [`Transition::day_of`].
    pub day: Timestamp,
    /// The stage before; `None` for a customer new to the journey.
    pub from: Option<Stage>,
    /// The stage after.
    pub to: Stage,
    /// How many customers moved.
    pub count: u64,
}

impl Transition {
    /// `count` customers moved from `from` to `to` on `day`, given as its midnight (UTC); any
    /// later instant before the next midnight is taken down to it. To find the day of a
    /// change's instant, see [`Transition::day_of`].
    pub fn new(day: Timestamp, from: Option<Stage>, to: Stage, count: u64) -> Self {
        let midnight = Timestamp(day.0.div_euclid(DAY).saturating_mul(DAY));
        Transition { day: midnight, from, to, count }
    }

    /// The day of an instant, as its midnight (UTC). Days are half-open like every window of
    /// the crate (`midnight < at ≤ next midnight`), so a change at exactly midnight counts for
    /// the day that ends there: the journey clock stamps what a day's events changed with the
    /// instant they are recorded, typically that day's end.
    ///
    /// ```
    /// use idstitch::report::Transition;
    /// use idstitch::Timestamp;
    ///
    /// let day = 86_400;
    /// assert_eq!(Transition::day_of(Timestamp(10 * day + 1)), Timestamp(10 * day));
    /// assert_eq!(Transition::day_of(Timestamp(11 * day)), Timestamp(10 * day));
    /// ```
    pub fn day_of(at: Timestamp) -> Timestamp {
        Timestamp(at.0.saturating_sub(1).div_euclid(DAY).saturating_mul(DAY))
    }

    /// The stage changes counted per day and move, ordered by day, then move. A "change" to
    /// the same stage is no move and is skipped.
    pub fn tally<'a>(changes: impl IntoIterator<Item = &'a StageChanged>) -> Vec<Transition> {
        let mut counts: BTreeMap<(Timestamp, Option<Stage>, Stage), u64> = BTreeMap::new();
        for c in changes {
            if c.from != Some(c.to) {
                *counts.entry((Self::day_of(c.at), c.from, c.to)).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .map(|((day, from, to), count)| Transition { day, from, to, count })
            .collect()
    }

    /// The transitions of the last [`TRANSITION_DAYS`] days as of `now` without a record of
    /// the changes: each customer's stage at the end of each day (`now` for the last) against
    /// its stage at the day's start, classified anew. For a host that did not keep the
    /// [`StageChanged`]s of [`Resolver::advance_to`] and of its writes (the command line
    /// reads its files at once). Two differences from [`Transition::tally`]: changes within
    /// one day count as one move (from the day's first stage to its last, none if they are
    /// the same), and the customers' records and keys are taken as they are now, so a
    /// customer that became identified during the month counts as identified throughout.
    /// Time in customers × days × their events.
    pub fn day_by_day(resolver: &Resolver, now: Timestamp) -> Vec<Transition> {
        let days = html::transition_days(now);
        let mut edges: Vec<Timestamp> = vec![days[0]];
        edges.extend(days.iter().map(|d| Timestamp(d.0.saturating_add(DAY).min(now.0))));
        let mut counts: BTreeMap<(Timestamp, Stage, Stage), u64> = BTreeMap::new();
        for customer in resolver.customers() {
            let mut stages =
                edges.iter().map(|&t| resolver.stage(customer, t).ok().map(|c| c.stage));
            let Some(mut before) = stages.next().flatten() else { continue };
            for (day, after) in days.iter().zip(stages) {
                let Some(after) = after else { break };
                if after != before {
                    *counts.entry((*day, before, after)).or_default() += 1;
                }
                before = after;
            }
        }
        counts
            .into_iter()
            .map(|((day, from, to), count)| Transition { day, from: Some(from), to, count })
            .collect()
    }
}

/// Contact pressure on one channel for the customers of one stage.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PressureCell {
    /// The channel.
    pub channel: String,
    /// The stage.
    pub stage: Stage,
    /// Customers in the stage.
    pub customers: u64,
    /// Contacts on the channel they received in [`ReportData::pressure_window`]
    /// (transactional ones not counted).
    pub contacts: u64,
    /// The share (0 to 1) of the reachable customers (consent allows the channel) at a cap
    /// on it: contacted as often as the rules allow. `None` when not known.
    pub saturated_share: Option<f64>,
    /// The share (0 to 1) of the reachable `engaged`, `customer` and `loyal` customers with
    /// no contact on the channel in 30 days. `None` when not known or not applicable.
    pub under_reached_share: Option<f64>,
}

impl PressureCell {
    /// `customers` of `stage` received `contacts` on `channel`; the shares unknown.
    pub fn new(channel: impl Into<String>, stage: Stage, customers: u64, contacts: u64) -> Self {
        PressureCell {
            channel: channel.into(),
            stage,
            customers,
            contacts,
            saturated_share: None,
            under_reached_share: None,
        }
    }

    /// The cells of a pressure report, one per row: the saturated share of the reachable
    /// customers, and the under-reached share where the report has one.
    pub fn from_report(report: &PressureReport) -> Vec<PressureCell> {
        report
            .rows
            .iter()
            .map(|row| PressureCell {
                channel: row.channel.clone(),
                stage: row.stage,
                customers: row.customers,
                contacts: row.contacts,
                saturated_share: row.saturated_share(),
                under_reached_share: row.under_reached_share(),
            })
            .collect()
    }

    /// With the share at a cap.
    pub fn with_saturated_share(mut self, share: f64) -> Self {
        self.saturated_share = Some(share);
        self
    }

    /// With the share of reachable customers not reached.
    pub fn with_under_reached_share(mut self, share: f64) -> Self {
        self.under_reached_share = Some(share);
        self
    }

    /// Contacts per customer; `None` for no customers.
    pub fn per_customer(&self) -> Option<f64> {
        (self.customers > 0).then(|| self.contacts as f64 / self.customers as f64)
    }
}

/// The report as one self-contained HTML document (see the [module docs](self)).
pub fn render_html(data: &ReportData) -> String {
    html::page(data)
}

#[cfg(test)]
mod tests;
