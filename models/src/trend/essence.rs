//! The NSSP-ESSENCE daily detectors, as implemented in pynssp 0.1.0 (`alert_ewma`,
//! `alert_regression`, `alert_switch`), including its baseline bookkeeping: the baseline grows
//! from 11 days to `B` before it starts to slide, and p-values come from Student's t.
//!
//! Levels: red p < 0.01, yellow 0.01 ≤ p < 0.05, blue otherwise, grey not scored. `alarm` is
//! the red level.
//!
//! Zero baseline standard deviation: EWMA and regression bound their sigma from below
//! (ESSENCE's minimum-sigma terms), so a flat baseline still yields finite statistics.
//!
//! Reference: Burkom H. (2007), "Alerting algorithms for biosurveillance", in *Disease
//! Surveillance*, Wiley; <https://github.com/CDCgov/pynssp>.

use chrono::Datelike;

use super::{Detector, Level, Point, Series};
use crate::linalg::{wls, Workspace};
use crate::stats::{mean_sd, pt, qt};
use crate::{Error, Result};

const MIN_BASELINE: usize = 11;

fn level(p: f64) -> Level {
    if p.is_nan() {
        Level::Grey
    } else if p < 0.01 {
        Level::Red
    } else if p < 0.05 {
        Level::Yellow
    } else {
        Level::Blue
    }
}

fn point(expected: f64, upper: Option<f64>, stat: f64, p: f64) -> Point {
    let lvl = level(p);
    Point {
        expected: Some(expected),
        upper_bound: upper,
        statistic: Some(stat),
        p_value: Some(p),
        alarm: Some(lvl == Level::Red),
        level: lvl,
    }
}

fn round5(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

fn check_b_g(b: usize, g: usize, multiple_of_7: bool) -> Result<()> {
    if b < 7 {
        return Err(Error::param(
            "b",
            format!("baseline must be at least 7 days, got {b}"),
        ));
    }
    if multiple_of_7 && !b.is_multiple_of(7) {
        return Err(Error::param(
            "b",
            format!("baseline must be a multiple of 7, got {b}"),
        ));
    }
    if g > 28 {
        return Err(Error::param(
            "g",
            format!("guard band must be at most 28 days, got {g}"),
        ));
    }
    Ok(())
}

fn check_w(name: &'static str, w: f64) -> Result<()> {
    if !(w > 0.0 && w < 1.0) {
        return Err(Error::param(name, format!("must be in (0, 1), got {w}")));
    }
    Ok(())
}

fn check_series(detector: &'static str, s: &Series<'_>, b: usize, g: usize) -> Result<()> {
    s.validate(detector)?;
    if s.freq != super::Frequency::Daily {
        return Err(Error::series(
            detector,
            "ESSENCE detectors need daily counts (freq 365)",
        ));
    }
    Ok(()).and_then(|_| {
        if s.counts.len() < b + g + 1 {
            Err(Error::series(
                detector,
                format!(
                    "{} days given, at least B + g + 1 = {} needed",
                    s.counts.len(),
                    b + g + 1
                ),
            ))
        } else {
            Ok(())
        }
    })
}

// ----------------------------------------------------------------------------------------
// EWMA
// ----------------------------------------------------------------------------------------

/// Unchecked EWMA parameters.
#[derive(Debug, Clone)]
pub struct EwmaParams {
    b: usize,
    g: usize,
    w1: f64,
    w2: f64,
}

/// ESSENCE EWMA with two smoothing weights (gradual `w1`, sudden `w2`).
#[derive(Debug, Clone)]
pub struct Ewma {
    b: usize,
    g: usize,
    w1: f64,
    w2: f64,
}

impl Ewma {
    /// pynssp defaults: B = 28, g = 2, w1 = 0.4, w2 = 0.9.
    pub fn params() -> EwmaParams {
        EwmaParams {
            b: 28,
            g: 2,
            w1: 0.4,
            w2: 0.9,
        }
    }
}

impl EwmaParams {
    /// Baseline length in days (≥ 7).
    pub fn b(mut self, b: usize) -> Self {
        self.b = b;
        self
    }
    /// Guard band in days.
    pub fn g(mut self, g: usize) -> Self {
        self.g = g;
        self
    }
    /// Smoothing weights for gradual and sudden events, each in (0, 1).
    pub fn weights(mut self, w1: f64, w2: f64) -> Self {
        self.w1 = w1;
        self.w2 = w2;
        self
    }
    /// Validates the parameters.
    ///
    /// # Errors
    /// B < 7, g > 28, or a weight outside (0, 1).
    pub fn check(self) -> Result<Ewma> {
        check_b_g(self.b, self.g, false)?;
        check_w("w1", self.w1)?;
        check_w("w2", self.w2)?;
        Ok(Ewma {
            b: self.b,
            g: self.g,
            w1: self.w1,
            w2: self.w2,
        })
    }
}

impl Ewma {
    fn run(&self, y: &[f64], out: &mut [Point]) {
        let (b, g, w1, w2) = (self.b, self.g, self.w1, self.w2);
        let n = y.len();
        let mut z1 = y[0];
        let mut z2 = y[0];
        for &yi in y.iter().take((MIN_BASELINE + g).min(n)).skip(1) {
            z1 = w1 * yi + (1.0 - w1) * z1;
            z2 = w2 * yi + (1.0 - w2) * z2;
        }
        // pynssp 0.1.0's baseline: indices 0..=9 to start with; each step it grows by one
        // day at the end until its last index reaches B, then slides.
        let (mut start, mut end) = (0usize, MIN_BASELINE - 2);
        for i in MIN_BASELINE + g..n {
            if end >= b {
                start += 1;
            }
            end += 1;
            let len = end - start + 1;
            let n_df = (len - 1) as f64;
            let (expected, sigma) = mean_sd(y[start..=end].iter().copied());
            let lf = len as f64;
            let corr = |w: f64| {
                ((w / (2.0 - w)) + (1.0 / lf)
                    - 2.0
                        * (1.0 - w).powi(g as i32 + 1)
                        * ((1.0 - (1.0 - w).powi(len as i32)) / lf))
                    .sqrt()
            };
            let ucl_alert = round5(qt(1.0 - 0.01, n_df));
            let ucl_warning = round5(qt(1.0 - 0.025, n_df));
            let min_sigma = |w: f64| (w / ucl_warning) * (1.0 + 0.5 * (1.0 - w).powi(2));
            let constant = |w: f64| {
                (0.1289 - (0.2414 - 0.1826 * (1.0 - w).powi(4)) * (10.0f64 * 0.05).ln())
                    * (w / ucl_warning)
            };
            let sigma1 = min_sigma(w1).max(sigma * corr(w1) + constant(w1));
            let sigma2 = min_sigma(w2).max(sigma * corr(w2) + constant(w2));
            z1 = w1 * y[i] + (1.0 - w1) * z1;
            z2 = w2 * y[i] + (1.0 - w2) * z2;
            let t1 = (z1 - expected) / sigma1;
            let t2 = (z2 - expected) / sigma2;
            // Outlying smoothed values are pulled back to the alert limit.
            if t1.abs() > ucl_alert {
                z1 = expected + t1.signum() * ucl_alert * sigma1;
            }
            if t2.abs() > ucl_alert {
                z2 = expected + t2.signum() * ucl_alert * sigma2;
            }
            let p1 = 1.0 - pt(t1, n_df);
            let p2 = 1.0 - pt(t2, n_df);
            out[i] = if p1 < p2 {
                point(expected, None, t1, p1)
            } else {
                point(expected, None, t2, p2)
            };
        }
    }
}

impl Detector for Ewma {
    fn name(&self) -> &'static str {
        "ewma"
    }

    fn detect_into(&self, series: &Series<'_>, out: &mut Vec<Point>) -> Result<()> {
        check_series(self.name(), series, self.b, self.g)?;
        out.clear();
        out.resize(series.counts.len(), Point::default());
        self.run(series.counts, out);
        Ok(())
    }
}

// ----------------------------------------------------------------------------------------
// Adaptive multiple regression
// ----------------------------------------------------------------------------------------

/// Unchecked regression parameters.
#[derive(Debug, Clone)]
pub struct RegressionParams {
    b: usize,
    g: usize,
}

/// ESSENCE adaptive multiple regression: linear trend plus day-of-week terms over a sliding
/// baseline, forecast `g + 1` days ahead.
#[derive(Debug, Clone)]
pub struct Regression {
    b: usize,
    g: usize,
}

impl Regression {
    /// pynssp defaults: B = 28, g = 2.
    pub fn params() -> RegressionParams {
        RegressionParams { b: 28, g: 2 }
    }
}

impl RegressionParams {
    /// Baseline length in days (a multiple of 7, ≥ 7).
    pub fn b(mut self, b: usize) -> Self {
        self.b = b;
        self
    }
    /// Guard band in days.
    pub fn g(mut self, g: usize) -> Self {
        self.g = g;
        self
    }
    /// Validates the parameters.
    ///
    /// # Errors
    /// B < 7 or not a multiple of 7, g > 28.
    pub fn check(self) -> Result<Regression> {
        check_b_g(self.b, self.g, true)?;
        Ok(Regression {
            b: self.b,
            g: self.g,
        })
    }
}

/// Regression output at one point, with the adjusted R² the switch needs.
#[derive(Debug, Clone, Copy, Default)]
struct RegPoint {
    point: Point,
    r2_adj: f64,
}

impl Regression {
    fn run(&self, y: &[f64], dow: &[u32], out: &mut [RegPoint]) {
        let (b, g) = (self.b, self.g);
        let n = y.len();
        const P: usize = 8;
        let mut x = Vec::with_capacity(b * P);
        let mut z = Vec::with_capacity(b);
        let ones = vec![1.0; b];
        let mut ws = Workspace::default();
        // 1-based indices as in pynssp; rows are ndx - 1.
        let mut ndx: Vec<usize> = (1..MIN_BASELINE).collect();
        for i in MIN_BASELINE + g..n {
            if ndx.last().is_some_and(|&l| l < b) {
                ndx.insert(0, 0);
            }
            ndx.iter_mut().for_each(|v| *v += 1);
            let last = *ndx.last().unwrap_or(&0);
            let len = ndx.len();
            let ndx_test = if last < b { last + g + 1 } else { b + g + 1 } as f64;
            let n_df = len as i64 - 8;
            if n_df < 1 {
                continue;
            }
            x.clear();
            z.clear();
            for (t, &k) in ndx.iter().enumerate() {
                let row = k - 1;
                x.push(1.0);
                x.push((t + 1) as f64);
                for d in 1..=6u32 {
                    x.push(if dow[row] == d { 1.0 } else { 0.0 });
                }
                z.push(y[row]);
            }
            if !wls(&x, &z, &ones[..len], P, &mut ws) {
                continue;
            }
            let beta = &ws.beta;
            let mut ssr = 0.0;
            for r in 0..len {
                let fit: f64 = (0..P).map(|c| x[r * P + c] * beta[c]).sum();
                ssr += (z[r] - fit).powi(2);
            }
            let mean_z = z.iter().sum::<f64>() / len as f64;
            let sst: f64 = z.iter().map(|v| (v - mean_z).powi(2)).sum();
            let mse = ssr / n_df as f64;
            let r2 = 1.0 - ssr / sst;
            let r2_adj = 1.0 - (len as f64 - 1.0) / n_df as f64 * (1.0 - r2);
            let bl = len as f64;
            // pynssp indexes its table of minimum sigmas (built for df = 1, 2, …) at n_df,
            // i.e. it uses the entry for n_df + 1 degrees of freedom.
            let min_sigma = 1.01 / round5(qt(1.0 - 0.05, (n_df + 1) as f64));
            let sigma = (mse.sqrt() * (((bl + 7.0) * (bl - 4.0)) / (bl * (bl - 7.0))).sqrt())
                .max(min_sigma);
            let d = dow[i];
            let mut expected = beta[0] + ndx_test * beta[1];
            if d < 7 {
                expected += beta[d as usize + 1];
            }
            let expected = expected.max(0.0);
            let stat = (y[i] - expected) / sigma;
            let p = 1.0 - pt(stat, n_df as f64);
            let upper = expected + qt(0.99, n_df as f64) * sigma;
            out[i] = RegPoint {
                point: point(expected, Some(upper), stat, p),
                r2_adj: if r2_adj.is_nan() { 0.0 } else { r2_adj },
            };
        }
    }
}

/// ISO day of week, Monday = 1 … Sunday = 7.
fn days_of_week(detector: &'static str, s: &Series<'_>) -> Result<Vec<u32>> {
    let dates = s
        .dates
        .ok_or_else(|| Error::series(detector, "dates are required for day-of-week terms"))?;
    Ok(dates
        .iter()
        .map(|d| d.weekday().number_from_monday())
        .collect())
}

impl Detector for Regression {
    fn name(&self) -> &'static str {
        "regression"
    }

    fn detect_into(&self, series: &Series<'_>, out: &mut Vec<Point>) -> Result<()> {
        check_series(self.name(), series, self.b, self.g)?;
        let dow = days_of_week(self.name(), series)?;
        let mut reg = vec![RegPoint::default(); series.counts.len()];
        self.run(series.counts, &dow, &mut reg);
        out.clear();
        out.extend(reg.iter().map(|r| r.point));
        Ok(())
    }
}

// ----------------------------------------------------------------------------------------
// Regression/EWMA switch
// ----------------------------------------------------------------------------------------

/// Unchecked switch parameters.
#[derive(Debug, Clone)]
pub struct SwitchParams {
    ewma: EwmaParams,
    reg: RegressionParams,
    r2_threshold: f64,
}

/// ESSENCE Regression/EWMA switch: the regression where its adjusted R² reaches 0.60,
/// the EWMA elsewhere.
#[derive(Debug, Clone)]
pub struct Switch {
    ewma: Ewma,
    reg: Regression,
    r2_threshold: f64,
}

impl Switch {
    /// pynssp defaults (B = 28, g = 2, w1 = 0.4, w2 = 0.9, adjusted R² threshold 0.60).
    pub fn params() -> SwitchParams {
        SwitchParams {
            ewma: Ewma::params(),
            reg: Regression::params(),
            r2_threshold: 0.6,
        }
    }
}

impl SwitchParams {
    /// Baseline length and guard band for both detectors.
    pub fn b_g(mut self, b: usize, g: usize) -> Self {
        self.ewma = self.ewma.b(b).g(g);
        self.reg = self.reg.b(b).g(g);
        self
    }
    /// Validates the parameters.
    ///
    /// # Errors
    /// As [`EwmaParams::check`] and [`RegressionParams::check`].
    pub fn check(self) -> Result<Switch> {
        Ok(Switch {
            ewma: self.ewma.check()?,
            reg: self.reg.check()?,
            r2_threshold: self.r2_threshold,
        })
    }
}

impl Detector for Switch {
    fn name(&self) -> &'static str {
        "switch"
    }

    fn detect_into(&self, series: &Series<'_>, out: &mut Vec<Point>) -> Result<()> {
        check_series(self.name(), series, self.reg.b, self.reg.g)?;
        let dow = days_of_week(self.name(), series)?;
        let n = series.counts.len();
        let mut reg = vec![RegPoint::default(); n];
        self.reg.run(series.counts, &dow, &mut reg);
        out.clear();
        out.resize(n, Point::default());
        self.ewma.run(series.counts, out);
        for (o, r) in out.iter_mut().zip(&reg) {
            if r.point.scored() && r.r2_adj >= self.r2_threshold {
                *o = r.point;
            }
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
        assert!(Ewma::params().b(5).check().is_err());
        assert!(Ewma::params().weights(1.2, 0.9).check().is_err());
        let e = Regression::params().b(30).check().unwrap_err();
        assert!(e.to_string().contains("multiple of 7"), "{e}");
    }

    #[test]
    fn refuses_short_and_weekly_series() {
        let y = vec![3.0; 20];
        let d = Ewma::params().check().unwrap();
        let e = d.detect(&Series::new(&y, Frequency::Daily)).unwrap_err();
        assert!(e.to_string().contains("at least"), "{e}");
        let y = vec![3.0; 60];
        assert!(d.detect(&Series::new(&y, Frequency::Weekly)).is_err());
        // Regression needs dates.
        let r = Regression::params().check().unwrap();
        assert!(r.detect(&Series::new(&y, Frequency::Daily)).is_err());
    }

    #[test]
    fn flat_baseline_gives_finite_statistics() {
        let mut y = vec![4.0; 60];
        y[59] = 30.0;
        let d = Ewma::params().check().unwrap();
        let out = d.detect(&Series::new(&y, Frequency::Daily)).unwrap();
        assert!(out[59].statistic.unwrap().is_finite());
        assert_eq!(out[59].level, Level::Red);
        assert_eq!(out[40].level, Level::Blue);
        assert_eq!(out[5].level, Level::Grey);
    }
}
