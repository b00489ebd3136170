//! Poisson CUSUM with a sliding baseline, reset after every alarm.
//!
//! For each period t the in-control mean λ₀ is the mean of the `baseline` periods ending
//! `guard` periods before t (floored at `min_lambda`, so a run of zeros does not make every
//! later count an alarm). The out-of-control mean is λ₁ = `shift` · λ₀ and the reference value is
//! Lucas's (1985) optimal k = (λ₁ − λ₀) / (ln λ₁ − ln λ₀). The statistic
//! S_t = max(0, S_{t−1} + y_t − k) alarms when it exceeds the decision interval
//! H = `h` · √λ₀ (h in units of the in-control standard deviation), and is reset to 0 after an
//! alarm, so one aberration raises one alarm instead of a long run of them.
//!
//! `upper_bound` is the count that would have alarmed at t: k + H − S_{t−1}.
//!
//! Reference: Lucas J.M. (1985), "Counted data CUSUMs", Technometrics 27(2):129–144.

use super::{Detector, Level, Point, Series};
use crate::{Error, Result};

/// Unchecked CUSUM parameters.
#[derive(Debug, Clone)]
pub struct PoissonCusumParams {
    baseline: usize,
    guard: usize,
    shift: f64,
    h: f64,
    min_lambda: f64,
}

/// A checked Poisson CUSUM.
#[derive(Debug, Clone)]
pub struct PoissonCusum {
    baseline: usize,
    guard: usize,
    shift: f64,
    h: f64,
    min_lambda: f64,
}

impl PoissonCusum {
    /// Defaults: baseline 8 periods, guard 1, shift 2 (a doubling), h = 4, λ₀ ≥ 0.5.
    pub fn params() -> PoissonCusumParams {
        PoissonCusumParams {
            baseline: 8,
            guard: 1,
            shift: 2.0,
            h: 4.0,
            min_lambda: 0.5,
        }
    }

    /// Reference value k for in-control mean `lambda0`.
    pub fn reference_value(&self, lambda0: f64) -> f64 {
        let l1 = self.shift * lambda0;
        (l1 - lambda0) / (l1.ln() - lambda0.ln())
    }
}

impl PoissonCusumParams {
    /// Baseline length in periods (≥ 2).
    pub fn baseline(mut self, n: usize) -> Self {
        self.baseline = n;
        self
    }
    /// Guard band between baseline and the current period.
    pub fn guard(mut self, n: usize) -> Self {
        self.guard = n;
        self
    }
    /// Out-of-control mean as a multiple of the in-control mean (> 1).
    pub fn shift(mut self, s: f64) -> Self {
        self.shift = s;
        self
    }
    /// Decision interval in in-control standard deviations (> 0).
    pub fn h(mut self, h: f64) -> Self {
        self.h = h;
        self
    }
    /// Validates the parameters.
    ///
    /// # Errors
    /// A baseline under 2, a shift ≤ 1, h ≤ 0 or a non-positive minimum λ.
    pub fn check(self) -> Result<PoissonCusum> {
        if self.baseline < 2 {
            return Err(Error::param(
                "baseline",
                format!("must be at least 2, got {}", self.baseline),
            ));
        }
        if !(self.shift > 1.0 && self.shift.is_finite()) {
            return Err(Error::param(
                "shift",
                format!("must be > 1, got {}", self.shift),
            ));
        }
        if !(self.h > 0.0 && self.h.is_finite()) {
            return Err(Error::param("h", format!("must be > 0, got {}", self.h)));
        }
        if !(self.min_lambda > 0.0) {
            return Err(Error::param(
                "min_lambda",
                format!("must be > 0, got {}", self.min_lambda),
            ));
        }
        Ok(PoissonCusum {
            baseline: self.baseline,
            guard: self.guard,
            shift: self.shift,
            h: self.h,
            min_lambda: self.min_lambda,
        })
    }
}

impl Detector for PoissonCusum {
    fn name(&self) -> &'static str {
        "cusum"
    }

    fn detect_into(&self, series: &Series<'_>, out: &mut Vec<Point>) -> Result<()> {
        series.validate(self.name())?;
        let y = series.counts;
        out.clear();
        out.resize(y.len(), Point::default());
        let first = self.baseline + self.guard;
        let mut s = 0.0f64;
        let mut window_sum: f64 = y.iter().take(self.baseline).sum();
        for t in first..y.len() {
            if t > first {
                // slide the window [t-guard-baseline, t-guard)
                window_sum += y[t - self.guard - 1] - y[t - self.guard - 1 - self.baseline];
            }
            let lambda0 = (window_sum / self.baseline as f64).max(self.min_lambda);
            let k = self.reference_value(lambda0);
            let h = self.h * lambda0.sqrt();
            let upper = k + h - s;
            s = (s + y[t] - k).max(0.0);
            let alarm = s > h;
            out[t] = Point {
                expected: Some(lambda0),
                upper_bound: Some(upper.max(0.0)),
                statistic: Some(s),
                p_value: None,
                alarm: Some(alarm),
                level: if alarm { Level::Red } else { Level::Blue },
            };
            if alarm {
                s = 0.0;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::Frequency;
    use proptest::prelude::*;

    #[test]
    fn rejects_bad_parameters() {
        assert!(PoissonCusum::params().shift(1.0).check().is_err());
        assert!(PoissonCusum::params().h(0.0).check().is_err());
        assert!(PoissonCusum::params().baseline(1).check().is_err());
    }

    #[test]
    fn reference_value_is_lucas_k() {
        // λ0 = 2, λ1 = 4: k = 2 / ln 2.
        let c = PoissonCusum::params().check().unwrap();
        assert!((c.reference_value(2.0) - 2.0 / 2f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn resets_after_alarm() {
        let mut y = vec![2.0; 40];
        for v in &mut y[20..30] {
            *v = 12.0;
        }
        let c = PoissonCusum::params().check().unwrap();
        let out = c.detect(&Series::new(&y, Frequency::Weekly)).unwrap();
        let alarms: Vec<usize> = (0..40).filter(|&t| out[t].alarm == Some(true)).collect();
        assert_eq!(alarms.first(), Some(&20));
        // after an alarm the sum restarts from zero
        assert!(out[20].statistic.unwrap() > 0.0);
        assert!(out[..20].iter().all(|p| p.alarm != Some(true)));
    }

    proptest! {
        #[test]
        fn statistic_is_never_negative(y in proptest::collection::vec(0u32..50, 10..120)) {
            let y: Vec<f64> = y.into_iter().map(f64::from).collect();
            let c = PoissonCusum::params().check().unwrap();
            let out = c.detect(&Series::new(&y, Frequency::Weekly)).unwrap();
            for p in out {
                if let Some(s) = p.statistic { prop_assert!(s >= 0.0); }
            }
        }
    }
}
