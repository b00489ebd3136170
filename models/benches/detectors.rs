//! Detector throughput on weekly series of 260 weeks (five years), one core.
//!
//! `cargo bench -p weaksignal-models --bench detectors` scores `WEAKSIGNAL_BENCH_SERIES`
//! series (default 100,000) per iteration with EARS, ESSENCE and CUSUM, and a slice of
//! `WEAKSIGNAL_BENCH_GLM_SERIES` series (default 2,000) with Farrington and Noufaily, whose
//! per-point cost is a GLM fit; criterion's throughput line reads as scored points per second.
//! Farrington uses `b = 4`: with the default `b = 5` the first scored week of a weekly series
//! is 5·52 + 3 + 1 = 264, past the end of a 260-week series.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use weaksignal_models::trend::{
    cusum, ears, essence, farrington, Detector, Frequency, Point, Series,
};

const WEEKS: usize = 260;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Poisson counts around a seasonal mean with a per-series level (sparse to busy).
fn make_series(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|s| {
            let level = 0.5 + (s % 40) as f64;
            (0..WEEKS)
                .map(|t| {
                    let season = 1.0 + 0.3 * (2.0 * std::f64::consts::PI * t as f64 / 52.0).sin();
                    Poisson::new(level * season).map_or(0.0, |p| p.sample(&mut rng))
                })
                .collect()
        })
        .collect()
}

fn scored_points(d: &dyn Detector, data: &[Vec<f64>]) -> u64 {
    let mut buf: Vec<Point> = Vec::new();
    let mut n = 0u64;
    for c in data {
        if d.detect_into(&Series::new(c, Frequency::Weekly), &mut buf)
            .is_ok()
        {
            n += buf.iter().filter(|p| p.scored()).count() as u64;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let many = make_series(env("WEAKSIGNAL_BENCH_SERIES", 100_000), 1);
    let glm = env("WEAKSIGNAL_BENCH_GLM_SERIES", 2_000).min(many.len());
    type Case<'a> = (Box<dyn Detector>, &'a [Vec<f64>]);
    let detectors: Vec<Case<'_>> = vec![
        (
            Box::new(ears::Ears::params(ears::EarsMethod::C1).check().unwrap()),
            &many,
        ),
        (
            Box::new(ears::Ears::params(ears::EarsMethod::C2).check().unwrap()),
            &many,
        ),
        (
            Box::new(ears::Ears::params(ears::EarsMethod::C3).check().unwrap()),
            &many,
        ),
        (
            Box::new(cusum::PoissonCusum::params().check().unwrap()),
            &many,
        ),
        (Box::new(essence::Ewma::params().check().unwrap()), &many),
        (
            Box::new(essence::Regression::params().check().unwrap()),
            &many,
        ),
        (
            Box::new(farrington::Farrington::params().b(4).check().unwrap()),
            &many[..glm],
        ),
        (
            Box::new(farrington::Farrington::noufaily().b(4).check().unwrap()),
            &many[..glm],
        ),
    ];
    let mut g = c.benchmark_group("weekly_260");
    g.sample_size(10);
    for (d, data) in &detectors {
        let points = scored_points(d.as_ref(), data);
        g.throughput(Throughput::Elements(points));
        g.bench_with_input(BenchmarkId::new(d.name(), data.len()), data, |b, data| {
            b.iter(|| scored_points(d.as_ref(), data))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
