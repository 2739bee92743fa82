//! The campaign statistics (`idstitch::campaign::stats`) against:
//!
//! 1. published values: Newcombe's (1998) eight examples for the difference of two
//!    proportions and four Wilson intervals for one, to the four decimals printed, and a
//!    two-proportion z-test from statsmodels;
//! 2. a plain re-implementation written here from the textbook formulas, sharing nothing with
//!    the crate (Φ from its Taylor series and continued fraction, Φ⁻¹ by bisection, Wilson as
//!    centre ± half-width), on many random inputs, to 1e-9;
//! 3. edge cases: 0 trials, 0 and all successes, identical groups, counts of 10⁹ and more,
//!    confidence levels at and beyond the ends of (0, 1).

use idstitch::campaign::stats::{
    newcombe_difference, normal_cdf, normal_quantile, two_proportion_z_test, wilson, Interval,
    Proportion, StatsError, Uplift, MIN_GROUP,
};
use proptest::prelude::*;

fn prop(successes: u64, trials: u64) -> Proportion {
    Proportion::new(successes, trials).unwrap()
}

/// An interval as the papers print it: four decimals.
fn four(ci: Interval) -> (String, String) {
    (format!("{:.4}", ci.lo), format!("{:.4}", ci.hi))
}

// ---------------------------------------------------------------------------------------------
// 1. Published values
// ---------------------------------------------------------------------------------------------

/// Successes and trials.
type Counts = (u64, u64);
/// A lower and an upper limit as printed.
type Printed = (&'static str, &'static str);

/// Newcombe, R. G. (1998). Interval estimation for the difference between independent
/// proportions: comparison of eleven methods. Statistics in Medicine 17, 873–890, Table II,
/// method 10 (score interval, no continuity correction), 95 %.
///
/// The table is transcribed in the test data of the DBCI package (DeepPSP/DBCI,
/// `test/test-data/newcombee.csv`, row "wilson"); examples (a), (b) and (g) are also quoted
/// from the SAS paper of WUSS 2016 (paper 127) in the lumen package's tests, and example (d)
/// in the ratesci package's `tests/testthat/test3.R`. All eight were recomputed here with
/// mpmath at 50 digits and agree.
const NEWCOMBE_TABLE_II: [(Counts, Counts, Printed); 8] = [
    ((56, 70), (48, 80), ("0.0524", "0.3339")),
    ((9, 10), (3, 10), ("0.1705", "0.8090")),
    ((6, 7), (2, 7), ("0.0582", "0.8062")),
    ((5, 56), (0, 29), ("-0.0381", "0.1926")),
    ((0, 10), (0, 20), ("-0.1611", "0.2775")),
    ((0, 10), (0, 10), ("-0.2775", "0.2775")),
    ((10, 10), (0, 20), ("0.6791", "1.0000")),
    ((10, 10), (0, 10), ("0.6075", "1.0000")),
];

#[test]
fn newcombe_table_ii_method_10() {
    for ((x1, n1), (x2, n2), (lo, hi)) in NEWCOMBE_TABLE_II {
        let ci = newcombe_difference(prop(x1, n1), prop(x2, n2), 0.95).unwrap();
        assert_eq!(four(ci), (lo.to_string(), hi.to_string()), "{x1}/{n1} − {x2}/{n2}");
    }
}

/// Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion:
/// comparison of seven methods. Statistics in Medicine 17, 857–872, method 3 (Wilson score
/// without continuity correction), 95 %. Quoted in the ratesci package's
/// `tests/testthat/test3.R` ("Single proportion, Newcombe examples"); 81/263 also in the
/// lumen package's tests ("Newcombe (1998) Table I, Wilson").
const NEWCOMBE_SINGLE: [(Counts, Printed); 4] = [
    ((81, 263), ("0.2553", "0.3662")),
    ((15, 148), ("0.0624", "0.1605")),
    ((0, 20), ("0.0000", "0.1611")),
    ((1, 29), ("0.0061", "0.1718")),
];

#[test]
fn newcombe_single_proportion_wilson() {
    for ((x, n), (lo, hi)) in NEWCOMBE_SINGLE {
        let ci = wilson(prop(x, n), 0.95).unwrap();
        assert_eq!(four(ci), (lo.to_string(), hi.to_string()), "{x}/{n}");
    }
}

/// statsmodels' `proportions_ztest(count=[5, 12], nobs=[83, 99])`, pinned in its
/// `statsmodels/stats/tests/test_proportion.py` (`test_default_values`, GH 2969) as
/// z = −1.4078304151258787 and p = 0.15918129181156992 (its docstring prints p = 0.159).
#[test]
fn statsmodels_proportions_ztest() {
    let t = two_proportion_z_test(prop(5, 83), prop(12, 99)).unwrap();
    assert!((t.z - -1.407_830_415_125_878_7).abs() < 1e-12, "z = {}", t.z);
    assert!((t.p_value - 0.159_181_291_811_569_92).abs() < 1e-12, "p = {}", t.p_value);
}

/// z for a two-sided 95 % interval, 1.959963984540054 (R's `qnorm(0.975)`; mpmath agrees to
/// all printed digits), and Φ of it back.
#[test]
fn the_95_percent_quantile() {
    assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
    assert!((normal_quantile(0.025) + 1.959_963_984_540_054).abs() < 1e-14);
    assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-15);
}

// ---------------------------------------------------------------------------------------------
// 2. A plain re-implementation
// ---------------------------------------------------------------------------------------------

/// The reference: each formula written the way a textbook states it.
mod reference {
    use std::f64::consts::PI;

    /// The standard normal density.
    pub fn density(x: f64) -> f64 {
        (-x * x / 2.0).exp() / (2.0 * PI).sqrt()
    }

    /// Φ(x). For |x| ≤ 3 the series Φ(x) = ½ + φ(x)(x + x³/3 + x⁵/(3·5) + …), whose terms are
    /// all of one sign; beyond, the upper tail as φ(x) over the continued fraction
    /// x + 1/(x + 2/(x + 3/(x + …))), evaluated from depth 500 up.
    pub fn cdf(x: f64) -> f64 {
        if x.abs() <= 3.0 {
            let (mut term, mut sum, mut k) = (x, x, 1.0);
            while term.abs() > 1e-18 * sum.abs() {
                term *= x * x / (2.0 * k + 1.0);
                sum += term;
                k += 1.0;
            }
            return 0.5 + density(x) * sum;
        }
        let y = x.abs();
        let mut fraction = y;
        for k in (1..=500).rev() {
            fraction = y + f64::from(k) / fraction;
        }
        let upper = density(y) / fraction;
        if x > 0.0 {
            1.0 - upper
        } else {
            upper
        }
    }

    /// Φ⁻¹(p) for 0 < p < 1, by bisection on `cdf` (in the lower half, and by symmetry).
    pub fn quantile(p: f64) -> f64 {
        if p > 0.5 {
            return -quantile(1.0 - p);
        }
        let (mut lo, mut hi) = (-40.0_f64, 0.0_f64);
        for _ in 0..200 {
            let mid = (lo + hi) / 2.0;
            if cdf(mid) < p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo + hi) / 2.0
    }

    /// The Wilson interval as centre ± half-width.
    pub fn wilson(x: u64, n: u64, confidence: f64) -> (f64, f64) {
        let z = quantile(1.0 - (1.0 - confidence) / 2.0);
        let (p, n) = (x as f64 / n as f64, n as f64);
        let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
        let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
        ((centre - half).max(0.0), (centre + half).min(1.0))
    }

    /// Newcombe's method 10 from the two Wilson intervals.
    pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64, confidence: f64) -> (f64, f64) {
        let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
        let (l1, u1) = wilson(x1, n1, confidence);
        let (l2, u2) = wilson(x2, n2, confidence);
        let d = p1 - p2;
        let lo = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
        let hi = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
        (lo, hi)
    }

    /// The pooled z statistic and its two-sided p-value.
    pub fn z_test(x1: u64, n1: u64, x2: u64, n2: u64) -> (f64, f64) {
        let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
        let pooled = (x1 as f64 + x2 as f64) / (n1 as f64 + n2 as f64);
        let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
        let z = (p1 - p2) / se;
        (z, 2.0 * cdf(-z.abs()))
    }
}

/// `a` and `b` agree to 1e-9, absolutely for figures on the unit scale.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9
}

/// `a` and `b` agree to 1e-9 relative to `b` (for tail probabilities), or both are below the
/// smallest normal f64 where relative precision ends.
fn close_relative(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs() || (a.abs() < 1e-307 && b.abs() < 1e-307)
}

/// A group: trials from 1 to 10⁶ (and sometimes 10⁹), successes anywhere in them, with the
/// ends (0 and all) drawn often.
fn group() -> impl Strategy<Value = (u64, u64)> {
    prop_oneof![1u64..=200, 1u64..=1_000_000, 999_000_000u64..=1_000_000_000].prop_flat_map(|n| {
        let ends = prop_oneof![Just(0), Just(n), 0..=n.min(5), n.saturating_sub(5)..=n];
        (prop_oneof![ends, 0..=n], Just(n))
    })
}

fn confidence() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.95), 0.5f64..0.999_999, 0.001f64..0.5]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn normal_cdf_agrees_with_the_reference(x in -37.5f64..37.5) {
        let (got, want) = (normal_cdf(x), reference::cdf(x));
        if x <= 0.0 {
            prop_assert!(close_relative(got, want), "Φ({}) = {:e}, reference {:e}", x, got, want);
        } else {
            prop_assert!((got - want).abs() <= 1e-15, "Φ({}) = {}, reference {}", x, got, want);
        }
    }

    #[test]
    fn normal_quantile_agrees_with_the_reference(exponent in 0.0f64..300.0, upper: bool) {
        // Upper levels go to 1 − 1e-15 only: closer, they round to 1, whose quantile is ∞.
        let tail = 10f64.powf(if upper { -exponent / 20.0 } else { -exponent }).min(0.5);
        let p = if upper { 1.0 - tail } else { tail };
        let (got, want) = (normal_quantile(p), reference::quantile(p));
        prop_assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "Φ⁻¹({:e}) = {}, reference {}", p, got, want
        );
    }

    #[test]
    fn wilson_agrees_with_the_reference((x, n) in group(), c in confidence()) {
        let ci = wilson(prop(x, n), c).unwrap();
        let (lo, hi) = reference::wilson(x, n, c);
        prop_assert!(close(ci.lo, lo) && close(ci.hi, hi), "{}/{} at {}: {:?} vs {:?}",
            x, n, c, ci, (lo, hi));
        let rate = x as f64 / n as f64;
        prop_assert!(0.0 <= ci.lo && ci.lo <= rate && rate <= ci.hi && ci.hi <= 1.0);
    }

    #[test]
    fn newcombe_agrees_with_the_reference(
        (x1, n1) in group(),
        (x2, n2) in group(),
        c in confidence(),
    ) {
        let ci = newcombe_difference(prop(x1, n1), prop(x2, n2), c).unwrap();
        let (lo, hi) = reference::newcombe(x1, n1, x2, n2, c);
        prop_assert!(close(ci.lo, lo) && close(ci.hi, hi), "{}/{} − {}/{} at {}: {:?} vs {:?}",
            x1, n1, x2, n2, c, ci, (lo, hi));
        let d = x1 as f64 / n1 as f64 - x2 as f64 / n2 as f64;
        prop_assert!(-1.0 <= ci.lo && ci.lo <= d && d <= ci.hi && ci.hi <= 1.0);
    }

    #[test]
    fn z_test_agrees_with_the_reference((x1, n1) in group(), (x2, n2) in group()) {
        let t = two_proportion_z_test(prop(x1, n1), prop(x2, n2)).unwrap();
        let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
        if pooled == 0.0 || pooled == 1.0 {
            prop_assert_eq!((t.z, t.p_value), (0.0, 1.0));
        } else {
            let (z, p) = reference::z_test(x1, n1, x2, n2);
            prop_assert!((t.z - z).abs() <= 1e-9 * z.abs().max(1.0), "z {} vs {}", t.z, z);
            prop_assert!(close_relative(t.p_value, p), "p {:e} vs {:e}", t.p_value, p);
            prop_assert!((0.0..=1.0).contains(&t.p_value));
        }
    }

    /// A higher confidence level never gives a narrower interval.
    #[test]
    fn intervals_grow_with_confidence(
        (x1, n1) in group(),
        (x2, n2) in group(),
        a in 0.01f64..0.999,
        b in 0.01f64..0.999,
    ) {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let (t, c) = (prop(x1, n1), prop(x2, n2));
        for (narrow, wide) in [
            (wilson(t, low).unwrap(), wilson(t, high).unwrap()),
            (newcombe_difference(t, c, low).unwrap(), newcombe_difference(t, c, high).unwrap()),
        ] {
            prop_assert!(wide.lo <= narrow.lo + 1e-15 && narrow.hi <= wide.hi + 1e-15,
                "{:?} at {} vs {:?} at {}", narrow, low, wide, high);
        }
    }

    /// Swapping the groups mirrors the interval and negates z.
    #[test]
    fn swapping_the_groups_mirrors_the_figures(
        (x1, n1) in group(),
        (x2, n2) in group(),
        c in confidence(),
    ) {
        let (t, k) = (prop(x1, n1), prop(x2, n2));
        let ab = newcombe_difference(t, k, c).unwrap();
        let ba = newcombe_difference(k, t, c).unwrap();
        prop_assert!((ab.lo + ba.hi).abs() < 1e-15 && (ab.hi + ba.lo).abs() < 1e-15);
        let zab = two_proportion_z_test(t, k).unwrap();
        let zba = two_proportion_z_test(k, t).unwrap();
        prop_assert_eq!(zab.z, -zba.z);
        prop_assert_eq!(zab.p_value, zba.p_value);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Edge cases
// ---------------------------------------------------------------------------------------------

#[test]
fn no_trials_gives_no_figures() {
    let empty = prop(0, 0);
    let some = prop(3, 40);
    assert_eq!(empty.rate(), None);
    assert_eq!(wilson(empty, 0.95), None);
    assert_eq!(newcombe_difference(empty, some, 0.95), None);
    assert_eq!(newcombe_difference(some, empty, 0.95), None);
    assert_eq!(two_proportion_z_test(empty, some), None);
    assert_eq!(two_proportion_z_test(some, empty), None);
    assert_eq!(Uplift::estimate(empty, some, 0.95), None);
    assert_eq!(Uplift::estimate(some, empty, 0.95), None);
}

#[test]
fn more_successes_than_trials_is_an_error() {
    assert_eq!(
        Proportion::new(41, 40),
        Err(StatsError::SuccessesExceedTrials { successes: 41, trials: 40 })
    );
    assert!(Proportion::new(u64::MAX, u64::MAX - 1).is_err());
}

#[test]
fn no_and_all_successes_reach_the_ends_exactly() {
    for n in [1, 2, 30, 1_000, 1_000_000_000, u64::MAX] {
        let none = wilson(prop(0, n), 0.95).unwrap();
        let all = wilson(prop(n, n), 0.95).unwrap();
        assert_eq!(none.lo, 0.0, "0/{n}");
        assert_eq!(all.hi, 1.0, "{n}/{n}");
        // The other limits mirror each other (for 2⁶⁴ − 1 trials 1 − 2e-19 rounds to 1).
        assert!(none.hi > 0.0 && (all.lo - (1.0 - none.hi)).abs() < 1e-15, "{none:?} {all:?}");
        // All against none is the largest possible uplift: its interval ends at exactly 1.
        let best = newcombe_difference(prop(n, n), prop(0, n), 0.95).unwrap();
        assert_eq!(best.hi, 1.0);
        assert_eq!(newcombe_difference(prop(0, n), prop(n, n), 0.95).unwrap().lo, -1.0);
    }
}

#[test]
fn identical_groups_show_no_uplift() {
    for (x, n) in [(0, 50), (7, 50), (25, 50), (50, 50), (123_456_789, 1_000_000_000)] {
        let g = prop(x, n);
        let u = Uplift::estimate(g, g, 0.95).unwrap();
        assert_eq!(u.difference, 0.0);
        assert_eq!(u.interval.lo, -u.interval.hi, "{x}/{n}: symmetric about 0");
        assert!(u.interval.contains(0.0));
        assert_eq!((u.z_test.z, u.z_test.p_value), (0.0, 1.0), "{x}/{n}");
    }
    // Equal rates from different counts also give z = 0 exactly.
    let t = two_proportion_z_test(prop(1, 3), prop(20, 60)).unwrap();
    assert_eq!((t.z, t.p_value), (0.0, 1.0));
}

#[test]
fn counts_of_a_billion_and_beyond() {
    let n = 1_000_000_000;
    let (t, c) = (prop(50_100_000, n), prop(50_000_000, n));
    let u = Uplift::estimate(t, c, 0.95).unwrap();
    assert!((u.difference - 1e-4).abs() < 1e-15);
    let (lo, hi) = reference::newcombe(50_100_000, n, 50_000_000, n, 0.95);
    assert!(close(u.interval.lo, lo) && close(u.interval.hi, hi), "{u:?}");
    assert!(u.interval.lo > 0.0, "a 0.01-point uplift on a billion each is significant");
    assert!(u.z_test.z > 10.0 && u.z_test.p_value < 1e-20, "{:?}", u.z_test);
    // Counts near u64::MAX: the pooled sums would overflow u64, but every figure is finite.
    let big = u64::MAX;
    let u = Uplift::estimate(prop(big / 2, big), prop(big / 3, big), 0.95).unwrap();
    for v in [u.difference, u.interval.lo, u.interval.hi, u.z_test.z, u.z_test.p_value] {
        assert!(v.is_finite(), "{u:?}");
    }
    assert_eq!(u.z_test.p_value, 0.0, "a difference of 1/6 on 1.8e19 each underflows p");
    assert!(u.interval.contains(0.5 - 1.0 / 3.0));
}

#[test]
fn confidence_levels_at_and_beyond_the_ends() {
    let g = prop(12, 40);
    let h = prop(5, 40);
    for c in [0.0, 1.0, -0.0, -0.95, 1.5, 95.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(wilson(g, c), None, "confidence {c}");
        assert_eq!(newcombe_difference(g, h, c), None, "confidence {c}");
        assert_eq!(Uplift::estimate(g, h, c), None, "confidence {c}");
    }
    // The smallest level shrinks the interval to the estimate.
    let point = wilson(g, f64::MIN_POSITIVE).unwrap();
    assert!((point.lo - 0.3).abs() < 1e-15 && (point.hi - 0.3).abs() < 1e-15, "{point:?}");
    let point = wilson(prop(0, 40), 1e-300).unwrap();
    assert_eq!((point.lo, point.hi), (0.0, 0.0));
    // The largest level below 1 still gives finite limits inside [0, 1].
    let widest = 1.0 - f64::EPSILON / 2.0;
    let ci = wilson(g, widest).unwrap();
    assert!(0.0 < ci.lo && ci.hi < 1.0, "{ci:?}");
    let d = newcombe_difference(g, h, widest).unwrap();
    assert!(-1.0 <= d.lo && d.lo < d.hi && d.hi <= 1.0, "{d:?}");
}

#[test]
fn groups_under_thirty_are_too_small() {
    assert_eq!(MIN_GROUP, 30);
    assert!(prop(3, 29).is_too_small());
    assert!(prop(0, 0).is_too_small());
    assert!(!prop(3, 30).is_too_small());
}
