use std::path::PathBuf;

use anyhow::Context;
use weaksignal_pipeline::simulate::{simulate, Scale};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// City size.
    #[arg(long, value_enum, default_value = "small")]
    scale: Scale,
    /// Random seed (same seed, same city).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// First day of the two simulated years.
    #[arg(long, value_parser = super::parse_date, default_value = "2024-01-01")]
    start: chrono::NaiveDate,
    /// Days to simulate.
    #[arg(long, default_value_t = 730)]
    days: i64,
}

pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let t = std::time::Instant::now();
    let s = simulate(a.scale, a.seed, &a.out, a.start, a.days)
        .with_context(|| format!("simulating into {}", a.out.display()))?;
    println!(
        "demo city: {} compounds, rows {:?}, {} episodes, {} escalations, in {:.1}s\nconfig: {}",
        s.compounds,
        s.rows,
        s.episodes,
        s.escalations,
        t.elapsed().as_secs_f64(),
        s.config.display()
    );
    Ok(0)
}
