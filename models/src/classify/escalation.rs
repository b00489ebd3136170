//! The escalation model: the probability that a compound sees an escalation (a collective
//! petition, or a petition at city level or above) in the next 8 weeks, from its features.
//!
//! A regularised logistic regression (linfa) on `sign(x)·ln(1 + |x|)`-transformed,
//! standardised features. Training is time-based: the last quarter of the training dates
//! validates the regularisation strength and fits a Platt calibration of the scores; the final
//! model is refitted on every date with the chosen strength. The artefact (serde) keeps its
//! training window, feature list and validation metrics, and refuses to train on too few rows
//! or escalations.
//!
//! Besides the numeric features, each row carries its compound's main category of problem.
//! The model learns from its own history how often each category was followed by an
//! escalation ([`CategoryRisk`], a smoothed rate fitted only on the rows a fit trains on) and
//! uses that rate as one more feature: a district whose parking disputes never reach a
//! petition while its late-delivery disputes often do is told so by its own records.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use linfa_trees::DecisionTree;
use ndarray::{Array1, Array2, ArrayView1, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

const MODEL: &str = "escalation model";

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainParams {
    /// Fewest training rows.
    pub min_rows: usize,
    /// Fewest positive rows (escalations ahead).
    pub min_positive: usize,
    /// Share of the latest training dates used for validation and calibration.
    pub valid_share: f64,
    /// L2 strengths tried; the best validation AUC wins.
    pub alphas: Vec<f64>,
    /// Optimiser iterations.
    pub max_iterations: u64,
    /// At most this many negative rows per positive row in a fit (every k-th negative is
    /// kept, deterministically): escalations are rare, and the fit's cost grows with the rows.
    /// Validation and calibration use every row, so the probabilities stay calibrated.
    pub max_negative_ratio: Option<usize>,
    /// Prior weight (in rows) of the overall escalation rate in a category's rate: a category
    /// seen in few rows keeps close to the overall rate.
    pub category_smoothing: f64,
    /// Tree depths of the balanced random forests that compete with the logistic regression
    /// on validation (empty: the logistic regression only).
    pub forest_depths: Vec<usize>,
    /// Trees per forest.
    pub forest_trees: usize,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            min_rows: 200,
            min_positive: 8,
            valid_share: 0.25,
            alphas: vec![0.1, 1.0, 10.0, 100.0],
            max_iterations: 100,
            max_negative_ratio: Some(10),
            category_smoothing: 200.0,
            forest_depths: vec![],
            forest_trees: 60,
        }
    }
}

/// Validation figures kept with the model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    /// Rows and positives used for the final fit.
    pub n_train: usize,
    /// Positive rows for the final fit.
    pub n_positive: usize,
    /// Rows and positives in the validation dates.
    pub n_valid: usize,
    /// Positive rows in the validation dates.
    pub n_valid_positive: usize,
    /// Area under the ROC curve on validation, per L2 strength tried.
    pub auc_by_alpha: Vec<(f64, f64)>,
    /// Area under the ROC curve on validation, per forest depth tried.
    #[serde(default)]
    pub auc_by_forest_depth: Vec<(usize, f64)>,
    /// Validation AUC of the choice of model, each half of the validation dates scored by
    /// the candidate chosen on the other (see [`cross_fitted_auc`]); the gate reads it.
    pub auc_valid: f64,
    /// Brier score of the calibrated validation probabilities, each calibrated on the other
    /// half of the validation dates (see [`cross_fitted_brier`]).
    pub brier_valid: f64,
    /// Brier score of always predicting the base rate of the other half of the validation
    /// dates (what the model must beat).
    pub brier_base_rate: f64,
}

/// Name of the column the category's learned escalation rate adds to the features.
pub const CATEGORY_RISK: &str = "category_risk";

/// Escalation rate per 1,000 rows for each category, learned from labelled rows and shrunk
/// towards the overall rate: `1000·(escalations_c + m·overall) / (rows_c + m)`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CategoryRisk {
    /// Rate per 1,000 rows, per category seen in training.
    pub per_1000: BTreeMap<String, f64>,
    /// Rate per 1,000 rows over every row (for a category not seen, or none).
    pub overall: f64,
}

impl CategoryRisk {
    /// Fits the rates on the rows `rows` of `categories` and `y`.
    pub fn fit(categories: &[Option<&str>], y: &[bool], rows: &[usize], smoothing: f64) -> Self {
        let mut counts: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        let mut positive = 0.0;
        for &i in rows {
            let hit = f64::from(u8::from(y[i]));
            positive += hit;
            if let Some(c) = categories[i] {
                let e = counts.entry(c).or_default();
                e.0 += hit;
                e.1 += 1.0;
            }
        }
        let overall = positive / rows.len().max(1) as f64;
        let m = smoothing.max(0.0);
        let per_1000 = counts
            .into_iter()
            .map(|(c, (pos, n))| (c.to_string(), 1000.0 * (pos + m * overall) / (n + m)))
            .collect();
        CategoryRisk {
            per_1000,
            overall: 1000.0 * overall,
        }
    }

    /// The rate of a category.
    pub fn get(&self, category: Option<&str>) -> f64 {
        category
            .and_then(|c| self.per_1000.get(c))
            .copied()
            .unwrap_or(self.overall)
    }

    /// Rows `rows` of `x` with the category rate appended as the last column.
    fn design(&self, x: &Array2<f64>, categories: &[Option<&str>], rows: &[usize]) -> Array2<f64> {
        let mut out = Array2::zeros((rows.len(), x.ncols() + 1));
        for (k, &i) in rows.iter().enumerate() {
            let mut r = out.row_mut(k);
            r.slice_mut(ndarray::s![..x.ncols()]).assign(&x.row(i));
            r[x.ncols()] = self.get(categories[i]);
        }
        out
    }
}

/// A trained, calibrated escalation model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EscalationModel {
    /// Artefact version: method and training window.
    pub version: String,
    /// Feature names, in column order, then [`CATEGORY_RISK`].
    pub features: Vec<String>,
    /// The learned escalation rate of each category (the last column).
    #[serde(default)]
    pub category_risk: CategoryRisk,
    /// Mean of each transformed feature.
    pub mean: Vec<f64>,
    /// Standard deviation of each transformed feature (1 where constant).
    pub sd: Vec<f64>,
    /// Logistic coefficients on standardised features (empty when the forest scores).
    pub coef: Vec<f64>,
    /// Logistic intercept.
    pub intercept: f64,
    /// The forest that scores instead of the logistic regression, when it validated better.
    #[serde(default)]
    pub forest: Option<Forest>,
    /// Platt calibration: p = σ(a·score + b).
    pub platt: (f64, f64),
    /// Chosen L2 strength of the logistic regression (the one a forest beat, when `forest` is
    /// set).
    pub alpha: f64,
    /// First and last feature date trained on.
    pub train_window: (NaiveDate, NaiveDate),
    /// Validation figures.
    pub metrics: Metrics,
}

fn transform(x: f64) -> f64 {
    if x.is_finite() {
        x.signum() * x.abs().ln_1p()
    } else {
        0.0
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A balanced random forest (Chen, Liaw & Breiman, 2004): each tree (linfa-trees, Gini
/// impurity) is fitted on a bootstrap sample of the positive rows and as many negative rows
/// drawn at random, over a random half of the features; a row's score is the share of trees
/// that vote "escalation" (calibrated afterwards like the logistic score). Trees learn what a
/// linear score cannot: that many calls from single callers about noise are not a dispute,
/// while a few repeat callers, returned tickets and spreading complaints are.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Forest {
    /// Deepest split of a tree.
    pub max_depth: usize,
    /// The trees.
    pub trees: Vec<DecisionTree<f64, usize>>,
    /// Columns each tree was fitted on.
    pub columns: Vec<Vec<usize>>,
}

impl Forest {
    fn fit(x: &Array2<f64>, y: &[bool], max_depth: usize, n_trees: usize) -> Result<Forest> {
        let pos: Vec<usize> = (0..y.len()).filter(|&i| y[i]).collect();
        let neg: Vec<usize> = (0..y.len()).filter(|&i| !y[i]).collect();
        if pos.is_empty() || neg.is_empty() {
            return Err(Error::Fit {
                model: MODEL,
                reason: "a forest needs rows with and without escalations".into(),
            });
        }
        let p = x.ncols();
        let n_cols = p.div_ceil(2).max(1);
        // Seeded: the same history trains the same forest.
        let mut rng = StdRng::seed_from_u64(0x5745_414b ^ max_depth as u64);
        let params = DecisionTree::params()
            .max_depth(Some(max_depth))
            .min_weight_leaf(3.0);
        let mut trees = Vec::with_capacity(n_trees);
        let mut columns = Vec::with_capacity(n_trees);
        for _ in 0..n_trees {
            let mut cols: Vec<usize> = rand::seq::index::sample(&mut rng, p, n_cols).into_vec();
            cols.sort_unstable();
            let mut rows = Vec::with_capacity(2 * pos.len());
            for _ in 0..pos.len() {
                rows.push(pos[rng.random_range(0..pos.len())]);
            }
            for _ in 0..pos.len() {
                rows.push(neg[rng.random_range(0..neg.len())]);
            }
            let xs = x.select(Axis(0), &rows).select(Axis(1), &cols);
            let ys: Array1<usize> = rows.iter().map(|&i| usize::from(y[i])).collect();
            let tree = params.fit(&Dataset::new(xs, ys)).map_err(|e| Error::Fit {
                model: MODEL,
                reason: e.to_string(),
            })?;
            trees.push(tree);
            columns.push(cols);
        }
        Ok(Forest {
            max_depth,
            trees,
            columns,
        })
    }

    /// Share of trees voting "escalation", per row of `x`.
    fn score(&self, x: &Array2<f64>) -> Vec<f64> {
        let mut votes = vec![0.0; x.nrows()];
        for (tree, cols) in self.trees.iter().zip(&self.columns) {
            if cols.iter().any(|&c| c >= x.ncols()) {
                continue; // not this model's columns: predict() checks them first
            }
            let labels: Array1<usize> = tree.predict(&x.select(Axis(1), cols));
            for (v, &l) in votes.iter_mut().zip(&labels) {
                *v += l as f64;
            }
        }
        let n = self.trees.len().max(1) as f64;
        votes.into_iter().map(|v| v / n).collect()
    }
}

struct Scaler {
    mean: Vec<f64>,
    sd: Vec<f64>,
}

impl Scaler {
    fn fit(x: &Array2<f64>) -> Scaler {
        let t = x.mapv(transform);
        let n = t.nrows().max(1) as f64;
        let mean: Vec<f64> = t.mean_axis(Axis(0)).map_or(vec![], |m| m.to_vec());
        let sd = t
            .axis_iter(Axis(1))
            .zip(&mean)
            .map(|(c, m)| {
                let v = c.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
                if v > 1e-12 {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Scaler { mean, sd }
    }
    fn apply(&self, x: &Array2<f64>) -> Array2<f64> {
        let mut t = x.mapv(transform);
        for (j, mut c) in t.axis_iter_mut(Axis(1)).enumerate() {
            c.mapv_inplace(|v| (v - self.mean[j]) / self.sd[j]);
        }
        t
    }
}

/// Average precision (area under the precision–recall curve, as a step function): the mean,
/// over the positive rows, of the precision among the rows scored at least as high. Rows with
/// equal scores enter together. NaN without a positive row.
pub fn average_precision(score: &[f64], y: &[bool]) -> f64 {
    let positives = y.iter().filter(|&&v| v).count();
    if positives == 0 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..score.len()).collect();
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut seen, mut tp, mut sum) = (0usize, 0usize, 0.0);
    for group in idx.chunk_by(|&a, &b| score[a] == score[b]) {
        let hits = group.iter().filter(|&&i| y[i]).count();
        seen += group.len();
        tp += hits;
        sum += hits as f64 * tp as f64 / seen as f64;
    }
    sum / positives as f64
}

/// Area under the ROC curve (Mann–Whitney, ties count one half); NaN without both classes.
pub fn auc(score: &[f64], y: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..score.len()).collect();
    idx.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    let (mut rank_sum, mut n_pos) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && score[idx[j + 1]] == score[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if y[k] {
                rank_sum += mid;
                n_pos += 1.0;
            }
        }
        i = j + 1;
    }
    let n_neg = score.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return f64::NAN;
    }
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// The validation dates' two folds, alternately in date order (a week's rows are not
/// independent, so they stay together); `None` with a single date.
fn date_folds(dates: &[NaiveDate]) -> Option<Vec<usize>> {
    let mut uniq: Vec<NaiveDate> = dates.to_vec();
    uniq.sort();
    uniq.dedup();
    (uniq.len() >= 2).then(|| {
        (dates.iter())
            .map(|d| uniq.binary_search(d).map_or(0, |k| k % 2))
            .collect()
    })
}

/// The candidate validation chooses on `rows`, among validation scores `scores` whose first
/// `n_lr` are the logistic regression's strengths: the strength with the best AUC (a NaN AUC
/// loses to any number), then each forest that beats the choice so far on average precision.
/// Red alerts are the top of the ranking: the forests compete on average precision, which
/// weighs the top, rather than AUC, which weighs every rank alike.
fn pick(scores: &[Vec<f64>], n_lr: usize, y: &[bool], rows: &[usize]) -> usize {
    let yr: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
    let on_rows = |c: usize| rows.iter().map(|&i| scores[c][i]).collect::<Vec<f64>>();
    let aucs: Vec<f64> = (0..n_lr).map(|c| auc(&on_rows(c), &yr)).collect();
    let mut best = (0..n_lr)
        .reduce(|b, i| {
            if aucs[i] > aucs[b] || aucs[b].is_nan() {
                i
            } else {
                b
            }
        })
        .unwrap_or(0);
    let mut best_ap = average_precision(&on_rows(best), &yr);
    for c in n_lr..scores.len() {
        let ap = average_precision(&on_rows(c), &yr);
        if ap > best_ap || best_ap.is_nan() {
            (best, best_ap) = (c, ap);
        }
    }
    best
}

/// The validation AUC of the model choice rather than of the model chosen: each fold of the
/// validation dates ([`date_folds`]) is scored by the candidate [`pick`] chooses on the other,
/// and the two AUCs averaged (a fold without both classes counts for nothing). Read on the
/// rows that chose it, the best of several candidates' AUC is biased upwards — the model
/// gate would pass a choice among models without skill more often than it should.
pub fn cross_fitted_auc(scores: &[Vec<f64>], n_lr: usize, y: &[bool], dates: &[NaiveDate]) -> f64 {
    let all: Vec<usize> = (0..y.len()).collect();
    let Some(folds) = date_folds(dates) else {
        let c = pick(scores, n_lr, y, &all);
        return auc(&scores[c], y);
    };
    let fold =
        |k: usize| -> Vec<usize> { all.iter().copied().filter(|&i| folds[i] == k).collect() };
    let aucs: Vec<f64> = (0..2)
        .map(|k| {
            let (held, other) = (fold(k), fold(1 - k));
            let c = pick(scores, n_lr, y, &other);
            let s: Vec<f64> = held.iter().map(|&i| scores[c][i]).collect();
            let t: Vec<bool> = held.iter().map(|&i| y[i]).collect();
            auc(&s, &t)
        })
        .filter(|a| a.is_finite())
        .collect();
    match aucs.len() {
        0 => f64::NAN,
        n => aucs.iter().sum::<f64>() / n as f64,
    }
}

/// The Brier scores of Platt's calibration of `score` and of the base rate, each on rows it
/// was not fitted on: the dates are split in two folds, alternately in date order (a week's
/// rows are not independent, so they stay together), and each fold is scored with the
/// calibration and the base rate fitted on the other. Fitted and scored on the same rows,
/// the calibration could always match the base rate's Brier score (a flat line at the base
/// rate is one of its fits), so a model without skill would pass a gate that asks it to beat
/// the base rate. With a single date there is nothing to hold out: both are fitted and
/// scored on every row.
pub fn cross_fitted_brier(score: &[f64], y: &[bool], dates: &[NaiveDate]) -> (f64, f64) {
    let folds = date_folds(dates);
    let fold_of = |i: usize| folds.as_ref().map_or(0, |f| f[i]);
    let fitted = |k: usize| {
        let rows: Vec<usize> = (0..y.len())
            .filter(|&i| folds.is_none() || fold_of(i) != k)
            .collect();
        let s: Vec<f64> = rows.iter().map(|&i| score[i]).collect();
        let t: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
        let base = t.iter().filter(|&&v| v).count() as f64 / t.len().max(1) as f64;
        (platt(&s, &t), base)
    };
    let by_fold = [fitted(0), fitted(1)];
    let (mut model, mut base) = (0.0, 0.0);
    for i in 0..y.len() {
        let ((a, b), rate) = by_fold[fold_of(i)];
        let t = f64::from(u8::from(y[i]));
        model += (sigmoid(a * score[i] + b) - t).powi(2);
        base += (rate - t).powi(2);
    }
    let n = y.len().max(1) as f64;
    (model / n, base / n)
}

/// Platt scaling: fits p = σ(a·s + b) by damped Newton steps (a small ridge keeps a nearly
/// separable validation set from sending `a` to infinity) with Platt's smoothed targets.
pub fn platt(score: &[f64], y: &[bool]) -> (f64, f64) {
    let n_pos = y.iter().filter(|&&v| v).count() as f64;
    let n_neg = y.len() as f64 - n_pos;
    let hi = (n_pos + 1.0) / (n_pos + 2.0);
    let lo = 1.0 / (n_neg + 2.0);
    const RIDGE: f64 = 1e-3;
    let loss = |a: f64, b: f64| {
        let mut l = 0.5 * RIDGE * (a * a + b * b);
        for (&s, &t) in score.iter().zip(y) {
            let t = if t { hi } else { lo };
            let z = a * s + b;
            // log(1 + e^z) − t·z, computed stably.
            l += z.max(0.0) + (-z.abs()).exp().ln_1p() - t * z;
        }
        l
    };
    let (mut a, mut b) = (1.0, 0.0);
    let mut current = loss(a, b);
    for _ in 0..100 {
        let (mut g0, mut g1) = (RIDGE * a, RIDGE * b);
        let (mut h00, mut h01, mut h11) = (RIDGE, 0.0, RIDGE);
        for (&s, &t) in score.iter().zip(y) {
            let p = sigmoid(a * s + b);
            let t = if t { hi } else { lo };
            let d = p - t;
            let w = (p * (1.0 - p)).max(1e-12);
            g0 += d * s;
            g1 += d;
            h00 += w * s * s;
            h01 += w * s;
            h11 += w;
        }
        let det = h00 * h11 - h01 * h01;
        if !(det.abs() > 1e-300) {
            break;
        }
        let da = (h11 * g0 - h01 * g1) / det;
        let db = (h00 * g1 - h01 * g0) / det;
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-6 {
            let (na, nb) = (a - step * da, b - step * db);
            let l = loss(na, nb);
            if l.is_finite() && l <= current {
                (a, b, current) = (na, nb, l);
                improved = true;
                break;
            }
            step /= 2.0;
        }
        if !improved || (step * (da.abs() + db.abs())) < 1e-10 {
            break;
        }
    }
    (a, b)
}

fn fit_lr(x: &Array2<f64>, y: &[bool], alpha: f64, iters: u64) -> Result<(Vec<f64>, f64)> {
    let targets: Array1<usize> = y.iter().map(|&v| usize::from(v)).collect();
    let ds = Dataset::new(x.clone(), targets);
    let m = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(iters)
        .fit(&ds)
        .map_err(|e| Error::Fit {
            model: MODEL,
            reason: e.to_string(),
        })?;
    // linfa models the probability of the more frequent label: flip to model label 1.
    if m.labels().pos.class == 1 {
        Ok((m.params().to_vec(), m.intercept()))
    } else {
        Ok((m.params().iter().map(|c| -c).collect(), -m.intercept()))
    }
}

/// Rows kept for a fit: every positive, and every k-th negative so that negatives are at
/// most `ratio` times the positives.
fn thin(y: &[bool], ratio: Option<usize>) -> Vec<usize> {
    let pos = y.iter().filter(|&&v| v).count();
    let neg = y.len() - pos;
    let step = match ratio {
        Some(r) if pos > 0 && neg > r * pos => neg.div_ceil(r * pos),
        _ => 1,
    };
    let mut k = 0usize;
    (0..y.len())
        .filter(|&i| {
            if y[i] {
                return true;
            }
            k += 1;
            (k - 1).is_multiple_of(step)
        })
        .collect()
}

fn linear(coef: &[f64], intercept: f64, row: ArrayView1<'_, f64>) -> f64 {
    intercept + row.iter().zip(coef).map(|(x, c)| x * c).sum::<f64>()
}

fn check_size(y: &[bool], p: &TrainParams, what: &str) -> Result<()> {
    let pos = y.iter().filter(|&&v| v).count();
    if y.len() < p.min_rows || pos < p.min_positive || pos == y.len() {
        return Err(Error::TooLittleData {
            model: MODEL,
            what: "train",
            reason: format!(
                "{what} has {} rows with {pos} escalations; needs at least {} rows and {} \
                 escalations (and some rows without)",
                y.len(),
                p.min_rows,
                p.min_positive
            ),
        });
    }
    Ok(())
}

impl EscalationModel {
    /// Trains on rows `x` (one per compound and feature date `dates`) with their main
    /// category `categories`, labels `y` (escalation in the following 8 weeks).
    ///
    /// # Errors
    /// [`Error::TooLittleData`] below the minimum rows or escalations (overall, or in the
    /// training or validation dates), [`Error::Mismatch`] for inconsistent shapes,
    /// [`Error::Fit`] when the optimiser fails.
    pub fn train(
        features: &[String],
        x: &Array2<f64>,
        categories: &[Option<&str>],
        y: &[bool],
        dates: &[NaiveDate],
        p: &TrainParams,
    ) -> Result<EscalationModel> {
        Self::train_with_validation(features, x, categories, y, dates, p).map(|(m, _)| m)
    }

    /// As [`EscalationModel::train`], also returning the out-of-sample calibrated
    /// probabilities of the validation rows (row index, probability): what a cut-off fitted
    /// on history should be fitted on.
    ///
    /// # Errors
    /// As [`EscalationModel::train`].
    pub fn train_with_validation(
        features: &[String],
        x: &Array2<f64>,
        categories: &[Option<&str>],
        y: &[bool],
        dates: &[NaiveDate],
        p: &TrainParams,
    ) -> Result<(EscalationModel, Vec<(usize, f64)>)> {
        if x.nrows() != y.len()
            || y.len() != dates.len()
            || y.len() != categories.len()
            || x.ncols() != features.len()
        {
            return Err(Error::Mismatch(format!(
                "{MODEL}: {} rows × {} columns, {} categories, {} labels, {} dates, {} feature \
                 names",
                x.nrows(),
                x.ncols(),
                categories.len(),
                y.len(),
                dates.len(),
                features.len()
            )));
        }
        check_size(y, p, "the training data")?;
        let mut uniq: Vec<NaiveDate> = dates.to_vec();
        uniq.sort();
        uniq.dedup();
        let cut_i = ((uniq.len() as f64) * (1.0 - p.valid_share)).floor() as usize;
        let cut = uniq[cut_i.min(uniq.len() - 1)];
        let tr: Vec<usize> = (0..y.len()).filter(|&i| dates[i] < cut).collect();
        let va: Vec<usize> = (0..y.len()).filter(|&i| dates[i] >= cut).collect();
        let ytr: Vec<bool> = tr.iter().map(|&i| y[i]).collect();
        let yva: Vec<bool> = va.iter().map(|&i| y[i]).collect();
        let half = TrainParams {
            min_rows: p.min_rows / 4,
            min_positive: (p.min_positive / 4).max(2),
            ..p.clone()
        };
        check_size(&ytr, &half, "the training part of the time split")?;
        check_size(&yva, &half, "the validation part of the time split")?;
        // The category rates of the validation model come from the training dates only.
        let risk = CategoryRisk::fit(categories, y, &tr, p.category_smoothing);
        let keep = thin(&ytr, p.max_negative_ratio);
        let xtr = risk.design(
            x,
            categories,
            &keep.iter().map(|&k| tr[k]).collect::<Vec<_>>(),
        );
        let ytr: Vec<bool> = keep.iter().map(|&k| ytr[k]).collect();
        let xva = risk.design(x, categories, &va);
        let scaler = Scaler::fit(&xtr);
        let (ztr, zva) = (scaler.apply(&xtr), scaler.apply(&xva));
        let mut tried = vec![];
        for &alpha in &p.alphas {
            let (coef, b) = fit_lr(&ztr, &ytr, alpha, p.max_iterations)?;
            let s: Vec<f64> = zva
                .rows()
                .into_iter()
                .map(|r| linear(&coef, b, r))
                .collect();
            tried.push(s);
        }
        if tried.is_empty() {
            return Err(Error::param("alphas", "no L2 strength given"));
        }
        let auc_by_alpha: Vec<(f64, f64)> = (p.alphas.iter().zip(&tried))
            .map(|(&a, s)| (a, auc(s, &yva)))
            .collect();
        let ytr_all: Vec<bool> = tr.iter().map(|&i| y[i]).collect();
        let mut auc_by_forest_depth = vec![];
        if !p.forest_depths.is_empty() {
            // Balanced forests compete on the same validation dates, fitted on every training
            // row (each tree balances its own sample).
            let ztr_all = scaler.apply(&risk.design(x, categories, &tr));
            for &depth in &p.forest_depths {
                let f = Forest::fit(&ztr_all, &ytr_all, depth, p.forest_trees)?;
                let s = f.score(&zva);
                auc_by_forest_depth.push((depth, auc(&s, &yva)));
                tried.push(s);
            }
        }
        let n_lr = p.alphas.len();
        let dva: Vec<NaiveDate> = va.iter().map(|&i| dates[i]).collect();
        let every: Vec<usize> = (0..yva.len()).collect();
        let chosen = pick(&tried, n_lr, &yva, &every);
        let auc_valid = cross_fitted_auc(&tried, n_lr, &yva, &dva);
        // The strength is kept with a forest too (the model records it).
        let alpha = p.alphas[pick(&tried[..n_lr], n_lr, &yva, &every)];
        let forest_depth = chosen.checked_sub(n_lr).map(|f| p.forest_depths[f]);
        let s_valid = tried.swap_remove(chosen);
        let (pa, pb) = platt(&s_valid, &yva);
        let (brier_valid, brier_base_rate) = cross_fitted_brier(&s_valid, &yva, &dva);
        let valid: Vec<(usize, f64)> = va
            .iter()
            .zip(&s_valid)
            .map(|(&i, &s)| (i, sigmoid(pa * s + pb)))
            .collect();
        // Final fit on every date, the chosen strength.
        let all: Vec<usize> = (0..y.len()).collect();
        let category_risk = CategoryRisk::fit(categories, y, &all, p.category_smoothing);
        let keep = thin(y, p.max_negative_ratio);
        let xf = category_risk.design(x, categories, &keep);
        let yf: Vec<bool> = keep.iter().map(|&i| y[i]).collect();
        let scaler = Scaler::fit(&xf);
        let (coef, intercept, forest) = match forest_depth {
            Some(depth) => {
                let z = scaler.apply(&category_risk.design(x, categories, &all));
                let f = Forest::fit(&z, y, depth, p.forest_trees)?;
                (vec![], 0.0, Some(f))
            }
            None => {
                let (coef, intercept) = fit_lr(&scaler.apply(&xf), &yf, alpha, p.max_iterations)?;
                // The final fit saw fewer negatives than the validation model did; shift its
                // intercept by the log of the thinning so Platt's calibration (fitted on all
                // rows) still applies.
                let thinning = |all: &[bool], kept: &[bool]| {
                    let neg_all = all.iter().filter(|&&v| !v).count() as f64;
                    let neg_kept = kept.iter().filter(|&&v| !v).count() as f64;
                    (neg_all / neg_kept.max(1.0)).ln()
                };
                let shift_tr = thinning(&ytr_all, &ytr);
                let shift_f = thinning(y, &yf);
                (coef, intercept - shift_f + shift_tr, None)
            }
        };
        let (from, to) = (uniq[0], uniq[uniq.len() - 1]);
        let model = EscalationModel {
            version: match &forest {
                Some(f) => format!("escalation-forest-d{}-{from}-{to}", f.max_depth),
                None => format!("escalation-lr-{from}-{to}"),
            },
            features: features
                .iter()
                .cloned()
                .chain([CATEGORY_RISK.to_string()])
                .collect(),
            category_risk,
            mean: scaler.mean,
            sd: scaler.sd,
            coef,
            intercept,
            forest,
            platt: (pa, pb),
            alpha,
            train_window: (from, to),
            metrics: Metrics {
                n_train: y.len(),
                n_positive: y.iter().filter(|&&v| v).count(),
                n_valid: yva.len(),
                n_valid_positive: yva.iter().filter(|&&v| v).count(),
                auc_by_alpha,
                auc_by_forest_depth,
                auc_valid,
                brier_valid,
                brier_base_rate,
            },
        };
        Ok((model, valid))
    }

    /// Calibrated probabilities for rows of `x` whose columns are `features`, with their
    /// main categories.
    ///
    /// # Errors
    /// [`Error::Mismatch`] when the columns differ from the model's.
    pub fn predict(
        &self,
        features: &[String],
        x: &Array2<f64>,
        categories: &[Option<&str>],
    ) -> Result<Vec<f64>> {
        let trained = self.features.split_last().map_or(&[][..], |(_, f)| f);
        if features != trained
            || x.ncols() != features.len()
            || categories.len() != x.nrows()
            || (self.forest.is_none() && self.coef.len() != self.features.len())
        {
            return Err(Error::Mismatch(format!(
                "{MODEL} {} was trained on features [{}] but is given [{}] ({} rows, {} \
                 categories)",
                self.version,
                self.features.join(", "),
                features.join(", "),
                x.nrows(),
                categories.len()
            )));
        }
        let scaler = Scaler {
            mean: self.mean.clone(),
            sd: self.sd.clone(),
        };
        let all: Vec<usize> = (0..x.nrows()).collect();
        let z = scaler.apply(&self.category_risk.design(x, categories, &all));
        let score: Vec<f64> = match &self.forest {
            Some(f) => f.score(&z),
            None => z
                .rows()
                .into_iter()
                .map(|r| linear(&self.coef, self.intercept, r))
                .collect(),
        };
        Ok(score
            .into_iter()
            .map(|s| sigmoid(self.platt.0 * s + self.platt.1))
            .collect())
    }

    /// Each feature's contribution to the logistic score (coefficient × standardised value),
    /// for explaining one row with its main category (the last contribution is the
    /// category's); empty when the forest scores.
    pub fn contributions(&self, row: &[f64], category: Option<&str>) -> Vec<f64> {
        row.iter()
            .copied()
            .chain([self.category_risk.get(category)])
            .zip(self.coef.iter().zip(self.mean.iter().zip(&self.sd)))
            .map(|(v, (c, (m, sd)))| c * (transform(v) - m) / sd)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_reference_values() {
        // sklearn.metrics.average_precision_score([1,0,1,0],[0.9,0.8,0.7,0.1]) = 0.8333…
        let ap = average_precision(&[0.9, 0.8, 0.7, 0.1], &[true, false, true, false]);
        assert!((ap - 5.0 / 6.0).abs() < 1e-12, "{ap}");
        // Ties enter together: two rows at the top, one positive → precision 1/2.
        let ap = average_precision(&[0.5, 0.5, 0.1], &[true, false, false]);
        assert!((ap - 0.5).abs() < 1e-12, "{ap}");
        assert!(average_precision(&[0.3, 0.2], &[false, false]).is_nan());
    }

    #[test]
    fn auc_reference_values() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            0.75
        );
        assert_eq!(auc(&[1.0, 1.0], &[false, true]), 0.5);
        assert!(auc(&[1.0, 2.0], &[true, true]).is_nan());
    }

    #[test]
    fn platt_recovers_a_logistic_link() {
        // Scores whose true probability is σ(2s − 1): Platt should find a≈2, b≈−1.
        let mut s = vec![];
        let mut y = vec![];
        for i in 0..4000 {
            let v = (i as f64 / 4000.0) * 6.0 - 3.0;
            let p = sigmoid(2.0 * v - 1.0);
            // Deterministic "sampling": the fractional part of a low-discrepancy sequence.
            let u = (i as f64 * 0.618_033_988_75).fract();
            s.push(v);
            y.push(u < p);
        }
        let (a, b) = platt(&s, &y);
        assert!((a - 2.0).abs() < 0.2, "a = {a}");
        assert!((b + 1.0).abs() < 0.2, "b = {b}");
    }

    #[test]
    fn a_score_without_skill_does_not_beat_the_base_rate_out_of_its_calibrations_sample() {
        // Twelve weekly dates of 150 rows, 4 % positive, and a score that knows nothing of
        // them (two unrelated low-discrepancy sequences).
        let d0 = NaiveDate::from_ymd_opt(2025, 1, 5).unwrap_or_default();
        let (mut s, mut y, mut dates) = (vec![], vec![], vec![]);
        for i in 0..1800 {
            s.push((i as f64 * 0.754_877_666_2).fract());
            y.push((i as f64 * 0.618_033_988_75).fract() < 0.04);
            dates.push(d0 + chrono::Duration::days(7 * (i / 150) as i64));
        }
        let brier = |p: &dyn Fn(usize) -> f64| {
            (0..y.len())
                .map(|i| (p(i) - f64::from(u8::from(y[i]))).powi(2))
                .sum::<f64>()
                / y.len() as f64
        };
        // Fitted and scored on the same rows, the calibration beats the base rate.
        let (a, b) = platt(&s, &y);
        let rate = y.iter().filter(|&&v| v).count() as f64 / y.len() as f64;
        assert!(brier(&|i| sigmoid(a * s[i] + b)) < brier(&|_| rate));
        // Out of sample it does not.
        let (model, base) = cross_fitted_brier(&s, &y, &dates);
        assert!(model >= base, "{model} against {base}");
        // A score that knows the outcome beats it out of sample too.
        let knowing: Vec<f64> = y.iter().map(|&t| f64::from(u8::from(t))).collect();
        let (model, base) = cross_fitted_brier(&knowing, &y, &dates);
        assert!(model < 0.5 * base, "{model} against {base}");
        // One date: fitted and scored on every row.
        let one = vec![d0; y.len()];
        let (model, base) = cross_fitted_brier(&s, &y, &one);
        assert!((base - brier(&|_| rate)).abs() < 1e-12);
        assert!((model - brier(&|i| sigmoid(a * s[i] + b))).abs() < 1e-12);
    }

    #[test]
    fn the_choice_among_scores_without_skill_does_not_validate_out_of_its_sample() {
        use rand::{Rng, SeedableRng};
        // Twenty weekly dates of 60 rows, 8 % positive, and 30 candidate scores that know
        // nothing of them: the best AUC read on the rows that chose it looks like skill.
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let d0 = NaiveDate::from_ymd_opt(2025, 1, 5).unwrap_or_default();
        let n = 1200;
        let y: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.08).collect();
        let dates: Vec<NaiveDate> = (0..n)
            .map(|i| d0 + chrono::Duration::days(7 * (i / 60) as i64))
            .collect();
        let mut scores: Vec<Vec<f64>> = (0..30)
            .map(|_| (0..n).map(|_| rng.random::<f64>()).collect())
            .collect();
        let every: Vec<usize> = (0..n).collect();
        let in_sample = auc(&scores[pick(&scores, 30, &y, &every)], &y);
        let held_out = cross_fitted_auc(&scores, 30, &y, &dates);
        assert!(in_sample > 0.55, "{in_sample}");
        assert!((held_out - 0.5).abs() < 0.05, "{held_out}");
        // A score that knows something is chosen on either fold and keeps its AUC held out.
        scores.push(
            y.iter()
                .map(|&t| f64::from(u8::from(t)) + 2.0 * rng.random::<f64>())
                .collect(),
        );
        let knowing = auc(&scores[30], &y);
        assert!(knowing > 0.6, "{knowing}");
        assert_eq!(pick(&scores, 31, &y, &every), 30);
        let held_out = cross_fitted_auc(&scores, 31, &y, &dates);
        assert!(
            (held_out - knowing).abs() < 0.05,
            "{held_out} against {knowing}"
        );
        // One date: the choice is read where it was made.
        let one = vec![d0; n];
        assert_eq!(cross_fitted_auc(&scores, 31, &y, &one), knowing);
    }

    fn synthetic(n_dates: usize) -> (Array2<f64>, Vec<bool>, Vec<NaiveDate>) {
        let d0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
        let mut rows = vec![];
        let mut y = vec![];
        let mut dates = vec![];
        for d in 0..n_dates {
            for c in 0..60 {
                let signal = ((c * 7 + d * 3) % 11) as f64; // informative
                let noise = ((c * 13 + d * 5) % 7) as f64; // not
                let u = ((c * 31 + d * 17) as f64 * 0.618_033_988_75).fract();
                y.push(u < sigmoid(signal - 8.0));
                rows.extend([signal, noise]);
                dates.push(d0 + chrono::Duration::days(7 * d as i64));
            }
        }
        (
            Array2::from_shape_vec((y.len(), 2), rows).unwrap(),
            y,
            dates,
        )
    }

    #[test]
    fn a_forest_scores_when_only_trees_can_learn_the_signal() {
        // Escalations at both ends of the first feature: no linear score ranks them.
        let d0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
        let (mut rows, mut y, mut dates) = (vec![], vec![], vec![]);
        for d in 0..40 {
            for c in 0..60 {
                let v = ((c * 7 + d * 3) % 11) as f64;
                let noise = ((c * 13 + d * 5) % 7) as f64;
                let u = ((c * 31 + d * 17) as f64 * 0.618_033_988_75).fract();
                y.push(u < if v <= 1.0 || v >= 9.0 { 0.7 } else { 0.03 });
                rows.extend([v, noise]);
                dates.push(d0 + chrono::Duration::days(7 * d as i64));
            }
        }
        let x = Array2::from_shape_vec((y.len(), 2), rows).unwrap();
        let names = vec!["v".to_string(), "noise".to_string()];
        let none = vec![None; y.len()];
        let p = TrainParams {
            forest_depths: vec![3],
            ..TrainParams::default()
        };
        let m = EscalationModel::train(&names, &x, &none, &y, &dates, &p).unwrap();
        let forest = m.forest.as_ref().expect("the forest validates better");
        assert_eq!(forest.trees.len(), p.forest_trees);
        assert!(
            m.version.starts_with("escalation-forest-d3-"),
            "{}",
            m.version
        );
        let lr_auc = m
            .metrics
            .auc_by_alpha
            .iter()
            .map(|a| a.1)
            .fold(0.0, f64::max);
        assert!(
            m.metrics.auc_valid > 0.85 && lr_auc < 0.7,
            "{:?}",
            m.metrics
        );
        // The artefact round-trips and scores the same.
        let back: EscalationModel =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        let (a, b) = (
            m.predict(&names, &x, &none).unwrap(),
            back.predict(&names, &x, &none).unwrap(),
        );
        assert_eq!(a, b);
        let mean = |pos: bool| {
            let v: Vec<f64> = (0..y.len())
                .filter(|&i| y[i] == pos)
                .map(|i| a[i])
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(mean(true) > 2.0 * mean(false));
        // Off by default: the logistic regression alone.
        let lr =
            EscalationModel::train(&names, &x, &none, &y, &dates, &TrainParams::default()).unwrap();
        assert!(lr.forest.is_none() && lr.metrics.auc_by_forest_depth.is_empty());
    }

    #[test]
    fn learns_the_informative_feature_and_keeps_its_window() {
        let (x, y, dates) = synthetic(40);
        let names = vec!["signal".to_string(), "noise".to_string()];
        let none = vec![None; y.len()];
        let m =
            EscalationModel::train(&names, &x, &none, &y, &dates, &TrainParams::default()).unwrap();
        assert!(m.metrics.auc_valid > 0.8, "{:?}", m.metrics);
        assert!(
            m.coef[0] > 0.0 && m.coef[0].abs() > 3.0 * m.coef[1].abs(),
            "{:?}",
            m.coef
        );
        assert!(m.metrics.brier_valid < m.metrics.brier_base_rate);
        assert_eq!(m.train_window.0, dates[0]);
        let p = m.predict(&names, &x, &none).unwrap();
        let hi: f64 = p
            .iter()
            .zip(&y)
            .filter(|(_, &t)| t)
            .map(|(p, _)| p)
            .sum::<f64>();
        let lo: f64 = p
            .iter()
            .zip(&y)
            .filter(|(_, &t)| !t)
            .map(|(p, _)| p)
            .sum::<f64>();
        let npos = y.iter().filter(|&&t| t).count() as f64;
        assert!(hi / npos > lo / (y.len() as f64 - npos));
        // Round trip through JSON.
        let back: EscalationModel =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        // Columns in another order are refused.
        let swapped = vec!["noise".to_string(), "signal".to_string()];
        assert!(matches!(
            m.predict(&swapped, &x, &none),
            Err(Error::Mismatch(_))
        ));
        assert!(matches!(
            m.predict(&names, &x, &none[1..]),
            Err(Error::Mismatch(_))
        ));
    }

    #[test]
    fn category_rates_are_smoothed_towards_the_overall_rate() {
        // A: 2 escalations in 10 rows; B: none in 30; one row without a category.
        let mut cats = vec![Some("A"); 10];
        cats.extend(vec![Some("B"); 30]);
        cats.push(None);
        let mut y = vec![false; 41];
        y[0] = true;
        y[1] = true;
        let all: Vec<usize> = (0..41).collect();
        let r = CategoryRisk::fit(&cats, &y, &all, 10.0);
        let overall = 2.0 / 41.0;
        assert!((r.overall - 1000.0 * overall).abs() < 1e-9);
        assert!((r.get(Some("A")) - 1000.0 * (2.0 + 10.0 * overall) / 20.0).abs() < 1e-9);
        assert!((r.get(Some("B")) - 1000.0 * (10.0 * overall) / 40.0).abs() < 1e-9);
        assert_eq!(r.get(Some("unseen")), r.overall);
        assert_eq!(r.get(None), r.overall);
        // Only the rows given count: without A's rows, B's rate is 0 (overall 0).
        let b_only: Vec<usize> = (10..41).collect();
        assert_eq!(
            CategoryRisk::fit(&cats, &y, &b_only, 10.0).get(Some("B")),
            0.0
        );
    }

    #[test]
    fn learns_which_categories_escalate() {
        // Same numeric features; rows of category "dispute" escalate five times as often as
        // rows of "noise". The model must rank a dispute row above a noise row.
        let (x, _, dates) = synthetic(40);
        let names = vec!["signal".to_string(), "noise".to_string()];
        let mut cats = vec![];
        let mut y = vec![];
        for i in 0..x.nrows() {
            let dispute = i % 2 == 0;
            let u = (i as f64 * 0.618_033_988_75).fract();
            let p = sigmoid(x[[i, 0]] - 8.0) * if dispute { 1.0 } else { 0.2 };
            cats.push(Some(if dispute { "dispute" } else { "noise" }));
            y.push(u < p);
        }
        let m =
            EscalationModel::train(&names, &x, &cats, &y, &dates, &TrainParams::default()).unwrap();
        assert!(
            m.category_risk.get(Some("dispute")) > 2.0 * m.category_risk.get(Some("noise")),
            "{:?}",
            m.category_risk
        );
        let row = x.select(Axis(0), &[0, 0]);
        let p = m
            .predict(&names, &row, &[Some("dispute"), Some("noise")])
            .unwrap();
        assert!(p[0] > 1.5 * p[1], "{p:?}");
        assert!(*m.coef.last().unwrap() > 0.0, "{:?}", m.coef);
        let c = m.contributions(&[x[[0, 0]], x[[0, 1]]], Some("dispute"));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn refuses_too_little_data() {
        let (x, y, dates) = synthetic(2);
        let names = vec!["signal".to_string(), "noise".to_string()];
        let none = vec![None; y.len()];
        let e = EscalationModel::train(&names, &x, &none, &y, &dates, &TrainParams::default());
        assert!(matches!(e, Err(Error::TooLittleData { .. })), "{e:?}");
    }
}
