//! BG/NBD fit speed (issue "Predicting behaviour"): one million customers' purchase
//! histories simulated from the model itself (`idstitch_testkit::bgnbd`: r = 0.25, α = 30
//! days, a = 0.8, b = 2.4; ages of 1 to 730 days, purchases at day resolution), then
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
use idstitch::predict::{BgNbd, TimeUnit};
use idstitch_testkit::bgnbd;

fn n_customers() -> usize {
    std::env::var("IDSTITCH_BENCH_CUSTOMERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn bench(c: &mut Criterion) {
    let n = n_customers();
    let histories = bgnbd::histories((0.25, 30.0, 0.8, 2.4), n, 730, 0x5eed_cafe_f00d_0001);
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
