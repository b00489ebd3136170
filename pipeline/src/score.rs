//! Scoring: features → escalation model (trained on the lake's own history) → rules →
//! fused score, level, trend and reasons; the alert table; the backtest; the grid grading.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{Datelike, NaiveDate};
use datafusion::prelude::SessionContext;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use weaksignal_models::classify::escalation::{EscalationModel, TrainParams};
use weaksignal_models::fusion::{fit_cutoff, FusionParams, RiskLevel, Trend};
use weaksignal_models::rules::{Fired, RuleSet};

use crate::config::Config;
use crate::error::IoContext;
use crate::features::{self, FeatureSettings, Row, FEATURES, TEXTS};
use crate::registry::{read_reference_csv, read_text, Compound};
use crate::{Error, Result};

/// Days ahead an escalation is predicted.
pub const HORIZON_DAYS: i64 = 56;

/// One scored compound on one date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Scoring date.
    pub as_of: NaiveDate,
    /// Compound.
    pub compound_id: String,
    /// Official name.
    pub name: String,
    /// 街道.
    pub street: String,
    /// 社区.
    pub community: String,
    /// 网格.
    pub grid: String,
    /// 0–100.
    pub score: f64,
    /// red, yellow, green.
    pub level: RiskLevel,
    /// The escalation model's probability (None when the model refused to train).
    pub probability: Option<f64>,
    /// Ids of the rules that fired.
    pub rules: Vec<String>,
    /// Plain-Chinese reasons, most serious first.
    pub reasons: Vec<String>,
    /// Most reported category in the last 28 days.
    pub top_category: Option<String>,
    /// First date of the current run of red/yellow levels.
    pub first_raised: Option<NaiveDate>,
    /// Against the previous scoring.
    pub trend: Trend,
    /// Records behind the alert (red and yellow only).
    pub record_ids: Vec<String>,
    /// Key figures for the report.
    pub figures: std::collections::BTreeMap<String, f64>,
}

/// What a scoring date produced besides the alerts.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreInfo {
    /// The model, if it trained.
    pub model: Option<EscalationModel>,
    /// Why it did not.
    pub model_error: Option<String>,
    /// Why it did not, for the report's plain words.
    pub model_refusal: Option<Refusal>,
    /// The red cut-off in force.
    pub red_cutoff: f64,
    /// Whether it was fitted on history (else configured).
    pub red_cutoff_fitted: bool,
    /// The share of red alerts followed by an escalation that a fitted cut-off aims at
    /// (`red_precision`), read at `red_precision_z` standard errors.
    pub red_precision: Option<f64>,
}

/// Why a date was scored without the escalation model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Too few rows or escalations in the labelled history (a young district).
    TooLittleData,
    /// Trained, but no better than the base rate on held-out weeks.
    DidNotValidate,
    /// The fit failed.
    FitFailed,
}

impl Refusal {
    /// The report's words for it.
    pub fn zh(self) -> &'static str {
        match self {
            Refusal::TooLittleData => "历史数据中的升级事件尚不足以训练",
            Refusal::DidNotValidate => "在留出的历史周上未优于基准，未采用",
            Refusal::FitFailed => "训练失败",
        }
    }
}

/// Everything scoring needs that is read once.
pub struct Scorer {
    /// DataFusion session over the lake.
    pub ctx: SessionContext,
    /// The lake folder (for the feature cache).
    pub lake: std::path::PathBuf,
    /// The registry.
    pub compounds: Vec<Compound>,
    /// Rules and fusion settings.
    pub rules: RuleSet,
    /// Feature settings.
    pub features: FeatureSettings,
    /// Weeks of training history.
    pub history_weeks: usize,
    /// Model training settings.
    pub train: TrainParams,
}

impl Scorer {
    /// Opens the lake and reads the registry, rules and lexicon named by the config.
    ///
    /// # Errors
    /// Missing or invalid files; an empty lake.
    pub async fn open(cfg: &Config) -> Result<Scorer> {
        let lake = cfg.resolve(&cfg.lake);
        let ctx = features::session(&lake).await?;
        let compounds: Vec<Compound> = read_reference_csv(&cfg.resolve(&cfg.reference.compounds))?;
        let rules_path = cfg.resolve(&cfg.scoring.rules);
        let rules = RuleSet::parse(&read_text(&rules_path)?, FEATURES, TEXTS).map_err(|e| {
            Error::Config {
                path: rules_path.clone(),
                reason: e.to_string(),
            }
        })?;
        let lex_path = cfg.resolve(&cfg.scoring.lexicon);
        let phrases = read_text(&lex_path)?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        Ok(Scorer {
            ctx,
            lake,
            compounds,
            rules,
            features: FeatureSettings {
                phrases,
                detector_weeks: cfg.scoring.detector_weeks,
            },
            history_weeks: cfg.scoring.history_weeks,
            train: TrainParams {
                forest_depths: cfg.scoring.escalation_forest_depths.clone(),
                ..TrainParams::default()
            },
        })
    }

    /// The first day with records in the lake.
    ///
    /// # Errors
    /// DataFusion errors; an empty lake.
    pub async fn first_day(&self) -> Result<NaiveDate> {
        self.record_day("MIN").await
    }

    /// The last day with records in the lake.
    ///
    /// # Errors
    /// DataFusion errors; an empty lake.
    pub async fn last_day(&self) -> Result<NaiveDate> {
        self.record_day("MAX").await
    }

    /// The day of the lake's `MIN` or `MAX` receipt time.
    async fn record_day(&self, aggregate: &str) -> Result<NaiveDate> {
        let b = self
            .ctx
            .sql(&format!(
                "SELECT {aggregate}(CAST(received_at AS BIGINT)) AS t FROM records"
            ))
            .await?
            .collect()
            .await?;
        let t = b
            .first()
            .and_then(|b| {
                b.column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
            })
            .filter(|a| !a.is_empty() && !arrow::array::Array::is_null(*a, 0))
            .map(|a| a.value(0))
            .ok_or_else(|| Error::Internal("the lake has no records".into()))?;
        Ok(chrono::DateTime::from_timestamp_millis(t)
            .map(|d| d.with_timezone(&chrono_tz::Asia::Shanghai).date_naive())
            .unwrap_or_default())
    }

    /// The features of `dates`, from the cache where their inputs did not change.
    ///
    /// # Errors
    /// DataFusion and lake errors.
    pub async fn features(&self, dates: &[NaiveDate]) -> Result<Vec<Row>> {
        let (rows, stats) = crate::feature_cache::compute_cached(
            &self.ctx,
            &self.lake,
            &self.compounds,
            dates,
            &self.features,
        )
        .await?;
        tracing::info!(
            cached = stats.hits,
            computed = stats.computed,
            "features of {} dates",
            stats.hits + stats.computed
        );
        Ok(rows)
    }

    /// Feature dates: every 7 days back from `last`, from 8 weeks after the first record (so
    /// windows are full) and at most `history_weeks` (plus `extra`) weeks back.
    pub fn weekly_dates(&self, first: NaiveDate, last: NaiveDate, extra: usize) -> Vec<NaiveDate> {
        let start = first + chrono::Duration::days(HORIZON_DAYS);
        let mut out = vec![];
        let mut d = last;
        while d >= start && out.len() <= self.history_weeks + extra {
            out.push(d);
            d -= chrono::Duration::days(7);
        }
        out.reverse();
        out
    }
}

/// The Sunday on or before `d`: training dates are the ends of calendar weeks.
pub fn week_anchor(d: NaiveDate) -> NaiveDate {
    d - chrono::Duration::days(i64::from(d.weekday().num_days_from_sunday()))
}

/// Label of a feature row: an escalation in (as_of, as_of + 56 days].
pub fn label(row: &Row, esc: &HashMap<String, Vec<NaiveDate>>) -> bool {
    let end = row.as_of + chrono::Duration::days(HORIZON_DAYS);
    esc.get(&row.compound_id)
        .is_some_and(|v| v.iter().any(|&d| d > row.as_of && d <= end))
}

fn matrix(rows: &[&Row]) -> Array2<f64> {
    let mut data = Vec::with_capacity(rows.len() * FEATURES.len());
    for r in rows {
        data.extend_from_slice(&r.values);
    }
    Array2::from_shape_vec((rows.len(), FEATURES.len()), data).unwrap_or_default()
}

fn categories<'a>(rows: &[&'a Row]) -> Vec<Option<&'a str>> {
    rows.iter().map(|r| r.top_category.as_deref()).collect()
}

fn names() -> Vec<String> {
    FEATURES.iter().map(|s| s.to_string()).collect()
}

fn fired_for(rules: &RuleSet, row: &Row, name: &str) -> Vec<weaksignal_models::rules::Fired> {
    rules.evaluate(
        |f| row.get(f),
        |t| match t {
            "top_category" => Some(row.top_category.clone().unwrap_or_else(|| "各".into())),
            "trend_category" => Some(row.trend_category.clone().unwrap_or_else(|| "各".into())),
            "compound_name" => Some(name.to_string()),
            _ => None,
        },
    )
}

/// Trains on the labelled history and scores `now`: the model's probabilities (None when it
/// refuses), and the red cut-off (fitted on a time split of the history when configured).
pub fn model_and_cutoff(
    history: &[&Row],
    labels: &[bool],
    now: &[&Row],
    rules: &RuleSet,
    train: &TrainParams,
) -> (Option<Vec<f64>>, ScoreInfo) {
    let fusion = &rules.fusion;
    let dates: Vec<NaiveDate> = history.iter().map(|r| r.as_of).collect();
    let x = matrix(history);
    let trained = EscalationModel::train_with_validation(
        &names(),
        &x,
        &categories(history),
        labels,
        &dates,
        train,
    );
    let mut info = ScoreInfo {
        model: None,
        model_error: None,
        model_refusal: None,
        red_cutoff: fusion.red,
        red_cutoff_fitted: false,
        red_precision: None,
    };
    let (model, valid) = match trained {
        Ok(m) => m,
        Err(e) => {
            info.model_refusal = Some(match e {
                weaksignal_models::Error::TooLittleData { .. } => Refusal::TooLittleData,
                _ => Refusal::FitFailed,
            });
            info.model_error = Some(e.to_string());
            return (None, info);
        }
    };
    let m = &model.metrics;
    if !(m.brier_valid < m.brier_base_rate) || !(m.auc_valid > 0.6) {
        info.model_error = Some(format!(
            "escalation model {} did not validate (AUC {:.3}, Brier {:.4} against {:.4} for the \
             base rate)",
            model.version, m.auc_valid, m.brier_valid, m.brier_base_rate
        ));
        info.model_refusal = Some(Refusal::DidNotValidate);
        return (None, info);
    }
    let probs = model.predict(&names(), &matrix(now), &categories(now)).ok();
    if let Some(precision) = fusion.red_precision {
        // Fit the red cut-off on the out-of-sample (validation) part of the history.
        let scores: Vec<f64> = valid
            .iter()
            .map(|&(i, p)| fusion.score(p, &fired_for(rules, history[i], "")))
            .collect();
        let outcome: Vec<bool> = valid.iter().map(|&(i, _)| labels[i]).collect();
        if let Some(c) = fit_cutoff(&scores, &outcome, precision, fusion.red_precision_z, 5) {
            info.red_cutoff = c.max(fusion.yellow);
            info.red_cutoff_fitted = true;
            info.red_precision = Some(precision);
        }
    }
    info.model = Some(model);
    (probs, info)
}

/// The previous scoring's level, score and first-raised date per compound.
pub type Previous = HashMap<String, (RiskLevel, f64, Option<NaiveDate>)>;

/// An alert's reasons, the part adding most to its score first (see
/// [`FusionParams::shares`]): at most four rules fired, and the model's estimate, which says
/// when the rest of the score outweighs it (a yellow alert raised by rules can have a model
/// estimate of 1 %, which alone reads as a contradiction).
fn reasons(fusion: &FusionParams, p: Option<f64>, fired: &[Fired]) -> Vec<String> {
    let (model, rules) = fusion.shares(p.unwrap_or(0.0), fired);
    let mut parts: Vec<(f64, String)> = (fired.iter().zip(rules))
        .map(|(f, s)| (s, f.reason.clone()))
        .collect();
    // Stable: rules of one weight keep the rule file's order.
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    parts.truncate(4);
    if let Some(p) = p {
        let pct = match p < 0.005 {
            true => "不足1%".to_owned(),
            false => format!("{:.0}%", 100.0 * p),
        };
        let mut text = format!("模型估计8周内发生集体或越级信访的概率{pct}");
        if !fired.is_empty() && model < 0.5 {
            text.push_str("，得分主要来自其他各项");
        }
        let at = (parts.iter().position(|(s, _)| *s < model)).unwrap_or(parts.len());
        parts.insert(at, (model, text));
    }
    parts.into_iter().map(|(_, t)| t).collect()
}

/// Builds the alert rows of one date.
pub fn alerts_for(
    now: &[&Row],
    probs: Option<&[f64]>,
    info: &ScoreInfo,
    rules: &RuleSet,
    compounds: &HashMap<&str, &Compound>,
    previous: &Previous,
) -> Vec<Alert> {
    let fusion: &FusionParams = &rules.fusion;
    let mut out = vec![];
    for (i, r) in now.iter().enumerate() {
        let Some(c) = compounds.get(r.compound_id.as_str()) else {
            continue;
        };
        let p = probs.and_then(|p| p.get(i).copied());
        let fired = fired_for(rules, r, &c.name);
        let score = fusion.score(p.unwrap_or(0.0), &fired);
        let level = fusion.level(score, info.red_cutoff);
        let prev = previous.get(&r.compound_id);
        let trend = fusion.trend(score, prev.map(|p| (p.0, p.1)));
        let first_raised = match (level, prev) {
            (RiskLevel::Green, _) => None,
            (_, Some((l, _, Some(f)))) if *l != RiskLevel::Green => Some(*f),
            _ => Some(r.as_of),
        };
        let reasons = reasons(fusion, p, &fired);
        let figures = [
            "n28",
            "rate28",
            "dissat56",
            "rated56",
            "repeat_top30",
            "collective56",
            "petitions56",
            "trend_week",
            "trend_ub",
        ]
        .iter()
        .map(|f| (f.to_string(), r.get(f)))
        .collect();
        out.push(Alert {
            as_of: r.as_of,
            compound_id: r.compound_id.clone(),
            name: c.name.clone(),
            street: c.street.clone(),
            community: c.community.clone(),
            grid: c.grid.clone(),
            score: (score * 10.0).round() / 10.0,
            level,
            probability: p,
            rules: fired.iter().map(|f| f.id.clone()).collect(),
            reasons,
            top_category: r.top_category.clone(),
            first_raised,
            trend,
            record_ids: vec![],
            figures,
        });
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.compound_id.cmp(&b.compound_id))
    });
    out
}

/// Scores one date: features for the weekly history up to `as_of`, the model trained on the
/// labelled part, alerts for `as_of` with the records behind red and yellow ones.
///
/// # Errors
/// DataFusion errors.
pub async fn score(
    s: &Scorer,
    as_of: NaiveDate,
    previous: &Previous,
) -> Result<(Vec<Alert>, ScoreInfo)> {
    let first = s.first_day().await?;
    // Training dates sit on a fixed weekday, so that the next night finds them cached.
    let mut dates = s.weekly_dates(first, week_anchor(as_of), 0);
    if dates.last() != Some(&as_of) {
        dates.push(as_of);
    }
    let rows = s.features(&dates).await?;
    crate::feature_cache::prune(&s.lake, &dates, as_of - chrono::Duration::days(14))?;
    let esc = features::escalations(&s.ctx).await?;
    let horizon_end = as_of - chrono::Duration::days(HORIZON_DAYS);
    let history: Vec<&Row> = rows.iter().filter(|r| r.as_of <= horizon_end).collect();
    let labels: Vec<bool> = history.iter().map(|r| label(r, &esc)).collect();
    let now: Vec<&Row> = rows.iter().filter(|r| r.as_of == as_of).collect();
    let (probs, info) = model_and_cutoff(&history, &labels, &now, &s.rules, &s.train);
    let by_id: HashMap<&str, &Compound> = s
        .compounds
        .iter()
        .map(|c| (c.compound_id.as_str(), c))
        .collect();
    let mut alerts = alerts_for(&now, probs.as_deref(), &info, &s.rules, &by_id, previous);
    for a in alerts.iter_mut().filter(|a| a.level != RiskLevel::Green) {
        a.record_ids =
            features::evidence(&s.ctx, &a.compound_id, a.top_category.as_deref(), as_of, 20)
                .await?
                .into_iter()
                .map(|e| e.0)
                .collect();
    }
    Ok((alerts, info))
}

/// The output folder of a date's alerts.
pub fn alerts_dir(output: &Path, as_of: NaiveDate) -> PathBuf {
    output.join("alerts").join(format!("as_of={as_of}"))
}

/// The date of the latest alerts written before `as_of` (what "new" is counted against);
/// `None` on a first run.
pub fn previous_scoring(output: &Path, as_of: NaiveDate) -> Option<NaiveDate> {
    let rd = std::fs::read_dir(output.join("alerts")).ok()?;
    (rd.flatten())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let d = name.strip_prefix("as_of=")?;
            NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()
        })
        .filter(|&d| d < as_of)
        .max()
}

/// The latest alerts written before `as_of`, as the previous state.
///
/// # Errors
/// An unreadable alerts file.
pub fn previous_alerts(output: &Path, as_of: NaiveDate) -> Result<Previous> {
    let Some(d) = previous_scoring(output, as_of) else {
        return Ok(Previous::new());
    };
    let path = alerts_dir(output, d).join("alerts.json");
    let alerts: Vec<Alert> = serde_json::from_str(&read_text(&path)?)?;
    Ok(alerts
        .into_iter()
        .map(|a| (a.compound_id, (a.level, a.score, a.first_raised)))
        .collect())
}

/// A cell safe to open in Excel: text starting with `=`, `+`, `-`, `@`, tab or CR is
/// prefixed with `'` so it is not run as a formula.
pub fn excel_safe(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// Writes alerts as Parquet, a UTF-8 (BOM) CSV safe for Excel, and JSON (for the report),
/// each atomically.
///
/// # Errors
/// I/O, Arrow or Parquet errors.
pub fn write_alerts(dir: &Path, stem: &str, alerts: &[Alert]) -> Result<()> {
    let cols: Vec<(&str, Vec<String>)> = vec![
        (
            "as_of",
            alerts.iter().map(|a| a.as_of.to_string()).collect(),
        ),
        (
            "compound_id",
            alerts.iter().map(|a| a.compound_id.clone()).collect(),
        ),
        ("name", alerts.iter().map(|a| a.name.clone()).collect()),
        ("street", alerts.iter().map(|a| a.street.clone()).collect()),
        (
            "community",
            alerts.iter().map(|a| a.community.clone()).collect(),
        ),
        ("grid", alerts.iter().map(|a| a.grid.clone()).collect()),
        (
            "level",
            alerts
                .iter()
                .map(|a| a.level.as_str().to_string())
                .collect(),
        ),
        (
            "rules_fired",
            alerts.iter().map(|a| a.rules.join(";")).collect(),
        ),
        (
            "reasons",
            alerts.iter().map(|a| a.reasons.join(";")).collect(),
        ),
        (
            "top_category",
            alerts
                .iter()
                .map(|a| a.top_category.clone().unwrap_or_default())
                .collect(),
        ),
        (
            "first_raised",
            alerts.iter().map(|a| opt_date(a.first_raised)).collect(),
        ),
        (
            "trend",
            alerts
                .iter()
                .map(|a| a.trend.as_str().to_string())
                .collect(),
        ),
        (
            "record_ids",
            alerts.iter().map(|a| a.record_ids.join(";")).collect(),
        ),
    ];
    let score: Vec<f64> = alerts.iter().map(|a| a.score).collect();
    let prob: Vec<Option<f64>> = alerts.iter().map(|a| a.probability).collect();
    let mut fields = vec![];
    let mut arrays: Vec<ArrayRef> = vec![];
    for (i, (name, v)) in cols.iter().enumerate() {
        fields.push(Field::new(*name, DataType::Utf8, false));
        arrays.push(Arc::new(StringArray::from(v.clone())));
        if i == 5 {
            fields.push(Field::new("score", DataType::Float64, false));
            arrays.push(Arc::new(Float64Array::from(score.clone())));
            fields.push(Field::new(
                "escalation_probability",
                DataType::Float64,
                true,
            ));
            arrays.push(Arc::new(Float64Array::from(prob.clone())));
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
    crate::lake::write_atomic(&dir.join(format!("{stem}.parquet")), |f| {
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None)?;
        w.write(&batch)?;
        w.close()?;
        Ok(())
    })?;
    let mut header: Vec<&str> = cols[..6].iter().map(|c| c.0).collect();
    header.extend(["score", "escalation_probability"]);
    header.extend(cols[6..].iter().map(|c| c.0));
    let rows = (0..alerts.len()).map(|i| {
        let mut rec: Vec<String> = cols[..6].iter().map(|c| excel_safe(&c.1[i])).collect();
        rec.push(format!("{:.1}", score[i]));
        rec.push(prob[i].map_or(String::new(), |p| format!("{p:.4}")));
        rec.extend(cols[6..].iter().map(|c| excel_safe(&c.1[i])));
        rec
    });
    write_excel_csv(&dir.join(format!("{stem}.csv")), &header, rows)?;
    write_json(&dir.join(format!("{stem}.json")), alerts, false)
}

/// Writes `rows` under `header` as a UTF-8 CSV with a BOM (so Excel reads it as UTF-8),
/// atomically. Cells go as given: text an export supplied goes through [`excel_safe`] first.
fn write_excel_csv(
    path: &Path,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<()> {
    crate::lake::write_atomic(path, |f| {
        use std::io::Write;
        f.write_all(b"\xEF\xBB\xBF").at(path)?;
        let mut w = csv::Writer::from_writer(f);
        let csv_err = |e: csv::Error| Error::Internal(e.to_string());
        w.write_record(header).map_err(csv_err)?;
        for row in rows {
            w.write_record(&row).map_err(csv_err)?;
        }
        w.flush().at(path)?;
        Ok(())
    })
}

/// Writes `value` as JSON (indented when `pretty`), atomically, through a buffer flushed
/// before the file is synced (a buffer dropped unflushed would lose its error).
fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T, pretty: bool) -> Result<()> {
    crate::lake::write_atomic(path, |f| {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(f);
        match pretty {
            true => serde_json::to_writer_pretty(&mut w, value)?,
            false => serde_json::to_writer(&mut w, value)?,
        }
        w.flush().at(path)?;
        Ok(())
    })
}

/// Writes a half-year's grid grades (`label`, e.g. 2025年下半年) as `grid_grades.json` (for the
/// report) and `grid_grades.csv` (UTF-8 with BOM, safe for Excel: the whole list, which the
/// report cuts to the red and yellow grids in a large district), each atomically.
///
/// # Errors
/// I/O and serialisation errors.
pub fn write_grid_grades(dir: &Path, label: &str, grades: &[GridGrade]) -> Result<()> {
    write_json(&dir.join("grid_grades.json"), &(label, grades), true)?;
    let header = [
        "period",
        "street",
        "community",
        "grid",
        "population",
        "hotline_tickets",
        "per_1000",
        "petitions",
        "level",
    ];
    let rows = grades.iter().map(|g| {
        vec![
            excel_safe(label),
            excel_safe(&g.street),
            excel_safe(&g.community),
            excel_safe(&g.grid),
            g.population.to_string(),
            g.tickets.to_string(),
            format!("{:.2}", g.rate),
            g.petitions.to_string(),
            g.level.as_str().to_string(),
        ]
    });
    write_excel_csv(&dir.join("grid_grades.csv"), &header, rows)
}

/// Grid grading of a half-year: 12345 tickets per 1,000 residents and petitions per grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridGrade {
    /// 街道.
    pub street: String,
    /// 社区.
    pub community: String,
    /// 网格.
    pub grid: String,
    /// Residents.
    pub population: u64,
    /// Hotline tickets in the days counted ([`GradingPeriod`]).
    pub tickets: u64,
    /// Per 1,000 residents, projected to a whole half-year where part of one is counted.
    pub rate: f64,
    /// Petitions in the days counted.
    pub petitions: u64,
    /// 红/黄/绿.
    pub level: RiskLevel,
}

/// Days of a half-year a grading needs before it stands for the half-year: until then the
/// grading is of the half-year before, complete (the tickets of a week or two, projected onto
/// half a year, say more about chance than about a grid), where the lake holds it.
pub const GRADING_MIN_DAYS: i64 = 30;

/// The days a grid grading counts, and how it reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct GradingPeriod {
    /// The first day counted.
    pub from: NaiveDate,
    /// The last day counted.
    pub to: NaiveDate,
    /// The half-year's days over the days counted: what ticket rates are multiplied by, so
    /// that they compare with the per-half-year thresholds (1 for a whole half-year).
    /// Petition counts are not projected: a grid red for its petitions so far stays red.
    pub scale: f64,
    /// 2025年下半年; a half-year counted in part says which days and that rates are projected:
    /// 2026年上半年（截至3月5日，每千人件数按全半年折算）.
    pub label: String,
}

/// The half-year holding `d`: its first and last day.
fn half_year(d: NaiveDate) -> (NaiveDate, NaiveDate) {
    let (y, h1) = (d.year(), d.month() <= 6);
    let ymd = |m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or(d);
    if h1 {
        (ymd(1, 1), ymd(6, 30))
    } else {
        (ymd(7, 1), ymd(12, 31))
    }
}

/// The period a grid grading on `as_of` counts, for a lake whose records start on
/// `first_record`: the half-year up to `as_of`, projected to the whole half-year; in its first
/// [`GRADING_MIN_DAYS`] days the half-year before, when the lake holds that many days of it.
pub fn grading_period(as_of: NaiveDate, first_record: NaiveDate) -> GradingPeriod {
    let counted = |(start, end): (NaiveDate, NaiveDate), to: NaiveDate| {
        let from = first_record.clamp(start, to);
        let days = (to - from).num_days() + 1;
        (from, days, (end - start).num_days() + 1)
    };
    let current = half_year(as_of);
    let mut chosen = (current, as_of);
    let (_, days, _) = counted(current, as_of);
    if days < GRADING_MIN_DAYS {
        let before = half_year(current.0 - chrono::Duration::days(1));
        // A lake that starts after the half-year before counts one day of it (its last).
        if counted(before, before.1).1 >= GRADING_MIN_DAYS {
            chosen = (before, before.1);
        }
    }
    let ((start, end), to) = chosen;
    let (from, days, half_days) = counted((start, end), to);
    let half = format!(
        "{}年{}半年",
        start.year(),
        if start.month() == 1 { "上" } else { "下" }
    );
    let md = |d: NaiveDate| format!("{}月{}日", d.month(), d.day());
    let label = match (from == start, to == end) {
        (true, true) => half,
        (true, false) => format!("{half}（截至{}，每千人件数按全半年折算）", md(to)),
        (false, _) => format!("{half}（{}至{}，每千人件数按全半年折算）", md(from), md(to)),
    };
    GradingPeriod {
        from,
        to,
        scale: half_days as f64 / days as f64,
        label,
    }
}

/// Grades every grid on the period [`grading_period`] gives for `as_of` and a lake whose
/// records start on `first_record`.
///
/// # Errors
/// DataFusion errors.
pub async fn grid_grades(
    ctx: &SessionContext,
    compounds: &[Compound],
    as_of: NaiveDate,
    first_record: NaiveDate,
    cfg: &crate::config::Scoring,
) -> Result<(String, Vec<GridGrade>)> {
    let period = grading_period(as_of, first_record);
    let lo = features::end_of_day_ms(period.from - chrono::Duration::days(1));
    let hi = features::end_of_day_ms(period.to);
    let batches = ctx
        .sql(&format!(
            "SELECT compound_id,
                SUM(CASE WHEN channel = 'hotline' THEN 1 ELSE 0 END) AS tickets,
                SUM(CASE WHEN channel = 'petition' THEN 1 ELSE 0 END) AS petitions
             FROM records WHERE compound_id IS NOT NULL
               AND CAST(received_at AS BIGINT) > {lo} AND CAST(received_at AS BIGINT) <= {hi}
             GROUP BY compound_id"
        ))
        .await?
        .collect()
        .await?;
    let mut per: HashMap<String, (u64, u64)> = HashMap::new();
    for b in &batches {
        let id = arrow::compute::cast(b.column(0), &DataType::Utf8)?;
        let id = id
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| Error::Internal("grid query".into()))?;
        let t = arrow::compute::cast(b.column(1), &DataType::Int64)?;
        let p = arrow::compute::cast(b.column(2), &DataType::Int64)?;
        let t = t.as_any().downcast_ref::<arrow::array::Int64Array>();
        let p = p.as_any().downcast_ref::<arrow::array::Int64Array>();
        if let (Some(t), Some(p)) = (t, p) {
            for i in 0..b.num_rows() {
                per.insert(
                    id.value(i).to_string(),
                    (t.value(i) as u64, p.value(i) as u64),
                );
            }
        }
    }
    let mut grids: std::collections::BTreeMap<(String, String, String), (u64, u64, u64)> =
        Default::default();
    // A compound the registry gives no grid is graded in none.
    for c in compounds.iter().filter(|c| !c.grid.trim().is_empty()) {
        let e = grids
            .entry((c.street.clone(), c.community.clone(), c.grid.clone()))
            .or_default();
        let (t, p) = per.get(&c.compound_id).copied().unwrap_or((0, 0));
        e.0 += u64::from(c.population);
        e.1 += t;
        e.2 += p;
    }
    let out = grids
        .into_iter()
        .map(|((street, community, grid), (pop, tickets, petitions))| {
            let rate = 1000.0 * tickets as f64 * period.scale / pop.max(1) as f64;
            let level =
                if rate >= cfg.grid_red_rate || petitions >= u64::from(cfg.grid_red_petitions) {
                    RiskLevel::Red
                } else if rate >= cfg.grid_yellow_rate {
                    RiskLevel::Yellow
                } else {
                    RiskLevel::Green
                };
            GridGrade {
                street,
                community,
                grid,
                population: pop,
                tickets,
                rate,
                petitions,
                level,
            }
        })
        .collect();
    Ok((period.label, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use weaksignal_models::rules::Severity;

    fn fired(reason: &str, severity: Severity) -> Fired {
        Fired {
            id: reason.into(),
            name: reason.into(),
            severity,
            reason: reason.into(),
        }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_grading_counts_the_half_year_so_far_projected_or_the_half_year_before_in_its_first_month()
    {
        const PROJECTED: &str = "，每千人件数按全半年折算）";
        let long_ago = "2020-01-01";
        // (as_of, the lake's first record, from, to, the half-year's days over the days
        // counted, label)
        let cases = [
            // The last day of a half-year: the whole of it, as it is.
            (
                "2025-12-31",
                long_ago,
                "2025-07-01",
                "2025-12-31",
                1.0,
                "2025年下半年".to_string(),
            ),
            // The day before: 183 of 184 days, projected.
            (
                "2025-12-30",
                long_ago,
                "2025-07-01",
                "2025-12-30",
                184.0 / 183.0,
                format!("2025年下半年（截至12月30日{PROJECTED}"),
            ),
            // Two months into a half-year: 59 of 181 days (2026 is no leap year).
            (
                "2026-02-28",
                long_ago,
                "2026-01-01",
                "2026-02-28",
                181.0 / 59.0,
                format!("2026年上半年（截至2月28日{PROJECTED}"),
            ),
            // In a half-year's first 29 days: the half-year before, whole; from the 30th on,
            // the half-year so far.
            (
                "2026-01-10",
                long_ago,
                "2025-07-01",
                "2025-12-31",
                1.0,
                "2025年下半年".into(),
            ),
            (
                "2026-01-29",
                long_ago,
                "2025-07-01",
                "2025-12-31",
                1.0,
                "2025年下半年".into(),
            ),
            (
                "2026-01-30",
                long_ago,
                "2026-01-01",
                "2026-01-30",
                181.0 / 30.0,
                format!("2026年上半年（截至1月30日{PROJECTED}"),
            ),
            (
                "2025-07-05",
                long_ago,
                "2025-01-01",
                "2025-06-30",
                1.0,
                "2025年上半年".into(),
            ),
            // A lake that starts within the half-year before: its days only, projected …
            (
                "2026-01-10",
                "2025-10-01",
                "2025-10-01",
                "2025-12-31",
                184.0 / 92.0,
                format!("2025年下半年（10月1日至12月31日{PROJECTED}"),
            ),
            // … too few of them (or none): the half-year so far after all.
            (
                "2026-01-10",
                "2025-12-20",
                "2026-01-01",
                "2026-01-10",
                181.0 / 10.0,
                format!("2026年上半年（截至1月10日{PROJECTED}"),
            ),
            (
                "2026-01-10",
                "2026-01-02",
                "2026-01-02",
                "2026-01-10",
                181.0 / 9.0,
                format!("2026年上半年（1月2日至1月10日{PROJECTED}"),
            ),
        ];
        for (as_of, first, from, to, scale, label) in cases {
            let p = grading_period(day(as_of), day(first));
            assert_eq!((p.from, p.to), (day(from), day(to)), "{as_of} {first}");
            assert!(
                (p.scale - scale).abs() < 1e-12,
                "{as_of} {first}: {}",
                p.scale
            );
            assert_eq!(p.label, label, "{as_of} {first}");
        }
    }

    #[test]
    fn reasons_come_in_the_order_of_what_they_add_to_the_score() {
        let f = FusionParams::default();
        let rules = [
            fired("低", Severity::Low),
            fired("高", Severity::High),
            fired("中", Severity::Medium),
        ];
        // A model estimate of 1 % adds least, and says the rest weighs more.
        assert_eq!(
            reasons(&f, Some(0.01), &rules),
            [
                "高",
                "中",
                "低",
                "模型估计8周内发生集体或越级信访的概率1%，得分主要来自其他各项"
            ]
        );
        // One of 60 % leads, and is most of the score.
        assert_eq!(
            reasons(&f, Some(0.6), &rules)[0],
            "模型估计8周内发生集体或越级信访的概率60%"
        );
        assert_eq!(
            reasons(&f, Some(0.001), &[]),
            ["模型估计8周内发生集体或越级信访的概率不足1%"]
        );
        // At most four rules, the weightiest; no model, no model line.
        let many: Vec<Fired> = (0..6)
            .map(|i| fired(&i.to_string(), [Severity::Low, Severity::High][i % 2]))
            .collect();
        assert_eq!(reasons(&f, None, &many), ["1", "3", "5", "0"]);
    }
}
