//! Farrington flexible and its Noufaily et al. (2013) variant, as R
//! `surveillance::farringtonFlexible` (version 1.20.3).
//!
//! For each scored period t: reference windows of ±w periods around the same period in each of
//! the b previous years (and, with `no_periods > 1`, the stretches between them split into
//! seasonal blocks); the last `past_weeks_not_included` periods are left out. A quasi-Poisson
//! GLM with log link (an intercept, a linear trend when it is significant, does not extrapolate
//! beyond the largest count and b ≥ 3, and block factors) is fitted; past outbreaks are
//! down-weighted by Anscombe residuals above `weights_threshold`; the overdispersion φ is
//! floored at 1. The threshold is either
//! * `Delta`: the 2/3-power-transformed prediction interval (Farrington et al. 1996), or
//! * `NbPlugin`: the (1 − α) quantile of a negative binomial with mean exp(η̂) and
//!   dispersion φ (Noufaily et al. 2013).
//!
//! `limit54`: a period with fewer than 5 cases in the last 4 periods (current included) is not
//! scored (no bound, no alarm), as in R. A zero standard deviation cannot occur here: the
//! variance comes from the fitted GLM; a baseline of all zeros gives a degenerate fit that is
//! reported as not scored.
//!
//! References: Farrington et al. (1996), JRSS A 159(3):547–563; Noufaily et al. (2013),
//! Statistics in Medicine 32(7):1206–1222; <https://cran.r-project.org/package=surveillance>.

mod glm;

use chrono::{Datelike, Months, NaiveDate};

use super::{Detector, Level, Point, Series};
use crate::stats::{pnbinom, pnorm_upper, ppois, pt, qnbinom, qnorm, qpois};
use crate::{Error, Result};
use glm::{Design, Fit, Row, Scratch};

/// How the prediction threshold is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMethod {
    /// Farrington's power-transformed normal interval (R `"delta"`).
    Delta,
    /// Negative binomial plug-in quantile (R `"nbPlugin"`, Noufaily).
    NbPlugin,
}

/// Power transformation used by the `Delta` threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerTrans {
    /// No transformation.
    None,
    /// Square root.
    Half,
    /// 2/3 power (Farrington's default).
    TwoThirds,
}

/// How reference periods of previous years are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceMode {
    /// `freq` periods back per year (R with `epochAsDate = FALSE`).
    Index,
    /// The same calendar date one, two, … years back, moved to the nearest same weekday for
    /// weekly data (R with `epochAsDate = TRUE`); needs dates.
    Dates,
}

/// Unchecked Farrington parameters (R `control` list).
#[derive(Debug, Clone)]
pub struct FarringtonParams {
    b: usize,
    w: usize,
    reweight: bool,
    weights_threshold: f64,
    alpha: f64,
    trend: bool,
    p_threshold_trend: f64,
    limit54: (f64, usize),
    powertrans: PowerTrans,
    no_periods: usize,
    past_weeks_not_included: Option<usize>,
    threshold: ThresholdMethod,
    reference: ReferenceMode,
}

/// A checked Farrington flexible detector.
#[derive(Debug, Clone)]
pub struct Farrington {
    p: FarringtonParams,
    z: f64,
    past: usize,
}

impl Farrington {
    /// R defaults: b = 5, w = 3, reweight with threshold 2.58, alpha 0.05, trend with
    /// p < 0.05, limit54 = (5, 4), powertrans "2/3", noPeriods 1, thresholdMethod "delta".
    pub fn params() -> FarringtonParams {
        FarringtonParams {
            b: 5,
            w: 3,
            reweight: true,
            weights_threshold: 2.58,
            alpha: 0.05,
            trend: true,
            p_threshold_trend: 0.05,
            limit54: (5.0, 4),
            powertrans: PowerTrans::TwoThirds,
            no_periods: 1,
            past_weeks_not_included: None,
            threshold: ThresholdMethod::Delta,
            reference: ReferenceMode::Index,
        }
    }

    /// The Noufaily et al. (2013) settings: noPeriods 10, pastWeeksNotIncluded 26,
    /// thresholdMethod "nbPlugin", powertrans "none", weightsThreshold 2.58.
    pub fn noufaily() -> FarringtonParams {
        Farrington::params()
            .no_periods(10)
            .past_weeks_not_included(26)
            .threshold(ThresholdMethod::NbPlugin)
            .powertrans(PowerTrans::None)
    }
}

impl FarringtonParams {
    /// Years back (R `b`, ≥ 1).
    pub fn b(mut self, b: usize) -> Self {
        self.b = b;
        self
    }
    /// Half-window (R `w`).
    pub fn w(mut self, w: usize) -> Self {
        self.w = w;
        self
    }
    /// Down-weight past outbreaks (R `reweight`).
    pub fn reweight(mut self, r: bool) -> Self {
        self.reweight = r;
        self
    }
    /// Anscombe residual above which a point is down-weighted (R `weightsThreshold`).
    pub fn weights_threshold(mut self, t: f64) -> Self {
        self.weights_threshold = t;
        self
    }
    /// One-sided level of the prediction interval (R `alpha`, in (0, 1)).
    pub fn alpha(mut self, a: f64) -> Self {
        self.alpha = a;
        self
    }
    /// Allow a time trend (R `trend`).
    pub fn trend(mut self, t: bool) -> Self {
        self.trend = t;
        self
    }
    /// Number of seasonal periods (R `noPeriods`, ≥ 1).
    pub fn no_periods(mut self, n: usize) -> Self {
        self.no_periods = n;
        self
    }
    /// Recent periods left out of the fit (R `pastWeeksNotIncluded`; default w).
    pub fn past_weeks_not_included(mut self, n: usize) -> Self {
        self.past_weeks_not_included = Some(n);
        self
    }
    /// Threshold method.
    pub fn threshold(mut self, m: ThresholdMethod) -> Self {
        self.threshold = m;
        self
    }
    /// Power transformation for the delta threshold.
    pub fn powertrans(mut self, p: PowerTrans) -> Self {
        self.powertrans = p;
        self
    }
    /// `limit54`: at least `cases` in the last `periods` periods to score.
    pub fn limit54(mut self, cases: f64, periods: usize) -> Self {
        self.limit54 = (cases, periods);
        self
    }
    /// How reference periods are found.
    pub fn reference(mut self, r: ReferenceMode) -> Self {
        self.reference = r;
        self
    }
    /// Validates the parameters.
    ///
    /// # Errors
    /// b = 0, alpha or the trend threshold outside (0, 1), a non-positive weights threshold,
    /// no_periods = 0, or a limit54 period of 0.
    pub fn check(self) -> Result<Farrington> {
        if self.b == 0 {
            return Err(Error::param("b", "must be at least 1, got 0"));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::param(
                "alpha",
                format!("must be in (0, 1), got {}", self.alpha),
            ));
        }
        if !(self.p_threshold_trend > 0.0 && self.p_threshold_trend < 1.0) {
            return Err(Error::param(
                "p_threshold_trend",
                format!("must be in (0, 1), got {}", self.p_threshold_trend),
            ));
        }
        if !(self.weights_threshold > 0.0) {
            return Err(Error::param(
                "weights_threshold",
                format!("must be > 0, got {}", self.weights_threshold),
            ));
        }
        if self.no_periods == 0 {
            return Err(Error::param("no_periods", "must be at least 1, got 0"));
        }
        if self.limit54.1 == 0 || !(self.limit54.0 >= 0.0) {
            return Err(Error::param(
                "limit54",
                format!("cases must be >= 0 and periods > 0, got {:?}", self.limit54),
            ));
        }
        let past = self.past_weeks_not_included.unwrap_or(self.w);
        Ok(Farrington {
            z: qnorm(1.0 - self.alpha),
            past,
            p: self,
        })
    }
}

/// What one fit of `algo.farrington.fitGLM.flexible` returns.
struct Model {
    design: Design,
    fit: Fit,
    phi: f64,
}

impl Farrington {
    /// First 0-based index R scores by default: freq·b + w.
    pub fn first_scored(&self, freq: usize) -> usize {
        freq * self.p.b + self.p.w
    }

    /// Reference periods (0-based), current first, or `None` if one is outside the series.
    fn reference_points(&self, s: &Series<'_>, k: usize, out: &mut Vec<usize>) -> bool {
        out.clear();
        let freq = s.freq.periods_per_year();
        match (self.p.reference, s.dates) {
            (ReferenceMode::Dates, Some(dates)) => {
                let day = dates[k];
                for j in 0..=self.p.b {
                    let Some(mut r) = day.checked_sub_months(Months::new(12 * j as u32)) else {
                        return false;
                    };
                    if s.freq == super::Frequency::Weekly {
                        let want = day.weekday().num_days_from_sunday() as i64;
                        let have = r.weekday().num_days_from_sunday() as i64;
                        let a = r - chrono::Duration::days(have - want);
                        let b = a + chrono::Duration::days(if a > r { -7 } else { 7 });
                        let da = (a - r).num_days().abs();
                        let db = (b - r).num_days().abs();
                        r = if da > db { b } else { a };
                    }
                    match find_date(dates, r) {
                        Some(i) => out.push(i),
                        None => return false,
                    }
                }
                true
            }
            _ => {
                for j in 0..=self.p.b {
                    match k.checked_sub(freq * j) {
                        Some(i) => out.push(i),
                        None => return false,
                    }
                }
                true
            }
        }
    }

    /// R's `blocks()`: the seasonal-block factor of every period (0 = not used).
    fn blocks(&self, refs: &[usize], k: usize, n: usize, out: &mut Vec<u32>) -> bool {
        let (w, p) = (self.p.w, self.p.no_periods);
        out.clear();
        out.resize(n, 0);
        let set = |lo: isize, hi: isize, v: u32, out: &mut Vec<u32>| -> bool {
            // R's lo:hi counts down when hi < lo.
            let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
            if a < 0 || b as usize >= n {
                return false;
            }
            for i in a..=b {
                out[i as usize] = v;
            }
            true
        };
        if !set(k as isize - w as isize, k as isize, p as u32, out) {
            return false;
        }
        // refs[0] = now, refs[i] = i years back (R's rev(referenceWeeks)).
        for i in 1..=self.p.b {
            let ref_week = refs[i] as isize;
            if !set(ref_week - w as isize, ref_week + w as isize, p as u32, out) {
                return false;
            }
            if p != 1 {
                let period = refs[i - 1] as isize - 2 * w as isize - 1 - ref_week;
                if period < p as isize - (2 * w as isize + 1) {
                    return false;
                }
                let len = period.div_euclid(p as isize - 1);
                let rest = period.rem_euclid(p as isize - 1);
                let mut cum = 0isize;
                for j in 1..p {
                    let l = len + if (j as isize) <= rest { 1 } else { 0 };
                    let lo = ref_week + w as isize + 1 + cum;
                    let hi = lo + l - 1;
                    if !set(lo, hi, j as u32, out) {
                        return false;
                    }
                    cum += l;
                }
            }
        }
        true
    }

    fn build_design(
        &self,
        blocks: &[u32],
        k: usize,
        (y, pre): (&[f64], Option<&Pre>),
        trend: bool,
        design: &mut Design,
        resp: &mut Vec<f64>,
    ) -> Option<usize> {
        // Levels present (sorted numerically); the first is the reference level.
        let mut present = [false; 64];
        let lo = k.saturating_sub(self.past);
        for (i, &bk) in blocks.iter().enumerate() {
            if bk != 0 && !(i >= lo && i <= k) {
                present[(bk as usize).min(63)] = true;
            }
        }
        let levels: Vec<usize> = (0..64).filter(|&l| present[l]).collect();
        let base = if trend { 2 } else { 1 };
        let mut col_of = [None; 64];
        for (j, &l) in levels.iter().enumerate().skip(1) {
            col_of[l] = Some(base + j - 1);
        }
        design.rows.clear();
        design.ylny.clear();
        design.eta0.clear();
        resp.clear();
        for (i, &bk) in blocks.iter().enumerate() {
            if bk == 0 || (i >= lo && i <= k) {
                continue;
            }
            design.rows.push(Row {
                time: (i + 1) as f64,
                dummy: col_of[(bk as usize).min(63)],
            });
            resp.push(y[i]);
            if let Some(pre) = pre {
                design.ylny.push(pre.ylny[i]);
                design.eta0.push(pre.eta0[i]);
            }
        }
        design.trend = trend;
        design.p = base + levels.len().saturating_sub(1);
        // The prediction is for the current block, level `no_periods`.
        col_of[self.p.no_periods.min(63)]
    }
}

fn find_date(dates: &[NaiveDate], d: NaiveDate) -> Option<usize> {
    dates.binary_search(&d).ok()
}

/// Scratch space for one series, reused across its periods.
#[derive(Default)]
struct Work {
    refs: Vec<usize>,
    blocks: Vec<u32>,
    resp: Vec<f64>,
    glm: Scratch,
    /// Per point of the series, computed once: y·ln y, ln(y + 0.1) (IRLS's start) and
    /// y^⅔ (Anscombe residuals). Every fit of every period reuses them.
    pre: Option<Pre>,
}

struct Pre {
    ylny: Vec<f64>,
    eta0: Vec<f64>,
    y23: Vec<f64>,
}

impl Pre {
    fn new(y: &[f64]) -> Pre {
        Pre {
            ylny: y
                .iter()
                .map(|&v| if v > 0.0 { v * v.ln() } else { 0.0 })
                .collect(),
            eta0: y.iter().map(|v| (v + 0.1).ln()).collect(),
            y23: y.iter().map(|v| v.powf(2.0 / 3.0)).collect(),
        }
    }
}

impl Farrington {
    /// R's `algo.farrington.fitGLM.flexible`.
    fn fit_model(
        &self,
        blocks: &[u32],
        k: usize,
        y: &[f64],
        trend: bool,
        wk: &mut Work,
    ) -> Option<(Model, Option<usize>)> {
        let mut design = Design::default();
        let mut resp = std::mem::take(&mut wk.resp);
        if wk.pre.as_ref().is_none_or(|p| p.ylny.len() != y.len()) {
            wk.pre = Some(Pre::new(y));
        }
        let pre = wk.pre.as_ref();
        let mut pred_col = self.build_design(blocks, k, (y, pre), trend, &mut design, &mut resp);
        let ones = vec![1.0; resp.len()];
        let mut fit = glm::fit(&design, &resp, &ones, &mut wk.glm).filter(|f| f.converged);
        if fit.is_none() && trend {
            pred_col = self.build_design(blocks, k, (y, pre), false, &mut design, &mut resp);
            fit = glm::fit(&design, &resp, &ones, &mut wk.glm).filter(|f| f.converged);
        }
        let Some(mut fit) = fit else {
            wk.resp = resp;
            return None;
        };
        let mut phi = fit.dispersion.max(1.0);
        if self.p.reweight {
            let hat = glm::hat_values(&design, &fit);
            let y23 = wk.pre.as_ref().map(|p| &p.y23);
            let s: Vec<f64> = (0..resp.len())
                .map(|i| {
                    let mu = fit.mu[i];
                    let row = design.rows[i];
                    let yy = match (y23, row.time as usize) {
                        (Some(v), t) if t >= 1 && t <= v.len() => v[t - 1],
                        _ => resp[i].powf(2.0 / 3.0),
                    };
                    // Anscombe residual 1.5·(y^⅔·μ^(−⅙) − √μ), μ^(−⅙) = exp(−η/6).
                    let a = 1.5 * (yy * (-fit.eta[i] / 6.0).exp() - mu.sqrt());
                    a / (phi * (1.0 - hat[i])).sqrt()
                })
                .collect();
            let thr = self.p.weights_threshold;
            let denom: f64 = s
                .iter()
                .map(|&v| if v > thr { v.powi(-2) } else { 1.0 })
                .sum();
            let gamma = s.len() as f64 / denom;
            let omega: Vec<f64> = s
                .iter()
                .map(|&v| if v > thr { gamma * v.powi(-2) } else { gamma })
                .collect();
            // R does not check the convergence of the reweighted fit.
            match glm::fit(&design, &resp, &omega, &mut wk.glm) {
                Some(f) => fit = f,
                None => {
                    wk.resp = resp;
                    return None;
                }
            }
            phi = fit.dispersion.max(1.0);
            // R then sets `model$weights <- omega`, replacing the working weights, so every
            // later `summary()` and `predict()` (trend test, prediction se) uses the dispersion
            // Σ ω·((y − μ)/μ)² / df.
            let mut pearson = 0.0;
            for i in 0..resp.len() {
                if omega[i] > 0.0 {
                    let r = (resp[i] - fit.mu[i]) / fit.mu[i];
                    pearson += omega[i] * r * r;
                }
            }
            fit.dispersion = pearson / fit.df_residual;
        }
        wk.resp = resp;
        Some((Model { design, fit, phi }, pred_col))
    }

    fn score_point(&self, s: &Series<'_>, k: usize, wk: &mut Work) -> Point {
        let y = s.counts;
        let n = y.len();
        // limit54 first: a point R would leave unscored needs no model.
        let (cases, periods) = self.p.limit54;
        if y[(k + 1).saturating_sub(periods)..=k].iter().sum::<f64>() < cases {
            return Point::default();
        }
        let mut refs = std::mem::take(&mut wk.refs);
        let mut blocks = std::mem::take(&mut wk.blocks);
        let ok = self.reference_points(s, k, &mut refs) && self.blocks(&refs, k, n, &mut blocks);
        let result = if ok {
            self.score_with_blocks(y, k, &blocks, wk)
        } else {
            Point::default()
        };
        wk.refs = refs;
        wk.blocks = blocks;
        result
    }

    fn score_with_blocks(&self, y: &[f64], k: usize, blocks: &[u32], wk: &mut Work) -> Point {
        let Some((mut model, mut pred_col)) = self.fit_model(blocks, k, y, self.p.trend, wk) else {
            return Point::default();
        };
        let now = |col: Option<usize>| Row {
            time: (k + 1) as f64,
            dummy: col,
        };
        if model.design.trend {
            let (eta, _) = glm::predict_link(&model.design, &model.fit, &now(pred_col));
            let se_b = (model.fit.dispersion * model.fit.inv[model.design.p + 1]).sqrt();
            let t = model.fit.beta[1] / se_b;
            let p_trend = 2.0 * pt(-t.abs(), model.fit.df_residual);
            let significant = p_trend < self.p.p_threshold_trend;
            let max_resp = wk.resp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let no_extrapolation = eta.exp() <= max_resp;
            let do_trend = self.p.b >= 3 && significant && no_extrapolation;
            if !do_trend {
                match self.fit_model(blocks, k, y, false, wk) {
                    Some((m, c)) => {
                        model = m;
                        pred_col = c;
                    }
                    None => return Point::default(),
                }
            }
        }
        let (eta, se_eta) = glm::predict_link(&model.design, &model.fit, &now(pred_col));
        let yk = y[k];
        let (upper, prob, fit_value) = match self.p.threshold {
            ThresholdMethod::Delta => {
                let mu0 = eta.exp();
                let se_fit = se_eta * mu0;
                let tau = model.phi + se_fit * se_fit / mu0;
                let (se, exponent) = match self.p.powertrans {
                    PowerTrans::None => ((mu0 * tau).sqrt(), 1.0),
                    PowerTrans::Half => ((0.25 * tau).sqrt(), 0.5),
                    PowerTrans::TwoThirds => {
                        ((4.0 / 9.0 * mu0.powf(1.0 / 3.0) * tau).sqrt(), 2.0 / 3.0)
                    }
                };
                let base = mu0.powf(exponent);
                let hi = (base + self.z * se).powf(1.0 / exponent);
                let lo = (base - self.z * se).powf(1.0 / exponent);
                // R sorts (lower, upper) with NaN first; the upper is the larger finite one.
                let upper = if hi.is_nan() {
                    f64::NAN
                } else if lo.is_nan() {
                    hi
                } else {
                    hi.max(lo)
                };
                let q = pnorm_upper((yk.powf(exponent) - base) / se);
                (upper, q, mu0)
            }
            ThresholdMethod::NbPlugin => {
                let mu0 = eta.exp();
                if !mu0.is_finite() {
                    (f64::NAN, f64::NAN, eta)
                } else {
                    let phi = model.phi;
                    let upper = if phi > 1.0 {
                        qnbinom(1.0 - self.p.alpha, mu0 / (phi - 1.0), 1.0 / phi)
                    } else {
                        qpois(1.0 - self.p.alpha, mu0)
                    };
                    let q = if phi != 1.0 {
                        1.0 - pnbinom(yk - 1.0, mu0 / (phi - 1.0), 1.0 / phi)
                    } else {
                        1.0 - ppois(yk - 1.0, mu0)
                    };
                    (upper, q, eta)
                }
            }
        };
        let (cases, periods) = self.p.limit54;
        let recent: f64 = y[(k + 1).saturating_sub(periods)..=k].iter().sum();
        let enough = recent >= cases;
        if !enough || upper.is_nan() {
            return Point::default();
        }
        let expected = match self.p.threshold {
            ThresholdMethod::Delta => fit_value,
            ThresholdMethod::NbPlugin => fit_value.exp(),
        };
        // R: score = (y - predFit) / (upper - predFit), predFit on the response scale for
        // "delta" and on the link scale for "nbPlugin"; alarm = score > 1 and y != 0.
        let score = (yk - fit_value) / (upper - fit_value);
        let alarm = score > 1.0 && yk != 0.0;
        Point {
            expected: Some(expected),
            upper_bound: Some(upper),
            statistic: super::finite(score),
            p_value: super::finite(prob),
            alarm: Some(alarm),
            level: if alarm { Level::Red } else { Level::Blue },
        }
    }
}

impl Detector for Farrington {
    fn name(&self) -> &'static str {
        match self.p.threshold {
            ThresholdMethod::Delta => "farrington",
            ThresholdMethod::NbPlugin => "noufaily",
        }
    }

    fn detect_into(&self, series: &Series<'_>, out: &mut Vec<Point>) -> Result<()> {
        self.validate(series)?;
        let y = series.counts;
        out.clear();
        out.resize(y.len(), Point::default());
        let mut wk = Work::default();
        for k in self.first_scored(series.freq.periods_per_year())..y.len() {
            out[k] = self.score_point(series, k, &mut wk);
        }
        Ok(())
    }
}

impl Farrington {
    /// Scores only the last point of `series` (a nightly run needs today's value, not the
    /// history's): the same result as the last element of [`Detector::detect`], one GLM fit
    /// instead of one per point.
    ///
    /// # Errors
    /// As [`Detector::detect_into`].
    pub fn score_last(&self, series: &Series<'_>) -> Result<Point> {
        self.validate(series)?;
        let n = series.counts.len();
        if n == 0 || n - 1 < self.first_scored(series.freq.periods_per_year()) {
            return Ok(Point::default());
        }
        Ok(self.score_point(series, n - 1, &mut Work::default()))
    }

    fn validate(&self, series: &Series<'_>) -> Result<()> {
        series.validate(self.name())?;
        if self.p.reference == ReferenceMode::Dates && series.dates.is_none() {
            return Err(Error::series(
                self.name(),
                "reference mode `Dates` needs dates",
            ));
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
        assert!(Farrington::params().b(0).check().is_err());
        let e = Farrington::params().alpha(1.5).check().unwrap_err();
        assert!(
            e.to_string().contains("alpha must be in (0, 1), got 1.5")
                || e.to_string().contains("got 1.5")
        );
        assert!(Farrington::params().no_periods(0).check().is_err());
        assert!(Farrington::params().limit54(5.0, 0).check().is_err());
    }

    #[test]
    fn score_last_equals_last_of_detect() {
        let y: Vec<f64> = (0..120).map(|t| (3 + (t * 7) % 5) as f64).collect();
        let f = Farrington::params().b(1).check().unwrap();
        let s = Series::new(&y, Frequency::Weekly);
        let all = f.detect(&s).unwrap();
        assert!(all[119].scored());
        assert_eq!(f.score_last(&s).unwrap(), all[119]);
        let short = Series::new(&y[..50], Frequency::Weekly);
        assert!(!f.score_last(&short).unwrap().scored());
    }

    #[test]
    fn short_series_is_not_scored() {
        let y = vec![3.0; 200];
        let f = Farrington::params().check().unwrap();
        let out = f.detect(&Series::new(&y, Frequency::Weekly)).unwrap();
        assert!(out.iter().all(|p| !p.scored()));
    }

    #[test]
    fn limit54_blocks_sparse_alarms() {
        let mut y = vec![0.0; 300];
        y[299] = 3.0; // 3 cases in the last 4 weeks: below limit54
        let f = Farrington::params().check().unwrap();
        let out = f.detect(&Series::new(&y, Frequency::Weekly)).unwrap();
        assert!(!out[299].scored());
    }
}
