//! A cache of computed features, one Parquet file per date under `lake/_features/`, so a
//! nightly run recomputes only the dates whose inputs changed: the new day, and the recent
//! weeks whose month partitions the night's exports touched.
//!
//! A date's features depend only on the records received up to it (within the detectors'
//! look-back), their filled categories, the registry and the settings. The cache key of a
//! date hashes exactly those: the feature code version, the settings, the compounds, and the
//! fingerprints of the `records` and `classified` month partitions its look-back reads. A
//! file whose key differs is recomputed and replaced (atomically, so a killed run leaves
//! either the old or the new file).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Schema};
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use crate::classify::month_fingerprints;
use crate::error::IoContext;
use crate::features::{compute, end_of_day_ms, FeatureSettings, Row, FEATURES};
use crate::registry::Compound;
use crate::{lake, Result};

/// Bump when a feature query or detector changes: every cached date is then recomputed.
const FEATURE_VERSION: &str = "features-v3";
const KEY: &str = "weaksignal.features.key";
const DAY: i64 = 86_400_000;

/// Cache hits and misses of one call.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheStats {
    /// Dates read from the cache.
    pub hits: usize,
    /// Dates computed (and written to the cache).
    pub computed: usize,
}

fn file_of(lake: &Path, d: NaiveDate) -> PathBuf {
    lake.join("_features").join(format!("as_of={d}.parquet"))
}

fn static_key(compounds: &[Compound], settings: &FeatureSettings) -> Sha256 {
    let mut h = Sha256::new();
    h.update(FEATURE_VERSION);
    for f in FEATURES {
        h.update(f.as_bytes());
        h.update([0]);
    }
    for p in &settings.phrases {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.update(settings.detector_weeks.to_le_bytes());
    for c in compounds {
        h.update(c.compound_id.as_bytes());
        h.update([0]);
        h.update(c.kind.as_bytes());
        h.update([0]);
        h.update(c.population.to_le_bytes());
    }
    h
}

/// The months a date's features read (see `features::base_sql` and `Daily::load`).
fn months_read(d: NaiveDate, settings: &FeatureSettings) -> (String, String) {
    let end = end_of_day_ms(d);
    let back = (7 * (settings.detector_weeks as i64 + 1)).max(86) + 92 + 7;
    (
        crate::ingest::month_of(end - back * DAY),
        crate::ingest::month_of(end),
    )
}

fn to_batch(rows: &[Row]) -> Result<RecordBatch> {
    let mut fields = vec![
        Field::new("compound_id", DataType::Utf8, false),
        Field::new("top_category", DataType::Utf8, true),
        Field::new("trend_category", DataType::Utf8, true),
    ];
    fields.extend(
        FEATURES
            .iter()
            .map(|f| Field::new(*f, DataType::Float64, false)),
    );
    let mut cols: Vec<Arc<dyn Array>> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.compound_id.as_str()),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.top_category.as_deref()),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.trend_category.as_deref()),
        )),
    ];
    for i in 0..FEATURES.len() {
        cols.push(Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.values[i]),
        )));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

fn read(path: &Path, key: &str, as_of: NaiveDate) -> Option<Vec<Row>> {
    let f = std::fs::File::open(path).ok()?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(f).ok()?;
    let stored = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()?
        .iter()
        .find(|kv| kv.key == KEY)
        .and_then(|kv| kv.value.clone())?;
    if stored != key {
        return None;
    }
    let mut out = vec![];
    for b in builder.build().ok()? {
        let b = b.ok()?;
        let id = b.column_by_name("compound_id")?.as_string_opt::<i32>()?;
        let top = b.column_by_name("top_category")?.as_string_opt::<i32>()?;
        let trend = b.column_by_name("trend_category")?.as_string_opt::<i32>()?;
        let vals: Vec<&Float64Array> = FEATURES
            .iter()
            .map(|f| b.column_by_name(f)?.as_primitive_opt::<Float64Type>())
            .collect::<Option<_>>()?;
        let text = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_string());
        for i in 0..b.num_rows() {
            out.push(Row {
                as_of,
                compound_id: id.value(i).to_string(),
                values: vals.iter().map(|v| v.value(i)).collect(),
                top_category: text(top, i),
                trend_category: text(trend, i),
            });
        }
    }
    Some(out)
}

fn write(path: &Path, key: &str, rows: &[Row]) -> Result<()> {
    let batch = to_batch(rows)?;
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(KEY.to_string(), key.to_string())]))
        .build();
    lake::write_atomic(path, |f| {
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), Some(props))?;
        w.write(&batch)?;
        w.close()?;
        Ok(())
    })
}

/// Like [`compute`], reading unchanged dates from the cache and writing the others to it.
/// Cache files of dates not asked for and older than `keep_after` are removed.
///
/// # Errors
/// DataFusion and lake errors.
pub async fn compute_cached(
    ctx: &SessionContext,
    lake: &Path,
    compounds: &[Compound],
    dates: &[NaiveDate],
    settings: &FeatureSettings,
) -> Result<(Vec<Row>, CacheStats)> {
    let mut sorted = dates.to_vec();
    sorted.sort();
    sorted.dedup();
    let records = month_fingerprints(lake, "records")?;
    let classified = month_fingerprints(lake, "classified")?;
    let base = static_key(compounds, settings);
    let key_of = |d: NaiveDate| {
        let mut h = base.clone();
        h.update(d.to_string());
        let (from, to) = months_read(d, settings);
        for (m, fp) in records.range(from.clone()..=to.clone()) {
            h.update(format!("r{m}{fp}"));
        }
        for (m, fp) in classified.range(from..=to) {
            h.update(format!("c{m}{fp}"));
        }
        hex::encode(h.finalize())
    };
    let mut by_date: BTreeMap<NaiveDate, Vec<Row>> = BTreeMap::new();
    let mut missing = vec![];
    let mut keys = HashMap::new();
    for &d in &sorted {
        let key = key_of(d);
        match read(&file_of(lake, d), &key, d).filter(|r| r.len() == compounds.len()) {
            Some(rows) => {
                by_date.insert(d, rows);
            }
            None => missing.push(d),
        }
        keys.insert(d, key);
    }
    let stats = CacheStats {
        hits: by_date.len(),
        computed: missing.len(),
    };
    // Compute the missing dates in slices, writing each slice as soon as it is done, so a
    // killed first run keeps what it finished.
    for slice in missing.chunks(32) {
        let rows = compute(ctx, compounds, slice, settings).await?;
        for chunk in rows.chunk_by(|a, b| a.as_of == b.as_of) {
            let d = chunk[0].as_of;
            if let Some(k) = keys.get(&d) {
                write(&file_of(lake, d), k, chunk)?;
            }
        }
        for r in rows {
            by_date.entry(r.as_of).or_default().push(r);
        }
    }
    tracing::debug!(
        hits = stats.hits,
        computed = stats.computed,
        "feature cache"
    );
    Ok((by_date.into_values().flatten().collect(), stats))
}

/// Removes cached dates other than `keep` that are older than `before`.
///
/// # Errors
/// An unreadable cache folder.
pub fn prune(lake: &Path, keep: &[NaiveDate], before: NaiveDate) -> Result<usize> {
    let dir = lake.join("_features");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(d) = name
            .strip_prefix("as_of=")
            .and_then(|s| s.strip_suffix(".parquet"))
            .and_then(|s| s.parse::<NaiveDate>().ok())
        else {
            continue;
        };
        if d < before && !keep.contains(&d) {
            let p = e.path();
            std::fs::remove_file(&p).at(&p)?;
            removed += 1;
        }
    }
    Ok(removed)
}
