//! EARS C1, C2 and C3, exactly as R `surveillance::earsC` (version 1.20.3).
//!
//! * C1: baseline = the `baseline` (7) periods just before t; bound = mean + z·max(sd, minSigma).
//! * C2: the same baseline shifted by a guard band of 2 periods (t−9 … t−3).
//! * C3: bound = y_t + max(sd_t, minSigma)·(z − Σ_{lag 1,2} max(0, C2_{t−lag} − 1)), floored at 0.
//!
//! z = `qnorm(1 − alpha)`, alpha 0.001 for C1/C2 and 0.025 for C3.
//!
//! With a zero baseline standard deviation (and `min_sigma = 0`, R's default), C1 and C2 set
//! the bound to the baseline mean, so any count above the mean alarms; C3's z-scores divide
//! by zero, and where R yields NaN the point is reported as not scored.
//!
//! Reference: Hutwagner et al. (2003), "The bioterrorism preparedness and response Early
//! Aberration Reporting System (EARS)", J Urban Health 80(1):i89–i96;
//! <https://cran.r-project.org/package=surveillance>.

use super::{finite, r_pmax0, Detector, Level, Point, Series};
use crate::stats::{mean_sd, qnorm};
use crate::{Error, Result};

/// Which EARS method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarsMethod {
    /// Baseline directly before the current period.
    C1,
    /// Baseline with a two-period guard band.
    C2,
    /// Cumulative C2 over three periods.
    C3,
}

/// Unchecked EARS parameters; call [`EarsParams::check`].
#[derive(Debug, Clone)]
pub struct EarsParams {
    method: EarsMethod,
    baseline: usize,
    min_sigma: f64,
    alpha: Option<f64>,
}

/// A checked EARS detector.
#[derive(Debug, Clone)]
pub struct Ears {
    method: EarsMethod,
    baseline: usize,
    min_sigma: f64,
    z: f64,
}

impl Ears {
    /// Parameters with R's defaults: baseline 7, minSigma 0, alpha 0.001 (C1, C2) or 0.025 (C3).
    pub fn params(method: EarsMethod) -> EarsParams {
        EarsParams {
            method,
            baseline: 7,
            min_sigma: 0.0,
            alpha: None,
        }
    }

    /// First 0-based index scored: R's default `range` start minus one.
    pub fn first_scored(&self) -> usize {
        match self.method {
            EarsMethod::C1 => self.baseline,
            EarsMethod::C2 => self.baseline + 2,
            EarsMethod::C3 => self.baseline + 4,
        }
    }

    /// Baseline mean and sd of the window ending `lag_end` periods before `t` (inclusive).
    fn window(&self, y: &[f64], t: usize, lag_end: usize) -> (f64, f64) {
        let end = t - lag_end; // inclusive
        let start = end + 1 - self.baseline;
        mean_sd(y[start..=end].iter().copied())
    }
}

impl EarsParams {
    /// Baseline length (R `baseline`, at least 3).
    pub fn baseline(mut self, n: usize) -> Self {
        self.baseline = n;
        self
    }
    /// Minimum standard deviation (R `minSigma`, ≥ 0).
    pub fn min_sigma(mut self, s: f64) -> Self {
        self.min_sigma = s;
        self
    }
    /// Type-I error (R `alpha`, in (0, 1)).
    pub fn alpha(mut self, a: f64) -> Self {
        self.alpha = Some(a);
        self
    }
    /// Validates the parameters.
    ///
    /// # Errors
    /// A baseline under 3, a negative minimum sigma or an alpha outside (0, 1).
    pub fn check(self) -> Result<Ears> {
        if self.baseline < 3 {
            return Err(Error::param(
                "baseline",
                format!("must be at least 3, got {}", self.baseline),
            ));
        }
        if !(self.min_sigma >= 0.0) || !self.min_sigma.is_finite() {
            return Err(Error::param(
                "min_sigma",
                format!("must be finite and >= 0, got {}", self.min_sigma),
            ));
        }
        let alpha = self.alpha.unwrap_or(match self.method {
            EarsMethod::C1 | EarsMethod::C2 => 0.001,
            EarsMethod::C3 => 0.025,
        });
        if !(alpha > 0.0 && alpha < 1.0) {
            return Err(Error::param(
                "alpha",
                format!("must be in (0, 1), got {alpha}"),
            ));
        }
        Ok(Ears {
            method: self.method,
            baseline: self.baseline,
            min_sigma: self.min_sigma,
            z: qnorm(1.0 - alpha),
        })
    }
}

impl Detector for Ears {
    fn name(&self) -> &'static str {
        match self.method {
            EarsMethod::C1 => "c1",
            EarsMethod::C2 => "c2",
            EarsMethod::C3 => "c3",
        }
    }

    fn detect_into(&self, series: &Series<'_>, out: &mut Vec<Point>) -> Result<()> {
        series.validate(self.name())?;
        let y = series.counts;
        out.clear();
        out.resize(y.len(), Point::default());
        let first = self.first_scored();
        for t in first..y.len() {
            let point = match self.method {
                EarsMethod::C1 | EarsMethod::C2 => {
                    let lag_end = if self.method == EarsMethod::C1 { 1 } else { 3 };
                    let (mean, sd) = self.window(y, t, lag_end);
                    let sigma = sd.max(self.min_sigma);
                    let ub = mean + self.z * sigma;
                    let stat = (y[t] - mean) / sigma;
                    let alarm = y[t] > ub;
                    Point {
                        expected: Some(mean),
                        upper_bound: Some(ub),
                        statistic: finite(stat),
                        p_value: None,
                        alarm: Some(alarm),
                        level: if alarm { Level::Red } else { Level::Blue },
                    }
                }
                EarsMethod::C3 => {
                    let c2 = |s: usize| {
                        let (mean, sd) = self.window(y, s, 3);
                        (y[s] - mean) / sd.max(self.min_sigma)
                    };
                    let part2 = r_pmax0(c2(t - 2) - 1.0);
                    let part1 = r_pmax0(c2(t - 1) - 1.0);
                    let (mean, sd) = self.window(y, t, 3);
                    let sigma = sd.max(self.min_sigma);
                    let ub = r_pmax0(y[t] + sigma * (self.z - (part2 + part1)));
                    let stat = part2 + part1 + r_pmax0((y[t] - mean) / sigma - 1.0);
                    match finite(ub) {
                        Some(ub) => {
                            let alarm = y[t] > ub;
                            Point {
                                expected: Some(mean),
                                upper_bound: Some(ub),
                                statistic: finite(stat),
                                p_value: None,
                                alarm: Some(alarm),
                                level: if alarm { Level::Red } else { Level::Blue },
                            }
                        }
                        None => Point::default(),
                    }
                }
            };
            out[t] = point;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::Frequency;

    #[test]
    fn rejects_bad_parameters() {
        let e = Ears::params(EarsMethod::C1)
            .baseline(2)
            .check()
            .unwrap_err();
        assert!(e.to_string().contains("baseline"), "{e}");
        let e = Ears::params(EarsMethod::C2).alpha(1.5).check().unwrap_err();
        assert!(e.to_string().contains("got 1.5"), "{e}");
        let e = Ears::params(EarsMethod::C3)
            .min_sigma(-1.0)
            .check()
            .unwrap_err();
        assert!(e.to_string().contains("min_sigma"), "{e}");
    }

    #[test]
    fn rejects_negative_and_nan_counts() {
        let d = Ears::params(EarsMethod::C1).check().unwrap();
        let y = [1.0, 2.0, -1.0];
        let e = d.detect(&Series::new(&y, Frequency::Daily)).unwrap_err();
        assert!(e.to_string().contains("index 2"), "{e}");
        let y = [1.0, f64::NAN];
        assert!(d.detect(&Series::new(&y, Frequency::Daily)).is_err());
    }

    #[test]
    fn short_series_is_not_scored() {
        let d = Ears::params(EarsMethod::C2).check().unwrap();
        let y = [1.0; 5];
        let out = d.detect(&Series::new(&y, Frequency::Daily)).unwrap();
        assert_eq!(out.len(), 5);
        assert!(out.iter().all(|p| !p.scored()));
    }

    #[test]
    fn c1_by_hand() {
        // baseline 1..=7: mean 4, sd sqrt(14/3); bound = 4 + qnorm(0.999) * sd.
        let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 20.0];
        let d = Ears::params(EarsMethod::C1).check().unwrap();
        let out = d.detect(&Series::new(&y, Frequency::Daily)).unwrap();
        let ub = 4.0 + 3.090232306167813 * (14.0f64 / 3.0).sqrt();
        assert!((out[7].upper_bound.unwrap() - ub).abs() < 1e-12);
        assert_eq!(out[7].alarm, Some(true));
    }
}
