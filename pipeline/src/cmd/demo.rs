use std::path::PathBuf;

use weaksignal_pipeline::config::Config;
use weaksignal_pipeline::privacy::create_key_file;
use weaksignal_pipeline::simulate::{simulate, Scale};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Folder for the demo city, its lake and outputs.
    #[arg(long, default_value = "weaksignal-demo")]
    dir: PathBuf,
    /// Run date (the demo data covers 2024-01-01 to 2025-12-31).
    #[arg(long, value_parser = super::parse_date, default_value = "2025-12-30")]
    as_of: chrono::NaiveDate,
}

pub(crate) fn run(a: Args, quiet: bool) -> anyhow::Result<u8> {
    let config = a.dir.join("weaksignal.toml");
    if !config.exists() {
        println!("creating the small demo city in {} …", a.dir.display());
        simulate(
            Scale::Small,
            42,
            &a.dir,
            chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
            730,
        )?;
    }
    let cfg = Config::load(&config)?;
    let key = cfg.resolve(
        cfg.privacy
            .key_file
            .as_deref()
            .unwrap_or(std::path::Path::new("secret.key")),
    );
    if !key.exists() && std::env::var_os("WEAKSIGNAL_KEY").is_none() {
        create_key_file(&key)?;
    }
    let o = super::nightly::run_nightly(&config, a.as_of, quiet)?;
    println!("run manifest: {}", o.manifest.display());
    println!("report: {}", o.report.display());
    Ok(if o.partial { crate::exit::PARTIAL } else { 0 })
}
