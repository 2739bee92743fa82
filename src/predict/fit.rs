//! Fitting the BG/NBD model by maximum likelihood: histories grouped into distinct (x, t_x,
//! T), the log-likelihood of the groups in one tight loop, and Nelder–Mead in the logarithms
//! of the parameters.
//!
//! Why no special-function crate: over the groups, ln Γ(r+x) − ln Γ(r) is the sum of ln(r+k)
//! for k < x (and likewise for b and a+b), accumulated once per evaluation over the distinct
//! x, which is exact and cheaper than three log-gamma calls per x. Why no optimiser crate:
//! four unconstrained log-parameters, a likelihood without a cheap gradient, and a
//! deterministic start ask for nothing more than Nelder–Mead with restarts (`nelder_mead`
//! below, tested on Rosenbrock's function).

use crate::predict::bgnbd::{log_add_exp, BgNbd};
use crate::predict::inputs::{PurchaseHistory, TimeUnit};
use crate::predict::PredictError;

/// Likelihood evaluations a fit may spend.
const MAX_EVALUATIONS: u32 = 20_000;
/// The box the log-parameters are kept in: each parameter between e⁻²⁰ and e²⁰.
const LOG_BOUND: f64 = 20.0;

/// A fitted model and how the fit went.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Fit {
    /// The maximum-likelihood model.
    pub model: BgNbd,
    /// The log-likelihood of the histories under it.
    pub log_likelihood: f64,
    /// Histories fitted (customers with at least one purchase).
    pub customers: u64,
    /// Distinct (x, t_x, T) among them: what one evaluation costs.
    pub distinct_histories: usize,
    /// Likelihood evaluations spent.
    pub evaluations: u32,
    /// Whether the optimum was confirmed: a restart from it moved neither the parameters
    /// (by 10⁻⁷ in their logarithms) nor the likelihood. False when the evaluations ran out
    /// or a parameter ended at the box e^±20, which means the data do not pin it down.
    pub converged: bool,
}

impl std::fmt::Display for Fit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BG/NBD {}, log-likelihood {:.1}, {} customers ({} distinct histories), {} evaluations, {}",
            self.model,
            self.log_likelihood,
            self.customers,
            self.distinct_histories,
            self.evaluations,
            if self.converged { "converged" } else { "NOT converged" }
        )
    }
}

/// Histories grouped by (x, t_x, T), sorted, with the distinct x and day values indexed.
#[derive(Debug)]
pub(crate) struct Groups {
    unit: TimeUnit,
    /// Distinct x, ascending.
    xs: Vec<u32>,
    /// Distinct day counts among t_x and T, ascending.
    days: Vec<u32>,
    /// (index into xs, index into days of t_x, of T, customers).
    rows: Vec<(u32, u32, u32, f64)>,
    customers: u64,
}

impl Groups {
    /// Groups `histories`: a sort, then one pass.
    pub(crate) fn new(histories: &[PurchaseHistory], unit: TimeUnit) -> Groups {
        let mut sorted = histories.to_vec();
        sorted.sort_unstable();
        let mut counted: Vec<(PurchaseHistory, u64)> = Vec::new();
        for h in sorted {
            match counted.last_mut() {
                Some((last, n)) if *last == h => *n += 1,
                _ => counted.push((h, 1)),
            }
        }
        let mut xs: Vec<u32> = counted.iter().map(|(h, _)| h.repeat_purchases).collect();
        xs.dedup();
        let mut days: Vec<u32> =
            counted.iter().flat_map(|(h, _)| [h.recency_days, h.age_days]).collect();
        days.sort_unstable();
        days.dedup();
        let index = |list: &[u32], v: u32| list.binary_search(&v).unwrap_or_default() as u32;
        let rows = counted
            .iter()
            .map(|(h, n)| {
                (
                    index(&xs, h.repeat_purchases),
                    index(&days, h.recency_days),
                    index(&days, h.age_days),
                    *n as f64,
                )
            })
            .collect();
        Groups { unit, xs, days, rows, customers: histories.len() as u64 }
    }

    /// The mean age T in the unit, summed in the groups' order (so that it does not depend
    /// on the order of the histories).
    fn mean_age(&self) -> f64 {
        let per_day = self.unit.days().recip();
        let sum: f64 = self
            .rows
            .iter()
            .map(|&(_, _, ti, n)| n * f64::from(self.days[ti as usize]) * per_day)
            .sum();
        sum / self.customers as f64
    }

    /// The log-likelihood of all histories under (r, α, a, b), in time linear in the
    /// groups, the distinct day values and the largest x.
    pub(crate) fn log_likelihood(
        &self,
        r: f64,
        alpha: f64,
        a: f64,
        b: f64,
        scratch: &mut Scratch,
    ) -> f64 {
        let Scratch { head, ln_b1, ln_time } = scratch;
        head.clear();
        ln_b1.clear();
        ln_time.clear();
        // ln Γ(r+x) − ln Γ(r) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x) + ln Γ(a+b), summed up.
        let (mut k, mut sum) = (0u32, 0.0f64);
        let r_ln_alpha = r * alpha.ln();
        for &x in &self.xs {
            while k < x {
                let kf = f64::from(k);
                sum += (r + kf).ln() + (b + kf).ln() - (a + b + kf).ln();
                k += 1;
            }
            head.push(sum + r_ln_alpha);
            ln_b1.push(a.ln() - (b + f64::from(x) - 1.0).ln());
        }
        let per_day = self.unit.days().recip();
        ln_time.extend(self.days.iter().map(|&d| (alpha + f64::from(d) * per_day).ln()));
        let mut total = 0.0;
        for &(xi, txi, ti, n) in &self.rows {
            let x = self.xs[xi as usize];
            let rx = r + f64::from(x);
            let dead_or_alive = -rx * ln_time[ti as usize];
            let ll = if x == 0 {
                dead_or_alive
            } else {
                log_add_exp(dead_or_alive, ln_b1[xi as usize] - rx * ln_time[txi as usize])
            };
            total += n * (head[xi as usize] + ll);
        }
        total
    }
}

/// Buffers one likelihood evaluation fills, kept between evaluations.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    head: Vec<f64>,
    ln_b1: Vec<f64>,
    ln_time: Vec<f64>,
}

impl BgNbd {
    /// Fits (r, α, a, b) to `histories` by maximum likelihood, times in `unit`.
    ///
    /// Histories are grouped by (x, t_x, T) first, so one evaluation of the likelihood costs
    /// time in the distinct histories (days make few of them), not in the customers.
    /// Nelder–Mead minimises the mean negative log-likelihood over the logarithms of the
    /// four parameters from a fixed start (r = a = b = 1, α = the mean age T), restarting
    /// from its optimum until a restart changes nothing: the same histories give the same
    /// fit, bit for bit, in any order.
    ///
    /// ```
    /// use idstitch::predict::{BgNbd, PredictError, PurchaseHistory, TimeUnit};
    ///
    /// let histories: Vec<PurchaseHistory> = [(0, 0, 60), (2, 30, 60), (1, 5, 40), (4, 50, 55)]
    ///     .iter()
    ///     .map(|&(x, t_x, t)| PurchaseHistory::new(x, t_x, t).unwrap())
    ///     .collect();
    /// let fit = BgNbd::fit(&histories, TimeUnit::Days)?;
    /// assert!(fit.log_likelihood < 0.0 && fit.customers == 4);
    /// // Nobody bought twice: the likelihood has no maximum.
    /// let once = [PurchaseHistory::new(0, 0, 30).unwrap()];
    /// assert!(matches!(BgNbd::fit(&once, TimeUnit::Days), Err(PredictError::NoRepeatPurchases { .. })));
    /// # Ok::<(), PredictError>(())
    /// ```
    ///
    /// # Errors
    /// [`PredictError::NoCustomers`] for no histories; [`PredictError::NoRepeatPurchases`]
    /// when nobody bought on a second day (the likelihood then grows without bound as the
    /// drop-out probability goes to 1); [`PredictError::NotFinite`] if the likelihood is not
    /// finite at the start.
    pub fn fit(histories: &[PurchaseHistory], unit: TimeUnit) -> Result<Fit, PredictError> {
        if histories.is_empty() {
            return Err(PredictError::NoCustomers);
        }
        if histories.iter().all(|h| h.repeat_purchases == 0) {
            return Err(PredictError::NoRepeatPurchases { customers: histories.len() as u64 });
        }
        let groups = Groups::new(histories, unit);
        let start = [0.0, groups.mean_age().max(1e-3).ln(), 0.0, 0.0];
        let mut scratch = Scratch::default();
        let n = groups.customers as f64;
        let mut objective = |theta: &[f64; 4]| {
            if theta.iter().any(|t| t.abs() > LOG_BOUND) {
                return f64::INFINITY;
            }
            let [r, alpha, a, b] = theta.map(f64::exp);
            let ll = groups.log_likelihood(r, alpha, a, b, &mut scratch);
            if ll.is_finite() {
                -ll / n
            } else {
                f64::INFINITY
            }
        };
        if !objective(&start).is_finite() {
            return Err(PredictError::NotFinite);
        }
        let optimum = minimise(&mut objective, start);
        let [r, alpha, a, b] = optimum.point.map(f64::exp);
        let at_bound = optimum.point.iter().any(|t| t.abs() > LOG_BOUND - 1e-3);
        Ok(Fit {
            model: BgNbd { r, alpha, a, b, unit },
            log_likelihood: -optimum.value * n,
            customers: groups.customers,
            distinct_histories: groups.rows.len(),
            evaluations: optimum.evaluations,
            converged: optimum.converged && !at_bound,
        })
    }
}

/// Where a minimisation ended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Optimum {
    pub point: [f64; 4],
    pub value: f64,
    pub evaluations: u32,
    pub converged: bool,
}

/// Nelder–Mead from `start`, restarted from each optimum with a fresh simplex until a
/// restart moves the point by less than 10⁻⁷ and the value by less than 10⁻¹² relative, or
/// [`MAX_EVALUATIONS`] run out.
pub(crate) fn minimise(f: &mut impl FnMut(&[f64; 4]) -> f64, start: [f64; 4]) -> Optimum {
    let (mut point, mut value) = (start, f(&start));
    let mut evaluations = 1;
    let mut step = 0.5;
    while evaluations < MAX_EVALUATIONS {
        let (next, next_value, used) = nelder_mead(f, point, step, MAX_EVALUATIONS - evaluations);
        evaluations += used;
        let moved = next.iter().zip(&point).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        let gained = value - next_value;
        let settled = moved < 1e-7 && gained <= 1e-12 * (1.0 + value.abs());
        if next_value <= value {
            (point, value) = (next, next_value);
        }
        if settled {
            return Optimum { point, value, evaluations, converged: true };
        }
        step = 0.1;
    }
    Optimum { point, value, evaluations, converged: false }
}

/// One Nelder–Mead run (reflection 1, expansion 2, contraction ½, shrink ½) from a simplex of
/// `start` and `start` moved by `step` along each axis, until the simplex is smaller than
/// 10⁻¹⁰ and its values agree to 10⁻¹⁵ relative, or `budget` evaluations are spent. Returns
/// the best point, its value and the evaluations used.
pub(crate) fn nelder_mead(
    f: &mut impl FnMut(&[f64; 4]) -> f64,
    start: [f64; 4],
    step: f64,
    budget: u32,
) -> ([f64; 4], f64, u32) {
    const N: usize = 4;
    let mut simplex = [start; N + 1];
    for (i, vertex) in simplex.iter_mut().skip(1).enumerate() {
        vertex[i] += step;
    }
    let mut values = simplex.map(|v| f(&v));
    let mut used = N as u32 + 1;
    let along = |from: &[f64; N], to: &[f64; N], t: f64| -> [f64; N] {
        std::array::from_fn(|i| from[i] + t * (to[i] - from[i]))
    };
    while used < budget {
        // Sort the vertices by value (ties by position in the simplex, so runs repeat).
        let mut order: [usize; N + 1] = std::array::from_fn(|i| i);
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        simplex = order.map(|i| simplex[i]);
        values = order.map(|i| values[i]);
        let size = simplex[1..]
            .iter()
            .flat_map(|v| v.iter().zip(&simplex[0]).map(|(p, q)| (p - q).abs()))
            .fold(0.0, f64::max);
        if size < 1e-10 && values[N] - values[0] <= 1e-15 * (1.0 + values[0].abs()) {
            break;
        }
        let centroid: [f64; N] =
            std::array::from_fn(|i| simplex[..N].iter().map(|v| v[i]).sum::<f64>() / N as f64);
        let reflected = along(&centroid, &simplex[N], -1.0);
        let fr = f(&reflected);
        used += 1;
        if fr < values[0] {
            let expanded = along(&centroid, &simplex[N], -2.0);
            let fe = f(&expanded);
            used += 1;
            (simplex[N], values[N]) = if fe < fr { (expanded, fe) } else { (reflected, fr) };
        } else if fr < values[N - 1] {
            (simplex[N], values[N]) = (reflected, fr);
        } else {
            // Contract towards the better of the worst vertex and its reflection.
            let (toward, ft) =
                if fr < values[N] { (reflected, fr) } else { (simplex[N], values[N]) };
            let contracted = along(&centroid, &toward, 0.5);
            let fc = f(&contracted);
            used += 1;
            if fc < ft {
                (simplex[N], values[N]) = (contracted, fc);
            } else {
                for i in 1..=N {
                    simplex[i] = along(&simplex[0], &simplex[i], 0.5);
                    values[i] = f(&simplex[i]);
                }
                used += N as u32;
            }
        }
    }
    let best = (0..=N).min_by(|&i, &j| values[i].total_cmp(&values[j])).unwrap_or(0);
    (simplex[best], values[best], used)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's function in four dimensions has its only minimum, 0, at (1, 1, 1, 1).
    #[test]
    fn nelder_mead_finds_rosenbrocks_minimum() {
        let mut f = |x: &[f64; 4]| {
            (0..3).map(|i| 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2)).sum()
        };
        let o = minimise(&mut f, [-1.2, 1.0, -1.2, 1.0]);
        assert!(o.converged, "{o:?}");
        assert!(o.value < 1e-12, "{o:?}");
        assert!(o.point.iter().all(|p| (p - 1.0).abs() < 1e-5), "{o:?}");
    }

    /// The grouped likelihood is the sum of the single-history likelihoods (log-gamma form,
    /// Lanczos), whatever the order and the repeats of the histories.
    #[test]
    fn grouped_likelihood_is_the_sum_of_single_ones() {
        let mut histories = Vec::new();
        for (i, (x, t_x, t)) in
            [(0, 0, 10), (3, 20, 30), (3, 20, 30), (1, 1, 400), (40, 300, 301), (0, 0, 0)]
                .into_iter()
                .enumerate()
        {
            for _ in 0..=i {
                histories.push(PurchaseHistory::new(x, t_x, t).unwrap());
            }
        }
        for unit in [TimeUnit::Days, TimeUnit::Weeks] {
            let model = BgNbd::new(0.4, 6.0, 0.8, 2.5, unit).unwrap();
            let want = model.log_likelihood(&histories);
            let groups = Groups::new(&histories, unit);
            assert_eq!(groups.rows.len(), 5);
            let got = groups.log_likelihood(0.4, 6.0, 0.8, 2.5, &mut Scratch::default());
            assert!((got - want).abs() < 1e-9 * want.abs(), "{got} vs {want}");
        }
    }

    #[test]
    fn bad_sets_are_typed_errors() {
        assert_eq!(BgNbd::fit(&[], TimeUnit::Days), Err(PredictError::NoCustomers));
        let once = vec![PurchaseHistory::new(0, 0, 12).unwrap(); 5];
        assert_eq!(
            BgNbd::fit(&once, TimeUnit::Weeks),
            Err(PredictError::NoRepeatPurchases { customers: 5 })
        );
    }
}
