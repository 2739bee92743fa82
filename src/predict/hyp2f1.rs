//! The Gauss hypergeometric function ₂F₁(a, b; c; z) by its power series, for the BG/NBD
//! conditional expectation (where 0 ≤ z < 1 and c > 0).

/// Terms summed at most before the series is declared too slow (z too close to 1).
pub(crate) const MAX_TERMS: u32 = 2_000_000;

/// ₂F₁(a, b; c; z) = Σₙ (a)ₙ (b)ₙ / ((c)ₙ n!) zⁿ for 0 ≤ z < 1 and c > 0, summed until the
/// tail no longer changes the sum in the 17th digit. `None` if z or c is out of range, a term
/// is not finite, or [`MAX_TERMS`] terms do not converge (z within about 10⁻⁵ of 1).
///
/// The tail after a term is bounded by term · q/(1 − q), q the larger of the last ratio of
/// terms and its limit z; the bound is trusted only once n is past −a and −b (where a
/// term can be small merely because a factor a + n changes sign) and held for four terms in
/// a row.
pub(crate) fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(0.0..1.0).contains(&z) || c.is_nan() || c <= 0.0 || !a.is_finite() || !b.is_finite() {
        return None;
    }
    let (mut sum, mut term) = (1.0f64, 1.0f64);
    let past_signs = (-a).max(-b).max(0.0) + 1.0;
    let mut small = 0;
    for n in 0..MAX_TERMS {
        let k = f64::from(n);
        let ratio = (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        term *= ratio;
        sum += term;
        if !sum.is_finite() {
            return None;
        }
        if term == 0.0 {
            return Some(sum);
        }
        let q = ratio.abs().max(z);
        let tail_small = q < 1.0 && term.abs() * q / (1.0 - q) <= 1e-17 * sum.abs();
        small = if k > past_signs && tail_small { small + 1 } else { 0 };
        if small == 4 {
            return Some(sum);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(1e-300)
    }

    /// Closed forms of special cases, derived by hand: ₂F₁(1, 1; 2; z) = −ln(1 − z)/z,
    /// ₂F₁(a, b; b; z) = (1 − z)^(−a), ₂F₁(1/2, 1; 3/2; z²) = atanh(z)/z.
    #[test]
    fn special_cases() {
        for z in [0.0f64, 0.1, 0.5, 0.9, 0.99, 0.999] {
            let want = if z == 0.0 { 1.0 } else { -(-z).ln_1p() / z };
            assert!(close(hyp2f1(1.0, 1.0, 2.0, z).unwrap(), want, 1e-13), "z = {z}");
            let want = (1.0 - z).powf(-2.7);
            assert!(close(hyp2f1(2.7, 1.3, 1.3, z).unwrap(), want, 1e-12), "z = {z}");
            let s = z.sqrt();
            let want = if z == 0.0 { 1.0 } else { s.atanh() / s };
            assert!(close(hyp2f1(0.5, 1.0, 1.5, z).unwrap(), want, 1e-13), "z = {z}");
        }
    }

    #[allow(clippy::excessive_precision)] // mpmath's digits as printed.
    /// Values from mpmath 1.3.0 (`mpmath.hyp2f1(a, b, c, z)` at 30 digits), an independent
    /// implementation.
    #[test]
    fn against_mpmath() {
        let cases = [
            // (a, b, c, z, mpmath)
            (0.243, 2.426, 2.219, 0.5, 1.2070970070440423133),
            (3.243, 4.426, 6.219, 0.8, 29.180211975373960688),
            (1.976, -0.207, 5.219, 0.95, 0.90441749994731182201),
            (-1.5, -0.207, 0.7, 0.3, 1.1282463060553118977),
            (3.4e8, -0.99, 3.4e8 + 3.0, 0.5, HUGE_A),
            (-5.0001, 2.5, 1.5, 0.4, NEAR_ZERO_CROSSING),
        ];
        for (a, b, c, z, want) in cases {
            let got = hyp2f1(a, b, c, z).unwrap();
            assert!(close(got, want, 1e-12), "2F1({a}, {b}; {c}; {z}) = {got}, want {want}");
        }
    }

    /// mpmath, as the cases above.
    const HUGE_A: f64 = 0.503_477_779_426_385_8;
    /// mpmath, as the cases above.
    const NEAR_ZERO_CROSSING: f64 = -0.095_038_601_060_732_82;

    #[test]
    fn out_of_range_is_none() {
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 1.0), None);
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, -0.1), None);
        assert_eq!(hyp2f1(1.0, 1.0, 0.0, 0.5), None);
        assert_eq!(hyp2f1(1.0, 1.0, f64::NAN, 0.5), None);
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, f64::NAN), None);
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 1.0 - 1e-12), None, "too slow to converge");
    }
}
