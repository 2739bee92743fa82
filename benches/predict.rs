//! BG/NBD fit speed (issue "Predicting behaviour"): one million customers' purchase
//! histories simulated from the model itself (r = 0.25, α = 30 days, a = 0.8, b = 2.4; ages
//! of 1 to 730 days, purchases at day resolution), then
//!
//! - `predict/floor_loglik`: the floor, one evaluation of the log-likelihood straight over
//!   the million histories (log-gamma form), what any fitting method pays per step at least;
//! - `predict/fit`: `BgNbd::fit`, grouping included, from the fixed start to convergence.
//!
//! The fit's time as a multiple of the floor is printed with the seconds.
//! `cargo bench --bench predict`; `IDSTITCH_BENCH_CUSTOMERS=100000` for a quicker run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use idstitch::predict::{BgNbd, PurchaseHistory, TimeUnit};

fn n_customers() -> usize {
    std::env::var("IDSTITCH_BENCH_CUSTOMERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

/// xorshift64*: a fixed stream, so every run fits the same histories.
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

/// One customer's history under the model: purchases as a Poisson process of rate λ from
/// the first purchase (day 0) to its age, each followed by drop-out with probability p.
fn simulate(rng: &mut Rng) -> PurchaseHistory {
    let (r, alpha, a, b) = (0.25, 30.0, 0.8, 2.4);
    let lambda = rng.gamma(r) / alpha;
    let x_a = rng.gamma(a);
    let p = x_a / (x_a + rng.gamma(b));
    let age = 1 + (rng.uniform() * 730.0) as u32;
    let (mut t, mut days, mut last_day) = (0.0f64, 0u32, 0u32);
    while rng.uniform() >= p && lambda > 0.0 {
        t += -rng.uniform().ln() / lambda;
        let day = t.floor();
        if day > f64::from(age) {
            break;
        }
        if day as u32 != last_day {
            days += 1;
            last_day = day as u32;
        }
    }
    PurchaseHistory::new(days, last_day, age).expect("a consistent history")
}

fn bench(c: &mut Criterion) {
    let n = n_customers();
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let histories: Vec<PurchaseHistory> = (0..n).map(|_| simulate(&mut rng)).collect();
    let model = BgNbd::new(0.25, 30.0, 0.8, 2.4, TimeUnit::Days).expect("valid");

    // One-shot figures, printed: the floor (best of 5) and the fit.
    let floor = (0..5)
        .map(|_| {
            let started = Instant::now();
            black_box(model.log_likelihood(black_box(&histories)));
            started.elapsed()
        })
        .min()
        .unwrap_or_default();
    let started = Instant::now();
    let fit = BgNbd::fit(&histories, TimeUnit::Days).expect("fits");
    let took = started.elapsed();
    eprintln!(
        "predict: {n} customers; {fit}\n  floor (one log-likelihood over all histories) {:.3} s, \
         fit {:.3} s = {:.1} × floor",
        floor.as_secs_f64(),
        took.as_secs_f64(),
        took.as_secs_f64() / floor.as_secs_f64()
    );

    let mut group = c.benchmark_group("predict");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("floor_loglik", |bench| {
        bench.iter(|| black_box(model.log_likelihood(black_box(&histories))))
    });
    group.bench_function("fit", |bench| {
        bench.iter(|| black_box(BgNbd::fit(black_box(&histories), TimeUnit::Days)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
