//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): its
//! parameters, the likelihood of a purchase history, and the closed forms for the
//! probability of being alive and the expected purchases ahead.
//!
//! While alive a customer buys as a Poisson process of rate λ; after each purchase they drop
//! out with probability p. Across customers λ ~ Gamma(r, α) and p ~ Beta(a, b).

use crate::predict::hyp2f1::hyp2f1;
use crate::predict::inputs::{PurchaseHistory, TimeUnit};
use crate::predict::PredictError;

/// A BG/NBD model: the four parameters and the unit its times are in (α is a time: it scales
/// with the unit; r, a and b do not).
///
/// ```
/// use idstitch::predict::{BgNbd, PurchaseHistory, TimeUnit};
///
/// // The CDNOW parameters of Fader, Hardie & Lee (2005), in weeks.
/// let model = BgNbd::new(0.243, 4.414, 0.793, 2.426, TimeUnit::Weeks)?;
/// // Two repeat purchases, the last 30.43 weeks after the first, 38.86 weeks ago.
/// let h = PurchaseHistory::new(2, 213, 272).unwrap();
/// let p = model.predict(&h, 39.0)?;
/// assert!((p.p_alive - 0.7).abs() < 0.1);
/// assert!(p.expected_purchases > 0.0);
/// # Ok::<(), idstitch::predict::PredictError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct BgNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Scale of the purchase-rate distribution, in `unit`.
    pub alpha: f64,
    /// First shape of the drop-out distribution.
    pub a: f64,
    /// Second shape of the drop-out distribution.
    pub b: f64,
    /// The unit of α and of every time the model reads or predicts for.
    pub unit: TimeUnit,
}

/// What the model says about one customer.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Prediction {
    /// The history it read.
    pub history: PurchaseHistory,
    /// The probability that the customer is still alive (has not dropped out).
    pub p_alive: f64,
    /// Expected purchases in the next `horizon` units.
    pub expected_purchases: f64,
    /// The horizon, in the model's unit.
    pub horizon: f64,
}

/// Below this distance of a from 1, the expectation's removable singularity at a = 1 is
/// taken as the mean of the values at 1 ± this (an error of order its square).
const NEAR_ONE: f64 = 1e-5;

impl BgNbd {
    /// A model from its parameters.
    ///
    /// # Errors
    /// [`PredictError::InvalidModel`] unless all four are finite and positive.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64, unit: TimeUnit) -> Result<Self, PredictError> {
        if [r, alpha, a, b].iter().all(|v| v.is_finite() && *v > 0.0) {
            Ok(BgNbd { r, alpha, a, b, unit })
        } else {
            Err(PredictError::InvalidModel { r, alpha, a, b })
        }
    }

    /// The log-likelihood of one customer's history (FHL 2005, eq. 6, in log-gamma form):
    ///
    /// ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
    ///        + ln[(α+T)^−(r+x) + δ(x>0) · a/(b+x−1) · (α+t_x)^−(r+x)]
    pub fn log_likelihood_of(&self, h: &PurchaseHistory) -> f64 {
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let (x, t_x, t) = (h.x(), h.t_x(self.unit), h.t(self.unit));
        let head =
            ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) + ln_gamma(b + x)
                - ln_gamma(b)
                - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + t).ln();
        if h.repeat_purchases == 0 {
            return head + a3;
        }
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + t_x).ln();
        head + log_add_exp(a3, a4)
    }

    /// The sum of [`BgNbd::log_likelihood_of`] over `histories`.
    pub fn log_likelihood(&self, histories: &[PurchaseHistory]) -> f64 {
        histories.iter().map(|h| self.log_likelihood_of(h)).sum()
    }

    /// P(alive | x, t_x, T) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)): 1 for a
    /// customer who never bought again (by the model's assumption that drop-out happens only
    /// right after a purchase).
    pub fn p_alive(&self, h: &PurchaseHistory) -> f64 {
        if h.repeat_purchases == 0 {
            return 1.0;
        }
        1.0 / (1.0 + self.odds_dead(h))
    }

    /// δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x), the odds of having dropped out, in logs.
    fn odds_dead(&self, h: &PurchaseHistory) -> f64 {
        if h.repeat_purchases == 0 {
            return 0.0;
        }
        let (r, alpha, a, b, x) = (self.r, self.alpha, self.a, self.b, h.x());
        let ratio = ((alpha + h.t(self.unit)) / (alpha + h.t_x(self.unit))).ln();
        (a.ln() - (b + x - 1.0).ln() + (r + x) * ratio).exp()
    }

    /// E[Y(t) | x, t_x, T], the expected purchases in the next `horizon` units (FHL 2005,
    /// eq. 10):
    ///
    /// (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
    /// / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
    ///
    /// The bracket is computed through Euler's transformation, ((1−z)^(a−1) ₂F₁(a+b−1−r,
    /// a−1; a+b+x−1; z)), whose terms stay small however many purchases x counts. For a new
    /// customer (x = t_x = T = 0) it is the unconditional E[X(t)].
    ///
    /// Where the series is slow (a > 40, or t/(α+T+t) within about 10⁻⁵ of 1) the same
    /// expectation is integrated over p ~ Beta(a, b+x) instead.
    ///
    /// # Errors
    /// [`PredictError::InvalidHorizon`] for a negative or non-finite horizon;
    /// [`PredictError::NotComputable`] if neither way gives a finite number.
    pub fn expected_purchases(
        &self,
        h: &PurchaseHistory,
        horizon: f64,
    ) -> Result<f64, PredictError> {
        if !horizon.is_finite() || horizon < 0.0 {
            return Err(PredictError::InvalidHorizon(horizon));
        }
        if horizon == 0.0 {
            return Ok(0.0);
        }
        let alive_part = if (self.a - 1.0).abs() < NEAR_ONE {
            let at = |a| BgNbd { a, ..*self }.unconditional_part(h, horizon);
            (at(1.0 - NEAR_ONE)? + at(1.0 + NEAR_ONE)?) / 2.0
        } else {
            self.unconditional_part(h, horizon)?
        };
        Ok(alive_part / (1.0 + self.odds_dead(h)))
    }

    /// (a+b+x−1)/(a−1) · [1 − (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z)], z = t/(α+T+t);
    /// by quadrature above [`SERIES_MAX_A`] or when the series does not converge.
    fn unconditional_part(&self, h: &PurchaseHistory, horizon: f64) -> Result<f64, PredictError> {
        let (r, a, b, x) = (self.r, self.a, self.b, h.x());
        let by_quadrature = || {
            let e = self.alive_expectation_by_quadrature(h, horizon);
            if e.is_finite() {
                Ok(e)
            } else {
                Err(PredictError::NotComputable { horizon })
            }
        };
        if a > SERIES_MAX_A {
            return by_quadrature();
        }
        let z = horizon / (self.alpha + h.t(self.unit) + horizon);
        let c = a + b + x - 1.0;
        // A series too slow to converge (z next to 1) leaves it to the quadrature.
        let Some(f) = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z) else { return by_quadrature() };
        // (1 − z)^(a−1), with ln(1 − z) = ln((α+T)/(α+T+t)) taken from z's own parts.
        let scale = ((a - 1.0) * (-z).ln_1p()).exp();
        Ok(c / (a - 1.0) * (1.0 - scale * f))
    }

    /// E[Y(t) | alive] = E[(1/p)(1 − ((α+T)/(α+T+pt))^(r+x))] over p ~ Beta(a, b+x) (the
    /// rate integrated out first), by tanh-sinh quadrature on either side of the density's
    /// peak. Normalised by the same quadrature of the density, so that no ln B(a, b+x) of
    /// huge arguments is needed.
    fn alive_expectation_by_quadrature(&self, h: &PurchaseHistory, horizon: f64) -> f64 {
        let (r, a, b, x) = (self.r, self.a, self.b, h.x());
        let (shape_p, shape_q) = (a, b + x);
        let base = self.alpha + h.t(self.unit);
        let rx = r + x;
        let ln_density = |p: f64, q: f64| (shape_p - 1.0) * p.ln() + (shape_q - 1.0) * q.ln();
        // (1/p)(1 − (1 + pt/(α+T))^−(r+x)), exact as p → 0.
        let g = |p: f64| -(-rx * (p * horizon / base).ln_1p()).exp_m1() / p;
        let mode = ((shape_p - 1.0) / (shape_p + shape_q - 2.0)).clamp(1e-300, 1.0 - 1e-16);
        let peak = ln_density(mode, 1.0 - mode);
        let (mut mass, mut sum) = (0.0, 0.0);
        for (lo, hi) in [(0.0, mode), (mode, 1.0)] {
            tanh_sinh(lo, hi, |p, q, weight| {
                let w = weight * (ln_density(p, q) - peak).exp();
                mass += w;
                sum += w * g(p);
            });
        }
        sum / mass
    }

    /// P(alive) and the expected purchases in the next `horizon` units.
    ///
    /// # Errors
    /// As [`BgNbd::expected_purchases`].
    pub fn predict(&self, h: &PurchaseHistory, horizon: f64) -> Result<Prediction, PredictError> {
        Ok(Prediction {
            history: *h,
            p_alive: self.p_alive(h),
            expected_purchases: self.expected_purchases(h, horizon)?,
            horizon,
        })
    }
}

impl std::fmt::Display for BgNbd {
    /// `r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 (weeks)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = f.precision().unwrap_or(3);
        // Parameters a fit drove towards 0 or infinity print in exponent form, not as 0.000.
        let v = |v: f64| {
            if (1e-3..1e6).contains(&v) {
                format!("{v:.p$}")
            } else {
                format!("{v:.p$e}")
            }
        };
        let (r, alpha, a, b) = (v(self.r), v(self.alpha), v(self.a), v(self.b));
        write!(f, "r = {r}, alpha = {alpha}, a = {a}, b = {b} ({})", self.unit)
    }
}

/// Above this a, the series' terms grow like (a·z)ⁿ/n! before they shrink, so the
/// expectation is integrated instead (where Beta(a, b+x) is narrow and smooth).
const SERIES_MAX_A: f64 = 40.0;

/// Calls `visit(p, 1 − p, weight)` at the tanh-sinh (double-exponential) nodes of [lo, hi]:
/// p = lo + (hi − lo)(1 + tanh(π/2 · sinh t))/2 at t = k/32, |t| ≤ 4. Nodes crowd the ends
/// doubly exponentially, so a peak or an integrable singularity at an end is resolved; 1 − p
/// is computed from the upper end, so it keeps its digits next to p = 1.
fn tanh_sinh(lo: f64, hi: f64, mut visit: impl FnMut(f64, f64, f64)) {
    const H: f64 = 1.0 / 32.0;
    let half_pi = std::f64::consts::FRAC_PI_2;
    let width = hi - lo;
    for k in -128..=128 {
        let t = f64::from(k) * H;
        let u = half_pi * t.sinh();
        // (1 + tanh u)/2 and 1 − that, each without cancellation.
        let (s, s_rest) = (1.0 / (1.0 + (-2.0 * u).exp()), 1.0 / (1.0 + (2.0 * u).exp()));
        let weight = half_pi * t.cosh() * s * s_rest * 2.0 * width * H;
        let (p, q) = (lo + width * s, (1.0 - hi) + width * s_rest);
        if p > 0.0 && q > 0.0 && weight > 0.0 {
            visit(p, q, weight);
        }
    }
}

/// ln(eᵘ + eᵛ) without overflow.
pub(crate) fn log_add_exp(u: f64, v: f64) -> f64 {
    let (hi, lo) = if u >= v { (u, v) } else { (v, u) };
    hi + (lo - hi).exp().ln_1p()
}

/// ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 terms; relative error near
/// 10⁻¹⁵), with the reflection formula below ½. Used for single histories; the fit sums
/// logarithms instead (see `fit`).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests;
