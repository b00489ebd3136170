//! Fusion of the escalation probability and the fired rules into one 0–100 score, a
//! 红/黄/绿 level, a trend against the previous run, and the red cut-off fitted on history.
//!
//! `score = 100 · (1 − (1 − p) · Π (1 − w_r))`: the model's probability `p` of an
//! escalation in the next 8 weeks, raised by each fired rule `r` by its severity's weight.
//! Without rules the score is the probability in percent, so the cut-offs read as risks.

use serde::{Deserialize, Serialize};

use crate::rules::{Fired, Severity};

/// Fusion settings (the `[fusion]` table of the rule file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FusionParams {
    /// Weight of a low-severity rule.
    pub weight_low: f64,
    /// Weight of a medium-severity rule.
    pub weight_medium: f64,
    /// Weight of a high-severity rule.
    pub weight_high: f64,
    /// Score at or above which a compound is red, unless fitted on history.
    pub red: f64,
    /// Score at or above which a compound is yellow.
    pub yellow: f64,
    /// When set, the red cut-off is fitted on history as the lowest score whose red alerts
    /// were followed by an escalation at least this often (precision).
    pub red_precision: Option<f64>,
    /// How sure the fitted cut-off must be of that precision, in standard errors: its red
    /// alerts' precision is read as the lower end of its Wilson interval at this many
    /// standard errors (0: as observed). Fitted on the observed precision, the lowest
    /// cut-off that reaches the target is the one luck favoured most, and held out it
    /// alerted below the target (0.7 gave 66–68 % on the medium demo cities); at 1, 70–73 %.
    pub red_precision_z: f64,
    /// Change in score that counts as rising or falling.
    pub trend_step: f64,
}

impl Default for FusionParams {
    fn default() -> Self {
        FusionParams {
            weight_low: 0.03,
            weight_medium: 0.08,
            weight_high: 0.15,
            red: 50.0,
            yellow: 20.0,
            red_precision: Some(0.5),
            red_precision_z: 1.0,
            trend_step: 5.0,
        }
    }
}

/// 红/黄/绿.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// 绿
    Green,
    /// 黄
    Yellow,
    /// 红
    Red,
}

impl RiskLevel {
    /// The Chinese word.
    pub fn zh(self) -> &'static str {
        match self {
            RiskLevel::Green => "绿",
            RiskLevel::Yellow => "黄",
            RiskLevel::Red => "红",
        }
    }
    /// The English word used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Green => "green",
            RiskLevel::Yellow => "yellow",
            RiskLevel::Red => "red",
        }
    }
}

/// Direction against the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trend {
    /// Not alerted (red or yellow) in the previous run.
    New,
    /// Score up by at least the step.
    Rising,
    /// Score down by at least the step.
    Falling,
    /// Within the step.
    Steady,
}

impl Trend {
    /// The Chinese word.
    pub fn zh(self) -> &'static str {
        match self {
            Trend::New => "新增",
            Trend::Rising => "上升",
            Trend::Falling => "下降",
            Trend::Steady => "持平",
        }
    }
    /// The English word used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::New => "new",
            Trend::Rising => "rising",
            Trend::Falling => "falling",
            Trend::Steady => "steady",
        }
    }
}

impl FusionParams {
    fn weight(&self, s: Severity) -> f64 {
        match s {
            Severity::Low => self.weight_low,
            Severity::Medium => self.weight_medium,
            Severity::High => self.weight_high,
        }
    }

    /// The fused 0–100 score.
    pub fn score(&self, probability: f64, fired: &[Fired]) -> f64 {
        let p = if probability.is_finite() {
            probability.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let keep = fired.iter().fold(1.0 - p, |acc, f| {
            acc * (1.0 - self.weight(f.severity).clamp(0.0, 1.0))
        });
        100.0 * (1.0 - keep)
    }

    /// Each part's share of [`FusionParams::score`], in `fired` order after the model's: the
    /// score multiplies the parts' complements, so a part `x` (the model's probability, a
    /// rule's weight) adds `−ln(1 − x)` to `−ln(1 − score/100)`, and its share is that over the
    /// sum. All zero when nothing adds to the score.
    pub fn shares(&self, probability: f64, fired: &[Fired]) -> (f64, Vec<f64>) {
        // Capped below 1: a certain part would take the whole score, and the others none.
        let strength = |x: f64| match x.is_finite() {
            true => -(1.0 - x.clamp(0.0, 1.0 - 1e-9)).ln(),
            false => 0.0,
        };
        let model = strength(probability);
        let rules: Vec<f64> = (fired.iter())
            .map(|f| strength(self.weight(f.severity)))
            .collect();
        let total = model + rules.iter().sum::<f64>();
        if total <= 0.0 {
            return (0.0, vec![0.0; rules.len()]);
        }
        (
            model / total,
            rules.into_iter().map(|r| r / total).collect(),
        )
    }

    /// The level of a score, with `red` the cut-off in force (configured or fitted).
    pub fn level(&self, score: f64, red: f64) -> RiskLevel {
        if score >= red {
            RiskLevel::Red
        } else if score >= self.yellow.min(red) {
            RiskLevel::Yellow
        } else {
            RiskLevel::Green
        }
    }

    /// Trend against the previous run's level and score (`None`: not scored then).
    pub fn trend(&self, score: f64, previous: Option<(RiskLevel, f64)>) -> Trend {
        match previous {
            None | Some((RiskLevel::Green, _)) => Trend::New,
            Some((_, prev)) if score >= prev + self.trend_step => Trend::Rising,
            Some((_, prev)) if score <= prev - self.trend_step => Trend::Falling,
            Some(_) => Trend::Steady,
        }
    }
}

/// The lowest cut-off whose alerts (`score ≥ cut`) had at least `precision` positives —
/// the lower end of the Wilson interval of their share at `z` standard errors at least
/// `precision` (`z = 0`: the share itself) — among cut-offs that alert at least
/// `min_alerts` rows; `None` if none does.
pub fn fit_cutoff(
    scores: &[f64],
    outcome: &[bool],
    precision: f64,
    z: f64,
    min_alerts: usize,
) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i].is_finite())
        .collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut n) = (0usize, 0usize);
    let mut best = None;
    let mut i = 0;
    while i < idx.len() {
        let s = scores[idx[i]];
        while i < idx.len() && scores[idx[i]] == s {
            tp += usize::from(outcome[idx[i]]);
            n += 1;
            i += 1;
        }
        if n >= min_alerts && wilson_lower(tp, n, z) >= precision {
            best = Some(s);
        }
    }
    best
}

/// The lower end of the Wilson score interval of `k` successes in `n` trials at `z`
/// standard errors (the share itself at `z = 0`; 0 for no trials).
pub fn wilson_lower(k: usize, n: usize, z: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (n, p) = (n as f64, k as f64 / n as f64);
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    (centre - spread) / (1.0 + z2 / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(s: Severity) -> Fired {
        Fired {
            id: "r".into(),
            name: "n".into(),
            severity: s,
            reason: String::new(),
        }
    }

    #[test]
    fn shares_split_the_score_by_what_each_part_adds() {
        let f = FusionParams::default();
        let fired = [fired(Severity::High), fired(Severity::Low)];
        let (model, rules) = f.shares(0.3, &fired);
        // 0.7·0.85·0.97: −ln 0.7, −ln 0.85, −ln 0.97 over their sum.
        let parts = [-(0.7f64.ln()), -(0.85f64.ln()), -(0.97f64.ln())];
        let total: f64 = parts.iter().sum();
        assert!((model - parts[0] / total).abs() < 1e-12);
        assert!((rules[0] - parts[1] / total).abs() < 1e-12);
        assert!((rules[1] - parts[2] / total).abs() < 1e-12);
        // The parts add up to the score: −ln(1 − score/100) = total.
        assert!((-(1.0 - f.score(0.3, &fired) / 100.0).ln() - total).abs() < 1e-12);
        assert_eq!(f.shares(0.0, &[]), (0.0, vec![]));
        assert_eq!(f.shares(f64::NAN, &fired[..1]).0, 0.0);
        let (model, rules) = f.shares(1.0, &fired[..1]);
        assert!(model > 0.99 && rules[0] < 0.01);
    }

    #[test]
    fn score_is_the_probability_raised_by_rules() {
        let f = FusionParams::default();
        assert!((f.score(0.3, &[]) - 30.0).abs() < 1e-12);
        // 1 − 0.7·0.85 = 0.405
        assert!((f.score(0.3, &[fired(Severity::High)]) - 40.5).abs() < 1e-9);
        assert!(f.score(1.0, &[fired(Severity::Low)]) <= 100.0);
        assert_eq!(f.score(f64::NAN, &[]), 0.0);
        assert_eq!(f.level(55.0, 50.0), RiskLevel::Red);
        assert_eq!(f.level(25.0, 50.0), RiskLevel::Yellow);
        assert_eq!(f.level(5.0, 50.0), RiskLevel::Green);
        // A fitted red cut-off below the yellow one leaves no yellow band.
        assert_eq!(f.level(15.0, 10.0), RiskLevel::Red);
        assert_eq!(f.trend(40.0, None), Trend::New);
        assert_eq!(
            f.trend(40.0, Some((RiskLevel::Yellow, 30.0))),
            Trend::Rising
        );
        assert_eq!(f.trend(40.0, Some((RiskLevel::Red, 50.0))), Trend::Falling);
        assert_eq!(f.trend(40.0, Some((RiskLevel::Red, 42.0))), Trend::Steady);
    }

    #[test]
    fn cutoff_meets_the_precision_with_most_alerts() {
        let s = [90.0, 80.0, 70.0, 60.0, 50.0, 40.0];
        let y = [true, true, false, true, false, false];
        // ≥60: 3 of 4 = 75%; ≥50: 3/5 = 60%; ≥40: 50%.
        assert_eq!(fit_cutoff(&s, &y, 0.6, 0.0, 1), Some(50.0));
        assert_eq!(fit_cutoff(&s, &y, 0.75, 0.0, 1), Some(60.0));
        assert_eq!(fit_cutoff(&s, &y, 0.75, 0.0, 5), None);
        assert_eq!(fit_cutoff(&s, &[false; 6], 0.5, 0.0, 1), None);
    }

    #[test]
    fn wilson_lower_bound_reference_values() {
        // Wilson score interval, lower end, against statsmodels 0.15.0's
        // proportion_confint(k, n, alpha, method="wilson")[0]: 8 of 10 at alpha 0.05
        // (z = 1.959964…) and at alpha 0.3173 (z = 1), 15 of 18 and 9 of 12 at z = 1.
        let z95 = 1.959_963_984_540_054;
        assert!((wilson_lower(8, 10, z95) - 0.490_162_471_536_641_83).abs() < 1e-12);
        assert!((wilson_lower(8, 10, 1.0) - 0.649_077_540_829_677_8).abs() < 1e-12);
        assert!((wilson_lower(15, 18, 1.0) - 0.728_509_873_938_015_8).abs() < 1e-12);
        assert!((wilson_lower(9, 12, 1.0) - 0.609_143_166_916_600_9).abs() < 1e-12);
        assert_eq!(wilson_lower(3, 4, 0.0), 0.75);
        assert_eq!(wilson_lower(0, 0, 1.0), 0.0);
        assert_eq!(wilson_lower(0, 5, 1.0), 0.0);
    }

    #[test]
    fn a_cutoff_fitted_on_few_alerts_needs_more_than_their_share() {
        // Eighteen alerts, 15 of them escalated (0.83; 0.73 at one standard error): the
        // lowest cut-off either way.
        let mut s = vec![];
        let mut y = vec![];
        for i in 0..18 {
            s.push(100.0 - i as f64);
            y.push(i < 2 || (i - 2) % 4 != 3 || i >= 14);
        }
        assert_eq!(fit_cutoff(&s, &y, 0.7, 0.0, 1), Some(83.0));
        assert_eq!(fit_cutoff(&s, &y, 0.7, 1.0, 1), Some(83.0));
        // Two escalated alerts above four that did not: 2 of 2 reaches 0.7 as observed,
        // not at one standard error (0.667), and 2 of 6 neither way.
        let few = [&s[..2], &[50.0; 4][..]].concat();
        let few_y = [true, true, false, false, false, false];
        assert_eq!(fit_cutoff(&few, &few_y, 0.7, 0.0, 1), Some(99.0));
        assert_eq!(fit_cutoff(&few, &few_y, 0.7, 1.0, 1), None);
    }
}
