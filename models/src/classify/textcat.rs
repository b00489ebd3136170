//! The text category classifier: Chinese complaint text → second-level category.
//!
//! Features are jieba words and character bigrams, weighted by TF-IDF (sublinear term
//! frequency, L2-normalised) over a vocabulary of the most frequent terms of the training
//! texts. Two linfa models are trained — multinomial naive Bayes (on every training text, in
//! chunks) and multinomial logistic regression (on a capped sample) — and the one with the
//! better macro-F1 on a held-out fifth is kept. The artefact (serde) carries its vocabulary,
//! classes and validation metrics; it refuses to train on too few labelled texts.

use std::collections::HashMap;

use jieba_rs::Jieba;
use linfa::prelude::*;
use linfa_logistic::{MultiFittedLogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

const MODEL: &str = "text classifier";

/// Training settings.
#[derive(Debug, Clone)]
pub struct TextParams {
    /// Vocabulary size.
    pub vocab: usize,
    /// Minimum labelled texts.
    pub min_texts: usize,
    /// Minimum texts per class (rarer classes are left out).
    pub min_per_class: usize,
    /// Rows of the logistic regression's training sample.
    pub lr_sample: usize,
    /// Logistic regression iterations.
    pub lr_iterations: u64,
    /// At most this many labelled texts are used (an even sample across the period): the
    /// vocabulary and the class frequencies settle long before a city's millions of texts.
    pub max_texts: usize,
}

impl Default for TextParams {
    fn default() -> Self {
        TextParams {
            vocab: 2000,
            min_texts: 200,
            min_per_class: 5,
            lr_sample: 3000,
            lr_iterations: 60,
            max_texts: 150_000,
        }
    }
}

/// Validation figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TextMetrics {
    /// Training texts.
    pub n_train: usize,
    /// Held-out texts.
    pub n_valid: usize,
    /// Macro-F1 of naive Bayes on the held-out texts.
    pub macro_f1_naive_bayes: f64,
    /// Macro-F1 of logistic regression on the held-out texts.
    pub macro_f1_logistic: f64,
    /// Accuracy of the kept model.
    pub accuracy: f64,
    /// The kept model.
    pub chosen: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Fitted {
    NaiveBayes(SparseNb),
    Logistic(MultiFittedLogisticRegression<f64, usize>),
}

/// A trained text classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextModel {
    /// Vocabulary (terms), in column order.
    pub vocab: Vec<String>,
    /// Inverse document frequency per term.
    pub idf: Vec<f64>,
    /// Class labels.
    pub classes: Vec<String>,
    /// Validation figures.
    pub metrics: TextMetrics,
    fitted: Fitted,
}

/// The labels the ingest masks identifiers and names with (`weaksignal_pipeline`'s
/// `normalize` and `names`).
pub const MASK_LABELS: [&str; 9] = [
    "姓名",
    "手机号",
    "电话",
    "身份证号",
    "银行卡号",
    "号码",
    "邮箱",
    "账号",
    "已脱敏",
];

/// `text` without the ingest's mask labels ([`MASK_LABELS`] in brackets), which say nothing
/// of the problem; borrowed when it has none.
fn without_masks(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('[') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let label = (after.find(']'))
            .map(|close| &after[..close])
            .filter(|l| MASK_LABELS.contains(l));
        match label {
            Some(l) => {
                out.push_str(&rest[..open]);
                out.push(' ');
                rest = &after[l.len() + 1..];
            }
            None => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.into()
}

/// Calls `f` with each term of a text: jieba words of two characters or more (`w:…`) and
/// character bigrams of its Chinese runs (`b:…`), through one reused buffer. The ingest's
/// mask labels are left out ([`without_masks`]).
fn each_term(jieba: &Jieba, text: &str, mut f: impl FnMut(&str)) {
    let text = without_masks(text);
    let text = text.as_ref();
    let mut key = String::new();
    for w in jieba.cut(text, false) {
        let w = w.word;
        if w.chars().nth(1).is_some() && w.chars().all(char::is_alphanumeric) {
            key.clear();
            key.push_str("w:");
            key.push_str(w);
            f(&key);
        }
    }
    let mut prev: Option<char> = None;
    for c in text.chars() {
        let han = ('\u{4e00}'..='\u{9fff}').contains(&c);
        if let (Some(p), true) = (prev, han) {
            key.clear();
            key.push_str("b:");
            key.push(p);
            key.push(c);
            f(&key);
        }
        prev = han.then_some(c);
    }
}

/// Splits a text into terms: jieba words (two characters or more) and character bigrams of
/// its Chinese runs.
pub fn terms(jieba: &Jieba, text: &str) -> Vec<String> {
    let mut out = vec![];
    each_term(jieba, text, |t| out.push(t.to_owned()));
    out
}

/// The TF-IDF vector of a text (sublinear term frequency, L2-normalised), sparse.
fn sparse(
    jieba: &Jieba,
    text: &str,
    index: &HashMap<&str, usize>,
    idf: &[f64],
) -> Vec<(usize, f64)> {
    let mut tf: HashMap<usize, f64> = HashMap::new();
    each_term(jieba, text, |key| {
        if let Some(&j) = index.get(key) {
            *tf.entry(j).or_default() += 1.0;
        }
    });
    let mut v: Vec<(usize, f64)> = tf
        .into_iter()
        .map(|(j, c)| (j, (1.0 + f64::ln(c)) * idf[j]))
        .collect();
    v.sort_by_key(|e| e.0);
    let norm = v.iter().map(|e| e.1 * e.1).sum::<f64>().sqrt();
    if norm > 0.0 {
        for e in &mut v {
            e.1 /= norm;
        }
    }
    v
}

/// Dense TF-IDF rows (for the logistic regression).
fn dense(rows: &[Vec<(usize, f64)>], width: usize) -> Array2<f64> {
    let mut x = Array2::<f64>::zeros((rows.len(), width));
    for (i, r) in rows.iter().enumerate() {
        for &(j, v) in r {
            x[[i, j]] = v;
        }
    }
    x
}

/// Multinomial naive Bayes on sparse TF-IDF rows, with additive (Lidstone) smoothing: the
/// same model as scikit-learn's `MultinomialNB`, in O(non-zeros) for fitting and predicting.
/// (linfa-bayes 0.8.1 prints every class histogram to stderr on each fit, through a
/// leftover `dbg!`, so it cannot run in a nightly batch.)
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SparseNb {
    log_prior: Vec<f64>,
    /// Per class, the log probability of each term.
    log_prob: Vec<Vec<f64>>,
}

impl SparseNb {
    fn fit(
        rows: &[Vec<(usize, f64)>],
        y: &[usize],
        n_classes: usize,
        width: usize,
        alpha: f64,
    ) -> SparseNb {
        let mut count = vec![vec![0.0; width]; n_classes];
        let mut n = vec![0.0; n_classes];
        for (r, &c) in rows.iter().zip(y) {
            n[c] += 1.0;
            for &(j, v) in r {
                count[c][j] += v;
            }
        }
        let total: f64 = n.iter().sum();
        let log_prob = count
            .into_iter()
            .map(|cnt| {
                let sum: f64 = cnt.iter().sum::<f64>() + alpha * width as f64;
                cnt.into_iter().map(|v| ((v + alpha) / sum).ln()).collect()
            })
            .collect();
        SparseNb {
            log_prior: n.iter().map(|&k| (k.max(1e-12) / total).ln()).collect(),
            log_prob,
        }
    }

    fn predict(&self, row: &[(usize, f64)]) -> usize {
        let mut best = (f64::NEG_INFINITY, 0);
        for (c, lp) in self.log_prob.iter().enumerate() {
            let s = self.log_prior[c] + row.iter().map(|&(j, v)| v * lp[j]).sum::<f64>();
            if s > best.0 {
                best = (s, c);
            }
        }
        best.1
    }
}

/// Macro-averaged F1 over the classes present in `truth` or `pred`.
pub fn macro_f1(truth: &[usize], pred: &[usize], n_classes: usize) -> f64 {
    let mut tp = vec![0.0; n_classes];
    let mut fp = vec![0.0; n_classes];
    let mut fn_ = vec![0.0; n_classes];
    for (&t, &p) in truth.iter().zip(pred) {
        if t == p {
            tp[t] += 1.0;
        } else {
            fp[p] += 1.0;
            fn_[t] += 1.0;
        }
    }
    let mut sum = 0.0;
    let mut k = 0.0;
    for c in 0..n_classes {
        if tp[c] + fp[c] + fn_[c] == 0.0 {
            continue;
        }
        sum += 2.0 * tp[c] / (2.0 * tp[c] + fp[c] + fn_[c]);
        k += 1.0;
    }
    if k == 0.0 {
        0.0
    } else {
        sum / k
    }
}

fn fit_err(e: impl std::fmt::Display) -> Error {
    Error::Fit {
        model: MODEL,
        reason: e.to_string(),
    }
}

/// Texts per block of parallel work.
const CHUNK: usize = 2000;

/// Applies `f` to blocks of texts on every core, keeping the order.
fn predict_blocks<F>(texts: &[&str], f: F) -> Vec<usize>
where
    F: Fn(&[&str]) -> Vec<usize> + Sync,
{
    use rayon::prelude::*;
    texts.par_chunks(CHUNK).flat_map_iter(&f).collect()
}

impl TextModel {
    /// Trains on `(text, label)` pairs.
    ///
    /// # Errors
    /// [`Error::TooLittleData`] below `min_texts` labelled texts or with fewer than two
    /// classes; [`Error::Fit`] when a learner fails.
    pub fn train(texts: &[&str], labels: &[&str], p: &TextParams) -> Result<TextModel> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for l in labels {
            *counts.entry(l).or_default() += 1;
        }
        let mut classes: Vec<String> = counts
            .iter()
            .filter(|(_, &n)| n >= p.min_per_class)
            .map(|(c, _)| c.to_string())
            .collect();
        classes.sort();
        let class_ix: HashMap<&str, usize> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let rows: Vec<usize> = (0..texts.len())
            .filter(|&i| class_ix.contains_key(labels[i]))
            .collect();
        if rows.len() < p.min_texts || classes.len() < 2 {
            return Err(Error::TooLittleData {
                model: MODEL,
                what: "train",
                reason: format!(
                    "{} labelled texts in {} classes with at least {} texts; needs {} texts and \
                     two classes",
                    rows.len(),
                    classes.len(),
                    p.min_per_class,
                    p.min_texts
                ),
            });
        }
        // An even sample of at most `max_texts`; every fifth row is held out (rows come in
        // time order, so both parts span the period).
        let step = rows.len().div_ceil(p.max_texts.max(1)).max(1);
        let rows: Vec<usize> = rows.into_iter().step_by(step).collect();
        let (valid, train): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&i| i % 5 == 4);
        let jieba = Jieba::new();
        let mut df: HashMap<String, usize> = HashMap::new();
        for &i in &train {
            let mut seen: Vec<String> = terms(&jieba, texts[i]);
            seen.sort();
            seen.dedup();
            for t in seen {
                *df.entry(t).or_default() += 1;
            }
        }
        let mut vocab: Vec<(String, usize)> = df.into_iter().filter(|(_, n)| *n >= 2).collect();
        vocab.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        vocab.truncate(p.vocab);
        let n_docs = train.len() as f64;
        let idf: Vec<f64> = vocab
            .iter()
            .map(|(_, n)| ((1.0 + n_docs) / (1.0 + *n as f64)).ln() + 1.0)
            .collect();
        let vocab: Vec<String> = vocab.into_iter().map(|(t, _)| t).collect();
        let index: HashMap<&str, usize> = vocab
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        let sub = |ix: &[usize]| ix.iter().map(|&i| texts[i]).collect::<Vec<&str>>();
        let ytr: Vec<usize> = train.iter().map(|&i| class_ix[labels[i]]).collect();
        let yva: Vec<usize> = valid.iter().map(|&i| class_ix[labels[i]]).collect();
        let vec_of = |ix: &[usize]| -> Vec<Vec<(usize, f64)>> {
            use rayon::prelude::*;
            sub(ix)
                .par_iter()
                .map(|t| sparse(&jieba, t, &index, &idf))
                .collect()
        };
        let xtr = vec_of(&train);
        let xva = vec_of(&valid);
        let nb = SparseNb::fit(&xtr, &ytr, classes.len(), vocab.len(), 0.1);
        let pred_nb: Vec<usize> = xva.iter().map(|r| nb.predict(r)).collect();
        let f1_nb = macro_f1(&yva, &pred_nb, classes.len());
        let step = (train.len() / p.lr_sample.max(1)).max(1);
        let lr_rows: Vec<usize> = (0..train.len()).step_by(step).collect();
        let lr_x: Vec<Vec<(usize, f64)>> = lr_rows.iter().map(|&i| xtr[i].clone()).collect();
        let lr_ds = Dataset::new(
            dense(&lr_x, vocab.len()),
            Array1::from(lr_rows.iter().map(|&i| ytr[i]).collect::<Vec<_>>()),
        );
        let lr = MultiLogisticRegression::default()
            .alpha(1e-3)
            .max_iterations(p.lr_iterations)
            .fit(&lr_ds)
            .map_err(fit_err)?;
        let pred_lr: Vec<usize> = xva
            .chunks(CHUNK)
            .flat_map(|c| lr.predict(&dense(c, vocab.len())).to_vec())
            .collect();
        let f1_lr = macro_f1(&yva, &pred_lr, classes.len());
        let (fitted, chosen, pred) = if f1_lr > f1_nb {
            (Fitted::Logistic(lr), "logistic regression", pred_lr)
        } else {
            (Fitted::NaiveBayes(nb), "multinomial naive Bayes", pred_nb)
        };
        let accuracy =
            yva.iter().zip(&pred).filter(|(a, b)| a == b).count() as f64 / yva.len().max(1) as f64;
        Ok(TextModel {
            vocab,
            idf,
            classes,
            metrics: TextMetrics {
                n_train: train.len(),
                n_valid: valid.len(),
                macro_f1_naive_bayes: f1_nb,
                macro_f1_logistic: f1_lr,
                accuracy,
                chosen: chosen.into(),
            },
            fitted,
        })
    }

    /// The predicted category of each text.
    pub fn predict(&self, texts: &[&str]) -> Vec<String> {
        let jieba = Jieba::new();
        let index: HashMap<&str, usize> = self
            .vocab
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        predict_blocks(texts, |chunk| {
            let rows: Vec<Vec<(usize, f64)>> = chunk
                .iter()
                .map(|t| sparse(&jieba, t, &index, &self.idf))
                .collect();
            match &self.fitted {
                Fitted::NaiveBayes(m) => rows.iter().map(|r| m.predict(r)).collect(),
                Fitted::Logistic(m) => m.predict(&dense(&rows, self.idf.len())).to_vec(),
            }
        })
        .into_iter()
        .map(|c| self.classes[c].clone())
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_labels_are_no_terms() {
        assert_eq!(
            without_masks("信访人[姓名]反映电梯停运，电话[手机号]"),
            "信访人 反映电梯停运，电话 "
        );
        // Brackets that are no mask stay, and so does an unclosed one.
        for text in [
            "[3号楼]漏水",
            "[紧急]电梯困人很久了没人管",
            "电梯[坏",
            "【姓名】",
        ] {
            assert_eq!(without_masks(text), text);
        }
        let jieba = Jieba::new();
        let masked = terms(&jieba, "信访人[姓名]反映电梯停运");
        assert!(!masked.iter().any(|t| t.contains("姓名")), "{masked:?}");
        assert_eq!(masked, terms(&jieba, "信访人 反映电梯停运"));
    }

    #[test]
    fn macro_f1_reference_values() {
        // Class 0: tp 1, fn 1 → F1 2/3; class 1: tp 1, fp 1 → 2/3.
        assert!((macro_f1(&[0, 0, 1], &[0, 1, 1], 2) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(macro_f1(&[0, 1], &[0, 1], 2), 1.0);
    }

    #[test]
    fn learns_categories_from_text_and_refuses_too_few() {
        let templates = [
            (
                "电梯故障",
                ["电梯又坏了困人", "电梯停运无人维修", "电梯异响存在安全隐患"],
            ),
            (
                "噪音扰民",
                ["夜间施工噪音太大", "楼下商铺音响扰民", "广场舞噪音影响休息"],
            ),
            (
                "供水问题",
                ["小区停水没有通知", "自来水发黄有异味", "水压太低楼上没水"],
            ),
        ];
        let mut texts = vec![];
        let mut labels = vec![];
        for i in 0..300 {
            let (label, variants) = &templates[i % 3];
            texts.push(format!("市民反映{},请尽快处理{}", variants[(i / 3) % 3], i));
            labels.push(*label);
        }
        let t: Vec<&str> = texts.iter().map(String::as_str).collect();
        let m = TextModel::train(&t, &labels, &TextParams::default()).unwrap();
        assert!(m.metrics.macro_f1_naive_bayes > 0.95, "{:?}", m.metrics);
        assert_eq!(
            m.predict(&["电梯坏了困人一小时"]),
            vec!["电梯故障".to_string()]
        );
        let back: TextModel = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(
            back.predict(&["晚上施工噪音"]),
            vec!["噪音扰民".to_string()]
        );
        let few = TextModel::train(&t[..50], &labels[..50], &TextParams::default());
        assert!(matches!(few, Err(Error::TooLittleData { .. })));
    }
}
