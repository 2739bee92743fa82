// The reference values are mpmath's digits as printed, more than an f64 holds.
#![allow(clippy::excessive_precision)]

use super::*;

const CDNOW: (f64, f64, f64, f64) = (0.243, 4.414, 0.793, 2.426);

fn cdnow() -> BgNbd {
    let (r, alpha, a, b) = CDNOW;
    BgNbd::new(r, alpha, a, b, TimeUnit::Weeks).unwrap()
}

fn h(x: u32, t_x: u32, t: u32) -> PurchaseHistory {
    PurchaseHistory::new(x, t_x, t).unwrap()
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-30)
}

/// (x, t_x days, T days, ln L, P(alive), E[Y(t)]) computed with mpmath 1.3.0 at 30 digits by
/// the formulas of FHL 2005 (`loggamma`, and `hyp2f1` without Euler's transformation),
/// each expectation checked there against a direct quadrature over p ~ Beta(a, b+x) of
/// (1/p)(1 − ((α+T)/(α+T+pt))^(r+x)), a derivation that needs no ₂F₁.
type Row = (u32, u32, u32, f64, f64, f64);

const CDNOW_WEEKS_39: [Row; 6] = [
    (0, 0, 272, -0.55469723196260229012, 1.0, 0.19510966499308847577),
    (2, 213, 272, -9.4584735574884969712, 0.72658972183549483661, 1.2261158061493217126),
    (1, 12, 272, -4.4697609295748550504, 0.21226006255461328791, 0.20335104108680571223),
    (7, 250, 270, -22.114361953687560659, 0.86588827761625408801, 4.5271572873671460948),
    (20, 300, 301, -40.763813312567451403, 0.96214687211014624043, 12.668057561335485817),
    (0, 0, 0, 0.0, 1.0, 1.1967231933208168419),
];

/// r = 0.5, α = 10 days, a = 1.7, b = 3.1; horizon 90 days.
const DAYS_90: [Row; 4] = [
    (0, 0, 40, -0.8047189562170501873, 1.0, 0.63660081522117317394),
    (3, 30, 40, -12.437047028080599474, 0.5787416463055501085, 2.0062492469012587017),
    (15, 100, 365, -50.911321636241509873, 5.5801919075616915966e-8, 1.7769385767652177923e-7),
    (0, 0, 0, 0.0, 1.0, 1.6827835895839905049),
];

fn check(model: &BgNbd, rows: &[Row], horizon: f64) {
    for &(x, t_x, t, ll, alive, expected) in rows {
        let hist = h(x, t_x, t);
        let got = model.log_likelihood_of(&hist);
        assert!((got - ll).abs() < 1e-11 * (1.0 + ll.abs()), "{hist:?}: ln L {got} vs {ll}");
        let got = model.p_alive(&hist);
        assert!(close(got, alive, 1e-12), "{hist:?}: P(alive) {got} vs {alive}");
        let got = model.expected_purchases(&hist, horizon).unwrap();
        assert!(close(got, expected, 1e-10), "{hist:?}: E[Y] {got} vs {expected}");
    }
}

#[test]
fn closed_forms_agree_with_mpmath() {
    check(&cdnow(), &CDNOW_WEEKS_39, 39.0);
    check(&BgNbd::new(0.5, 10.0, 1.7, 3.1, TimeUnit::Days).unwrap(), &DAYS_90, 90.0);
}

#[test]
fn p_alive_is_one_without_repeat_purchases() {
    let model = cdnow();
    for t in [0, 1, 100, 10_000] {
        assert_eq!(model.p_alive(&h(0, 0, t)), 1.0);
    }
}

#[test]
fn expected_purchases_grow_with_x_and_horizon_and_fall_with_silence() {
    let model = cdnow();
    // Bought on the last day: more repeat purchases mean a higher rate and more life.
    let mut last = (0.0, 0.0);
    for x in 1..60 {
        let hist = h(x, 200, 200);
        let e = model.expected_purchases(&hist, 52.0).unwrap();
        let alive = model.p_alive(&hist);
        assert!(e > last.0 && alive > last.1, "x = {x}: {e} {alive} after {last:?}");
        last = (e, alive);
    }
    // The same history, a longer horizon: more purchases.
    let hist = h(3, 100, 200);
    let mut last = 0.0;
    for horizon in [1.0, 4.0, 13.0, 52.0, 520.0, 5_200.0] {
        let e = model.expected_purchases(&hist, horizon).unwrap();
        assert!(e > last, "horizon {horizon}");
        last = e;
    }
    // The same purchases, ever longer silence since: less alive, fewer purchases ahead.
    let mut last = (f64::INFINITY, f64::INFINITY);
    for t in [100, 120, 200, 400, 1_000] {
        let hist = h(3, 100, t);
        let now = (model.expected_purchases(&hist, 52.0).unwrap(), model.p_alive(&hist));
        assert!(now.0 < last.0 && now.1 < last.1, "T = {t}");
        last = now;
    }
}

#[test]
fn a_near_one_is_continuous() {
    let hist = h(4, 60, 90);
    let at = |a| BgNbd::new(0.7, 12.0, a, 2.0, TimeUnit::Days).unwrap();
    let exact = at(1.0).expected_purchases(&hist, 30.0).unwrap();
    for a in [1.0 - 1e-3, 1.0 + 1e-3, 1.0 + 2e-6] {
        let e = at(a).expected_purchases(&hist, 30.0).unwrap();
        assert!((e - exact).abs() < 2e-3 * exact, "a = {a}: {e} vs {exact}");
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    for (r, alpha, a, b) in [(0.0, 1.0, 1.0, 1.0), (1.0, -1.0, 1.0, 1.0), (1.0, 1.0, f64::NAN, 1.0)]
    {
        assert!(matches!(
            BgNbd::new(r, alpha, a, b, TimeUnit::Days),
            Err(PredictError::InvalidModel { .. })
        ));
    }
    let model = cdnow();
    for horizon in [-1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            model.expected_purchases(&h(1, 1, 1), horizon),
            Err(PredictError::InvalidHorizon(_))
        ));
    }
    assert_eq!(model.expected_purchases(&h(1, 1, 1), 0.0), Ok(0.0));
    // A horizon that dwarfs α + T: the series would not converge, the quadrature answers,
    // and more time still means more purchases.
    let long = model.expected_purchases(&h(1, 1, 1), 1e12).unwrap();
    let shorter = model.expected_purchases(&h(1, 1, 1), 1e6).unwrap();
    assert!(long.is_finite() && long > shorter, "{long} vs {shorter}");
}

/// Python's `math.lgamma` (the C library's), an independent implementation.
#[test]
fn ln_gamma_agrees_with_the_c_library() {
    let cases = [
        (0.1, 2.2527126517342055),
        (0.243, 1.3180435846996699),
        (2.426, 0.2340081168873156),
        (3.219, 0.9044487357673843),
        (50.5, 146.5192554907206),
        (1000.25, 5906.947268271117),
        (0.5, 0.5 * std::f64::consts::PI.ln()),
        (1.0, 0.0),
        (2.0, 0.0),
        (7.0, 720f64.ln()),
    ];
    for (x, want) in cases {
        let got = ln_gamma(x);
        assert!((got - want).abs() < 1e-13 * (1.0 + want.abs()), "lnΓ({x}) = {got}, want {want}");
    }
}

#[test]
fn display_names_the_unit() {
    assert_eq!(cdnow().to_string(), "r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 (weeks)");
    let odd = BgNbd::new(0.5, 30.0, 2e-9, 3.4e8, TimeUnit::Days).unwrap();
    assert_eq!(odd.to_string(), "r = 0.500, alpha = 30.000, a = 2.000e-9, b = 3.400e8 (days)");
}

/// Above `SERIES_MAX_A` the expectation is integrated: against mpmath's ₂F₁ formula at 40
/// digits, including a drop-out distribution singular at p = 1 (b + x < 1) and the
/// degenerate fit of four customers (a and b near e²⁰), where the result is g(a/(a+b)) to
/// within the Beta's spread (checked by hand: 0.4406).
#[test]
fn large_a_is_integrated() {
    let cases = [
        ((0.6, 15.0, 120.0, 300.0), 60.0, (0, 0, 40), 0.52592902385544582657),
        ((0.6, 15.0, 120.0, 300.0), 60.0, (3, 30, 40), 1.205635070686271521),
        ((0.6, 15.0, 120.0, 300.0), 60.0, (10, 200, 365), 0.0080381206743707240454),
        ((0.6, 15.0, 45.0, 0.5), 60.0, (0, 0, 40), 0.35935612477964087156),
        ((0.6, 15.0, 45.0, 0.5), 60.0, (2, 30, 90), 0.0026162412194918376306),
        (
            (1.7252188725200546, 39.46522395154722, 222836761.8718338, 485160475.28811836),
            30.0,
            (2, 39, 69),
            0.33503951361853827066,
        ),
        (
            (1.7252188725200546, 39.46522395154722, 222836761.8718338, 485160475.28811836),
            30.0,
            (0, 0, 65),
            0.44060945061191003386,
        ),
    ];
    for ((r, alpha, a, b), horizon, (x, t_x, t), want) in cases {
        let model = BgNbd::new(r, alpha, a, b, TimeUnit::Days).unwrap();
        let got = model.expected_purchases(&h(x, t_x, t), horizon).unwrap();
        assert!(close(got, want, 1e-9), "a = {a}, {:?}: {got} vs {want}", (x, t_x, t));
    }
}

/// The quadrature alone, where the series is used: it agrees with mpmath too (the fallback
/// when the series does not converge), a < 1 included, whose density is singular at p = 0.
#[test]
fn quadrature_agrees_where_the_series_is_used() {
    let model = cdnow();
    for &(x, t_x, t, _, _, want) in &CDNOW_WEEKS_39 {
        let hist = h(x, t_x, t);
        let got =
            model.alive_expectation_by_quadrature(&hist, 39.0) / (1.0 + model.odds_dead(&hist));
        assert!(close(got, want, 1e-10), "{hist:?}: {got} vs {want}");
    }
}
