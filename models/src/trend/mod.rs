//! Aberration detectors ("trend rules") over count series.
//!
//! Every detector implements [`Detector`]: a [`Series`] in, one [`Point`] per input point out,
//! with the expected value, upper bound, statistic, p-value and alarm where the detector scores
//! the point and `None` where it does not (too little baseline, `limit54`, a zero baseline
//! standard deviation for C3). Bad series (negative or non-finite counts, too short) are an
//! [`Error::BadSeries`](crate::Error::BadSeries), never a panic or a silent NaN.

pub mod batch;
pub mod cusum;
pub mod ears;
pub mod essence;
pub mod farrington;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Sampling frequency of a series, in periods per year (as R `surveillance`'s `freq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frequency {
    /// Monthly counts (12 a year).
    Monthly,
    /// Weekly counts (52 a year).
    Weekly,
    /// Daily counts (365 a year).
    Daily,
}

impl Frequency {
    /// Periods per year: 12, 52 or 365.
    pub fn periods_per_year(self) -> usize {
        match self {
            Frequency::Monthly => 12,
            Frequency::Weekly => 52,
            Frequency::Daily => 365,
        }
    }

    /// The frequency for 12, 52 or 365 periods a year.
    ///
    /// # Errors
    /// Any other number.
    pub fn from_periods(n: u32) -> Result<Self> {
        match n {
            12 => Ok(Frequency::Monthly),
            52 => Ok(Frequency::Weekly),
            365 => Ok(Frequency::Daily),
            other => Err(Error::param(
                "freq",
                format!("must be 12, 52 or 365, got {other}"),
            )),
        }
    }
}

/// A count series to score.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Counts, one per period, oldest first. Must be finite and non-negative.
    pub counts: &'a [f64],
    /// The date each period starts on, if known (same length as `counts`).
    pub dates: Option<&'a [NaiveDate]>,
    /// Population under observation per period, if known.
    pub population: Option<&'a [f64]>,
    /// Sampling frequency.
    pub freq: Frequency,
}

impl<'a> Series<'a> {
    /// A series of counts with no dates or population.
    pub fn new(counts: &'a [f64], freq: Frequency) -> Self {
        Series {
            counts,
            dates: None,
            population: None,
            freq,
        }
    }

    /// Attach the period start dates.
    pub fn with_dates(mut self, dates: &'a [NaiveDate]) -> Self {
        self.dates = Some(dates);
        self
    }

    /// Checks the counts (finite, non-negative) and the lengths of the optional columns.
    ///
    /// # Errors
    /// The first offending index and value.
    pub fn validate(&self, detector: &'static str) -> Result<()> {
        if let Some((i, c)) = self
            .counts
            .iter()
            .enumerate()
            .find(|(_, c)| !c.is_finite() || **c < 0.0)
        {
            return Err(Error::series(
                detector,
                format!("count at index {i} is {c}; counts must be finite and non-negative"),
            ));
        }
        if let Some(d) = self.dates {
            if d.len() != self.counts.len() {
                return Err(Error::series(
                    detector,
                    format!("{} dates for {} counts", d.len(), self.counts.len()),
                ));
            }
        }
        if let Some(p) = self.population {
            if p.len() != self.counts.len() {
                return Err(Error::series(
                    detector,
                    format!(
                        "{} population values for {} counts",
                        p.len(),
                        self.counts.len()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Alert level in the ESSENCE convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Level {
    /// Not scored (no baseline yet).
    #[default]
    Grey,
    /// Scored, no signal.
    Blue,
    /// Warning (ESSENCE: p < 0.05).
    Yellow,
    /// Alert (ESSENCE: p < 0.01; others: the alarm).
    Red,
}

/// The result of a detector at one point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    /// Expected count under "no aberration".
    pub expected: Option<f64>,
    /// Upper bound: an observation above it raises an alarm.
    pub upper_bound: Option<f64>,
    /// The method's test statistic (z-score, Farrington exceedance score, CUSUM sum).
    pub statistic: Option<f64>,
    /// One-sided p-value of the observation, where the method gives one.
    pub p_value: Option<f64>,
    /// `Some(true)` for an alarm, `Some(false)` for scored without alarm, `None` not scored.
    pub alarm: Option<bool>,
    /// Graded level (red/yellow for ESSENCE; red for an alarm otherwise).
    pub level: Level,
}

impl Point {
    /// Whether the detector scored this point.
    pub fn scored(&self) -> bool {
        self.alarm.is_some()
    }
}

/// A detector of aberrations in a count series.
pub trait Detector: Send + Sync {
    /// Short name, as used on the command line (`c1`, `farrington`, …).
    fn name(&self) -> &'static str;

    /// Scores `series`, writing one point per input point into `out` (cleared first), so a
    /// caller scoring many series reuses one buffer.
    ///
    /// # Errors
    /// [`Error::BadSeries`] for negative or non-finite counts or a series the method cannot
    /// use at all.
    fn detect_into(&self, series: &Series<'_>, out: &mut Vec<Point>) -> Result<()>;

    /// Scores `series` into a new vector.
    ///
    /// # Errors
    /// As [`Detector::detect_into`].
    fn detect(&self, series: &Series<'_>) -> Result<Vec<Point>> {
        let mut out = Vec::with_capacity(series.counts.len());
        self.detect_into(series, &mut out)?;
        Ok(out)
    }
}

/// Builds a detector by its command-line name with default parameters.
///
/// # Errors
/// An unknown name.
pub fn by_name(name: &str) -> Result<Box<dyn Detector>> {
    Ok(match name {
        "c1" => Box::new(ears::Ears::params(ears::EarsMethod::C1).check()?),
        "c2" => Box::new(ears::Ears::params(ears::EarsMethod::C2).check()?),
        "c3" => Box::new(ears::Ears::params(ears::EarsMethod::C3).check()?),
        "farrington" => Box::new(farrington::Farrington::params().check()?),
        "noufaily" => Box::new(farrington::Farrington::noufaily().check()?),
        "ewma" => Box::new(essence::Ewma::params().check()?),
        "regression" => Box::new(essence::Regression::params().check()?),
        "switch" => Box::new(essence::Switch::params().check()?),
        "cusum" => Box::new(cusum::PoissonCusum::params().check()?),
        other => {
            return Err(Error::param(
                "method",
                format!(
                    "unknown detector `{other}`; expected one of c1, c2, c3, farrington, \
                     noufaily, ewma, regression, switch, cusum"
                ),
            ))
        }
    })
}

/// R's `pmax(0, x)`: the larger of 0 and `x`, but NaN stays NaN.
pub(crate) fn r_pmax0(x: f64) -> f64 {
    if x.is_nan() {
        x
    } else {
        x.max(0.0)
    }
}

/// Turns a computed value into an option, NaN meaning "no value".
pub(crate) fn finite(x: f64) -> Option<f64> {
    if x.is_nan() {
        None
    } else {
        Some(x)
    }
}
