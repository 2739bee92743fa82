//! The statistics of a campaign evaluation (specification §9): per group a [`Proportion`] of
//! converters among customers, the [`wilson`] score interval of its rate, the uplift of
//! treatment over control with Newcombe's hybrid score interval ([`newcombe_difference`]),
//! and a two-sided pooled [`two_proportion_z_test`]. [`Uplift::estimate`] gathers them.
//!
//! Everything here is a pure function of counts and a confidence level, without I/O or a
//! runtime dependency: the standard normal distribution ([`normal_cdf`],
//! [`normal_quantile`]) is computed here, after published approximations, to about 1e-15.
//!
//! Every function is total: it never panics, and gives no NaN for finite input. Where a
//! figure does not exist (a group with no trials, a confidence level outside (0, 1)) it
//! returns `None` rather than a number.
//!
//! The statistics are defined for any group size; the rule that a group under [`MIN_GROUP`]
//! customers is reported as too small, not as a number, is the evaluation's to apply
//! ([`Proportion::is_too_small`]).
//!
//! # Example
//!
//! ```
//! use idstitch::campaign::stats::{Proportion, Uplift};
//!
//! let treatment = Proportion::new(56, 70)?;
//! let control = Proportion::new(48, 80)?;
//! let uplift = Uplift::estimate(treatment, control, 0.95).unwrap();
//! assert!((uplift.difference - 0.2).abs() < 1e-12);
//! let ci = uplift.interval;
//! assert_eq!(format!("{:.4} to {:.4}", ci.lo, ci.hi), "0.0524 to 0.3339");
//! assert!(uplift.z_test.p_value < 0.01);
//! # Ok::<(), idstitch::campaign::stats::StatsError>(())
//! ```

/// The smallest group an evaluation reports figures for: a treatment or control group of
/// fewer customers is reported as too small, not as a number (specification §9), since the
/// normal approximations behind the interval and the z-test are unreliable for so few.
pub const MIN_GROUP: u64 = 30;

/// Why a [`Proportion`] could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// [`Proportion::new`] was given more successes than trials: a group cannot have more
    /// converters than customers.
    #[error("{successes} successes out of {trials} trials: successes cannot exceed trials")]
    SuccessesExceedTrials {
        /// The successes given.
        successes: u64,
        /// The trials given.
        trials: u64,
    },
}

/// `successes` out of `trials`, with `successes ≤ trials`: the converters among a group's
/// customers. Made by [`Proportion::new`], which keeps that invariant (deserialising checks
/// it too).
///
/// ```
/// use idstitch::campaign::stats::Proportion;
///
/// let p = Proportion::new(15, 148)?;
/// assert_eq!((p.successes(), p.trials()), (15, 148));
/// assert_eq!(p.rate(), Some(15.0 / 148.0));
/// assert_eq!(Proportion::new(0, 0)?.rate(), None);
/// assert!(Proportion::new(3, 2).is_err());
/// # Ok::<(), idstitch::campaign::stats::StatsError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "ProportionFields"))]
#[non_exhaustive]
pub struct Proportion {
    successes: u64,
    trials: u64,
}

/// The fields of a [`Proportion`] as they are read, before `new` checks them.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct ProportionFields {
    successes: u64,
    trials: u64,
}

#[cfg(feature = "serde")]
impl TryFrom<ProportionFields> for Proportion {
    type Error = StatsError;

    fn try_from(fields: ProportionFields) -> Result<Self, StatsError> {
        Proportion::new(fields.successes, fields.trials)
    }
}

impl Proportion {
    /// `successes` out of `trials`.
    ///
    /// # Errors
    ///
    /// [`StatsError::SuccessesExceedTrials`] if `successes > trials`.
    pub const fn new(successes: u64, trials: u64) -> Result<Self, StatsError> {
        if successes > trials {
            return Err(StatsError::SuccessesExceedTrials { successes, trials });
        }
        Ok(Proportion { successes, trials })
    }

    /// The successes (converters).
    pub const fn successes(self) -> u64 {
        self.successes
    }

    /// The trials (customers).
    pub const fn trials(self) -> u64 {
        self.trials
    }

    /// `successes / trials`, in [0, 1]; `None` for 0 trials, where there is no rate.
    pub fn rate(self) -> Option<f64> {
        (self.trials > 0).then(|| self.successes as f64 / self.trials as f64)
    }

    /// Whether the group has fewer than [`MIN_GROUP`] trials, and so is reported as too
    /// small rather than as figures.
    pub const fn is_too_small(self) -> bool {
        self.trials < MIN_GROUP
    }
}

/// A confidence interval `[lo, hi]`, with `lo ≤ hi`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Interval {
    /// The lower limit.
    pub lo: f64,
    /// The upper limit.
    pub hi: f64,
}

impl Interval {
    /// Whether `x` lies in the interval, limits included. For an uplift interval,
    /// `contains(0.0)` tells whether "no uplift" is still plausible at its level (near that
    /// margin the z-test, a different approximation, may judge otherwise).
    pub fn contains(self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// A two-sided two-proportion z-test: the statistic and its p-value.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ZTest {
    /// `(p₁ − p₂) / se` with the pooled standard error: positive when the first (treatment)
    /// rate is the higher.
    pub z: f64,
    /// `P(|Z| ≥ |z|)` for a standard normal `Z`, in [0, 1]. It underflows to 0 for `|z|`
    /// beyond about 38.
    pub p_value: f64,
}

/// The uplift of a treatment group over its control group: the difference of their rates,
/// its Newcombe interval and the z-test of "no difference".
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Uplift {
    /// The treatment group's converters and customers.
    pub treatment: Proportion,
    /// The control (hold-out) group's converters and customers.
    pub control: Proportion,
    /// Treatment rate − control rate, in [−1, 1].
    pub difference: f64,
    /// Newcombe's hybrid score interval for the difference ([`newcombe_difference`]).
    pub interval: Interval,
    /// The pooled two-proportion z-test ([`two_proportion_z_test`]).
    pub z_test: ZTest,
}

impl Uplift {
    /// The uplift of `treatment` over `control` at `confidence` (0.95 for the specification's
    /// 95 % interval); `None` if either group has 0 trials or `confidence` is not in (0, 1).
    ///
    /// It applies no minimum group size: check [`Proportion::is_too_small`] first to report
    /// small groups as the specification asks.
    pub fn estimate(treatment: Proportion, control: Proportion, confidence: f64) -> Option<Self> {
        let difference = treatment.rate()? - control.rate()?;
        Some(Uplift {
            treatment,
            control,
            difference,
            interval: newcombe_difference(treatment, control, confidence)?,
            z_test: two_proportion_z_test(treatment, control)?,
        })
    }
}

/// The two-sided normal quantile `z` with `P(|Z| ≤ z) = confidence`, or `None` for a level
/// outside (0, 1). Computed from the lower tail, `(1 − confidence) / 2`, so that levels near 1
/// keep their precision.
fn two_sided_z(confidence: f64) -> Option<f64> {
    (confidence > 0.0 && confidence < 1.0).then(|| -normal_quantile((1.0 - confidence) / 2.0))
}

/// The Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, "Two-sided
/// confidence intervals for the single proportion", method 3), without continuity
/// correction, at `confidence` (0.95 for 95 %). `None` for 0 trials or a `confidence` not in
/// (0, 1).
///
/// The limits are the roots of `|p̂ − p| = z·√(p(1 − p)/n)`. They always lie in [0, 1], and
/// are exactly 0 for 0 successes and exactly 1 when every trial succeeded. Each is computed in
/// a form without cancellation, so counts up to `u64::MAX` keep their precision.
///
/// ```
/// use idstitch::campaign::stats::{wilson, Proportion};
///
/// // Newcombe (1998), Table I: 81/263 gives 0.2553 to 0.3662.
/// let ci = wilson(Proportion::new(81, 263)?, 0.95).unwrap();
/// assert_eq!(format!("{:.4} to {:.4}", ci.lo, ci.hi), "0.2553 to 0.3662");
/// # Ok::<(), idstitch::campaign::stats::StatsError>(())
/// ```
pub fn wilson(p: Proportion, confidence: f64) -> Option<Interval> {
    let z = two_sided_z(confidence)?;
    if p.trials == 0 {
        return None;
    }
    let n = p.trials as f64;
    let x = p.successes as f64;
    let failures = (p.trials - p.successes) as f64;
    let z2 = z * z;
    // The limits are (2x + z² ∓ z√d) / (2(n + z²)) with d = z² + 4x(n − x)/n. The upper one
    // adds positive terms; the lower one, multiplied out by its conjugate, is
    // 2x² / (n(2x + z² + z√d)), which subtracts nothing either.
    let d = z2 + 4.0 * x * (failures / n);
    let sum = 2.0 * x + z2 + z * d.sqrt();
    let lo = if p.successes == 0 { 0.0 } else { (2.0 * x * x / (n * sum)).min(1.0) };
    let hi = if p.successes == p.trials { 1.0 } else { (sum / (2.0 * (n + z2))).min(1.0) };
    Some(Interval { lo, hi: hi.max(lo) })
}

/// Newcombe's hybrid score interval for the difference `p₁ − p₂` of two independent
/// proportions (Newcombe 1998, "Interval estimation for the difference between independent
/// proportions: comparison of eleven methods", method 10), at `confidence` (0.95 for 95 %).
/// `None` if either proportion has 0 trials or `confidence` is not in (0, 1).
///
/// With `(l₁, u₁)` and `(l₂, u₂)` the [`wilson`] intervals of `p₁ = treatment` and
/// `p₂ = control`, and `d = p₁ − p₂`:
///
/// - `L = d − √((p₁ − l₁)² + (u₂ − p₂)²)`
/// - `U = d + √((u₁ − p₁)² + (p₂ − l₂)²)`
///
/// The interval lies in [−1, 1] and contains `d`.
///
/// ```
/// use idstitch::campaign::stats::{newcombe_difference, Proportion};
///
/// // Newcombe (1998), Table II, example (a): 56/70 − 48/80 = 0.2, 95 % interval
/// // 0.0524 to 0.3339 by method 10.
/// let ci = newcombe_difference(Proportion::new(56, 70)?, Proportion::new(48, 80)?, 0.95)
///     .unwrap();
/// assert_eq!(format!("{:.4} to {:.4}", ci.lo, ci.hi), "0.0524 to 0.3339");
/// # Ok::<(), idstitch::campaign::stats::StatsError>(())
/// ```
pub fn newcombe_difference(
    treatment: Proportion,
    control: Proportion,
    confidence: f64,
) -> Option<Interval> {
    let (p1, p2) = (treatment.rate()?, control.rate()?);
    let (w1, w2) = (wilson(treatment, confidence)?, wilson(control, confidence)?);
    let d = p1 - p2;
    let lo = d - (p1 - w1.lo).hypot(w2.hi - p2);
    let hi = d + (w1.hi - p1).hypot(p2 - w2.lo);
    // Each square root is at most the sum of its terms, so the limits stay in [−1, 1]; the
    // clamp only absorbs rounding.
    Some(Interval { lo: lo.max(-1.0), hi: hi.min(1.0) })
}

/// The two-sided two-proportion z-test of `p₁ = p₂` with the pooled standard error, as in
/// most textbooks and statsmodels' `proportions_ztest`:
/// `z = (p₁ − p₂) / √(p̄(1 − p̄)(1/n₁ + 1/n₂))` with `p̄ = (x₁ + x₂)/(n₁ + n₂)`, and
/// `p = 2Φ(−|z|)`. Its square is Pearson's χ² statistic for the 2×2 table, without
/// continuity correction.
///
/// `None` if either group has 0 trials. When the pooled variance is 0 (no success at all, or
/// nothing but successes, in both groups) the rates are equal and there is no evidence of a
/// difference: the test gives `z = 0` and `p_value = 1` rather than dividing 0 by 0.
///
/// ```
/// use idstitch::campaign::stats::{two_proportion_z_test, Proportion};
///
/// // statsmodels' proportions_ztest([5, 12], [83, 99]): z = −1.4078, p = 0.1592.
/// let t = two_proportion_z_test(Proportion::new(5, 83)?, Proportion::new(12, 99)?).unwrap();
/// assert_eq!(format!("{:.4} {:.4}", t.z, t.p_value), "-1.4078 0.1592");
/// # Ok::<(), idstitch::campaign::stats::StatsError>(())
/// ```
pub fn two_proportion_z_test(treatment: Proportion, control: Proportion) -> Option<ZTest> {
    let (p1, p2) = (treatment.rate()?, control.rate()?);
    let (n1, n2) = (treatment.trials as f64, control.trials as f64);
    // Summed as floats: two u64 counts can overflow u64 when added.
    let pooled = (treatment.successes as f64 + control.successes as f64) / (n1 + n2);
    let variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if variance <= 0.0 {
        return Some(ZTest { z: 0.0, p_value: 1.0 });
    }
    let z = (p1 - p2) / variance.sqrt();
    let p_value = (2.0 * normal_tails(-z.abs()).0).min(1.0);
    Some(ZTest { z, p_value })
}

/// The published constants of the normal approximations, digit for digit as printed, so that
/// they can be checked against their sources (f64 rounds the last digits).
mod published {
    #![allow(clippy::excessive_precision)]

    /// Cody's coefficients for |x| ≤ 0.66291 (W. J. Cody, "Rational Chebyshev approximations for
    /// the error function", Math. Comp. 23 (1969); as in his SPECFUN routine ANORM of 1992).
    pub(super) const ANORM_A: [f64; 5] = [
        2.2352520354606839287e00,
        1.6102823106855587881e02,
        1.0676894854603709582e03,
        1.8154981253343561249e04,
        6.5682337918207449113e-2,
    ];
    pub(super) const ANORM_B: [f64; 4] = [
        4.7202581904688241870e01,
        9.7609855173777669322e02,
        1.0260932208618978205e04,
        4.5507789335026729956e04,
    ];
    /// Cody's coefficients for 0.66291 < |x| ≤ √32.
    pub(super) const ANORM_C: [f64; 9] = [
        3.9894151208813466764e-1,
        8.8831497943883759412e00,
        9.3506656132177855979e01,
        5.9727027639480026226e02,
        2.4945375852903726711e03,
        6.8481904505362823326e03,
        1.1602651437647350124e04,
        9.8427148383839780218e03,
        1.0765576773720192317e-8,
    ];
    pub(super) const ANORM_D: [f64; 8] = [
        2.2266688044328115691e01,
        2.3538790178262499861e02,
        1.5193775994075548050e03,
        6.4855582982667607550e03,
        1.8615571640885098091e04,
        3.4900952721145977266e04,
        3.8912003286093271411e04,
        1.9685429676859990727e04,
    ];
    /// Cody's coefficients for |x| > √32.
    pub(super) const ANORM_P: [f64; 6] = [
        2.1589853405795699e-1,
        1.274011611602473639e-1,
        2.2235277870649807e-2,
        1.421619193227893466e-3,
        2.9112874951168792e-5,
        2.307344176494017303e-2,
    ];
    pub(super) const ANORM_Q: [f64; 5] = [
        1.28426009614491121e00,
        4.68238212480865118e-1,
        6.59881378689285515e-2,
        3.78239633202758244e-3,
        7.29751555083966205e-5,
    ];
    /// 1/√(2π).
    pub(super) const FRAC_1_SQRT_2PI: f64 = 3.9894228040143267794e-1;

    /// Peter J. Acklam's rational approximation of the normal quantile (relative error under
    /// 1.15e-9 before refinement): the central region.
    pub(super) const ACKLAM_A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383577518672690e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    pub(super) const ACKLAM_B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    /// Acklam's tail region.
    pub(super) const ACKLAM_C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    pub(super) const ACKLAM_D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    /// Below it Acklam's tail approximation applies.
    pub(super) const ACKLAM_P_LOW: f64 = 0.02425;
}

use published::{
    ACKLAM_A, ACKLAM_B, ACKLAM_C, ACKLAM_D, ACKLAM_P_LOW, ANORM_A, ANORM_B, ANORM_C, ANORM_D,
    ANORM_P, ANORM_Q, FRAC_1_SQRT_2PI,
};

/// `exp(−y²/2)` computed as Cody does, splitting `y` at a multiple of 1/16 so that the square
/// is exact and the exponential keeps full precision far into the tail.
fn gauss_weight(y: f64) -> f64 {
    let head = (y * 16.0).trunc() / 16.0;
    let del = (y - head) * (y + head);
    (-head * head * 0.5).exp() * (-del * 0.5).exp()
}

/// `(Φ(x), 1 − Φ(x))`, each with full relative precision (the smaller one is computed
/// directly, never as 1 minus the other): W. J. Cody's ANORM, with both tails as in R's
/// `pnorm_both`. NaN gives NaN.
fn normal_tails(x: f64) -> (f64, f64) {
    if x.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    let y = x.abs();
    if y <= 0.66291 {
        let xsq = if y > 1.11e-16 { x * x } else { 0.0 };
        let mut num = ANORM_A[4] * xsq;
        let mut den = xsq;
        for i in 0..3 {
            num = (num + ANORM_A[i]) * xsq;
            den = (den + ANORM_B[i]) * xsq;
        }
        let r = x * (num + ANORM_A[3]) / (den + ANORM_B[3]);
        return (0.5 + r, 0.5 - r);
    }
    // The tail beyond y, P(Z > y).
    let tail = if y <= 32f64.sqrt() {
        let mut num = ANORM_C[8] * y;
        let mut den = y;
        for i in 0..7 {
            num = (num + ANORM_C[i]) * y;
            den = (den + ANORM_D[i]) * y;
        }
        gauss_weight(y) * (num + ANORM_C[7]) / (den + ANORM_D[7])
    } else if y < 40.0 {
        let xsq = 1.0 / (y * y);
        let mut num = ANORM_P[5] * xsq;
        let mut den = xsq;
        for i in 0..4 {
            num = (num + ANORM_P[i]) * xsq;
            den = (den + ANORM_Q[i]) * xsq;
        }
        let r = xsq * (num + ANORM_P[4]) / (den + ANORM_Q[4]);
        gauss_weight(y) * (FRAC_1_SQRT_2PI - r) / y
    } else {
        // exp(−800) underflows: the tail is 0 in f64 (and y may be infinite).
        0.0
    };
    if x > 0.0 {
        (1.0 - tail, tail)
    } else {
        (tail, 1.0 - tail)
    }
}

/// The standard normal distribution function `Φ(x) = P(Z ≤ x)`, after W. J. Cody's rational
/// Chebyshev approximations (Math. Comp. 23, 1969; his SPECFUN routine ANORM), to about
/// 1e-15 relative error for `x ≤ 0`.
///
/// For `x > 0` the result is `1 − Φ(−x)`, exact to about 1e-16 absolute; use `Φ(−x)` for the
/// upper tail itself, which this computes with full relative precision (down to about 1e-308
/// at `x ≈ −37.5`). `Φ(−∞) = 0`, `Φ(∞) = 1`; NaN gives NaN.
///
/// ```
/// use idstitch::campaign::stats::normal_cdf;
///
/// assert_eq!(normal_cdf(0.0), 0.5);
/// assert!((normal_cdf(1.96) - 0.975_002_104_851_779_6).abs() < 1e-15);
/// assert!((normal_cdf(-10.0) / 7.619_853_024_160_526e-24 - 1.0).abs() < 1e-13);
/// ```
pub fn normal_cdf(x: f64) -> f64 {
    normal_tails(x).0
}

/// The standard normal quantile `Φ⁻¹(p)`: the `x` with `Φ(x) = p`. Peter J. Acklam's rational
/// approximation, refined by one step of Halley's method on [`normal_cdf`], as Acklam
/// proposes, to about 1e-15 relative error.
///
/// The lower half is computed directly and the upper half by symmetry
/// (`Φ⁻¹(p) = −Φ⁻¹(1 − p)`, with `1 − p` exact for `p ≥ 0.5`). `p ≤ 0` gives −∞ and `p ≥ 1`
/// gives ∞ (the limits); NaN gives NaN.
///
/// ```
/// use idstitch::campaign::stats::normal_quantile;
///
/// assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
/// assert_eq!(normal_quantile(0.5), 0.0);
/// assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
/// ```
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return -lower_quantile(1.0 - p);
    }
    lower_quantile(p)
}

/// [`normal_quantile`] for `0 < p ≤ 0.5`.
fn lower_quantile(p: f64) -> f64 {
    let mut x = if p < ACKLAM_P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        let [c0, c1, c2, c3, c4, c5] = ACKLAM_C;
        let [d0, d1, d2, d3] = ACKLAM_D;
        (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5)
            / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        let [a0, a1, a2, a3, a4, a5] = ACKLAM_A;
        let [b0, b1, b2, b3, b4] = ACKLAM_B;
        (((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q
            / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1.0)
    };
    // Halley's step: with e = Φ(x) − p and u = e/φ(x), x − u/(1 + x·u/2). Skipped where the
    // density underflows (p below about 1e-308), where the first approximation stands.
    let density = FRAC_1_SQRT_2PI * gauss_weight(x.abs());
    if density > 0.0 {
        let u = (normal_tails(x).0 - p) / density;
        let step = u / (1.0 + 0.5 * x * u);
        if step.is_finite() {
            x -= step;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(successes: u64, trials: u64) -> Proportion {
        Proportion::new(successes, trials).unwrap()
    }

    /// Values of Φ computed with mpmath at 50 significant digits (`ncdf`), spanning Cody's
    /// three intervals and the far tail.
    #[test]
    fn normal_cdf_matches_high_precision_values() {
        let cases = [
            (0.0, 0.5),
            (-0.5, 0.308_537_538_725_986_9),
            (-1.0, 0.158_655_253_931_457_05),
            (1.96, 0.975_002_104_851_779_6),
            (-5.0, 2.866_515_718_791_939e-7),
            (-10.0, 7.619_853_024_160_526e-24),
            (-37.0, 5.725_571_222_524_577e-300),
        ];
        for (x, want) in cases {
            let got = normal_cdf(x);
            assert!((got - want).abs() <= 2e-15 * want, "Φ({x}) = {got}, want {want}");
        }
    }

    /// Cody's interval boundaries must not leave a step in Φ.
    #[test]
    fn normal_cdf_is_continuous_at_the_interval_boundaries() {
        for b in [0.66291, 32f64.sqrt()] {
            for x in [b, -b] {
                let below = normal_cdf(x - 1e-12);
                let above = normal_cdf(x + 1e-12);
                assert!(below <= above && above - below < 1e-12, "step at {x}");
            }
        }
    }

    #[test]
    fn normal_cdf_edges() {
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(-50.0), 0.0);
        assert_eq!(normal_cdf(50.0), 1.0);
        assert!(normal_cdf(f64::NAN).is_nan());
        // The smallest positive tail values are subnormal, not NaN.
        let t = normal_cdf(-38.4);
        assert!((0.0..1e-300).contains(&t));
    }

    /// Φ⁻¹(Φ(x)) gives back x across the lower half, including Acklam's region boundary and
    /// the deep tail (the upper half is the same by symmetry, and there p near 1 cannot hold x
    /// to this precision).
    #[test]
    fn normal_quantile_inverts_normal_cdf() {
        for i in -375..=0 {
            let x = f64::from(i) / 10.0;
            let p = normal_cdf(x);
            let back = normal_quantile(p);
            assert!((back - x).abs() <= 1e-12 * x.abs().max(1.0), "Φ⁻¹(Φ({x})) = {back}");
        }
        let boundary = normal_quantile(ACKLAM_P_LOW);
        assert!((normal_cdf(boundary) / ACKLAM_P_LOW - 1.0).abs() < 1e-14);
    }

    #[test]
    fn normal_quantile_edges() {
        assert_eq!(normal_quantile(0.5), 0.0);
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(-1.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert_eq!(normal_quantile(2.0), f64::INFINITY);
        assert!(normal_quantile(f64::NAN).is_nan());
        // The smallest subnormal has a finite quantile.
        let q = normal_quantile(f64::from_bits(1));
        assert!(q.is_finite() && q < -38.0, "{q}");
        // Symmetry is exact where 1 − p is, since the upper half is computed from the lower.
        assert_eq!(normal_quantile(0.75), -normal_quantile(0.25));
        assert_eq!(normal_quantile(1.0 - 1e-10), -normal_quantile(1.0 - (1.0 - 1e-10)));
    }

    #[test]
    fn proportion_checks_its_counts() {
        assert_eq!(
            Proportion::new(3, 2),
            Err(StatsError::SuccessesExceedTrials { successes: 3, trials: 2 })
        );
        assert_eq!(
            Proportion::new(3, 2).unwrap_err().to_string(),
            "3 successes out of 2 trials: successes cannot exceed trials"
        );
        assert_eq!(prop(0, 0).rate(), None);
        assert_eq!(prop(u64::MAX, u64::MAX).rate(), Some(1.0));
        assert!(prop(5, 29).is_too_small());
        assert!(!prop(0, 30).is_too_small());
    }

    #[test]
    fn wilson_limits_at_the_ends_are_exact() {
        let none = wilson(prop(0, 20), 0.95).unwrap();
        assert_eq!(none.lo, 0.0);
        let all = wilson(prop(20, 20), 0.95).unwrap();
        assert_eq!(all.hi, 1.0);
        // Symmetry: x out of n mirrors n − x out of n.
        let (a, b) = (wilson(prop(3, 20), 0.9).unwrap(), wilson(prop(17, 20), 0.9).unwrap());
        assert!((a.lo - (1.0 - b.hi)).abs() < 1e-15 && (a.hi - (1.0 - b.lo)).abs() < 1e-15);
    }

    #[test]
    fn wilson_refuses_what_has_no_interval() {
        assert_eq!(wilson(prop(0, 0), 0.95), None);
        for c in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
            assert_eq!(wilson(prop(1, 2), c), None, "confidence {c}");
        }
    }

    #[test]
    fn z_test_with_no_pooled_variance_finds_no_difference() {
        let none = ZTest { z: 0.0, p_value: 1.0 };
        assert_eq!(two_proportion_z_test(prop(0, 40), prop(0, 90)), Some(none));
        assert_eq!(two_proportion_z_test(prop(40, 40), prop(90, 90)), Some(none));
        assert_eq!(two_proportion_z_test(prop(0, 0), prop(1, 2)), None);
        assert_eq!(two_proportion_z_test(prop(1, 2), prop(0, 0)), None);
    }

    /// The z statistic's square is Pearson's χ² for the 2×2 table (no continuity
    /// correction), computed here from observed and expected counts.
    #[test]
    fn z_squared_is_pearsons_chi_square() {
        let (a, n1, c, n2) = (23.0, 120.0, 41.0, 130.0);
        let (b, d) = (n1 - a, n2 - c);
        let n = n1 + n2;
        let chi2: f64 = [(a, a + c, n1), (b, b + d, n1), (c, a + c, n2), (d, b + d, n2)]
            .iter()
            .map(|&(observed, column, row)| {
                let expected = column * row / n;
                (observed - expected) * (observed - expected) / expected
            })
            .sum();
        let t = two_proportion_z_test(prop(23, 120), prop(41, 130)).unwrap();
        assert!((t.z * t.z - chi2).abs() < 1e-12 * chi2, "{} vs {chi2}", t.z * t.z);
        assert!(t.z < 0.0);
    }

    #[test]
    fn uplift_gathers_the_figures() {
        let (t, c) = (prop(56, 70), prop(48, 80));
        let u = Uplift::estimate(t, c, 0.95).unwrap();
        assert_eq!((u.treatment, u.control), (t, c));
        assert_eq!(u.interval, newcombe_difference(t, c, 0.95).unwrap());
        assert_eq!(u.z_test, two_proportion_z_test(t, c).unwrap());
        assert!(u.interval.contains(u.difference) && !u.interval.contains(0.0));
        assert_eq!(Uplift::estimate(prop(0, 0), c, 0.95), None);
        assert_eq!(Uplift::estimate(t, c, 1.0), None);
    }

    #[cfg(feature = "serde_json")]
    #[test]
    fn deserialising_a_proportion_checks_it() {
        let ok: Proportion = serde_json::from_str(r#"{"successes":2,"trials":3}"#).unwrap();
        assert_eq!(ok, prop(2, 3));
        assert_eq!(serde_json::to_string(&ok).unwrap(), r#"{"successes":2,"trials":3}"#);
        let bad = serde_json::from_str::<Proportion>(r#"{"successes":4,"trials":3}"#);
        assert!(bad.unwrap_err().to_string().contains("cannot exceed"));
    }
}
