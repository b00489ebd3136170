use std::path::PathBuf;

use weaksignal_pipeline::classify::{classify_lake, ClassifyOptions, ClassifySummary};
use weaksignal_pipeline::config::Config;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    config: PathBuf,
    /// Run date; default today (Asia/Shanghai).
    #[arg(long, value_parser = super::parse_date)]
    as_of: Option<chrono::NaiveDate>,
    /// Use the stored model when it is recent instead of training a new one.
    #[arg(long)]
    keep_model: bool,
    /// Also predict records whose category was given, and flag the likely mislabelled ones.
    #[arg(long)]
    audit: bool,
}

/// Trains the text category classifier on the lake's records whose category was given,
/// reports macro-F1 on held-out texts and fills blank categories
/// (`lake/classified/month=…/part-0.parquet`, used by the feature queries).
pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let cfg = Config::load(&a.config)?;
    let opts = ClassifyOptions {
        as_of: a.as_of.unwrap_or_else(super::today),
        retrain: !a.keep_model,
        retrain_days: cfg.scoring.text_retrain_days,
        audit: a.audit,
    };
    let t0 = std::time::Instant::now();
    let s = super::runtime()?.block_on(classify_lake(&cfg, &opts))?;
    print_summary(&s);
    println!("in {:.1} s", t0.elapsed().as_secs_f64());
    Ok(0)
}

pub(crate) fn print_summary(s: &ClassifySummary) {
    let m = &s.metrics;
    println!(
        "text classifier ({}, trained on {}): {} training / {} held-out texts, macro-F1 naive \
         Bayes {:.3}, logistic regression {:.3}; kept {} (accuracy {:.3})",
        if s.trained_now { "new" } else { "stored" },
        s.trained_as_of,
        m.n_train,
        m.n_valid,
        m.macro_f1_naive_bayes,
        m.macro_f1_logistic,
        m.chosen,
        m.accuracy,
    );
    println!(
        "{} texts predicted in {} months; {} blank categories filled in the lake; {} given \
         categories flagged as likely mislabelled",
        s.predicted, s.months_written, s.filled, s.flagged
    );
}
