use std::path::PathBuf;

use anyhow::Context;
use weaksignal_pipeline::backtest::{self, Accuracy};
use weaksignal_pipeline::config::Config;
use weaksignal_pipeline::score::{self, Scorer};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    config: PathBuf,
    /// First scoring date.
    #[arg(long, value_parser = super::parse_date)]
    from: chrono::NaiveDate,
    /// Last scoring date.
    #[arg(long, value_parser = super::parse_date)]
    to: chrono::NaiveDate,
    /// Step, in days (`7d` or `7`); a multiple of 7.
    #[arg(long, default_value = "7d")]
    every: String,
}

fn row(name: &str, a: &Accuracy) {
    println!(
        "{name:<22} {:>5}/{:<4} {:>7.1}% {:>9.0} {:>9} {:>8.1}% {:>8} {:>8.1}% {:>8.1}%",
        a.caught,
        a.escalations,
        100.0 * a.recall,
        a.median_lead_days,
        a.red_rows,
        100.0 * a.precision,
        a.new_red,
        100.0 * a.precision_new,
        100.0 * a.quiet_red_share
    );
}

pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let cfg = Config::load(&a.config)?;
    let every: i64 = a
        .every
        .trim_end_matches('d')
        .parse()
        .with_context(|| format!("--every {}: expected days such as 7d", a.every))?;
    let rt = super::runtime()?;
    let t0 = std::time::Instant::now();
    let bt = rt.block_on(async {
        let s = Scorer::open(&cfg).await?;
        backtest::run(&s, a.from, a.to, every).await
    })?;
    let output = cfg.resolve(&cfg.scoring.output);
    let dir = output.join("backtest");
    score::write_alerts(&dir, "alert_history", &bt.history)?;
    println!(
        "{} scoring dates, {} rows in {:.1} s; alert_history: {}",
        bt.dates.len(),
        bt.history.len(),
        t0.elapsed().as_secs_f64(),
        dir.display()
    );
    if !bt.model_refused.is_empty() {
        println!(
            "model refused to train on {} dates (first: {} — {})",
            bt.model_refused.len(),
            bt.model_refused[0].0,
            bt.model_refused[0].1
        );
    }
    let fitted = bt.cutoffs.iter().filter(|c| c.2).count();
    let mut cuts: Vec<f64> = bt.cutoffs.iter().map(|c| c.1).collect();
    cuts.sort_by(f64::total_cmp);
    if let Some(m) = cuts.get(cuts.len() / 2) {
        println!(
            "red cut-off: fitted on {fitted} of {} dates, median {m:.1}",
            bt.cutoffs.len()
        );
    }
    if let Some(episodes) = backtest::read_truth(&cfg.base)? {
        let model = backtest::evaluate(&backtest::model_red(&bt.history), &episodes, a.from, a.to);
        let base = backtest::evaluate(&bt.baseline_red, &episodes, a.from, a.to);
        println!(
            "\n{:<22} {:>10} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9}",
            "",
            "caught",
            "recall",
            "lead(d)",
            "red rows",
            "precision",
            "new red",
            "prec.new",
            "quiet red"
        );
        row("weaksignal (fused)", &model);
        row("EARS C2 weekly totals", &base);
        println!(
            "\nrecall: escalations with a precursor red-alerted 3–56 days ahead; precision: red \
             rows (up to {}) followed by an escalation within 56 days; quiet red: non-escalating \
             episodes that went red (during the episode or 28 days after, by an alert not \
             followed by an escalation at the compound).",
            a.to - chrono::Duration::days(56)
        );
        weaksignal_pipeline::lake::write_atomic(&dir.join("accuracy.json"), |f| {
            Ok(serde_json::to_writer_pretty(
                f,
                &serde_json::json!({"from": a.from, "to": a.to, "model": model, "baseline_ears_c2": base}),
            )?)
        })?;
    } else {
        println!("no truth/episodes.csv beside the config: accuracy not computed");
    }
    Ok(0)
}
