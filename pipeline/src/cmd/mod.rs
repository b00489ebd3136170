//! One module per subcommand.

pub(crate) mod backtest;
pub(crate) mod classify;
pub(crate) mod demo;
pub(crate) mod detect;
pub(crate) mod features;
pub(crate) mod ingest;
pub(crate) mod nightly;
pub(crate) mod report;
pub(crate) mod runs;
pub(crate) mod score;
pub(crate) mod simulate;
pub(crate) mod validate;

/// Today in Asia/Shanghai (only the binary reads the clock).
pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

pub(crate) fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("expected YYYY-MM-DD: {e}"))
}

/// A small tokio runtime for DataFusion (two workers: the machine has two cores).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}
