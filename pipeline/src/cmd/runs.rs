use std::path::PathBuf;

use weaksignal_pipeline::config::Config;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    config: PathBuf,
}

pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let cfg = Config::load(&a.config)?;
    let runs = weaksignal_pipeline::nightly::list_runs(&cfg.resolve(&cfg.scoring.output))?;
    println!(
        "{:<34} {:<10} {:<26} {:>9} {:>8} {:>5} {:>5} {:>8}  status",
        "run", "as_of", "started", "rows", "loaded", "red", "yel.", "secs"
    );
    for m in &runs {
        let rows: u64 = m.ingest.files.iter().map(|f| f.rows).sum();
        let loaded: u64 = m.ingest.files.iter().map(|f| f.loaded).sum();
        let secs: f64 = m.stages.values().sum();
        println!(
            "{:<34} {:<10} {:<26} {:>9} {:>8} {:>5} {:>5} {:>8.1}  {}",
            m.run,
            m.as_of,
            m.started.get(..25).unwrap_or(&m.started),
            rows,
            loaded,
            m.red,
            m.yellow,
            secs,
            m.status
        );
    }
    if runs.is_empty() {
        println!("(no runs yet)");
    }
    Ok(0)
}
