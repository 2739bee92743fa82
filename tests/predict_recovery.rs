//! The fit recovers the parameters that generated the data: histories drawn from the BG/NBD
//! process with known (r, α, a, b) (`idstitch_testkit::bgnbd`, a simulation that shares no
//! code with the likelihood), fitted in days and in weeks.

use idstitch::predict::{BgNbd, TimeUnit};
use idstitch_testkit::bgnbd;

#[test]
fn the_fit_recovers_simulated_parameters() {
    // Slow buyers (mean rate one per 100 days), so that two purchases rarely share a day and
    // counting days changes the process little.
    let truth = (0.5, 50.0, 0.9, 3.0);
    let histories = bgnbd::histories(truth, 40_000, 1_460, 7);
    let fit = BgNbd::fit(&histories, TimeUnit::Days).unwrap();
    assert!(fit.converged, "{fit}");
    let got = [fit.model.r, fit.model.alpha, fit.model.a, fit.model.b];
    let want = [truth.0, truth.1, truth.2, truth.3];
    for ((g, w), name) in got.iter().zip(want).zip(["r", "alpha", "a", "b"]) {
        assert!((g / w - 1.0).abs() < 0.15, "{name}: fitted {g}, simulated {w} ({fit})");
    }
    // Weeks: the same maximum with α divided by 7; the log-likelihood, a density of purchase
    // times, grows by ln 7 per repeat purchase.
    let weeks = BgNbd::fit(&histories, TimeUnit::Weeks).unwrap();
    let repeats: f64 = histories.iter().map(|h| h.x()).sum();
    let shift = weeks.log_likelihood - fit.log_likelihood;
    assert!((shift - repeats * 7f64.ln()).abs() < 1e-6 * fit.log_likelihood.abs(), "{shift}");
    for (d, w) in [
        (fit.model.r, weeks.model.r),
        (fit.model.alpha / 7.0, weeks.model.alpha),
        (fit.model.a, weeks.model.a),
        (fit.model.b, weeks.model.b),
    ] {
        assert!((d / w - 1.0).abs() < 1e-5, "days {d} vs weeks {w}");
    }
}
