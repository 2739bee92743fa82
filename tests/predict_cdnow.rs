//! The CDNOW sample of Fader, Hardie & Lee (2005), as shipped with `lifetimes` 0.11.3: the
//! BG/NBD fit of its calibration summary reproduces the paper's parameters, and the summary
//! built from the transactions through the resolver's own event path (each transaction an
//! `order` event at midnight UTC, `now` = 1997-09-30T00:00:00Z) equals the shipped one row
//! for row and gives the same fit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use idstitch::behaviour::{EventInput, EventKind};
use idstitch::predict::{BgNbd, PurchaseHistory, TimeUnit};
use idstitch::{KindId, RecordInput, Resolver, Timestamp};

const DAY: i64 = 86_400;

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cdnow").join(file)
}

/// Days since 1970-01-01 of a Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `now`: 1997-09-30T00:00:00Z; the calibration period holds that day's purchases.
fn now() -> Timestamp {
    Timestamp(days_from_civil(1997, 9, 30) * DAY)
}

/// The shipped summary: sample id → (frequency, recency in weeks, T in weeks).
fn summary() -> BTreeMap<u32, (u32, f64, f64)> {
    let text = std::fs::read_to_string(data("cdnow_customers_summary.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("ID,frequency,recency,T"));
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (
                f[0].parse().unwrap(),
                (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap()),
            )
        })
        .collect()
}

/// Whole days from weeks given to two decimals (exact: a day is 0.14 weeks, the rounding
/// 0.005).
fn days(weeks: f64) -> u32 {
    let d = (weeks * 7.0).round();
    assert!((d / 7.0 - weeks).abs() <= 0.005 + 1e-9, "{weeks} weeks is no whole number of days");
    d as u32
}

/// The paper's estimates and log-likelihood (FHL 2005, section 5).
fn assert_paper(model: &BgNbd, ll: f64) {
    let got = [model.r, model.alpha, model.a, model.b].map(|v| format!("{v:.3}"));
    assert_eq!(got, ["0.243", "4.414", "0.793", "2.426"], "{model}");
    assert_eq!(format!("{ll:.1}"), "-9582.4");
    assert_eq!(model.unit, TimeUnit::Weeks);
}

#[test]
fn the_shipped_summary_reproduces_the_paper() {
    let histories: Vec<PurchaseHistory> = summary()
        .values()
        .map(|&(x, t_x, t)| PurchaseHistory::new(x, days(t_x), days(t)).unwrap())
        .collect();
    assert_eq!(histories.len(), 2_357);
    let fit = BgNbd::fit(&histories, TimeUnit::Weeks).unwrap();
    assert!(fit.converged, "{fit}");
    assert_paper(&fit.model, fit.log_likelihood);
    // The likelihood the fit reports is the model's own on the histories.
    assert!((fit.model.log_likelihood(&histories) - fit.log_likelihood).abs() < 1e-6);
    // Any order of the customers, the same fit to the last bit.
    let mut reversed = histories.clone();
    reversed.reverse();
    assert_eq!(BgNbd::fit(&reversed, TimeUnit::Weeks).unwrap(), fit);
}

#[test]
fn the_event_path_rebuilds_the_summary_row_for_row() {
    let mut resolver = Resolver::new();
    let cdnow = resolver.add_source("cdnow", 10).unwrap();
    let text = std::fs::read_to_string(data("CDNOW_sample.txt")).unwrap();
    let mut events = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (id, date, amount) = (f[1], f[2], f[4]);
        let ymd = |r: std::ops::Range<usize>| date[r].parse::<i64>().unwrap();
        let at = Timestamp(days_from_civil(ymd(0..4), ymd(4..6), ymd(6..8)) * DAY);
        events.push(
            EventInput::new(cdnow, id.trim_start_matches('0'), EventKind::ORDER, at)
                .with_value(amount.parse().unwrap()),
        );
    }
    assert_eq!(events.len(), 6_919);
    let summary = summary();
    for id in summary.keys() {
        let id = id.to_string();
        resolver.upsert(RecordInput::new(cdnow, &id).with_key(KindId::CUSTOMER_NO, &id)).unwrap();
    }
    let report = resolver.record_events(&events).event_report;
    assert_eq!(report.accepted, 6_919);

    let histories = resolver.purchase_histories(now());
    assert_eq!(histories.len(), summary.len(), "every customer bought in Q1 1997");
    let by_customer: BTreeMap<_, _> = histories.iter().copied().collect();
    for (&id, &(x, t_x, t)) in &summary {
        let customer = resolver.customer_of(cdnow, &id.to_string()).unwrap();
        let h = by_customer[&customer];
        let weeks = (h.repeat_purchases, h.t_x(TimeUnit::Weeks), h.t(TimeUnit::Weeks));
        assert_eq!(weeks.0, x, "customer {id}: frequency");
        assert!((weeks.1 - t_x).abs() <= 0.005 + 1e-9, "customer {id}: recency {weeks:?}");
        assert!((weeks.2 - t).abs() <= 0.005 + 1e-9, "customer {id}: T {weeks:?}");
        assert_eq!(resolver.purchase_history(customer, now()).unwrap(), Some(h));
    }

    let fit = resolver.fit_purchase_model(now(), TimeUnit::Weeks).unwrap();
    assert!(fit.converged, "{fit}");
    assert_paper(&fit.model, fit.log_likelihood);
    let shipped: Vec<PurchaseHistory> = summary
        .values()
        .map(|&(x, t_x, t)| PurchaseHistory::new(x, days(t_x), days(t)).unwrap())
        .collect();
    assert_eq!(BgNbd::fit(&shipped, TimeUnit::Weeks).unwrap(), fit, "the same fit");

    // Predictions for everyone; the one-time buyers are alive by the model's assumption.
    let predictions = resolver.predictions(now(), &fit.model, 39.0).unwrap();
    assert_eq!(predictions.len(), 2_357);
    for p in &predictions {
        let p = p.prediction;
        assert!((0.0..=1.0).contains(&p.p_alive) && p.expected_purchases >= 0.0, "{p:?}");
        if p.history.repeat_purchases == 0 {
            assert_eq!(p.p_alive, 1.0);
        }
    }
    // The journeys carry the same predictions once asked with the model.
    let journeys: Vec<_> = resolver.journeys(now()).with_model(fit.model, 39.0).unwrap().collect();
    assert_eq!(journeys.len(), predictions.len());
    for (j, p) in journeys.iter().zip(&predictions) {
        assert_eq!((j.customer, j.prediction), (p.customer, Some(p.prediction)));
    }
    assert!(resolver.journeys(now()).all(|j| j.prediction.is_none()), "no model, no prediction");
    assert!(resolver.journeys(now()).with_model(fit.model, -1.0).is_err());

    // Thirteen customers bought on 1997-09-30 itself (counted from the file with a
    // separate script): at `now` those purchases count, one second earlier they do not.
    let before = resolver.purchase_histories(Timestamp(now().0 - 1));
    let fewer = before
        .iter()
        .zip(&histories)
        .filter(|(b, h)| b.1.repeat_purchases + 1 == h.1.repeat_purchases)
        .count();
    assert_eq!(fewer, 13);
}
