use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use weaksignal_pipeline::config::Config;
use weaksignal_pipeline::ingest::ingest;
use weaksignal_pipeline::nightly::{self, Lock, Manifest};
use weaksignal_pipeline::privacy::Pseudonymizer;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    pub(crate) config: PathBuf,
    /// Run date; default today (Asia/Shanghai).
    #[arg(long, value_parser = super::parse_date)]
    pub(crate) as_of: Option<chrono::NaiveDate>,
}

/// What a finished nightly run produced.
pub(crate) struct Outcome {
    pub(crate) report: PathBuf,
    pub(crate) manifest: PathBuf,
    pub(crate) partial: bool,
}

pub(crate) fn rule_names(cfg: &Config) -> HashMap<String, String> {
    weaksignal_pipeline::registry::read_text(&cfg.resolve(&cfg.scoring.rules))
        .ok()
        .and_then(|t| {
            weaksignal_models::rules::RuleSet::parse(
                &t,
                weaksignal_pipeline::features::FEATURES,
                weaksignal_pipeline::features::TEXTS,
            )
            .ok()
        })
        .map(|rs| rs.rules.into_iter().map(|r| (r.id, r.name)).collect())
        .unwrap_or_default()
}

/// Seconds per stage, and the process's peak memory when each stage ended.
#[derive(Default)]
struct Stages {
    seconds: BTreeMap<String, f64>,
    peak_mb: BTreeMap<String, f64>,
}

impl Stages {
    fn done(&mut self, name: &str, started: Instant) {
        self.seconds
            .insert(name.to_string(), started.elapsed().as_secs_f64());
        if let Some(mb) = nightly::peak_rss_mb() {
            self.peak_mb.insert(name.to_string(), mb);
        }
    }
}

pub(crate) fn run_nightly(
    config: &std::path::Path,
    as_of: chrono::NaiveDate,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    let cfg = Config::load(config)?;
    let config_blake3 = nightly::file_digest(config)?;
    let output = cfg.resolve(&cfg.scoring.output);
    let _lock = Lock::acquire(&output.join(".lock"))?;
    let started = chrono::Utc::now().to_rfc3339();
    let mut stages = Stages::default();
    let keys = Pseudonymizer::load(
        cfg.privacy
            .key_file
            .as_deref()
            .map(|p| cfg.resolve(p))
            .as_deref(),
    )?;

    let t = Instant::now();
    // Not `allocator::keeping_freed_memory`: with it the large city's scoring peaked at
    // 4.9 GB (3.9 GB without), see the README.
    let summary = ingest(&cfg, &keys, as_of, !quiet).context("ingest")?;
    stages.done("ingest", t);
    if !quiet {
        super::ingest::print_summary(&summary);
    }

    // Text classifier: fills blank categories for the features (skipped, with a warning,
    // when the lake holds too few labelled texts).
    let t = Instant::now();
    let opts = weaksignal_pipeline::classify::ClassifyOptions {
        as_of,
        retrain: false,
        retrain_days: cfg.scoring.text_retrain_days,
        audit: false,
    };
    let rt = super::runtime()?;
    let text_model = match rt.block_on(weaksignal_pipeline::classify::classify_lake(&cfg, &opts)) {
        Ok(s) => Some(format!(
            "textcat-{}-{} (macro-F1 {:.3})",
            s.metrics.chosen,
            s.trained_as_of,
            s.metrics
                .macro_f1_naive_bayes
                .max(s.metrics.macro_f1_logistic)
        )),
        Err(e) => {
            tracing::warn!("text classifier not used: {e:#}");
            None
        }
    };
    stages.done("classify", t);

    let t = Instant::now();
    let (alerts_dir, alerts, info) = crate::allocator::returning_freed_memory(|| {
        rt.block_on(super::score::score_date(&cfg, as_of))
    })
    .context("scoring")?;
    stages.done("score", t);
    if !quiet {
        super::score::print_alerts(&alerts, &info);
    }

    let t = Instant::now();
    let names = rule_names(&cfg);
    let report = rt
        .block_on(async {
            let ctx = weaksignal_pipeline::features::session(&cfg.resolve(&cfg.lake)).await?;
            weaksignal_pipeline::report::render(&cfg, &ctx, as_of, &names).await
        })
        .context("report")?;
    stages.done("report", t);

    let t = Instant::now();
    let removed = nightly::retention(&cfg, as_of)?;
    stages.done("retention", t);
    if !removed.is_empty() {
        tracing::info!(
            removed = removed.len(),
            "retention removed old reports and runs"
        );
    }
    let partial = summary.has_errors();
    let level = |l: &str| alerts.iter().filter(|a| a.level.as_str() == l).count();
    let m = Manifest {
        run: format!("{as_of}_{}", summary.run),
        as_of,
        started,
        config_blake3,
        model: info.model.as_ref().map(|m| m.version.clone()),
        text_model,
        model_error: info.model_error.clone(),
        red: level("red"),
        yellow: level("yellow"),
        stages: stages.seconds,
        peak_memory_mb: stages.peak_mb,
        outputs: vec![
            alerts_dir.join("alerts.parquet").display().to_string(),
            alerts_dir.join("alerts.csv").display().to_string(),
            report.display().to_string(),
        ],
        status: if partial { "partial" } else { "ok" }.into(),
        error: None,
        ingest: summary,
    };
    let manifest = nightly::write_manifest(&output, &m)?;
    Ok(Outcome {
        report,
        manifest,
        partial,
    })
}

pub(crate) fn run(a: Args, quiet: bool) -> anyhow::Result<u8> {
    let as_of = a.as_of.unwrap_or_else(super::today);
    let o = run_nightly(&a.config, as_of, quiet)?;
    println!("run manifest: {}", o.manifest.display());
    println!("report: {}", o.report.display());
    Ok(if o.partial { crate::exit::PARTIAL } else { 0 })
}
