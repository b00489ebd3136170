use std::path::PathBuf;

use weaksignal_pipeline::config::Config;
use weaksignal_pipeline::features::{self, FEATURES};
use weaksignal_pipeline::score::Scorer;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    config: PathBuf,
    /// Feature date; default today.
    #[arg(long, value_parser = super::parse_date)]
    as_of: Option<chrono::NaiveDate>,
    /// Also every 7 days back for this many weeks.
    #[arg(long, default_value_t = 0)]
    weeks: usize,
    /// Output CSV.
    #[arg(long, default_value = "features.csv")]
    out: PathBuf,
}

/// Writes the compound features of one or more dates to CSV (for notebooks and audits).
pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let cfg = Config::load(&a.config)?;
    let as_of = a.as_of.unwrap_or_else(super::today);
    let rt = super::runtime()?;
    let rows = rt.block_on(async {
        let s = Scorer::open(&cfg).await?;
        let dates: Vec<_> = (0..=a.weeks)
            .rev()
            .map(|k| as_of - chrono::Duration::days(7 * k as i64))
            .collect();
        features::compute(&s.ctx, &s.compounds, &dates, &s.features).await
    })?;
    let mut w = csv::Writer::from_path(&a.out)?;
    let mut header = vec!["as_of", "compound_id", "top_category", "trend_category"];
    header.extend(FEATURES);
    w.write_record(&header)?;
    for r in &rows {
        let mut rec = vec![
            r.as_of.to_string(),
            r.compound_id.clone(),
            r.top_category.clone().unwrap_or_default(),
            r.trend_category.clone().unwrap_or_default(),
        ];
        rec.extend(r.values.iter().map(|v| format!("{v}")));
        w.write_record(&rec)?;
    }
    w.flush()?;
    println!(
        "{} rows × {} features: {}",
        rows.len(),
        FEATURES.len(),
        a.out.display()
    );
    Ok(0)
}
