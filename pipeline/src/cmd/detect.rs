use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use weaksignal_models::trend::{by_name, Frequency, Series};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// CSV with series_id, date, count (and optional population).
    #[arg(long)]
    input: PathBuf,
    /// c1, c2, c3, farrington, noufaily, ewma, regression, switch, cusum.
    #[arg(long)]
    method: String,
    /// Output CSV.
    #[arg(long)]
    out: PathBuf,
    /// Periods per year: 12, 52 or 365.
    #[arg(long, default_value_t = 52)]
    freq: u32,
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let det = by_name(&a.method)?;
    let freq = Frequency::from_periods(a.freq)?;
    let mut rdr = csv::Reader::from_path(&a.input)
        .with_context(|| format!("reading {}", a.input.display()))?;
    let headers = rdr.headers()?.clone();
    let pos = |n: &str| headers.iter().position(|h| h.trim() == n);
    let (Some(si), Some(di), Some(ci)) = (pos("series_id"), pos("date"), pos("count")) else {
        bail!(
            "{}: the header must have series_id, date and count",
            a.input.display()
        );
    };
    let mut series: BTreeMap<String, Vec<(chrono::NaiveDate, f64, usize)>> = BTreeMap::new();
    for (i, r) in rdr.records().enumerate() {
        let row = i + 2;
        let r = r.with_context(|| format!("{} row {row}", a.input.display()))?;
        let date = chrono::NaiveDate::parse_from_str(r.get(di).unwrap_or("").trim(), "%Y-%m-%d")
            .with_context(|| format!("{} row {row}, field date", a.input.display()))?;
        let count: f64 = r
            .get(ci)
            .unwrap_or("")
            .trim()
            .parse()
            .with_context(|| format!("{} row {row}, field count", a.input.display()))?;
        series
            .entry(r.get(si).unwrap_or("").to_owned())
            .or_default()
            .push((date, count, i));
    }
    let mut out = csv::Writer::from_path(&a.out)?;
    out.write_record([
        "series_id",
        "date",
        "count",
        "expected",
        "upper_bound",
        "statistic",
        "p_value",
        "alarm",
    ])?;
    for (id, mut pts) in series {
        pts.sort_by_key(|p| p.0);
        let dates: Vec<_> = pts.iter().map(|p| p.0).collect();
        let counts: Vec<f64> = pts.iter().map(|p| p.1).collect();
        let res = det.detect(&Series::new(&counts, freq).with_dates(&dates));
        match res {
            Ok(points) => {
                for (p, r) in pts.iter().zip(points) {
                    out.write_record([
                        id.clone(),
                        p.0.to_string(),
                        p.1.to_string(),
                        opt(r.expected),
                        opt(r.upper_bound),
                        opt(r.statistic),
                        opt(r.p_value),
                        r.alarm
                            .map(|a| if a { "1" } else { "0" }.to_owned())
                            .unwrap_or_default(),
                    ])?;
                }
            }
            Err(e) => {
                tracing::warn!("series {id} not scored: {e}");
                for p in &pts {
                    out.write_record([
                        id.clone(),
                        p.0.to_string(),
                        p.1.to_string(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ])?;
                }
            }
        }
    }
    out.flush()?;
    println!("wrote {}", a.out.display());
    Ok(0)
}
