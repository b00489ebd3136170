use std::path::PathBuf;

use weaksignal_pipeline::config::Config;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    config: PathBuf,
    /// Report date (its alerts must exist: `weaksignal score --as-of DATE`).
    #[arg(long, value_parser = super::parse_date)]
    as_of: Option<chrono::NaiveDate>,
}

pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let cfg = Config::load(&a.config)?;
    let as_of = a.as_of.unwrap_or_else(super::today);
    let names = super::nightly::rule_names(&cfg);
    let rt = super::runtime()?;
    let t = std::time::Instant::now();
    let index = rt.block_on(async {
        let ctx = weaksignal_pipeline::features::session(&cfg.resolve(&cfg.lake)).await?;
        weaksignal_pipeline::report::render(&cfg, &ctx, as_of, &names).await
    })?;
    println!(
        "report: {} ({:.2} s)",
        index.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(0)
}
