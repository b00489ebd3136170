//! Scoring many series in parallel (rayon), one reusable output buffer per worker.

use rayon::prelude::*;

use super::{Detector, Point, Series};
use crate::Result;

/// Scores every series with `detector` in parallel and hands each result to `sink`
/// (called from worker threads, with the series' index). Buffers are reused per worker, so
/// nothing is allocated per scored point.
pub fn for_each<F>(detector: &dyn Detector, series: &[Series<'_>], sink: F)
where
    F: Fn(usize, Result<&[Point]>) + Sync,
{
    series
        .par_iter()
        .enumerate()
        .for_each_init(Vec::<Point>::new, |buf, (i, s)| {
            match detector.detect_into(s, buf) {
                Ok(()) => sink(i, Ok(buf.as_slice())),
                Err(e) => sink(i, Err(e)),
            }
        });
}

/// Scores every series and collects the results, in input order.
pub fn detect_all(detector: &dyn Detector, series: &[Series<'_>]) -> Vec<Result<Vec<Point>>> {
    series.par_iter().map(|s| detector.detect(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::{ears, Frequency};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn batch_equals_one_by_one() {
        let data: Vec<Vec<f64>> = (0..50)
            .map(|s| (0..60).map(|t| ((s * 7 + t * 3) % 11) as f64).collect())
            .collect();
        let series: Vec<Series<'_>> = data
            .iter()
            .map(|c| Series::new(c, Frequency::Weekly))
            .collect();
        let d = ears::Ears::params(ears::EarsMethod::C2).check().unwrap();
        let all = detect_all(&d, &series);
        for (s, r) in series.iter().zip(&all) {
            assert_eq!(&d.detect(s).unwrap(), r.as_ref().unwrap());
        }
        let alarms = AtomicUsize::new(0);
        for_each(&d, &series, |_, r| {
            let n = r.unwrap().iter().filter(|p| p.alarm == Some(true)).count();
            alarms.fetch_add(n, Ordering::Relaxed);
        });
        let expected: usize = all
            .iter()
            .map(|r| {
                r.as_ref()
                    .unwrap()
                    .iter()
                    .filter(|p| p.alarm == Some(true))
                    .count()
            })
            .sum();
        assert_eq!(alarms.load(Ordering::Relaxed), expected);
    }
}
