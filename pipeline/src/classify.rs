//! The text classifier over the lake: trains on the records whose category was given and
//! fills blank categories, month by month and incrementally.
//!
//! - The model (`lake/_models/textcat.json`) is retrained when there is none, when it is
//!   `retrain_days` old, when the taxonomy changed (then every blank category is predicted
//!   again: the old model's labels may be gone), or on request; otherwise the stored one is
//!   used.
//! - Predictions live in `lake/classified/month=<YYYY-MM>/part-0.parquet` beside the records
//!   partitions. A month is redone only when its records changed (`lake/_state/classified.json`
//!   keeps each month's fingerprint), and within it only records whose text changed are
//!   predicted again: a nightly run with one new day classifies that day's texts only.
//!   Predictions made by an older model are kept until their text changes.
//! - With `audit`, every record is predicted, and given categories that disagree with the
//!   model are flagged as likely mislabelled.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use weaksignal_models::classify::textcat::{TextMetrics, TextModel, TextParams};

use crate::config::Config;
use crate::error::IoContext;
use crate::features::{sql_str, text_rows};
use crate::{lake, Result};

/// Settings of one classification run.
#[derive(Debug, Clone)]
pub struct ClassifyOptions {
    /// The run date (the model's age is measured from it).
    pub as_of: NaiveDate,
    /// Retrain even when the stored model is recent.
    pub retrain: bool,
    /// Retrain when the stored model is this many days old.
    pub retrain_days: i64,
    /// Predict every record and flag given categories the model disagrees with.
    pub audit: bool,
}

/// What a classification run did.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifySummary {
    /// Validation figures of the model used.
    pub metrics: TextMetrics,
    /// The date the model was trained on.
    pub trained_as_of: NaiveDate,
    /// Whether this run trained it.
    pub trained_now: bool,
    /// Months whose predictions were (re)written.
    pub months_written: usize,
    /// Texts predicted in this run.
    pub predicted: usize,
    /// Blank categories filled (every month).
    pub filled: usize,
    /// Given categories flagged as likely mislabelled (audit only).
    pub flagged: usize,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    as_of: NaiveDate,
    model: TextModel,
    /// BLAKE3 of the taxonomy file it was trained under (none before session 27).
    #[serde(default)]
    taxonomy: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// month → fingerprint of its records partitions and the audit flag.
    months: BTreeMap<String, String>,
}

fn model_path(lake: &Path) -> PathBuf {
    lake.join("_models").join("textcat.json")
}

fn state_path(lake: &Path) -> PathBuf {
    lake.join("_state").join("classified.json")
}

/// Month partition folder of the predictions.
pub fn classified_dir(lake: &Path, month: &str) -> PathBuf {
    lake.join("classified").join(format!("month={month}"))
}

/// A hash of each month's partitions (their paths and BLAKE3 digests) under `lake/<table>` (all channels), month → hex.
///
/// # Errors
/// An unreadable lake folder.
pub fn month_fingerprints(lake: &Path, table: &str) -> Result<BTreeMap<String, String>> {
    fn walk(d: &Path, month: Option<&str>, out: &mut BTreeMap<String, Vec<PathBuf>>) -> Result<()> {
        let Ok(rd) = std::fs::read_dir(d) else {
            return Ok(());
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                let m = name.strip_prefix("month=").or(month);
                walk(&p, m, out)?;
            } else if let (Some(m), true) = (month, name.ends_with(".parquet")) {
                out.entry(m.to_string()).or_default().push(p);
            }
        }
        Ok(())
    }
    let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    walk(&lake.join(table), None, &mut files)?;
    let mut out = BTreeMap::new();
    for (month, mut v) in files {
        v.sort();
        let mut h = Sha256::new();
        for p in v {
            let rel = p
                .strip_prefix(lake)
                .unwrap_or(&p)
                .to_string_lossy()
                .to_string();
            h.update(rel.as_bytes());
            h.update(crate::nightly::file_digest(&p)?.as_bytes());
        }
        out.insert(month, hex::encode(h.finalize()));
    }
    Ok(out)
}

fn text_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

async fn train(ctx: &SessionContext, params: &TextParams) -> Result<TextModel> {
    // Pick an even sample of the labelled records by id first, then read only their texts.
    let ids = text_rows(
        ctx,
        "SELECT record_id FROM records WHERE category_l2 IS NOT NULL
         ORDER BY received_at, record_id",
    )
    .await?;
    let step = ids.len().div_ceil(params.max_texts.max(1)).max(1);
    let sample: Vec<String> = ids
        .into_iter()
        .step_by(step)
        .filter_map(|mut r| r.pop())
        .collect();
    let _ = ctx.deregister_table("sample_ids")?;
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, false)])),
        vec![Arc::new(StringArray::from(sample))],
    )?;
    ctx.register_batch("sample_ids", batch)?;
    let rows = text_rows(
        ctx,
        "SELECT content, category_l2 FROM records JOIN sample_ids ON record_id = id
         ORDER BY received_at, record_id",
    )
    .await?;
    ctx.deregister_table("sample_ids")?;
    let texts: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let labels: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    Ok(TextModel::train(&texts, &labels, params)?)
}

fn load_model(lake: &Path) -> Option<Stored> {
    let text = std::fs::read_to_string(model_path(lake)).ok()?;
    serde_json::from_str(&text).ok()
}

fn save_model(lake: &Path, stored: &Stored) -> Result<()> {
    // Through a `Value`, whose maps are ordered: linfa keeps classes in a HashMap, and the
    // same model must always be written as the same bytes.
    let value = serde_json::to_value(stored)?;
    let p = model_path(lake);
    lake::write_atomic(&p, |f| Ok(serde_json::to_writer(f, &value)?))
}

/// Old predictions of a month: record id → (text hash, predicted).
fn read_previous(lake: &Path, month: &str) -> HashMap<String, (String, String)> {
    let p = classified_dir(lake, month).join("part-0.parquet");
    let mut out = HashMap::new();
    let Ok(f) = std::fs::File::open(&p) else {
        return out;
    };
    let Ok(reader) = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .and_then(|b| b.build())
    else {
        return out;
    };
    for b in reader.flatten() {
        let (Some(id), Some(h), Some(pr)) = (
            b.column_by_name("record_id"),
            b.column_by_name("text_hash"),
            b.column_by_name("predicted"),
        ) else {
            continue;
        };
        let (id, h, pr) = (
            id.as_string::<i32>(),
            h.as_string::<i32>(),
            pr.as_string::<i32>(),
        );
        for i in 0..b.num_rows() {
            if !id.is_null(i) {
                out.insert(
                    id.value(i).to_string(),
                    (h.value(i).to_string(), pr.value(i).to_string()),
                );
            }
        }
    }
    out
}

/// Trains (or loads) the text classifier and brings the lake's predictions up to date.
///
/// # Errors
/// [`Error::Model`] when there are too few labelled texts to train; lake and DataFusion
/// errors.
pub async fn classify_lake(cfg: &Config, opts: &ClassifyOptions) -> Result<ClassifySummary> {
    let lake_dir = cfg.resolve(&cfg.lake);
    let ctx = crate::features::session(&lake_dir).await?;
    // A single-file table from before the month partitions is replaced.
    let legacy = lake_dir.join("classified").join("part-0.parquet");
    if legacy.exists() {
        std::fs::remove_file(&legacy).at(&legacy)?;
    }
    // A changed taxonomy (a category added, renamed or split) retrains the model at once,
    // and its predictions replace all the old model's: the labels it knew may be gone.
    let taxonomy = crate::nightly::file_digest(&cfg.resolve(&cfg.reference.taxonomy)).ok();
    let stored = load_model(&lake_dir);
    let new_taxonomy = stored.as_ref().is_some_and(|s| s.taxonomy != taxonomy);
    let stored = stored.filter(|s| {
        !opts.retrain
            && !new_taxonomy
            && s.as_of <= opts.as_of
            && (opts.as_of - s.as_of).num_days() < opts.retrain_days
    });
    let (stored, trained_now) = match stored {
        Some(s) => (s, false),
        None => {
            let model = train(&ctx, &TextParams::default()).await?;
            let s = Stored {
                as_of: opts.as_of,
                model,
                taxonomy: taxonomy.clone(),
            };
            save_model(&lake_dir, &s)?;
            (s, true)
        }
    };
    let model = &stored.model;
    let mut state: State = std::fs::read(state_path(&lake_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|_| !new_taxonomy)
        .unwrap_or_default();
    let fingerprints = month_fingerprints(&lake_dir, "records")?;
    let mut summary = ClassifySummary {
        metrics: model.metrics.clone(),
        trained_as_of: stored.as_of,
        trained_now,
        months_written: 0,
        predicted: 0,
        filled: 0,
        flagged: 0,
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new("text_hash", DataType::Utf8, false),
        Field::new("predicted", DataType::Utf8, false),
        Field::new("fills_blank", DataType::Boolean, false),
        Field::new("mislabel_suspect", DataType::Boolean, false),
    ]));
    for (month, fp) in &fingerprints {
        let key = format!("{fp}{}", if opts.audit { "+audit" } else { "" });
        if state.months.get(month) == Some(&key) {
            continue;
        }
        let rows = text_rows(
            &ctx,
            &format!(
                "SELECT record_id, content, COALESCE(category_l2, '') FROM records
                 WHERE month = {} {} ORDER BY record_id",
                sql_str(month),
                if opts.audit {
                    ""
                } else {
                    "AND category_l2 IS NULL"
                }
            ),
        )
        .await?;
        let previous = match new_taxonomy {
            true => HashMap::new(),
            false => read_previous(&lake_dir, month),
        };
        let wanted = &rows;
        let hashes: Vec<String> = wanted.iter().map(|r| text_hash(&r[1])).collect();
        let todo: Vec<usize> = (0..wanted.len())
            .filter(|&i| {
                previous
                    .get(&wanted[i][0])
                    .is_none_or(|(h, _)| *h != hashes[i])
            })
            .collect();
        let texts: Vec<&str> = todo.iter().map(|&i| wanted[i][1].as_str()).collect();
        let fresh = model.predict(&texts);
        summary.predicted += fresh.len();
        let mut predicted: Vec<String> = wanted
            .iter()
            .map(|r| previous.get(&r[0]).map(|p| p.1.clone()).unwrap_or_default())
            .collect();
        for (&i, p) in todo.iter().zip(fresh) {
            predicted[i] = p;
        }
        let fills: Vec<bool> = wanted.iter().map(|r| r[2].is_empty()).collect();
        let suspect: Vec<bool> = wanted
            .iter()
            .zip(&predicted)
            .map(|(r, p)| !r[2].is_empty() && r[2] != *p)
            .collect();
        summary.flagged += suspect.iter().filter(|&&s| s).count();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    wanted.iter().map(|r| r[0].as_str()),
                )),
                Arc::new(StringArray::from(hashes)),
                Arc::new(StringArray::from(predicted)),
                Arc::new(BooleanArray::from(fills)),
                Arc::new(BooleanArray::from(suspect)),
            ],
        )?;
        let path = classified_dir(&lake_dir, month).join("part-0.parquet");
        lake::write_atomic(&path, |f| {
            let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None)?;
            w.write(&batch)?;
            w.close()?;
            Ok(())
        })?;
        summary.months_written += 1;
        state.months.insert(month.clone(), key);
        let sp = state_path(&lake_dir);
        lake::write_atomic(&sp, |f| Ok(serde_json::to_writer_pretty(f, &state)?))?;
    }
    let filled = text_rows(
        &crate::features::session(&lake_dir).await?,
        "SELECT COUNT(*) FROM classified WHERE fills_blank",
    )
    .await
    .ok()
    .and_then(|r| {
        r.first()
            .and_then(|r| r.first())
            .and_then(|v| v.parse().ok())
    })
    .unwrap_or(0);
    summary.filled = filled;
    if summary.predicted > 0 {
        tracing::info!(
            predicted = summary.predicted,
            months = summary.months_written,
            "text classifier filled blank categories"
        );
    }
    Ok(summary)
}
