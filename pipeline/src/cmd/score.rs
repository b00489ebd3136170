use std::path::PathBuf;

use anyhow::Context;
use weaksignal_pipeline::config::Config;
use weaksignal_pipeline::score::{self, Scorer};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    pub(crate) config: PathBuf,
    /// Scoring date; default today (Asia/Shanghai).
    #[arg(long, value_parser = super::parse_date)]
    pub(crate) as_of: Option<chrono::NaiveDate>,
}

/// Scores one date and writes `alerts` under the output folder; returns the alerts folder.
pub(crate) async fn score_date(
    cfg: &Config,
    as_of: chrono::NaiveDate,
) -> anyhow::Result<(PathBuf, Vec<score::Alert>, score::ScoreInfo)> {
    let s = Scorer::open(cfg).await?;
    let first = s.first_day().await?;
    if as_of < first {
        // Every window would be empty and every compound green: a mistyped date, not a
        // calm district.
        anyhow::bail!(
            "nothing to score on {as_of}: the lake's records start on {first} (is the date's \
             year right?)"
        );
    }
    let last = s.last_day().await?;
    if (as_of - last).num_days() > 7 {
        tracing::warn!(
            "the lake's newest record is from {last}, {} days before {as_of}: the scores see \
             no record since (an export missing, or the date's year?)",
            (as_of - last).num_days()
        );
    }
    let output = cfg.resolve(&cfg.scoring.output);
    let previous = score::previous_alerts(&output, as_of)?;
    let (alerts, info) = score::score(&s, as_of, &previous).await?;
    let dir = score::alerts_dir(&output, as_of);
    score::write_alerts(&dir, "alerts", &alerts)
        .with_context(|| format!("writing alerts to {}", dir.display()))?;
    if let Some(m) = &info.model {
        let p = output.join("models").join(format!("{}.json", m.version));
        weaksignal_pipeline::lake::write_atomic(&p, |f| Ok(serde_json::to_writer_pretty(f, m)?))?;
    }
    let (label, grades) =
        score::grid_grades(&s.ctx, &s.compounds, as_of, first, &cfg.scoring).await?;
    score::write_grid_grades(&dir, &label, &grades)?;
    weaksignal_pipeline::lake::write_atomic(&dir.join("score_info.json"), |f| {
        Ok(serde_json::to_writer_pretty(f, &info)?)
    })?;
    Ok((dir, alerts, info))
}

pub(crate) fn print_alerts(alerts: &[score::Alert], info: &score::ScoreInfo) {
    match (&info.model, &info.model_error) {
        (Some(m), _) => {
            println!(
            "model {}: validation AUC {:.3}, Brier {:.4} (base rate {:.4}); red cut-off {:.1}{}",
            m.version,
            m.metrics.auc_valid,
            m.metrics.brier_valid,
            m.metrics.brier_base_rate,
            info.red_cutoff,
            if info.red_cutoff_fitted { " (fitted on history)" } else { " (configured)" }
        )
        }
        (None, Some(e)) => {
            println!("escalation model not used: {e}; scores come from the rules alone")
        }
        _ => {}
    }
    let red = alerts.iter().filter(|a| a.level.as_str() == "red").count();
    let yellow = alerts
        .iter()
        .filter(|a| a.level.as_str() == "yellow")
        .count();
    println!(
        "{} compounds scored: {red} red, {yellow} yellow",
        alerts.len()
    );
    for a in alerts
        .iter()
        .filter(|a| a.level.as_str() != "green")
        .take(15)
    {
        println!(
            "  {} {:>5.1} {} {} [{}] {}",
            a.level.zh(),
            a.score,
            a.name,
            a.trend.zh(),
            a.top_category.as_deref().unwrap_or("-"),
            a.reasons.join("；")
        );
    }
}

pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let cfg = Config::load(&a.config)?;
    let as_of = a.as_of.unwrap_or_else(super::today);
    let rt = super::runtime()?;
    let (dir, alerts, info) = rt.block_on(score_date(&cfg, as_of))?;
    print_alerts(&alerts, &info);
    println!("alerts: {}", dir.display());
    Ok(0)
}
