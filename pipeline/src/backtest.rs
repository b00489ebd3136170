//! The backtest: score every `every` days between two dates, training each time only on
//! what was known then, and measure the red alerts against the ground truth when the demo's
//! `truth/` folder is present, beside a naive baseline (EARS C2 on weekly totals).

use std::collections::HashMap;
use std::path::Path;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use weaksignal_models::fusion::RiskLevel;

use crate::features::{self, Row};
use crate::registry::{read_reference_csv, Compound};
use crate::score::{alerts_for, label, model_and_cutoff, Alert, Previous, Scorer, HORIZON_DAYS};
use crate::{Error, Result};

/// One episode of the ground truth.
#[derive(Debug, Clone, Deserialize)]
pub struct Episode {
    /// Id.
    pub episode_id: String,
    /// slow_burn, no_precursor, burst_water_main, …
    pub kind: String,
    /// Compound.
    pub compound_id: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Whether it escalated.
    pub escalates: bool,
    /// When.
    pub escalation_date: Option<NaiveDate>,
}

/// Accuracy of one alerting method over the backtest window.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Accuracy {
    /// Escalations with a precursor in the window.
    pub escalations: usize,
    /// Of which red-alerted 3–56 days ahead.
    pub caught: usize,
    /// caught / escalations.
    pub recall: f64,
    /// Median days between the first red alert and the escalation, over caught ones.
    pub median_lead_days: f64,
    /// Red (as_of, compound) rows evaluated (those with 56 days of future in the window).
    pub red_rows: usize,
    /// Share of them followed by an escalation within 56 days.
    pub precision: f64,
    /// New red alerts (red after not red) evaluated, and the share followed by an escalation.
    pub new_red: usize,
    /// See `new_red`.
    pub precision_new: f64,
    /// Non-escalating episodes in the window.
    pub quiet_episodes: usize,
    /// Share of them that went red during the episode or the 28 days after (a red alert at
    /// the compound that was followed by an escalation there within 56 days is a true alarm
    /// about another problem, not this episode going red).
    pub quiet_red_share: f64,
}

/// The backtest's result.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    /// Scoring dates.
    pub dates: Vec<NaiveDate>,
    /// One alert row per date and compound.
    pub history: Vec<Alert>,
    /// Naive baseline's red flags per (date, compound).
    pub baseline_red: Vec<(NaiveDate, String)>,
    /// Dates on which the model refused to train (and why).
    pub model_refused: Vec<(NaiveDate, String)>,
    /// Red cut-off in force per date.
    pub cutoffs: Vec<(NaiveDate, f64, bool)>,
}

/// Runs the backtest.
///
/// # Errors
/// DataFusion errors; `every` not a multiple of 7 days; `from` after `to`.
pub async fn run(s: &Scorer, from: NaiveDate, to: NaiveDate, every: i64) -> Result<Backtest> {
    if every <= 0 || every % 7 != 0 || from > to {
        return Err(Error::Internal(format!(
            "backtest needs from <= to and a step that is a multiple of 7 days (got {from} to {to} every {every}d)"
        )));
    }
    let first = s.first_day().await?;
    let span_weeks = ((to - from).num_days() / 7) as usize + 1;
    // The nightly run's grid: weeks ending on Sunday.
    let to = crate::score::week_anchor(to);
    let all_dates = s.weekly_dates(first, to, span_weeks);
    let rows = s.features(&all_dates).await?;
    let esc = features::escalations(&s.ctx).await?;
    let by_id: HashMap<&str, &Compound> = s
        .compounds
        .iter()
        .map(|c| (c.compound_id.as_str(), c))
        .collect();
    let mut by_date: HashMap<NaiveDate, Vec<&Row>> = HashMap::new();
    for r in &rows {
        by_date.entry(r.as_of).or_default().push(r);
    }
    let mut out = Backtest {
        dates: vec![],
        history: vec![],
        baseline_red: vec![],
        model_refused: vec![],
        cutoffs: vec![],
    };
    let mut previous = Previous::new();
    let mut d = to;
    let mut dates = vec![];
    while d >= from {
        dates.push(d);
        d -= Duration::days(every);
    }
    dates.reverse();
    for &as_of in &dates {
        let Some(now) = by_date.get(&as_of) else {
            continue;
        };
        let oldest = as_of - Duration::days(7 * s.history_weeks as i64);
        let horizon_end = as_of - Duration::days(HORIZON_DAYS);
        let history: Vec<&Row> = rows
            .iter()
            .filter(|r| r.as_of <= horizon_end && r.as_of >= oldest)
            .collect();
        let labels: Vec<bool> = history.iter().map(|r| label(r, &esc)).collect();
        let (probs, info) = model_and_cutoff(&history, &labels, now, &s.rules, &s.train);
        if let Some(e) = &info.model_error {
            out.model_refused.push((as_of, e.clone()));
        }
        out.cutoffs
            .push((as_of, info.red_cutoff, info.red_cutoff_fitted));
        let alerts = alerts_for(now, probs.as_deref(), &info, &s.rules, &by_id, &previous);
        previous = alerts
            .iter()
            .map(|a| (a.compound_id.clone(), (a.level, a.score, a.first_raised)))
            .collect();
        for r in now {
            if r.get("c2_alarm_total") >= 1.0 {
                out.baseline_red.push((as_of, r.compound_id.clone()));
            }
        }
        out.history.extend(alerts);
        out.dates.push(as_of);
    }
    Ok(out)
}

/// Reads `truth/episodes.csv` under `dir`, if present.
///
/// # Errors
/// A malformed truth file.
pub fn read_truth(dir: &Path) -> Result<Option<Vec<Episode>>> {
    let p = dir.join("truth").join("episodes.csv");
    if !p.exists() {
        return Ok(None);
    }
    Ok(Some(read_reference_csv(&p)?))
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Accuracy of a set of red flags against the truth over `[from, to]`.
pub fn evaluate(
    red: &[(NaiveDate, String)],
    episodes: &[Episode],
    from: NaiveDate,
    to: NaiveDate,
) -> Accuracy {
    let mut by_compound: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for (d, c) in red {
        by_compound.entry(c.as_str()).or_default().push(*d);
    }
    for v in by_compound.values_mut() {
        v.sort();
    }
    let mut esc_by: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for e in episodes {
        if let Some(d) = e.escalation_date {
            esc_by.entry(e.compound_id.as_str()).or_default().push(d);
        }
    }
    let mut a = Accuracy::default();
    let mut leads = vec![];
    for e in episodes
        .iter()
        .filter(|e| e.escalates && e.kind != "no_precursor")
    {
        let Some(ed) = e.escalation_date else {
            continue;
        };
        if ed < from + Duration::days(3) || ed > to {
            continue;
        }
        a.escalations += 1;
        let lo = ed - Duration::days(56);
        let hi = ed - Duration::days(3);
        if let Some(first) = by_compound
            .get(e.compound_id.as_str())
            .and_then(|v| v.iter().find(|&&d| d >= lo && d <= hi))
        {
            a.caught += 1;
            leads.push((ed - *first).num_days() as f64);
        }
    }
    a.recall = if a.escalations > 0 {
        a.caught as f64 / a.escalations as f64
    } else {
        f64::NAN
    };
    a.median_lead_days = median(leads);
    let followed = |c: &str, d: NaiveDate| {
        esc_by
            .get(c)
            .is_some_and(|v| v.iter().any(|&e| e > d && e <= d + Duration::days(56)))
    };
    let last_eval = to - Duration::days(56);
    let (mut tp, mut tp_new) = (0, 0);
    for (c, v) in &by_compound {
        for (i, &d) in v.iter().enumerate() {
            if d > last_eval {
                continue;
            }
            a.red_rows += 1;
            let hit = followed(c, d);
            tp += usize::from(hit);
            // New: not red on the previous scoring date (7 days or more before).
            let is_new = i == 0 || (d - v[i - 1]).num_days() > 7;
            if is_new {
                a.new_red += 1;
                tp_new += usize::from(hit);
            }
        }
    }
    a.precision = tp as f64 / a.red_rows.max(1) as f64;
    a.precision_new = tp_new as f64 / a.new_red.max(1) as f64;
    let mut quiet_red = 0;
    for e in episodes.iter().filter(|e| !e.escalates) {
        if e.end < from || e.start > to {
            continue;
        }
        a.quiet_episodes += 1;
        let hi = e.end + Duration::days(28);
        if by_compound.get(e.compound_id.as_str()).is_some_and(|v| {
            v.iter()
                .any(|&d| d >= e.start && d <= hi && !followed(&e.compound_id, d))
        }) {
            quiet_red += 1;
        }
    }
    a.quiet_red_share = quiet_red as f64 / a.quiet_episodes.max(1) as f64;
    a
}

/// The model's red flags from the alert history.
pub fn model_red(history: &[Alert]) -> Vec<(NaiveDate, String)> {
    history
        .iter()
        .filter(|a| a.level == RiskLevel::Red)
        .map(|a| (a.as_of, a.compound_id.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn evaluation_counts_lead_precision_and_quiet_episodes() {
        let episodes = vec![
            Episode {
                episode_id: "E1".into(),
                kind: "slow_burn".into(),
                compound_id: "A".into(),
                start: d("2025-03-01"),
                end: d("2025-05-20"),
                escalates: true,
                escalation_date: Some(d("2025-05-25")),
            },
            Episode {
                episode_id: "E2".into(),
                kind: "burst_water_main".into(),
                compound_id: "B".into(),
                start: d("2025-04-10"),
                end: d("2025-04-11"),
                escalates: false,
                escalation_date: None,
            },
        ];
        let red = vec![
            (d("2025-04-06"), "A".to_string()), // 49 days ahead
            (d("2025-04-13"), "A".to_string()),
            (d("2025-04-13"), "B".to_string()), // false alarm during the quiet episode
        ];
        let a = evaluate(&red, &episodes, d("2025-04-01"), d("2025-12-31"));
        assert_eq!((a.escalations, a.caught), (1, 1));
        assert_eq!(a.median_lead_days, 49.0);
        assert_eq!(a.red_rows, 3);
        assert!((a.precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(a.new_red, 2);
        assert!((a.precision_new - 0.5).abs() < 1e-12);
        assert_eq!(a.quiet_episodes, 1);
        assert_eq!(a.quiet_red_share, 1.0);
        // A quiet episode at A (during the slow burn): the red alerts there were followed by
        // A's escalation, so they are not this episode going red.
        let mut with_quiet_a = episodes.clone();
        with_quiet_a.push(Episode {
            episode_id: "E3".into(),
            kind: "burst_water_main".into(),
            compound_id: "A".into(),
            start: d("2025-04-12"),
            end: d("2025-04-13"),
            escalates: false,
            escalation_date: None,
        });
        let a = evaluate(&red, &with_quiet_a, d("2025-04-01"), d("2025-12-31"));
        assert_eq!(a.quiet_episodes, 2);
        assert_eq!(a.quiet_red_share, 0.5);
        // Alerted only 2 days ahead: too late to count.
        let late = vec![(d("2025-05-23"), "A".to_string())];
        assert_eq!(
            evaluate(&late, &episodes, d("2025-04-01"), d("2025-12-31")).caught,
            0
        );
    }
}
