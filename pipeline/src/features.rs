//! Compound features with DataFusion SQL over the lake: rolling windows (7, 14, 28, 30, 56
//! days) ending on any set of `as_of` dates, computed in one pass, plus the detectors of the
//! trend rules on the compound × category weekly series.
//!
//! Every window is "days back" from the end of its `as_of` day (Asia/Shanghai). The query joins
//! the records to a small table of (as_of, day) pairs on the record's day, an equi-join, so
//! scoring a hundred historical dates costs about as much as copying the records a few times.
//!
//! No leakage: only records received on or before `as_of` enter, and what was learned later
//! about an old ticket is hidden too: a closure, its rating, an overdue or returned state
//! count only once they had happened by `as_of`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use chrono::{NaiveDate, TimeZone};
use chrono_tz::Asia::Shanghai;
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use tracing::debug;
use weaksignal_models::trend::ears::{Ears, EarsMethod};
use weaksignal_models::trend::farrington::Farrington;
use weaksignal_models::trend::{Detector, Frequency, Series};

use crate::registry::Compound;
use crate::{Error, Result};

const DAY: i64 = 86_400_000;

/// Feature names, in column order. Counts are over the window in the suffix (days).
pub const FEATURES: &[&str] = &[
    "n7",
    "n28",
    "n56",
    "growth28",
    "hotline28",
    "grid28",
    "petition28",
    "rate28",
    "peer_ratio28",
    "reporters28",
    "calls_per_reporter28",
    "repeat30",
    "repeat_top30",
    "rated56",
    "dissat56",
    "returned56",
    "overdue56",
    "open56",
    "close_hours56",
    "reopened56",
    "collective56",
    "participants56",
    "petitions56",
    "max_level56",
    "phrases28",
    "spread14",
    "top_n28",
    "trend_week",
    "trend_ub",
    "trend_ratio",
    "trend_alarm",
    "c2_ratio_total",
    "c2_alarm_total",
];

/// Text values a rule's reason can use.
pub const TEXTS: &[&str] = &["top_category", "trend_category", "compound_name"];

/// One compound on one date.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The feature date.
    pub as_of: NaiveDate,
    /// The compound.
    pub compound_id: String,
    /// Values in [`FEATURES`] order.
    pub values: Vec<f64>,
    /// The most reported category in the last 28 days.
    pub top_category: Option<String>,
    /// The category whose weekly count stands out most against its Farrington bound.
    pub trend_category: Option<String>,
}

impl Row {
    /// A feature's value by name (NaN if unknown).
    pub fn get(&self, name: &str) -> f64 {
        FEATURES
            .iter()
            .position(|f| *f == name)
            .map_or(f64::NAN, |i| self.values[i])
    }
}

/// Settings of the feature stage.
#[derive(Debug, Clone)]
pub struct FeatureSettings {
    /// Escalation phrases (the lexicon).
    pub phrases: Vec<String>,
    /// Weeks of history the detectors see.
    pub detector_weeks: usize,
}

/// The end of a date in Asia/Shanghai, in epoch milliseconds.
pub fn end_of_day_ms(d: NaiveDate) -> i64 {
    let next = d
        .succ_opt()
        .unwrap_or(d)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    Shanghai
        .from_local_datetime(&next)
        .earliest()
        .map_or(0, |t| t.timestamp_millis())
        - 1
}

/// A SQL string literal.
pub(crate) fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Runs a query and returns every row as text (NULL as an empty string).
///
/// # Errors
/// DataFusion or Arrow errors.
pub async fn text_rows(ctx: &SessionContext, sql: &str) -> Result<Vec<Vec<String>>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let mut out = vec![];
    for b in &batches {
        let cols: Vec<_> = b
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &DataType::Utf8))
            .collect::<std::result::Result<_, _>>()?;
        for i in 0..b.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| {
                        let s = c.as_string::<i32>();
                        if s.is_null(i) {
                            String::new()
                        } else {
                            s.value(i).to_string()
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// Memory the queries may hold before they spill (MB; `WEAKSIGNAL_MEMORY_MB` overrides).
const MEMORY_POOL_MB: usize = 1536;

/// A DataFusion session over the lake's records (Hive partitions `channel`, `month`).
///
/// # Errors
/// The lake has no records or cannot be read.
pub async fn session(lake: &Path) -> Result<SessionContext> {
    let cfg = SessionConfig::new()
        .with_target_partitions(2)
        .with_information_schema(false);
    // Bounded memory: aggregates beyond the pool spill to disk instead of growing.
    let pool_mb = std::env::var("WEAKSIGNAL_MEMORY_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(MEMORY_POOL_MB);
    let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(
            datafusion::execution::memory_pool::FairSpillPool::new(pool_mb << 20),
        ))
        .build_arc()?;
    let ctx = SessionContext::new_with_config_rt(cfg, runtime);
    let root = lake.join("records");
    if !root.exists() {
        return Err(Error::Config {
            path: lake.into(),
            reason: "the lake has no records yet: run `weaksignal ingest` first".into(),
        });
    }
    let url = format!("{}/", root.display());
    ctx.register_parquet(
        "records",
        &url,
        ParquetReadOptions::default()
            .table_partition_cols(vec![
                ("channel".to_string(), DataType::Utf8),
                ("month".to_string(), DataType::Utf8),
            ])
            .file_extension(".parquet"),
    )
    .await?;
    // Categories filled by the text classifier (`weaksignal classify`), when present.
    let classified = lake.join("classified");
    let has_months = std::fs::read_dir(&classified).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("month="))
    });
    if has_months {
        ctx.register_parquet(
            "classified",
            &format!("{}/", classified.display()),
            ParquetReadOptions::default()
                .table_partition_cols(vec![("month".to_string(), DataType::Utf8)])
                .file_extension(".parquet"),
        )
        .await?;
    }
    Ok(ctx)
}

fn grid_batch(dates: &[NaiveDate], last: NaiveDate, span: i64) -> Result<RecordBatch> {
    let mut asof = vec![];
    let mut o = vec![];
    let mut d = vec![];
    for &date in dates {
        let off = (last - date).num_days();
        for k in 0..span {
            asof.push(date.to_string());
            o.push(off);
            d.push(off + k);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("asof", DataType::Utf8, false),
        Field::new("o", DataType::Int64, false),
        Field::new("d", DataType::Int64, false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(asof)),
            Arc::new(Int64Array::from(o)),
            Arc::new(Int64Array::from(d)),
        ],
    )?)
}

async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(ctx.sql(sql).await?.collect().await?)
}

/// A text column as `Utf8` (DataFusion reads Parquet strings as `Utf8View`).
fn str_col(b: &RecordBatch, name: &str) -> Result<StringArray> {
    let c = b
        .column_by_name(name)
        .ok_or_else(|| Error::Internal(format!("feature query lost its `{name}` column")))?;
    let c = arrow::compute::cast(c, &DataType::Utf8)?;
    c.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| Error::Internal(format!("column `{name}` is not text")))
}

fn num(b: &RecordBatch, name: &str, i: usize) -> f64 {
    let Some(c) = b.column_by_name(name) else {
        return f64::NAN;
    };
    if c.is_null(i) {
        return 0.0;
    }
    match c.data_type() {
        DataType::Int64 => c.as_primitive::<Int64Type>().value(i) as f64,
        DataType::Float64 => c.as_primitive::<Float64Type>().value(i),
        _ => arrow::compute::cast(&c.slice(i, 1), &DataType::Float64)
            .ok()
            .map_or(f64::NAN, |a| a.as_primitive::<Float64Type>().value(0)),
    }
}

/// Dates per query: each record joins every date whose window holds it, so memory grows
/// with the dates of one query (large city: 1.35 GB peak at 1, 1.75 GB at 2, 2.9 GB at 4,
/// 4.6 GB at 8) while time hardly changes.
const DATES_PER_QUERY: usize = 2;

/// Days of history before an `as_of` that the window queries need: the 56-day windows, and
/// 30 more days for the closures that make a later record a "reopened" one.
const WINDOW_DAYS: i64 = 56 + 30;

/// The records and the expression of their category: the given one, else the classifier's
/// when its table exists (`records.` qualifies the records' own columns).
fn records_source(ctx: &SessionContext) -> Result<(&'static str, &'static str)> {
    Ok(if ctx.table_exist("classified")? {
        (
            "COALESCE(records.category_l2, classified.predicted)",
            // The predictions are the small side: build the join's hash table on them.
            "classified RIGHT JOIN records ON records.record_id = classified.record_id
             AND records.month = classified.month",
        )
    } else {
        ("records.category_l2", "records")
    })
}

/// The `records` query of the features, with the classifier's categories when present:
/// records with a compound received in `(from_ms, to_ms]`, or received up to a quarter
/// earlier and closed after `from_ms` (only the month partitions that can hold them are read).
fn base_sql(ctx: &SessionContext, from_ms: i64, to_ms: i64, phrase: &str) -> Result<String> {
    let (cat, from) = records_source(ctx)?;
    let cat = format!("{cat} AS category_l2");
    // Tickets closed in the window were received at most a quarter earlier, as a rule.
    let first_month = crate::ingest::month_of(from_ms - 92 * DAY);
    let last_month = crate::ingest::month_of(to_ms);
    // A closure before the receipt is the export's error (counted by the ingest as out of
    // order), not a ticket closed in no time: no duration; within the clocks' skew, none.
    let skew = crate::ingest::CLOCK_SKEW_MS;
    Ok(format!(
        "SELECT records.record_id AS record_id, channel, compound_id, {cat},
            reporter_key, address, COALESCE(participants, 1) AS participants, is_collective,
            petition_level, status, satisfaction,
            CAST(received_at AS BIGINT) AS t_ms,
            CAST(closed_at AS BIGINT) AS closed_ms,
            CAST(due_at AS BIGINT) AS due_ms,
            ({to_ms} - CAST(received_at AS BIGINT)) / {DAY} AS d,
            CASE WHEN closed_at IS NULL THEN NULL
                 WHEN CAST(closed_at AS BIGINT) > {to_ms} THEN -1
                 ELSE ({to_ms} - CAST(closed_at AS BIGINT)) / {DAY} END AS dc,
            CASE WHEN due_at IS NULL THEN NULL
                 WHEN CAST(due_at AS BIGINT) > {to_ms} THEN -1
                 ELSE ({to_ms} - CAST(due_at AS BIGINT)) / {DAY} END AS dd,
            CASE WHEN CAST(closed_at AS BIGINT) < CAST(received_at AS BIGINT) - {skew} THEN NULL
                 WHEN closed_at < received_at THEN 0.0
                 ELSE (CAST(closed_at AS BIGINT) - CAST(received_at AS BIGINT)) / 3600000.0
                 END AS close_hours,
            ({phrase}) AS phrase
         FROM {from}
         WHERE compound_id IS NOT NULL AND CAST(received_at AS BIGINT) <= {to_ms}
           AND (CAST(received_at AS BIGINT) > {from_ms} OR CAST(closed_at AS BIGINT) > {from_ms})
           AND records.month >= '{first_month}' AND records.month <= '{last_month}'"
    ))
}

/// Computes the features of every registry compound on each of `dates` (rows ordered by
/// date, then registry order).
///
/// # Errors
/// DataFusion errors.
pub async fn compute(
    ctx: &SessionContext,
    compounds: &[Compound],
    dates: &[NaiveDate],
    settings: &FeatureSettings,
) -> Result<Vec<Row>> {
    let mut sorted = dates.to_vec();
    sorted.sort();
    sorted.dedup();
    let (Some(&first), Some(&last)) = (sorted.first(), sorted.last()) else {
        return Ok(vec![]);
    };
    let by_id: HashMap<&str, usize> = compounds
        .iter()
        .enumerate()
        .map(|(i, c)| (c.compound_id.as_str(), i))
        .collect();
    let mut out = Vec::with_capacity(sorted.len() * compounds.len());
    for chunk in sorted.chunks(DATES_PER_QUERY) {
        let t = std::time::Instant::now();
        out.extend(window_features(ctx, compounds, &by_id, chunk, settings).await?);
        debug!(
            dates = chunk.len(),
            seconds = t.elapsed().as_secs_f64(),
            "window features"
        );
    }
    let t = std::time::Instant::now();
    let daily = Daily::load(ctx, &by_id, first, last, settings.detector_weeks).await?;
    daily.detect(&sorted, last, settings, &mut out)?;
    debug!(
        dates = sorted.len(),
        seconds = t.elapsed().as_secs_f64(),
        "detectors"
    );
    Ok(out)
}

async fn window_features(
    ctx: &SessionContext,
    compounds: &[Compound],
    by_id: &HashMap<&str, usize>,
    dates: &[NaiveDate],
    settings: &FeatureSettings,
) -> Result<Vec<Row>> {
    let (Some(&first), Some(&last)) = (dates.first(), dates.last()) else {
        return Ok(vec![]);
    };
    let tl = end_of_day_ms(last);
    let from_ms = end_of_day_ms(first) - WINDOW_DAYS * DAY;
    let phrase = if settings.phrases.is_empty() {
        "FALSE".to_string()
    } else {
        settings
            .phrases
            .iter()
            .map(|p| format!("strpos(content, {}) > 0", sql_str(p)))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    for t in ["base", "reop", "grid56"] {
        ctx.deregister_table(t)?;
    }
    // The records of the chunk's windows, read once and kept in memory for the queries below.
    let base = collect_compact(ctx, &base_sql(ctx, from_ms, tl, &phrase)?).await?;
    debug!(
        rows = base.1.iter().map(RecordBatch::num_rows).sum::<usize>(),
        bytes = base
            .1
            .iter()
            .map(RecordBatch::get_array_memory_size)
            .sum::<usize>(),
        "window records in memory"
    );
    ctx.register_table("base", mem_table(base)?)?;
    // A record is "reopened" (假性整改: closed as fixed while the problem remains) when the
    // same household, or someone at the same address, reported the same category in the
    // compound and that ticket was closed in the 30 days before this one was received.
    // Different households raising one loud problem (a building site's noise) are not.
    let reop = collect_table(
        ctx,
        &format!(
            "SELECT DISTINCT x.record_id FROM base x JOIN base y
               ON x.compound_id = y.compound_id AND x.category_l2 = y.category_l2
             WHERE y.status = 'closed' AND y.closed_ms <= x.t_ms
               AND x.t_ms - y.closed_ms <= {} AND x.record_id <> y.record_id
               AND (x.reporter_key = y.reporter_key OR x.address = y.address)",
            30 * DAY
        ),
    )
    .await?;
    ctx.register_table("reop", mem_table(reop)?)?;
    ctx.register_batch("grid56", grid_batch(dates, last, 56)?)?;
    let w = "(SELECT g.asof, g.o, b.*, b.d - g.o AS rel FROM grid56 g JOIN base b ON b.d = g.d)";
    let main = collect(
        ctx,
        &format!(
            "SELECT asof, compound_id,
                SUM(CASE WHEN rel < 7 THEN 1 ELSE 0 END) AS n7,
                SUM(CASE WHEN rel < 28 THEN 1 ELSE 0 END) AS n28,
                COUNT(*) AS n56,
                SUM(CASE WHEN rel < 28 AND channel = 'hotline' THEN 1 ELSE 0 END) AS hotline28,
                SUM(CASE WHEN rel < 28 AND channel = 'grid' THEN 1 ELSE 0 END) AS grid28,
                SUM(CASE WHEN rel < 28 AND channel = 'petition' THEN 1 ELSE 0 END) AS petition28,
                COUNT(DISTINCT CASE WHEN rel < 28 THEN reporter_key END) AS reporters28,
                SUM(CASE WHEN satisfaction <> 'none' AND (dc >= o OR (dc IS NULL AND rel >= 3))
                    THEN 1 ELSE 0 END) AS rated,
                SUM(CASE WHEN satisfaction = 'dissatisfied' AND (dc >= o OR (dc IS NULL AND rel >= 3))
                    THEN 1 ELSE 0 END) AS dissatisfied,
                SUM(CASE WHEN channel <> 'petition' THEN 1 ELSE 0 END) AS tickets,
                SUM(CASE WHEN channel <> 'petition' AND status = 'returned'
                    AND (dd >= o OR (dd IS NULL AND rel >= 3)) THEN 1 ELSE 0 END) AS returned,
                SUM(CASE WHEN dd >= o AND (closed_ms IS NULL OR closed_ms > due_ms OR dc < o)
                    THEN 1 ELSE 0 END) AS overdue,
                SUM(CASE WHEN channel <> 'petition' AND status <> 'returned'
                    AND (dc IS NULL OR dc < o) THEN 1 ELSE 0 END) AS open,
                median(CASE WHEN dc >= o THEN close_hours END) AS close_hours56,
                SUM(CASE WHEN is_collective THEN 1 ELSE 0 END) AS collective56,
                SUM(CASE WHEN is_collective THEN participants ELSE 0 END) AS participants56,
                SUM(CASE WHEN channel = 'petition' THEN 1 ELSE 0 END) AS petitions56,
                MAX(CASE WHEN channel <> 'petition' THEN 0
                    WHEN petition_level = 'national' THEN 4 WHEN petition_level = 'province' THEN 3
                    WHEN petition_level = 'city' THEN 2 ELSE 1 END) AS max_level56,
                SUM(CASE WHEN rel < 28 AND phrase THEN 1 ELSE 0 END) AS phrases28
             FROM {w} x GROUP BY asof, compound_id"
        ),
    )
    .await?;
    let repeat = collect(
        ctx,
        &format!(
            "SELECT asof, compound_id, SUM(k) AS repeat30, MAX(k) AS repeat_top30 FROM (
                SELECT asof, compound_id, category_l2, COUNT(*) AS k FROM (
                    SELECT asof, compound_id, category_l2, reporter_key FROM {w} x
                    WHERE rel < 30 AND reporter_key IS NOT NULL AND category_l2 IS NOT NULL
                    GROUP BY asof, compound_id, category_l2, reporter_key HAVING COUNT(*) >= 2) r
                GROUP BY asof, compound_id, category_l2) c
             GROUP BY asof, compound_id"
        ),
    )
    .await?;
    let spread = collect(
        ctx,
        &format!(
            "SELECT asof, compound_id, COUNT(*) AS spread14 FROM (
                SELECT asof, compound_id, category_l2 FROM {w} x
                WHERE rel < 14 AND category_l2 IS NOT NULL
                GROUP BY asof, compound_id, category_l2 HAVING COUNT(DISTINCT channel) >= 2) s
             GROUP BY asof, compound_id"
        ),
    )
    .await?;
    let top = collect(
        ctx,
        &format!(
            "SELECT asof, compound_id, category_l2, n AS top_n28 FROM (
                SELECT asof, compound_id, category_l2, COUNT(*) AS n,
                    ROW_NUMBER() OVER (PARTITION BY asof, compound_id
                                       ORDER BY COUNT(*) DESC, category_l2) AS rn
                FROM {w} x WHERE rel < 28 AND category_l2 IS NOT NULL
                GROUP BY asof, compound_id, category_l2) t
             WHERE rn = 1"
        ),
    )
    .await?;
    let reopened = collect(
        ctx,
        &format!(
            "SELECT x.asof, x.compound_id, COUNT(*) AS reopened56
             FROM {w} x JOIN reop r ON x.record_id = r.record_id
             GROUP BY x.asof, x.compound_id"
        ),
    )
    .await?;
    for t in ["base", "reop", "grid56"] {
        ctx.deregister_table(t)?;
    }

    // Assemble.
    let idx = |name: &str| FEATURES.iter().position(|f| *f == name).unwrap_or(0);
    let date_pos: HashMap<String, usize> = dates
        .iter()
        .enumerate()
        .map(|(i, d)| (d.to_string(), i))
        .collect();
    let mut rows: Vec<Row> = dates
        .iter()
        .flat_map(|&d| {
            compounds.iter().map(move |c| Row {
                as_of: d,
                compound_id: c.compound_id.clone(),
                values: vec![0.0; FEATURES.len()],
                top_category: None,
                trend_category: None,
            })
        })
        .collect();
    let nc = compounds.len();
    let mut each =
        |batches: &[RecordBatch], f: &mut dyn FnMut(&mut Row, &RecordBatch, usize)| -> Result<()> {
            for b in batches {
                let a = str_col(b, "asof")?;
                let c = str_col(b, "compound_id")?;
                for i in 0..b.num_rows() {
                    let (Some(&di), Some(&ci)) = (date_pos.get(a.value(i)), by_id.get(c.value(i)))
                    else {
                        continue; // a compound no longer in the registry
                    };
                    f(&mut rows[di * nc + ci], b, i);
                }
            }
            Ok(())
        };
    each(&main, &mut |r, b, i| {
        for name in [
            "n7",
            "n28",
            "n56",
            "hotline28",
            "grid28",
            "petition28",
            "reporters28",
            "close_hours56",
            "collective56",
            "participants56",
            "petitions56",
            "max_level56",
            "phrases28",
        ] {
            r.values[idx(name)] = num(b, name, i);
        }
        let rated = num(b, "rated", i);
        let tickets = num(b, "tickets", i);
        let share = |x: f64, of: f64| if of > 0.0 { x / of } else { 0.0 };
        r.values[idx("rated56")] = rated;
        r.values[idx("dissat56")] = share(num(b, "dissatisfied", i), rated);
        r.values[idx("returned56")] = share(num(b, "returned", i), tickets);
        r.values[idx("overdue56")] = share(num(b, "overdue", i), tickets);
        r.values[idx("open56")] = share(num(b, "open", i), tickets);
        let n28 = num(b, "n28", i);
        let prev = num(b, "n56", i) - n28;
        r.values[idx("growth28")] = (n28 + 1.0) / (prev + 1.0);
        // The same households calling again (a dispute) rather than many calling once (an
        // outage, a building site).
        r.values[idx("calls_per_reporter28")] = share(n28, num(b, "reporters28", i));
    })?;
    each(&repeat, &mut |r, b, i| {
        r.values[idx("repeat30")] = num(b, "repeat30", i);
        r.values[idx("repeat_top30")] = num(b, "repeat_top30", i);
    })?;
    each(&spread, &mut |r, b, i| {
        r.values[idx("spread14")] = num(b, "spread14", i);
    })?;
    each(&reopened, &mut |r, b, i| {
        r.values[idx("reopened56")] = num(b, "reopened56", i);
    })?;
    for b in &top {
        let a = str_col(b, "asof")?;
        let c = str_col(b, "compound_id")?;
        let cat = str_col(b, "category_l2")?;
        for i in 0..b.num_rows() {
            if let (Some(&di), Some(&ci)) = (date_pos.get(a.value(i)), by_id.get(c.value(i))) {
                let r = &mut rows[di * nc + ci];
                r.top_category = Some(cat.value(i).to_string());
                r.values[idx("top_n28")] = num(b, "top_n28", i);
            }
        }
    }
    // Rates per 1,000 residents, and against peers of the same type on the same date.
    for (di, _) in dates.iter().enumerate() {
        let mut by_kind: HashMap<&str, Vec<f64>> = HashMap::new();
        for (ci, c) in compounds.iter().enumerate() {
            let r = &mut rows[di * nc + ci];
            let rate = 1000.0 * r.values[idx("n28")] / f64::from(c.population.max(1));
            r.values[idx("rate28")] = rate;
            by_kind.entry(c.kind.as_str()).or_default().push(rate);
        }
        let medians: HashMap<&str, f64> = by_kind
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_by(f64::total_cmp);
                (k, v[v.len() / 2])
            })
            .collect();
        for (ci, c) in compounds.iter().enumerate() {
            let r = &mut rows[di * nc + ci];
            let m = medians.get(c.kind.as_str()).copied().unwrap_or(0.0);
            r.values[idx("peer_ratio28")] = (r.values[idx("rate28")] + 0.1) / (m + 0.1);
        }
    }
    Ok(rows)
}

/// Runs a query and keeps its batches compacted as they arrive.
async fn collect_compact(ctx: &SessionContext, sql: &str) -> Result<Table> {
    use futures::StreamExt;
    let mut stream = ctx.sql(sql).await?.execute_stream().await?;
    let schema = stream.schema();
    let mut out = vec![];
    while let Some(b) = stream.next().await {
        out.push(compact(&b?)?);
    }
    Ok(Table(schema, out))
}

/// A copy of a batch whose string views hold only their own bytes: views read from Parquet
/// keep whole decoded pages alive behind the few rows a filter kept (ten times the memory).
fn compact(b: &RecordBatch) -> Result<RecordBatch> {
    let cols = b
        .columns()
        .iter()
        .map(|c| match c.as_string_view_opt() {
            Some(v) => Arc::new(v.gc()) as Arc<dyn Array>,
            None => c.clone(),
        })
        .collect();
    Ok(RecordBatch::try_new(b.schema(), cols)?)
}

/// A query's result: its schema (which holds when it has no row) and its batches.
struct Table(arrow::datatypes::SchemaRef, Vec<RecordBatch>);

/// The result of `sql` with its schema.
async fn collect_table(ctx: &SessionContext, sql: &str) -> Result<Table> {
    let df = ctx.sql(sql).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    Ok(Table(schema, df.collect().await?))
}

/// Batches as an in-memory table split in two partitions (one per core). Its schema is the
/// query's, not the first batch's: a query with no row (a young district's first weeks, no
/// reopened ticket yet) gives no batch, and a table without columns broke the joins on it.
fn mem_table(Table(schema, batches): Table) -> Result<Arc<MemTable>> {
    let half = batches.len().div_ceil(2);
    let mut parts: Vec<Vec<RecordBatch>> = vec![vec![], vec![]];
    for (i, b) in batches.into_iter().enumerate() {
        parts[usize::from(i >= half)].push(b);
    }
    Ok(Arc::new(MemTable::try_new(schema, parts)?))
}

/// Daily record counts per compound and category (days back from the last feature date),
/// sparse: what the detectors read.
struct Daily {
    /// Per compound: (category, days back, count), sorted; category `u32::MAX` = none.
    cells: Vec<Vec<(u32, u32, u32)>>,
    categories: Vec<String>,
    /// Days covered (largest days-back + 1).
    len: usize,
}

impl Daily {
    async fn load(
        ctx: &SessionContext,
        by_id: &HashMap<&str, usize>,
        first: NaiveDate,
        last: NaiveDate,
        weeks: usize,
    ) -> Result<Daily> {
        let tl = end_of_day_ms(last);
        let from_ms = end_of_day_ms(first) - 7 * (weeks as i64 + 1) * DAY;
        let batches = collect(
            ctx,
            &format!(
                "SELECT compound_id, category_l2 AS cat, d, COUNT(*) AS n FROM ({})
                 WHERE t_ms > {from_ms} GROUP BY compound_id, category_l2, d",
                base_sql(ctx, from_ms, tl, "FALSE")?
            ),
        )
        .await?;
        let mut cells = vec![vec![]; by_id.len()];
        let mut cat_ix: HashMap<String, u32> = HashMap::new();
        let mut len = 0usize;
        for b in &batches {
            let c = str_col(b, "compound_id")?;
            let cat = str_col(b, "cat")?;
            for i in 0..b.num_rows() {
                let Some(&ci) = by_id.get(c.value(i)) else {
                    continue;
                };
                let k = if cat.is_null(i) {
                    u32::MAX
                } else if let Some(&k) = cat_ix.get(cat.value(i)) {
                    k
                } else {
                    let k = cat_ix.len() as u32;
                    cat_ix.insert(cat.value(i).to_string(), k);
                    k
                };
                let d = num(b, "d", i).max(0.0) as u32;
                len = len.max(d as usize + 1);
                cells[ci].push((k, d, num(b, "n", i) as u32));
            }
        }
        let mut categories = vec![String::new(); cat_ix.len()];
        for (c, k) in cat_ix {
            categories[k as usize] = c;
        }
        // Groups in category name order, so ties between categories break the same way.
        let mut order: Vec<u32> = (0..categories.len() as u32).collect();
        order.sort_by(|&a, &b| categories[a as usize].cmp(&categories[b as usize]));
        let mut rank = vec![0u32; categories.len()];
        for (r, &k) in order.iter().enumerate() {
            rank[k as usize] = r as u32;
        }
        let categories = order
            .iter()
            .map(|&k| categories[k as usize].clone())
            .collect();
        for v in &mut cells {
            for e in v.iter_mut() {
                if e.0 != u32::MAX {
                    e.0 = rank[e.0 as usize];
                }
            }
            v.sort_unstable();
        }
        Ok(Daily {
            cells,
            categories,
            len,
        })
    }

    /// Weekly counts of `entries` for the weeks ending `off` days back, oldest first.
    fn weekly(&self, entries: &[(u32, u32, u32)], off: usize, weeks: usize, y: &mut Vec<f64>) {
        let w = if self.len > off {
            ((self.len - off) / 7).min(weeks)
        } else {
            0
        };
        y.clear();
        y.resize(w, 0.0);
        for &(_, d, n) in entries {
            let d = d as usize;
            if d >= off && d < off + 7 * w {
                y[w - 1 - (d - off) / 7] += f64::from(n);
            }
        }
    }

    /// Farrington (b = 1: the lake may hold only two years) on each compound × category
    /// weekly series with a record in the last 28 days, and EARS C2 on the compound's weekly
    /// totals, scored on the week ending at each date.
    fn detect(
        &self,
        dates: &[NaiveDate],
        last: NaiveDate,
        settings: &FeatureSettings,
        rows: &mut [Row],
    ) -> Result<()> {
        let nc = self.cells.len();
        let farrington = farrington()?;
        let c2 = Ears::params(EarsMethod::C2)
            .check()
            .map_err(|e| Error::Internal(e.to_string()))?;
        let idx = |name: &str| FEATURES.iter().position(|f| *f == name).unwrap_or(0);
        let mut y = vec![];
        let mut buf = vec![];
        for (di, &date) in dates.iter().enumerate() {
            let off = (last - date).num_days().max(0) as usize;
            for (ci, cells) in self.cells.iter().enumerate() {
                let r = &mut rows[di * nc + ci];
                self.weekly(cells, off, settings.detector_weeks, &mut y);
                let scored = y.len() > c2.first_scored()
                    && c2
                        .detect_into(&Series::new(&y, Frequency::Weekly), &mut buf)
                        .is_ok();
                if let Some(p) = buf.last().filter(|p| scored && p.scored()) {
                    let ub = p.upper_bound.unwrap_or(f64::NAN);
                    let obs = y[y.len() - 1];
                    r.values[idx("c2_ratio_total")] = if ub > 0.0 {
                        obs / ub
                    } else {
                        obs.min(1.0) * 2.0
                    };
                    r.values[idx("c2_alarm_total")] = f64::from(u8::from(p.alarm == Some(true)));
                }
                let mut best: Option<(f64, u32, f64, f64, bool)> = None;
                for group in cells.chunk_by(|a, b| a.0 == b.0) {
                    let cat = group[0].0;
                    if cat == u32::MAX || off + 28 > self.len {
                        continue;
                    }
                    let recent = group
                        .iter()
                        .any(|&(_, d, _)| (d as usize) >= off && (d as usize) < off + 28);
                    if !recent {
                        continue;
                    }
                    self.weekly(group, off, settings.detector_weeks, &mut y);
                    let Ok(pt) = farrington.score_last(&Series::new(&y, Frequency::Weekly)) else {
                        continue;
                    };
                    let (Some(ub), Some(alarm)) = (pt.upper_bound, pt.alarm) else {
                        continue;
                    };
                    let obs = y[y.len() - 1];
                    let ratio = (obs + 0.5) / (ub + 0.5);
                    if best.as_ref().is_none_or(|b| ratio > b.0) {
                        best = Some((ratio, cat, obs, ub, alarm));
                    }
                }
                if let Some((ratio, cat, obs, ub, alarm)) = best {
                    r.values[idx("trend_week")] = obs;
                    r.values[idx("trend_ub")] = ub;
                    r.values[idx("trend_ratio")] = ratio;
                    r.values[idx("trend_alarm")] = f64::from(u8::from(alarm));
                    r.trend_category = Some(self.categories[cat as usize].clone());
                }
            }
        }
        Ok(())
    }
}

/// Escalations in the lake: per compound, the days (as dates) on which a collective petition
/// or a petition at city level or above was received.
///
/// # Errors
/// DataFusion errors.
pub async fn escalations(ctx: &SessionContext) -> Result<HashMap<String, Vec<NaiveDate>>> {
    let batches = collect(
        ctx,
        "SELECT compound_id, CAST(received_at AS BIGINT) AS t FROM records
         WHERE channel = 'petition' AND compound_id IS NOT NULL
           AND (is_collective OR petition_level IN ('city', 'province', 'national'))",
    )
    .await?;
    let mut out: HashMap<String, Vec<NaiveDate>> = HashMap::new();
    for b in &batches {
        let c = str_col(b, "compound_id")?;
        for i in 0..b.num_rows() {
            let t = num(b, "t", i) as i64;
            if let Some(dt) = chrono::DateTime::from_timestamp_millis(t) {
                out.entry(c.value(i).to_string())
                    .or_default()
                    .push(dt.with_timezone(&Shanghai).date_naive());
            }
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}

/// Record ids behind an alert: the compound's records of `category` (given, or filled by the
/// text classifier; all when `None`) in the 28 days up to `as_of`, newest first, at most
/// `limit`; with their received time and redacted text.
///
/// # Errors
/// DataFusion errors.
pub async fn evidence(
    ctx: &SessionContext,
    compound_id: &str,
    category: Option<&str>,
    as_of: NaiveDate,
    limit: usize,
) -> Result<Vec<(String, String, i64, String)>> {
    let tl = end_of_day_ms(as_of);
    let (cat_expr, from) = records_source(ctx)?;
    let cat = category.map_or(String::new(), |c| {
        format!("AND {cat_expr} = {}", sql_str(c))
    });
    let batches = collect(
        ctx,
        &format!(
            "SELECT records.record_id AS record_id, channel,
                CAST(received_at AS BIGINT) AS t, content FROM {from}
             WHERE compound_id = {} {cat} AND CAST(received_at AS BIGINT) <= {tl}
               AND CAST(received_at AS BIGINT) > {}
               AND records.month >= '{}' AND records.month <= '{}'
             ORDER BY t DESC, record_id LIMIT {limit}",
            sql_str(compound_id),
            tl - 28 * DAY,
            crate::ingest::month_of(tl - 28 * DAY),
            crate::ingest::month_of(tl),
        ),
    )
    .await?;
    let mut out = vec![];
    for b in &batches {
        let id = str_col(b, "record_id")?;
        let ch = str_col(b, "channel")?;
        let content = str_col(b, "content")?;
        for i in 0..b.num_rows() {
            out.push((
                id.value(i).to_string(),
                ch.value(i).to_string(),
                num(b, "t", i) as i64,
                content.value(i).to_string(),
            ));
        }
    }
    Ok(out)
}

/// The Farrington detector of the trend features: b = 1, the lake may hold only two years.
fn farrington() -> Result<Farrington> {
    Farrington::params()
        .b(1)
        .check()
        .map_err(|e| Error::Internal(e.to_string()))
}

/// The fewest weeks of history (`scoring.detector_weeks`) with which the Farrington detector
/// scores a week: it compares it with the same weeks a year before.
pub fn detector_weeks_needed() -> usize {
    farrington().map_or(56, |f| f.first_scored(52) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Channel;
    use crate::record::{to_batch, Record};

    fn at(d: u32, h: u32) -> i64 {
        Shanghai
            .with_ymd_and_hms(2025, 3, d, h, 0, 0)
            .single()
            .map_or(0, |t| t.timestamp_millis())
    }

    /// The features on `date` of the one compound C1 (幸福里) whose hotline `records` of
    /// March 2025 are the lake.
    async fn features_of(records: &[Record], date: NaiveDate) -> Vec<Row> {
        let dir = tempfile::tempdir().unwrap();
        crate::lake::write_partition(
            dir.path(),
            Channel::Hotline,
            "2025-03",
            &[to_batch(records).unwrap()],
            Default::default(),
        )
        .unwrap();
        let ctx = session(dir.path()).await.unwrap();
        let compound = Compound {
            compound_id: "C1".into(),
            name: "幸福里".into(),
            aliases: String::new(),
            street: "街道".into(),
            community: "社区".into(),
            grid: "G1".into(),
            households: 100,
            population: 300,
            kind: "商品房".into(),
            property_company: String::new(),
            lon: None,
            lat: None,
            year_built: None,
        };
        let settings = FeatureSettings {
            phrases: vec![],
            detector_weeks: 8,
        };
        compute(&ctx, &[compound], &[date], &settings)
            .await
            .unwrap()
    }

    /// A report is "reopened" only when the same household or the same address reports the
    /// same category again within 30 days of a closure; other households' reports of one
    /// loud problem are not.
    #[tokio::test]
    async fn reopened_counts_the_same_household_or_address_after_a_closure() {
        let base = Record {
            compound_id: Some("C1".into()),
            match_method: "exact".into(),
            content: "电梯又坏了".into(),
            category_l1: Some("物业服务".into()),
            category_l2: Some("电梯故障".into()),
            category_source: "given".into(),
            status: "open".into(),
            satisfaction: "none".into(),
            ..Default::default()
        };
        let rec = |id: &str, day: u32, household: &str, address: &str| Record {
            record_id: format!("hotline:{id}").into(),
            received_at: at(day, 9),
            reporter_key: Some(household.into()),
            address: address.into(),
            ..base.clone()
        };
        let closed = Record {
            status: "closed".into(),
            closed_at: Some(at(2, 9)),
            ..rec("1", 1, "A", "幸福里3号楼1单元")
        };
        let records = vec![
            closed,
            // Same household, other address: reopened.
            rec("2", 10, "A", "幸福里"),
            // Another household at another address: not.
            rec("3", 12, "B", "幸福里5号楼2单元"),
            // Another household at the closed ticket's address: reopened.
            rec("4", 15, "C", "幸福里3号楼1单元"),
            // Again, but no ticket of this household or address was closed: not.
            rec("5", 25, "B", "幸福里5号楼2单元"),
            // The first household and address, more than 30 days after the closure: not.
            Record {
                received_at: at(2, 9) + 31 * DAY,
                ..rec("6", 1, "A", "幸福里3号楼1单元")
            },
        ];
        let date = NaiveDate::from_ymd_opt(2025, 4, 10).unwrap();
        let rows = features_of(&records, date).await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get("n56"), 6.0);
        assert_eq!(rows[0].get("reopened56"), 2.0);
    }

    /// The median hours to close leave out a closure the export dates days before the
    /// receipt (a mistyped time), and count one within the clocks' skew as none.
    #[tokio::test]
    async fn a_closure_before_the_receipt_has_no_duration() {
        let rec = |id: &str, closed_after_hours: f64| Record {
            record_id: format!("hotline:{id}").into(),
            received_at: at(10, 9),
            closed_at: Some(at(10, 9) + (closed_after_hours * 3_600_000.0) as i64),
            compound_id: Some("C1".into()),
            match_method: "exact".into(),
            content: "电梯坏了".into(),
            category_source: "none".into(),
            status: "closed".into(),
            satisfaction: "none".into(),
            ..Default::default()
        };
        let records = vec![
            rec("1", 5.0),
            rec("2", 7.0),
            rec("3", 9.0),
            rec("4", -0.5),
            rec("5", -72.0),
            rec("6", -80.0),
        ];
        let date = NaiveDate::from_ymd_opt(2025, 3, 20).unwrap();
        let rows = features_of(&records, date).await;
        // 0, 5, 7, 9 (the two closures days early left out; with them, and -0.5: 2.25).
        assert_eq!(rows[0].get("close_hours56"), 6.0);
    }
}
