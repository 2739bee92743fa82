//! Purchase histories drawn from the BG/NBD model itself, with known parameters: what the fit
//! must recover (`tests/predict_recovery.rs`) and what `benches/predict.rs` times.
//!
//! Each customer draws λ ~ Gamma(r, α) and p ~ Beta(a, b); from the first purchase (day 0)
//! it buys as a Poisson process of rate λ, and after each repeat purchase drops out with
//! probability p (never after the first: the model's likelihood, FHL 2005 eq. 3, has the
//! customer alive until its first repeat purchase). Its age is uniform over whole days in
//! `1..=max_age_days`; purchases are counted per UTC day, as `PurchaseHistory` does.

use idstitch::predict::PurchaseHistory;

/// xorshift64*: a fixed stream per seed.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang, boosted below shape 1.
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            return self.gamma(shape + 1.0) * self.uniform().powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v > 0.0 && self.uniform().ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
}

/// `n` histories under (r, α, a, b), α in days, ages 1 to `max_age_days`; the same `seed`
/// gives the same histories.
pub fn histories(
    (r, alpha, a, b): (f64, f64, f64, f64),
    n: usize,
    max_age_days: u32,
    seed: u64,
) -> Vec<PurchaseHistory> {
    let mut rng = Rng(seed | 1);
    (0..n)
        .map(|_| {
            let lambda = rng.gamma(r) / alpha;
            let g = rng.gamma(a);
            let p = g / (g + rng.gamma(b));
            let age = 1 + (rng.uniform() * f64::from(max_age_days)) as u32 % max_age_days;
            let (mut t, mut days, mut last_day) = (0.0f64, 0u32, 0u32);
            loop {
                t += -rng.uniform().ln() / lambda;
                if t >= f64::from(age) {
                    break;
                }
                let day = t as u32;
                if day != last_day {
                    days += 1;
                    last_day = day;
                }
                if rng.uniform() < p {
                    break;
                }
            }
            PurchaseHistory::new(days, last_day, age).expect("a consistent history")
        })
        .collect()
}
